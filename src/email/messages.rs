//! The emails the auth flows send, each as plain text and HTML.
//!
//! Every interpolated value is HTML-escaped in the HTML part: product names come from
//! configuration and addresses from users. Codes stay out of subject lines, which lock screens
//! and notification previews show to anyone nearby.

use super::Message;

/// Email-verification code and link, sent at sign-up or when a user asks to verify.
pub fn verification_code(to: &str, product: &str, code: &str, link: &str, minutes: u32) -> Message {
    let expiry = minutes_phrase(minutes);
    compose(
        to,
        format!("Verify your email for {product}"),
        &[
            Para::Text(format!("Your {product} verification code is:")),
            Para::Code(code),
            Para::Link {
                before: "Or verify by opening this link:",
                url: link,
            },
            Para::Text(format!("The code and link expire in {expiry}.")),
            Para::Text("If you didn't ask for this, you can ignore this email.".into()),
        ],
    )
}

/// Password-reset link for an existing account.
pub fn password_reset(to: &str, product: &str, link: &str, minutes: u32) -> Message {
    let expiry = minutes_phrase(minutes);
    compose(
        to,
        format!("Reset your {product} password"),
        &[
            Para::Text(format!(
                "Someone asked to reset the password of your {product} account."
            )),
            Para::Link {
                before: "To choose a new password, open this link:",
                url: link,
            },
            Para::Text(format!("The link expires in {expiry} and works once.")),
            Para::Text(
                "If you didn't ask for this, you can ignore this email; your password stays the same."
                    .into(),
            ),
        ],
    )
}

/// Notice that the account's password changed (SECURITY 14).
pub fn password_changed(to: &str, product: &str) -> Message {
    compose(
        to,
        format!("Your {product} password was changed"),
        &[
            Para::Text(format!(
                "The password of your {product} account was just changed."
            )),
            Para::Text(
                "If this was you, there is nothing else to do. If it wasn't, reset your password \
                 now from the sign-in page and check your account's sessions."
                    .into(),
            ),
        ],
    )
}

/// A code that proves the account, to link a sign-in provider to it.
pub fn link_code(to: &str, product: &str, provider: &str, code: &str, minutes: u32) -> Message {
    let expiry = minutes_phrase(minutes);
    compose(
        to,
        format!("Link {provider} to your {product} account"),
        &[
            Para::Text(format!(
                "To link {provider} sign-in to your {product} account, enter this code:"
            )),
            Para::Code(code),
            Para::Text(format!("The code expires in {expiry}.")),
            Para::Text(
                "If you didn't try to sign in with this provider, ignore this email: nothing is \
                 linked without the code."
                    .into(),
            ),
        ],
    )
}

/// Notice that a sign-in provider was linked to, or unlinked from, the account (SECURITY 14).
pub fn identity_changed(to: &str, product: &str, provider: &str, linked: bool) -> Message {
    let (subject, what) = if linked {
        (
            format!("{provider} sign-in was added to your {product} account"),
            format!("You can now sign in to your {product} account with {provider}."),
        )
    } else {
        (
            format!("{provider} sign-in was removed from your {product} account"),
            format!("{provider} can no longer be used to sign in to your {product} account."),
        )
    };
    compose(
        to,
        subject,
        &[
            Para::Text(what),
            Para::Text(
                "If this was you, there is nothing else to do. If it wasn't, reset your password \
                 now from the sign-in page and check your account's sign-in methods and sessions."
                    .into(),
            ),
        ],
    )
}

/// What changed about an account's second factors, for [`mfa_changed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaChange {
    /// An authenticator app was added.
    AppAdded,
    /// The authenticator app (and its backup codes) was removed.
    AppRemoved,
    /// A new set of backup codes replaced the old one.
    CodesRegenerated,
    /// A backup code was used to sign in; this many are left.
    CodeUsed(u32),
    /// An administrator removed every second factor.
    Reset,
    /// A passkey was registered.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
}

/// Notice of a change to the account's second factors (SECURITY 27).
pub fn mfa_changed(to: &str, product: &str, change: MfaChange) -> Message {
    let (subject, what) = match change {
        MfaChange::AppAdded => (
            format!("An authenticator app was added to your {product} account"),
            "Signing in now asks for a code from your authenticator app.".to_owned(),
        ),
        MfaChange::AppRemoved => (
            format!("Two-step verification was turned off for your {product} account"),
            "Your authenticator app and its backup codes were removed from your account."
                .to_owned(),
        ),
        MfaChange::CodesRegenerated => (
            format!("New backup codes for your {product} account"),
            "A new set of backup codes was created; the old ones no longer work.".to_owned(),
        ),
        MfaChange::CodeUsed(left) => (
            format!("A backup code was used to sign in to your {product} account"),
            format!(
                "A backup code was used to sign in. {left} unused code{} left.",
                if left == 1 { " is" } else { "s are" }
            ),
        ),
        MfaChange::PasskeyAdded => (
            format!("A passkey was added to your {product} account"),
            "You can now sign in with this passkey.".to_owned(),
        ),
        MfaChange::PasskeyRemoved => (
            format!("A passkey was removed from your {product} account"),
            "That passkey can no longer be used to sign in.".to_owned(),
        ),
        MfaChange::Reset => (
            format!("Two-step verification was reset for your {product} account"),
            "An administrator removed your second factors. Set one up again from your account page."
                .to_owned(),
        ),
    };
    compose(
        to,
        subject,
        &[
            Para::Text(what),
            Para::Text(
                "If this was you, there is nothing else to do. If it wasn't, reset your password \
                 now from the sign-in page and review your account's sessions."
                    .into(),
            ),
        ],
    )
}

/// A sign-in from a browser or device this account has not used before (SECURITY 14).
pub fn new_sign_in(to: &str, product: &str, device: &str, ip: &str) -> Message {
    compose(
        to,
        format!("New sign-in to your {product} account"),
        &[
            Para::Text(format!(
                "Your {product} account was just signed in to from {device} ({ip})."
            )),
            Para::Text(
                "If this was you, there is nothing else to do. If it wasn't, reset your password \
                 now and sign out the sessions you don't recognise on your account page."
                    .into(),
            ),
        ],
    )
}

/// Told to the owner of an address someone tried to sign up with again (SECURITY 12: the
/// sign-up page itself says nothing about whether the address has an account).
pub fn account_exists(to: &str, product: &str, sign_in: &str, reset: &str) -> Message {
    compose(
        to,
        format!("Your {product} account"),
        &[
            Para::Text(format!(
                "Someone tried to create a {product} account with this address, which already has one."
            )),
            Para::Link {
                before: "If it was you, sign in:",
                url: sign_in,
            },
            Para::Link {
                before: "Forgot your password?",
                url: reset,
            },
            Para::Text("If it was not you, you can ignore this email.".into()),
        ],
    )
}

/// Code confirming a new email address, sent to the new address (SECURITY 19).
pub fn email_change_code(to: &str, product: &str, code: &str, minutes: u32) -> Message {
    let expiry = minutes_phrase(minutes);
    compose(
        to,
        format!("Confirm your new email for {product}"),
        &[
            Para::Text(format!(
                "Use this code to confirm this address for your {product} account:"
            )),
            Para::Code(code),
            Para::Text(format!("The code expires in {expiry}.")),
            Para::Text("If you didn't ask to change your email, you can ignore this email.".into()),
        ],
    )
}

/// Notice to the old address that the account's email changed (SECURITY 14, 19).
pub fn email_changed_notice(to: &str, product: &str, new_email_masked: &str) -> Message {
    compose(
        to,
        format!("Your {product} email address was changed"),
        &[
            Para::Text(format!(
                "The email address of your {product} account was changed to {new_email_masked}. \
                 Emails about your account now go to the new address."
            )),
            Para::Text("If you didn't make this change, contact support right away.".into()),
        ],
    )
}

/// Sent when someone asks to reset the password of an address without an account.
///
/// The forgot-password page answers the same either way (SECURITY 12); this tells the owner of
/// the mailbox the truth. It links nowhere, so it cannot be used to reach a sign-up or reset page.
pub fn password_reset_unknown_account(to: &str, product: &str) -> Message {
    compose(
        to,
        format!("{product} password reset request"),
        &[
            Para::Text(format!(
                "Someone asked to reset a {product} password for this email address, but there \
                 is no {product} account with this address."
            )),
            Para::Text(
                "If it was you, you may have signed up with a different address. If it wasn't, \
                 you can ignore this email."
                    .into(),
            ),
        ],
    )
}

/// One paragraph of a message, rendered in both parts.
enum Para<'a> {
    Text(String),
    /// A one-time code, set apart so it is easy to read and copy.
    Code(&'a str),
    Link {
        before: &'a str,
        url: &'a str,
    },
}

fn compose(to: &str, subject: String, paras: &[Para<'_>]) -> Message {
    let mut text = String::new();
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n",
    );
    for para in paras {
        match para {
            Para::Text(t) => {
                text.push_str(t);
                html.push_str(&format!("<p>{}</p>\n", escape(t)));
            }
            Para::Code(code) => {
                text.push_str("    ");
                text.push_str(code);
                html.push_str(&format!(
                    "<p style=\"font-size: 24px; font-weight: bold; letter-spacing: 4px\">{}</p>\n",
                    escape(code)
                ));
            }
            Para::Link { before, url } => {
                text.push_str(before);
                text.push('\n');
                text.push_str(url);
                let url = escape(url);
                html.push_str(&format!(
                    "<p>{}<br>\n<a href=\"{url}\">{url}</a></p>\n",
                    escape(before)
                ));
            }
        }
        text.push_str("\n\n");
    }
    text.truncate(text.trim_end().len());
    text.push('\n');
    html.push_str("</body>\n</html>\n");
    Message {
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

fn minutes_phrase(minutes: u32) -> String {
    if minutes == 1 {
        "1 minute".into()
    } else {
        format!("{minutes} minutes")
    }
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "user@example.com";
    const LINK: &str = "https://auth.acme.test/verify?token=abc&flow=signup";
    const HOSTILE: &str = "<script>alert('x')</script> & \"Co\"";

    fn all(product: &str) -> Vec<Message> {
        vec![
            verification_code(TO, product, "123456", LINK, 10),
            password_reset(TO, product, LINK, 10),
            password_changed(TO, product),
            email_change_code(TO, product, "654321", 10),
            email_changed_notice(TO, product, "n***@example.com"),
            password_reset_unknown_account(TO, product),
            identity_changed(TO, product, "GitHub", true),
            link_code(TO, product, "GitHub", "123456", 10),
            identity_changed(TO, product, "GitHub", false),
        ]
    }

    #[test]
    fn every_message_has_recipient_subject_text_and_html() {
        for m in all("Acme") {
            assert_eq!(m.to, TO);
            assert!(m.subject.contains("Acme"), "{}", m.subject);
            assert!(m.text.contains("Acme"), "{}", m.text);
            assert!(m.html.starts_with("<!DOCTYPE html>"), "{}", m.html);
            assert!(m.html.contains("Acme"), "{}", m.html);
            assert!(!m.text.contains('<'), "{}", m.text);
        }
    }

    #[test]
    fn interpolated_values_are_html_escaped() {
        let m = verification_code(TO, HOSTILE, "<b>1</b>", "https://x.test/?a=1&b=\"2\"", 10);
        assert!(!m.html.contains("<script>"), "{}", m.html);
        assert!(!m.html.contains("<b>1"), "{}", m.html);
        assert!(
            m.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;")
        );
        assert!(
            m.html
                .contains("href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\""),
            "{}",
            m.html
        );
        // The text part is plain text: nothing to escape.
        assert!(m.text.contains(HOSTILE));

        for m in all(HOSTILE) {
            assert!(!m.html.contains("<script>"), "{}", m.html);
        }
        let m = email_changed_notice(TO, "Acme", "<img src=x>");
        assert!(m.html.contains("&lt;img src=x&gt;"), "{}", m.html);
    }

    #[test]
    fn verification_code_carries_code_link_and_expiry() {
        let m = verification_code(TO, "Acme", "123456", LINK, 15);
        assert!(m.text.contains("    123456\n"), "{}", m.text);
        assert!(m.text.contains(LINK), "{}", m.text);
        assert!(m.text.contains("15 minutes"), "{}", m.text);
        assert!(m.html.contains(">123456</p>"), "{}", m.html);
        assert!(
            m.html
                .contains("href=\"https://auth.acme.test/verify?token=abc&amp;flow=signup\"")
        );
    }

    #[test]
    fn codes_stay_out_of_subject_lines() {
        for m in all("Acme") {
            assert!(!m.subject.contains("123456") && !m.subject.contains("654321"));
        }
    }

    #[test]
    fn password_reset_links_and_expires() {
        let m = password_reset(TO, "Acme", LINK, 1);
        assert!(m.text.contains(LINK));
        assert!(m.text.contains("1 minute "), "{}", m.text);
    }

    #[test]
    fn unknown_account_reset_links_nowhere() {
        let m = password_reset_unknown_account(TO, "Acme");
        assert!(!m.html.contains("<a "), "{}", m.html);
        assert!(!m.text.contains("http"), "{}", m.text);
        assert!(m.text.contains("no Acme account"), "{}", m.text);
    }

    #[test]
    fn email_changed_notice_shows_only_the_masked_address() {
        let m = email_changed_notice("old@example.com", "Acme", "n***@example.com");
        assert_eq!(m.to, "old@example.com");
        assert!(m.text.contains("n***@example.com"));
    }

    #[test]
    fn text_part_ends_with_one_newline() {
        for m in all("Acme") {
            assert!(
                m.text.ends_with(".\n") && !m.text.ends_with("\n\n"),
                "{:?}",
                m.text
            );
        }
    }
}
