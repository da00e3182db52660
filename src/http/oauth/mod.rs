//! The OAuth/OpenID face: `/.well-known/*` and `/oauth2/*`. Clients here are programs, not
//! browsers filling in our forms, so the pages' CSRF check and cookie session do not apply;
//! errors are JSON in the RFC 6749 §5.2 shape and responses are not cached unless a handler
//! says otherwise (RFC 6749 §5.1).
//!
//! Served: discovery, JWKS, authorize (code flow with PKCE), token (`authorization_code`,
//! `refresh_token`, `client_credentials`), userinfo, revoke, introspect and end-session; any
//! other path here answers a JSON 404.

pub mod access;
pub mod authorize;
pub mod cors;
pub mod discovery;
pub mod end_session;
pub mod error;
pub mod introspect;
pub mod jwks;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post};

pub use error::OAuthError;

use super::state::AppState;

/// The OAuth face's routes and layers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::discovery),
        )
        .route("/.well-known/jwks.json", get(jwks::jwks))
        .route(
            "/oauth2/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth2/token", post(token::token).options(cors::preflight))
        .route(
            "/oauth2/revoke",
            post(revoke::revoke).options(cors::preflight),
        )
        .route("/oauth2/introspect", post(introspect::introspect))
        .route(
            "/oauth2/end-session",
            get(end_session::end_session_get).post(end_session::end_session_post),
        )
        .route(
            "/oauth2/userinfo",
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .options(cors::preflight),
        )
        .route("/oauth2/{*endpoint}", any(unknown_endpoint))
        .route("/.well-known/{*document}", any(unknown_endpoint))
        .layer(middleware::from_fn(no_store))
        // Token requests are a few hundred bytes; nothing here needs more.
        .layer(DefaultBodyLimit::max(16 * 1024))
}

/// Who is calling: the request's headers (cookies, credentials) and peer address. Every
/// endpoint here works from these; none takes the pages' CSRF token.
pub struct Caller {
    /// Request headers.
    pub headers: axum::http::HeaderMap,
    /// The connection's peer, when served over TCP.
    pub peer: Option<std::net::SocketAddr>,
}

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            headers: parts.headers.clone(),
            peer: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        })
    }
}

/// A form body's parameters (repeats kept, for the callers that refuse them), or the RFC 6749
/// `invalid_request` a client can read.
pub fn form_params(
    form: Result<axum::Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Vec<(String, String)>, OAuthError> {
    form.map(|axum::Form(params)| params).map_err(|_| {
        OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded".into())
    })
}

/// A query string's parameters, repeats kept (GET authorize and end-session take the same
/// parameters as their form-encoded POSTs).
pub fn query_params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The authenticated client of a revocation or introspection request and the `token` it
/// asks about.
pub fn client_and_token<'a>(
    active: &'a crate::runtime::Active,
    headers: &axum::http::HeaderMap,
    params: &'a [(String, String)],
) -> Result<(&'a crate::config::runtime::ApplicationConfig, &'a str), OAuthError> {
    let app = token::authenticate(
        active,
        headers,
        param(params, "client_id"),
        param(params, "client_secret"),
    )?;
    let token = param(params, "token")
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".into()))?;
    Ok((app, token))
}

/// The first value of parameter `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An answer, error or not, with CORS headers for a listed request origin.
pub fn with_cors(
    state: &AppState,
    request: &axum::http::HeaderMap,
    result: Result<Response, OAuthError>,
) -> Response {
    use axum::response::IntoResponse;
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    cors::apply(&state.live.load(), request, &mut response);
    response
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
