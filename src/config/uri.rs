//! URL rules shared by issuers, redirect URIs, origins and provider endpoints.

use url::{Host, Url};

use crate::resources::application::ApplicationType;

/// Schemes that execute or embed content instead of navigating; never a redirect target.
const DANGEROUS_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob", "about"];

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_absolute(text: &str) -> Result<Url, String> {
    if text.contains('*') {
        return Err("wildcards are not allowed; list each URL exactly".into());
    }
    Url::parse(text).map_err(|e| format!("{text:?} is not an absolute URL ({e})"))
}

/// An `https` URL (or `http` on a loopback host, for development), without credentials.
fn web_url(text: &str) -> Result<Url, String> {
    let url = parse_absolute(text)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "{text:?} must use https (http is allowed only for localhost)"
            ));
        }
        other => return Err(format!("{text:?} must be an https URL, not {other}:")),
    }
    if url.host().is_none() {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} must not contain credentials"));
    }
    Ok(url)
}

/// An OpenID issuer: `https` (or loopback `http`), no query, no fragment (OpenID Discovery §3).
pub fn check_issuer(text: &str) -> Result<(), String> {
    let url = web_url(text)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or fragment"));
    }
    Ok(())
}

/// An endpoint of an upstream provider.
pub fn check_endpoint(text: &str) -> Result<(), String> {
    web_url(text).map(|_| ())
}

/// A redirect URI, matched exactly at authorization time (RFC 9700 §4.1.3).
pub fn check_redirect_uri(text: &str, application: ApplicationType) -> Result<(), String> {
    let url = parse_absolute(text)?;
    let scheme = url.scheme();
    if DANGEROUS_SCHEMES.contains(&scheme) {
        return Err(format!(
            "{text:?}: scheme {scheme}: is not allowed in a redirect URI"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{text:?} must not contain a fragment (RFC 6749 §3.1.2)"
        ));
    }
    match scheme {
        "https" | "http" => web_url(text).map(|_| ()),
        // Native apps may use a private-use scheme in reverse-DNS form (RFC 8252 §7.1).
        _ if application == ApplicationType::Native && scheme.contains('.') => Ok(()),
        _ if application == ApplicationType::Native => Err(format!(
            "{text:?}: a custom scheme must be reverse-DNS, such as com.example.app:/callback (RFC 8252 §7.1)"
        )),
        _ => Err(format!("{text:?} must be an https URL")),
    }
}

/// A browser origin: scheme, host and optional port, nothing else.
pub fn check_origin(text: &str) -> Result<(), String> {
    let url = web_url(text)?;
    if url.path() != "/" || text.ends_with('/') || url.query().is_some() || url.fragment().is_some()
    {
        return Err(format!(
            "{text:?} is not an origin; use scheme://host[:port] without a path"
        ));
    }
    Ok(())
}

/// An RFC 8707 resource indicator: an absolute URI without a fragment (RFC 8707 §2). Any
/// scheme is allowed (`https://api.example.com`, `urn:example:api`); it names an API, nothing
/// is fetched from it.
pub fn check_resource(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not an absolute URI: {e}"))?;
    if url.fragment().is_some() || text.contains('#') {
        return Err(format!("{text:?} must not have a fragment (RFC 8707 §2)"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!("{text:?} must not contain whitespace"));
    }
    Ok(())
}

/// A lower-case DNS domain such as `example.com`.
pub fn check_domain(text: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let labels: Vec<&str> = text.split('.').collect();
    if text.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(format!(
            "{text:?} is not a lower-case domain such as example.com"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_oauth_rules() {
        use ApplicationType::*;
        assert!(check_redirect_uri("https://app.example.com/callback", Web).is_ok());
        assert!(check_redirect_uri("http://localhost:3000/callback", Spa).is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8080/cb", Native).is_ok());
        assert!(check_redirect_uri("http://[::1]:8080/cb", Native).is_ok());
        assert!(check_redirect_uri("com.example.app:/callback", Native).is_ok());
        for (bad, kind) in [
            ("http://app.example.com/callback", Web),
            ("javascript:alert(1)", Web),
            ("data:text/html,hi", Native),
            ("/callback", Web),
            ("https://*.example.com/cb", Web),
            ("https://app.example.com/cb#frag", Web),
            ("myapp:/callback", Native),
            ("com.example.app:/callback", Web),
            ("https://user:pw@app.example.com/cb", Web),
        ] {
            assert!(check_redirect_uri(bad, kind).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_have_no_path() {
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:5173").is_ok());
        assert!(check_origin("https://app.example.com/").is_err());
        assert!(check_origin("https://app.example.com/app").is_err());
        assert!(check_origin("http://app.example.com").is_err());
    }

    #[test]
    fn issuers_are_https_without_query() {
        assert!(check_issuer("https://auth.example.com").is_ok());
        assert!(check_issuer("http://localhost:8080").is_ok());
        assert!(check_issuer("http://auth.example.com").is_err());
        assert!(check_issuer("https://auth.example.com/?x=1").is_err());
        assert!(check_issuer("auth.example.com").is_err());
    }

    #[test]
    fn domains_are_lower_case_dns() {
        assert!(check_domain("example.com").is_ok());
        assert!(check_domain("a-b.example.co.uk").is_ok());
        for bad in [
            "Example.com",
            "localhost",
            "-a.com",
            "a..com",
            "a_b.com",
            "@example.com",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
