//! `POST /oauth2/introspect` (RFC 7662): a confidential client (typically a resource server)
//! asks whether a token is live and what it carries. Public clients cannot authenticate and are
//! refused. A client learns only about tokens issued to it or naming it as audience; any other
//! token, and every unknown, expired, rotated or revoked one, is simply `{"active": false}`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{Caller, OAuthError};
use crate::crypto;
use crate::http::state::AppState;

/// `POST /oauth2/introspect`.
pub async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    introspect_inner(&state, &caller, form)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn introspect_inner(
    state: &AppState,
    caller: &Caller,
    form: Result<axum::Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, OAuthError> {
    let params = super::form_params(form)?;
    let active = state.live.load();
    let (app, token) = super::client_and_token(&active, &caller.headers, &params)?;
    if !app.confidential {
        return Err(OAuthError::InvalidClient);
    }
    let now = state.auth.clock.now();
    let store = &state.auth.store;
    let internal = |e: crate::store::StoreError| OAuthError::Internal(e.to_string());
    let issuer = active.config.issuer.as_str();

    // Opaque refresh tokens are looked up; anything else is tried as an access token.
    if let Some((grant, issued_at)) = store
        .live_refresh_token(&crypto::refresh_token_key(token), now)
        .await
        .map_err(internal)?
    {
        if grant.client_id != app.client_id {
            return Ok(inactive());
        }
        return Ok(Json(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "scope": grant.scopes.join(" "),
            "iat": issued_at.div_euclid(1000),
            "exp": grant.expires_at.div_euclid(1000),
            "iss": issuer,
        }))
        .into_response());
    }
    let Some(claims) = super::access::verify(&active, token, now) else {
        return Ok(inactive());
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let audience_names = |name: &str| match claims.get("aud") {
        Some(Value::String(aud)) => aud == name,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(name)),
        _ => false,
    };
    if text("client_id") != Some(app.client_id.as_str()) && !audience_names(&app.client_id) {
        return Ok(inactive());
    }
    // A user's token is live only while its grant is; a machine token has no grant.
    if let Some(grant_id) = text("gid") {
        match store.active_grant(grant_id, now).await.map_err(internal)? {
            Some(grant) if Some(grant.user_id.as_str()) == text("sub") => {}
            _ => return Ok(inactive()),
        }
    }
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    body.insert("token_type".into(), "access_token".into());
    for name in [
        "client_id",
        "sub",
        "scope",
        "exp",
        "iat",
        "iss",
        "aud",
        "jti",
        "auth_time",
    ] {
        if let Some(value) = claims.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    Ok(Json(Value::Object(body)).into_response())
}

fn inactive() -> Response {
    Json(json!({ "active": false })).into_response()
}
