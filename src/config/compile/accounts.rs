//! The Vestibule's account settings: sessions, sign-up, passwords and outgoing email.

use std::collections::BTreeSet;

use super::Compiler;
use super::checks::looks_like_mailbox;
use crate::config::runtime::{
    EmailConfig, PasswordConfig, SessionConfig, SignUpConfig, SignUpMode, SmtpConfig, SmtpTls,
};
use crate::config::uri;
use crate::resources::common::{SecretKeyRef, parse_duration_ms};
use crate::resources::vestibule as resource;

/// The public Pwned Passwords range API.
pub const DEFAULT_BREACH_CHECK_URL: &str = "https://api.pwnedpasswords.com";

impl From<resource::SignUpMode> for SignUpMode {
    fn from(mode: resource::SignUpMode) -> Self {
        match mode {
            resource::SignUpMode::Public => Self::Public,
            resource::SignUpMode::InviteOnly => Self::InviteOnly,
            resource::SignUpMode::Disabled => Self::Disabled,
        }
    }
}

impl From<resource::SmtpTls> for SmtpTls {
    fn from(tls: resource::SmtpTls) -> Self {
        match tls {
            resource::SmtpTls::Starttls => Self::Starttls,
            resource::SmtpTls::Implicit => Self::Implicit,
            resource::SmtpTls::None => Self::None,
        }
    }
}

impl Compiler<'_> {
    pub(super) fn sessions(&mut self) -> SessionConfig {
        let id = self.id.clone();
        let s = &self.bundle.vestibule.spec.sessions;
        let lifetime = self.duration_seconds(&id, "spec.sessions.lifetime", &s.lifetime);
        let idle = self.duration_seconds(&id, "spec.sessions.idleTimeout", &s.idle_timeout);
        if parse_duration_ms(&s.lifetime).is_some() && lifetime < 60 {
            self.error(&id, "spec.sessions.lifetime", "must be at least 1m");
        }
        if idle > lifetime {
            self.error(
                &id,
                "spec.sessions.idleTimeout",
                format!(
                    "idle timeout {} is longer than the session lifetime {}",
                    s.idle_timeout, s.lifetime
                ),
            );
        }
        SessionConfig {
            lifetime_seconds: lifetime,
            idle_timeout_seconds: idle,
        }
    }

    pub(super) fn sign_up(&mut self) -> SignUpConfig {
        let id = self.id.clone();
        let s = &self.bundle.vestibule.spec.sign_up;
        let mut domains = BTreeSet::new();
        for (i, domain) in s.allowed_domains.iter().enumerate() {
            if let Err(e) = uri::check_domain(domain) {
                self.error(&id, format!("spec.signUp.allowedDomains[{i}]"), e);
            }
            domains.insert(domain.to_ascii_lowercase());
        }
        SignUpConfig {
            mode: s.mode.into(),
            allowed_domains: domains.into_iter().collect(),
            require_email_verification: s.require_email_verification,
        }
    }

    pub(super) fn passwords(&mut self) -> PasswordConfig {
        let id = self.id.clone();
        let p = &self.bundle.vestibule.spec.passwords;
        if p.max_length < p.min_length {
            self.error(
                &id,
                "spec.passwords.maxLength",
                format!(
                    "maxLength {} is below minLength {}",
                    p.max_length, p.min_length
                ),
            );
        }
        // The argon2id floor (OWASP: m=19456 KiB, t=2) is a security bar, not a preference.
        let h = &p.hashing;
        if h.memory_kib < 19456 {
            self.error(
                &id,
                "spec.passwords.hashing.memoryKib",
                "must be at least 19456 (OWASP floor)",
            );
        }
        if h.iterations < 2 {
            self.error(
                &id,
                "spec.passwords.hashing.iterations",
                "must be at least 2 (OWASP floor)",
            );
        }
        let breach_check_url = p.breach_check.then(|| {
            p.breach_check_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BREACH_CHECK_URL.to_owned())
        });
        if let Some(url) = &breach_check_url
            && let Err(e) = uri::check_endpoint(url)
        {
            self.error(&id, "spec.passwords.breachCheckUrl", e);
        }
        if p.min_length < 8 {
            self.error(
                &id,
                "spec.passwords.minLength",
                "must be at least 8 (NIST SP 800-63B)",
            );
        }
        let positive = |v: i32| u32::try_from(v.max(1)).unwrap_or(1);
        PasswordConfig {
            min_length: positive(p.min_length),
            max_length: positive(p.max_length),
            reject_common: p.reject_common,
            breach_check: p.breach_check,
            breach_check_url,
            argon2_memory_kib: positive(h.memory_kib),
            argon2_iterations: positive(h.iterations),
            argon2_parallelism: positive(h.parallelism),
        }
    }

    pub(super) fn email(&mut self) -> EmailConfig {
        let id = self.id.clone();
        let spec = &self.bundle.vestibule.spec;
        let Some(email) = &spec.email else {
            let host = url::Url::parse(&spec.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".into());
            return EmailConfig {
                from: format!("no-reply@{host}"),
                reply_to: None,
                smtp: None,
            };
        };
        if !looks_like_mailbox(&email.from) {
            self.error(
                &id,
                "spec.email.from",
                format!(
                    "{:?} is not an email address such as \"Acme <no-reply@acme.com>\"",
                    email.from
                ),
            );
        }
        if let Some(reply_to) = email.reply_to.as_deref().filter(|r| !looks_like_mailbox(r)) {
            self.error(
                &id,
                "spec.email.replyTo",
                format!("{reply_to:?} is not an email address"),
            );
        }
        let smtp = email.smtp.as_ref().map(|smtp| {
            let (username, password) = match &smtp.credentials_secret_ref {
                Some(creds) => {
                    let path = "spec.email.smtp.credentialsSecretRef";
                    let user_ref = SecretKeyRef {
                        name: creds.name.clone(),
                        key: creds.username_key.clone(),
                    };
                    let pass_ref = SecretKeyRef {
                        name: creds.name.clone(),
                        key: creds.password_key.clone(),
                    };
                    let user = self.secret_with_key_path(
                        &id,
                        path,
                        "usernameKey",
                        &user_ref,
                        "smtp.username",
                    );
                    let pass = self.secret_with_key_path(
                        &id,
                        path,
                        "passwordKey",
                        &pass_ref,
                        "smtp.password",
                    );
                    (Some(user), Some(pass))
                }
                None => (None, None),
            };
            SmtpConfig {
                host: smtp.host.clone(),
                port: u16::try_from(smtp.port).unwrap_or(587),
                tls: smtp.tls.into(),
                username,
                password,
            }
        });
        EmailConfig {
            from: email.from.clone(),
            reply_to: email.reply_to.clone(),
            smtp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        has_diagnostic, maps_to_same_json, run_part, secret, with_spec,
    };
    use super::*;

    const V: (&str, &str) = ("Vestibule", "test");

    #[test]
    fn defaults_fill_a_minimal_vestibule() {
        let b = with_spec("", &[]);
        let ((sessions, sign_up, passwords, email), diagnostics) = run_part(&b, |c| {
            (c.sessions(), c.sign_up(), c.passwords(), c.email())
        });
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(
            (sessions.lifetime_seconds, sessions.idle_timeout_seconds),
            (86400, 3600)
        );
        assert_eq!(sign_up.mode, SignUpMode::Public);
        assert!(sign_up.require_email_verification);
        assert_eq!((passwords.min_length, passwords.max_length), (10, 128));
        assert_eq!(passwords.breach_check_url, None);
        assert_eq!(
            email.from, "no-reply@auth.example.com",
            "from the issuer's host"
        );
        assert_eq!(email.smtp, None);
    }

    #[test]
    fn sessions_and_passwords_keep_their_floors() {
        let b = with_spec(
            "sessions: {lifetime: 30s, idleTimeout: 1m}
passwords:
  minLength: 6
  maxLength: 5
  hashing: {memoryKib: 1024, iterations: 1}
  breachCheck: true
  breachCheckUrl: http://pwned.example.com",
            &[],
        );
        let (_, diagnostics) = run_part(&b, |c| (c.sessions(), c.passwords()));
        has_diagnostic(&diagnostics, V, "spec.sessions.lifetime", "at least 1m");
        has_diagnostic(
            &diagnostics,
            V,
            "spec.sessions.idleTimeout",
            "longer than the session lifetime",
        );
        has_diagnostic(&diagnostics, V, "spec.passwords.minLength", "at least 8");
        has_diagnostic(
            &diagnostics,
            V,
            "spec.passwords.maxLength",
            "below minLength",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.passwords.hashing.memoryKib",
            "at least 19456",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.passwords.hashing.iterations",
            "at least 2",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.passwords.breachCheckUrl",
            "must use https",
        );
        assert_eq!(diagnostics.len(), 7, "{diagnostics:#?}");

        let b = with_spec("passwords: {breachCheck: true}", &[]);
        let (passwords, diagnostics) = run_part(&b, |c| c.passwords());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(
            passwords.breach_check_url.as_deref(),
            Some(DEFAULT_BREACH_CHECK_URL)
        );
    }

    #[test]
    fn sign_up_domains_are_checked_and_sorted() {
        let b = with_spec(
            "signUp:\n  mode: inviteOnly\n  allowedDomains: [b.example.com, a.example.com, b.example.com, Bad]",
            &[],
        );
        let (sign_up, diagnostics) = run_part(&b, |c| c.sign_up());
        assert_eq!(sign_up.mode, SignUpMode::InviteOnly);
        assert_eq!(
            sign_up.allowed_domains,
            ["a.example.com", "b.example.com", "bad"]
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.signUp.allowedDomains[3]",
            "not a lower-case domain",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn email_addresses_and_smtp_credentials_are_checked() {
        let smtp = "email:
  from: Acme <no-reply@acme.com>
  smtp:
    host: smtp.acme.com
    tls: implicit
    credentialsSecretRef: {name: mail}";
        let b = with_spec(smtp, &[&secret("mail", &["username", "password"])]);
        let ((email, secrets), diagnostics) = run_part(&b, |c| (c.email(), c.secrets.clone()));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let relay = email.smtp.expect("smtp");
        assert_eq!((relay.port, relay.tls), (587, SmtpTls::Implicit));
        assert_eq!(
            relay.username.map(|u| u.secret_key).as_deref(),
            Some("smtp.username")
        );
        assert_eq!(secrets["smtp.password"].key, "password");

        let b = with_spec(
            &format!(
                "{}\n  replyTo: nobody",
                smtp.replace("Acme <no-reply@acme.com>", "acme.com")
            ),
            &[&secret("mail", &["username"])],
        );
        let (_, diagnostics) = run_part(&b, |c| c.email());
        has_diagnostic(&diagnostics, V, "spec.email.from", "not an email address");
        has_diagnostic(
            &diagnostics,
            V,
            "spec.email.replyTo",
            "not an email address",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.email.smtp.credentialsSecretRef.passwordKey",
            "has no key \"password\"",
        );
        assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::{SignUpMode as M, SmtpTls as T};
        maps_to_same_json::<_, SignUpMode>(&[M::Public, M::InviteOnly, M::Disabled]);
        maps_to_same_json::<_, SmtpTls>(&[T::Starttls, T::Implicit, T::None]);
    }
}
