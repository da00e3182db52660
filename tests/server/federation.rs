//! Social sign-in against loopback emulators of the providers' shapes (the certified upstream,
//! oidc-provider, is driven in a real browser by tests/browser/social-sign-in.test.mjs).
//!
//! `github`: GitHub's authorize, token, `/user` and `/user/emails`, checking what GitHub checks
//! (client secret, redirect URI, PKCE S256) — the linking rule both ways, proof of ownership, the
//! last way to sign in, linking from `/account`, and the flow's expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::app::{Client, PASSWORD, TestApp, last_mail, signed_up, spawn_app_with};
use super::support::each_backend;

/// A loopback listener for an emulated provider, and its base URL.
async fn loopback() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    (listener, base)
}

/// Serves an emulated provider in the background.
fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// Follows the provider's redirect back to Vestibule's callback in `client`.
async fn callback(client: &mut Client, back: &str) -> super::app::Page {
    let path = back
        .strip_prefix(&client.base)
        .expect("back to vestibule")
        .to_owned();
    client.get(&path).await
}

/// The quickstart's GitHub client (its secret is `test-secret` in the test app).
const GITHUB_CLIENT: &str = "Iv1.0123456789abcdef";

/// Who the emulated GitHub says is signing in.
#[derive(Clone)]
struct Person {
    id: u64,
    login: String,
    /// `(email, primary, verified)`
    emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
struct GithubState {
    person: Option<Person>,
    /// code → (code_challenge, redirect_uri, person)
    codes: HashMap<String, (String, String, Person)>,
    /// access token → person
    tokens: HashMap<String, Person>,
    /// The authorization requests seen (query pairs).
    authorize_requests: Vec<HashMap<String, String>>,
    /// The token endpoint answers only after longer than Vestibule waits.
    slow: bool,
}

#[derive(Clone)]
struct Github {
    base: String,
    state: Arc<Mutex<GithubState>>,
}

impl Github {
    async fn start() -> Github {
        let (listener, base) = loopback().await;
        let github = Github {
            base,
            state: Arc::default(),
        };
        let app = Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_token))
            .route("/user", get(gh_user))
            .route("/user/emails", get(gh_emails))
            .with_state(github.clone());
        serve(listener, app);
        github
    }

    fn signs_in(&self, person: Person) {
        self.state.lock().expect("lock").person = Some(person);
    }
}

/// GitHub's authorize: the person approves at once; back to the redirect URI with a code.
async fn gh_authorize(
    State(gh): State<Github>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = gh.state.lock().expect("lock");
    state.authorize_requests.push(q.clone());
    let (Some(person), Some(redirect_uri)) = (state.person.clone(), q.get("redirect_uri")) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(GITHUB_CLIENT)
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let code = format!("code-{}", rand::random::<u64>());
    state.codes.insert(
        code.clone(),
        (
            q.get("code_challenge").cloned().unwrap_or_default(),
            redirect_uri.clone(),
            person,
        ),
    );
    let mut back = url::Url::parse(redirect_uri).expect("redirect uri");
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.get("state").map_or("", String::as_str));
    Redirect::to(back.as_str()).into_response()
}

/// GitHub's token endpoint: secret in the form, PKCE checked, JSON when asked for.
async fn gh_token(State(gh): State<Github>, Form(f): Form<HashMap<String, String>>) -> Response {
    let slow = gh.state.lock().expect("lock").slow;
    if slow {
        tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    }
    let mut state = gh.state.lock().expect("lock");
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != GITHUB_CLIENT || field("client_secret") != "test-secret" {
        return Json(json!({"error": "incorrect_client_credentials"})).into_response();
    }
    let Some((challenge, redirect_uri, person)) = state.codes.remove(field("code")) else {
        return Json(json!({"error": "bad_verification_code"})).into_response();
    };
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(field("code_verifier").as_bytes()));
    if computed != challenge || redirect_uri != field("redirect_uri") {
        return Json(json!({"error": "bad_verification_code"})).into_response();
    }
    let token = format!("gho_{}", rand::random::<u64>());
    state.tokens.insert(token.clone(), person);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

fn bearer(state: &GithubState, headers: &HeaderMap) -> Option<Person> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state.tokens.get(token).cloned()
}

async fn gh_user(State(gh): State<Github>, headers: HeaderMap) -> Response {
    let state = gh.state.lock().expect("lock");
    match bearer(&state, &headers) {
        // `email` is the public address, often null: the verified one comes from /user/emails.
        Some(p) => Json(
            json!({"id": p.id, "login": p.login, "email": null, "name": p.login,
                              "avatar_url": format!("https://avatars.example/{}", p.id)}),
        )
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn gh_emails(State(gh): State<Github>, headers: HeaderMap) -> Response {
    let state = gh.state.lock().expect("lock");
    match bearer(&state, &headers) {
        Some(p) => {
            let list: Vec<Value> = p
                .emails
                .iter()
                .map(|(email, primary, verified)| {
                    json!({"email": email, "primary": primary, "verified": verified, "visibility": null})
                })
                .collect();
            Json(Value::Array(list)).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The test app with the quickstart's GitHub provider pointed at the emulator.
async fn app_with_github(store: vestibule::store::Store, github: &Github) -> TestApp {
    app_with_github_and(store, github, |_| {}).await
}

/// [`app_with_github`], with the config further changed by `tweak`.
async fn app_with_github_and(
    store: vestibule::store::Store,
    github: &Github,
    tweak: impl FnOnce(&mut vestibule::config::RuntimeConfig),
) -> TestApp {
    let base = github.base.clone();
    spawn_app_with(store, move |config| {
        tweak(config);
        let provider = config
            .providers
            .iter_mut()
            .find(|p| p.slug == "github")
            .expect("quickstart has github");
        provider.authorization_endpoint = Some(format!("{base}/login/oauth/authorize"));
        provider.token_endpoint = Some(format!("{base}/login/oauth/access_token"));
        provider.userinfo_endpoint = Some(format!("{base}/user"));
    })
    .await
}

fn person(id: u64, email: &str, verified: bool) -> Person {
    Person {
        id,
        login: format!("user{id}"),
        emails: vec![
            ("noreply@users.github.example".into(), false, true),
            (email.into(), true, verified),
        ],
    }
}

/// Clicks the GitHub button (its `href`), lets the emulator approve, and follows the callback:
/// the callback's response.
async fn through_github(client: &mut Client, start: &str) -> super::app::Page {
    let page = client.get(start).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let back = bounce(page.location()).await;
    callback(client, &back).await
}

/// An account for `email`, and a browser whose GitHub sign-in (with that address, unverified)
/// landed on the proof page: the account's user id and that browser.
async fn at_proof_page(app: &TestApp, github: &Github, id: u64, email: &str) -> (Value, Client) {
    let mut owner = signed_up(app, email).await;
    let owner_id = who(&mut owner).await["userId"].clone();
    github.signs_in(person(id, email, false));
    let mut browser = Client::new(app);
    let page = through_github(&mut browser, "/oauth/github/start").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/oauth/link");
    assert!(browser.session().is_none(), "no session before the proof");
    (owner_id, browser)
}

async fn who(client: &mut Client) -> Value {
    serde_json::from_str(&client.get("/session").await.body).expect("json")
}

#[tokio::test]
async fn a_verified_primary_address_links_to_the_existing_account_and_pkce_reaches_github() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let mut owner = signed_up(&app, "octo@example.com").await;
        let owner_id = who(&mut owner).await["userId"].clone();

        // The sign-in page shows the button; it starts the flow.
        let sign_in = Client::new(&app).get("/sign-in").await;
        assert!(
            sign_in.body.contains(
                r#"data-provider="github" data-provider-type="github" href="&#x2f;oauth&#x2f;github&#x2f;start"><span data-part="button.social-icon" aria-hidden="true">G</span><span>Continue with GitHub</span></a>"#
            ),
            "{}",
            sign_in.body
        );
        github.signs_in(person(101, "octo@example.com", true));
        let mut browser = Client::new(&app);
        let page = through_github(&mut browser, "/oauth/github/start").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/account");
        assert_eq!(who(&mut browser).await["userId"], owner_id);
        let notice = last_mail(&app, "octo@example.com");
        assert!(notice.subject.contains("GitHub sign-in was added"), "{}", notice.subject);

        // What GitHub was asked: PKCE S256, state, the callback, the scopes; no nonce.
        let request = github.state.lock().expect("lock").authorize_requests.last().cloned().expect("asked");
        assert_eq!(request["code_challenge_method"], "S256");
        assert_eq!(request["code_challenge"].len(), 43);
        assert_eq!(request["state"].len(), 43);
        assert_eq!(request["redirect_uri"], format!("{}/oauth/github/callback", app.base));
        assert_eq!(request["scope"], "read:user user:email");
        assert!(!request.contains_key("nonce"));

        // The flow cookie is gone, and the account page lists the identity.
        assert!(!browser.cookies.contains_key("__Host-vestibule_oauth"));
        let account = browser.get("/account").await;
        assert!(account.body.contains(r#"data-part="identity" data-provider="github""#), "{}", account.body);
    })
    .await;
}

#[tokio::test]
async fn a_provider_sign_in_honours_a_required_mfa_policy() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github_and(store, &github, |c| {
            c.mfa.enforcement = vestibule::config::runtime::MfaEnforcement::Required;
        })
        .await;
        github.signs_in(person(202, "fed-mfa@example.com", true));
        let mut browser = Client::new(&app);
        let page = through_github(&mut browser, "/oauth/github/start").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(
            page.location(),
            "/sign-in/enrol",
            "enrolment before any session"
        );
        assert!(browser.session().is_none());
        let enrol = browser.get("/sign-in/enrol").await;
        let secret = crate::mfa::secret_in(&enrol.body);
        let done = browser
            .post(
                "/sign-in/enrol",
                &[
                    ("csrf_token", &enrol.csrf()),
                    ("code", &crate::mfa::code_now(&app, &secret)),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(browser.session().is_some());
        // The next provider sign-in asks for the app's code.
        let token = browser.get("/account").await.csrf();
        browser.post("/sign-out", &[("csrf_token", &token)]).await;
        let again = through_github(&mut browser, "/oauth/github/start").await;
        assert_eq!(again.location(), "/sign-in/factor");
        crate::mfa::next_step(&app);
        let ok = crate::mfa::answer(
            &mut browser,
            "totp",
            &crate::mfa::code_now(&app, &secret),
            false,
        )
        .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let session = who(&mut browser).await;
        assert!(session["userId"].is_string(), "{session}");
    })
    .await;
}

#[tokio::test]
async fn an_unverified_address_asks_for_proof_of_the_existing_account_before_linking() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let (owner_id, mut browser) = at_proof_page(&app, &github, 202, "proof@example.com").await;

        let proof = browser.get("/oauth/link").await;
        assert_eq!(proof.status, StatusCode::OK);
        assert!(proof.body.contains("p***@example.com"), "{}", proof.body);
        let csrf = proof.csrf();
        let wrong = browser
            .post(
                "/oauth/link",
                &[("csrf_token", &csrf), ("password", "not the password")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(browser.session().is_none());
        // Not linked yet: another GitHub sign-in still lands on the proof page.
        assert!(
            app.state
                .auth
                .store
                .identity_by_subject("github", "202")
                .await
                .expect("store")
                .is_none()
        );

        let right = browser
            .post(
                "/oauth/link",
                &[("csrf_token", &csrf), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
        assert_eq!(right.location(), "/account");
        assert_eq!(who(&mut browser).await["userId"], owner_id);
        // The pending link was used up.
        let again = browser
            .post(
                "/oauth/link",
                &[("csrf_token", &csrf), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);

        // Linked: the next GitHub sign-in goes straight in.
        let mut later = Client::new(&app);
        let page = through_github(&mut later, "/oauth/github/start").await;
        assert_eq!(page.location(), "/account");
        assert_eq!(who(&mut later).await["userId"], owner_id);
    })
    .await;
}

#[tokio::test]
async fn an_account_with_a_second_factor_links_a_provider_only_after_that_factor() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let email = "linked-mfa@example.com";
        let mut owner = signed_up(&app, email).await;
        let (secret, _) = crate::mfa::enrol_totp(&app, &mut owner).await;
        github.signs_in(person(909, email, false));
        let mut browser = Client::new(&app);
        let page = through_github(&mut browser, "/oauth/github/start").await;
        assert_eq!(page.location(), "/oauth/link");
        let proof = browser.get("/oauth/link").await;
        let proven = browser
            .post(
                "/oauth/link",
                &[("csrf_token", &proof.csrf()), ("password", PASSWORD)],
            )
            .await;
        // The password alone links nothing: the second factor comes first.
        assert_eq!(proven.location(), "/sign-in/factor");
        let linked = |app: &TestApp| {
            let store = app.state.auth.store.clone();
            async move {
                store
                    .identity_by_subject("github", "909")
                    .await
                    .expect("store")
                    .is_some()
            }
        };
        assert!(!linked(&app).await, "not linked before the second factor");
        crate::mfa::next_step(&app);
        let ok = crate::mfa::answer(
            &mut browser,
            "totp",
            &crate::mfa::code_now(&app, &secret),
            false,
        )
        .await;
        assert_eq!(ok.location(), "/oauth/link/finish");
        let finished = browser.get("/oauth/link/finish").await;
        assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.body);
        assert_eq!(finished.location(), "/account");
        assert!(linked(&app).await, "linked after the second factor");
        assert!(
            last_mail(&app, email)
                .subject
                .contains("GitHub sign-in was added")
        );
        // The pending link is used up: finishing again links nothing more.
        let again = browser.get("/oauth/link/finish").await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn a_code_mailed_to_the_existing_account_proves_it_too() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let (owner_id, mut browser) = at_proof_page(&app, &github, 707, "coded@example.com").await;
        let proof = browser.get("/oauth/link").await;
        assert!(
            proof.body.contains("Email me a code instead"),
            "{}",
            proof.body
        );
        let csrf = proof.csrf();
        let sent = browser
            .post("/oauth/link/code", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(
            sent.location(),
            "/oauth/link?sent=1",
            "{} {}",
            sent.status,
            sent.body
        );
        let mail = last_mail(&app, "coded@example.com");
        assert!(mail.subject.contains("Link GitHub"), "{}", mail.subject);
        let code = super::app::code_in(&mail.text);
        let form = browser.get("/oauth/link?sent=1").await;
        assert!(
            form.body.contains(r#"action="/oauth/link/verify""#),
            "{}",
            form.body
        );

        let wrong = if code == "000000" { "111111" } else { "000000" };
        let page = browser
            .post(
                "/oauth/link/verify",
                &[("csrf_token", &csrf), ("code", wrong)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(browser.session().is_none());
        let page = browser
            .post(
                "/oauth/link/verify",
                &[("csrf_token", &csrf), ("code", &code)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(who(&mut browser).await["userId"], owner_id);
        // Single use: the code and the pending link are spent.
        let again = browser
            .post(
                "/oauth/link/verify",
                &[("csrf_token", &csrf), ("code", &code)],
            )
            .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert!(
            app.state
                .auth
                .store
                .identity_by_subject("github", "707")
                .await
                .expect("store")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_unlinked_and_another_provider_links_from_the_account_page()
 {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        // A new account from GitHub: no password, one identity.
        github.signs_in(person(303, "new@example.com", true));
        let mut browser = Client::new(&app);
        let page = through_github(
            &mut browser,
            "/oauth/github/start?redirect_url=%2Faccount%3Fx%3D1",
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/account?x=1");
        let user = app
            .state
            .auth
            .store
            .user_by_email("new@example.com")
            .await
            .expect("store")
            .expect("created");
        assert!(user.password_hash.is_none());
        assert!(user.email_verified_at.is_some());
        // GitHub's profile, kept for the `profile` scope.
        assert_eq!(user.name.as_deref(), Some("user303"));
        assert_eq!(user.picture.as_deref(), Some("https://avatars.example/303"));

        let account = browser.get("/account").await;
        assert!(
            !account.body.contains("/account/identities/unlink"),
            "no unlink button for the last way in"
        );
        let identity = &app
            .state
            .auth
            .store
            .identities_of_user(&user.id)
            .await
            .expect("store")[0];
        let csrf = account.csrf();
        let refused = browser
            .post(
                "/account/identities/unlink",
                &[("csrf_token", &csrf), ("identity_id", &identity.id)],
            )
            .await;
        assert_eq!(refused.location(), "/account?notice=last-identity");
        assert_eq!(
            app.state
                .auth
                .store
                .identities_of_user(&user.id)
                .await
                .expect("store")
                .len(),
            1
        );

        // Without the CSRF token, linking is refused.
        let forged = browser
            .post("/account/identities/link", &[("provider", "github")])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_user_links_github_from_the_account_page_and_unlinks_it_again() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let mut owner = signed_up(&app, "linker@example.com").await;
        // GitHub's address differs from the account's: linking from /account needs no match.
        github.signs_in(person(606, "someone-else@example.org", false));
        let account = owner.get("/account").await;
        assert!(
            account
                .body
                .contains(r#"data-provider="github" type="submit">Link GitHub</button>"#),
            "{}",
            account.body
        );
        let csrf = account.csrf();
        let start = owner
            .post(
                "/account/identities/link",
                &[("csrf_token", &csrf), ("provider", "github")],
            )
            .await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let back = bounce(start.location()).await;
        let page = callback(&mut owner, &back).await;
        assert_eq!(
            page.location(),
            "/account?notice=identity-linked",
            "{}",
            page.body
        );
        let mail = last_mail(&app, "linker@example.com");
        assert!(
            mail.subject.contains("GitHub sign-in was added"),
            "{}",
            mail.subject
        );

        // Another browser signed in as someone else cannot finish this user's link flow.
        let mut other = signed_up(&app, "other@example.com").await;
        let account = other.get("/account").await;
        let start = other
            .post(
                "/account/identities/link",
                &[("csrf_token", &account.csrf()), ("provider", "github")],
            )
            .await;
        let back = bounce(start.location()).await;
        let page = callback(&mut other, &back).await;
        assert_eq!(
            page.status,
            StatusCode::CONFLICT,
            "the identity is the first user's"
        );

        // With a password left, the identity can be unlinked; a notice goes out.
        let account = owner.get("/account").await;
        let user = app
            .state
            .auth
            .store
            .user_by_email("linker@example.com")
            .await
            .expect("store")
            .expect("user");
        let identity = app
            .state
            .auth
            .store
            .identities_of_user(&user.id)
            .await
            .expect("store")[0]
            .clone();
        let page = owner
            .post(
                "/account/identities/unlink",
                &[
                    ("csrf_token", &account.csrf()),
                    ("identity_id", &identity.id),
                ],
            )
            .await;
        assert_eq!(page.location(), "/account?notice=identity-unlinked");
        assert!(
            app.state
                .auth
                .store
                .identities_of_user(&user.id)
                .await
                .expect("store")
                .is_empty()
        );
        let mail = last_mail(&app, "linker@example.com");
        assert!(
            mail.subject.contains("GitHub sign-in was removed"),
            "{}",
            mail.subject
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_or_replayed_flow_and_a_tampered_state_end_on_the_error_page() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        github.signs_in(person(404, "late@example.com", true));

        // Expired: the answer comes back after the flow's 10 minutes.
        let mut browser = Client::new(&app);
        let start = browser.get("/oauth/github/start").await;
        let to_github = start.location().to_owned();
        app.state.auth.clock.advance(11 * 60 * 1000);
        let back = bounce(&to_github).await;
        let page = callback(&mut browser, &back).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("Sign-in expired"), "{}", page.body);
        assert!(browser.session().is_none());

        // Tampered state: refused, and the flow is dead even for the right state afterwards.
        let mut browser = Client::new(&app);
        let start = browser.get("/oauth/github/start").await;
        let back = bounce(start.location()).await;
        let path = back.strip_prefix(&app.base).expect("ours").to_owned();
        let tampered = path.replace("state=", "state=x");
        let page = browser.get(&tampered).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(
            page.body
                .contains("does not belong to a sign-in started in this browser"),
            "{}",
            page.body
        );
        // (the flow cookie was cleared by the error page; put it back to replay with it)
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(browser.session().is_none());

        // Another browser cannot complete this browser's flow (no flow cookie there).
        let mut victim = Client::new(&app);
        let start = victim.get("/oauth/github/start").await;
        let back = bounce(start.location()).await;
        let mut attacker = Client::new(&app);
        let page = callback(&mut attacker, &back).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(attacker.session().is_none());

        // An unknown provider's routes are a themed 404, never a 500.
        let page = Client::new(&app).get("/oauth/nope/start").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        let page = Client::new(&app)
            .get("/oauth/nope/callback?code=x&state=y")
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn disabling_a_provider_applies_at_once_and_its_flows_under_way_end_cleanly() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        github.signs_in(person(505, "live@example.com", true));
        let mut browser = Client::new(&app);
        let start = browser.get("/oauth/github/start").await;
        let back = bounce(start.location()).await;

        // The provider is removed from the config while the person is at GitHub.
        let without = super::app::quickstart_config(&app.base, |c| {
            c.providers.retain(|p| p.slug != "github");
        });
        let secrets = vestibule::runtime::live::SecretValues::new(
            without
                .secrets
                .keys()
                .map(|k| (k.clone(), "test-secret".to_owned()))
                .chain([("mfa-key".to_owned(), crate::app::test_mfa_key())])
                .collect(),
        );
        let active =
            vestibule::runtime::live::Active::build(without, secrets, Some(app.outbox.clone()))
                .expect("activates");
        app.state.live.swap(active);

        let page = callback(&mut browser, &back).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(
            page.body.contains("This sign-in method is not available"),
            "{}",
            page.body
        );
        assert!(browser.session().is_none());
        let sign_in = Client::new(&app).get("/sign-in").await;
        assert!(!sign_in.body.contains(r#"data-provider="github""#));
        assert!(sign_in.body.contains(r#"data-provider="google""#));
        let page = Client::new(&app).get("/oauth/github/start").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_provider_slower_than_the_timeout_ends_on_the_error_page() {
    let github = Github::start().await;
    // One backend: the case waits out the 10 s client timeout, and the store plays no part.
    let store = super::support::connect(super::support::fresh_sqlite_database()).await;
    let app = app_with_github(store.store.clone(), &github).await;
    github.signs_in(person(808, "slow@example.com", true));
    github.state.lock().expect("lock").slow = true;
    let mut browser = Client::new(&app);
    let start = browser.get("/oauth/github/start").await;
    let back = bounce(start.location()).await;
    let page = callback(&mut browser, &back).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(
        page.body.contains("GitHub could not be reached"),
        "{}",
        page.body
    );
    assert!(browser.session().is_none());
    github.state.lock().expect("lock").slow = false;
}

#[tokio::test]
async fn starting_provider_sign_ins_is_limited_per_address() {
    let github = Github::start().await;
    each_backend(async |store| {
        let app = app_with_github(store, &github).await;
        let mut browser = Client::new(&app);
        for _ in 0..100 {
            let page = browser.get("/oauth/github/start").await;
            assert_eq!(page.status, StatusCode::SEE_OTHER);
        }
        let page = browser.get("/oauth/github/start").await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
        assert!(page.headers.contains_key("retry-after"));
    })
    .await;
}

/// The emulated provider's answer to an authorization request: where it sends the browser.
async fn bounce(to_github: &str) -> String {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(to_github)
        .send()
        .await
        .expect("github")
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("back")
        .to_owned()
}

mod apple;
mod entra;
