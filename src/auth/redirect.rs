//! Return addresses (`redirect_url`): only this server's paths, the issuer's origin and registered
//! application origins. Anything else falls back to the account page (SECURITY 42).

use url::Url;

use crate::runtime::{Active, origin_of};

/// Where to send the user when no (acceptable) return address was given.
pub const DEFAULT: &str = "/account";

/// The return address if it is allowed, else `None`.
pub fn allowed(active: &Active, candidate: &str) -> Option<String> {
    let candidate = candidate.trim();
    if candidate.is_empty() || candidate.len() > 2048 {
        return None;
    }
    // A local path, but not `//host` or `/\host`, which browsers read as another origin.
    if candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && !candidate.chars().any(|c| c.is_control())
    {
        return Some(candidate.to_owned());
    }
    let url = Url::parse(candidate).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let origin = origin_of(&url);
    active
        .redirect_origins
        .contains(&origin)
        .then(|| url.to_string())
}

/// The return address to carry through a form: `candidate` if allowed, else empty.
pub fn kept(active: &Active, candidate: Option<&str>) -> String {
    candidate
        .and_then(|c| allowed(active, c))
        .unwrap_or_default()
}

/// The return address to use: `candidate` if allowed, else the default.
pub fn resolve(active: &Active, candidate: Option<&str>) -> String {
    candidate
        .and_then(|c| allowed(active, c))
        .unwrap_or_else(|| DEFAULT.to_owned())
}
