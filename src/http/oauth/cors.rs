//! CORS for the endpoints browsers call directly (JWKS today; token, userinfo and revoke with
//! them): an origin is allowed only when an Application lists it in `allowedOrigins`, exactly,
//! and it is echoed back, never `*`. No credentials are allowed: these endpoints take tokens in
//! headers or bodies, not cookies.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::state::AppState;
use crate::runtime::Active;

/// Whether `origin` is one an Application lists.
pub fn allowed(active: &Active, origin: &str) -> bool {
    active
        .config
        .applications
        .iter()
        .any(|app| app.allowed_origins.iter().any(|o| o == origin))
}

/// Adds `Access-Control-Allow-Origin` for a listed request origin; `Vary: Origin` always, so a
/// cache never serves one origin's answer to another.
pub fn apply(active: &Active, request: &HeaderMap, response: &mut Response) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = request.get(header::ORIGIN) else {
        return;
    };
    if let Ok(text) = origin.to_str()
        && allowed(active, text)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}

/// A CORS preflight (`OPTIONS`): allowed for a listed origin, with the methods and headers the
/// endpoints take; an unlisted origin gets no allow headers, so the browser stops there.
pub async fn preflight(State(state): State<AppState>, request: HeaderMap) -> Response {
    let active = state.live.load();
    let mut response = StatusCode::NO_CONTENT.into_response();
    apply(&active, &request, &mut response);
    if response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}
