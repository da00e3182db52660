//! Second factors through the hosted pages, on every backend: TOTP enrolment and sign-in (the
//! test plays the authenticator app from the secret the page shows), replay and guessing,
//! backup codes, remembered devices, step-up, password reset, and `required` policies with and
//! without a grace period.

use reqwest::StatusCode;

use crate::app::{
    Client, PASSWORD, TestApp, field_value, last_mail, open_reset_link, signed_up, spawn_app,
    spawn_app_with,
};
use crate::support::each_backend;
use vestibule::config::runtime::MfaEnforcement;

/// The secret the enrolment page shows, decoded.
pub fn secret_in(html: &str) -> Vec<u8> {
    let start = html
        .find("data-part=\"mfa.secret\">")
        .unwrap_or_else(|| panic!("no secret on the page: {html}"))
        + "data-part=\"mfa.secret\">".len();
    let end = start + html[start..].find("</code>").expect("end of secret");
    let base32: String = html[start..end].split_whitespace().collect();
    totp_rs::Secret::try_from_base32(base32)
        .expect("base32")
        .as_bytes()
        .to_vec()
}

/// The code the app shows now (by the server's clock, which tests move).
pub fn code_now(app: &TestApp, secret: &[u8]) -> String {
    vestibule::auth::mfa::totp::code_at(secret, app.state.auth.clock.now()).expect("code")
}

/// The next time step: a new code that has not been used yet.
pub fn next_step(app: &TestApp) {
    app.state.auth.clock.advance(30_000);
}

/// The backup codes a page shows.
fn codes_in(html: &str) -> Vec<String> {
    let start = html
        .find("data-part=\"mfa.backup-codes\"")
        .expect("codes list");
    let list = &html[start
        ..html[start..]
            .find("</ul>")
            .map_or(html.len(), |e| start + e)];
    list.split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(str::to_owned)
        .collect()
}

/// Enrols an authenticator app from `/account` for a signed-in client: its secret and the
/// first backup codes.
pub async fn enrol_totp(app: &TestApp, client: &mut Client) -> (Vec<u8>, Vec<String>) {
    let account = client.get("/account").await;
    assert!(
        account.body.contains("Set up authenticator app"),
        "{}",
        account.body
    );
    let page = client
        .post(
            "/account/mfa/totp/start",
            &[("csrf_token", &account.csrf())],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Attribute values are HTML-escaped (`/` as `&#x2f;`); browsers decode them.
    assert!(
        page.body
            .contains(r#"data-part="mfa.qr" src="data:image&#x2f;svg+xml;base64,"#),
        "a QR code"
    );
    let secret = secret_in(&page.body);
    assert_eq!(secret.len(), 20, "160-bit secret (SECURITY 22)");
    let code = code_now(app, &secret);
    let done = client
        .post(
            "/account/mfa/totp/confirm",
            &[("csrf_token", &page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes = codes_in(&done.body);
    (secret, codes)
}

/// Signs up `email` and verifies it with the mailed code: the client and the answer to the
/// code (where the policy sends a new account next).
pub async fn signed_up_and_verified(app: &TestApp, email: &str) -> (Client, crate::app::Page) {
    let mut client = Client::new(app);
    let page = client
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    let code = crate::app::code_in(&last_mail(app, email).text);
    let verified = client
        .submit(
            page.location(),
            "/verify-email",
            &[("email", email), ("code", &code)],
        )
        .await;
    (client, verified)
}

/// Signs out and in again with the password: the response to the sign-in form.
pub async fn password_again(client: &mut Client, email: &str) -> crate::app::Page {
    let token = client.get("/account").await.csrf();
    client.post("/sign-out", &[("csrf_token", &token)]).await;
    client
        .submit(
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await
}

/// Posts a second factor on the challenge page.
pub async fn answer(
    client: &mut Client,
    kind: &str,
    code: &str,
    remember: bool,
) -> crate::app::Page {
    let page = client.get("/sign-in/factor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let field = if kind == "backup" {
        "backup_code"
    } else {
        "code"
    };
    let mut form = vec![
        ("csrf_token", page.csrf()),
        ("kind", kind.to_owned()),
        (field, code.to_owned()),
    ];
    if remember {
        form.push(("remember", "1".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post("/sign-in/factor", &form).await
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_asks_for_the_code_once_per_step_and_backup_codes_work_once() {
    each_backend(async |store| {
        let app = spawn_app(store.clone()).await;
        let email = "ada@example.com";
        let mut client = signed_up(&app, email).await;
        let before = client.session().cloned();
        let (secret, codes) = enrol_totp(&app, &mut client).await;
        assert_eq!(codes.len(), 10, "backupCodes.count codes, shown once");
        assert_ne!(
            client.session().cloned(),
            before,
            "a new session after adding a factor"
        );
        assert!(
            last_mail(&app, email)
                .subject
                .contains("authenticator app was added")
        );
        // Sealed at rest: the stored value is neither the secret nor its base32.
        let users = store.user_by_email(email).await.unwrap().unwrap();
        let stored = store.totp_factor(&users.id).await.unwrap().unwrap();
        let base32 = totp_rs::Secret::from(secret.clone()).to_base32();
        assert!(!stored.secret_sealed.contains(base32.trim_end_matches('=')));
        let account = client.get("/account").await;
        assert!(
            account.body.contains("10 backup codes left"),
            "{}",
            account.body
        );

        // The first factor alone opens nothing: no session until the second.
        let first = password_again(&mut client, email).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        assert_eq!(first.location(), "/sign-in/factor");
        assert!(
            client.session().is_none(),
            "no session before the second factor"
        );
        assert_eq!(client.get("/account").await.status, StatusCode::SEE_OTHER);

        // The code used at enrolment is spent for its step (SECURITY 23).
        let replay = answer(&mut client, "totp", &code_now(&app, &secret), false).await;
        assert_eq!(
            replay.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            replay.body
        );
        assert!(client.session().is_none());
        next_step(&app);
        let code = code_now(&app, &secret);
        let ok = answer(&mut client, "totp", &code, false).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_eq!(ok.location(), "/account");
        assert!(client.session().is_some());
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
        // The half-signed-in record was used up with it.
        assert_eq!(client.get("/sign-in/factor").await.location(), "/sign-in");

        // The same code in the same step, in a new sign-in: refused.
        password_again(&mut client, email).await;
        let again = answer(&mut client, "totp", &code, false).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);

        // A backup code works exactly once, says how many are left, and sends a notice.
        let used = answer(&mut client, "backup", &codes[0].to_uppercase(), false).await;
        assert_eq!(used.status, StatusCode::OK, "{}", used.body);
        assert!(
            used.body.contains("9 backup codes are left"),
            "{}",
            used.body
        );
        assert!(client.session().is_some());
        assert!(
            last_mail(&app, email)
                .subject
                .contains("backup code was used")
        );
        password_again(&mut client, email).await;
        let twice = answer(&mut client, "backup", &codes[0], false).await;
        assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(client.session().is_none());
    })
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_user_and_count_toward_the_lockout() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let email = "guess@example.com";
        let mut client = signed_up(&app, email).await;
        let (secret, _) = enrol_totp(&app, &mut client).await;
        password_again(&mut client, email).await;
        next_step(&app);
        let right = code_now(&app, &secret);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        for _ in 0..5 {
            let page = answer(&mut client, "totp", wrong, false).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        // Beyond 5 wrong codes per 15 minutes even the right code is refused (SECURITY 25).
        let page = client.get("/sign-in/factor").await;
        let blocked = client
            .post(
                "/sign-in/factor",
                &[
                    ("csrf_token", &page.csrf()),
                    ("kind", "totp"),
                    ("code", &right),
                ],
            )
            .await;
        assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(client.session().is_none());
        // They counted toward the account lockout too: 5 more password failures lock it.
        let mut other = Client::new(&app);
        for _ in 0..5 {
            let page = other
                .submit(
                    "/sign-in",
                    "/sign-in",
                    &[("email", email), ("password", "wrong password!")],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        }
        let locked = other
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

#[tokio::test]
async fn a_remembered_device_skips_the_challenge_until_a_factor_is_removed() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| {
            c.mfa.remember_device = true;
            c.mfa.remember_device_seconds = 3600;
        })
        .await;
        let email = "trust@example.com";
        let mut client = signed_up(&app, email).await;
        let (secret, _) = enrol_totp(&app, &mut client).await;
        password_again(&mut client, email).await;
        next_step(&app);
        let ok = answer(&mut client, "totp", &code_now(&app, &secret), true).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let cookie = client
            .set_cookies
            .iter()
            .find(|c| c.starts_with("__Host-vestibule_device="))
            .expect("a remembered-device cookie")
            .clone();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("Secure")
                && cookie.contains("Max-Age=3600")
        );

        let skipped = password_again(&mut client, email).await;
        assert_eq!(
            skipped.location(),
            "/account",
            "no challenge on a trusted device"
        );
        assert!(client.session().is_some());

        // Removing the app is sensitive: a remembered device is not a fresh second factor.
        let account = client.get("/account").await;
        let remove = client
            .post(
                "/account/mfa/totp/remove",
                &[("csrf_token", &account.csrf())],
            )
            .await;
        assert_eq!(remove.status, StatusCode::SEE_OTHER);
        assert!(
            remove.location().starts_with("/account/step-up"),
            "{}",
            remove.location()
        );
        let step = client.get(remove.location()).await;
        next_step(&app);
        let stepped = client
            .post(
                "/account/step-up",
                &[
                    ("csrf_token", &step.csrf()),
                    ("kind", "totp"),
                    ("code", &code_now(&app, &secret)),
                    ("redirect_url", "/account#mfa"),
                ],
            )
            .await;
        assert_eq!(stepped.status, StatusCode::SEE_OTHER, "{}", stepped.body);
        let account = client.get("/account").await;
        let removed = client
            .post(
                "/account/mfa/totp/remove",
                &[("csrf_token", &account.csrf())],
            )
            .await;
        assert_eq!(removed.location(), "/account?notice=mfa-removed#mfa");
        assert!(
            last_mail(&app, email).subject.contains("turned off"),
            "SECURITY 27"
        );

        // A new app: the old device cookie no longer skips anything.
        let (_, _) = enrol_totp(&app, &mut client).await;
        let challenged = password_again(&mut client, email).await;
        assert_eq!(challenged.location(), "/sign-in/factor");
    })
    .await;
}

#[tokio::test]
async fn sensitive_actions_ask_for_a_fresh_factor_and_step_up_renews_the_session() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| c.sessions.idle_timeout_seconds = 24 * 3600).await;
        let email = "stale@example.com";
        let mut client = signed_up(&app, email).await;
        let (secret, _) = enrol_totp(&app, &mut client).await;
        // stepUpMaxAge (10 minutes) later:
        app.state.auth.clock.advance(11 * 60_000);
        let account = client.get("/account").await;
        let change = client
            .post(
                "/account/password",
                &[
                    ("csrf_token", &account.csrf()),
                    ("current_password", PASSWORD),
                    ("new_password", "another long passphrase"),
                ],
            )
            .await;
        assert_eq!(change.status, StatusCode::SEE_OTHER);
        assert!(
            change.location().starts_with("/account/step-up"),
            "{}",
            change.location()
        );
        let old = client.session().cloned().expect("session");
        let step = client.get(change.location()).await;
        assert!(step.body.contains("authenticator app"), "{}", step.body);
        let wrong = client
            .post(
                "/account/step-up",
                &[
                    ("csrf_token", &step.csrf()),
                    ("kind", "totp"),
                    ("code", "000000"),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        let stepped = client
            .post(
                "/account/step-up",
                &[
                    ("csrf_token", &step.csrf()),
                    ("kind", "totp"),
                    ("code", &code_now(&app, &secret)),
                    ("redirect_url", "/account#password"),
                ],
            )
            .await;
        assert_eq!(stepped.status, StatusCode::SEE_OTHER);
        assert_eq!(stepped.location(), "/account#password");
        let new = client.session().cloned().expect("session");
        assert_ne!(old, new, "a new session id at step-up (SECURITY 34)");
        let mut thief = Client::new(&app);
        thief.cookies.insert("__Host-vestibule_session".into(), old);
        assert_eq!(
            thief.get("/account").await.status,
            StatusCode::SEE_OTHER,
            "old token dead"
        );
        let account = client.get("/account").await;
        let change = client
            .post(
                "/account/password",
                &[
                    ("csrf_token", &account.csrf()),
                    ("current_password", PASSWORD),
                    ("new_password", "another long passphrase"),
                ],
            )
            .await;
        assert_eq!(change.location(), "/account?notice=password-changed");
    })
    .await;
}

#[tokio::test]
async fn a_password_reset_does_not_sign_in_past_the_second_factor() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let email = "reset@example.com";
        let mut client = signed_up(&app, email).await;
        enrol_totp(&app, &mut client).await;
        let mut other = Client::new(&app);
        let (csrf, token) = open_reset_link(&app, &mut other, email).await;
        let reset = other
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("new_password", "a brand new passphrase"),
                ],
            )
            .await;
        assert!(reset.status.is_success() || reset.status == StatusCode::SEE_OTHER);
        assert!(
            other.session().is_none(),
            "a reset signs nobody in (SECURITY 16)"
        );
        let signed = other
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", "a brand new passphrase")],
            )
            .await;
        assert_eq!(signed.location(), "/sign-in/factor");
        assert!(other.session().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_required_policy_sends_users_without_a_factor_to_enrolment_before_any_session() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| c.mfa.enforcement = MfaEnforcement::Required).await;
        let email = "must@example.com";
        let (mut client, verified) = signed_up_and_verified(&app, email).await;
        // The email link path too: no session, enrolment first.
        assert_eq!(verified.location(), "/sign-in/enrol");
        assert!(client.session().is_none());
        assert_eq!(client.get("/account").await.status, StatusCode::SEE_OTHER);
        let enrol = client.get("/sign-in/enrol").await;
        assert_eq!(enrol.status, StatusCode::OK);
        assert!(!enrol.body.contains("Set up later"), "no grace period");
        let refused = client
            .post("/sign-in/enrol/postpone", &[("csrf_token", &enrol.csrf())])
            .await;
        assert_eq!(refused.location(), "/sign-in/enrol");
        assert!(client.session().is_none());
        let secret = secret_in(&enrol.body);
        let done = client
            .post(
                "/sign-in/enrol",
                &[
                    ("csrf_token", &enrol.csrf()),
                    ("code", &code_now(&app, &secret)),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert_eq!(codes_in(&done.body).len(), 10);
        assert!(client.session().is_some());
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn the_grace_period_lets_a_user_postpone_exactly_until_it_ends() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| {
            c.mfa.enforcement = MfaEnforcement::Required;
            c.mfa.enrollment_grace_period_seconds = 3600;
        })
        .await;
        let email = "later@example.com";
        // An account from before the policy: sign-up is the first sign-in under it.
        let (mut client, _) = signed_up_and_verified(&app, email).await;
        let enrol = client.get("/sign-in/enrol").await;
        assert!(
            enrol.body.contains("Set up later (1 hour left)"),
            "{}",
            enrol.body
        );
        let later = client
            .post("/sign-in/enrol/postpone", &[("csrf_token", &enrol.csrf())])
            .await;
        assert_eq!(later.location(), "/account");
        assert!(client.session().is_some());
        // 59 minutes on, still postponable; an hour on, not any more.
        app.state.auth.clock.advance(59 * 60_000);
        let page = password_again(&mut client, email).await;
        assert_eq!(page.location(), "/sign-in/enrol");
        let enrol = client.get("/sign-in/enrol").await;
        assert!(
            enrol.body.contains("Set up later (1 hour left)"),
            "{}",
            enrol.body
        );
        app.state.auth.clock.advance(61_000);
        let enrol = client.get("/sign-in/enrol").await;
        assert!(!enrol.body.contains("Set up later"), "{}", enrol.body);
        let refused = client
            .post("/sign-in/enrol/postpone", &[("csrf_token", &enrol.csrf())])
            .await;
        assert_eq!(refused.location(), "/sign-in/enrol");
        assert!(client.session().is_none());
        let _ = field_value;
    })
    .await;
}

#[tokio::test]
async fn passkey_endpoints_refuse_bad_answers_with_a_clear_4xx() {
    each_backend(async |store| {
        // Without passkeys in the policy: nothing to start.
        let app = spawn_app(store.clone()).await;
        let mut client = Client::new(&app);
        let page = client.get("/sign-in").await;
        assert!(!page.body.contains("Sign in with a passkey"));
        assert!(
            !page.body.contains("webauthn.js"),
            "no script where no ceremony runs"
        );
        let off = client
            .post("/sign-in/passkey/options", &[("csrf_token", &page.csrf())])
            .await;
        assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", off.body);
        assert!(off.body.contains("\"error\""));
        drop(app);

        // A WebAuthn relying party needs a domain name: the issuer is localhost, not 127.0.0.1.
        let app = spawn_app_with(store, |c| {
            c.issuer = c.issuer.replace("127.0.0.1", "localhost");
            c.mfa.webauthn = true;
            c.mfa.passwordless = true;
        })
        .await;
        let issuer = app.base.replace("127.0.0.1", "localhost");
        let mut client = Client::at(&issuer);
        let page = client.get("/sign-in").await;
        assert!(
            page.body.contains("Sign in with a passkey"),
            "{}",
            page.body
        );
        let csrf = page.csrf();
        let started = client
            .post("/sign-in/passkey/options", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.body);
        let body: serde_json::Value = serde_json::from_str(&started.body).expect("json");
        let ceremony = body["ceremony"].as_str().expect("ceremony").to_owned();
        let challenge = body["options"]["publicKey"]["challenge"]
            .as_str()
            .expect("challenge");
        assert!(
            challenge.len() >= 22,
            "at least 16 random bytes (SECURITY 29)"
        );
        // Garbage, then a well-formed answer to a used-up challenge: 422 each, never a 500.
        let garbage = client
            .post(
                "/sign-in/passkey",
                &[
                    ("csrf_token", &csrf),
                    ("ceremony", &ceremony),
                    ("credential", "{}"),
                ],
            )
            .await;
        assert_eq!(
            garbage.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            garbage.body
        );
        let again = client
            .post(
                "/sign-in/passkey",
                &[
                    ("csrf_token", &csrf),
                    ("ceremony", &ceremony),
                    ("credential", "{}"),
                ],
            )
            .await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A challenge is bound to the browser that asked for it (its CSRF cookie).
        let started = client
            .post("/sign-in/passkey/options", &[("csrf_token", &csrf)])
            .await;
        let body: serde_json::Value = serde_json::from_str(&started.body).expect("json");
        let mut stranger = Client::at(&issuer);
        let theirs = stranger.get("/sign-in").await.csrf();
        let stolen = stranger
            .post(
                "/sign-in/passkey",
                &[
                    ("csrf_token", &theirs),
                    ("ceremony", body["ceremony"].as_str().expect("ceremony")),
                    ("credential", "{}"),
                ],
            )
            .await;
        assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(client.session().is_none() && stranger.session().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_challenge_never_opens_enrolment_and_an_enrolment_ends_once_a_factor_exists() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| {
            c.mfa.enforcement = MfaEnforcement::Required;
            c.mfa.enrollment_grace_period_seconds = 72 * 3600;
            c.sessions.idle_timeout_seconds = 24 * 3600;
        })
        .await;
        let email = "skip@example.com";
        let (mut owner, verified) = signed_up_and_verified(&app, email).await;
        assert_eq!(verified.location(), "/sign-in/enrol");
        // An attacker with the password gets an enrolment record too, in another browser.
        let mut attacker = Client::new(&app);
        let first = attacker
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(first.location(), "/sign-in/enrol");
        // The owner enrols an app.
        let enrol = owner.get("/sign-in/enrol").await;
        let secret = secret_in(&enrol.body);
        let done = owner
            .post(
                "/sign-in/enrol",
                &[
                    ("csrf_token", &enrol.csrf()),
                    ("code", &code_now(&app, &secret)),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        // The attacker's enrolment record no longer postpones, enrols or shows a secret.
        let csrf = attacker.get("/sign-in").await.csrf();
        let postpone = attacker
            .post("/sign-in/enrol/postpone", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(postpone.location(), "/sign-in");
        assert_eq!(attacker.get("/sign-in/enrol").await.location(), "/sign-in");
        assert!(attacker.session().is_none());
        // A fresh password sign-in is a challenge, and a challenge record opens no enrolment.
        let again = attacker
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(again.location(), "/sign-in/factor");
        let csrf = attacker.get("/sign-in/factor").await.csrf();
        let postpone = attacker
            .post("/sign-in/enrol/postpone", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(postpone.location(), "/sign-in");
        let enrol = attacker
            .post(
                "/sign-in/enrol",
                &[("csrf_token", &csrf), ("code", "123456")],
            )
            .await;
        assert_eq!(enrol.location(), "/sign-in");
        assert!(attacker.session().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_stale_session_cannot_confirm_an_app_and_a_password_reset_ends_half_signed_in_records() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| c.sessions.idle_timeout_seconds = 24 * 3600).await;
        let email = "stale-confirm@example.com";
        let mut client = signed_up(&app, email).await;
        let account = client.get("/account").await;
        let started = client
            .post(
                "/account/mfa/totp/start",
                &[("csrf_token", &account.csrf())],
            )
            .await;
        let secret = secret_in(&started.body);
        app.state.auth.clock.advance(11 * 60_000);
        let confirm = client
            .post(
                "/account/mfa/totp/confirm",
                &[("csrf_token", &started.csrf()), ("code", "000000")],
            )
            .await;
        assert!(
            confirm.location().starts_with("/account/step-up"),
            "{}",
            confirm.location()
        );
        assert!(
            !confirm.body.contains("mfa.secret"),
            "the secret is not shown again"
        );
        let confirm = client
            .post(
                "/account/mfa/totp/confirm",
                &[
                    ("csrf_token", &started.csrf()),
                    ("code", &code_now(&app, &secret)),
                ],
            )
            .await;
        assert!(confirm.location().starts_with("/account/step-up"));
        // Enrol for real (fresh again after step-up with the password), then: a browser left on
        // the challenge page loses it when the password is reset elsewhere.
        let step = client.get(confirm.location()).await;
        client
            .post(
                "/account/step-up",
                &[
                    ("csrf_token", &step.csrf()),
                    ("kind", "password"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let (secret, _) = enrol_totp(&app, &mut client).await;
        let mut left_open = Client::new(&app);
        let first = left_open
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(first.location(), "/sign-in/factor");
        let mut owner = Client::new(&app);
        let (csrf, token) = open_reset_link(&app, &mut owner, email).await;
        owner
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("new_password", "a brand new passphrase"),
                ],
            )
            .await;
        next_step(&app);
        let late = left_open.get("/sign-in/factor").await;
        assert_eq!(
            late.location(),
            "/sign-in",
            "the record ended with the old password"
        );
        let _ = secret;
    })
    .await;
}
