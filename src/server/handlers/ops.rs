//! Operations and assets: `/healthz`, `/readyz`, `/metrics`, the theme stylesheet, and the dev
//! mailbox (only in `vestibule dev`).

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use minijinja::context;
use serde_json::json;

use super::page;
use crate::server::csrf::CsrfToken;
use crate::server::error::HttpError;
use crate::server::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: config loaded and database reachable; reports the config hash and any newer
/// config that was rejected (the server keeps serving the last good one).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let active = state.live.load();
    let database = state.store.ping().await;
    let rejected = state.live.rejected().map(|r| r.to_string());
    let body = json!({
        "ready": database.is_ok(),
        "configHash": active.config.hash,
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "rejectedConfig": rejected,
    });
    let status = if database.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /session`: who is signed in, as JSON, or 401. Cheap enough to call on every request, so
/// a reverse proxy can use it as a forward-auth check (nginx `auth-url`); the user id and email
/// also come back as `X-Vestibule-User-Id` / `X-Vestibule-Email` headers for the proxy to pass on.
pub async fn session(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, HttpError> {
    let active = state.live.load();
    let Some(signed_in) = crate::server::session::current(&state, &active, &headers).await? else {
        return Ok((StatusCode::UNAUTHORIZED, Json(json!({ "signedIn": false }))).into_response());
    };
    let (session, user) = (signed_in.session, signed_in.user);
    let mut response = Json(json!({
        "signedIn": true,
        "userId": user.id,
        "email": user.email,
        "emailVerified": user.email_verified_at.is_some(),
        "sessionId": session.id,
        "factors": session.factors,
        "expiresAt": session.expires_at,
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&user.id) {
        h.insert("x-vestibule-user-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&user.email) {
        h.insert("x-vestibule-email", v);
    }
    Ok(response)
}

/// `GET /metrics`
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.hash_queue(state.hasher.in_flight());
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// `GET /assets/vestibule.css`
pub async fn stylesheet(State(state): State<AppState>) -> Response {
    let css = state.live.load().stylesheet.clone();
    let mut response = css.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// `GET /dev/mailbox.json`
pub async fn mailbox_json(State(state): State<AppState>) -> Result<Response, HttpError> {
    let outbox = state.outbox.as_ref().ok_or(HttpError::NotFound)?;
    Ok(Json(outbox.entries()).into_response())
}

/// `GET /dev/mailbox`
pub async fn mailbox_html(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, HttpError> {
    let outbox = state.outbox.as_ref().ok_or(HttpError::NotFound)?;
    let mut messages = outbox.entries();
    messages.reverse();
    let active = state.live.load();
    page(
        StatusCode::OK,
        "mailbox.html",
        &active,
        &csrf,
        "Dev mailbox",
        context! { messages => minijinja::Value::from(minijinja::value::Serde(&messages)) },
    )
}
