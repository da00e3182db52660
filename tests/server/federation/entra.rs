//! A Microsoft Entra ID-shaped upstream: discovery per tenant with the multi-tenant issuer
//! template (`{base}/{tenantid}/v2.0`), ES256 ID tokens minted per test case, a JWKS whose
//! fetches are counted, and an OAuth 2.0 userinfo with its own claim names for the `oauth2`
//! type's mapping. The negative cases are SECURITY 13 and 44–46 where Vestibule verifies
//! upstream tokens: `alg: none`, HS256 keyed with the JWKS public key, an unknown `kid`, a wrong
//! `aud`, an expired token, a tenant not welcome, and an issuer that does not match `tid`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use vestibule::config::runtime::{ProviderConfig, ProviderType, SecretValue};

use super::super::app::{Client, TestApp, signed_up, spawn_app_with};
use super::super::support::each_backend;
use super::{loopback, serve};

const CLIENT: &str = "entra-client-id";
const TENANT: &str = "0b7e6f1c-4a55-4c3e-9d2a-1f0c2e3d4b5a";
const CONSUMERS: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Mints the ID token for a flow's nonce.
type Mint = Box<dyn Fn(&Entra, &str) -> String + Send>;

struct Inner {
    key: EcdsaKeyPair,
    jwk: Value,
    mint: Mutex<Option<Mint>>,
    nonces: Mutex<HashMap<String, String>>,
    jwks_fetches: AtomicUsize,
}

#[derive(Clone)]
struct Entra {
    base: String,
    inner: Arc<Inner>,
}

impl Entra {
    async fn start() -> Entra {
        let (listener, base) = loopback().await;
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        let point = key.public_key().as_ref().to_vec();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "entra-1", "use": "sig", "alg": "ES256",
                         "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        let entra = Entra {
            base,
            inner: Arc::new(Inner {
                key,
                jwk,
                mint: Mutex::new(None),
                nonces: Mutex::new(HashMap::new()),
                jwks_fetches: AtomicUsize::new(0),
            }),
        };
        let app = Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/keys", get(keys))
            .route("/oauth2/userinfo", get(userinfo))
            .with_state(entra.clone());
        serve(listener, app);
        entra
    }

    fn mints(&self, mint: impl Fn(&Entra, &str) -> String + Send + 'static) {
        *self.inner.mint.lock().expect("lock") = Some(Box::new(mint));
    }

    /// A compact JWS over `header` and `claims`, ES256-signed with the published key.
    fn es256(&self, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .inner
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// A good token's claims for `tid` and `nonce`.
    fn claims(&self, tid: &str, nonce: &str) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs();
        json!({"iss": format!("{}/{tid}/v2.0", self.base), "tid": tid, "aud": CLIENT,
               "sub": "entra-subject-1", "email": "Pat@Corp.example", "xms_edov": true,
               "name": "Pat", "iat": now - 5, "exp": now + 300, "nonce": nonce})
    }
}

async fn discovery(State(e): State<Entra>, Path(_tenant): Path<String>) -> Json<Value> {
    Json(json!({
        "issuer": format!("{}/{{tenantid}}/v2.0", e.base),
        "authorization_endpoint": format!("{}/authorize", e.base),
        "token_endpoint": format!("{}/token", e.base),
        "jwks_uri": format!("{}/keys", e.base),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    }))
}

async fn authorize(State(e): State<Entra>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let code = format!("code-{}", rand::random::<u64>());
    e.inner
        .nonces
        .lock()
        .expect("lock")
        .insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
    let mut back = url::Url::parse(redirect_uri).expect("url");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map_or("", String::as_str));
    Redirect::to(back.as_str()).into_response()
}

async fn token(
    State(e): State<Entra>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Response {
    let nonce = f
        .get("code")
        .and_then(|c| e.inner.nonces.lock().expect("lock").remove(c));
    let Some(nonce) = nonce else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let id_token = match &*e.inner.mint.lock().expect("lock") {
        Some(mint) => mint(&e, &nonce),
        None => String::new(),
    };
    Json(
        json!({"access_token": "entra-access-token", "token_type": "Bearer", "id_token": id_token}),
    )
    .into_response()
}

async fn keys(State(e): State<Entra>) -> Json<Value> {
    e.inner.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({"keys": [e.inner.jwk.clone()]}))
}

/// An OAuth 2.0 server's userinfo with its own claim names (for the `oauth2` type's mapping).
async fn userinfo(headers: axum::http::HeaderMap) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some("Bearer entra-access-token")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({"uid": 7007, "mail": "Mapped@Example.com", "mail_ok": "true", "display": "Mapped Person"}))
        .into_response()
}

fn provider(slug: &str, kind: ProviderType) -> ProviderConfig {
    // The test app gives every Secret key the value `test-secret`.
    let secret = SecretValue {
        secret_key: "oauth.github.client-secret".into(),
    };
    ProviderConfig {
        scopes: vec!["openid".into(), "email".into()],
        ..ProviderConfig::new(slug, kind, CLIENT, secret)
    }
}

async fn app(store: vestibule::store::Store, entra: &Entra) -> TestApp {
    let base = entra.base.clone();
    spawn_app_with(store, move |config| {
        config.providers.push(ProviderConfig {
            issuer: Some(format!("{base}/organizations/v2.0")),
            tenant: Some("organizations".into()),
            ..provider("entra", ProviderType::Microsoft)
        });
        let claims = [
            ("subject", "uid"),
            ("email", "mail"),
            ("emailVerified", "mail_ok"),
            ("name", "display"),
            ("picture", "avatar"),
        ];
        config.providers.push(ProviderConfig {
            authorization_endpoint: Some(format!("{base}/authorize")),
            token_endpoint: Some(format!("{base}/token")),
            userinfo_endpoint: Some(format!("{base}/oauth2/userinfo")),
            scopes: vec!["profile".into()],
            claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..provider("legacy", ProviderType::Oauth2)
        });
    })
    .await
}

/// start → the emulator's authorize → the callback; the callback's response.
async fn round_trip(app: &TestApp, slug: &str) -> (Client, super::super::app::Page) {
    let mut browser = Client::new(app);
    let start = browser.get(&format!("/oauth/{slug}/start")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let back = super::bounce(start.location()).await;
    let page = super::callback(&mut browser, &back).await;
    (browser, page)
}

#[tokio::test]
async fn microsoft_tenants_are_checked_against_tid_and_forged_upstream_tokens_are_refused() {
    let entra = Entra::start().await;
    each_backend(async |store| {
        let app = app(store, &entra).await;

        // A work account of a tenant the `organizations` setting welcomes: signed in, account
        // created with the lower-case address (xms_edov says the domain owner verified it).
        entra.mints(|e, nonce| {
            e.es256(
                json!({"alg": "ES256", "kid": "entra-1", "typ": "JWT"}),
                &e.claims(TENANT, nonce),
            )
        });
        let (_, page) = round_trip(&app, "entra").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/account");
        let user = app
            .state
            .auth
            .store
            .user_by_email("pat@corp.example")
            .await
            .expect("store");
        assert!(user.is_some(), "account created");
        let fetches = entra.inner.jwks_fetches.load(Ordering::SeqCst);

        let refused: Vec<(&str, Mint)> = vec![
            // A personal account: `organizations` does not welcome the consumers tenant.
            (
                "consumers tenant",
                Box::new(|e: &Entra, n: &str| {
                    e.es256(
                        json!({"alg": "ES256", "kid": "entra-1"}),
                        &e.claims(CONSUMERS, n),
                    )
                }),
            ),
            // The issuer names another tenant than `tid`.
            (
                "issuer not of tid",
                Box::new(|e: &Entra, n: &str| {
                    let mut c = e.claims(TENANT, n);
                    c["iss"] = json!(format!("{}/{CONSUMERS}/v2.0", e.base));
                    e.es256(json!({"alg": "ES256", "kid": "entra-1"}), &c)
                }),
            ),
            (
                "alg none",
                Box::new(|e: &Entra, n: &str| {
                    format!(
                        "{}.{}.",
                        URL_SAFE_NO_PAD
                            .encode(json!({"alg": "none", "kid": "entra-1"}).to_string()),
                        URL_SAFE_NO_PAD.encode(e.claims(TENANT, n).to_string())
                    )
                }),
            ),
            // HMAC keyed with the published public key (the classic key-confusion forgery).
            (
                "HS256 with the public key",
                Box::new(|e: &Entra, n: &str| {
                    let input = format!(
                        "{}.{}",
                        URL_SAFE_NO_PAD
                            .encode(json!({"alg": "HS256", "kid": "entra-1"}).to_string()),
                        URL_SAFE_NO_PAD.encode(e.claims(TENANT, n).to_string())
                    );
                    let key = ring::hmac::Key::new(
                        ring::hmac::HMAC_SHA256,
                        e.inner.jwk.to_string().as_bytes(),
                    );
                    let tag = ring::hmac::sign(&key, input.as_bytes());
                    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
                }),
            ),
            (
                "unknown kid",
                Box::new(|e: &Entra, n: &str| {
                    e.es256(
                        json!({"alg": "ES256", "kid": "not-published"}),
                        &e.claims(TENANT, n),
                    )
                }),
            ),
            (
                "wrong aud",
                Box::new(|e: &Entra, n: &str| {
                    let mut c = e.claims(TENANT, n);
                    c["aud"] = json!("another-client");
                    e.es256(json!({"alg": "ES256", "kid": "entra-1"}), &c)
                }),
            ),
            (
                "expired",
                Box::new(|e: &Entra, n: &str| {
                    let mut c = e.claims(TENANT, n);
                    c["exp"] = json!(c["iat"].as_u64().expect("iat") - 600);
                    c["iat"] = json!(c["iat"].as_u64().expect("iat") - 900);
                    e.es256(json!({"alg": "ES256", "kid": "entra-1"}), &c)
                }),
            ),
            (
                "wrong nonce",
                Box::new(|e: &Entra, _n: &str| {
                    e.es256(
                        json!({"alg": "ES256", "kid": "entra-1"}),
                        &e.claims(TENANT, "another-nonce"),
                    )
                }),
            ),
        ];
        for (case, mint) in refused {
            *entra.inner.mint.lock().expect("lock") = Some(mint);
            let (browser, page) = round_trip(&app, "entra").await;
            assert_eq!(
                page.status,
                StatusCode::UNAUTHORIZED,
                "{case}: {}",
                page.body
            );
            assert!(
                page.body.contains("could not be verified"),
                "{case}: {}",
                page.body
            );
            assert!(browser.session().is_none(), "{case}: no session");
        }
        // The unknown kid refetched the JWKS at most once (the cache is younger than the
        // refetch interval, so not even that).
        assert!(entra.inner.jwks_fetches.load(Ordering::SeqCst) <= fetches + 1);
        let metrics = app.state.metrics.render();
        assert!(
            metrics.contains(
                r#"vestibule_provider_sign_ins_total{provider="entra",result="token"} 8"#
            ),
            "{metrics}"
        );
    })
    .await;
}

#[tokio::test]
async fn microsoft_without_xms_edov_does_not_link_and_oauth2_reads_its_claim_mapping() {
    let entra = Entra::start().await;
    each_backend(async |store| {
        let app = app(store, &entra).await;
        signed_up(&app, "pat@corp.example").await;
        entra.mints(|e, nonce| {
            let mut c = e.claims(TENANT, nonce);
            c.as_object_mut().expect("object").remove("xms_edov");
            e.es256(json!({"alg": "ES256", "kid": "entra-1"}), &c)
        });
        let (browser, page) = round_trip(&app, "entra").await;
        assert_eq!(page.location(), "/oauth/link", "{}", page.body);
        assert!(browser.session().is_none());

        // `oauth2`: userinfo read through the mapping (numeric subject, string "true").
        let (_, page) = round_trip(&app, "legacy").await;
        assert_eq!(page.location(), "/account", "{}", page.body);
        let (identity, user) = app
            .state
            .auth
            .store
            .identity_by_subject("legacy", "7007")
            .await
            .expect("store")
            .expect("linked");
        assert_eq!(user.email, "mapped@example.com");
        assert_eq!(identity.email.as_deref(), Some("mapped@example.com"));
        assert!(identity.email_verified);
    })
    .await;
}
