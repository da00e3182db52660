//! The OpenID Provider's authorization code flow over HTTP, against the real server: discovery,
//! authorize with PKCE, the token endpoint, userinfo, refresh rotation, and the replay rules.
//! (The certified `openid-client` peer drives the same flow in the browser suite's next step.)

use reqwest::StatusCode;
use serde_json::Value;
use vestibule::config::RuntimeConfig;
use vestibule::config::runtime::{ApplicationConfig, ApplicationType, GrantType};
use vestibule::crypto::jws;
use vestibule::crypto::keys::KeySet;
use vestibule::store::Store;

use crate::app::{Client, TestApp, signed_up, spawn_app_with_secrets};
use crate::support::each_backend;

const REDIRECT: &str = "https://spa.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn spa() -> ApplicationConfig {
    ApplicationConfig {
        client_id: "spa".into(),
        application_type: ApplicationType::Spa,
        display_name: "Shop".into(),
        confidential: false,
        client_secret_hash: None,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec!["https://spa.example".into()],
        resources: vec![],
        scopes: vec!["openid".into(), "email".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        access_token_seconds: 900,
        id_token_seconds: 3600,
        refresh_token_seconds: 86400,
        require_consent: false,
        require_organization: false,
    }
}

const PORTAL_SECRET: &str = "portal-secret-0123456789";
const PORTAL_REDIRECT: &str = "https://portal.example/cb";
const PORTAL_BYE: &str = "https://portal.example/bye";

/// A confidential web app with a post-logout address.
fn portal() -> ApplicationConfig {
    ApplicationConfig {
        client_id: "portal".into(),
        application_type: ApplicationType::Web,
        display_name: "Portal".into(),
        confidential: true,
        client_secret_hash: Some(vestibule::config::runtime::SecretValue {
            secret_key: "application.portal.client-secret-hash".into(),
        }),
        redirect_uris: vec![PORTAL_REDIRECT.into()],
        post_logout_redirect_uris: vec![PORTAL_BYE.into()],
        allowed_origins: vec![],
        resources: vec!["https://api.portal.example".into()],
        scopes: vec!["openid".into(), "email".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        access_token_seconds: 900,
        id_token_seconds: 3600,
        refresh_token_seconds: 86400,
        require_consent: false,
        require_organization: false,
    }
}

const PARTNER_REDIRECT: &str = "https://partner.example/cb";

/// A third-party public app that asks for consent.
fn partner() -> ApplicationConfig {
    ApplicationConfig {
        client_id: "partner".into(),
        display_name: "Partner Tool".into(),
        redirect_uris: vec![PARTNER_REDIRECT.into()],
        allowed_origins: vec![],
        resources: vec![],
        require_consent: true,
        require_organization: false,
        ..spa()
    }
}

const BATCH_SECRET: &str = "batch-secret-0123456789";

fn batch() -> ApplicationConfig {
    ApplicationConfig {
        client_id: "batch".into(),
        application_type: ApplicationType::M2m,
        display_name: "Batch".into(),
        confidential: true,
        client_secret_hash: Some(vestibule::config::runtime::SecretValue {
            secret_key: "application.batch.client-secret-hash".into(),
        }),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        allowed_origins: vec![],
        resources: vec![],
        scopes: vec!["reports:read".into(), "reports:write".into()],
        grant_types: vec![GrantType::ClientCredentials],
        access_token_seconds: 600,
        id_token_seconds: 600,
        refresh_token_seconds: 600,
        require_consent: false,
        require_organization: false,
    }
}

fn keys(config: &RuntimeConfig) -> KeySet {
    let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
    vestibule::operator::keys::plan(
        &KeySet::default(),
        &vestibule::operator::signing::policy(config),
        now,
        false,
    )
    .expect("keys")
}

async fn spawn(store: Store) -> TestApp {
    spawn_app_with_secrets(
        store,
        |config| {
            config.applications.push(spa());
            config.applications.push(batch());
            config.applications.push(portal());
            config.applications.push(partner());
        },
        |config| {
            let json = keys(config).to_json().expect("json");
            vec![
                (
                    "signing-keys.json".into(),
                    String::from_utf8(json).expect("utf-8"),
                ),
                // As the operator ships it: the SHA-256 of the generated secret.
                (
                    "application.batch.client-secret-hash".into(),
                    vestibule::crypto::sha256_hex(BATCH_SECRET.as_bytes()),
                ),
                (
                    "application.portal.client-secret-hash".into(),
                    vestibule::crypto::sha256_hex(PORTAL_SECRET.as_bytes()),
                ),
            ]
        },
    )
    .await
}

/// `/oauth2/authorize` with `params`, each of `extra` replacing its namesake or added.
fn authorize_with<'a>(mut params: Vec<(&'a str, &'a str)>, extra: &[(&'a str, &'a str)]) -> String {
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        params.push((k, v));
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth2/authorize?{query}")
}

/// The spa's authorization request (PKCE S256, state, nonce), with `extra`.
fn authorize_path(extra: &[(&str, &str)]) -> String {
    authorize_with(
        vec![
            ("response_type", "code"),
            ("client_id", "spa"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        extra,
    )
}

/// The query of a redirect to the client, as pairs.
fn redirect_query(location: &str) -> Vec<(String, String)> {
    assert!(location.starts_with(REDIRECT), "redirected to {location}");
    let url = url::Url::parse(location).expect("url");
    url.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn code_for(client: &mut Client, app: &TestApp) -> String {
    let page = client.get(&authorize_path(&[])).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let query = redirect_query(page.location());
    assert_eq!(param(&query, "state"), Some("s-1"));
    assert_eq!(param(&query, "iss"), Some(app.base.as_str()));
    param(&query, "code").expect("a code").to_owned()
}

/// A token request to the server at `base` (one replica of several, in the replica test).
async fn token_at(base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .form(form)
        .send()
        .await
        .expect("token");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    token_at(&app.base, form).await
}

/// The spa's code exchange (PKCE verifier, redirect URI) at `base`.
async fn exchange_at(base: &str, code: &str) -> (StatusCode, Value) {
    token_at(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", "spa"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn exchange(app: &TestApp, code: &str) -> (StatusCode, Value) {
    exchange_at(&app.base, code).await
}

/// Userinfo at `base` with a bearer token.
async fn userinfo_at(base: &str, bearer: &str) -> (StatusCode, Option<Value>) {
    let response = reqwest::Client::new()
        .get(format!("{base}/oauth2/userinfo"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("userinfo");
    let status = response.status();
    (status, response.json().await.ok())
}

async fn userinfo(app: &TestApp, bearer: &str) -> (StatusCode, Option<Value>) {
    userinfo_at(&app.base, bearer).await
}

/// The served JWKS document.
async fn jwks_document(app: &TestApp) -> Value {
    reqwest::get(format!("{}/.well-known/jwks.json", app.base))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json")
}

async fn published_keys(app: &TestApp) -> KeySet {
    // The test's own copy of the JWKS as a key set: public keys only, enough to verify.
    let jwks = jwks_document(app).await;
    let state = app.state.live.load();
    let set = state.keys.clone().expect("keys");
    assert_eq!(jwks["keys"][0]["kid"], set.keys[0].kid.as_str());
    vestibule::crypto::keys::public_only(&set)
}

#[tokio::test]
async fn discovery_names_exactly_the_issuer_and_what_is_served() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", app.base))
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["issuer"], app.base.as_str());
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}/oauth2/authorize", app.base)
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["revocation_endpoint"],
            format!("{}/oauth2/revoke", app.base)
        );
        assert_eq!(
            doc["introspection_endpoint"],
            format!("{}/oauth2/introspect", app.base)
        );
        assert_eq!(
            doc["end_session_endpoint"],
            format!("{}/oauth2/end-session", app.base)
        );
    })
    .await;
}

#[tokio::test]
async fn the_code_flow_yields_verifiable_tokens_userinfo_and_rotating_refresh_tokens() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let code = code_for(&mut alice, &app).await;
        let (status, tokens) = exchange(&app, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["scope"], "openid email");
        let access = tokens["access_token"].as_str().expect("access token");
        let id_token = tokens["id_token"].as_str().expect("id token");
        let refresh = tokens["refresh_token"].as_str().expect("refresh token");

        let keys = published_keys(&app).await;
        let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let id = jws::verify(&keys, id_token, now).expect("the ID token verifies");
        assert_eq!(id.claims["iss"], app.base.as_str());
        assert_eq!(id.claims["aud"], "spa");
        assert_eq!(id.claims["nonce"], "n-1");
        assert_eq!(id.claims["email"], "alice@example.com");
        let at = jws::verify(&keys, access, now).expect("the access token verifies");
        assert_eq!(at.header["typ"], "at+jwt");
        assert_eq!(at.claims["sub"], id.claims["sub"]);

        let (status, info) = userinfo(&app, access).await;
        assert_eq!(status, StatusCode::OK);
        let info = info.expect("claims");
        assert_eq!(info["sub"], id.claims["sub"]);
        assert_eq!(info["email_verified"], true);
        // An ID token is not an access token.
        assert_eq!(userinfo(&app, id_token).await.0, StatusCode::UNAUTHORIZED);

        // Refresh: a new pair; the old refresh token replayed revokes the family.
        let refresh_form = |t: &str| {
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", t.to_owned()),
                ("client_id", "spa".to_owned()),
            ]
        };
        let form = refresh_form(refresh);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, next) = token(&app, &form).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        let next_refresh = next["refresh_token"].as_str().expect("rotated").to_owned();
        assert_ne!(next_refresh, refresh);
        let (status, replay) = token(&app, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(replay["error"], "invalid_grant");
        let form = refresh_form(&next_refresh);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            token(&app, &form).await.1["error"],
            "invalid_grant",
            "the whole family is revoked"
        );
        assert_eq!(
            userinfo(&app, access).await.0,
            StatusCode::UNAUTHORIZED,
            "and so are its access tokens"
        );
    })
    .await;
}

#[tokio::test]
async fn acr_values_asking_for_mfa_step_up_and_the_id_token_says_which_factors() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "mfa-rp@example.com").await;
        // Without a second factor the request is voluntary: aal1, said in the token.
        let code = code_for(&mut alice, &app).await;
        let (_, tokens) = exchange(&app, &code).await;
        let keys = published_keys(&app).await;
        let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let id = jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now).expect("id");
        assert_eq!(id.claims["amr"], serde_json::json!(["pwd"]));
        assert_eq!(id.claims["acr"], "aal1");

        // Another browser signed in before the app is added.
        let mut bob = Client::new(&app);
        bob.submit(
            "/sign-in",
            "/sign-in",
            &[
                ("email", "mfa-rp@example.com"),
                ("password", crate::app::PASSWORD),
            ],
        )
        .await;
        assert!(bob.session().is_some());
        let (secret, _) = crate::mfa::enrol_totp(&app, &mut alice).await;
        crate::mfa::password_again(&mut alice, "mfa-rp@example.com").await;
        crate::mfa::next_step(&app);
        let code = crate::mfa::code_now(&app, &secret);
        crate::mfa::answer(&mut alice, "totp", &code, false).await;
        // A session with a second factor satisfies acr_values=aal2 at once.
        let page = alice.get(&authorize_path(&[("acr_values", "aal2")])).await;
        let query = redirect_query(page.location());
        let (_, tokens) = exchange(&app, param(&query, "code").expect("code")).await;
        let id = jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now).expect("id");
        assert_eq!(id.claims["amr"], serde_json::json!(["otp", "pwd", "mfa"]));
        assert_eq!(id.claims["acr"], "aal2");

        // A session from before the app was added (password only) steps up first; with
        // prompt=none that is interaction_required.
        let none = bob
            .get(&authorize_path(&[
                ("acr_values", "mfa"),
                ("prompt", "none"),
            ]))
            .await;
        assert_eq!(
            param(&redirect_query(none.location()), "error"),
            Some("interaction_required")
        );
        let request = authorize_path(&[("acr_values", "aal2")]);
        let step = bob.get(&request).await;
        assert!(
            step.location()
                .starts_with("/account/step-up?redirect_url="),
            "{}",
            step.location()
        );
        let form = bob.get(step.location()).await;
        crate::mfa::next_step(&app);
        let stepped = bob
            .post(
                "/account/step-up",
                &[
                    ("csrf_token", &form.csrf()),
                    ("kind", "totp"),
                    ("code", &crate::mfa::code_now(&app, &secret)),
                    ("redirect_url", &request),
                ],
            )
            .await;
        assert_eq!(
            stepped.location(),
            request,
            "back to the authorization request"
        );
        let back = bob.get(&request).await;
        let query = redirect_query(back.location());
        let (_, tokens) = exchange(&app, param(&query, "code").expect("code")).await;
        let id = jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now).expect("id");
        assert_eq!(id.claims["acr"], "aal2");
        assert!(
            id.claims["amr"]
                .as_array()
                .expect("amr")
                .contains(&serde_json::json!("otp"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_reused_code_revokes_the_tokens_of_its_first_redemption() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let code = code_for(&mut alice, &app).await;
        let (_, first) = exchange(&app, &code).await;
        let access = first["access_token"].as_str().expect("access").to_owned();
        assert_eq!(userinfo(&app, &access).await.0, StatusCode::OK);
        let (status, again) = exchange(&app, &code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(again["error"], "invalid_grant");
        assert_eq!(userinfo(&app, &access).await.0, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn pkce_redirect_uri_and_client_must_match_at_the_token_endpoint() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        for (name, value) in [
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            ),
            ("redirect_uri", "https://spa.example/callback/"),
            ("client_id", "other"),
        ] {
            let code = code_for(&mut alice, &app).await;
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("client_id", "spa"),
                ("code_verifier", VERIFIER),
            ];
            form.retain(|(k, _)| *k != name);
            form.push((name, value));
            let (status, body) = token(&app, &form).await;
            assert!(status.is_client_error(), "{name}: {status} {body}");
            assert!(
                ["invalid_grant", "invalid_client"]
                    .contains(&body["error"].as_str().unwrap_or_default()),
                "{name}: {body}"
            );
        }
        let (status, body) = token(&app, &[("grant_type", "password"), ("client_id", "spa")]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
        );
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", app.base))
            .body("{}")
            .header("content-type", "application/json")
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn without_a_session_the_user_signs_in_first_and_prompt_none_says_login_required() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut stranger = Client::new(&app);
        let page = stranger.get(&authorize_path(&[])).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let location = page.location().to_owned();
        assert!(
            location.starts_with("/sign-in?redirect_url=%2Foauth2%2Fauthorize"),
            "{location}"
        );
        let page = stranger.get(&authorize_path(&[("prompt", "none")])).await;
        let query = redirect_query(page.location());
        assert_eq!(param(&query, "error"), Some("login_required"));
        assert_eq!(param(&query, "state"), Some("s-1"));
        // A redirect URI that is not registered gets a page, and goes nowhere.
        let page = stranger
            .get(&authorize_path(&[(
                "redirect_uri",
                "https://spa.example/callback/extra",
            )]))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.headers.get("location").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_machine_client_gets_a_token_with_its_secret_and_nothing_without_it() {
    use base64::Engine;
    each_backend(async |store| {
        let app = spawn(store).await;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("batch:{BATCH_SECRET}"));
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", app.base))
            .header("authorization", format!("Basic {basic}"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "reports:read"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let keys = published_keys(&app).await;
        let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let at =
            jws::verify(&keys, body["access_token"].as_str().expect("at"), now).expect("verifies");
        assert_eq!(at.claims["sub"], "batch");
        assert_eq!(at.claims["scope"], "reports:read");
        // There is no user: userinfo refuses it.
        assert_eq!(
            userinfo(&app, body["access_token"].as_str().expect("at"))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
        // client_secret_post works too.
        let (status, _) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "batch"),
                ("client_secret", BATCH_SECRET),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        for (form, expected) in [
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", "batch"),
                    ("client_secret", "wrong"),
                ],
                (StatusCode::UNAUTHORIZED, "invalid_client"),
            ),
            (
                vec![("grant_type", "client_credentials"), ("client_id", "batch")],
                (StatusCode::UNAUTHORIZED, "invalid_client"),
            ),
            (
                vec![
                    ("grant_type", "client_credentials"),
                    ("client_id", "batch"),
                    ("client_secret", BATCH_SECRET),
                    ("scope", "admin"),
                ],
                (StatusCode::BAD_REQUEST, "invalid_scope"),
            ),
            (
                vec![("grant_type", "client_credentials"), ("client_id", "spa")],
                (StatusCode::BAD_REQUEST, "unauthorized_client"),
            ),
            (
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", "x"),
                    ("client_id", "batch"),
                    ("client_secret", BATCH_SECRET),
                ],
                (StatusCode::BAD_REQUEST, "unauthorized_client"),
            ),
        ] {
            let (status, body) = token(&app, &form).await;
            assert_eq!(
                (status, body["error"].as_str().unwrap_or_default()),
                expected,
                "{form:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn revoking_a_token_or_signing_out_ends_the_grant() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let revoke = async |token: &str| {
            reqwest::Client::new()
                .post(format!("{}/oauth2/revoke", app.base))
                .form(&[("token", token), ("client_id", "spa")])
                .send()
                .await
                .expect("revoke")
                .status()
        };
        // RFC 7009: the refresh token revokes its grant, and its access tokens with it.
        let code = code_for(&mut alice, &app).await;
        let (_, tokens) = exchange(&app, &code).await;
        let refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        let access = tokens["access_token"].as_str().expect("access").to_owned();
        assert_eq!(revoke(&refresh).await, StatusCode::OK);
        assert_eq!(userinfo(&app, &access).await.0, StatusCode::UNAUTHORIZED);
        let (_, refused) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "spa"),
            ],
        )
        .await;
        assert_eq!(refused["error"], "invalid_grant");
        // Unknown tokens change nothing and say nothing.
        assert_eq!(revoke("no-such-token").await, StatusCode::OK);
        // Signing out of Vestibule ends the grants made in that session.
        let code = code_for(&mut alice, &app).await;
        let (_, tokens) = exchange(&app, &code).await;
        let refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        let page = alice.get("/account").await;
        let signed_out = alice
            .post("/sign-out", &[("csrf_token", &page.csrf())])
            .await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
        let (_, refused) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "spa"),
            ],
        )
        .await;
        assert_eq!(refused["error"], "invalid_grant");
    })
    .await;
}

#[tokio::test]
async fn cors_answers_listed_origins_exactly_and_nobody_else() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let http = reqwest::Client::new();
        for (origin, allowed) in [
            ("https://spa.example", true),
            ("https://evil.example", false),
        ] {
            let response = http
                .post(format!("{}/oauth2/token", app.base))
                .header("origin", origin)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("client_id", "spa"),
                ])
                .send()
                .await
                .expect("token");
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let acao = response
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            assert_eq!(acao.as_deref(), allowed.then_some(origin), "{origin}");
            assert!(
                response
                    .headers()
                    .get("access-control-allow-credentials")
                    .is_none()
            );
            let preflight = http
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{}/oauth2/userinfo", app.base),
                )
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .send()
                .await
                .expect("preflight");
            assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
            assert_eq!(
                preflight
                    .headers()
                    .contains_key("access-control-allow-headers"),
                allowed,
                "{origin}"
            );
            assert_eq!(
                preflight
                    .headers()
                    .get("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap_or_default().to_owned())
                    .as_deref(),
                allowed.then_some(origin)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn an_address_that_keeps_failing_at_the_token_endpoint_is_throttled() {
    each_backend(async |store| {
        let app = spawn(store).await;
        // A confidential client, whose request-rate bucket (400) outlasts the failure count.
        let guess = [
            ("grant_type", "authorization_code"),
            ("code", "guess"),
            ("redirect_uri", PORTAL_REDIRECT),
            ("client_id", "portal"),
            ("client_secret", PORTAL_SECRET),
        ];
        for _ in 0..100 {
            let (status, body) = token(&app, &guess).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_grant"))
            );
        }
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", app.base))
            .form(&guess)
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "temporarily_unavailable");
    })
    .await;
}

mod journeys;
mod replicas;
mod rotation;

#[tokio::test]
async fn a_client_that_floods_the_token_endpoint_is_rate_limited_per_address() {
    each_backend(async |store| {
        let app = spawn(store).await;
        // A public client from one address: its bucket runs dry long before the failure
        // counter's 100 (which these also feed).
        let flood = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "not-a-token"),
            ("client_id", "spa"),
        ];
        // Sent at once, so the bucket's refill (20 a second) cannot keep up.
        let http = reqwest::Client::new();
        let statuses = futures::future::join_all((0..90).map(|_| {
            let request = http
                .post(format!("{}/oauth2/token", app.base))
                .form(&flood)
                .send();
            async move {
                let response = request.await.expect("token");
                (
                    response.status(),
                    response.headers().contains_key("retry-after"),
                )
            }
        }))
        .await;
        let limited = statuses
            .iter()
            .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(limited > 0, "some of 90 requests at once are rate limited");
        assert!(limited <= 50, "the burst of 40 passes: {limited} limited");
        assert!(
            statuses
                .iter()
                .all(|(status, retry)| *status == StatusCode::BAD_REQUEST
                    || (*status == StatusCode::TOO_MANY_REQUESTS && *retry)),
            "{statuses:?}"
        );
        // Another client from the same address is not held up by it.
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "batch"),
                ("client_secret", BATCH_SECRET),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
}

#[tokio::test]
async fn tokens_speak_for_the_active_organization_and_a_role_change_shows_in_the_next_one() {
    use crate::organizations::{accept, create, invite};
    each_backend(async |store| {
        let app = spawn_app_with_secrets(
            store,
            |config| {
                config.organizations.enabled = true;
                config.applications.push(spa());
            },
            |config| {
                let json = keys(config).to_json().expect("json");
                vec![(
                    "signing-keys.json".into(),
                    String::from_utf8(json).expect("utf-8"),
                )]
            },
        )
        .await;
        let mut ada = signed_up(&app, "ada@example.com").await;
        create(&mut ada, "acme").await;
        create(&mut ada, "globex").await;
        let link = invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        accept(&mut bob, &link).await;
        let keys = published_keys(&app).await;
        let now = || k8s_openapi::jiff::Timestamp::now().as_millisecond();

        // Bob works in acme (he just accepted): his tokens say so.
        let code = code_for(&mut bob, &app).await;
        let (status, tokens) = exchange(&app, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let at = jws::verify(&keys, tokens["access_token"].as_str().expect("at"), now())
            .expect("verifies");
        assert_eq!(at.claims["org_slug"], "acme");
        assert_eq!(at.claims["org_role"], "member");
        assert_eq!(at.claims["org_permissions"], serde_json::json!([]));
        let id =
            jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now()).expect("verifies");
        assert_eq!(id.claims["org_id"], at.claims["org_id"]);

        // Ada makes him an admin: the next token (a refresh) carries the new role at once.
        let bob_id = at.claims["sub"].as_str().expect("sub").to_owned();
        let page = crate::organizations::act(
            &mut ada,
            "acme",
            "members/role",
            &[("user_id", &bob_id), ("role", "admin")],
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let refresh = tokens["refresh_token"].as_str().expect("refresh");
        let (status, next) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", "spa"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{next}");
        let access = next["access_token"].as_str().expect("at");
        let at = jws::verify(&keys, access, now()).expect("verifies");
        assert_eq!(at.claims["org_role"], "admin");
        let (status, info) = userinfo(&app, access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info.expect("claims")["org_role"], "admin");

        // Ada's session works in globex (created last); `organization=acme` asks for acme.
        let code = code_for(&mut ada, &app).await;
        let (_, tokens) = exchange(&app, &code).await;
        let at = jws::verify(&keys, tokens["access_token"].as_str().expect("at"), now())
            .expect("verifies");
        assert_eq!(at.claims["org_slug"], "globex");
        let page = ada.get(&authorize_path(&[("organization", "acme")])).await;
        let query = redirect_query(page.location());
        let (_, tokens) = exchange(&app, param(&query, "code").expect("code")).await;
        let at = jws::verify(&keys, tokens["access_token"].as_str().expect("at"), now())
            .expect("verifies");
        assert_eq!(at.claims["org_slug"], "acme");
        assert_eq!(at.claims["org_role"], "admin");
        // That grant only: her session still works in globex.
        let session = ada.get("/session").await;
        assert!(
            session.body.contains("\"orgSlug\":\"globex\""),
            "{}",
            session.body
        );

        // Bob is not in globex: no code, `access_denied` back to the client.
        let page = bob
            .get(&authorize_path(&[("organization", "globex")]))
            .await;
        let query = redirect_query(page.location());
        assert_eq!(param(&query, "error"), Some("access_denied"));
        assert_eq!(param(&query, "code"), None);
    })
    .await;
}

/// An attribute value as the browser reads it (minijinja escapes `/` and `&`).
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn an_application_that_requires_an_organization_has_the_user_pick_or_create_one_first() {
    each_backend(async |store| {
        let app = spawn_app_with_secrets(
            store,
            |config| {
                config.organizations.enabled = true;
                config.applications.push(ApplicationConfig {
                    require_organization: true,
                    ..spa()
                });
            },
            |config| {
                let json = keys(config).to_json().expect("json");
                vec![(
                    "signing-keys.json".into(),
                    String::from_utf8(json).expect("utf-8"),
                )]
            },
        )
        .await;
        let keys = published_keys(&app).await;
        let now = || k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let mut ada = signed_up(&app, "ada@example.com").await;

        // No organization yet: prompt=none cannot ask, so the client hears why.
        let page = ada.get(&authorize_path(&[("prompt", "none")])).await;
        let query = redirect_query(page.location());
        assert_eq!(param(&query, "error"), Some("interaction_required"));

        // Otherwise the picker, which offers to create one and comes back to the request.
        let page = ada.get(&authorize_path(&[])).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let picker = page.location().to_owned();
        assert!(
            picker.starts_with("/organizations?redirect_url=%2Foauth2%2Fauthorize%3F"),
            "{picker}"
        );
        let form = ada.get(&picker).await;
        let back = unescape(&crate::app::field_value(&form.body, "redirect_url").expect("carried"));
        let page = ada
            .post(
                "/organizations",
                &[
                    ("csrf_token", &form.csrf()),
                    ("name", "Acme"),
                    ("slug", "acme"),
                    ("redirect_url", &back),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(
            page.location().starts_with("/oauth2/authorize?"),
            "{}",
            page.location()
        );
        let page = ada.get(page.location()).await;
        let query = redirect_query(page.location());
        let (_, tokens) = exchange(&app, param(&query, "code").expect("a code")).await;
        let at = jws::verify(&keys, tokens["access_token"].as_str().expect("at"), now())
            .expect("verifies");
        assert_eq!(at.claims["org_slug"], "acme");

        // Back in her personal account, she picks among hers.
        let token = ada.get("/organizations").await.csrf();
        ada.post(
            "/organizations/switch",
            &[("csrf_token", &token), ("organization_id", "")],
        )
        .await;
        let page = ada.get(&authorize_path(&[])).await;
        let picker = page.location().to_owned();
        assert!(
            picker.starts_with("/organizations?redirect_url="),
            "{picker}"
        );
        let list = ada.get(&picker).await;
        assert!(
            list.body.contains("Continue with this organization"),
            "{}",
            list.body
        );
        let id = crate::app::field_value(&list.body, "organization_id").expect("a choice");
        let back = unescape(&crate::app::field_value(&list.body, "redirect_url").expect("carried"));
        let page = ada
            .post(
                "/organizations/switch",
                &[
                    ("csrf_token", &list.csrf()),
                    ("organization_id", &id),
                    ("redirect_url", &back),
                ],
            )
            .await;
        assert!(
            page.location().starts_with("/oauth2/authorize?"),
            "{}",
            page.location()
        );
        let page = ada.get(page.location()).await;
        assert!(param(&redirect_query(page.location()), "code").is_some());

        // Bob, a member of acme, is removed: his refresh token gets no organization-less
        // tokens from this application, only invalid_grant.
        let link =
            crate::organizations::invite(&app, &mut ada, "acme", "bob@example.com", "member").await;
        let mut bob = signed_up(&app, "bob@example.com").await;
        crate::organizations::accept(&mut bob, &link).await;
        let code = code_for(&mut bob, &app).await;
        let (status, tokens) = exchange(&app, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let bob_id = jws::verify(&keys, tokens["access_token"].as_str().expect("at"), now())
            .expect("verifies")
            .claims["sub"]
            .as_str()
            .expect("sub")
            .to_owned();
        let page =
            crate::organizations::act(&mut ada, "acme", "members/remove", &[("user_id", &bob_id)])
                .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let (status, refused) = self::token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    tokens["refresh_token"].as_str().expect("refresh"),
                ),
                ("client_id", "spa"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["error"], "invalid_grant");
    })
    .await;
}
