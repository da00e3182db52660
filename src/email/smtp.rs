//! Delivery to an SMTP relay: lettre on tokio with rustls, pooled connections, retries.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{EmailError, SmtpCredentials};
use crate::config::runtime::{SmtpConfig, SmtpTls};

/// Pause before each retry of a transient failure; three retries, then the error is returned.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Per connect and per SMTP command. lettre's default (60 s) would hold a sign-up request for
/// minutes behind a relay that accepts connections but never answers.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// A configured relay.
#[derive(Clone)]
pub(super) struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "smtp://{}:{}", self.host, self.port)
    }
}

impl Relay {
    pub(super) fn new(
        config: &SmtpConfig,
        credentials: Option<SmtpCredentials>,
    ) -> Result<Self, EmailError> {
        if config.host.is_empty() {
            return Err(EmailError::Config("SMTP host is empty".into()));
        }
        let needs_credentials = config.username.is_some() || config.password.is_some();
        if needs_credentials && credentials.is_none() {
            return Err(EmailError::Config(
                "the SMTP relay needs a username and password, but none were given".into(),
            ));
        }
        let tls_parameters = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| EmailError::Config(format!("SMTP TLS for {}: {e}", config.host)))
        };
        let tls = match config.tls {
            // Required, not opportunistic: lettre refuses to go on (and so to send credentials
            // or mail) when the relay does not offer STARTTLS, which defeats STARTTLS stripping.
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT));
        if let Some(c) = credentials {
            builder = builder.credentials(Credentials::new(c.username, c.password));
        }
        Ok(Self {
            transport: builder.build(),
            host: config.host.clone(),
            port: config.port,
        })
    }

    /// Sends, retrying failures that may go away (4xx replies, refused or dropped connections,
    /// timeouts); permanent ones (5xx, failed TLS, a relay without STARTTLS) are returned at once.
    pub(super) async fn send(&self, email: &lettre::Message) -> Result<(), EmailError> {
        let envelope = email.envelope();
        let raw = email.formatted();
        let mut retries = RETRY_DELAYS.iter();
        loop {
            let error = match self.transport.send_raw(envelope, &raw).await {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            match retries.next() {
                Some(delay) if is_transient(&error) => {
                    // The error names the relay's reply, never the message: bodies hold codes
                    // and sign-in links.
                    tracing::warn!(relay = ?self, %error, retry_in = ?delay, "SMTP send failed");
                    tokio::time::sleep(*delay).await;
                }
                _ => return Err(EmailError::Smtp(error.to_string())),
            }
        }
    }
}

fn is_transient(error: &lettre::transport::smtp::Error) -> bool {
    error.is_transient()
        || error.is_timeout()
        || !(error.is_permanent()
            || error.is_client()
            || error.is_tls()
            || error.is_transport_shutdown())
}
