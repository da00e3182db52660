//! A Sign in with Apple-shaped upstream: discovery, an authorization endpoint that answers with
//! an auto-submitting `form_post` page (code, state and, the first time only, the unsigned `user`
//! JSON with the name), a token endpoint that accepts only a client secret that is an ES256 JWT
//! signed with the team's key (`iss` team, `sub` client, `aud` Apple, `kid` key id), and ES256
//! ID tokens with Apple's string `email_verified`. The callback is a cross-site POST, as from
//! appleid.apple.com.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use vestibule::config::runtime::{AppleClientSecret, ProviderConfig, ProviderType, SecretValue};
use vestibule::crypto::keys::{SigningAlgorithm, SigningKey};

use super::super::app::{Client, TestApp, field_value, spawn_app_with_secrets};
use super::super::support::each_backend;
use super::{loopback, serve};

const SERVICES_ID: &str = "com.example.vestibule";
const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
const SECRET_KEY: &str = "oauth.apple.client-secret";

#[derive(Default)]
struct Seen {
    /// code → nonce
    codes: HashMap<String, String>,
    /// Client secrets presented at the token endpoint.
    client_secrets: Vec<String>,
    /// Whether the name was sent already (Apple sends it once).
    name_sent: bool,
}

#[derive(Clone)]
struct Apple {
    base: String,
    /// Apple's own key (signs ID tokens).
    idp_key: Arc<SigningKey>,
    /// The team's key (signs Vestibule's client secrets); Apple knows its public part.
    team_key: Arc<SigningKey>,
    seen: Arc<Mutex<Seen>>,
}

impl Apple {
    async fn start() -> Apple {
        let (listener, base) = loopback().await;
        let apple = Apple {
            base,
            idp_key: Arc::new(SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key")),
            team_key: Arc::new(SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key")),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/auth/authorize", get(authorize))
            .route("/auth/token", post(token))
            .route("/auth/keys", get(keys))
            .with_state(apple.clone());
        serve(listener, app);
        apple
    }

    fn team_pem(&self) -> String {
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            self.team_key.private_pkcs8
        )
    }
}

async fn discovery(State(a): State<Apple>) -> Json<Value> {
    Json(json!({
        "issuer": a.base,
        "authorization_endpoint": format!("{}/auth/authorize", a.base),
        "token_endpoint": format!("{}/auth/token", a.base),
        "jwks_uri": format!("{}/auth/keys", a.base),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }))
}

async fn authorize(State(a): State<Apple>, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("response_mode").map(String::as_str) != Some("form_post")
        || q.get("client_id").map(String::as_str) != Some(SERVICES_ID)
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let code = format!("c{}", rand::random::<u64>());
    let mut seen = a.seen.lock().expect("lock");
    seen.codes
        .insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
    let user = if seen.name_sent {
        String::new()
    } else {
        seen.name_sent = true;
        let json = json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": "ada@privaterelay.example"});
        format!(
            r#"<input type="hidden" name="user" value="{}">"#,
            json.to_string().replace('"', "&quot;")
        )
    };
    let state = q.get("state").cloned().unwrap_or_default();
    let action = q.get("redirect_uri").cloned().unwrap_or_default();
    Html(format!(
        r#"<html><body onload="document.forms[0].submit()"><form method="post" action="{action}">
<input type="hidden" name="code" value="{code}"><input type="hidden" name="state" value="{state}">{user}</form></body></html>"#
    ))
    .into_response()
}

async fn token(
    State(a): State<Apple>,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Response {
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client", "why": why})),
        )
            .into_response()
    };
    let secret = f.get("client_secret").cloned().unwrap_or_default();
    let mut team_jwk = a.team_key.public_jwk.clone();
    team_jwk["kid"] = json!(KEY_ID);
    let Ok(verified) = vestibule::crypto::jwks::verify(&json!({"keys": [team_jwk]}), &secret)
    else {
        return refuse("client secret is not signed with the team key");
    };
    let c = &verified.claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    if verified.header["kid"] != KEY_ID
        || c["iss"] != TEAM
        || c["sub"] != SERVICES_ID
        || c["aud"] != a.base.as_str()
        || c["exp"].as_i64().unwrap_or(0) <= now
        || f.get("client_id").map(String::as_str) != Some(SERVICES_ID)
    {
        return refuse("client secret claims");
    }
    let mut seen = a.seen.lock().expect("lock");
    seen.client_secrets.push(secret);
    let Some(nonce) = f.get("code").and_then(|code| seen.codes.remove(code)) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let claims = json!({"iss": a.base, "aud": SERVICES_ID, "sub": "001234.apple-subject",
        "iat": now - 2, "exp": now + 600, "nonce": nonce, "nonce_supported": true,
        "email": "ada@privaterelay.example", "email_verified": "true", "is_private_email": "true"});
    let id_token = vestibule::crypto::jws::sign(&a.idp_key, "JWT", &claims).expect("sign");
    Json(json!({"access_token": "a.apple", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token}))
        .into_response()
}

async fn keys(State(a): State<Apple>) -> Json<Value> {
    Json(json!({"keys": [a.idp_key.public_jwk.clone()]}))
}

fn apple_provider(base: &str) -> ProviderConfig {
    let secret = SecretValue {
        secret_key: SECRET_KEY.into(),
    };
    ProviderConfig {
        display_name: "Apple".into(),
        scopes: vec!["openid".into(), "name".into(), "email".into()],
        issuer: Some(base.to_owned()),
        apple: Some(AppleClientSecret {
            team_id: TEAM.into(),
            key_id: KEY_ID.into(),
        }),
        ..ProviderConfig::new("apple", ProviderType::Apple, SERVICES_ID, secret)
    }
}

async fn app(store: vestibule::store::Store, apple: &Apple) -> TestApp {
    let base = apple.base.clone();
    let pem = apple.team_pem();
    spawn_app_with_secrets(
        store,
        move |config| config.providers.push(apple_provider(&base)),
        move |_| vec![(SECRET_KEY.to_owned(), pem)],
    )
    .await
}

/// start → Apple's form_post page → the cross-site POST to the callback.
async fn round_trip(app: &TestApp, apple: &Apple) -> (Client, super::super::app::Page) {
    let mut browser = Client::new(app);
    let start = browser.get("/oauth/apple/start").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    assert!(start.location().contains("response_mode=form_post"));
    let cookie = start
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-vestibule_oauth="))
        .expect("flow cookie")
        .to_owned();
    assert!(
        cookie.contains("SameSite=None") && cookie.contains("Secure"),
        "{cookie}"
    );
    let html = reqwest::get(start.location())
        .await
        .expect("authorize")
        .text()
        .await
        .expect("page");
    let mut form = vec![
        ("code".to_owned(), field_value(&html, "code").expect("code")),
        (
            "state".to_owned(),
            field_value(&html, "state").expect("state"),
        ),
    ];
    if let Some(user) = field_value(&html, "user") {
        form.push(("user".to_owned(), user.replace("&quot;", "\"")));
    }
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // From appleid.apple.com: cross-site, no CSRF token; the flow cookie and state protect it.
    let page = browser
        .post_with(
            "/oauth/apple/callback",
            &fields,
            &[
                ("origin", apple.base.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    (browser, page)
}

#[tokio::test]
async fn apple_signs_in_with_a_minted_client_secret_and_a_form_post_callback() {
    let apple = Apple::start().await;
    each_backend(async |store| {
        let app = app(store, &apple).await;
        let before = apple.seen.lock().expect("lock").client_secrets.len();
        let (mut browser, page) = round_trip(&app, &apple).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/account");
        let who: Value = serde_json::from_str(&browser.get("/session").await.body).expect("json");
        assert_eq!(who["email"], "ada@privaterelay.example");

        // The second sign-in (no name this time) reaches the same account, and the client
        // secret minted for the first is reused.
        let (mut again, page) = round_trip(&app, &apple).await;
        assert_eq!(page.location(), "/account", "{}", page.body);
        let who_again: Value =
            serde_json::from_str(&again.get("/session").await.body).expect("json");
        assert_eq!(who_again["userId"], who["userId"]);
        let seen = apple.seen.lock().expect("lock");
        let secrets = &seen.client_secrets[before..];
        assert_eq!(secrets.len(), 2);
        assert_eq!(secrets[0], secrets[1], "cached, not re-minted");
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(secrets[0].split('.').next().expect("header"))
                .expect("b64"),
        )
        .expect("json");
        assert_eq!(header["alg"], "ES256");
    })
    .await;
}

#[tokio::test]
async fn a_cross_site_post_to_any_other_page_is_still_refused() {
    let apple = Apple::start().await;
    each_backend(async |store| {
        let app = app(store, &apple).await;
        let mut browser = Client::new(&app);
        for path in [
            "/oauth/link",
            "/account/identities/link",
            "/oauth/apple/callback/x",
            "/sign-in",
        ] {
            let page = browser
                .post_with(
                    path,
                    &[("code", "x")],
                    &[
                        ("origin", apple.base.as_str()),
                        ("sec-fetch-site", "cross-site"),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        }
    })
    .await;
}

#[test]
fn a_config_whose_apple_key_is_not_a_key_is_not_activated() {
    let config = super::super::app::quickstart_config("http://127.0.0.1:1", |c| {
        c.providers
            .push(apple_provider("https://appleid.apple.com"));
    });
    let mut secrets = vestibule::runtime::live::SecretValues::new(
        config
            .secrets
            .keys()
            .map(|k| (k.clone(), "x".to_owned()))
            .collect(),
    );
    secrets = secrets.with(
        SECRET_KEY,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----".into(),
    );
    let error = vestibule::runtime::live::Active::build(config, secrets, None)
        .err()
        .expect("refused");
    assert_eq!(
        error.to_string(),
        "OAuthProvider apple: the Apple key is not a P-256 PKCS#8 private key"
    );
}
