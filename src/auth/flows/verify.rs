//! Email verification by code or by link (SECURITY 15, 17): single use, 10 minutes, stored
//! hashed, bound to one account and one purpose, limited attempts, throttled resends.

use crate::store::{CodeOutcome, TokenPurpose, User};

use crate::auth::limits::{self, RESEND_PER_ACCOUNT, VERIFY_PER_IP};
use crate::auth::{AuthError, CODE_ATTEMPTS, Ctx, Reason, code_hash, normalize_email};

/// Verifies `email` with `code`; on success the user (now verified) is returned for sign-in.
pub async fn verify_code(ctx: &Ctx<'_>, email: &str, code: &str) -> Result<User, AuthError> {
    limits::hit(ctx, &VERIFY_PER_IP, limits::ip(ctx)).await?;
    let invalid = || AuthError::from(Reason::InvalidCode);
    let email = normalize_email(email).ok_or_else(invalid)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let Some(user) = ctx.services.store.user_by_email(&email).await? else {
        return Err(invalid());
    };
    let hash = code_hash(&user.id, TokenPurpose::VerifyEmail, code);
    match ctx
        .services
        .store
        .consume_code(
            &user.id,
            TokenPurpose::VerifyEmail,
            &hash,
            CODE_ATTEMPTS,
            ctx.now,
        )
        .await?
    {
        // The token is bound to the address it was sent to: an address changed since then is
        // not verified by it.
        CodeOutcome::Consumed(token) if token.email == user.email => {
            ctx.services
                .store
                .mark_email_verified(&user.id, ctx.now)
                .await?;
            // The browser that just verified is the account's first device: no notice for it.
            crate::auth::devices::note_sign_in(ctx, &user, false).await?;
            verified(ctx, user).await
        }
        _ => Err(invalid()),
    }
}

/// Verifies by the emailed link's token.
pub async fn verify_link(ctx: &Ctx<'_>, token: &str) -> Result<User, AuthError> {
    let Some(user) = crate::auth::consume_link(ctx, TokenPurpose::VerifyEmail, token).await? else {
        return Err(Reason::InvalidVerificationLink.into());
    };
    ctx.services
        .store
        .mark_email_verified(&user.id, ctx.now)
        .await?;
    verified(ctx, user).await
}

/// What a newly verified address brings: membership of the organization whose `autoJoin`
/// domain it is in.
async fn verified(ctx: &Ctx<'_>, mut user: User) -> Result<User, AuthError> {
    user.email_verified_at = Some(ctx.now);
    crate::auth::organizations::join_by_domain(ctx, &user).await?;
    Ok(user)
}

/// Sends a new code if the address has an unverified account; says the same either way.
pub async fn resend(ctx: &Ctx<'_>, email: &str) -> Result<(), AuthError> {
    let Some(email) = normalize_email(email) else {
        return Ok(());
    };
    if !limits::allow(ctx, &RESEND_PER_ACCOUNT, &email).await? {
        return Err(Reason::ResendTooSoon.into());
    }
    if let Some(user) = ctx.services.store.user_by_email(&email).await?
        && user.email_verified_at.is_none()
    {
        crate::auth::flows::sign_up::issue_verification(ctx, &user.id, &email).await?;
    }
    Ok(())
}
