//! The pages face's error: every page handler returns it with `?`, and only here are status codes
//! and the HTML error page chosen. Internal details go to the log, never to the response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The request is malformed or fails a rule the user can fix.
    #[error("{0}")]
    BadRequest(String),
    /// A state-changing request without a valid CSRF token, or from another origin.
    #[error("cross-site request refused")]
    Forbidden,
    /// Not here.
    #[error("not found")]
    NotFound,
    /// Rate limit or lockout; retry after this many seconds.
    #[error("too many attempts")]
    TooManyRequests(u64),
    /// Password hashing is saturated; retry shortly.
    #[error("busy")]
    Busy,
    /// A bug or an unavailable dependency.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl From<AuthError> for PageError {
    /// For the failures a page does not word itself: a reason reaching here is shown as a
    /// plain bad request.
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Rejected(reason) => PageError::BadRequest(super::messages::reason(&reason)),
            AuthError::Throttled(retry) => PageError::TooManyRequests(retry),
            AuthError::Busy => PageError::Busy,
            AuthError::Store(e) => e.into(),
            AuthError::Internal(e) => PageError::Internal(e),
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {e:#}"))
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    // A minimal page that needs no template, so errors render even when templates cannot.
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/assets/vestibule.css\"></head><body>\
         <main data-part=\"card\"><h1 data-part=\"heading\">{title}</h1><p data-part=\"notice\">{text}</p>\
         <p><a data-part=\"link\" href=\"/sign-in\">Back to sign in</a></p></main></body></html>"
    );
    let mut response = (status, axum::response::Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::BadRequest(message) => page(
                StatusCode::BAD_REQUEST,
                "Request not accepted",
                &html_escape(&message),
            ),
            PageError::Forbidden => page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form was submitted from another site or has expired. Go back, reload the page and try again.",
            ),
            PageError::NotFound => {
                page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
            }
            PageError::TooManyRequests(retry_after) => {
                let mut r = page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    "Too many attempts. Wait a few minutes and try again.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            PageError::Busy => {
                let mut r = page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    "The service is busy. Try again in a moment.",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                r
            }
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Try again later.",
                )
            }
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
