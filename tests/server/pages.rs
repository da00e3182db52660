//! The hosted pages as a user goes through them, on every backend.

use reqwest::StatusCode;

use crate::app::{
    Client, PASSWORD, code_in, last_mail, link_in, signed_up, spawn_app, spawn_app_with,
};
use crate::support::each_backend;

#[tokio::test]
async fn sign_up_verify_sign_out_and_sign_in_again() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = signed_up(&app, "ada@example.com").await;
        let account = client.get("/account").await;
        assert_eq!(account.status, StatusCode::OK);
        assert!(
            account
                .body
                .contains("Signed in as <strong>ada@example.com</strong>")
        );

        let token = account.csrf();
        let out = client.post("/sign-out", &[("csrf_token", &token)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(out.location(), "/sign-in");
        assert!(client.session().is_none(), "the cookie is cleared");
        assert_eq!(client.get("/account").await.status, StatusCode::SEE_OTHER);

        let page = client
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "Ada@Example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/account");
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn verification_link_needs_a_confirming_post() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "link@example.com"), ("password", PASSWORD)],
            )
            .await;
        let link = link_in(&app, &last_mail(&app, "link@example.com").text);
        // A mail scanner fetching the link does not use it up.
        let confirm = client.get(&link).await;
        assert_eq!(confirm.status, StatusCode::OK);
        let token = crate::app::field_value(&confirm.body, "token").expect("token field");
        let done = client
            .post(
                "/verify-email/link",
                &[("csrf_token", &confirm.csrf()), ("token", &token)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn unverified_user_who_signs_in_is_sent_to_verify() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "late@example.com"), ("password", PASSWORD)],
            )
            .await;
        let before = app.outbox.entries().len();
        let mut later = Client::new(&app);
        let page = later
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "late@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(
            page.location()
                .starts_with("/verify-email?email=late%40example.com"),
            "{}",
            page.location()
        );
        assert!(later.session().is_none(), "no session before verification");
        // A fresh code is on its way, and it works.
        assert_eq!(app.outbox.entries().len(), before + 1);
        let code = code_in(&last_mail(&app, "late@example.com").text);
        let page = later
            .submit(
                page.location(),
                "/verify-email",
                &[("email", "late@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(later.session().is_some());
    })
    .await;
}

#[tokio::test]
async fn forgot_and_reset_password_ends_other_sessions_and_notifies() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut old_device = signed_up(&app, "reset@example.com").await;
        let mut client = Client::new(&app);
        let (form_csrf, token) =
            crate::app::open_reset_link(&app, &mut client, "reset@example.com").await;
        let new_password = "a completely new passphrase";
        let done = client
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &form_csrf),
                    ("token", &token),
                    ("new_password", new_password),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        assert!(done.body.contains("Password changed"));
        assert!(
            last_mail(&app, "reset@example.com")
                .subject
                .to_lowercase()
                .contains("password")
        );
        // Every session, including the one on another device, is over (SECURITY 20).
        assert_eq!(
            old_device.get("/account").await.status,
            StatusCode::SEE_OTHER
        );
        let old = client
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "reset@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new = client
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "reset@example.com"), ("password", new_password)],
            )
            .await;
        assert_eq!(new.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn account_lists_and_revokes_sessions() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut laptop = signed_up(&app, "two@example.com").await;
        let mut phone = Client::new(&app);
        phone
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "two@example.com"), ("password", PASSWORD)],
            )
            .await;
        let account = laptop.get("/account").await;
        assert_eq!(account.body.matches("data-part=\"session\"").count(), 2);
        assert_eq!(account.body.matches("data-current=\"true\"").count(), 1);
        // Only other sessions have a revoke form, so the first session_id field is the phone's.
        let phone_session =
            crate::app::field_value(&account.body, "session_id").expect("a revoke form");
        let revoked = laptop
            .post(
                "/account/sessions/revoke",
                &[
                    ("csrf_token", &account.csrf()),
                    ("session_id", &phone_session),
                ],
            )
            .await;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER);
        // Revocation takes effect on the next request.
        assert_eq!(phone.get("/account").await.status, StatusCode::SEE_OTHER);
        assert_eq!(laptop.get("/account").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn change_password_requires_the_current_one_and_rotates_the_session() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = signed_up(&app, "pw@example.com").await;
        let before = client.session().cloned();
        let account = client.get("/account").await;
        let wrong = client
            .post(
                "/account/password",
                &[
                    ("csrf_token", &account.csrf()),
                    ("current_password", "not my password"),
                    ("new_password", "another fine passphrase"),
                ],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("Your current password is not correct."));
        let ok = client
            .post(
                "/account/password",
                &[
                    ("csrf_token", &account.csrf()),
                    ("current_password", PASSWORD),
                    ("new_password", "another fine passphrase"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert_ne!(
            client.session().cloned(),
            before,
            "a new session token after a privilege change"
        );
        assert_eq!(client.get("/account").await.status, StatusCode::OK);
        assert!(
            last_mail(&app, "pw@example.com")
                .subject
                .to_lowercase()
                .contains("password")
        );
    })
    .await;
}

#[tokio::test]
async fn change_email_verifies_the_new_address_and_notifies_the_old() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = signed_up(&app, "old@example.com").await;
        let account = client.get("/account").await;
        let started = client
            .post(
                "/account/email",
                &[
                    ("csrf_token", &account.csrf()),
                    ("email", "new@example.com"),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.body);
        let code = code_in(&last_mail(&app, "new@example.com").text);
        let done = client
            .post(
                "/account/email/verify",
                &[("csrf_token", &started.csrf()), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let notice = last_mail(&app, "old@example.com");
        assert!(notice.text.contains("n***@example.com"), "{}", notice.text);
        assert!(
            client
                .get("/account")
                .await
                .body
                .contains("new@example.com")
        );
    })
    .await;
}

#[tokio::test]
async fn sign_up_without_required_verification_signs_in_at_once() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| c.sign_up.require_email_verification = false).await;
        let mut client = Client::new(&app);
        let page = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "quick@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/account");
        assert!(client.session().is_some());
    })
    .await;
}

#[tokio::test]
async fn operational_endpoints_answer() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        assert_eq!(client.get("/healthz").await.body, "ok");
        let ready = client.get("/readyz").await;
        assert_eq!(ready.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&ready.body).expect("json");
        assert_eq!(
            json["configHash"],
            app.state.live.load().config.hash.as_str()
        );
        client.get("/sign-in").await;
        let metrics = client.get("/metrics").await.body;
        assert!(
            metrics.contains(
                "vestibule_http_requests_total{route=\"/sign-in\",method=\"GET\",status=\"200\"} 1"
            ),
            "{metrics}"
        );
        assert!(metrics.contains("vestibule_password_hash_queue"));
        let anonymous = client.get("/session").await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            anonymous
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let mut signed_in = signed_up(&app, "ops@example.com").await;
        let session = signed_in.get("/session").await;
        assert_eq!(session.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&session.body).expect("json");
        assert_eq!(json["email"], "ops@example.com");
        assert_eq!(
            session
                .headers
                .get("x-vestibule-email")
                .and_then(|v| v.to_str().ok()),
            Some("ops@example.com")
        );
        let css = client.get("/assets/vestibule.css").await;
        assert!(css.body.contains("--vst-color-primary:#4f46e5"));
        let mailbox = client.get("/dev/mailbox.json").await;
        assert_eq!(mailbox.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_is_notified_once() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "devices@example.com").await;
        let firefox = [(
            "user-agent",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/120.0",
        )];
        let sign_in = async |client: &mut Client| {
            let token = client.get("/sign-in").await.csrf();
            let origin = client.base.clone();
            let mut headers = firefox.to_vec();
            headers.push(("origin", origin.as_str()));
            client
                .post_with(
                    "/sign-in",
                    &[
                        ("csrf_token", &token),
                        ("email", "devices@example.com"),
                        ("password", PASSWORD),
                    ],
                    &headers,
                )
                .await
        };
        let before = app.outbox.entries().len();
        let page = sign_in(&mut Client::new(&app)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let notice = last_mail(&app, "devices@example.com");
        assert_eq!(app.outbox.entries().len(), before + 1);
        assert!(notice.subject.contains("New sign-in"), "{}", notice.subject);
        assert!(notice.text.contains("Firefox on macOS"), "{}", notice.text);
        // The same browser again: no second notice.
        sign_in(&mut Client::new(&app)).await;
        assert_eq!(app.outbox.entries().len(), before + 1);
        // Nor after the periodic sweep of expired rows: the device is remembered for 30 days,
        // not for the longest rate-limit window.
        app.state.auth.clock.advance(2 * 60 * 60 * 1000);
        vestibule::auth::maintenance::sweep(&app.state.auth)
            .await
            .expect("sweep");
        sign_in(&mut Client::new(&app)).await;
        assert_eq!(app.outbox.entries().len(), before + 1);
        // A month without it: new again.
        app.state.auth.clock.advance(31 * 24 * 60 * 60 * 1000);
        vestibule::auth::maintenance::sweep(&app.state.auth)
            .await
            .expect("sweep");
        sign_in(&mut Client::new(&app)).await;
        assert_eq!(app.outbox.entries().len(), before + 2);
    })
    .await;
}

#[tokio::test]
async fn sign_up_modes_and_allowed_domains_are_enforced() {
    each_backend(async |store| {
        let closed = spawn_app_with(store.clone(), |c| {
            c.sign_up.mode = vestibule::config::runtime::SignUpMode::Disabled
        })
        .await;
        let mut client = Client::new(&closed);
        assert!(
            client
                .get("/sign-up")
                .await
                .body
                .contains("Sign-up is closed.")
        );
        let page = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "no@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            closed
                .state
                .auth
                .store
                .user_by_email("no@example.com")
                .await
                .expect("db")
                .is_none()
        );
        drop(closed);

        let invite = spawn_app_with(store.clone(), |c| {
            c.sign_up.mode = vestibule::config::runtime::SignUpMode::InviteOnly
        })
        .await;
        let page = Client::new(&invite)
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "inv@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert!(page.body.contains("by invitation only"));
        drop(invite);

        let domains = spawn_app_with(store, |c| {
            c.sign_up.allowed_domains = vec!["acme.com".into()]
        })
        .await;
        let mut client = Client::new(&domains);
        let outside = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "x@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(outside.body.contains("acme.com"));
        let inside = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "x@ACME.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(inside.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn a_hash_is_upgraded_at_sign_in_when_the_parameters_rise() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "upgrade@example.com").await;
        let stored = |app: &crate::app::TestApp| {
            let store = app.state.auth.store.clone();
            async move {
                store
                    .user_by_email("upgrade@example.com")
                    .await
                    .expect("db")
                    .expect("user")
                    .password_hash
                    .expect("hash")
            }
        };
        assert!(stored(&app).await.contains("m=19456,t=2,p=1"));
        // The operator raises the cost; the next sign-in rehashes with the new parameters.
        let stronger =
            crate::app::quickstart_config(&app.base, |c| c.passwords.argon2_iterations = 3);
        let secrets = crate::app::quickstart_secrets(&stronger);
        let active =
            vestibule::runtime::live::Active::build(stronger, secrets, Some(app.outbox.clone()))
                .expect("activates");
        app.state.live.swap(active);
        let page = Client::new(&app)
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "upgrade@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let upgraded = stored(&app).await;
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"),
            "{upgraded}"
        );
        let again = Client::new(&app)
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "upgrade@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            again.status,
            StatusCode::SEE_OTHER,
            "the upgraded hash verifies"
        );
    })
    .await;
}

#[tokio::test]
async fn password_fields_allow_paste_and_managers() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let page = Client::new(&app).get("/sign-in").await;
        // SECURITY 7: type=password, autocomplete hints for password managers, nothing that
        // blocks pasting.
        assert!(
            page.body
                .contains("type=\"password\" value=\"\" autocomplete=\"current-password\""),
            "{}",
            page.body
        );
        assert!(!page.body.contains("onpaste") && !page.body.contains("autocomplete=\"off\""));
    })
    .await;
}

#[tokio::test]
async fn pages_speak_the_visitors_language_and_the_theme_overrides_the_catalog() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |config| {
            config.theme.strings.insert(
                "de".into(),
                [("signIn.title".to_owned(), "Willkommen zurück".to_owned())].into(),
            );
        })
        .await;
        let http = reqwest::Client::new();
        let get = async |path: &str, language: &str| {
            let response = http
                .get(format!("{}{path}", app.base))
                .header("accept-language", language)
                .send()
                .await
                .expect("request");
            response.text().await.expect("body")
        };

        let german = get("/sign-in", "de-DE, en;q=0.5").await;
        assert!(german.contains(r#"<html lang="de" dir="ltr">"#), "{german}");
        assert!(german.contains("Willkommen zurück"), "the theme's override wins");
        assert!(german.contains(">Anmelden</button>"), "the catalog's German");
        assert!(german.contains("Passwort vergessen?"), "{german}");

        let english = get("/sign-in", "ja, en;q=0.1").await;
        assert!(english.contains(r#"<html lang="en" dir="ltr">"#), "{english}");
        assert!(english.contains("<h1 data-part=\"heading\">Sign in</h1>"));

        // The OpenID request's ui_locales, carried in the return address, beat the header.
        let flow = get(
            "/sign-in?redirect_url=%2Foauth2%2Fauthorize%3Fclient_id%3Dweb%26ui_locales%3Dde%2520en",
            "fr",
        )
        .await;
        assert!(flow.contains(r#"<html lang="de""#), "{flow}");

        // Nothing offered matches: the default.
        let fallback = get("/sign-up", "ja").await;
        assert!(fallback.contains("Create your account"), "{fallback}");
        assert!(fallback.contains("At least 10 characters."), "{fallback}");

        // The picker's choice is remembered and beats the header.
        let mut client = Client::new(&app);
        let french = client.get("/sign-in?locale=fr").await;
        assert!(french.body.contains(r#"<html lang="fr""#), "{}", french.body);
        assert!(french.body.contains("Mot de passe oublié ?"));
        let again = client.get("/forgot-password").await;
        assert!(again.body.contains("Envoyer le lien"), "{}", again.body);
    })
    .await;
}

#[tokio::test]
async fn the_account_and_verify_pages_and_the_verification_mail_speak_german() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        client.accept_language = Some("de-DE, de;q=0.9, en;q=0.5".into());
        let page = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "gerda@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        // The verification mail speaks the visitor's language too, code and link as ever.
        let mail = last_mail(&app, "gerda@example.com");
        assert!(
            mail.subject
                .starts_with("Bestätigen Sie Ihre E-Mail-Adresse für"),
            "{}",
            mail.subject
        );
        assert!(
            mail.text.contains("Ihr Bestätigungscode für"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("10 Minuten"), "{}", mail.text);
        assert!(!mail.text.contains("verification code"), "{}", mail.text);
        assert!(mail.html.contains(r#"<html lang="de""#), "{}", mail.html);
        assert_eq!(code_in(&mail.text).len(), 6);
        assert!(
            crate::app::link_in(&app, &mail.text).starts_with("/verify-email?"),
            "{}",
            mail.text
        );
        let verify_path = page.location().to_owned();
        let verify = client.get(&verify_path).await;
        assert!(
            verify.body.contains(r#"<html lang="de""#),
            "{}",
            verify.body
        );
        assert!(
            verify.body.contains("Prüfen Sie Ihre E-Mails"),
            "{}",
            verify.body
        );
        assert!(verify.body.contains("Bestätigungscode"), "{}", verify.body);
        assert!(verify.body.contains("Neuen Code senden"), "{}", verify.body);
        assert!(!verify.body.contains("Check your email"), "{}", verify.body);

        // A wrong code: the reason is worded in German too.
        let wrong = client
            .submit(
                &verify_path,
                "/verify-email",
                &[("email", "gerda@example.com"), ("code", "000000")],
            )
            .await;
        assert!(
            wrong.body.contains("Dieser Code ist ungültig."),
            "{}",
            wrong.body
        );

        let code = code_in(&last_mail(&app, "gerda@example.com").text);
        let done = client
            .submit(
                &verify_path,
                "/verify-email",
                &[("email", "gerda@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

        let account = client.get("/account").await;
        assert_eq!(account.status, StatusCode::OK);
        assert!(account.body.contains(r#"<html lang="de""#));
        for german in [
            "<h1 data-part=\"heading\">Ihr Konto</h1>",
            "Angemeldet als <strong>gerda@example.com</strong>",
            ">Abmelden</button>",
            "Sitzungen",
            "gerade eben",
            "dieses Gerät",
            "Passwort ändern",
            "Aktuelles Passwort",
            "Bestätigungscode senden",
        ] {
            assert!(account.body.contains(german), "{german}: {}", account.body);
        }
        for english in [
            "Your account",
            "Signed in as",
            "Change password",
            "just now",
        ] {
            assert!(
                !account.body.contains(english),
                "{english}: {}",
                account.body
            );
        }

        let notice = client.get("/account?notice=session-revoked").await;
        assert!(
            notice.body.contains("Die Sitzung wurde abgemeldet."),
            "{}",
            notice.body
        );

        // Error pages too: the CSRF layer's refusal, and a handler's error.
        let refused = client.post("/account/password", &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            refused.body.contains("Anfrage abgelehnt"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains(r#"<html lang="de""#),
            "{}",
            refused.body
        );
        let token = account.csrf();
        let missing = client
            .post(
                "/account/identities/unlink",
                &[("csrf_token", &token), ("identity_id", "nope")],
            )
            .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("Nicht gefunden"), "{}", missing.body);
    })
    .await;
}

#[tokio::test]
async fn refused_openid_requests_are_worded_in_the_visitors_language() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        // The flow's ui_locales first.
        let french = client
            .get("/oauth2/authorize?client_id=nobody&response_type=code&ui_locales=fr")
            .await;
        assert_eq!(french.status, StatusCode::BAD_REQUEST);
        assert!(
            french.body.contains(r#"<html lang="fr""#),
            "{}",
            french.body
        );
        assert!(
            french
                .body
                .contains("Cette demande de connexion ne peut pas aboutir"),
            "{}",
            french.body
        );
        // Then Accept-Language.
        client.accept_language = Some("de".into());
        let german = client
            .get("/oauth2/end-session?client_id=nobody&post_logout_redirect_uri=https%3A%2F%2Fx.test%2F")
            .await;
        assert_eq!(german.status, StatusCode::BAD_REQUEST, "{}", german.body);
        assert!(
            german.body.contains("Abmeldeanfrage abgelehnt"),
            "{}",
            german.body
        );
        // No preference: English as before.
        client.accept_language = None;
        let english = client.get("/oauth2/authorize?response_type=code").await;
        assert!(
            english
                .body
                .contains("The request names no application (client_id is missing)."),
            "{}",
            english.body
        );
    })
    .await;
}
