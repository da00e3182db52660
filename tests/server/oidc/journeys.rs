//! The user-facing legs of the OpenID flow: consent (asked, remembered, listed and revoked on
//! `/account`), signing in again for `prompt=login` / `max_age`, `login_hint`, RP-initiated
//! logout, and introspection for resource servers.

use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use crate::app::{Client, PASSWORD};

/// Undoes the pages' HTML escaping of an attribute value.
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the input named `name` (whatever attributes come between), unescaped.
fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let tag_end = html[start..].find('>')? + start;
    let tag = &html[start..tag_end];
    let value = tag.split("value=\"").nth(1)?;
    Some(unescape(&value[..value.find('"')?]))
}

fn portal_path(extra: &[(&str, &str)]) -> String {
    authorize_with(
        vec![
            ("response_type", "code"),
            ("client_id", "portal"),
            ("redirect_uri", PORTAL_REDIRECT),
            ("scope", "openid email"),
            ("state", "p-1"),
            ("nonce", "pn-1"),
        ],
        extra,
    )
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .expect("absolute url")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Tokens for the portal (confidential, client_secret_basic) through the signed-in `client`.
async fn portal_tokens(app: &TestApp, client: &mut Client) -> Value {
    let page = client.get(&portal_path(&[])).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(
        page.location().starts_with(PORTAL_REDIRECT),
        "{}",
        page.location()
    );
    let query = query_of(page.location());
    let code = param(&query, "code").expect("a code");
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/token", app.base))
        .basic_auth("portal", Some(PORTAL_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

async fn introspect(app: &TestApp, who: (&str, Option<&str>), token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", app.base))
        .basic_auth(who.0, who.1)
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn introspection_tells_a_confidential_client_about_its_live_tokens_only() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let tokens = portal_tokens(&app, &mut alice).await;
        let access = tokens["access_token"].as_str().expect("access");
        let refresh = tokens["refresh_token"].as_str().expect("refresh");
        let portal = ("portal", Some(PORTAL_SECRET));

        let (status, live) = introspect(&app, portal, access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(live["active"], true, "{live}");
        assert_eq!(live["token_type"], "access_token");
        assert_eq!(live["client_id"], "portal");
        assert_eq!(live["scope"], "openid email");
        assert_eq!(live["iss"], app.base.as_str());
        assert!(
            live["sub"].as_str().is_some_and(|s| !s.contains('@')),
            "opaque sub"
        );
        let (_, live) = introspect(&app, portal, refresh).await;
        assert_eq!(live["active"], true, "{live}");
        assert_eq!(live["token_type"], "refresh_token");

        // Another client learns nothing about the portal's tokens; public clients cannot ask.
        let batch = ("batch", Some(BATCH_SECRET));
        assert_eq!(
            introspect(&app, batch, access).await.1,
            serde_json::json!({"active": false})
        );
        assert_eq!(introspect(&app, batch, refresh).await.1["active"], false);
        let (status, body) = introspect(&app, ("spa", None), access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
        let (status, _) = introspect(&app, ("portal", Some("wrong")), access).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(introspect(&app, portal, "garbage").await.1["active"], false);
        // An ID token is not an access token.
        let id_token = tokens["id_token"].as_str().expect("id token");
        assert_eq!(introspect(&app, portal, id_token).await.1["active"], false);

        // A machine token introspected by its own client.
        let (_, machine) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "batch"),
                ("client_secret", BATCH_SECRET),
                ("scope", "reports:read"),
            ],
        )
        .await;
        let machine_token = machine["access_token"].as_str().expect("m2m token");
        let (_, live) = introspect(&app, batch, machine_token).await;
        assert_eq!(live["active"], true);
        assert_eq!(live["sub"], "batch");

        // Revoked: both tokens of the grant are inactive.
        let revoked = reqwest::Client::new()
            .post(format!("{}/oauth2/revoke", app.base))
            .basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("token", refresh)])
            .send()
            .await
            .expect("revoke");
        assert_eq!(revoked.status(), StatusCode::OK);
        assert_eq!(introspect(&app, portal, access).await.1["active"], false);
        assert_eq!(introspect(&app, portal, refresh).await.1["active"], false);
    })
    .await;
}

async fn session_status(app: &TestApp, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/session", app.base))
        .header("cookie", format!("__Host-vestibule_session={token}"))
        .send()
        .await
        .expect("session")
        .status()
}

#[tokio::test]
async fn end_session_with_a_hint_signs_out_and_returns_only_to_a_registered_address() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let tokens = portal_tokens(&app, &mut alice).await;
        let id_token = tokens["id_token"].as_str().expect("id token");
        let access = tokens["access_token"].as_str().expect("access");
        let session = alice.session().expect("session").clone();
        let end = |pairs: &[(&str, &str)]| {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            format!("/oauth2/end-session?{query}")
        };

        // Refused without redirecting, and nobody is signed out: an unregistered address, a
        // hint that is not an ID token, a client that is not the hint's.
        for (pairs, why) in [
            (
                vec![
                    ("id_token_hint", id_token),
                    ("post_logout_redirect_uri", "https://portal.example/bye/"),
                ],
                "trailing slash",
            ),
            (
                vec![
                    ("id_token_hint", id_token),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ],
                "other host",
            ),
            (vec![("id_token_hint", access)], "an access token as hint"),
            (
                vec![("id_token_hint", id_token), ("client_id", "spa")],
                "another client",
            ),
        ] {
            let page = alice.get(&end(&pairs)).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{why}");
            assert!(page.headers.get("location").is_none(), "{why}");
            assert_eq!(
                session_status(&app, &session).await,
                StatusCode::OK,
                "{why}"
            );
        }

        let page = alice
            .get(&end(&[
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", PORTAL_BYE),
                ("state", "bye 1"),
            ]))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "https://portal.example/bye?state=bye+1");
        assert!(alice.session().is_none(), "the cookie is cleared");
        assert_eq!(
            session_status(&app, &session).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            introspect(&app, ("portal", Some(PORTAL_SECRET)), access)
                .await
                .1["active"],
            false,
            "the session's grants end with it"
        );
    })
    .await;
}

#[tokio::test]
async fn end_session_without_a_hint_asks_the_user_to_confirm() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let session = alice.session().expect("session").clone();
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", "portal"),
                ("post_logout_redirect_uri", PORTAL_BYE),
                ("state", "s9"),
            ])
            .finish();
        let page = alice.get(&format!("/oauth2/end-session?{query}")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let confirm = page.location().to_owned();
        assert!(confirm.starts_with("/sign-out?"), "{confirm}");
        assert_eq!(
            session_status(&app, &session).await,
            StatusCode::OK,
            "not yet"
        );

        let page = alice.get(&confirm).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Portal asks to sign you out"),
            "{}",
            page.body
        );
        assert_eq!(
            input_value(&page.body, "post_logout_redirect_uri").as_deref(),
            Some(PORTAL_BYE)
        );
        // A cross-site form cannot confirm for the user.
        let forged = alice
            .post_with(
                "/sign-out",
                &[
                    ("client_id", "portal"),
                    ("post_logout_redirect_uri", PORTAL_BYE),
                ],
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(session_status(&app, &session).await, StatusCode::OK);

        let token = page.csrf();
        let done = alice
            .post(
                "/sign-out",
                &[
                    ("csrf_token", &token),
                    ("client_id", "portal"),
                    ("post_logout_redirect_uri", PORTAL_BYE),
                    ("state", "s9"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        assert_eq!(done.location(), "https://portal.example/bye?state=s9");
        assert_eq!(
            session_status(&app, &session).await,
            StatusCode::UNAUTHORIZED
        );

        // The confirmation form cannot be turned into an open redirect.
        let mut bob = signed_up(&app, "bob@example.com").await;
        let token = bob.get("/account").await.csrf();
        let page = bob
            .post(
                "/sign-out",
                &[
                    ("csrf_token", &token),
                    ("client_id", "portal"),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.headers.get("location").is_none());
    })
    .await;
}

fn partner_path(extra: &[(&str, &str)]) -> String {
    authorize_with(
        vec![
            ("response_type", "code"),
            ("client_id", "partner"),
            ("redirect_uri", PARTNER_REDIRECT),
            ("scope", "openid email"),
            ("state", "t-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        extra,
    )
}

#[tokio::test]
async fn consent_is_asked_remembered_listed_on_the_account_page_and_revocable() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;

        let page = alice.get(&partner_path(&[("prompt", "none")])).await;
        let query = query_of(page.location());
        assert_eq!(param(&query, "error"), Some("consent_required"));
        assert_eq!(param(&query, "state"), Some("t-1"));

        let page = alice.get(&partner_path(&[])).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let consent = page.location().to_owned();
        assert!(consent.starts_with("/consent?"), "{consent}");
        let page = alice.get(&consent).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains("Partner Tool wants to access your account"),
            "{}",
            page.body
        );
        assert!(page.body.contains("See your email address"));
        let request = input_value(&page.body, "request").expect("the request");
        let csrf = page.csrf();

        // Denied: the client hears access_denied, with its state.
        let denied = alice
            .post(
                "/consent",
                &[
                    ("csrf_token", &csrf),
                    ("request", &request),
                    ("decision", "deny"),
                ],
            )
            .await;
        let query = query_of(denied.location());
        assert!(denied.location().starts_with(PARTNER_REDIRECT));
        assert_eq!(param(&query, "error"), Some("access_denied"));
        assert_eq!(param(&query, "state"), Some("t-1"));
        assert_eq!(param(&query, "iss"), Some(app.base.as_str()));

        // Without the CSRF token, nothing is allowed.
        let forged = alice
            .post("/consent", &[("request", &request), ("decision", "allow")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(
            alice
                .get(&partner_path(&[]))
                .await
                .location()
                .starts_with("/consent?")
        );

        // Allowed: back to the authorization request, which now issues a code.
        let allowed = alice
            .post(
                "/consent",
                &[
                    ("csrf_token", &csrf),
                    ("request", &request),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert_eq!(allowed.status, StatusCode::SEE_OTHER);
        assert!(
            allowed.location().starts_with("/oauth2/authorize?"),
            "{}",
            allowed.location()
        );
        let page = alice.get(allowed.location()).await;
        let query = query_of(page.location());
        let code = param(&query, "code")
            .expect("a code after consent")
            .to_owned();
        let (status, tokens) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PARTNER_REDIRECT),
                ("client_id", "partner"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();

        // Remembered: no page the second time; prompt=consent asks again.
        let page = alice.get(&partner_path(&[])).await;
        assert!(
            page.location().starts_with(PARTNER_REDIRECT),
            "{}",
            page.location()
        );
        let page = alice.get(&partner_path(&[("prompt", "consent")])).await;
        assert!(page.location().starts_with("/consent?"));

        // Listed on /account, and revocable there: the client's refresh tokens stop working.
        let account = alice.get("/account").await;
        assert!(account.body.contains("Partner Tool"), "{}", account.body);
        let token_field = account.csrf();
        let revoked = alice
            .post(
                "/account/apps/revoke",
                &[("csrf_token", &token_field), ("client_id", "partner")],
            )
            .await;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER);
        assert!(!alice.get("/account").await.body.contains("Partner Tool"));
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", "partner"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        assert!(
            alice
                .get(&partner_path(&[]))
                .await
                .location()
                .starts_with("/consent?")
        );
    })
    .await;
}

#[tokio::test]
async fn prompt_login_and_max_age_make_a_signed_in_user_sign_in_again() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let first = alice.session().expect("session").clone();
        for extra in [("prompt", "login"), ("max_age", "0")] {
            let page = alice.get(&authorize_path(&[extra])).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{extra:?}");
            let sign_in = page.location().to_owned();
            assert!(sign_in.starts_with("/sign-in?"), "{extra:?}: {sign_in}");
            // The form shows although a session exists, with the address filled in.
            let page = alice.get(&sign_in).await;
            assert_eq!(page.status, StatusCode::OK, "{extra:?}");
            assert_eq!(
                input_value(&page.body, "email").as_deref(),
                Some("alice@example.com")
            );
            let back = input_value(&page.body, "redirect_url").expect("redirect_url");
            let csrf = page.csrf();
            let signed = alice
                .post(
                    "/sign-in",
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("email", "alice@example.com"),
                        ("password", PASSWORD),
                        ("redirect_url", back.as_str()),
                    ],
                )
                .await;
            assert_eq!(signed.status, StatusCode::SEE_OTHER);
            assert_eq!(signed.location(), back);
            assert!(
                !back.contains("prompt=login") && !back.contains("max_age"),
                "{back}"
            );
            let page = alice.get(&back).await;
            let query = redirect_query(page.location());
            let code = param(&query, "code").expect("a code").to_owned();
            let (_, tokens) = exchange(&app, &code).await;
            let keys = published_keys(&app).await;
            let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
            let id = jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now)
                .expect("verifies");
            let auth_time = id.claims["auth_time"].as_i64().expect("auth_time");
            assert!(now / 1000 - auth_time <= 5, "a fresh sign-in: {auth_time}");
        }
        assert_ne!(alice.session(), Some(&first), "a new session each time");
        // prompt=none cannot show the form.
        let page = alice
            .get(&authorize_path(&[("prompt", "none login")]))
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let page = alice
            .get(&authorize_path(&[("prompt", "none"), ("max_age", "0")]))
            .await;
        assert_eq!(
            param(&redirect_query(page.location()), "error"),
            Some("login_required")
        );
    })
    .await;
}

#[tokio::test]
async fn ui_locales_of_the_authorize_request_beat_accept_language_through_sign_in() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut stranger = Client::new(&app);
        stranger.accept_language = Some("fr".into());
        let page = stranger
            .get(&authorize_path(&[("ui_locales", "de en")]))
            .await;
        assert!(
            page.location().starts_with("/sign-in?"),
            "{}",
            page.location()
        );
        let sign_in = stranger.get(page.location()).await;
        assert!(
            sign_in.body.contains("<html lang=\"de\""),
            "{}",
            sign_in.body
        );
        assert!(sign_in.body.contains(">Anmelden</button>"));
        // The sign-up link keeps the flow, and with it the locale.
        let sign_up = stranger
            .get(&format!(
                "/sign-up?redirect_url={}",
                url::form_urlencoded::byte_serialize(
                    authorize_path(&[("ui_locales", "de")]).as_bytes()
                )
                .collect::<String>()
            ))
            .await;
        assert!(
            sign_up.body.contains("<html lang=\"de\""),
            "{}",
            sign_up.body
        );
        // Without ui_locales, the header decides.
        let page = stranger.get(&authorize_path(&[])).await;
        let french = stranger.get(page.location()).await;
        assert!(french.body.contains("<html lang=\"fr\""), "{}", french.body);
    })
    .await;
}

#[tokio::test]
async fn login_hint_fills_in_the_sign_in_form() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut stranger = Client::new(&app);
        let page = stranger
            .get(&authorize_path(&[("login_hint", "bob@example.com")]))
            .await;
        let page = stranger.get(page.location()).await;
        assert_eq!(
            input_value(&page.body, "email").as_deref(),
            Some("bob@example.com")
        );
        // Only an email address is used.
        let page = stranger
            .get(&authorize_path(&[("login_hint", "\"><script>")]))
            .await;
        let page = stranger.get(page.location()).await;
        assert_eq!(input_value(&page.body, "email").as_deref(), Some(""));
    })
    .await;
}

#[tokio::test]
async fn userinfo_refuses_forged_tokens_with_a_bearer_challenge() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let (_, tokens) = exchange(&app, &code_for(&mut alice, &app).await).await;
        let genuine = tokens["access_token"].as_str().expect("access").to_owned();
        assert_eq!(userinfo(&app, &genuine).await.0, StatusCode::OK);
        let mut parts = genuine.split('.');
        let (header, payload) = (
            parts.next().expect("header"),
            parts.next().expect("payload"),
        );
        let header: Value =
            serde_json::from_slice(&B64.decode(header).expect("b64")).expect("json");
        let kid = header["kid"].as_str().expect("kid").to_owned();
        let encode = |v: &Value| B64.encode(serde_json::to_vec(v).expect("json"));

        let none = format!(
            "{}.{payload}.",
            encode(&serde_json::json!({"alg": "none", "kid": kid, "typ": "at+jwt"}))
        );
        // HS256 keyed with the published public key: the algorithm-confusion attack.
        let jwks = jwks_document(&app).await;
        let public = serde_json::to_vec(&jwks["keys"][0]).expect("json");
        let hs_input = format!(
            "{}.{payload}",
            encode(&serde_json::json!({"alg": "HS256", "kid": kid, "typ": "at+jwt"}))
        );
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &public),
            hs_input.as_bytes(),
        );
        let hs256 = format!("{hs_input}.{}", B64.encode(mac.as_ref()));
        // The same claims signed by a key this server never published, under its own kid and
        // under the server's.
        let stranger = vestibule::crypto::keys::SigningKey::generate(
            vestibule::crypto::keys::SigningAlgorithm::ES256,
            0,
            0,
        )
        .expect("key");
        let claims: Value =
            serde_json::from_slice(&B64.decode(payload).expect("b64")).expect("json");
        let unknown_kid = jws::sign(&stranger, "at+jwt", &claims).expect("signs");
        let mut borrowed = unknown_kid.split('.');
        let _ = borrowed.next();
        let wrong_key = format!(
            "{}.{}",
            encode(&serde_json::json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"})),
            borrowed.collect::<Vec<_>>().join(".")
        );
        let id_token = tokens["id_token"].as_str().expect("id").to_owned();
        for (token, why) in [
            (none, "alg none"),
            (hs256, "HS256 with the public key"),
            (unknown_kid, "unknown kid"),
            (wrong_key, "another key under our kid"),
            (id_token, "an ID token"),
        ] {
            let response = reqwest::Client::new()
                .get(format!("{}/oauth2/userinfo", app.base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("userinfo");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer error=\"invalid_token\""),
                "{why}"
            );
        }
        // No token at all: a bare challenge.
        let response = reqwest::get(format!("{}/oauth2/userinfo", app.base))
            .await
            .expect("userinfo");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    })
    .await;
}

#[tokio::test]
async fn a_listed_resource_becomes_the_access_tokens_audience_and_nothing_else_does() {
    each_backend(async |store| {
        let app = spawn(store).await;
        let mut alice = signed_up(&app, "alice@example.com").await;
        let api = "https://api.portal.example";

        // Not listed for the portal: back to the client with invalid_target.
        let page = alice
            .get(&portal_path(&[("resource", "https://evil.example")]))
            .await;
        let query = query_of(page.location());
        assert_eq!(param(&query, "error"), Some("invalid_target"));
        assert_eq!(param(&query, "state"), Some("p-1"));

        let exchange_with = async |client: &mut Client, at_token: Option<&str>| {
            let page = client.get(&portal_path(&[("resource", api)])).await;
            let query = query_of(page.location());
            let code = param(&query, "code").expect("a code").to_owned();
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", PORTAL_REDIRECT),
            ];
            if let Some(resource) = at_token {
                form.push(("resource", resource));
            }
            let response = reqwest::Client::new()
                .post(format!("{}/oauth2/token", app.base))
                .basic_auth("portal", Some(PORTAL_SECRET))
                .form(&form)
                .send()
                .await
                .expect("token");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        };
        let (status, tokens) = exchange_with(&mut alice, Some(api)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let keys = published_keys(&app).await;
        let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        let access = tokens["access_token"].as_str().expect("access");
        let at = jws::verify(&keys, access, now).expect("verifies");
        assert_eq!(at.claims["aud"], api, "the API is the audience");
        assert_eq!(at.claims["client_id"], "portal");
        let id = jws::verify(&keys, tokens["id_token"].as_str().expect("id"), now).expect("id");
        assert_eq!(
            id.claims["aud"], "portal",
            "the ID token stays the client's"
        );
        // The refresh keeps the resource; asking for another one at the token endpoint fails.
        let refresh = tokens["refresh_token"].as_str().expect("refresh");
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", app.base))
            .basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("resource", "https://evil.example"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_target");
        let (_, again) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", "portal"),
                ("client_secret", PORTAL_SECRET),
            ],
        )
        .await;
        let at = jws::verify(&keys, again["access_token"].as_str().expect("access"), now)
            .expect("verifies");
        assert_eq!(at.claims["aud"], api, "refreshed tokens keep the audience");

        // A machine client may not name a resource it does not list.
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "batch"),
                ("client_secret", BATCH_SECRET),
                ("resource", api),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target"))
        );
    })
    .await;
}
