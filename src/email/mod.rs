//! Outgoing email: the messages the auth flows send, and the [`Mailer`] that delivers them to an
//! SMTP relay or, in development, to the in-memory [`Outbox`].
//!
//! Message bodies carry verification codes and reset links, so nothing here logs them.

pub mod messages;
mod outbox;
mod smtp;

use lettre::message::{Mailbox, MultiPart};

pub use outbox::{Outbox, OutboxEntry};

use crate::config::runtime::EmailConfig;

/// An email ready to send: one recipient, a plain-text part and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// The email component a theme may replace (`email.verify-code`, ...).
    #[serde(skip)]
    pub component: &'static str,
    /// The paragraphs, for the theme's email templates.
    #[serde(skip)]
    pub blocks: Vec<messages::Block>,
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A sender, reply-to or recipient address that does not parse.
    #[error("invalid address {0:?}")]
    Address(String),
    /// The relay refused the message, or could not be reached after the retries.
    #[error("smtp: {0}")]
    Smtp(String),
    /// The mailer cannot be built from the configuration.
    #[error("email is not configured: {0}")]
    Config(String),
}

/// Username and password for the SMTP relay, read by the caller from the region's Secret.
pub struct SmtpCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Sends through SMTP (lettre, tokio, rustls) or into an [`Outbox`]. `from`/`reply_to` come from
/// [`EmailConfig`]; SMTP tls is `starttls` (required, not opportunistic), `implicit` or `none`.
/// Cheap to clone; clones share the SMTP connection pool.
#[derive(Clone, Debug)]
pub struct Mailer {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    delivery: Delivery,
}

#[derive(Clone, Debug)]
enum Delivery {
    Smtp(smtp::Relay),
    Outbox(Outbox),
}

impl Mailer {
    /// A mailer that keeps every message in `outbox` (the dev mailbox).
    pub fn outbox(from: &str, reply_to: Option<&str>, outbox: Outbox) -> Result<Self, EmailError> {
        Ok(Self {
            from: mailbox(from)?,
            reply_to: reply_to.map(mailbox).transpose()?,
            delivery: Delivery::Outbox(outbox),
        })
    }

    /// A mailer that sends through `config.smtp` (which must be set). `credentials` are required
    /// when the config names a username or password. Call it inside a tokio runtime: the SMTP
    /// connection pool starts a cleanup task.
    pub fn smtp(
        config: &EmailConfig,
        credentials: Option<SmtpCredentials>,
    ) -> Result<Self, EmailError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(EmailError::Config(
                "the SMTP mailer must be created inside a tokio runtime".into(),
            ));
        }
        let smtp = config
            .smtp
            .as_ref()
            .ok_or_else(|| EmailError::Config("no SMTP relay is configured".into()))?;
        Ok(Self {
            from: mailbox(&config.from)?,
            reply_to: config.reply_to.as_deref().map(mailbox).transpose()?,
            delivery: Delivery::Smtp(smtp::Relay::new(smtp, credentials)?),
        })
    }

    /// Sends `message` as multipart/alternative (text and HTML).
    ///
    /// Transient SMTP failures are retried 3 times with backoff (250 ms, 1 s, 2 s); then the
    /// error is returned for the caller to log and count (the user can ask to resend). The outbox
    /// builds the same MIME message first, so a bad address fails in development as in production.
    pub async fn send(&self, message: &Message) -> Result<(), EmailError> {
        let email = self.build(message)?;
        match &self.delivery {
            Delivery::Smtp(relay) => relay.send(&email).await,
            Delivery::Outbox(outbox) => {
                outbox.push(message);
                Ok(())
            }
        }
    }

    fn build(&self, message: &Message) -> Result<lettre::Message, EmailError> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(mailbox(&message.to)?)
            // lettre encodes the subject (RFC 2047) when it holds CR or LF, so a product name or
            // subject cannot inject headers.
            .subject(message.subject.as_str());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| EmailError::Smtp(format!("building the message: {e}")))
    }
}

fn mailbox(address: &str) -> Result<Mailbox, EmailError> {
    address
        .parse()
        .map_err(|_| EmailError::Address(address.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::{SecretValue, SmtpConfig, SmtpTls};

    fn message(to: &str) -> Message {
        Message {
            to: to.into(),
            subject: "Hello".into(),
            text: "Code: 123456".into(),
            html: "<p>Code: 123456</p>".into(),

            component: "email.message",
            blocks: Vec::new(),
        }
    }

    fn config(smtp: Option<SmtpConfig>) -> EmailConfig {
        EmailConfig {
            from: "Acme <no-reply@acme.test>".into(),
            reply_to: Some("help@acme.test".into()),
            smtp,
        }
    }

    fn relay(tls: SmtpTls, with_credentials: bool) -> SmtpConfig {
        let secret = |key: &str| {
            with_credentials.then(|| SecretValue {
                secret_key: key.into(),
            })
        };
        SmtpConfig {
            host: "smtp.acme.test".into(),
            port: 587,
            tls,
            username: secret("smtp-username"),
            password: secret("smtp-password"),
        }
    }

    #[tokio::test]
    async fn outbox_mailer_stores_the_message() {
        let outbox = Outbox::default();
        let mailer = Mailer::outbox("no-reply@acme.test", None, outbox.clone()).unwrap();
        mailer.send(&message("user@example.com")).await.unwrap();
        let entries = outbox.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].to, "user@example.com");
        assert_eq!(entries[0].text, "Code: 123456");
    }

    #[tokio::test]
    async fn invalid_recipient_is_an_address_error_in_the_outbox_too() {
        let outbox = Outbox::default();
        let mailer = Mailer::outbox("no-reply@acme.test", None, outbox.clone()).unwrap();
        for bad in [
            "not an address",
            "user@example.com\r\nBcc: victim@example.com",
            "",
        ] {
            let err = mailer.send(&message(bad)).await.unwrap_err();
            assert!(
                matches!(&err, EmailError::Address(a) if a == bad),
                "{err:?}"
            );
        }
        assert!(outbox.entries().is_empty());
    }

    #[test]
    fn invalid_sender_is_an_address_error() {
        let err = Mailer::outbox("nope", None, Outbox::default()).unwrap_err();
        assert!(matches!(err, EmailError::Address(_)));
        let err = Mailer::outbox("a@b.test", Some("nope"), Outbox::default()).unwrap_err();
        assert!(matches!(err, EmailError::Address(_)));
    }

    #[tokio::test]
    async fn smtp_mailer_needs_a_relay() {
        let err = Mailer::smtp(&config(None), None).unwrap_err();
        assert!(matches!(err, EmailError::Config(_)), "{err:?}");
    }

    #[tokio::test]
    async fn smtp_mailer_needs_credentials_when_the_relay_names_them() {
        let err = Mailer::smtp(&config(Some(relay(SmtpTls::Starttls, true))), None).unwrap_err();
        assert!(matches!(err, EmailError::Config(_)), "{err:?}");
        let credentials = SmtpCredentials {
            username: "u".into(),
            password: "p".into(),
        };
        assert!(
            Mailer::smtp(
                &config(Some(relay(SmtpTls::Starttls, true))),
                Some(credentials)
            )
            .is_ok()
        );
    }

    #[test]
    fn smtp_mailer_outside_a_runtime_is_a_config_error() {
        let err = Mailer::smtp(&config(Some(relay(SmtpTls::None, false))), None).unwrap_err();
        assert!(matches!(err, EmailError::Config(_)), "{err:?}");
    }

    #[tokio::test]
    async fn smtp_mailer_builds_for_every_tls_mode() {
        for tls in [SmtpTls::Starttls, SmtpTls::Implicit, SmtpTls::None] {
            assert!(Mailer::smtp(&config(Some(relay(tls, false))), None).is_ok());
        }
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let credentials = SmtpCredentials {
            username: "mailer".into(),
            password: "hunter2-secret".into(),
        };
        assert!(!format!("{credentials:?}").contains("hunter2-secret"));
    }

    #[tokio::test]
    async fn message_is_multipart_alternative_with_from_and_reply_to() {
        let mailer = Mailer::smtp(&config(Some(relay(SmtpTls::None, false))), None).unwrap();
        let raw = String::from_utf8(
            mailer
                .build(&message("user@example.com"))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("From: Acme <no-reply@acme.test>\r\n"), "{raw}");
        assert!(raw.contains("Reply-To: help@acme.test\r\n"), "{raw}");
        assert!(raw.contains("To: user@example.com\r\n"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/html; charset=utf-8"),
            "{raw}"
        );
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let mailer = Mailer::outbox("no-reply@acme.test", None, Outbox::default()).unwrap();
        let mut m = message("user@example.com");
        m.subject = "Hi\r\nBcc: victim@example.com".into();
        let raw = String::from_utf8(mailer.build(&m).unwrap().formatted()).unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }
}
