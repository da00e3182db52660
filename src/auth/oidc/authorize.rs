//! Validation of an OpenID Connect authorization request (OIDC Core 3.1.2.1, RFC 6749 4.1.1,
//! RFC 7636, RFC 8252, RFC 9207), as a plain function over the request's parameters and the
//! active Applications: no HTTP, no store.
//!
//! The order matters and follows RFC 6749 4.1.2.1: until the client and its redirect URI are
//! known to be genuine, an error is shown to the user and never sent anywhere; after that every
//! error goes back to the client's redirect URI with `state` (and `iss`).

use url::Url;

use crate::config::runtime::{ApplicationConfig, ApplicationType, GrantType};

/// Parameters that may appear at most once (RFC 6749 3.1: "MUST NOT be included more than
/// once").
const SINGLE: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "ui_locales",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
    "organization",
    "resource",
    "acr_values",
];

/// What the user may be asked for, from `prompt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: fail rather than show any page.
    pub none: bool,
    /// `login`: sign in again even with a session.
    pub login: bool,
    /// `consent`: ask for consent even when it was given before.
    pub consent: bool,
}

/// A request that passed every check: what the rest of the flow works from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The Application's client id.
    pub client_id: String,
    /// The redirect URI, exactly as sent (and matched).
    pub redirect_uri: String,
    /// Granted scopes, in the order asked for, without repeats.
    pub scopes: Vec<String>,
    /// Opaque client state, returned as sent.
    pub state: Option<String>,
    /// Replay protection for the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge, when sent (required for public clients).
    pub code_challenge: Option<String>,
    /// What the user may be asked for.
    pub prompt: Prompt,
    /// Longest time since the user last signed in, in seconds.
    pub max_age: Option<u64>,
    /// A hint at the account to sign in with.
    pub login_hint: Option<String>,
    /// Preferred languages, best first.
    pub ui_locales: Vec<String>,
    /// The RFC 8707 resource the access tokens are for, one of the Application's `resources`.
    pub resource: Option<String>,
    /// The organization (slug or id) the tokens should speak for; the user must be a member.
    pub organization: Option<String>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client or its redirect URI cannot be trusted: show an error page, never redirect.
    Page(PageError),
    /// Send the error back to the client (RFC 6749 4.1.2.1).
    Redirect {
        /// The verified redirect URI.
        redirect_uri: String,
        /// The RFC 6749 / OIDC error code.
        error: &'static str,
        /// A human-readable detail for developers (no secrets, no user data).
        description: String,
        /// The client's state, returned as sent.
        state: Option<String>,
    },
}

/// Why an error page is shown instead of a redirect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageError {
    /// `client_id` is missing or repeated.
    MissingClient,
    /// No Application has this client id (or it cannot use the authorization endpoint).
    UnknownClient,
    /// `redirect_uri` is missing or repeated.
    MissingRedirectUri,
    /// `redirect_uri` is not registered for this client.
    UnregisteredRedirectUri,
}

/// Validates an authorization request (`params` as received, repeats included) against the
/// active Applications.
pub fn validate(
    applications: &[ApplicationConfig],
    params: &[(String, String)],
) -> Result<Authorization, Refusal> {
    let one = |name: &str| -> Result<Option<&str>, ()> {
        let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => Ok(Some(v.as_str())),
            (Some(_), Some(_)) => Err(()),
        }
    };
    // 1. The client and its redirect URI, before anything is sent anywhere.
    let client_id = one("client_id")
        .ok()
        .flatten()
        .ok_or(Refusal::Page(PageError::MissingClient))?;
    let app = applications
        .iter()
        .find(|a| a.client_id == client_id)
        .filter(|a| a.grant_types.contains(&GrantType::AuthorizationCode))
        .ok_or(Refusal::Page(PageError::UnknownClient))?;
    let redirect_uri = one("redirect_uri")
        .ok()
        .flatten()
        .ok_or(Refusal::Page(PageError::MissingRedirectUri))?;
    if !redirect_uri_allowed(app, redirect_uri) {
        return Err(Refusal::Page(PageError::UnregisteredRedirectUri));
    }
    // From here on, errors go back to the client. `state` goes with them when it is usable.
    let state = one("state").ok().flatten().map(str::to_owned);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        error,
        description: description.to_owned(),
        state: state.clone(),
    };
    for name in SINGLE {
        if one(name).is_err() {
            return Err(refuse(
                "invalid_request",
                &format!("{name} must not be repeated"),
            ));
        }
    }
    if one("request").ok().flatten().is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if one("request_uri").ok().flatten().is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match one("response_type").ok().flatten() {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code) is supported",
            ));
        }
    }
    match one("response_mode").ok().flatten() {
        None | Some("query") => {}
        Some(_) => {
            return Err(refuse(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
    }
    let scopes = scopes(app, one("scope").ok().flatten().unwrap_or_default())
        .map_err(|description| refuse("invalid_scope", &description))?;
    let code_challenge = pkce(
        app,
        one("code_challenge").ok().flatten(),
        one("code_challenge_method").ok().flatten(),
    )
    .map_err(|description| refuse("invalid_request", description))?;
    let prompt = prompt(one("prompt").ok().flatten().unwrap_or_default())
        .map_err(|description| refuse("invalid_request", description))?;
    let max_age = match one("max_age").ok().flatten() {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| refuse("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let resource = match one("resource").ok().flatten() {
        None => None,
        Some(resource) if app.resources.iter().any(|r| r == resource) => Some(resource.to_owned()),
        Some(_) => {
            return Err(refuse(
                "invalid_target",
                "resource is not one of this application's resources",
            ));
        }
    };
    let owned = |name: &str| one(name).ok().flatten().map(str::to_owned);
    Ok(Authorization {
        resource,
        client_id: app.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state,
        nonce: owned("nonce"),
        code_challenge,
        prompt,
        max_age,
        login_hint: owned("login_hint"),
        organization: owned("organization"),
        ui_locales: one("ui_locales")
            .ok()
            .flatten()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

/// Exact matching, byte for byte (SECURITY: no prefix, no normalisation). The one exception is
/// RFC 8252 7.3: a native app's loopback redirect (`http://127.0.0.1` or `http://[::1]`) may use
/// any port, everything else equal.
pub fn redirect_uri_allowed(app: &ApplicationConfig, requested: &str) -> bool {
    if app.redirect_uris.iter().any(|r| r == requested) {
        return true;
    }
    if app.application_type != ApplicationType::Native {
        return false;
    }
    let Ok(asked) = Url::parse(requested) else {
        return false;
    };
    if !is_loopback(&asked) {
        return false;
    }
    app.redirect_uris.iter().any(|registered| {
        Url::parse(registered).is_ok_and(|mut registered| {
            if !is_loopback(&registered) || registered.host() != asked.host() {
                return false;
            }
            // Compare everything but the port, on the strings as sent.
            if registered.set_port(asked.port()).is_err() {
                return false;
            }
            registered.as_str() == requested
        })
    })
}

/// `http` to a loopback IP literal, without user info (RFC 8252 7.3 and 8.3).
fn is_loopback(url: &Url) -> bool {
    let loopback_ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    url.scheme() == "http" && url.username().is_empty() && url.password().is_none() && loopback_ip
}

/// The requested scopes, each one the Application allows; `openid` is required (this is an
/// OpenID Provider).
fn scopes(app: &ApplicationConfig, requested: &str) -> Result<Vec<String>, String> {
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !app.scopes.iter().any(|s| s == scope) {
            return Err(format!("scope {scope:?} is not allowed for this client"));
        }
        if !granted.iter().any(|s| s == scope) {
            granted.push(scope.to_owned());
        }
    }
    if !granted.iter().any(|s| s == "openid") {
        return Err("the openid scope is required".to_owned());
    }
    Ok(granted)
}

/// PKCE (RFC 7636): S256 only; required for public clients (`spa`, `native`), optional for
/// `web` (and enforced at the token endpoint once sent).
fn pkce(
    app: &ApplicationConfig,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, &'static str> {
    let public = matches!(
        app.application_type,
        ApplicationType::Spa | ApplicationType::Native
    );
    match (challenge, method) {
        (None, None) if public => Err("code_challenge (PKCE, S256) is required for this client"),
        (None, None) => Ok(None),
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (Some(_), None | Some("plain")) => {
            Err("code_challenge_method must be S256 (plain is not allowed)")
        }
        (Some(challenge), Some("S256")) => {
            // base64url of a SHA-256 digest: 43 characters, no padding.
            let valid = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(Some(challenge.to_owned()))
            } else {
                Err("code_challenge must be the base64url SHA-256 of the verifier")
            }
        }
        (Some(_), Some(_)) => Err("code_challenge_method must be S256"),
    }
}

/// `prompt`: space-separated `none`, `login`, `consent`; `none` stands alone.
fn prompt(text: &str) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    let mut count = 0;
    for value in text.split(' ').filter(|s| !s.is_empty()) {
        count += 1;
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // `select_account` has no meaning with one account per browser: refused, not
            // ignored.
            _ => return Err("prompt may be none, login or consent"),
        }
    }
    if prompt.none && count > 1 {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

/// The request's parameters with `value` taken out of `prompt` (dropping `prompt` when nothing
/// is left): the request to come back with once that prompt has been shown, so the user is not
/// asked again in a loop.
pub fn without_prompt(params: &[(String, String)], value: &str) -> Vec<(String, String)> {
    params
        .iter()
        .filter_map(|(k, v)| {
            if k != "prompt" {
                return Some((k.clone(), v.clone()));
            }
            let rest: Vec<&str> = v
                .split(' ')
                .filter(|p| !p.is_empty() && *p != value)
                .collect();
            (!rest.is_empty()).then(|| (k.clone(), rest.join(" ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn app(kind: ApplicationType, redirect: &str) -> ApplicationConfig {
        ApplicationConfig {
            client_id: "shop".into(),
            application_type: kind,
            display_name: "Shop".into(),
            confidential: kind == ApplicationType::Web,
            client_secret_hash: None,
            redirect_uris: vec![redirect.into()],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            resources: vec![],
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            access_token_seconds: 900,
            id_token_seconds: 3600,
            refresh_token_seconds: 86400,
            require_consent: false,
            require_organization: false,
        }
    }

    fn request(redirect: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", "shop"),
            ("redirect_uri", redirect),
            ("scope", "openid email"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            params.push((k, v));
        }
        params
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn error_of(result: Result<Authorization, Refusal>) -> &'static str {
        match result {
            Err(Refusal::Redirect { error, .. }) => error,
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_is_accepted_with_what_the_flow_needs() {
        let apps = [app(ApplicationType::Spa, "https://shop.example/cb")];
        let ok = validate(
            &apps,
            &request(
                "https://shop.example/cb",
                &[("nonce", "n1"), ("prompt", "login"), ("max_age", "60")],
            ),
        )
        .expect("valid");
        assert_eq!(ok.scopes, ["openid", "email"]);
        assert_eq!(ok.state.as_deref(), Some("s1"));
        assert_eq!(ok.nonce.as_deref(), Some("n1"));
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
        assert!(ok.prompt.login && !ok.prompt.none);
        assert_eq!(ok.max_age, Some(60));
    }

    #[test]
    fn no_variant_of_a_registered_redirect_uri_is_accepted() {
        let registered = "https://shop.example/cb";
        let apps = [app(ApplicationType::Web, registered)];
        for variant in [
            "https://shop.example/cb/extra",
            "https://shop.example/cb/",
            "https://shop.example:8443/cb",
            "http://shop.example/cb",
            "https://shop.example/cb?x=1",
            "https://evil@shop.example/cb",
            "https://SHOP.example/cb",
            "https://shop.example/CB",
            "https://shop.example.evil.com/cb",
            "https://shop.example/cb#frag",
            " https://shop.example/cb",
        ] {
            assert_eq!(
                validate(&apps, &request(variant, &[])),
                Err(Refusal::Page(PageError::UnregisteredRedirectUri)),
                "{variant}"
            );
        }
        assert!(validate(&apps, &request(registered, &[])).is_ok());
    }

    #[test]
    fn a_native_loopback_redirect_may_vary_only_its_port() {
        let apps = [app(ApplicationType::Native, "http://127.0.0.1/callback")];
        assert!(validate(&apps, &request("http://127.0.0.1:51234/callback", &[])).is_ok());
        for variant in [
            "http://127.0.0.1:51234/other",
            "http://localhost:51234/callback",
            "https://127.0.0.1:51234/callback",
            "http://127.0.0.1:51234/callback?x=1",
            "http://user@127.0.0.1:51234/callback",
            "http://[::1]:51234/callback",
        ] {
            assert!(
                validate(&apps, &request(variant, &[])).is_err(),
                "{variant} must not match"
            );
        }
        // A web app's loopback redirect gets no port leeway.
        let web = [app(ApplicationType::Web, "http://127.0.0.1/callback")];
        assert!(validate(&web, &request("http://127.0.0.1:51234/callback", &[])).is_err());
    }

    #[test]
    fn unknown_or_missing_clients_get_a_page_never_a_redirect() {
        let apps = [app(ApplicationType::Spa, "https://shop.example/cb")];
        let mut unknown = request("https://shop.example/cb", &[]);
        unknown.retain(|(k, _)| k != "client_id");
        assert_eq!(
            validate(&apps, &unknown),
            Err(Refusal::Page(PageError::MissingClient))
        );
        unknown.push(("client_id".into(), "other".into()));
        assert_eq!(
            validate(&apps, &unknown),
            Err(Refusal::Page(PageError::UnknownClient))
        );
        // An m2m client has no authorization endpoint.
        let mut m2m = app(ApplicationType::M2m, "https://shop.example/cb");
        m2m.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(
            validate(&[m2m], &request("https://shop.example/cb", &[])),
            Err(Refusal::Page(PageError::UnknownClient))
        );
    }

    #[test]
    fn pkce_is_s256_only_and_required_for_public_clients() {
        let uri = "https://shop.example/cb";
        let spa = [app(ApplicationType::Spa, uri)];
        let none = request(
            uri,
            &[("code_challenge", ""), ("code_challenge_method", "")],
        );
        assert_eq!(error_of(validate(&spa, &none)), "invalid_request");
        let plain = request(uri, &[("code_challenge_method", "plain")]);
        assert_eq!(error_of(validate(&spa, &plain)), "invalid_request");
        let no_method = request(uri, &[("code_challenge_method", "")]);
        assert_eq!(error_of(validate(&spa, &no_method)), "invalid_request");
        let short = request(uri, &[("code_challenge", "abc")]);
        assert_eq!(error_of(validate(&spa, &short)), "invalid_request");
        // A web app may leave PKCE out, but not use plain.
        let web = [app(ApplicationType::Web, uri)];
        assert_eq!(validate(&web, &none).expect("ok").code_challenge, None);
        assert_eq!(error_of(validate(&web, &plain)), "invalid_request");
    }

    #[test]
    fn errors_after_the_redirect_uri_is_known_go_back_with_state() {
        let uri = "https://shop.example/cb";
        let apps = [app(ApplicationType::Spa, uri)];
        match validate(&apps, &request(uri, &[("response_type", "token")])) {
            Err(Refusal::Redirect {
                redirect_uri,
                error,
                state,
                ..
            }) => {
                assert_eq!(redirect_uri, uri);
                assert_eq!(error, "unsupported_response_type");
                assert_eq!(state.as_deref(), Some("s1"));
            }
            other => panic!("{other:?}"),
        }
        for (extra, expected) in [
            (("scope", "openid admin"), "invalid_scope"),
            (("scope", "email"), "invalid_scope"),
            (("prompt", "none login"), "invalid_request"),
            (("prompt", "select_account"), "invalid_request"),
            (("max_age", "-1"), "invalid_request"),
            (("response_mode", "fragment"), "invalid_request"),
            (("request", "eyJ..."), "request_not_supported"),
            (("request_uri", "https://x"), "request_uri_not_supported"),
        ] {
            assert_eq!(
                error_of(validate(&apps, &request(uri, &[extra]))),
                expected,
                "{extra:?}"
            );
        }
        let mut repeated = request(uri, &[]);
        repeated.push(("scope".into(), "openid".into()));
        assert_eq!(error_of(validate(&apps, &repeated)), "invalid_request");
    }

    #[test]
    fn a_shown_prompt_is_taken_out_of_the_request_to_come_back_with() {
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            without_prompt(
                &params(&[("client_id", "a"), ("prompt", "login consent")]),
                "login"
            ),
            params(&[("client_id", "a"), ("prompt", "consent")])
        );
        assert_eq!(
            without_prompt(&params(&[("prompt", "consent"), ("state", "s")]), "consent"),
            params(&[("state", "s")])
        );
    }
}
