//! Proving the existing account before a provider identity is linked to it, when the
//! provider's word for the address is not enough ([`super::accounts`]): the account's password
//! (through the ordinary sign-in, with its limits and lockout), or a code mailed to the
//! account's address (single use, 10 minutes, 5 guesses, resends throttled per account, guesses
//! limited per address).

use crate::auth::limits::{self, RESEND_PER_ACCOUNT, VERIFY_PER_IP};
use crate::auth::{AuthError, CODE_ATTEMPTS, Ctx, Reason, TOKEN_TTL_MS, code_hash, new_code};
use crate::email::messages;
use crate::store::{CodeOutcome, NewToken, TokenPurpose, User};

/// Mails `user` a code that proves the account, to link `provider` (its display name).
pub async fn send_code(ctx: &Ctx<'_>, user: &User, provider: &str) -> Result<(), AuthError> {
    // Its own counter: a verification resend a moment ago must not hold this code back.
    if !limits::allow(ctx, &RESEND_PER_ACCOUNT, &format!("link:{}", user.id)).await? {
        return Err(Reason::ResendTooSoon.into());
    }
    let (code, hash) = new_code(&user.id, TokenPurpose::LinkIdentity);
    // Code only: a link would let a mail scanner that follows links prove the account.
    let unused_link = crate::crypto::random_token();
    ctx.services
        .store
        .issue_token(&NewToken {
            user_id: user.id.clone(),
            purpose: TokenPurpose::LinkIdentity,
            email: user.email.clone(),
            code_hash: Some(hash),
            link_hash: crate::crypto::token_hash(&unused_link),
            expires_at: ctx.now + TOKEN_TTL_MS,
            now: ctx.now,
        })
        .await?;
    let product = crate::auth::product(ctx);
    crate::auth::send(
        ctx,
        messages::link_code(ctx.words(), &user.email, &product, provider, &code, 10),
    )
    .await;
    Ok(())
}

/// Checks a typed code against the newest one mailed to `user` for linking.
pub async fn check_code(ctx: &Ctx<'_>, user: &User, code: &str) -> Result<(), AuthError> {
    limits::hit(ctx, &VERIFY_PER_IP, limits::ip(ctx)).await?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::InvalidCode.into());
    }
    let hash = code_hash(&user.id, TokenPurpose::LinkIdentity, code);
    match ctx
        .services
        .store
        .consume_code(
            &user.id,
            TokenPurpose::LinkIdentity,
            &hash,
            CODE_ATTEMPTS,
            ctx.now,
        )
        .await?
    {
        // Bound to the address it was mailed to.
        CodeOutcome::Consumed(token) if token.email == user.email => Ok(()),
        _ => Err(Reason::InvalidCode.into()),
    }
}
