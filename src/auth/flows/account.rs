//! Account changes by a signed-in user: password and email (SECURITY 6, 14, 19, 41).
//!
//! Both require the current password; both end every session (the caller starts a new one, so the
//! session token changes with the privilege); both notify the user by email.

use crate::auth::SignedIn;
use crate::email::messages;
use crate::store::{CodeOutcome, NewToken, StoreError, TokenPurpose};

use crate::auth::limits::{self, SIGN_IN_FAILURES_PER_ACCOUNT};
use crate::auth::{
    AuthError, CODE_ATTEMPTS, Ctx, Reason, TOKEN_TTL_MS, code_hash, new_code, normalize_email,
    product, send,
};

/// Checks the current password of the signed-in user.
async fn reauthenticate(ctx: &Ctx<'_>, who: &SignedIn, password: &str) -> Result<(), AuthError> {
    limits::check(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &who.user.email).await?;
    let config = &ctx.active.config;
    let verification = ctx
        .services
        .hasher
        .verify(
            password,
            who.user.password_hash.as_deref(),
            &config.passwords,
        )
        .await?;
    if !verification.valid {
        let _ = limits::allow(ctx, &SIGN_IN_FAILURES_PER_ACCOUNT, &who.user.email).await?;
        return Err(Reason::WrongCurrentPassword.into());
    }
    Ok(())
}

/// Replaces the password after checking the current one. Ends every session of the user.
pub async fn change_password(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    current: &str,
    new: &str,
) -> Result<(), AuthError> {
    reauthenticate(ctx, who, current).await?;
    let config = &ctx.active.config;
    crate::auth::check_password(ctx, new, &who.user.email).await?;
    let hash = ctx.services.hasher.hash(new, &config.passwords).await?;
    ctx.services
        .store
        .replace_password(&who.user.id, &hash, None, ctx.now)
        .await?;
    send(
        ctx,
        messages::password_changed(ctx.words(), &who.user.email, &product(ctx)),
    )
    .await;
    Ok(())
}

/// Sends a code to a new address after checking the current password. Returns the address.
pub async fn start_email_change(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    new_email: &str,
    password: &str,
) -> Result<String, AuthError> {
    let email = normalize_email(new_email).ok_or(Reason::InvalidEmail)?;
    if email == who.user.email {
        return Err(Reason::SameEmail.into());
    }
    reauthenticate(ctx, who, password).await?;
    let (code, hash) = new_code(&who.user.id, TokenPurpose::ChangeEmail);
    ctx.services
        .store
        .issue_token(&NewToken {
            user_id: who.user.id.clone(),
            purpose: TokenPurpose::ChangeEmail,
            email: email.clone(),
            code_hash: Some(hash),
            link_hash: crate::crypto::token_hash(&crate::crypto::random_token()),
            expires_at: ctx.now + TOKEN_TTL_MS,
            now: ctx.now,
        })
        .await?;
    send(
        ctx,
        messages::email_change_code(ctx.words(), &email, &product(ctx), &code, 10),
    )
    .await;
    Ok(email)
}

/// Confirms the new address with its code, switches to it, ends every session and tells the
/// old address. Returns the new address.
pub async fn confirm_email_change(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    code: &str,
) -> Result<String, AuthError> {
    let invalid = || AuthError::from(Reason::InvalidCode);
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let hash = code_hash(&who.user.id, TokenPurpose::ChangeEmail, code);
    let outcome = ctx
        .services
        .store
        .consume_code(
            &who.user.id,
            TokenPurpose::ChangeEmail,
            &hash,
            CODE_ATTEMPTS,
            ctx.now,
        )
        .await?;
    let CodeOutcome::Consumed(token) = outcome else {
        return Err(invalid());
    };
    match ctx
        .services
        .store
        .change_email(&who.user.id, &token.email, None, ctx.now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::EmailTaken) => {
            return Err(Reason::EmailUnavailable.into());
        }
        Err(e) => return Err(e.into()),
    }
    send(
        ctx,
        messages::email_changed_notice(
            ctx.words(),
            &who.user.email,
            &product(ctx),
            &mask(&token.email),
        ),
    )
    .await;
    Ok(token.email)
}

/// `ada@example.com` → `a***@example.com`: enough for the owner to recognise, not to harvest.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}
