//! The cookies Vestibule sets, with the flags SECURITY.md requires.
//!
//! `__Host-` makes the browser refuse them unless they are `Secure`, host-only and `Path=/`, so a
//! sibling subdomain cannot plant or overwrite them (which also makes double-submit CSRF sound).

use axum::http::{HeaderMap, HeaderValue, header};

/// Session cookie name.
pub const SESSION: &str = "__Host-vestibule_session";
/// CSRF cookie name.
pub const CSRF: &str = "__Host-vestibule_csrf";
/// A provider sign-in's flow id, from `/oauth/{slug}/start` to its callback.
pub const FLOW: &str = "__Host-vestibule_oauth";
/// A provider identity waiting for proof of the existing account (`/oauth/link`).
pub const PENDING_LINK: &str = "__Host-vestibule_link";
/// The half-signed-in state between a first factor and the second (`/sign-in/factor`).
pub const MFA_PENDING: &str = "__Host-vestibule_mfa";
/// A device the user chose to trust: skips the second factor until it expires or their factors
/// change.
pub const REMEMBERED_DEVICE: &str = "__Host-vestibule_device";

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

/// A `Set-Cookie` the browser also sends on a cross-site POST (`SameSite=None`): the flow
/// cookie, which must come back with a provider's `form_post` callback (Sign in with Apple).
/// It only names a single-use flow whose `state` the callback must also match.
pub fn set_cross_site(name: &str, value: &str, max_age_seconds: u64) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age={max_age_seconds}"
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(
        "__Host-vestibule_invalid=; Path=/; Secure; Max-Age=0",
    ))
}

/// A `Set-Cookie` that deletes `name`.
pub fn clear(name: &str) -> HeaderValue {
    set(name, "", Some(0))
}
