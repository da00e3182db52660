//! The OAuth face's error: JSON `{"error", "error_description"}` with the status RFC 6749 §5.2
//! gives each code. Internal details go to the log, never to the response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error of the OAuth face, by RFC 6749 error code.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `invalid_request`: malformed, missing or repeated parameters.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `invalid_client`: client authentication failed (401).
    #[error("invalid_client")]
    InvalidClient,
    /// `invalid_grant`: the code, refresh token or credentials are invalid, expired or revoked.
    #[error("invalid_grant")]
    InvalidGrant,
    /// `unauthorized_client`: this client may not use this grant.
    #[error("unauthorized_client")]
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// `invalid_scope`.
    #[error("invalid_scope")]
    InvalidScope,
    /// `invalid_target`: a resource (RFC 8707) the client may not ask for.
    #[error("invalid_target")]
    InvalidTarget,
    /// No such endpoint (404, `invalid_request`).
    #[error("no such endpoint")]
    NotFound,
    /// Rate limited: `temporarily_unavailable` (429) with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests(u64),
    /// Overloaded: `temporarily_unavailable` (503).
    #[error("temporarily unavailable")]
    Unavailable,
    /// `server_error` (500); the detail is logged only.
    #[error("server error: {0}")]
    Internal(String),
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, code, description): (StatusCode, &str, Option<String>) = match &self {
            OAuthError::InvalidRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some(detail.clone()),
            ),
            OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client", None),
            OAuthError::InvalidGrant => (StatusCode::BAD_REQUEST, "invalid_grant", None),
            OAuthError::UnauthorizedClient => {
                (StatusCode::BAD_REQUEST, "unauthorized_client", None)
            }
            OAuthError::UnsupportedGrantType => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type", None)
            }
            OAuthError::InvalidScope => (StatusCode::BAD_REQUEST, "invalid_scope", None),
            OAuthError::InvalidTarget => (StatusCode::BAD_REQUEST, "invalid_target", None),
            OAuthError::NotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request",
                Some("no such endpoint".into()),
            ),
            OAuthError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                None,
            ),
            OAuthError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
            OAuthError::Internal(detail) => {
                tracing::error!(error = %detail, "oauth request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None)
            }
        };
        let body = match description {
            Some(d) => json!({ "error": code, "error_description": d }),
            None => json!({ "error": code }),
        };
        let mut response = (status, Json(body)).into_response();
        let h = response.headers_mut();
        match self {
            OAuthError::InvalidClient => {
                // RFC 6749 §5.2: a 401 names the scheme the client should authenticate with.
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"vestibule\""),
                );
            }
            OAuthError::TooManyRequests(retry) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(retry));
            }
            OAuthError::Unavailable => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            _ => {}
        }
        response
    }
}
