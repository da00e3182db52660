//! Operations: `/healthz`, `/readyz` and `/metrics`, outside every face's session and CSRF rules
//! (probes and scrapers carry neither cookies nor tokens).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

use super::state::AppState;

/// The operational routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: config loaded and database reachable; reports the config hash and any newer
/// config that was rejected (the server keeps serving the last good one).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let active = state.live.load();
    let database = state.auth.store.ping().await;
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

/// `GET /metrics`
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.hash_queue(state.auth.hasher.in_flight());
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
