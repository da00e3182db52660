//! The trip to a provider and back: `/oauth/{slug}/start` sends the browser to the provider's
//! authorization endpoint; `/oauth/{slug}/callback` exchanges the code, checks what came back
//! and decides which account it signs in to.
//!
//! The flow is bound to the browser by a random flow id in a short-lived cookie. The server
//! stores only its hash, and derives `state`, `nonce` and the PKCE verifier from it
//! ([`derive`]), so a callback only completes in the browser that started it, only once (the
//! record is deleted as it is read), and only within [`FLOW_TTL_MS`].

use serde_json::Value;

use super::accounts::{self, Decision};
use super::id_token::{self, Expected, IssuerRule, UpstreamIdentity};
use super::upstream::{Endpoints, UpstreamError, is_openid};
use crate::auth::{AuthError, Ctx};
use crate::config::runtime::{ProviderConfig, ProviderType};
use crate::crypto;
use crate::store::{Identity, NewFlow, NewIdentity, PendingLink, StoreError, User};

/// A flow lives this long (the 10 minutes: a person at the provider's consent screen).
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// A pending link (the proof page) lives this long.
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// Clock skew allowed on upstream ID tokens' `exp` and `iat`, in seconds.
const SKEW_SECONDS: i64 = 120;

/// Why a provider sign-in did not complete. Each has a page that says so and a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The provider is not configured, or disabled since the flow started.
    #[error("provider disabled")]
    Disabled,
    /// No live flow for this browser: expired, already used, or started in another browser.
    #[error("flow expired or already used")]
    Expired,
    /// `state` does not match this browser's flow, or the flow belongs to another provider.
    #[error("state mismatch")]
    State,
    /// The person declined at the provider (or the provider refused the request).
    #[error("denied at the provider")]
    Denied,
    /// The provider could not be reached, answered too slowly, or answered nonsense.
    #[error("provider unreachable")]
    Unreachable,
    /// The provider's token failed validation (signature, issuer, audience, expiry, nonce).
    #[error("token failed validation")]
    Token,
    /// The provider did not share a verified email address.
    #[error("no verified email")]
    NoEmail,
    /// The address is outside the provider's `allowedDomains`.
    #[error("email domain not allowed")]
    Domain,
    /// No account, and this provider or the Vestibule does not let one be created.
    #[error("sign-up closed")]
    SignUpClosed,
    /// The identity is already linked to another account.
    #[error("identity linked to another account")]
    IdentityTaken,
}

impl Failure {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Disabled => "disabled",
            Failure::Expired => "expired",
            Failure::State => "state",
            Failure::Denied => "denied",
            Failure::Unreachable => "unreachable",
            Failure::Token => "token",
            Failure::NoEmail => "no_email",
            Failure::Domain => "domain",
            Failure::SignUpClosed => "sign_up_closed",
            Failure::IdentityTaken => "identity_taken",
        }
    }
}

/// A value derived from the flow id for one use (`state`, `nonce`, `pkce`): base64url of
/// SHA-256 over the label and the id, so each is unguessable without the cookie and none
/// reveals it.
pub fn derive(flow_id: &str, label: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("vestibule-federation:{label}:{flow_id}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// Where the provider sends the browser back.
pub fn callback_url(ctx: &Ctx<'_>, slug: &str) -> String {
    crate::auth::link(ctx, &format!("/oauth/{slug}/callback"))
}

/// A started flow: the cookie value the browser keeps, and where to send it.
pub struct Started {
    /// The flow id for the cookie (only its hash is stored).
    pub flow_id: String,
    /// The provider's authorization URL.
    pub location: String,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("flow_id", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Starts a flow through `provider`: `return_to` is where the browser goes afterwards;
/// `link_user_id` is the signed-in user who links this provider from `/account`.
pub async fn start(
    ctx: &Ctx<'_>,
    provider: &ProviderConfig,
    return_to: &str,
    link_user_id: Option<&str>,
) -> Result<Result<Started, Failure>, AuthError> {
    use crate::auth::limits;
    limits::hit(ctx, &limits::PROVIDER_START_PER_IP, limits::ip(ctx)).await?;
    let endpoints = match ctx.services.upstreams.endpoints(provider).await {
        Ok(endpoints) => endpoints,
        Err(error) => {
            tracing::warn!(provider = %provider.slug, %error, "provider sign-in cannot start");
            return Ok(Err(Failure::Unreachable));
        }
    };
    let flow_id = crypto::random_token();
    ctx.services
        .store
        .create_flow(&NewFlow {
            id_hash: crypto::token_hash(&flow_id),
            provider: provider.slug.clone(),
            return_to: return_to.to_owned(),
            link_user_id: link_user_id.map(str::to_owned),
            now: ctx.now,
            expires_at: ctx.now.saturating_add(FLOW_TTL_MS),
        })
        .await?;
    let location = authorization_url(ctx, provider, &endpoints, &flow_id);
    Ok(Ok(Started { flow_id, location }))
}

/// The authorization request (RFC 6749 4.1.1 with PKCE S256, RFC 7636; OIDC adds `nonce`).
fn authorization_url(
    ctx: &Ctx<'_>,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    flow_id: &str,
) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let verifier = derive(flow_id, "pkce");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let mut url = match url::Url::parse(&endpoints.authorization) {
        Ok(url) => url,
        // Compile checked the override, and discovery's value failed to parse: the provider's
        // page will say so; there is nothing better to send the browser to.
        Err(_) => return endpoints.authorization.clone(),
    };
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &callback_url(ctx, &provider.slug))
            .append_pair("state", &derive(flow_id, "state"))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if !provider.scopes.is_empty() {
            query.append_pair("scope", &provider.scopes.join(" "));
        }
        if is_openid(provider.provider_type) {
            query.append_pair("nonce", &derive(flow_id, "nonce"));
        }
        if provider.provider_type == ProviderType::Apple {
            // Apple sends the name only in a form post, and only with this mode.
            query.append_pair("response_mode", "form_post");
        }
    }
    url.into()
}

/// What a completed callback leads to.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per callback, consumed at once by the handler"
)]
pub enum Arrival {
    /// Sign `user` in through `identity`.
    SignIn {
        /// The account.
        user: User,
        /// The identity that signed it in.
        identity: Identity,
        /// Where to go afterwards.
        return_to: String,
        /// Whether this sign-in created the account.
        created: bool,
        /// Whether this sign-in linked the identity to the existing account.
        linked: bool,
    },
    /// An account with the identity's address exists, and the provider's word is not enough:
    /// the person proves that account first (the proof page, with this pending link's id).
    Prove {
        /// For the pending-link cookie (only its hash is stored).
        pending_id: String,
    },
    /// The signed-in user linked this provider from `/account` (the flow's owner, checked).
    Linked,
}

/// What came back to the callback.
pub struct Callback<'a> {
    /// The provider's slug in the path.
    pub slug: &'a str,
    /// This browser's flow id (the cookie), if it has one.
    pub flow_id: Option<&'a str>,
    /// The query (or, for `form_post`, the form) parameters.
    pub params: &'a [(String, String)],
    /// The signed-in user of this browser, if any (a link from `/account` must be theirs).
    pub signed_in: Option<&'a str>,
}

impl Callback<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Completes a flow at the callback.
pub async fn callback(
    ctx: &Ctx<'_>,
    input: &Callback<'_>,
) -> Result<Result<Arrival, Failure>, AuthError> {
    let Some(provider) = ctx.active.config.provider(input.slug) else {
        return Ok(Err(Failure::Disabled));
    };
    let Some(flow_id) = input.flow_id.filter(|id| crypto::is_token(id)) else {
        return Ok(Err(Failure::Expired));
    };
    // Used up before anything else is checked: a tampered callback kills the flow too.
    let Some(flow) = ctx
        .services
        .store
        .take_flow(&crypto::token_hash(flow_id), ctx.now)
        .await?
    else {
        return Ok(Err(Failure::Expired));
    };
    let state_ok = input.param("state").is_some_and(|state| {
        crypto::constant_time_eq(state.as_bytes(), derive(flow_id, "state").as_bytes())
    });
    if !state_ok || flow.provider != provider.slug {
        return Ok(Err(Failure::State));
    }
    if let Some(link_user) = &flow.link_user_id
        && input.signed_in != Some(link_user.as_str())
    {
        return Ok(Err(Failure::State));
    }
    if let Some(error) = input.param("error") {
        tracing::info!(provider = %provider.slug, error = %error.chars().take(64).collect::<String>(), "provider returned an error");
        return Ok(Err(Failure::Denied));
    }
    let identity = match authenticate(ctx, provider, input, flow_id).await {
        Ok(identity) => identity,
        Err(failure) => return Ok(Err(failure)),
    };
    settle(ctx, provider, identity, flow.return_to, flow.link_user_id).await
}

/// The code exchanged and the identity read and checked.
async fn authenticate(
    ctx: &Ctx<'_>,
    provider: &ProviderConfig,
    input: &Callback<'_>,
    flow_id: &str,
) -> Result<UpstreamIdentity, Failure> {
    let upstreams = &ctx.services.upstreams;
    let slug = &provider.slug;
    let unreachable = |error: UpstreamError| {
        tracing::warn!(provider = %slug, %error, "provider sign-in failed");
        match error {
            UpstreamError::Signature(_) => Failure::Token,
            UpstreamError::Refused(_) => Failure::Denied,
            _ => Failure::Unreachable,
        }
    };
    let endpoints = upstreams.endpoints(provider).await.map_err(unreachable)?;
    // RFC 9207: when the provider names itself, it must be the provider this flow went to
    // (a mix-up attack sends another provider's response here).
    if let (Some(iss), Some(IssuerRule::Exact(expected))) = (input.param("iss"), &endpoints.issuer)
        && iss != expected
    {
        tracing::warn!(provider = %slug, "callback iss is another issuer");
        return Err(Failure::Token);
    }
    let code = input
        .param("code")
        .filter(|c| !c.is_empty())
        .ok_or(Failure::Denied)?;
    let stored = ctx
        .active
        .secrets
        .get(&provider.client_secret.secret_key)
        .ok_or(Failure::Disabled)?;
    let secret = if provider.apple.is_some() {
        upstreams
            .apple_client_secret(provider, stored, ctx.now / 1000)
            .map_err(unreachable)?
    } else {
        stored.trim().to_owned()
    };
    let tokens = upstreams
        .exchange(
            &endpoints,
            &provider.client_id,
            &secret,
            code,
            &callback_url(ctx, slug),
            &derive(flow_id, "pkce"),
        )
        .await
        .map_err(unreachable)?;
    if !is_openid(provider.provider_type) {
        return oauth2_identity(ctx, provider, &endpoints, &tokens.access_token)
            .await
            .map_err(unreachable);
    }
    let (Some(id_token), Some(jwks), Some(rule)) =
        (&tokens.id_token, &endpoints.jwks, &endpoints.issuer)
    else {
        tracing::warn!(provider = %slug, "token response without an ID token");
        return Err(Failure::Token);
    };
    let claims = upstreams
        .verify_id_token(jwks, id_token)
        .await
        .map_err(unreachable)?;
    let nonce = derive(flow_id, "nonce");
    let expected = Expected {
        issuer: rule,
        client_id: &provider.client_id,
        nonce: &nonce,
        now: ctx.now / 1000,
        skew: SKEW_SECONDS,
        claims: &provider.claims,
    };
    let mut identity = id_token::check(&claims, &expected).map_err(|refusal| {
        tracing::warn!(provider = %slug, %refusal, "upstream ID token refused");
        Failure::Token
    })?;
    if provider.provider_type == ProviderType::Microsoft {
        // Entra ID sends no email_verified; `xms_edov` says the domain owner verified it.
        identity.email_verified = claims.get("xms_edov").and_then(Value::as_bool) == Some(true);
    }
    if provider.provider_type == ProviderType::Apple && identity.name.is_none() {
        // Apple sends the name once, at the first sign-in, in the form post's `user` field
        // (unsigned: used for display only, never to identify).
        identity.name = input.param("user").and_then(apple_name);
    }
    if identity.email.is_none()
        && let Some(userinfo) = &endpoints.userinfo
    {
        // OIDC Core 5.4: with the profile and email scopes the claims may come only from
        // userinfo. Its `sub` must be the ID token's (OIDC Core 5.3.4).
        let info = upstreams
            .get_with_token(userinfo, &tokens.access_token)
            .await
            .map_err(unreachable)?;
        if info.get("sub").and_then(Value::as_str) != Some(identity.subject.as_str()) {
            tracing::warn!(provider = %slug, "userinfo sub differs from the ID token's");
            return Err(Failure::Token);
        }
        let read = id_token::mapped(&info, &provider.claims);
        identity.email = read.email;
        identity.email_verified = read.email_verified;
        identity.name = identity.name.or(read.name);
        identity.picture = identity.picture.or(read.picture);
    }
    Ok(identity)
}

/// `{"name": {"firstName": .., "lastName": ..}}` from Apple's `user` form field.
fn apple_name(user: &str) -> Option<String> {
    let user: Value = serde_json::from_str(user).ok()?;
    let part = |k: &str| user.pointer(&format!("/name/{k}")).and_then(Value::as_str);
    let name = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then(|| name.chars().take(128).collect())
}

/// The identity from an OAuth 2.0-only provider: userinfo through the claim mapping; for
/// GitHub, `/user` plus the primary address from `/user/emails` with its verified flag.
async fn oauth2_identity(
    ctx: &Ctx<'_>,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    access_token: &str,
) -> Result<UpstreamIdentity, UpstreamError> {
    let upstreams = &ctx.services.upstreams;
    let userinfo = endpoints
        .userinfo
        .as_deref()
        .ok_or_else(|| UpstreamError::Protocol("no userinfo endpoint".into()))?;
    let info = upstreams.get_with_token(userinfo, access_token).await?;
    let mut identity = id_token::mapped(&info, &provider.claims);
    if identity.subject.is_empty() {
        return Err(UpstreamError::Protocol("userinfo without a subject".into()));
    }
    if let Some(emails) = &endpoints.emails {
        let list = upstreams.get_with_token(emails, access_token).await?;
        let primary = list.as_array().and_then(|all| {
            all.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        });
        identity.email = primary
            .and_then(|e| e.get("email"))
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        identity.email_verified = primary
            .and_then(|e| e.get("verified"))
            .and_then(Value::as_bool)
            == Some(true);
    }
    Ok(identity)
}

/// The profile worth keeping from an identity: a name of at most 128 characters without control
/// characters, and an `https` picture URL of at most 2048 bytes.
fn profile(identity: &UpstreamIdentity) -> (Option<String>, Option<String>) {
    let name = identity
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 128 && !n.chars().any(char::is_control))
        .map(str::to_owned);
    let picture = identity
        .picture
        .as_deref()
        .filter(|p| p.len() <= 2048)
        .and_then(|p| url::Url::parse(p).ok())
        .filter(|u| u.scheme() == "https")
        .map(String::from);
    (name, picture)
}

/// Which account the identity signs in to, applying the linking rule.
async fn settle(
    ctx: &Ctx<'_>,
    provider: &ProviderConfig,
    identity: UpstreamIdentity,
    return_to: String,
    link_user_id: Option<String>,
) -> Result<Result<Arrival, Failure>, AuthError> {
    let store = &ctx.services.store;
    let new_identity = |user_id: &str| NewIdentity {
        user_id: user_id.to_owned(),
        provider: provider.slug.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        email_verified: identity.email_verified,
        now: ctx.now,
    };
    if let Some((linked, user)) = store
        .identity_by_subject(&provider.slug, &identity.subject)
        .await?
    {
        if link_user_id.as_deref().is_some_and(|id| id != user.id) {
            return Ok(Err(Failure::IdentityTaken));
        }
        if let Err(failure) = accounts::check_domain(provider, &identity) {
            return Ok(Err(failure));
        }
        store.touch_identity(&user.id, &linked.id, ctx.now).await?;
        let (name, picture) = profile(&identity);
        store
            .fill_profile(&user.id, name.as_deref(), picture.as_deref(), ctx.now)
            .await?;
        if link_user_id.is_some() {
            return Ok(Ok(Arrival::Linked));
        }
        return Ok(Ok(Arrival::SignIn {
            user,
            identity: linked,
            return_to,
            created: false,
            linked: false,
        }));
    }
    if let Some(user_id) = link_user_id {
        if let Err(failure) = accounts::check_domain(provider, &identity) {
            return Ok(Err(failure));
        }
        return match store.link_identity(&new_identity(&user_id)).await {
            Ok(_) => Ok(Ok(Arrival::Linked)),
            Err(StoreError::IdentityTaken) => Ok(Err(Failure::IdentityTaken)),
            Err(e) => Err(e.into()),
        };
    }
    let existing = match identity.email.as_deref() {
        Some(email) => store.user_by_email(email).await?,
        None => None,
    };
    let decision = match accounts::decide(
        provider,
        &ctx.active.config.sign_up,
        &identity,
        existing.is_some(),
    ) {
        Ok(decision) => decision,
        Err(failure) => return Ok(Err(failure)),
    };
    match (decision, existing) {
        (Decision::Link, Some(user)) => match store.link_identity(&new_identity(&user.id)).await {
            Ok(linked) => {
                let (name, picture) = profile(&identity);
                store
                    .fill_profile(&user.id, name.as_deref(), picture.as_deref(), ctx.now)
                    .await?;
                Ok(Ok(Arrival::SignIn {
                    user,
                    identity: linked,
                    return_to,
                    created: false,
                    linked: true,
                }))
            }
            Err(StoreError::IdentityTaken) => Ok(Err(Failure::IdentityTaken)),
            Err(e) => Err(e.into()),
        },
        (Decision::Prove, Some(user)) => {
            let pending_id = crypto::random_token();
            store
                .create_pending_link(
                    &crypto::token_hash(&pending_id),
                    &PendingLink {
                        user_id: user.id,
                        provider: provider.slug.clone(),
                        subject: identity.subject.clone(),
                        email: identity.email.clone(),
                        email_verified: identity.email_verified,
                        return_to,
                    },
                    ctx.now,
                    ctx.now.saturating_add(PENDING_TTL_MS),
                )
                .await?;
            Ok(Ok(Arrival::Prove { pending_id }))
        }
        (Decision::Create, None) => {
            let email = identity.email.clone().unwrap_or_default();
            let (name, picture) = profile(&identity);
            match store
                .create_federated_user(
                    &email,
                    (name.as_deref(), picture.as_deref()),
                    &new_identity(""),
                )
                .await
            {
                Ok((user, linked)) => {
                    // A provider-verified address on an `autoJoin` domain joins like a
                    // verified sign-up does.
                    crate::auth::organizations::join_by_domain(ctx, &user).await?;
                    Ok(Ok(Arrival::SignIn {
                        user,
                        identity: linked,
                        return_to,
                        created: true,
                        linked: false,
                    }))
                }
                // Someone registered the address or linked the subject a moment ago: the
                // person signs in again and lands on the rule for an existing account.
                Err(StoreError::EmailTaken | StoreError::IdentityTaken) => {
                    Ok(Err(Failure::Expired))
                }
                Err(e) => Err(e.into()),
            }
        }
        // `decide` links or asks for proof only when the account exists, creates only when not.
        _ => Ok(Err(Failure::Expired)),
    }
}
