//! The two cookies Vestibule sets, with the flags SECURITY.md requires.
//!
//! `__Host-` makes the browser refuse them unless they are `Secure`, host-only and `Path=/`, so a
//! sibling subdomain cannot plant or overwrite them (which also makes double-submit CSRF sound).

use axum::http::{HeaderMap, HeaderValue, header};

/// Session cookie name.
pub const SESSION: &str = "__Host-vestibule_session";
/// CSRF cookie name.
pub const CSRF: &str = "__Host-vestibule_csrf";

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age: None` is a browser-session cookie.
pub fn set(name: &str, value: &str, max_age_seconds: Option<u64>) -> HeaderValue {
    let max_age = max_age_seconds
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{max_age}");
    // Names and values are ours (base64url), so this cannot fail; fall back to clearing.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(
        "__Host-vestibule_invalid=; Path=/; Secure; Max-Age=0",
    ))
}

/// A `Set-Cookie` that deletes `name`.
pub fn clear(name: &str) -> HeaderValue {
    set(name, "", Some(0))
}
