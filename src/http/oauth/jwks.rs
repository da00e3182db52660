//! `GET /.well-known/jwks.json`: the public keys that verify Vestibule's tokens (RFC 7517).
//! Every key the key set publishes is listed, the ones waiting to sign included, so relying
//! parties have a new key well before it signs and keep an old one until its tokens expire.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;

/// How long a JWKS may be cached: far shorter than the hour a new key is published ahead.
const MAX_AGE: &str = "public, max-age=300";

/// The JWKS of the active key set (empty when the server was given none).
pub async fn jwks(State(state): State<AppState>, request: HeaderMap) -> Response {
    let active = state.live.load();
    let body = match &active.keys {
        Some(set) => crate::crypto::keys::jwks(set, state.auth.clock.now()),
        None => serde_json::json!({ "keys": [] }),
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE));
    super::cors::apply(&active, &request, &mut response);
    response
}
