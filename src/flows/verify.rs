//! Email verification by code or by link (SECURITY 15, 17): single use, 10 minutes, stored
//! hashed, bound to one account and one purpose, limited attempts, throttled resends.

use crate::store::{CodeOutcome, TokenPurpose, User};

use super::limits::{self, RESEND_PER_ACCOUNT, VERIFY_PER_IP};
use super::{CODE_ATTEMPTS, Ctx, FlowError, code_hash, normalize_email};

/// The one message for every failed code, so a failure says nothing about the account.
pub const INVALID_CODE: &str =
    "That code is not valid. Check the latest email or ask for a new code.";

/// Verifies `email` with `code`; on success the user (now verified) is returned for sign-in.
pub async fn verify_code(ctx: &Ctx<'_>, email: &str, code: &str) -> Result<User, FlowError> {
    limits::hit(ctx, &VERIFY_PER_IP, limits::ip(ctx)).await?;
    let invalid = || FlowError::Invalid(INVALID_CODE.into());
    let email = normalize_email(email).ok_or_else(invalid)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let Some(user) = ctx.state.store.user_by_email(&email).await? else {
        return Err(invalid());
    };
    let hash = code_hash(&user.id, TokenPurpose::VerifyEmail, code);
    match ctx
        .state
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
            ctx.state
                .store
                .mark_email_verified(&user.id, ctx.now)
                .await?;
            // The browser that just verified is the account's first device: no notice for it.
            super::devices::note_sign_in(ctx, &user, false).await?;
            Ok(user)
        }
        _ => Err(invalid()),
    }
}

/// Verifies by the emailed link's token.
pub async fn verify_link(ctx: &Ctx<'_>, token: &str) -> Result<User, FlowError> {
    let Some(user) = super::consume_link(ctx, TokenPurpose::VerifyEmail, token).await? else {
        return Err(FlowError::Invalid(
            "This link is not valid any more. Sign in to get a new one.".into(),
        ));
    };
    ctx.state
        .store
        .mark_email_verified(&user.id, ctx.now)
        .await?;
    Ok(user)
}

/// Sends a new code if the address has an unverified account; says the same either way.
pub async fn resend(ctx: &Ctx<'_>, email: &str) -> Result<(), FlowError> {
    let Some(email) = normalize_email(email) else {
        return Ok(());
    };
    if !limits::allow(ctx, &RESEND_PER_ACCOUNT, &email).await? {
        return Err(FlowError::Invalid(
            "Wait a minute before asking for another code.".into(),
        ));
    }
    if let Some(user) = ctx.state.store.user_by_email(&email).await?
        && user.email_verified_at.is_none()
    {
        super::sign_up::issue_verification(ctx, &user.id, &email).await?;
    }
    Ok(())
}
