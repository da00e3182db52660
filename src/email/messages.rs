//! The emails the auth flows send, each as plain text and HTML.
//!
//! Every interpolated value is HTML-escaped in the HTML part: product names come from
//! configuration and addresses from users. Codes stay out of subject lines, which lock screens
//! and notification previews show to anyone nearby.

use super::Message;
use crate::i18n::{Translator, args};

/// The text of `key` in the locale of `words`, with `{product}` and `pairs` filled in.
fn say(words: &Translator, key: &str, product: &str, pairs: &[(&str, &str)]) -> String {
    let mut all = vec![("product".to_owned(), product.to_owned())];
    all.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    words.get(key, &all)
}

/// Email-verification code and link, sent at sign-up or when a user asks to verify.
pub fn verification_code(
    words: &Translator,
    to: &str,
    product: &str,
    code: &str,
    link: &str,
    minutes: u32,
) -> Message {
    let expiry = minutes_phrase(words, minutes);
    let say = |key: &str, pairs: &[(&str, &str)]| say(words, key, product, pairs);
    compose(
        "email.verify-code",
        words,
        to,
        say("email.verify.subject", &[]),
        &[
            Para::Text(say("email.verify.intro", &[])),
            Para::Code(code),
            Para::Link {
                before: say("email.verify.link", &[]),
                url: link,
            },
            Para::Text(say("email.verify.expiry", &[("expiry", &expiry)])),
            Para::Text(say("email.verify.ignore", &[])),
        ],
    )
}

/// Password-reset link for an existing account.
pub fn password_reset(
    words: &Translator,
    to: &str,
    product: &str,
    link: &str,
    minutes: u32,
) -> Message {
    let expiry = minutes_phrase(words, minutes);
    let say = |key: &str, pairs: &[(&str, &str)]| say(words, key, product, pairs);
    compose(
        "email.password-reset",
        words,
        to,
        say("email.reset.subject", &[]),
        &[
            Para::Text(say("email.reset.intro", &[])),
            Para::Link {
                before: say("email.reset.link", &[]),
                url: link,
            },
            Para::Text(say("email.reset.expiry", &[("expiry", &expiry)])),
            Para::Text(say("email.reset.ignore", &[])),
        ],
    )
}

/// Notice that the account's password changed (SECURITY 14).
pub fn password_changed(words: &Translator, to: &str, product: &str) -> Message {
    let say = |key: &str| say(words, key, product, &[]);
    compose(
        "email.security-notice",
        words,
        to,
        say("email.passwordChanged.subject"),
        &[
            Para::Text(say("email.passwordChanged.text")),
            Para::Text(say("email.passwordChanged.notYou")),
        ],
    )
}

/// A code that proves the account, to link a sign-in provider to it.
pub fn link_code(
    words: &Translator,
    to: &str,
    product: &str,
    provider: &str,
    code: &str,
    minutes: u32,
) -> Message {
    let expiry = minutes_phrase(words, minutes);
    let say = |key: &str, pairs: &[(&str, &str)]| say(words, key, product, pairs);
    compose(
        "email.message",
        words,
        to,
        say("email.linkCode.subject", &[("provider", provider)]),
        &[
            Para::Text(say("email.linkCode.intro", &[("provider", provider)])),
            Para::Code(code),
            Para::Text(say("email.codeExpiry", &[("expiry", &expiry)])),
            Para::Text(say("email.linkCode.ignore", &[])),
        ],
    )
}

/// Notice that a sign-in provider was linked to, or unlinked from, the account (SECURITY 14).
pub fn identity_changed(
    words: &Translator,
    to: &str,
    product: &str,
    provider: &str,
    linked: bool,
) -> Message {
    let say = |key: &str| say(words, key, product, &[("provider", provider)]);
    let (subject, what) = if linked {
        (
            say("email.identityAdded.subject"),
            say("email.identityAdded.text"),
        )
    } else {
        (
            say("email.identityRemoved.subject"),
            say("email.identityRemoved.text"),
        )
    };
    compose(
        "email.security-notice",
        words,
        to,
        subject,
        &[
            Para::Text(what),
            Para::Text(say("email.identityChanged.notYou")),
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
pub fn mfa_changed(words: &Translator, to: &str, product: &str, change: MfaChange) -> Message {
    let key = match change {
        MfaChange::AppAdded => "email.mfa.appAdded",
        MfaChange::AppRemoved => "email.mfa.appRemoved",
        MfaChange::CodesRegenerated => "email.mfa.codesRegenerated",
        MfaChange::CodeUsed(_) => "email.mfa.codeUsed",
        MfaChange::PasskeyAdded => "email.mfa.passkeyAdded",
        MfaChange::PasskeyRemoved => "email.mfa.passkeyRemoved",
        MfaChange::Reset => "email.mfa.reset",
    };
    let left = match change {
        MfaChange::CodeUsed(left) => left.to_string(),
        _ => String::new(),
    };
    let say = |key: &str| say(words, key, product, &[("count", &left)]);
    compose(
        "email.security-notice",
        words,
        to,
        say(&format!("{key}.subject")),
        &[
            Para::Text(say(&format!("{key}.text"))),
            Para::Text(say("email.mfa.notYou")),
        ],
    )
}

/// A sign-in from a browser or device this account has not used before (SECURITY 14).
pub fn new_sign_in(words: &Translator, to: &str, product: &str, device: &str, ip: &str) -> Message {
    let say = |key: &str| say(words, key, product, &[("device", device), ("ip", ip)]);
    compose(
        "email.security-notice",
        words,
        to,
        say("email.newSignIn.subject"),
        &[
            Para::Text(say("email.newSignIn.text")),
            Para::Text(say("email.newSignIn.notYou")),
        ],
    )
}

/// Told to the owner of an address someone tried to sign up with again (SECURITY 12: the
/// sign-up page itself says nothing about whether the address has an account).
pub fn account_exists(
    words: &Translator,
    to: &str,
    product: &str,
    sign_in: &str,
    reset: &str,
) -> Message {
    let say = |key: &str| say(words, key, product, &[]);
    compose(
        "email.message",
        words,
        to,
        say("email.accountExists.subject"),
        &[
            Para::Text(say("email.accountExists.text")),
            Para::Link {
                before: say("email.accountExists.signIn"),
                url: sign_in,
            },
            Para::Link {
                before: say("email.accountExists.reset"),
                url: reset,
            },
            Para::Text(say("email.accountExists.ignore")),
        ],
    )
}

/// Code confirming a new email address, sent to the new address (SECURITY 19).
pub fn email_change_code(
    words: &Translator,
    to: &str,
    product: &str,
    code: &str,
    minutes: u32,
) -> Message {
    let expiry = minutes_phrase(words, minutes);
    let say = |key: &str, pairs: &[(&str, &str)]| say(words, key, product, pairs);
    compose(
        "email.message",
        words,
        to,
        say("email.emailChange.subject", &[]),
        &[
            Para::Text(say("email.emailChange.intro", &[])),
            Para::Code(code),
            Para::Text(say("email.codeExpiry", &[("expiry", &expiry)])),
            Para::Text(say("email.emailChange.ignore", &[])),
        ],
    )
}

/// Notice to the old address that the account's email changed (SECURITY 14, 19).
pub fn email_changed_notice(
    words: &Translator,
    to: &str,
    product: &str,
    new_email_masked: &str,
) -> Message {
    let say = |key: &str| say(words, key, product, &[("email", new_email_masked)]);
    compose(
        "email.security-notice",
        words,
        to,
        say("email.emailChanged.subject"),
        &[
            Para::Text(say("email.emailChanged.text")),
            Para::Text(say("email.emailChanged.notYou")),
        ],
    )
}

/// Sent when someone asks to reset the password of an address without an account.
///
/// The forgot-password page answers the same either way (SECURITY 12); this tells the owner of
/// the mailbox the truth. It links nowhere, so it cannot be used to reach a sign-up or reset page.
pub fn password_reset_unknown_account(words: &Translator, to: &str, product: &str) -> Message {
    let say = |key: &str| say(words, key, product, &[]);
    compose(
        "email.message",
        words,
        to,
        say("email.resetUnknown.subject"),
        &[
            Para::Text(say("email.resetUnknown.text")),
            Para::Text(say("email.resetUnknown.notYou")),
        ],
    )
}

/// An invitation to join an organization, with the link that accepts it.
pub fn invitation(
    words: &Translator,
    to: &str,
    product: &str,
    organization: &str,
    accept: &str,
    days: u32,
) -> Message {
    let days = days.to_string();
    let say = |key: &str| {
        say(
            words,
            key,
            product,
            &[("organization", organization), ("days", &days)],
        )
    };
    compose(
        "email.message",
        words,
        to,
        say("email.invitation.subject"),
        &[
            Para::Link {
                before: say("email.invitation.text"),
                url: accept,
            },
            Para::Text(say("email.invitation.expiry")),
            Para::Text(say("email.invitation.ignore")),
        ],
    )
}

/// One paragraph of a message, as an email template receives it (`{kind, text, url}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Block {
    /// A paragraph of text.
    Text {
        /// The paragraph.
        text: String,
    },
    /// A one-time code.
    Code {
        /// The code.
        text: String,
    },
    /// Text, then a link to `url`.
    Link {
        /// The sentence before the link.
        text: String,
        /// The link.
        url: String,
    },
}

/// The HTML part of `message` from the theme's `templates` (its email component, else the
/// `email.layout` frame), styled inline with the theme's tokens.
pub fn themed_html(
    message: &Message,
    templates: &crate::ui::Templates,
    theme: &crate::config::runtime::ThemeConfig,
    words: &Translator,
    product: &str,
) -> Result<String, crate::ui::RenderError> {
    use minijinja::{Value, context};
    let context = context! {
        subject => &message.subject,
        blocks => Value::from(minijinja::value::Serde(&message.blocks)),
        tokens => &theme.tokens,
        logo => theme.logo.as_ref().map(|l| context! { url => &l.url, alt => &l.alt }),
        product => product,
        lang => words.locale(),
        dir => words.dir().as_str(),
    };
    templates.render(message.component, context)
}

/// One paragraph of a message, rendered in both parts.
enum Para<'a> {
    Text(String),
    /// A one-time code, set apart so it is easy to read and copy.
    Code(&'a str),
    Link {
        before: String,
        url: &'a str,
    },
}

fn compose(
    component: &'static str,
    words: &Translator,
    to: &str,
    subject: String,
    paras: &[Para<'_>],
) -> Message {
    let mut text = String::new();
    // Inline styles only: mail clients drop <style> and know no CSS custom properties.
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{}\">\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        escape(words.locale()),
        words.dir().as_str()
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
    let blocks = paras
        .iter()
        .map(|p| match p {
            Para::Text(t) => Block::Text { text: t.clone() },
            Para::Code(code) => Block::Code {
                text: (*code).to_owned(),
            },
            Para::Link { before, url } => Block::Link {
                text: before.clone(),
                url: (*url).to_owned(),
            },
        })
        .collect();
    Message {
        to: to.to_owned(),
        subject,
        text,
        html,
        component,
        blocks,
    }
}

fn minutes_phrase(words: &Translator, minutes: u32) -> String {
    words.get("email.minutes", &args([("count", &minutes)]))
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
    use crate::i18n::english;

    const TO: &str = "user@example.com";
    const LINK: &str = "https://auth.acme.test/verify?token=abc&flow=signup";
    const HOSTILE: &str = "<script>alert('x')</script> & \"Co\"";

    fn all(product: &str) -> Vec<Message> {
        vec![
            verification_code(english(), TO, product, "123456", LINK, 10),
            password_reset(english(), TO, product, LINK, 10),
            password_changed(english(), TO, product),
            email_change_code(english(), TO, product, "654321", 10),
            email_changed_notice(english(), TO, product, "n***@example.com"),
            password_reset_unknown_account(english(), TO, product),
            identity_changed(english(), TO, product, "GitHub", true),
            link_code(english(), TO, product, "GitHub", "123456", 10),
            identity_changed(english(), TO, product, "GitHub", false),
            new_sign_in(english(), TO, product, "Firefox on macOS", "203.0.113.9"),
            account_exists(english(), TO, product, LINK, LINK),
        ]
    }

    #[test]
    fn messages_speak_the_given_locale() {
        let locales = crate::i18n::Locales::build(&Default::default(), "en");
        let de = locales.get("de").expect("de");
        let m = verification_code(de, TO, "Acme", "123456", LINK, 10);
        assert_eq!(m.subject, "Bestätigen Sie Ihre E-Mail-Adresse für Acme");
        assert!(m.text.contains("    123456\n"), "{}", m.text);
        assert!(m.text.contains("10 Minuten"), "{}", m.text);
        assert!(
            m.html.contains("<html lang=\"de\" dir=\"ltr\">"),
            "{}",
            m.html
        );
        let fr = locales.get("fr").expect("fr");
        let m = password_reset(fr, TO, "Acme", LINK, 1);
        assert_eq!(m.subject, "Réinitialisez votre mot de passe Acme");
        assert!(m.text.contains("1 minute "), "{}", m.text);
        // English wording is what it was before the catalog.
        let m = mfa_changed(english(), TO, "Acme", MfaChange::CodeUsed(1));
        assert!(m.text.contains("1 unused code is left."), "{}", m.text);
        let m = mfa_changed(english(), TO, "Acme", MfaChange::CodeUsed(3));
        assert!(m.text.contains("3 unused codes are left."), "{}", m.text);
        // Every message of every locale is worded: no key shows through.
        for words in [english(), de, fr] {
            for m in [
                verification_code(words, TO, "Acme", "123456", LINK, 10),
                password_reset(words, TO, "Acme", LINK, 10),
                password_changed(words, TO, "Acme"),
                link_code(words, TO, "Acme", "GitHub", "123456", 10),
                identity_changed(words, TO, "Acme", "GitHub", true),
                identity_changed(words, TO, "Acme", "GitHub", false),
                mfa_changed(words, TO, "Acme", MfaChange::AppAdded),
                mfa_changed(words, TO, "Acme", MfaChange::AppRemoved),
                mfa_changed(words, TO, "Acme", MfaChange::CodesRegenerated),
                mfa_changed(words, TO, "Acme", MfaChange::CodeUsed(2)),
                mfa_changed(words, TO, "Acme", MfaChange::PasskeyAdded),
                mfa_changed(words, TO, "Acme", MfaChange::PasskeyRemoved),
                mfa_changed(words, TO, "Acme", MfaChange::Reset),
                new_sign_in(words, TO, "Acme", "Firefox", "203.0.113.9"),
                account_exists(words, TO, "Acme", LINK, LINK),
                email_change_code(words, TO, "Acme", "654321", 10),
                email_changed_notice(words, TO, "Acme", "n***@example.com"),
                password_reset_unknown_account(words, TO, "Acme"),
            ] {
                let leaks_key = |s: &str| {
                    s.match_indices("email.")
                        .any(|(i, _)| s[i + 6..].starts_with(|c: char| c.is_ascii_lowercase()))
                };
                assert!(!leaks_key(&m.subject), "{}", m.subject);
                assert!(!leaks_key(&m.text), "{}", m.text);
                assert!(!m.text.contains('{'), "{}", m.text);
                assert!(m.subject.contains("Acme"), "{}", m.subject);
            }
        }
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
        let m = verification_code(
            english(),
            TO,
            HOSTILE,
            "<b>1</b>",
            "https://x.test/?a=1&b=\"2\"",
            10,
        );
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
        let m = email_changed_notice(english(), TO, "Acme", "<img src=x>");
        assert!(m.html.contains("&lt;img src=x&gt;"), "{}", m.html);
    }

    #[test]
    fn verification_code_carries_code_link_and_expiry() {
        let m = verification_code(english(), TO, "Acme", "123456", LINK, 15);
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
        let m = password_reset(english(), TO, "Acme", LINK, 1);
        assert!(m.text.contains(LINK));
        assert!(m.text.contains("1 minute "), "{}", m.text);
    }

    #[test]
    fn unknown_account_reset_links_nowhere() {
        let m = password_reset_unknown_account(english(), TO, "Acme");
        assert!(!m.html.contains("<a "), "{}", m.html);
        assert!(!m.text.contains("http"), "{}", m.text);
        assert!(m.text.contains("no Acme account"), "{}", m.text);
    }

    #[test]
    fn email_changed_notice_shows_only_the_masked_address() {
        let m = email_changed_notice(english(), "old@example.com", "Acme", "n***@example.com");
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
