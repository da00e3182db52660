//! Security headers on every response (SECURITY.md 43): CSP, framing, sniffing, referrer, HSTS.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// Served should the config's policy not make a header value (it is built from parsed URLs,
/// so it always does): the pages' policy with forms posting to ourselves only.
const STRICT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
                          form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The headers middleware.
pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let active = state.live.load();
    let https = active.origin.starts_with("https://");
    let csp = HeaderValue::from_str(&active.content_security_policy)
        .unwrap_or_else(|_| HeaderValue::from_static(STRICT_CSP));
    drop(active);
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
