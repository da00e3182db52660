//! The OAuth/OpenID face: `/.well-known/*` and `/oauth2/*`. Clients here are programs, not
//! browsers filling in our forms, so the pages' CSRF check and cookie session do not apply;
//! errors are JSON in the RFC 6749 §5.2 shape and responses are not cached unless a handler
//! says otherwise (RFC 6749 §5.1).
//!
//! The JWKS is served; the rest of the OpenID Provider's endpoints (discovery, authorize, token,
//! userinfo, revoke, introspect, end-session) land here next, and until they do their paths
//! answer a JSON error.

pub mod cors;
pub mod error;
pub mod jwks;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};

pub use error::OAuthError;

use super::state::AppState;

/// The OAuth face's routes and layers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route("/oauth2/{*endpoint}", any(unknown_endpoint))
        .route("/.well-known/{*document}", any(unknown_endpoint))
        .layer(middleware::from_fn(no_store))
}

/// Paths of this face that are not (yet) endpoints.
async fn unknown_endpoint() -> OAuthError {
    OAuthError::NotFound
}

/// `Cache-Control: no-store` and `Pragma: no-cache` unless the handler chose caching itself:
/// token responses must never be stored by a cache (RFC 6749 §5.1).
async fn no_store(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}
