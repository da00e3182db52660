//! The stable part names: every component and meaningful element of the hosted pages carries
//! `data-part="NAME"`, which themes target with CSS (and, later, whole-component templates).
//! They are public contract, versioned here: adding a part is a minor change, renaming or
//! removing one is a breaking change that needs a new [`VERSION`]. The test below fails when
//! the pages and this list disagree, so neither can drift without the other.

/// The version of the part list. Bump it when a part is renamed or removed.
pub const VERSION: u32 = 1;

/// Every part name the hosted pages use, sorted.
pub const PARTS: &[&str] = &[
    "account-email",
    "app",
    "app-list",
    "appearance",
    "appearance-picker",
    "branding",
    "button",
    "button.passkey",
    "button.social",
    "button.social-icon",
    "card",
    "consent.scope",
    "consent.scopes",
    "divider",
    "error",
    "field",
    "field.checkbox",
    "footer",
    "form",
    "heading",
    "hint",
    "identity",
    "identity-list",
    "input",
    "invitation",
    "invitation-list",
    "label",
    "link",
    "locale",
    "locale-picker",
    "logo",
    "logo-link",
    "member",
    "member-list",
    "message",
    "message-text",
    "mfa.backup",
    "mfa.backup-codes",
    "mfa.backup-form",
    "mfa.backup-status",
    "mfa.enrol-form",
    "mfa.enrol-steps",
    "mfa.passkey-form",
    "mfa.qr",
    "mfa.secret",
    "mfa.status",
    "mfa.totp-form",
    "notice",
    "oauth.error",
    "organization",
    "organization-list",
    "page-footer",
    "passkey",
    "passkey-list",
    "passkey.register",
    "passkey.sign-in",
    "preview",
    "preview.frame",
    "preview.item",
    "section",
    "select",
    "session",
    "session-list",
    "social-buttons",
    "subheading",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The `data-part` values in `text` (templates, or the Rust sources of pages built without
    /// one, where the quotes are escaped).
    fn parts_in(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for marker in ["data-part=\"", "data-part=\\\""] {
            for piece in text.split(marker).skip(1) {
                let end = piece.find(['"', '\\']).unwrap_or(piece.len());
                found.insert(piece[..end].to_owned());
            }
        }
        found
    }

    #[test]
    fn the_pages_use_exactly_the_listed_parts() {
        let mut used = BTreeSet::new();
        for (_, source) in crate::ui::TEMPLATES {
            used.extend(parts_in(source));
        }
        for source in [
            include_str!("error.rs"),
            include_str!("../oauth/authorize.rs"),
            include_str!("../oauth/end_session.rs"),
        ] {
            used.extend(parts_in(source));
        }
        let listed: BTreeSet<String> = PARTS.iter().map(|p| (*p).to_owned()).collect();
        let missing: Vec<_> = listed.difference(&used).collect();
        let unlisted: Vec<_> = used.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "parts removed from the pages (a breaking change: bump VERSION and drop them here): {missing:?}"
        );
        assert!(
            unlisted.is_empty(),
            "parts on the pages that are not listed in PARTS (add them): {unlisted:?}"
        );
        let mut sorted = PARTS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, PARTS, "PARTS is sorted and without duplicates");
    }
}
