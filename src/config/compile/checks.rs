//! Checks shared by several parts: Secret references, durations, DNS labels and mailboxes.

use super::Compiler;
use crate::config::diagnostic::{Diagnostic, ResourceId};
use crate::config::runtime::{SecretSource, SecretValue};
use crate::resources::common::{SecretKeyRef, parse_duration_ms};

impl Compiler<'_> {
    pub(super) fn error(
        &mut self,
        id: &ResourceId,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic::new(id, path, message));
    }

    /// Reports a reference to a missing Secret or Secret key.
    pub(super) fn check_secret_key(
        &mut self,
        id: &ResourceId,
        path: &str,
        reference: &SecretKeyRef,
    ) {
        match self.bundle.secrets.get(&reference.name) {
            None => self.error(
                id,
                format!("{path}.name"),
                format!("Secret \"{}\" not found", reference.name),
            ),
            Some(keys) if !keys.contains(&reference.key) => self.error(
                id,
                format!("{path}.key"),
                format!(
                    "Secret \"{}\" has no key \"{}\"",
                    reference.name, reference.key
                ),
            ),
            Some(_) => {}
        }
    }

    /// Checks a referenced Secret key and records that the region's Secret gets it as `region_key`.
    pub(super) fn secret(
        &mut self,
        id: &ResourceId,
        path: &str,
        reference: &SecretKeyRef,
        region_key: String,
    ) -> SecretValue {
        self.check_secret_key(id, path, reference);
        self.secrets.insert(
            region_key.clone(),
            SecretSource {
                name: reference.name.clone(),
                key: reference.key.clone(),
            },
        );
        SecretValue {
            secret_key: region_key,
        }
    }

    /// Like `secret`, for a reference whose key field is not called `key`.
    pub(super) fn secret_with_key_path(
        &mut self,
        id: &ResourceId,
        path: &str,
        key_field: &str,
        reference: &SecretKeyRef,
        region_key: &str,
    ) -> SecretValue {
        let before = self.diagnostics.len();
        let value = self.secret(id, path, reference, region_key.into());
        for d in &mut self.diagnostics[before..] {
            if d.path.ends_with(".key") {
                d.path = format!("{path}.{key_field}");
            }
        }
        value
    }

    /// Whole seconds of a duration field; 0 (and a diagnostic) when it does not parse.
    pub(super) fn duration_seconds(&mut self, id: &ResourceId, path: &str, text: &str) -> u64 {
        match parse_duration_ms(text) {
            Some(ms) => ms / 1000,
            None => {
                self.error(
                    id,
                    path,
                    format!("{text:?} is not a duration such as 30m, 24h or 1h30m"),
                );
                0
            }
        }
    }
}

/// An RFC 1123 label: what a slug must be to appear in URLs and DNS names.
pub(crate) fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `user@host` or `Name <user@host>`: enough to catch a missing or swapped field. Delivery
/// checks the rest.
pub(super) fn looks_like_mailbox(text: &str) -> bool {
    let address = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close && close == text.len() - 1 => {
            &text[open + 1..close]
        }
        (None, None) => text,
        _ => return false,
    };
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{has_diagnostic, run_part, secret, with_base};
    use super::*;

    fn reference(name: &str, key: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn secret_references_are_checked_and_recorded_by_region_key() {
        let b = with_base(&[&secret("db", &["url"])]);
        let id = ResourceId::new("Vestibule", "default", "test");
        let ((value, secrets), diagnostics) = run_part(&b, |c| {
            let value = c.secret(
                &id,
                "spec.x",
                &reference("db", "url"),
                "database.url".into(),
            );
            (value, c.secrets.clone())
        });
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(value.secret_key, "database.url");
        assert_eq!(secrets["database.url"].name, "db");
        assert_eq!(secrets["database.url"].key, "url");

        let (_, diagnostics) = run_part(&b, |c| {
            c.check_secret_key(&id, "spec.a", &reference("nope", "url"));
            c.check_secret_key(&id, "spec.b", &reference("db", "nope"));
            c.secret_with_key_path(&id, "spec.c", "passwordKey", &reference("db", "pw"), "k");
        });
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.a.name",
            "Secret \"nope\" not found",
        );
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.b.key",
            "has no key \"nope\"",
        );
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.c.passwordKey",
            "has no key \"pw\"",
        );
    }

    #[test]
    fn durations_are_whole_seconds_or_a_diagnostic() {
        let b = with_base(&[]);
        let id = ResourceId::new("Vestibule", "default", "test");
        let (seconds, diagnostics) = run_part(&b, |c| {
            [
                c.duration_seconds(&id, "spec.ok", "1h30m"),
                c.duration_seconds(&id, "spec.bad", "1 hour"),
            ]
        });
        assert_eq!(seconds, [5400, 0]);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.bad",
            "is not a duration",
        );
    }

    #[test]
    fn dns_labels() {
        for ok in ["a", "acme", "acme-2", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in [
            "",
            "-acme",
            "acme-",
            "Acme",
            "ac_me",
            "ac.me",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn mailboxes() {
        for ok in ["a@b.co", "Acme <no-reply@acme.com>"] {
            assert!(looks_like_mailbox(ok), "{ok}");
        }
        for bad in [
            "acme.com",
            "@acme.com",
            "a@localhost",
            "a@.acme.com",
            "a@acme.com.",
            "a b@acme.com",
            "a@b@acme.com",
            "Acme <a@acme.com",
            "Acme <a@acme.com> x",
        ] {
            assert!(!looks_like_mailbox(bad), "{bad}");
        }
    }
}
