//! `POST /oauth2/token` (RFC 6749 3.2): client authentication (`client_secret_basic`,
//! `client_secret_post`, or `none` for public clients), then the `authorization_code` or
//! `refresh_token` or `client_credentials` grant. Errors are RFC 6749 5.2 JSON; nothing here
//! answers 500 for bad input.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::OAuthError;
use crate::auth::oidc::grant::{self, TokenError, Tokens};
use crate::auth::{AuthError, Ctx, limits};
use crate::config::runtime::ApplicationConfig;
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::runtime::Active;

/// `POST /oauth2/token`; answers (errors included) carry CORS headers for listed origins.
pub async fn token(
    State(state): State<AppState>,
    caller: super::Caller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let request = caller.headers.clone();
    let result = token_inner(state.clone(), caller, form).await;
    super::with_cors(&state, &request, result)
}

async fn token_inner(
    state: AppState,
    caller: super::Caller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, OAuthError> {
    let active = state.live.load();
    let client = client_info(&caller.headers, caller.peer, &active.trusted_proxies);
    let ctx = Ctx::new(&state.auth, &active, &client);
    let ip = limits::ip(&ctx).to_owned();
    // Refused outright once this address has failed too often; each failure counts.
    match limits::check(&ctx, &limits::TOKEN_FAILURES_PER_IP, &ip).await {
        Ok(()) => {}
        Err(AuthError::Throttled(seconds)) => return Err(OAuthError::TooManyRequests(seconds)),
        Err(e) => return Err(OAuthError::Internal(e.to_string())),
    }
    let result = handle(&state, caller, form).await;
    if let Err(e) = &result
        && !matches!(
            e,
            OAuthError::Internal(_) | OAuthError::Unavailable | OAuthError::TooManyRequests(_)
        )
        && let Err(e) = limits::hit(&ctx, &limits::TOKEN_FAILURES_PER_IP, &ip).await
        && !matches!(e, AuthError::Throttled(_))
    {
        tracing::warn!(error = %e, "token endpoint: counting a failure");
    }
    result
}

async fn handle(
    state: &AppState,
    caller: super::Caller,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, OAuthError> {
    let params = super::form_params(form)?;
    let active = state.live.load();
    let headers = caller.headers;
    let client = client_info(&headers, caller.peer, &active.trusted_proxies);
    let one = |name: &str| -> Result<Option<&str>, OAuthError> {
        let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => Ok(Some(v.as_str())),
            (Some(_), Some(_)) => Err(OAuthError::InvalidRequest(format!(
                "{name} must not be repeated"
            ))),
        }
    };
    let app = authenticate(&active, &headers, one("client_id")?, one("client_secret")?)?;
    let ctx = Ctx::new(&state.auth, &active, &client);
    match state
        .auth
        .token_rate
        .hit(&ctx, &app.client_id, app.confidential)
    {
        Ok(()) => {}
        Err(AuthError::Throttled(seconds)) => {
            tracing::info!(client_id = %app.client_id, "token request rate limited");
            return Err(OAuthError::TooManyRequests(seconds));
        }
        Err(e) => return Err(OAuthError::Internal(e.to_string())),
    }
    let grant_type = one("grant_type")?
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    let result = match grant_type {
        "authorization_code" => {
            let code = one("code")?
                .ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
            grant::exchange_code(
                &ctx,
                app,
                code,
                one("redirect_uri")?,
                one("code_verifier")?,
                one("resource")?,
            )
            .await
        }
        "refresh_token" => {
            let token = one("refresh_token")?
                .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".into()))?;
            grant::refresh(&ctx, app, token, one("resource")?).await
        }
        "client_credentials" => {
            grant::client_credentials(&ctx, app, one("scope")?, one("resource")?).await
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    match result {
        Ok(tokens) => Ok(respond(tokens)),
        Err(TokenError::InvalidGrant(why)) => {
            tracing::info!(client_id = %app.client_id, reason = why, "token request refused");
            Err(OAuthError::InvalidGrant)
        }
        Err(TokenError::UnauthorizedClient) => Err(OAuthError::UnauthorizedClient),
        Err(TokenError::InvalidScope) => Err(OAuthError::InvalidScope),
        Err(TokenError::InvalidTarget) => Err(OAuthError::InvalidTarget),
        Err(TokenError::InvalidRequest(why)) => Err(OAuthError::InvalidRequest(why.into())),
        Err(TokenError::NoSigningKey) => Err(OAuthError::Internal(
            "no signing key: the region Secret has no signing-keys.json".into(),
        )),
        Err(TokenError::Auth(e)) => Err(OAuthError::Internal(e.to_string())),
    }
}

/// The client making the request. Confidential clients prove their secret (one method only);
/// public clients name themselves and may not send a secret.
pub(super) fn authenticate<'a>(
    active: &'a Active,
    headers: &HeaderMap,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<&'a ApplicationConfig, OAuthError> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method".into(),
            ));
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::InvalidRequest("client_id differs".into()));
            }
            (id, Some(secret))
        }
        (None, secret) => (
            body_id.ok_or(OAuthError::InvalidClient)?.to_owned(),
            secret.map(str::to_owned),
        ),
    };
    let app = active
        .config
        .applications
        .iter()
        .find(|a| a.client_id == client_id)
        .ok_or(OAuthError::InvalidClient)?;
    match (app.confidential, secret) {
        (false, None) => Ok(app),
        (false, Some(_)) => Err(OAuthError::InvalidClient),
        (true, None) => Err(OAuthError::InvalidClient),
        (true, Some(secret)) => {
            let stored = app
                .client_secret_hash
                .as_ref()
                .and_then(|h| active.secrets.get(&h.secret_key))
                .ok_or(OAuthError::InvalidClient)?;
            let presented = crate::crypto::sha256_hex(secret.as_bytes());
            if crate::crypto::constant_time_eq(presented.as_bytes(), stored.trim().as_bytes()) {
                Ok(app)
            } else {
                Err(OAuthError::InvalidClient)
            }
        }
    }
}

/// `Authorization: Basic` credentials, form-decoded (RFC 6749 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| OAuthError::InvalidClient)?;
    let Some(encoded) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| OAuthError::InvalidClient)?;
    let pair = String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?;
    let (id, secret) = pair.split_once(':').ok_or(OAuthError::InvalidClient)?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

fn respond(tokens: Tokens) -> Response {
    let mut body = Map::new();
    body.insert("access_token".into(), tokens.minted.access_token.into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("expires_in".into(), tokens.minted.expires_in.into());
    body.insert("scope".into(), tokens.scope.into());
    if let Some(id_token) = tokens.minted.id_token {
        body.insert("id_token".into(), id_token.into());
    }
    if let Some(refresh_token) = tokens.refresh_token {
        body.insert("refresh_token".into(), refresh_token.into());
    }
    Json(Value::Object(body)).into_response()
}
