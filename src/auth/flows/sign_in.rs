//! Sign-in with email and password (SECURITY 9–11).
//!
//! An unknown address and a wrong password take the same path: a full password verification
//! (against a dummy hash when there is no account), the same failure counter, the same message.

use crate::store::User;

use crate::auth::limits::{self, RESEND_PER_ACCOUNT, SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_PER_IP};
use crate::auth::metrics::SignInResult;
use crate::auth::{AuthError, Ctx, Reason, normalize_email};

/// What happened.
#[derive(Debug)]
pub enum SignInOutcome {
    /// Right password, verified (or verification not required): start a session.
    Success(User),
    /// Right password, but the address must be verified first; a code was sent if allowed.
    Unverified(String),
}

/// Checks the credentials.
pub async fn sign_in(
    ctx: &Ctx<'_>,
    email: &str,
    password: &str,
) -> Result<SignInOutcome, AuthError> {
    let metrics = &ctx.services.metrics;
    if let Err(e) = limits::hit(ctx, &SIGN_IN_PER_IP, limits::ip(ctx)).await {
        metrics.sign_in(SignInResult::Throttled);
        return Err(e);
    }
    let config = &ctx.active.config;
    let email = normalize_email(email).unwrap_or_default();
    if let Err(e) = limits::check(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &email).await {
        metrics.sign_in(SignInResult::Locked);
        return Err(e);
    }
    let user = if email.is_empty() {
        None
    } else {
        ctx.services.store.user_by_email(&email).await?
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verification = match ctx
        .services
        .hasher
        .verify(password, stored, &config.passwords)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            metrics.sign_in(SignInResult::Busy);
            return Err(e.into());
        }
    };
    let Some(user) = user.filter(|_| verification.valid) else {
        // Counting may itself hit the limit; the answer stays the same either way.
        let _ = limits::allow(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &email).await?;
        metrics.sign_in(SignInResult::Invalid);
        return Err(Reason::InvalidCredentials.into());
    };
    limits::clear(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &email).await?;
    if verification.needs_rehash {
        // Parameters were raised since this hash was made (SECURITY 1): upgrade it now that we
        // hold the plaintext.
        let upgraded = ctx
            .services
            .hasher
            .hash(password, &config.passwords)
            .await?;
        ctx.services
            .store
            .set_password_hash(&user.id, &upgraded, ctx.now)
            .await?;
    }
    if config.sign_up.require_email_verification && user.email_verified_at.is_none() {
        if limits::allow(ctx, &RESEND_PER_ACCOUNT, &user.email).await? {
            crate::auth::flows::sign_up::issue_verification(ctx, &user.id, &user.email).await?;
        }
        metrics.sign_in(SignInResult::Unverified);
        return Ok(SignInOutcome::Unverified(user.email));
    }
    crate::auth::devices::note_sign_in(ctx, &user, true).await?;
    metrics.sign_in(SignInResult::Success);
    Ok(SignInOutcome::Success(user))
}
