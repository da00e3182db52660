//! Sign-up with email and password (SECURITY 2–5, 12).
//!
//! The response never says whether the address already has an account: a new account and a
//! taken address both lead to "check your email", cost one password hash, and send one email
//! (a code to a new account; a note to the owner of an existing one).

use crate::config::runtime::SignUpMode;
use crate::email::messages;
use crate::store::{NewToken, StoreError, TokenPurpose};

use crate::auth::limits::{self, SIGN_UP_PER_IP};
use crate::auth::{
    AuthError, Ctx, Reason, TOKEN_TTL_MS, link, new_code, normalize_email, product, send,
};

/// What happened.
#[derive(Debug)]
pub enum SignUpOutcome {
    /// Go to the verification page for this (normalized) address.
    VerifyEmail(String),
    /// Verification is not required: the account exists and may sign in now.
    Created(crate::store::User),
}

/// Creates an account (or pretends to, for a taken address).
pub async fn sign_up(
    ctx: &Ctx<'_>,
    email: &str,
    password: &str,
) -> Result<SignUpOutcome, AuthError> {
    let config = &ctx.active.config;
    if config.sign_up.mode == SignUpMode::Disabled {
        return Err(Reason::SignUpClosed.into());
    }
    limits::hit(ctx, &SIGN_UP_PER_IP, limits::ip(ctx)).await?;
    let email = normalize_email(email).ok_or(Reason::InvalidEmail)?;
    // Invite-only: an address with a pending organization invitation may sign up (and then
    // verify it, which the invitation needs).
    if config.sign_up.mode == SignUpMode::InviteOnly
        && !crate::auth::organizations::is_invited(ctx, &email).await?
    {
        return Err(Reason::SignUpInviteOnly.into());
    }
    let domain = email.rsplit('@').next().unwrap_or_default();
    let domains = &config.sign_up.allowed_domains;
    if !domains.is_empty() && !domains.iter().any(|d| d == domain) {
        return Err(Reason::EmailDomainNotAllowed {
            allowed: domains.clone(),
        }
        .into());
    }
    crate::auth::check_password(ctx, password, &email).await?;

    let hash = ctx
        .services
        .hasher
        .hash(password, &config.passwords)
        .await?;
    match ctx
        .services
        .store
        .create_user_with_email(&email, &hash, ctx.now)
        .await
    {
        Ok(user) => {
            if !config.sign_up.require_email_verification {
                return Ok(SignUpOutcome::Created(user));
            }
            issue_verification(ctx, &user.id, &email).await?;
            Ok(SignUpOutcome::VerifyEmail(email))
        }
        Err(StoreError::EmailTaken) => {
            let product = product(ctx);
            let (sign_in, reset) = (link(ctx, "/sign-in"), link(ctx, "/forgot-password"));
            send(
                ctx,
                messages::account_exists(ctx.words(), &email, &product, &sign_in, &reset),
            )
            .await;
            Ok(SignUpOutcome::VerifyEmail(email))
        }
        Err(e) => Err(e.into()),
    }
}

/// Issues a verification code and link for `email` and mails them.
pub async fn issue_verification(
    ctx: &Ctx<'_>,
    user_id: &str,
    email: &str,
) -> Result<(), AuthError> {
    let (code, code_hash) = new_code(user_id, TokenPurpose::VerifyEmail);
    let link_token = crate::crypto::random_token();
    ctx.services
        .store
        .issue_token(&NewToken {
            user_id: user_id.to_owned(),
            purpose: TokenPurpose::VerifyEmail,
            email: email.to_owned(),
            code_hash: Some(code_hash),
            link_hash: crate::crypto::token_hash(&link_token),
            expires_at: ctx.now + TOKEN_TTL_MS,
            now: ctx.now,
        })
        .await?;
    let url = link(ctx, &format!("/verify-email?token={link_token}"));
    send(
        ctx,
        messages::verification_code(ctx.words(), email, &product(ctx), &code, &url, 10),
    )
    .await;
    Ok(())
}
