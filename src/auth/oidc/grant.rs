//! The grant state machine: an authorization becomes a code; the code (with its PKCE verifier
//! and redirect URI) becomes tokens and a refresh token; a refresh token becomes new tokens and
//! a new refresh token. Plain async functions over a [`Ctx`]; the token endpoint maps
//! [`TokenError`] to RFC 6749 errors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::authorize::Authorization;
use super::tokens::{Minted, Subject, mint, mint_for_client};
use crate::auth::{AuthError, Ctx};
use crate::config::runtime::{ApplicationConfig, GrantType};
use crate::crypto::{self, keys};
use crate::store::{GrantRefusal, NewGrant, Presenter, Session, User};

/// How long an authorization code lives (RFC 6749 recommends at most 10 minutes).
pub const CODE_TTL_MS: i64 = 60 * 1000;

/// A token response's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Access and ID tokens.
    pub minted: Minted,
    /// The new refresh token, when the Application may refresh.
    pub refresh_token: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// Why a token request fails, by RFC 6749 error.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `invalid_grant`: unknown, expired, revoked or replayed code or token, or a mismatch of
    /// client, redirect URI or PKCE verifier. The detail is for the log only.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// `unauthorized_client`: the Application may not use this grant type.
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// `invalid_scope`: a scope the Application does not have.
    #[error("invalid_scope")]
    InvalidScope,
    /// `invalid_target` (RFC 8707): a resource the Application may not ask for, or another
    /// than the grant's.
    #[error("invalid_target")]
    InvalidTarget,
    /// `invalid_request`: a required parameter is missing.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// No key can sign yet (the key set is missing).
    #[error("no signing key")]
    NoSigningKey,
    /// Storage or signing failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        TokenError::Auth(AuthError::Store(e))
    }
}

/// Issues a code for an authorization the user (signed in as `session`) has made.
pub async fn issue_code(
    ctx: &Ctx<'_>,
    app: &ApplicationConfig,
    authorization: &Authorization,
    session: &Session,
) -> Result<String, AuthError> {
    let code = crypto::random_token();
    let refresh_ms = i64::try_from(app.refresh_token_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    ctx.services
        .store
        .create_grant(&NewGrant {
            user_id: session.user_id.clone(),
            client_id: app.client_id.clone(),
            session_id: Some(session.id.clone()),
            scopes: authorization.scopes.clone(),
            auth_time: session.created_at,
            factors: session.factors.clone(),
            nonce: authorization.nonce.clone(),
            expires_at: ctx.now.saturating_add(refresh_ms),
            resource: authorization.resource.clone(),
            organization_id: session.organization_id.clone(),
            code_hash: crypto::token_hash(&code),
            redirect_uri: authorization.redirect_uri.clone(),
            code_challenge: authorization.code_challenge.clone(),
            code_expires_at: ctx.now.saturating_add(CODE_TTL_MS),
            now: ctx.now,
        })
        .await?;
    Ok(code)
}

/// PKCE S256 (RFC 7636 4.6): `BASE64URL(SHA256(verifier)) == challenge`, in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    // 43 to 128 unreserved characters (RFC 7636 4.1).
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// The `authorization_code` grant.
pub async fn exchange_code(
    ctx: &Ctx<'_>,
    app: &ApplicationConfig,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<Tokens, TokenError> {
    if !app.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(TokenError::UnauthorizedClient);
    }
    listed_resource(app, resource)?;
    let redeemed = match ctx
        .services
        .store
        .redeem_code(&crypto::token_hash(code), ctx.now)
        .await?
    {
        Ok(redeemed) => redeemed,
        Err(GrantRefusal::Replayed { grant_id }) => {
            // SECURITY: a second redemption means the code leaked; its tokens are revoked.
            tracing::warn!(client_id = %app.client_id, grant = %grant_id, "authorization code reused: grant revoked");
            return Err(TokenError::InvalidGrant("code reused"));
        }
        Err(_) => return Err(TokenError::InvalidGrant("unknown, expired or revoked code")),
    };
    let grant = &redeemed.grant;
    if grant.client_id != app.client_id {
        return Err(TokenError::InvalidGrant("code issued to another client"));
    }
    if redirect_uri != Some(redeemed.redirect_uri.as_str()) {
        return Err(TokenError::InvalidGrant("redirect_uri differs"));
    }
    match (&redeemed.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => return Err(TokenError::InvalidGrant("PKCE verifier does not match")),
        (None, Some(_)) => {
            return Err(TokenError::InvalidGrant(
                "code_verifier without a code_challenge",
            ));
        }
        (None, None) => {}
    }
    if !grant.serves(resource) {
        return Err(TokenError::InvalidTarget);
    }
    tokens_for(ctx, app, grant, None, true).await
}

/// A `resource` sent to the token endpoint must be one of the Application's (checked before
/// anything is used up).
fn listed_resource<'a>(
    app: &ApplicationConfig,
    resource: Option<&'a str>,
) -> Result<Option<&'a str>, TokenError> {
    match resource {
        Some(r) if !app.resources.iter().any(|listed| listed == r) => {
            Err(TokenError::InvalidTarget)
        }
        other => Ok(other),
    }
}

/// The `refresh_token` grant: rotates the token; a replayed one revokes its family.
pub async fn refresh(
    ctx: &Ctx<'_>,
    app: &ApplicationConfig,
    refresh_token: &str,
    resource: Option<&str>,
) -> Result<Tokens, TokenError> {
    if !app.grant_types.contains(&GrantType::RefreshToken) {
        return Err(TokenError::UnauthorizedClient);
    }
    listed_resource(app, resource)?;
    let next = crypto::new_refresh_token(ctx.now);
    let (grant, user) = match ctx
        .services
        .store
        .rotate_refresh_token(
            &crypto::refresh_token_key(refresh_token),
            &crypto::refresh_token_key(&next),
            // Checked before the token is used up: a mistaken request leaves it working.
            Presenter {
                client_id: &app.client_id,
                resource,
            },
            ctx.now,
        )
        .await?
    {
        Ok(found) => found,
        Err(GrantRefusal::Replayed { grant_id }) => {
            tracing::warn!(client_id = %app.client_id, grant = %grant_id, "refresh token replayed: family revoked");
            return Err(TokenError::InvalidGrant("refresh token replayed"));
        }
        Err(GrantRefusal::OtherClient) => {
            return Err(TokenError::InvalidGrant(
                "refresh token issued to another client",
            ));
        }
        Err(GrantRefusal::OtherResource) => return Err(TokenError::InvalidTarget),
        Err(_) => {
            return Err(TokenError::InvalidGrant(
                "unknown, expired or revoked refresh token",
            ));
        }
    };
    let mut tokens = tokens_for(ctx, app, &grant, Some(user), false).await?;
    tokens.refresh_token = Some(next);
    Ok(tokens)
}

/// The `client_credentials` grant (machine clients): scopes within the Application's, none of
/// the user scopes (`openid`, `email`, ...) since there is no user.
pub async fn client_credentials(
    ctx: &Ctx<'_>,
    app: &ApplicationConfig,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<Tokens, TokenError> {
    if !app.confidential || !app.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(TokenError::UnauthorizedClient);
    }
    let requested: Vec<String> = match scope {
        Some(scope) => scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => app.scopes.clone(),
    };
    if requested.iter().any(|s| !app.scopes.contains(s)) {
        return Err(TokenError::InvalidScope);
    }
    let resource = listed_resource(app, resource)?;
    let key = ctx
        .active
        .keys
        .as_ref()
        .and_then(|set| keys::signing_key(set, ctx.now))
        .ok_or(TokenError::NoSigningKey)?;
    let minted = mint_for_client(
        key,
        &ctx.active.config.issuer,
        app,
        &requested,
        resource,
        ctx.now,
        &crypto::random_token(),
    )
    .map_err(|e| TokenError::Auth(AuthError::Internal(e.to_string())))?;
    Ok(Tokens {
        minted,
        refresh_token: None,
        scope: requested.join(" "),
    })
}

/// Mints tokens for `grant` (for its `user` when the caller has read them already); on a code
/// exchange also starts its refresh family.
async fn tokens_for(
    ctx: &Ctx<'_>,
    app: &ApplicationConfig,
    grant: &crate::store::Grant,
    user: Option<User>,
    first: bool,
) -> Result<Tokens, TokenError> {
    let user: User = match user {
        Some(user) => user,
        None => ctx
            .services
            .store
            .user_by_id(&grant.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is gone"))?,
    };
    let key = ctx
        .active
        .keys
        .as_ref()
        .and_then(|set| keys::signing_key(set, ctx.now))
        .ok_or(TokenError::NoSigningKey)?;
    let organization =
        crate::auth::organizations::claims(ctx, &user.id, grant.organization_id.as_deref()).await?;
    // An Application whose tokens always speak for an organization gets none for a user who
    // left it: the client must send the user through authorization again.
    if app.require_organization && organization.is_none() {
        return Err(TokenError::InvalidGrant(
            "the user is no longer a member of the grant's organization",
        ));
    }
    let subject = Subject {
        user_id: &user.id,
        email: &user.email,
        email_verified: user.email_verified_at.is_some(),
        name: user.name.as_deref(),
        picture: user.picture.as_deref(),
        organization: organization.as_ref(),
    };
    let minted = mint(
        key,
        &ctx.active.config.issuer,
        app,
        grant,
        subject,
        ctx.now,
        &crypto::random_token(),
    )
    .map_err(|e| TokenError::Auth(AuthError::Internal(e.to_string())))?;
    let refresh_token = if first && app.grant_types.contains(&GrantType::RefreshToken) {
        let token = crypto::new_refresh_token(ctx.now);
        ctx.services
            .store
            .add_refresh_token(&grant.id, &crypto::refresh_token_key(&token), ctx.now)
            .await?;
        Some(token)
    } else {
        None
    };
    Ok(Tokens {
        minted,
        refresh_token,
        scope: grant.scopes.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example_and_nothing_else() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        // `plain` would compare the verifier itself: never.
        assert!(!pkce_matches(challenge, challenge));
        assert!(!pkce_matches("short", challenge));
    }
}
