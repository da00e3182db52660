//! The pages face's error: every page handler returns it with `?`, and only here are status codes
//! and the HTML error page chosen. Internal details go to the log, never to the response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthError, Reason};
use crate::i18n::Translator;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum PageError {
    /// The request is malformed or fails a rule the user can fix: a message catalog key (or,
    /// for text not in the catalog, the sentence itself).
    #[error("{0}")]
    BadRequest(String),
    /// An auth flow refused the request for a reason no page words itself.
    #[error("rejected: {0:?}")]
    Rejected(Reason),
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
            AuthError::Rejected(reason) => PageError::Rejected(reason),
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

/// A minimal page that needs no template, so errors render even when templates cannot.
fn page(words: &Translator, title: &str, text: &str) -> String {
    let title = html_escape(&words.get(title, &[]));
    let text = html_escape(text);
    let back = html_escape(&words.get("common.backToSignIn", &[]));
    let lang = html_escape(words.locale());
    let dir = words.dir().as_str();
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/assets/vestibule.css\"></head><body>\
         <main data-part=\"card\"><h1 data-part=\"heading\">{title}</h1><p data-part=\"notice\">{text}</p>\
         <p><a data-part=\"link\" href=\"/sign-in\">{back}</a></p></main></body></html>"
    )
}

impl PageError {
    /// The status and the error page's HTML in the locale of `words`.
    fn status_and_body(&self, words: &Translator) -> (StatusCode, String) {
        let text = |key: &str| words.get(key, &[]);
        let (status, title, text) = match self {
            PageError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "error.badRequest.title",
                words.lookup(message).unwrap_or_else(|| message.clone()),
            ),
            PageError::Rejected(reason) => (
                StatusCode::BAD_REQUEST,
                "error.badRequest.title",
                super::messages::reason(words, reason),
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "error.forbidden.title",
                text("error.forbidden.text"),
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "error.notFound.title",
                text("error.notFound.text"),
            ),
            PageError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "error.tooMany.title",
                text("error.tooMany.text"),
            ),
            PageError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "error.busy.title",
                text("error.busy.text"),
            ),
            PageError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.internal.title",
                text("error.internal.text"),
            ),
        };
        (status, page(words, title, &text))
    }

    /// The error page in the locale of `words`.
    pub fn render(self, words: &Translator) -> Response {
        if let PageError::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let (status, body) = self.status_and_body(words);
        let mut response = (status, axum::response::Html(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            PageError::TooManyRequests(retry_after) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            PageError::Busy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            _ => {}
        }
        // The page layer words it again in the request's locale (see `localize`).
        let kept = match self {
            PageError::Internal(_) => PageError::Internal(String::new()),
            other => other,
        };
        response.extensions_mut().insert(Unworded(kept));
        response
    }
}

/// An error page rendered before the request's locale was known (in English), for the page layer
/// to word again.
#[derive(Clone, Debug)]
struct Unworded(PageError);

/// An error page in `response` (a handler's `Err`, rendered in English) worded again in the
/// locale of `words`; any other response as it is.
pub fn localize(mut response: Response, words: &Translator) -> Response {
    if let Some(Unworded(error)) = response.extensions_mut().remove::<Unworded>() {
        let (_, body) = error.status_and_body(words);
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = axum::body::Body::from(body);
    }
    response
}

impl IntoResponse for PageError {
    /// The error page in English: where the page layer knows the request's locale, it words the
    /// page again ([`localize`]).
    fn into_response(self) -> Response {
        self.render(crate::i18n::english())
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
