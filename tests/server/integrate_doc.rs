//! The Rust resource server of docs/integrate.md ("A Rust API: verify access tokens offline"):
//! the code between the markers below is the guide's `rust` block, byte for byte (a test
//! compares them), and the tests under it run that code against the real server: a token from
//! the code flow verifies; an ID token, another Application's token, an expired, tampered or
//! unsigned one is refused; a token signed by a key the cache does not know yet fetches the
//! JWKS once more, and no more often than allowed.

// docs/integrate.md rust-verifier: begin
use std::fmt;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tokio::sync::RwLock;

/// Keys are fetched again after this long (the JWKS's `Cache-Control: max-age`).
const KEYS_MAX_AGE: Duration = Duration::from_secs(300);
/// Clock skew allowed on `exp`.
const LEEWAY_SECONDS: u64 = 30;

/// What this API reads from a Vestibule access token (RFC 9068).
#[derive(Debug, Deserialize)]
pub struct Claims {
    /// The user's id; for a machine client (client credentials), its client id.
    pub sub: String,
    /// The Application the token was issued to.
    pub client_id: String,
    /// The granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// The token's unique id.
    pub jti: String,
}

impl Claims {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

#[derive(Debug)]
pub enum VerifyError {
    /// Not a JWT, or not an access token (`typ` is not `at+jwt`: an ID token, say).
    NotAnAccessToken,
    /// No key of the issuer's JWKS has this `kid`, even after fetching it again.
    UnknownKey,
    /// The JWKS could not be fetched, and no keys are cached.
    Jwks(reqwest::Error),
    /// Bad signature, wrong `iss` or `aud`, or expired.
    Invalid(jsonwebtoken::errors::Error),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnAccessToken => f.write_str("not an access token"),
            Self::UnknownKey => f.write_str("signed by an unknown key"),
            Self::Jwks(e) => write!(f, "cannot fetch the JWKS: {e}"),
            Self::Invalid(e) => write!(f, "invalid token: {e}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Verifies access tokens of one issuer for one audience, with the issuer's keys cached.
pub struct Verifier {
    issuer: String,
    audience: String,
    jwks_uri: String,
    min_refetch: Duration,
    http: reqwest::Client,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

impl Verifier {
    /// `issuer` exactly as in the discovery document; `audience`: this API's resource
    /// (listed in the Applications' `resources`, RFC 8707), or the client id of the one
    /// Application whose own tokens it accepts.
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_uri: format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')),
            min_refetch: Duration::from_secs(30),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
            keys: RwLock::new(None),
        }
    }

    /// Fetch the JWKS for an unknown `kid` at most this often (default 30 s), so tokens
    /// with made-up `kid`s cannot make every request fetch it.
    pub fn min_refetch(self, interval: Duration) -> Self {
        Self {
            min_refetch: interval,
            ..self
        }
    }

    /// The claims of `token` (the bearer token, without `Bearer `) if it is a live access
    /// token of this issuer for this audience.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::NotAnAccessToken)?;
        let typ = header.typ.as_deref();
        if typ != Some("at+jwt") && typ != Some("application/at+jwt") {
            return Err(VerifyError::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let (key, algorithm) = self.key(&kid).await?;
        // The algorithm comes from the key, never from the token.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let data = decode::<Claims>(token, &key, &validation).map_err(VerifyError::Invalid)?;
        Ok(data.claims)
    }

    /// Key `kid` from the cached JWKS, or from a fresh one if the cache is old or lacks it.
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), VerifyError> {
        let cached = match &*self.keys.read().await {
            Some((set, fetched)) if fetched.elapsed() < KEYS_MAX_AGE => find(set, kid),
            _ => None,
        };
        if let Some(found) = cached {
            return Ok(found);
        }
        let mut keys = self.keys.write().await;
        // Another request may have fetched them meanwhile: fetch only if none did lately.
        let recent = keys
            .as_ref()
            .is_some_and(|(_, fetched)| fetched.elapsed() < self.min_refetch);
        if !recent {
            match self.fetch().await {
                Ok(set) => *keys = Some((set, Instant::now())),
                Err(e) if keys.is_none() => return Err(VerifyError::Jwks(e)),
                // Vestibule briefly unreachable: keep using the keys we have.
                Err(_) => {}
            }
        }
        keys.as_ref()
            .and_then(|(set, _)| find(set, kid))
            .ok_or(VerifyError::UnknownKey)
    }

    async fn fetch(&self) -> Result<JwkSet, reqwest::Error> {
        let response = self.http.get(&self.jwks_uri).send().await?;
        response.error_for_status()?.json().await
    }
}

/// The key `kid` of `set` and its algorithm (Vestibule signs with ES256, or EdDSA).
fn find(set: &JwkSet, kid: &str) -> Option<(DecodingKey, Algorithm)> {
    let jwk = set.find(kid)?;
    let algorithm = match jwk.common.key_algorithm? {
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    };
    Some((DecodingKey::from_jwk(jwk).ok()?, algorithm))
}
// docs/integrate.md rust-verifier: end

mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::errors::ErrorKind;
    use reqwest::StatusCode;
    use serde_json::Value;
    use vestibule::config::runtime::{ApplicationConfig, ApplicationType, GrantType};
    use vestibule::crypto::keys::{KeySet, SigningAlgorithm, SigningKey};
    use vestibule::runtime::live::Active;

    use super::{Verifier, VerifyError};
    use crate::app::{Client, TestApp, signed_up, spawn_app_with_secrets};
    use crate::support::{TestStore, connect, fresh_sqlite_database};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    /// The Application whose tokens the API accepts, and another one.
    const SHOP: &str = "shop";
    const OTHER: &str = "other";
    const ACCESS_SECONDS: i64 = 900;
    const HOUR_MS: i64 = 3_600_000;

    fn application(client_id: &str) -> ApplicationConfig {
        ApplicationConfig {
            client_id: client_id.into(),
            application_type: ApplicationType::Spa,
            display_name: client_id.into(),
            confidential: false,
            client_secret_hash: None,
            redirect_uris: vec![format!("https://{client_id}.example/callback")],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            resources: vec![],
            scopes: vec!["openid".into(), "email".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            access_token_seconds: ACCESS_SECONDS.unsigned_abs(),
            id_token_seconds: 3600,
            refresh_token_seconds: 86400,
            require_consent: false,
            require_organization: false,
        }
    }

    fn now_ms() -> i64 {
        k8s_openapi::jiff::Timestamp::now().as_millisecond()
    }

    /// The server with `shop` and `other`, its signing key signing since 3 hours ago (so
    /// a test may move the server's clock back and still get tokens).
    async fn spawn() -> (TestApp, TestStore) {
        let store = connect(fresh_sqlite_database()).await;
        let app = spawn_app_with_secrets(
            store.store.clone(),
            |config| {
                config.applications.push(application(SHOP));
                config.applications.push(application(OTHER));
            },
            |config| {
                let keys = vestibule::operator::keys::plan(
                    &KeySet::default(),
                    &vestibule::operator::signing::policy(config),
                    now_ms() - 3 * HOUR_MS,
                    false,
                )
                .expect("keys");
                let json = String::from_utf8(keys.to_json().expect("json")).expect("utf-8");
                vec![("signing-keys.json".into(), json)]
            },
        )
        .await;
        (app, store)
    }

    /// The code flow for `client_id` through the signed-in `user`: the token response.
    async fn tokens(app: &TestApp, user: &mut Client, client_id: &str) -> Value {
        let redirect = format!("https://{client_id}.example/callback");
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", &redirect),
                ("scope", "openid email"),
                ("state", "s"),
                ("nonce", "n"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let page = user.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let back = url::Url::parse(page.location()).expect("redirect");
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", app.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    }

    fn text<'a>(tokens: &'a Value, name: &str) -> &'a str {
        tokens[name].as_str().expect(name)
    }

    /// How often the server has answered its JWKS, from its own request metrics.
    async fn jwks_served(app: &TestApp) -> u64 {
        let metrics = reqwest::get(format!("{}/metrics", app.base))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        metrics
            .lines()
            .filter(|l| {
                l.starts_with("vestibule_http_requests_total{")
                    && l.contains("route=\"/.well-known/jwks.json\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    fn refused_as(result: Result<super::Claims, VerifyError>, expected: &ErrorKind) {
        match result {
            Err(VerifyError::Invalid(e)) => assert_eq!(e.kind(), expected, "{e}"),
            Err(e) => panic!("refused, but as {e} rather than {expected:?}"),
            Ok(claims) => panic!("accepted: {claims:?}"),
        }
    }

    /// `token` with its header or claims changed, keeping the original signature.
    fn rewritten(token: &str, part: usize, change: impl FnOnce(&mut Value)) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut json: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[part]).expect("b64"))
                .expect("json");
        change(&mut json);
        parts[part] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).expect("json"));
        parts.join(".")
    }

    #[test]
    fn the_guide_shows_exactly_the_verifier_tested_here() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |path: &str| {
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let source = read("tests/server/integrate_doc.rs");
        let begin = "// docs/integrate.md rust-verifier: begin\n";
        let end = "// docs/integrate.md rust-verifier: end\n";
        let start = source.find(begin).expect("begin marker") + begin.len();
        let stop = source.find(end).expect("end marker");
        let tested = &source[start..stop];

        let guide = read("docs/integrate.md");
        let marker = "<!-- snippet: rust-verifier -->\n```rust\n";
        let from = guide.find(marker).expect("the guide's rust-verifier block") + marker.len();
        let to = guide[from..].find("\n```\n").expect("end of the block") + from + 1;
        let shown = &guide[from..to];
        assert!(
            shown == tested,
            "docs/integrate.md's rust-verifier block differs from tests/server/integrate_doc.rs \
             (between the markers); copy the tested code into the guide"
        );
        // The dependencies the guide lists are the ones the code needs.
        for dependency in [
            "jsonwebtoken = { version = \"9\", default-features = false }",
            "reqwest = { version = \"0.12\", features = [\"json\"] }",
            "serde = { version = \"1\", features = [\"derive\"] }",
            "tokio = { version = \"1\", features = [\"sync\"] }",
        ] {
            assert!(guide.contains(dependency), "the guide lists {dependency}");
        }
    }

    #[tokio::test]
    async fn an_access_token_from_the_code_flow_verifies_and_an_id_token_does_not() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let session: Value = alice.get("/session").await.body.parse().expect("json");
        let tokens = tokens(&app, &mut alice, SHOP).await;
        let verifier = Verifier::new(&app.base, SHOP);

        let claims = verifier
            .verify(text(&tokens, "access_token"))
            .await
            .expect("the access token verifies");
        assert_eq!(claims.sub, session["userId"].as_str().expect("userId"));
        assert_eq!(claims.client_id, SHOP);
        assert!(claims.has_scope("email") && claims.has_scope("openid"));
        assert!(!claims.has_scope("admin"));
        assert!(!claims.jti.is_empty());
        let expires_in = i64::try_from(claims.exp).expect("exp") - now_ms() / 1000;
        assert!((ACCESS_SECONDS - 5..=ACCESS_SECONDS).contains(&expires_in));

        // The ID token is signed by the same key, but it is not an access token.
        assert!(matches!(
            verifier.verify(text(&tokens, "id_token")).await,
            Err(VerifyError::NotAnAccessToken)
        ));
        // Nor is a refresh token, or anything else.
        for junk in [text(&tokens, "refresh_token"), "", "a.b.c", "Bearer x"] {
            assert!(
                matches!(
                    verifier.verify(junk).await,
                    Err(VerifyError::NotAnAccessToken)
                ),
                "{junk}"
            );
        }
    }

    #[tokio::test]
    async fn another_audience_or_issuer_is_refused() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let other = tokens(&app, &mut alice, OTHER).await;
        let access = text(&other, "access_token");
        refused_as(
            Verifier::new(&app.base, SHOP).verify(access).await,
            &ErrorKind::InvalidAudience,
        );
        assert!(Verifier::new(&app.base, OTHER).verify(access).await.is_ok());
        // The same keys, but the API expects another issuer.
        let elsewhere = Verifier::new(&app.base, OTHER);
        let elsewhere = Verifier {
            issuer: "https://auth.example.com".into(),
            ..elsewhere
        };
        refused_as(elsewhere.verify(access).await, &ErrorKind::InvalidIssuer);
    }

    #[tokio::test]
    async fn a_tampered_or_unsigned_token_is_refused() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let mut mallory = signed_up(&app, "mallory@example.com").await;
        let session: Value = alice.get("/session").await.body.parse().expect("json");
        let alice_id = session["userId"].as_str().expect("userId").to_owned();
        let tokens = tokens(&app, &mut mallory, SHOP).await;
        let access = text(&tokens, "access_token");
        let verifier = Verifier::new(&app.base, SHOP);
        assert!(verifier.verify(access).await.is_ok());

        let as_alice = rewritten(access, 1, |c| c["sub"] = alice_id.clone().into());
        refused_as(
            verifier.verify(&as_alice).await,
            &ErrorKind::InvalidSignature,
        );
        let more_scope = rewritten(access, 1, |c| c["scope"] = "openid email admin".into());
        refused_as(
            verifier.verify(&more_scope).await,
            &ErrorKind::InvalidSignature,
        );
        // Another signature: the last byte of the token's own one changed.
        let (body, signature) = access.rsplit_once('.').expect("three parts");
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("b64");
        bytes[63] ^= 1;
        let forged = format!("{body}.{}", URL_SAFE_NO_PAD.encode(bytes));
        refused_as(verifier.verify(&forged).await, &ErrorKind::InvalidSignature);
        // `alg: none` (no signature) or HS256 with the public key as the secret: refused.
        let none = rewritten(access, 0, |h| h["alg"] = "none".into());
        let (unsigned, _) = none.rsplit_once('.').expect("three parts");
        assert!(matches!(
            verifier.verify(&format!("{unsigned}.")).await,
            Err(VerifyError::NotAnAccessToken)
        ));
        let hs256 = rewritten(access, 0, |h| h["alg"] = "HS256".into());
        refused_as(verifier.verify(&hs256).await, &ErrorKind::InvalidAlgorithm);
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_past_the_leeway() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let verifier = Verifier::new(&app.base, SHOP);
        // Tokens minted in the past: expired 10 s ago (within the 30 s leeway), then 60 s ago.
        app.state.auth.clock.advance(-(ACCESS_SECONDS + 10) * 1000);
        let recent = tokens(&app, &mut alice, SHOP).await;
        app.state.auth.clock.advance(-50 * 1000);
        let old = tokens(&app, &mut alice, SHOP).await;
        app.state.auth.clock.advance((ACCESS_SECONDS + 60) * 1000);
        assert!(
            verifier.verify(text(&recent, "access_token")).await.is_ok(),
            "expired 10 s ago: within the leeway"
        );
        refused_as(
            verifier.verify(text(&old, "access_token")).await,
            &ErrorKind::ExpiredSignature,
        );
        // Well past it.
        app.state.auth.clock.advance(-2 * HOUR_MS);
        let ancient = tokens(&app, &mut alice, SHOP).await;
        app.state.auth.clock.advance(2 * HOUR_MS);
        refused_as(
            verifier.verify(text(&ancient, "access_token")).await,
            &ErrorKind::ExpiredSignature,
        );
    }

    #[tokio::test]
    async fn a_new_key_fetches_the_jwks_once_more_and_made_up_kids_do_not_flood_it() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let first = tokens(&app, &mut alice, SHOP).await;
        let second = tokens(&app, &mut alice, SHOP).await;
        let interval = Duration::from_millis(300);
        let verifier = Verifier::new(&app.base, SHOP).min_refetch(interval);
        let before = jwks_served(&app).await;
        for t in [&first, &second, &first] {
            verifier
                .verify(text(t, "access_token"))
                .await
                .expect("verifies");
        }
        assert_eq!(
            jwks_served(&app).await,
            before + 1,
            "fetched once, then cached"
        );

        // A new key starts signing (as after `vestibule.dev/rotate-keys`, but at once).
        let active = app.state.live.load();
        let mut keys = active.keys.clone().expect("keys");
        let old_kid = keys.keys[0].kid.clone();
        let now = now_ms();
        keys.keys
            .push(SigningKey::generate(SigningAlgorithm::ES256, now, now).expect("key"));
        let json = String::from_utf8(keys.to_json().expect("json")).expect("utf-8");
        let next = Active::build(
            active.config.clone(),
            active.secrets.clone().with("signing-keys.json", json),
            Some(app.outbox.clone()),
        )
        .expect("activates");
        app.state.live.swap(next);
        tokio::time::sleep(interval).await;

        let rotated = tokens(&app, &mut alice, SHOP).await;
        let access = text(&rotated, "access_token");
        let header = jsonwebtoken::decode_header(access).expect("header");
        assert_ne!(
            header.kid.as_deref(),
            Some(old_kid.as_str()),
            "the new key signs"
        );
        verifier
            .verify(access)
            .await
            .expect("the new key's token verifies");
        assert_eq!(
            jwks_served(&app).await,
            before + 2,
            "one more fetch for the new kid"
        );
        verifier
            .verify(text(&first, "access_token"))
            .await
            .expect("the old key's tokens still verify");

        // Made-up kids: refused; the JWKS is fetched again at most once per interval.
        let made_up = rewritten(access, 0, |h| h["kid"] = "no-such-key".into());
        for _ in 0..5 {
            assert!(matches!(
                verifier.verify(&made_up).await,
                Err(VerifyError::UnknownKey)
            ));
        }
        assert_eq!(
            jwks_served(&app).await,
            before + 2,
            "no fetch within the interval"
        );
        tokio::time::sleep(interval).await;
        for _ in 0..5 {
            assert!(matches!(
                verifier.verify(&made_up).await,
                Err(VerifyError::UnknownKey)
            ));
        }
        assert_eq!(jwks_served(&app).await, before + 3, "one after it");
    }

    #[tokio::test]
    async fn without_the_issuer_the_cached_keys_keep_working() {
        let (app, _store) = spawn().await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let tokens = tokens(&app, &mut alice, SHOP).await;
        let access = text(&tokens, "access_token");
        let verifier = Verifier::new(&app.base, SHOP).min_refetch(Duration::ZERO);
        assert!(verifier.verify(access).await.is_ok());
        let base = app.base.clone();
        drop(app);
        // The server is gone: an unknown kid cannot be looked up, known ones still verify.
        let made_up = rewritten(access, 0, |h| h["kid"] = "no-such-key".into());
        assert!(matches!(
            verifier.verify(&made_up).await,
            Err(VerifyError::UnknownKey)
        ));
        assert!(verifier.verify(access).await.is_ok());
        // A verifier that never reached it says why.
        assert!(matches!(
            Verifier::new(&base, SHOP).verify(access).await,
            Err(VerifyError::Jwks(_))
        ));
    }
}
