//! `GET|POST /oauth2/userinfo` (OIDC Core 5.3): the claims an access token's scopes release.
//! Only Vestibule's own access tokens are accepted ([`super::access`], and their grant still
//! active); anything else is 401 with `WWW-Authenticate` (RFC 6750 3).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::http::state::AppState;

/// `GET` and `POST /oauth2/userinfo`, with `Authorization: Bearer`; answers (401s included)
/// carry CORS headers for listed origins.
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = userinfo_inner(&state, &headers).await;
    super::cors::apply(&state.live.load(), &headers, &mut response);
    response
}

async fn userinfo_inner(state: &AppState, headers: &HeaderMap) -> Response {
    let active = state.live.load();
    let now = state.auth.clock.now();
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized(None);
    };
    let Some(claims) = super::access::verify(&active, token, now) else {
        return unauthorized(Some("invalid_token"));
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let (Some(sub), Some(grant_id)) = (text("sub"), text("gid")) else {
        return unauthorized(Some("invalid_token"));
    };
    let grant = match state.auth.store.active_grant(grant_id, now).await {
        Ok(Some(grant)) if grant.user_id == sub => grant,
        Ok(_) => return unauthorized(Some("invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "userinfo: store");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let user = match state.auth.store.user_by_id(sub).await {
        Ok(Some(user)) => user,
        Ok(None) => return unauthorized(Some("invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "userinfo: store");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut body = Map::new();
    body.insert("sub".into(), user.id.clone().into());
    if grant.scopes.iter().any(|s| s == "email") {
        body.insert("email".into(), user.email.into());
        body.insert(
            "email_verified".into(),
            user.email_verified_at.is_some().into(),
        );
    }
    if grant.scopes.iter().any(|s| s == "profile") {
        for (claim, value) in [("name", user.name), ("picture", user.picture)] {
            if let Some(value) = value {
                body.insert(claim.into(), value.into());
            }
        }
    }
    // The membership as of now, as in the next token.
    let client = crate::auth::ClientInfo::default();
    let ctx = crate::auth::Ctx::new(&state.auth, &active, &client);
    match crate::auth::organizations::claims(&ctx, &user.id, grant.organization_id.as_deref()).await
    {
        Ok(organization) => {
            crate::auth::oidc::tokens::add_organization_claims(&mut body, organization.as_ref())
        }
        Err(e) => {
            tracing::error!(error = %e, "userinfo: store");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    Json(Value::Object(body)).into_response()
}

fn unauthorized(error: Option<&str>) -> Response {
    let challenge = match error {
        Some(code) => format!("Bearer error=\"{code}\""),
        None => "Bearer".to_owned(),
    };
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
