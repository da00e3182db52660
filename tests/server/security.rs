//! Negative tests for the SECURITY.md items of the password, login, recovery and session groups,
//! each named after the rule it checks, on every backend.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;

use crate::app::{Client, PASSWORD, code_in, last_mail, signed_up, spawn_app, spawn_app_with};
use crate::support::each_backend;

#[tokio::test]
async fn session_cookie_flags_are_exact() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let client = signed_up(&app, "flags@example.com").await;
        let session = client
            .set_cookies
            .iter()
            .find(|c| c.starts_with("__Host-vestibule_session="))
            .expect("session cookie set");
        let (pair, attributes) = session.split_once("; ").expect("attributes");
        let token = pair.trim_start_matches("__Host-vestibule_session=");
        assert_eq!(token.len(), 43, "256 random bits, base64url");
        assert_eq!(
            attributes,
            "Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=86400"
        );
        assert!(session.len() < 4096);
        let csrf = client
            .set_cookies
            .iter()
            .find(|c| c.starts_with("__Host-vestibule_csrf="))
            .expect("csrf cookie");
        assert!(
            csrf.ends_with("; Path=/; Secure; HttpOnly; SameSite=Lax"),
            "{csrf}"
        );
        // Only a hash of the token is stored.
        let hash = vestibule::crypto::token_hash(token);
        assert!(
            app.state
                .auth
                .store
                .session_by_token_hash(token)
                .await
                .expect("db")
                .is_none()
        );
        assert!(
            app.state
                .auth
                .store
                .session_by_token_hash(&hash)
                .await
                .expect("db")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn cross_site_post_without_token_is_refused() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        let token = client.get("/sign-up").await.csrf();
        let form = [("email", "csrf@example.com"), ("password", PASSWORD)];
        // No token at all.
        assert_eq!(
            client.post("/sign-up", &form).await.status,
            StatusCode::FORBIDDEN
        );
        // A token that is not this browser's.
        let mut forged = form.to_vec();
        forged.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert_eq!(
            client.post("/sign-up", &forged).await.status,
            StatusCode::FORBIDDEN
        );
        // The right token, but from another site (Origin and Fetch Metadata).
        let mut with_token = form.to_vec();
        with_token.push(("csrf_token", &token));
        let evil = client
            .post_with(
                "/sign-up",
                &with_token,
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(evil.status, StatusCode::FORBIDDEN);
        let cross = client
            .post_with("/sign-up", &with_token, &[("sec-fetch-site", "cross-site")])
            .await;
        assert_eq!(cross.status, StatusCode::FORBIDDEN);
        assert!(
            app.state
                .auth
                .store
                .user_by_email("csrf@example.com")
                .await
                .expect("db")
                .is_none(),
            "nothing was created"
        );
        // And the same request from our own page goes through.
        assert_eq!(
            client.post("/sign-up", &with_token).await.status,
            StatusCode::SEE_OTHER
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_responses_are_identical() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "known@example.com").await;
        let mut client = Client::new(&app);
        let token = client.get("/sign-in").await.csrf();
        let wrong = client
            .sign_in(&token, "known@example.com", "wrong password 123")
            .await;
        let again = client
            .sign_in(&token, "known@example.com", "wrong password 123")
            .await;
        let nobody = client
            .sign_in(&token, "nobody@example.com", "wrong password 123")
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.status, nobody.status);
        // Bodies differ only in the echoed address; with it swapped they are byte-identical.
        // Repeatable: nothing in the failure page depends on the attempt.
        assert_eq!(wrong.body, again.body);
        assert_eq!(
            wrong.body.replace("known@example.com", "X"),
            nobody.body.replace("nobody@example.com", "X")
        );
        assert!(wrong.body.contains("Incorrect email or password."));
    })
    .await;
}

#[tokio::test]
async fn repeated_bad_passwords_are_throttled_and_the_lock_survives_a_restart() {
    each_backend(async |store| {
        let app = spawn_app(store.clone()).await;
        signed_up(&app, "target@example.com").await;
        let mut attacker = Client::new(&app);
        let token = attacker.get("/sign-in").await.csrf();
        for _ in 0..10 {
            let page = attacker
                .sign_in(&token, "target@example.com", "guess guess guess")
                .await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        }
        let locked = attacker
            .sign_in(&token, "target@example.com", PASSWORD)
            .await;
        assert_eq!(
            locked.status,
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password waits"
        );
        assert!(locked.headers.contains_key("retry-after"));
        // The counter is in the database: a new server (another replica, or after a restart)
        // sees it too.
        drop(app);
        let app = spawn_app(store).await;
        let mut owner = Client::new(&app);
        let page = owner
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "target@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        // The documented way out (SECURITY 10): a password reset lifts the lock.
        let (form_csrf, reset_token) =
            crate::app::open_reset_link(&app, &mut owner, "target@example.com").await;
        owner
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &form_csrf),
                    ("token", &reset_token),
                    ("new_password", "fresh long passphrase"),
                ],
            )
            .await;
        let page = owner
            .submit(
                "/sign-in",
                "/sign-in",
                &[
                    ("email", "target@example.com"),
                    ("password", "fresh long passphrase"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn lockout_applies_equally_to_unknown_addresses() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        let token = client.get("/sign-in").await.csrf();
        for _ in 0..10 {
            client
                .sign_in(&token, "ghost@example.com", "guess guess guess")
                .await;
        }
        let page = client
            .sign_in(&token, "ghost@example.com", "guess guess guess")
            .await;
        assert_eq!(
            page.status,
            StatusCode::TOO_MANY_REQUESTS,
            "no difference between known and unknown addresses"
        );
    })
    .await;
}

#[tokio::test]
async fn reused_verification_code_is_rejected() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = signed_up(&app, "once@example.com").await;
        let code = code_in(&last_mail(&app, "once@example.com").text);
        let again = client
            .submit(
                "/verify-email?email=once%40example.com",
                "/verify-email",
                &[("email", "once@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.body.contains("That code is not valid."));
    })
    .await;
}

#[tokio::test]
async fn verification_code_attempts_are_limited() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "guess@example.com"), ("password", PASSWORD)],
            )
            .await;
        let code = code_in(&last_mail(&app, "guess@example.com").text);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let page = client
                .submit(
                    "/verify-email?email=guess%40example.com",
                    "/verify-email",
                    &[("email", "guess@example.com"), ("code", wrong)],
                )
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let right = client
            .submit(
                "/verify-email?email=guess%40example.com",
                "/verify-email",
                &[("email", "guess@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(
            right.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "after 5 wrong guesses the code is dead"
        );
    })
    .await;
}

#[tokio::test]
async fn verification_code_expires_after_ten_minutes() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "slow@example.com"), ("password", PASSWORD)],
            )
            .await;
        let code = code_in(&last_mail(&app, "slow@example.com").text);
        app.state.auth.clock.advance(10 * 60 * 1000 + 1);
        let page = client
            .submit(
                "/verify-email?email=slow%40example.com",
                "/verify-email",
                &[("email", "slow@example.com"), ("code", &code)],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn used_reset_link_fails() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "link@example.com").await;
        let mut client = Client::new(&app);
        let (form_csrf, token) =
            crate::app::open_reset_link(&app, &mut client, "link@example.com").await;
        let first = client
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &form_csrf),
                    ("token", &token),
                    ("new_password", "first new passphrase"),
                ],
            )
            .await;
        assert_eq!(first.status, StatusCode::OK);
        let second = client
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &form_csrf),
                    ("token", &token),
                    ("new_password", "second new passphrase"),
                ],
            )
            .await;
        assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(second.body.contains("not valid any more"));
    })
    .await;
}

#[tokio::test]
async fn reset_link_expires_after_ten_minutes() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "late@example.com").await;
        let mut client = Client::new(&app);
        let (form_csrf, token) =
            crate::app::open_reset_link(&app, &mut client, "late@example.com").await;
        app.state.auth.clock.advance(10 * 60 * 1000 + 1);
        let page = client
            .post(
                "/reset-password",
                &[
                    ("csrf_token", &form_csrf),
                    ("token", &token),
                    ("new_password", "too late passphrase"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    })
    .await;
}

#[tokio::test]
async fn forgot_password_does_not_reveal_accounts() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "exists@example.com").await;
        let mut client = Client::new(&app);
        let token = client.get("/forgot-password").await.csrf();
        let known = client
            .post(
                "/forgot-password",
                &[("csrf_token", &token), ("email", "exists@example.com")],
            )
            .await;
        let unknown = client
            .post(
                "/forgot-password",
                &[("csrf_token", &token), ("email", "absent@example.com")],
            )
            .await;
        assert_eq!(known.status, unknown.status);
        assert_eq!(known.body, unknown.body);
        // The owner of the unknown address learns why they got mail, but gets no link.
        let note = last_mail(&app, "absent@example.com");
        assert!(!note.text.contains("/reset-password"));
    })
    .await;
}

#[tokio::test]
async fn sign_up_does_not_reveal_existing_accounts() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "taken@example.com").await;
        let mut client = Client::new(&app);
        let taken = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("email", "taken@example.com"),
                    ("password", "some other passphrase"),
                ],
            )
            .await;
        let fresh = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("email", "fresh@example.com"),
                    ("password", "some other passphrase"),
                ],
            )
            .await;
        assert_eq!(taken.status, fresh.status);
        assert_eq!(
            taken.location().replace("taken", "X"),
            fresh.location().replace("fresh", "X")
        );
        // The existing account's password is untouched.
        let mut owner = Client::new(&app);
        let page = owner
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", "taken@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn passwords_follow_the_policy() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        let short = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "p1@example.com"), ("password", "short")],
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            short.body.contains("10"),
            "says the minimum: {}",
            short.body
        );
        let common = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", "p2@example.com"), ("password", "password1234")],
            )
            .await;
        assert_eq!(common.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Long, Unicode, with spaces: accepted and verified byte-exact (SECURITY 3).
        let long =
            "  Ünïcödé pässphrase with spaces and 😀 emoji, well past sixty-four characters long  ";
        assert!(long.chars().count() > 64);
        let email = "p3@example.com";
        let ok = client
            .submit(
                "/sign-up",
                "/sign-up",
                &[("email", email), ("password", long)],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        let code = code_in(&last_mail(&app, email).text);
        let verify = ok.location().to_owned();
        client
            .submit(
                &verify,
                "/verify-email",
                &[("email", email), ("code", &code)],
            )
            .await;
        let mut other = Client::new(&app);
        let trimmed = other
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", long.trim())],
            )
            .await;
        assert_eq!(trimmed.status, StatusCode::UNAUTHORIZED, "no trimming");
        let exact = other
            .submit(
                "/sign-in",
                "/sign-in",
                &[("email", email), ("password", long)],
            )
            .await;
        assert_eq!(exact.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn new_session_at_sign_in_kills_the_previous_one() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = signed_up(&app, "fix@example.com").await;
        let before = client.session().cloned().expect("session");
        // Signing in again while signed in (the sign-in page itself redirects, so take the
        // token from another page of this browser).
        let token = client.get("/sign-up").await.csrf();
        let page = client.sign_in(&token, "fix@example.com", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let after = client.session().cloned().expect("session");
        assert_ne!(before, after, "a new token at sign-in");
        let mut stale = Client::new(&app);
        stale
            .cookies
            .insert("__Host-vestibule_session".into(), before);
        assert_eq!(
            stale.get("/account").await.status,
            StatusCode::SEE_OTHER,
            "the old token is dead"
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_time_out_when_idle_and_at_their_absolute_lifetime() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut idle = signed_up(&app, "idle@example.com").await;
        app.state.auth.clock.advance(61 * 60 * 1000);
        assert_eq!(
            idle.get("/account").await.status,
            StatusCode::SEE_OTHER,
            "idle for more than 1 h"
        );

        let mut busy = signed_up(&app, "busy@example.com").await;
        for _ in 0..25 {
            app.state.auth.clock.advance(59 * 60 * 1000);
            if busy.get("/account").await.status != StatusCode::OK {
                break;
            }
        }
        // 25 × 59 min > 24 h: activity never extends a session past its lifetime.
        assert_eq!(busy.get("/account").await.status, StatusCode::SEE_OTHER);
    })
    .await;
}

#[tokio::test]
async fn redirect_url_cannot_leave_allowed_origins() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        signed_up(&app, "nav@example.com").await;
        for (target, expected) in [
            ("https://evil.example/steal", "/account"),
            ("//evil.example/steal", "/account"),
            ("/\\evil.example", "/account"),
            ("javascript:alert(1)", "/account"),
            ("/account?tab=sessions", "/account?tab=sessions"),
            // The quickstart application's origin is registered.
            ("http://localhost:3000/after", "http://localhost:3000/after"),
        ] {
            let mut client = Client::new(&app);
            let page = client
                .submit(
                    "/sign-in",
                    "/sign-in",
                    &[
                        ("email", "nav@example.com"),
                        ("password", PASSWORD),
                        ("redirect_url", target),
                    ],
                )
                .await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{target}");
            assert_eq!(page.location(), expected, "{target}");
        }
    })
    .await;
}

#[tokio::test]
async fn security_headers_are_set() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        let page = client.get("/sign-in").await;
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "default-src 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        // Forms post to ourselves, and the redirects after them may reach the registered
        // client addresses only (the quickstart's demo-app), as browsers apply form-action to
        // them.
        let form_action = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("form-action"))
            .unwrap_or_default();
        assert_eq!(
            form_action, "form-action 'self' http://localhost:3000",
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("cache-control"), "no-store");
        // HSTS only over TLS: this test server is plain http.
        assert!(page.headers.get("strict-transport-security").is_none());
    })
    .await;
}

#[tokio::test]
async fn hsts_is_sent_for_an_https_issuer() {
    each_backend(async |store| {
        let app = spawn_app_with(store, |c| c.issuer = "https://auth.example.com".into()).await;
        let page = Client::new(&app).get("/healthz").await;
        let hsts = page
            .headers
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok());
        assert_eq!(hsts, Some("max-age=31536000; includeSubDomains"));
    })
    .await;
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        let token = client.get("/sign-in").await.csrf();
        // Missing fields: the form re-renders with a message, not a 500.
        let empty = client.post("/sign-in", &[("csrf_token", &token)]).await;
        assert_eq!(empty.status, StatusCode::UNAUTHORIZED);
        // An oversized body is refused before any handler runs.
        let huge = "x".repeat(100 * 1024);
        let big = client
            .post("/sign-in", &[("csrf_token", &token), ("email", &huge)])
            .await;
        assert!(big.status.is_client_error(), "{}", big.status);
        assert_eq!(
            client.get("/no-such-page").await.status,
            StatusCode::NOT_FOUND
        );
        let garbage_token = client.get("/reset-password?token=%00%ff").await;
        assert_eq!(garbage_token.status, StatusCode::OK);
    })
    .await;
}

/// Asks for a password reset as the visitor at `forwarded_for` (one more hop appended by the
/// reverse proxy the test client plays).
async fn ask_reset(client: &mut Client, token: &str, forwarded_for: &str) -> StatusCode {
    let origin = client.base.clone();
    client
        .post_with(
            "/forgot-password",
            &[("email", "someone@example.com"), ("csrf_token", token)],
            &[("origin", &origin), ("x-forwarded-for", forwarded_for)],
        )
        .await
        .status
}

#[tokio::test]
async fn per_address_limits_follow_forwarded_for_only_from_trusted_proxies() {
    each_backend(async |store| {
        // Behind a trusted ingress: the test connects from 127.0.0.1, which plays the ingress.
        let app = spawn_app_with(store.clone(), |c| {
            c.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
        })
        .await;
        let mut ingress = Client::new(&app);
        let token = ingress.get("/forgot-password").await.csrf();
        for _ in 0..20 {
            assert_eq!(
                ask_reset(&mut ingress, &token, "203.0.113.1").await,
                StatusCode::OK
            );
        }
        assert_eq!(
            ask_reset(&mut ingress, &token, "203.0.113.1").await,
            StatusCode::TOO_MANY_REQUESTS,
            "the visitor's own limit"
        );
        // Another visitor behind the same ingress has a budget of their own.
        assert_eq!(
            ask_reset(&mut ingress, &token, "203.0.113.2").await,
            StatusCode::OK
        );
        // A forged entry on the left does not escape: the ingress appended the real address.
        assert_eq!(
            ask_reset(&mut ingress, &token, "198.51.100.77, 203.0.113.1").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        drop(app);

        // No trusted proxies (the default): the header is ignored, whatever it claims, and
        // every request counts against the connection's address.
        let app = spawn_app_with(store, |_| {}).await;
        let mut direct = Client::new(&app);
        let token = direct.get("/forgot-password").await.csrf();
        for i in 0..20 {
            let forged = format!("192.0.2.{i}");
            assert_eq!(
                ask_reset(&mut direct, &token, &forged).await,
                StatusCode::OK
            );
        }
        assert_eq!(
            ask_reset(&mut direct, &token, "192.0.2.200").await,
            StatusCode::TOO_MANY_REQUESTS,
            "rotating a forged X-Forwarded-For does not reset the limit"
        );
    })
    .await;
}

/// A stand-in for the Pwned Passwords range API (the real one is not reachable from here): it
/// knows `breached` and records every request line and `Add-Padding` header it receives.
async fn range_api(breached: &'static [&'static str]) -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::extract::Path;
    use axum::http::HeaderMap;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/range/{prefix}",
        axum::routing::get(move |Path(prefix): Path<String>, headers: HeaderMap| {
            let log = log.clone();
            async move {
                let padding = headers
                    .get("add-padding")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("absent")
                    .to_owned();
                log.lock()
                    .expect("lock")
                    .push(format!("/range/{prefix} add-padding={padding}"));
                let mut body = String::new();
                for password in breached {
                    let (p, suffix) = vestibule::auth::password::breach::range_key(password);
                    if p == prefix {
                        body.push_str(&format!("{suffix}:42\r\n"));
                    }
                }
                // A padding entry, as the real API sends.
                body.push_str("00000000000000000000000000000000000:0\r\n");
                body
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

const BREACHED_PASSPHRASE: &str = "velvet thunder over quiet harbors";

#[tokio::test]
async fn breached_passwords_are_refused_with_only_a_hash_prefix_sent() {
    each_backend(async |store| {
        let (url, seen) = range_api(&[BREACHED_PASSPHRASE]).await;
        let app = spawn_app_with(store, move |c| {
            c.passwords.breach_check = true;
            c.passwords.breach_check_url = Some(url);
        })
        .await;
        let mut visitor = Client::new(&app);
        let page = visitor
            .submit(
                "/sign-up",
                "/sign-up",
                &[
                    ("email", "pwned@example.com"),
                    ("password", BREACHED_PASSPHRASE),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("appeared in a data breach"),
            "{}",
            page.body
        );
        assert!(
            app.state
                .auth
                .store
                .user_by_email("pwned@example.com")
                .await
                .unwrap()
                .is_none(),
            "no account is created"
        );
        // A clean password goes through (the quickstart's test passphrase).
        signed_up(&app, "clean@example.com").await;

        // k-anonymity: 5 hex digits of the SHA-1 per check, padding asked for, nothing else.
        let requests = seen.lock().expect("lock").clone();
        assert_eq!(requests.len(), 2, "{requests:?}");
        let (prefix, suffix) = vestibule::auth::password::breach::range_key(BREACHED_PASSPHRASE);
        assert_eq!(requests[0], format!("/range/{prefix} add-padding=true"));
        assert!(
            requests
                .iter()
                .all(|r| !r.contains(&suffix) && !r.contains("velvet"))
        );
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_range_api_does_not_block_sign_up() {
    each_backend(async |store| {
        // A port nobody listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", closed.local_addr().expect("addr"));
        drop(closed);
        let app = spawn_app_with(store, move |c| {
            c.passwords.breach_check = true;
            c.passwords.breach_check_url = Some(url);
        })
        .await;
        // Fails open: the length rule and the built-in blocklist still applied. Counted, so
        // an outage of the range API can page someone.
        signed_up(&app, "outage@example.com").await;
        assert!(
            app.state
                .metrics
                .render()
                .contains("vestibule_breach_checks_total{result=\"skipped\"} 1"),
            "{}",
            app.state.metrics.render()
        );
    })
    .await;
}

#[tokio::test]
async fn the_oauth_face_answers_json_outside_the_pages_csrf_rules() {
    each_backend(async |store| {
        let app = spawn_app(store).await;
        let mut client = Client::new(&app);
        // A program's cross-site POST without any CSRF token: the pages face would refuse it
        // with its HTML 403; the OAuth face answers in its own JSON shape (here: no client).
        let token = client
            .post_with(
                "/oauth2/token",
                &[("grant_type", "authorization_code"), ("code", "x")],
                &[("origin", "https://app.example")],
            )
            .await;
        assert_eq!(token.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            token
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let body: serde_json::Value = serde_json::from_str(&token.body).expect("JSON body");
        assert_eq!(body["error"], "invalid_client");
        // RFC 6749 §5.1: never cached; and no page cookie is handed out here.
        assert_eq!(
            token
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        assert!(token.headers.get("set-cookie").is_none());
        // The headers every face shares still apply.
        assert_eq!(
            token
                .headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
        let unserved = client.get("/oauth2/device_authorization").await;
        assert_eq!(unserved.status, StatusCode::NOT_FOUND);
        assert!(unserved.body.starts_with('{'), "{}", unserved.body);
        // The same kind of POST to a page is still refused by the CSRF check.
        let page = client
            .post_with(
                "/sign-in",
                &[("email", "a@example.com"), ("password", PASSWORD)],
                &[("origin", "https://app.example")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.body.contains("<html"), "{}", page.body);
        // Unknown paths outside the OAuth face belong to the pages and their CSRF check.
        let unknown = client
            .post_with("/no-such-page", &[], &[("origin", "https://app.example")])
            .await;
        assert_eq!(unknown.status, StatusCode::FORBIDDEN);
        assert_eq!(
            client.get("/no-such-page").await.status,
            StatusCode::NOT_FOUND
        );
    })
    .await;
}
