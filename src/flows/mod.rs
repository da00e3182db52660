//! The auth flows: sign-up, email verification, sign-in, password recovery and account changes.
//!
//! They hold the rules and know nothing of HTTP: handlers extract input, call a flow and map its
//! outcome to a page. Everything a flow needs comes in through `Ctx`.

pub mod account;
pub mod devices;
pub mod limits;
pub mod recovery;
pub mod redirect;
pub mod sign_in;
pub mod sign_up;
pub mod verify;

use rand::RngExt;
use sha2::{Digest, Sha256};

use crate::email::Message;
use crate::server::live::Active;
use crate::server::session::ClientInfo;
use crate::server::state::AppState;
use crate::store::{StoreError, TokenPurpose};

/// How long emailed codes and links stay valid (SECURITY 15: at most 10 minutes).
pub const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong guesses allowed per emailed code before it dies.
pub const CODE_ATTEMPTS: i64 = 5;

/// What a flow runs with.
pub struct Ctx<'a> {
    /// Shared server state.
    pub state: &'a AppState,
    /// The config for this request.
    pub active: &'a Active,
    /// Now, Unix ms.
    pub now: i64,
    /// The client.
    pub client: &'a ClientInfo,
}

/// Why a flow could not complete, in terms a page can show.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The user can fix the input; the message is safe to show.
    #[error("{0}")]
    Invalid(String),
    /// Rate limited; retry after seconds.
    #[error("too many attempts")]
    Throttled(u64),
    /// Password hashing is saturated.
    #[error("busy")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed.
    #[error("{0}")]
    Internal(String),
}

impl From<crate::password::HashError> for FlowError {
    fn from(e: crate::password::HashError) -> Self {
        match e {
            crate::password::HashError::Busy => FlowError::Busy,
            other => FlowError::Internal(other.to_string()),
        }
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
    let digest = Sha256::digest(format!("{user_id}:{purpose:?}:{code}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a new password against the policy on the hashing pool: zxcvbn's estimate is
/// CPU-bound and slow for crafted input, so it must not run on an async worker.
pub async fn check_password(ctx: &Ctx<'_>, password: &str, email: &str) -> Result<(), FlowError> {
    let policy = &ctx.active.config.passwords;
    ctx.state
        .hasher
        .check_policy(password, policy, email)
        .await?
        .map_err(|v| FlowError::Invalid(v.to_string()))?;
    if let Some(url) = policy
        .breach_check_url
        .as_deref()
        .filter(|_| policy.breach_check)
    {
        let metrics = &ctx.state.metrics;
        match ctx.state.breach.breached(url, password).await {
            Ok(true) => {
                metrics.breach_check("breached");
                return Err(FlowError::Invalid(BREACHED.to_owned()));
            }
            Ok(false) => metrics.breach_check("clean"),
            // Fail open: an outage of the range API must not stop sign-ups and resets here;
            // the length rule and the built-in blocklist still apply. Counted, for alerting.
            Err(error) => {
                metrics.breach_check("skipped");
                tracing::warn!(%error, "breached-password check skipped");
            }
        }
    }
    Ok(())
}

/// What a password found in a breach corpus is told.
pub const BREACHED: &str =
    "This password has appeared in a data breach, so attackers try it first. Choose another.";

/// Uses up an emailed link's token: the user it was issued to, if the token is live, of this
/// purpose, and bound to the address the account still has.
pub async fn consume_link(
    ctx: &Ctx<'_>,
    purpose: TokenPurpose,
    token: &str,
) -> Result<Option<crate::store::User>, FlowError> {
    if !crate::server::cookies::is_token(token) {
        return Ok(None);
    }
    let hash = crate::server::cookies::token_hash(token);
    let Some(token) = ctx
        .state
        .store
        .consume_link(purpose, &hash, ctx.now)
        .await?
    else {
        return Ok(None);
    };
    let user = ctx.state.store.user_by_id(&token.user_id).await?;
    Ok(user.filter(|u| u.email == token.email))
}

/// Sends an email; a failure is logged and counted, never fatal: the user can ask again.
pub async fn send(ctx: &Ctx<'_>, message: Message) {
    match ctx.active.mailer.send(&message).await {
        Ok(()) => ctx.state.metrics.email("sent"),
        Err(e) => {
            ctx.state.metrics.email("failed");
            tracing::warn!(error = %e, subject = %message.subject, "email not delivered");
        }
    }
}

/// The product name in emails.
pub fn product(ctx: &Ctx<'_>) -> String {
    crate::server::pages::product_name(ctx.active)
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
