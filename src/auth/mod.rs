//! The auth domain: sign-up, email verification, sign-in, recovery, account changes, sessions,
//! limits and return addresses, as plain functions over a [`Ctx`].
//!
//! Nothing here knows HTTP: a face (`http::pages`, later `http::oauth` and `http::admin`) turns
//! a request into a `Ctx` and arguments, calls a flow, and words the typed outcome or
//! [`AuthError`] for its audience. Reasons are codes ([`Reason`]), never sentences, so pages can
//! translate them and JSON faces can map them to protocol errors.

pub mod devices;
mod error;
pub mod federation;
pub mod flows;
pub mod limits;
pub mod maintenance;
pub mod metrics;
pub mod mfa;
pub mod oidc;
pub mod organizations;
pub mod password;
pub mod redirect;
pub mod sessions;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngExt;

pub use error::{AuthError, Reason};
pub use metrics::AuthMetrics;
pub use sessions::{Factor, SignedIn};

use crate::crypto;
use crate::email::Message;
use crate::i18n::Translator;
use crate::runtime::Active;
use crate::store::{Store, TokenPurpose};
use metrics::{BreachResult, EmailResult};
use password::PasswordHasher;
use password::breach::BreachCheck;

/// How long emailed codes and links stay valid (SECURITY 15: at most 10 minutes).
pub const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong guesses allowed per emailed code before it dies.
pub const CODE_ATTEMPTS: i64 = 5;

/// Milliseconds since the Unix epoch, with an offset tests can move forward to check expiry.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in Unix milliseconds.
    pub fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests of timeouts and expiry).
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The long-lived services every flow uses. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Users, sessions, tokens, counters.
    pub store: Store,
    /// Bounded-concurrency password hashing.
    pub hasher: PasswordHasher,
    /// Breached-password lookups (when the config turns them on).
    pub breach: BreachCheck,
    /// What the domain counts.
    pub metrics: AuthMetrics,
    /// The clock.
    pub clock: Clock,
    /// Rate limits and lockout. Only `vestibule dev --no-rate-limits` (for load tests on one
    /// machine, where every request comes from one address) turns them off.
    pub rate_limits: bool,
    /// The token endpoint's in-memory request rate limits.
    pub token_rate: limits::TokenRate,
    /// Upstream identity providers over HTTP (discovery and JWKS cached).
    pub upstreams: federation::upstream::Upstreams,
}

impl Services {
    /// Services over `store`, hashing on one worker per core.
    pub fn new(store: Store) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            // Each argon2id hash holds its memory for its whole run: one per core, and a queue
            // of 64 per core before answering busy (SECURITY 8).
            hasher: PasswordHasher::new(cores, cores * 64),
            breach: BreachCheck::default(),
            metrics: AuthMetrics::default(),
            clock: Clock::default(),
            rate_limits: true,
            token_rate: limits::TokenRate::default(),
            upstreams: federation::upstream::Upstreams::default(),
        }
    }
}

/// Who is asking: recorded on sessions and used for per-IP limits.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// Remote address.
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
    /// The words of the client's locale, for the mail a flow sends; `None` (no page request)
    /// is English.
    pub words: Option<Translator>,
}

/// What a flow runs with: the services, the config snapshot of this request, the time and the
/// client.
pub struct Ctx<'a> {
    /// Shared services.
    pub services: &'a Services,
    /// The config for this request (one snapshot throughout).
    pub active: &'a Active,
    /// Now, Unix ms.
    pub now: i64,
    /// The client.
    pub client: &'a ClientInfo,
}

impl<'a> Ctx<'a> {
    /// A context at the services' current time.
    pub fn new(services: &'a Services, active: &'a Active, client: &'a ClientInfo) -> Self {
        Self {
            services,
            active,
            now: services.clock.now(),
            client,
        }
    }

    /// The words for mail sent in this flow: the client's locale, else English (with the
    /// theme's English overrides).
    pub fn words(&self) -> &'a Translator {
        self.client
            .words
            .as_ref()
            .or_else(|| self.active.look.locales.get(crate::i18n::FALLBACK))
            .unwrap_or_else(|| crate::i18n::english())
    }
}

/// An email address as stored and compared: trimmed and lower-cased. `None` if it is not an
/// address.
pub fn normalize_email(input: &str) -> Option<String> {
    let email = input.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        });
    valid.then_some(email)
}

/// A 6-digit code and the hash that is stored instead (bound to the user and the purpose, so a
/// code for one flow or account never matches another).
pub fn new_code(user_id: &str, purpose: TokenPurpose) -> (String, String) {
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let hash = code_hash(user_id, purpose, &code);
    (code, hash)
}

/// The stored form of a code.
pub fn code_hash(user_id: &str, purpose: TokenPurpose, code: &str) -> String {
    crypto::sha256_hex(format!("{user_id}:{purpose:?}:{code}").as_bytes())
}

/// Checks a new password against the policy on the hashing pool: zxcvbn's estimate is
/// CPU-bound and slow for crafted input, so it must not run on an async worker.
pub async fn check_password(ctx: &Ctx<'_>, password: &str, email: &str) -> Result<(), AuthError> {
    let policy = &ctx.active.config.passwords;
    let services = ctx.services;
    services
        .hasher
        .check_policy(password, policy, email)
        .await?
        .map_err(Reason::WeakPassword)?;
    if let Some(url) = policy
        .breach_check_url
        .as_deref()
        .filter(|_| policy.breach_check)
    {
        let metrics = &services.metrics;
        match services.breach.breached(url, password).await {
            Ok(true) => {
                metrics.breach_check(BreachResult::Breached);
                return Err(Reason::BreachedPassword.into());
            }
            Ok(false) => metrics.breach_check(BreachResult::Clean),
            // Fail open: an outage of the range API must not stop sign-ups and resets here;
            // the length rule and the built-in blocklist still apply. Counted, for alerting.
            Err(error) => {
                metrics.breach_check(BreachResult::Skipped);
                tracing::warn!(%error, "breached-password check skipped");
            }
        }
    }
    Ok(())
}

/// Uses up an emailed link's token: the user it was issued to, if the token is live, of this
/// purpose, and bound to the address the account still has.
pub async fn consume_link(
    ctx: &Ctx<'_>,
    purpose: TokenPurpose,
    token: &str,
) -> Result<Option<crate::store::User>, AuthError> {
    if !crypto::is_token(token) {
        return Ok(None);
    }
    let store = &ctx.services.store;
    let Some(token) = store
        .consume_link(purpose, &crypto::token_hash(token), ctx.now)
        .await?
    else {
        return Ok(None);
    };
    let user = store.user_by_id(&token.user_id).await?;
    Ok(user.filter(|u| u.email == token.email))
}

/// Sends an email; a failure is logged and counted, never fatal: the user can ask again.
pub async fn send(ctx: &Ctx<'_>, mut message: Message) {
    let metrics = &ctx.services.metrics;
    // The theme's email templates and tokens make the HTML part; the plain one stays as composed.
    let look = &ctx.active.look;
    match crate::email::messages::themed_html(
        &message,
        &look.templates,
        &look.theme,
        ctx.words(),
        &product(ctx),
    ) {
        Ok(html) => message.html = html,
        Err(e) => tracing::warn!(error = %e, "email template failed; sending the plain HTML part"),
    }
    match ctx.active.mailer.send(&message).await {
        Ok(()) => metrics.email(EmailResult::Sent),
        Err(e) => {
            metrics.email(EmailResult::Failed);
            tracing::warn!(error = %e, subject = %message.subject, "email not delivered");
        }
    }
}

/// The product name in emails.
pub fn product(ctx: &Ctx<'_>) -> String {
    ctx.active.product_name()
}

/// An absolute URL on this server.
pub fn link(ctx: &Ctx<'_>, path_and_query: &str) -> String {
    format!(
        "{}{path_and_query}",
        ctx.active.config.issuer.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM "),
            Some("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "<ada@example.com>",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_bound_to_user_and_purpose() {
        let (code, hash) = new_code("u1", TokenPurpose::VerifyEmail);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(hash, code_hash("u1", TokenPurpose::VerifyEmail, &code));
        assert_ne!(hash, code_hash("u2", TokenPurpose::VerifyEmail, &code));
        assert_ne!(hash, code_hash("u1", TokenPurpose::ChangeEmail, &code));
    }
}
