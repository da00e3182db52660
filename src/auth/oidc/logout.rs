//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): which user an `id_token_hint`
//! names, for which client, and where the browser may go afterwards. A plain function of the
//! request's parameters; the end-session endpoint and the sign-out page act on its answer.

use serde_json::Value;
use url::Url;

use crate::config::runtime::ApplicationConfig;
use crate::crypto::jws;
use crate::crypto::keys::KeySet;

/// A logout request that may proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    /// The user the `id_token_hint` names, when one was sent and is genuine: the session may
    /// end without asking.
    pub subject: Option<String>,
    /// The client the request is for (the hint's audience, or `client_id`).
    pub client_id: Option<String>,
    /// Where to send the browser afterwards: a registered `post_logout_redirect_uri` with
    /// `state` added, when the request asked for one.
    pub target: Option<String>,
}

/// Why a logout request is refused. The browser is never redirected on these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutRefusal {
    /// The hint is not an ID token this instance issued.
    InvalidHint,
    /// `client_id` names another client than the hint, or no registered client.
    UnknownClient,
    /// `post_logout_redirect_uri` is not registered for the client (or there is no client).
    UnregisteredRedirectUri,
    /// A parameter was repeated.
    RepeatedParameter,
}

/// Checks a logout request's parameters against the registered clients and the key set.
/// Expired hints are accepted (the spec allows it: a hint only says who the RP thinks is
/// signed in).
pub fn check(
    applications: &[ApplicationConfig],
    issuer: &str,
    keys: Option<&KeySet>,
    params: &[(String, String)],
    now: i64,
) -> Result<Logout, LogoutRefusal> {
    let single = |name: &str| -> Result<Option<&str>, LogoutRefusal> {
        let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(LogoutRefusal::RepeatedParameter);
        }
        Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
    };
    let hint = single("id_token_hint")?;
    let client_param = single("client_id")?;
    let redirect = single("post_logout_redirect_uri")?;
    let state = single("state")?;

    let (subject, hint_client) = match hint {
        None => (None, None),
        Some(token) => {
            let verified = keys
                .and_then(|keys| jws::verify(keys, token, now).ok())
                .ok_or(LogoutRefusal::InvalidHint)?;
            let claims = &verified.claims;
            let text = |name: &str| claims.get(name).and_then(Value::as_str);
            // An access token is not an ID token (RFC 9068 typ).
            let is_id_token = verified.header.get("typ").and_then(Value::as_str) != Some("at+jwt");
            let client = match claims.get("aud") {
                Some(Value::String(aud)) => Some(aud.clone()),
                Some(Value::Array(_)) => text("azp").map(str::to_owned),
                _ => None,
            };
            match (
                is_id_token,
                text("iss") == Some(issuer),
                text("sub"),
                client,
            ) {
                (true, true, Some(sub), Some(client)) => (Some(sub.to_owned()), Some(client)),
                _ => return Err(LogoutRefusal::InvalidHint),
            }
        }
    };
    let client_id = match (hint_client, client_param) {
        (Some(from_hint), Some(named)) if from_hint != named => {
            return Err(LogoutRefusal::UnknownClient);
        }
        (Some(client), _) => Some(client),
        (None, named) => named.map(str::to_owned),
    };
    let app = match &client_id {
        Some(id) => Some(
            applications
                .iter()
                .find(|a| &a.client_id == id)
                .ok_or(LogoutRefusal::UnknownClient)?,
        ),
        None => None,
    };
    let target = match redirect {
        None => None,
        Some(uri) => {
            let app = app.ok_or(LogoutRefusal::UnregisteredRedirectUri)?;
            // Byte-for-byte, as redirect URIs are matched at authorize.
            if !app.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(LogoutRefusal::UnregisteredRedirectUri);
            }
            let mut url = Url::parse(uri).map_err(|_| LogoutRefusal::UnregisteredRedirectUri)?;
            if let Some(state) = state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    Ok(Logout {
        subject,
        client_id,
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::ApplicationType;
    use crate::crypto::keys::{SigningAlgorithm, SigningKey};
    use serde_json::json;

    const ISSUER: &str = "https://auth.example.com";

    fn app() -> ApplicationConfig {
        ApplicationConfig {
            client_id: "portal".into(),
            post_logout_redirect_uris: vec!["https://portal.example.com/bye".into()],
            ..ApplicationConfig::example(ApplicationType::Web, &["https://portal.example.com/cb"])
        }
    }

    fn key_set() -> KeySet {
        let key = SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("generates");
        KeySet { keys: vec![key] }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn id_token(keys: &KeySet, typ: &str, claims: serde_json::Value) -> String {
        jws::sign(&keys.keys[0], typ, &claims).expect("signs")
    }

    #[test]
    fn a_genuine_hint_names_user_and_client_and_allows_the_registered_target() {
        let keys = key_set();
        let hint = id_token(
            &keys,
            "JWT",
            json!({"iss": ISSUER, "sub": "u1", "aud": "portal", "exp": 1}),
        );
        let logout = check(
            &[app()],
            ISSUER,
            Some(&keys),
            &params(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://portal.example.com/bye"),
                ("state", "s 1"),
            ]),
            10_000,
        )
        .expect("accepted");
        assert_eq!(
            logout.subject.as_deref(),
            Some("u1"),
            "expired hints still count"
        );
        assert_eq!(logout.client_id.as_deref(), Some("portal"));
        assert_eq!(
            logout.target.as_deref(),
            Some("https://portal.example.com/bye?state=s+1")
        );
    }

    #[test]
    fn refuses_forged_foreign_and_access_token_hints() {
        let keys = key_set();
        let other = key_set();
        let claims = json!({"iss": ISSUER, "sub": "u1", "aud": "portal"});
        for (hint, why) in [
            (id_token(&other, "JWT", claims.clone()), "another key"),
            (id_token(&keys, "at+jwt", claims.clone()), "an access token"),
            (
                id_token(
                    &keys,
                    "JWT",
                    json!({"iss": "https://evil", "sub": "u1", "aud": "portal"}),
                ),
                "another issuer",
            ),
            ("not.a.jwt".to_owned(), "garbage"),
        ] {
            assert_eq!(
                check(
                    &[app()],
                    ISSUER,
                    Some(&keys),
                    &params(&[("id_token_hint", &hint)]),
                    0
                ),
                Err(LogoutRefusal::InvalidHint),
                "{why}"
            );
        }
    }

    #[test]
    fn redirects_only_to_registered_uris_of_a_known_client() {
        let keys = key_set();
        for (pairs, why) in [
            (
                vec![("post_logout_redirect_uri", "https://portal.example.com/bye")],
                "no client to check against",
            ),
            (
                vec![
                    ("client_id", "portal"),
                    (
                        "post_logout_redirect_uri",
                        "https://portal.example.com/bye/",
                    ),
                ],
                "trailing slash",
            ),
            (
                vec![
                    ("client_id", "portal"),
                    ("post_logout_redirect_uri", "https://evil.example.com/bye"),
                ],
                "other host",
            ),
        ] {
            assert_eq!(
                check(&[app()], ISSUER, Some(&keys), &params(&pairs), 0),
                Err(LogoutRefusal::UnregisteredRedirectUri),
                "{why}"
            );
        }
        assert_eq!(
            check(
                &[app()],
                ISSUER,
                Some(&keys),
                &params(&[("client_id", "nobody")]),
                0
            ),
            Err(LogoutRefusal::UnknownClient)
        );
        let hint = id_token(
            &keys,
            "JWT",
            json!({"iss": ISSUER, "sub": "u1", "aud": "portal"}),
        );
        assert_eq!(
            check(
                &[app()],
                ISSUER,
                Some(&keys),
                &params(&[("id_token_hint", &hint), ("client_id", "other")]),
                0
            ),
            Err(LogoutRefusal::UnknownClient),
            "client_id must agree with the hint"
        );
        let without_hint = check(
            &[app()],
            ISSUER,
            Some(&keys),
            &params(&[
                ("client_id", "portal"),
                ("post_logout_redirect_uri", "https://portal.example.com/bye"),
            ]),
            0,
        )
        .expect("accepted");
        assert_eq!(without_hint.subject, None, "no hint: the user must confirm");
    }
}
