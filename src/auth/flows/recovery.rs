//! Forgot and reset password (SECURITY 12, 15, 17, 20).
//!
//! The request form always answers the same; the reset link is single use, valid 10 minutes,
//! stored hashed, and a successful reset ends every session and lifts the sign-in lockout.

use crate::email::messages;
use crate::store::{NewToken, TokenPurpose, User};

use crate::auth::limits::{
    self, RECOVERY_PER_ACCOUNT, RECOVERY_PER_IP, SIGN_IN_FAILURES_PER_ACCOUNT,
};
use crate::auth::{
    AuthError, Ctx, Reason, TOKEN_TTL_MS, check_password, link, normalize_email, product, send,
};

/// Emails a reset link if the address has an account (and a short note if not).
pub async fn request_reset(ctx: &Ctx<'_>, email: &str) -> Result<(), AuthError> {
    limits::hit(ctx, &RECOVERY_PER_IP, limits::ip(ctx)).await?;
    let Some(email) = normalize_email(email) else {
        return Ok(());
    };
    if !limits::allow(ctx, &RECOVERY_PER_ACCOUNT, &email).await? {
        return Ok(());
    }
    let product = product(ctx);
    match ctx.services.store.user_by_email(&email).await? {
        Some(user) => {
            let token = issue_reset_token(ctx, &user).await?;
            let url = link(ctx, &format!("/reset-password?token={token}"));
            send(
                ctx,
                messages::password_reset(ctx.words(), &email, &product, &url, 10),
            )
            .await;
        }
        None => {
            send(
                ctx,
                messages::password_reset_unknown_account(ctx.words(), &email, &product),
            )
            .await
        }
    }
    Ok(())
}

async fn issue_reset_token(ctx: &Ctx<'_>, user: &User) -> Result<String, AuthError> {
    let token = crate::crypto::random_token();
    ctx.services
        .store
        .issue_token(&NewToken {
            user_id: user.id.clone(),
            purpose: TokenPurpose::ResetPassword,
            email: user.email.clone(),
            code_hash: None,
            link_hash: crate::crypto::token_hash(&token),
            expires_at: ctx.now + TOKEN_TTL_MS,
            now: ctx.now,
        })
        .await?;
    Ok(token)
}

/// What happened.
#[derive(Debug)]
pub enum ResetOutcome {
    /// The password was replaced and every session ended.
    Done(User),
    /// The new password was refused after the link was used; here is a fresh link token so the
    /// user can try again without another email.
    Retry {
        /// Why.
        reason: Reason,
        /// The replacement token for the form.
        token: String,
    },
}

/// Sets a new password with a reset link's token.
pub async fn reset(
    ctx: &Ctx<'_>,
    token: &str,
    new_password: &str,
) -> Result<ResetOutcome, AuthError> {
    // Rules that need no account first, so a typo does not use up the link.
    check_password(ctx, new_password, "").await?;
    let Some(user) = crate::auth::consume_link(ctx, TokenPurpose::ResetPassword, token).await?
    else {
        return Err(Reason::InvalidResetLink.into());
    };
    let config = &ctx.active.config;
    if let Err(AuthError::Rejected(reason)) = check_password(ctx, new_password, &user.email).await {
        let fresh = issue_reset_token(ctx, &user).await?;
        return Ok(ResetOutcome::Retry {
            reason,
            token: fresh,
        });
    }
    let new_hash = ctx
        .services
        .hasher
        .hash(new_password, &config.passwords)
        .await?;
    ctx.services
        .store
        .replace_password(&user.id, &new_hash, None, ctx.now)
        .await?;
    // The link proved control of the mailbox: the address is verified and a lockout lifted.
    if user.email_verified_at.is_none() {
        ctx.services
            .store
            .mark_email_verified(&user.id, ctx.now)
            .await?;
    }
    limits::clear(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &user.email).await?;
    send(
        ctx,
        messages::password_changed(ctx.words(), &user.email, &product(ctx)),
    )
    .await;
    Ok(ResetOutcome::Done(user))
}
