//! The storage layer, against every available backend (see `support`). Each test is named after
//! the rule it checks.

use sqlx::{Connection, Executor};
use vestibule::store::{
    Backend, CodeOutcome, Identity, NewIdentity, NewSession, NewToken, Store, StoreError, Token,
    TokenPurpose, User,
};

use crate::support::{self, TEST_POOL_SIZE, each_backend};

/// An arbitrary "now": 2023-11-14T22:13:20Z in Unix milliseconds.
const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const MAX_ATTEMPTS: i64 = 3;

async fn user(store: &Store, email: &str) -> User {
    match store
        .create_user_with_email(email, "$argon2id$stub", T0)
        .await
    {
        Ok(user) => user,
        Err(e) => panic!("creating {email}: {e}"),
    }
}

fn new_token(
    user: &User,
    purpose: TokenPurpose,
    code: Option<&str>,
    link: &str,
    now: i64,
) -> NewToken {
    NewToken {
        user_id: user.id.clone(),
        purpose,
        email: user.email.clone(),
        code_hash: code.map(str::to_owned),
        link_hash: link.to_owned(),
        expires_at: now + 10 * MINUTE,
        now,
    }
}

async fn issue(
    store: &Store,
    user: &User,
    purpose: TokenPurpose,
    code: &str,
    link: &str,
    now: i64,
) -> Token {
    store
        .issue_token(&new_token(user, purpose, Some(code), link, now))
        .await
        .expect("issue token")
}

async fn consume(store: &Store, user: &User, code: &str, now: i64) -> CodeOutcome {
    store
        .consume_code(&user.id, TokenPurpose::VerifyEmail, code, MAX_ATTEMPTS, now)
        .await
        .expect("consume code")
}

fn new_session(user: &User, token_hash: &str, now: i64) -> NewSession {
    NewSession {
        token_hash: token_hash.to_owned(),
        user_id: user.id.clone(),
        factors: vec!["password".to_owned()],
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("test-agent/1.0".to_owned()),
        identity_id: None,
        organization_id: None,
        expires_at: now + 24 * 60 * MINUTE,
        now,
    }
}

async fn session(
    store: &Store,
    user: &User,
    token_hash: &str,
    now: i64,
) -> vestibule::store::Session {
    store
        .create_session(&new_session(user, token_hash, now))
        .await
        .expect("create session")
}

fn live_session_ids(sessions: &[vestibule::store::Session]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Connecting and migrations

#[tokio::test]
async fn store_reports_its_backend_and_answers_ping() {
    for t in support::stores().await {
        assert_eq!(t.store.backend(), t.database.backend);
        t.store.ping().await.expect("ping");
    }
}

#[tokio::test]
async fn unsupported_database_url_is_rejected_without_echoing_credentials() {
    let err = Store::connect("mysql://admin:hunter2@db.example/auth", 1)
        .await
        .expect_err("mysql is not a supported backend");
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("mysql"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn migrations_run_twice_are_a_no_op() {
    for database in support::fresh_databases().await {
        let backend = database.backend;
        let first = Store::connect(&database.url, TEST_POOL_SIZE)
            .await
            .expect("first connect");
        let created = user(&first, "kept@example.com").await;
        drop(first);

        let second = Store::connect(&database.url, TEST_POOL_SIZE)
            .await
            .expect("second connect");
        assert_eq!(
            second
                .user_by_email("kept@example.com")
                .await
                .expect("lookup"),
            Some(created),
            "{backend:?}: data survives a second connect"
        );
        drop(second);

        // Each migration is recorded once, however often the server starts.
        let dir = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let files = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .expect("migrations dir")
            .count();
        let pool = sqlx::AnyPool::connect(&database.url)
            .await
            .expect("raw connect");
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .expect("count migrations");
        pool.close().await;
        assert_eq!(applied, i64::try_from(files).expect("count"), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_to_a_fresh_postgres_database_both_succeed() {
    let Some(database) = support::fresh_postgres_database().await else {
        return; // notice already printed; VESTIBULE_STRICT=1 makes this a failure instead
    };
    let (a, b) = tokio::join!(
        Store::connect(&database.url, TEST_POOL_SIZE),
        Store::connect(&database.url, TEST_POOL_SIZE),
    );
    let (a, b) = (a.expect("first server"), b.expect("second server"));
    // Both see one schema: a user created through one is found through the other.
    let created = user(&a, "both@example.com").await;
    assert_eq!(
        b.user_by_id(&created.id).await.expect("lookup"),
        Some(created)
    );
}

#[tokio::test]
async fn sqlite_database_is_created_in_wal_mode() {
    let database = support::fresh_sqlite_database();
    let _store = Store::connect(&database.url, 1).await.expect("connect");
    let pool = sqlx::AnyPool::connect(&database.url)
        .await
        .expect("raw connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .expect("journal mode");
    pool.close().await;
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn session_for_a_nonexistent_user_is_refused() {
    // Foreign keys are enforced on both backends (SQLite only when the connection enables them).
    each_backend(async |store| {
        let ghost = User {
            id: "00000000000000000000000000000000".to_owned(),
            email: "ghost@example.com".to_owned(),
            email_verified_at: None,
            password_hash: None,
            name: None,
            picture: None,
            created_at: T0,
            updated_at: T0,
        };
        let result = store
            .create_session(&new_session(&ghost, "ghost-session", T0))
            .await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Users

#[tokio::test]
async fn created_user_is_found_by_email_and_by_id() {
    each_backend(async |store| {
        let created = user(&store, "ada@example.com").await;
        assert_eq!(created.id.len(), 32);
        assert!(created.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(created.email, "ada@example.com");
        assert_eq!(created.email_verified_at, None);
        assert_eq!(created.password_hash.as_deref(), Some("$argon2id$stub"));
        assert_eq!((created.created_at, created.updated_at), (T0, T0));

        assert_eq!(
            store.user_by_email("ada@example.com").await.unwrap(),
            Some(created.clone())
        );
        assert_eq!(store.user_by_id(&created.id).await.unwrap(), Some(created));
        assert_eq!(
            store.user_by_email("nobody@example.com").await.unwrap(),
            None
        );
        assert_eq!(store.user_by_id("nobody").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn duplicate_email_is_rejected_as_taken() {
    each_backend(async |store| {
        let first = user(&store, "taken@example.com").await;
        let second = store
            .create_user_with_email("taken@example.com", "other", T0 + 1)
            .await;
        assert!(matches!(second, Err(StoreError::EmailTaken)), "{second:?}");
        // The first account is untouched.
        assert_eq!(
            store.user_by_email("taken@example.com").await.unwrap(),
            Some(first)
        );
    })
    .await;
}

#[tokio::test]
async fn verifying_an_email_records_the_first_verification_time() {
    each_backend(async |store| {
        let u = user(&store, "v@example.com").await;
        store.mark_email_verified(&u.id, T0 + 5).await.unwrap();
        store.mark_email_verified(&u.id, T0 + 9).await.unwrap();
        let u = store.user_by_id(&u.id).await.unwrap().unwrap();
        assert_eq!(u.email_verified_at, Some(T0 + 5));
        assert_eq!(u.updated_at, T0 + 9);
    })
    .await;
}

#[tokio::test]
async fn rehashing_a_password_keeps_sessions() {
    each_backend(async |store| {
        let u = user(&store, "rehash@example.com").await;
        session(&store, &u, "s1", T0).await;
        store
            .set_password_hash(&u.id, "$argon2id$stronger", T0 + 1)
            .await
            .unwrap();
        let u = store.user_by_id(&u.id).await.unwrap().unwrap();
        assert_eq!(u.password_hash.as_deref(), Some("$argon2id$stronger"));
        assert_eq!(u.updated_at, T0 + 1);
        assert!(store.session_by_token_hash("s1").await.unwrap().is_some());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Single-use tokens

#[tokio::test]
async fn right_verification_code_consumes_the_token() {
    each_backend(async |store| {
        let u = user(&store, "code@example.com").await;
        let issued = issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        let CodeOutcome::Consumed(token) = consume(&store, &u, "c-right", T0 + 1).await else {
            panic!("right code must consume");
        };
        assert_eq!(token.id, issued.id);
        assert_eq!(token.user_id, u.id);
        assert_eq!(token.purpose, TokenPurpose::VerifyEmail);
        assert_eq!(token.email, u.email);
        assert_eq!(token.attempts, 1);
        assert_eq!(token.consumed_at, Some(T0 + 1));
    })
    .await;
}

#[tokio::test]
async fn wrong_code_counts_an_attempt_and_reports_attempts_left() {
    each_backend(async |store| {
        let u = user(&store, "wrong@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        assert_eq!(consume(&store, &u, "c-wrong", T0 + 1).await, CodeOutcome::Mismatch { attempts_left: 2 });
        assert_eq!(consume(&store, &u, "c-wrong", T0 + 2).await, CodeOutcome::Mismatch { attempts_left: 1 });
        // A miss does not consume: the right code still works within the budget.
        assert!(matches!(consume(&store, &u, "c-right", T0 + 3).await, CodeOutcome::Consumed(t) if t.attempts == 3));
    })
    .await;
}

#[tokio::test]
async fn code_is_refused_after_max_attempts_even_when_right() {
    each_backend(async |store| {
        let u = user(&store, "brute@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        for _ in 0..MAX_ATTEMPTS {
            assert!(matches!(
                consume(&store, &u, "c-wrong", T0 + 1).await,
                CodeOutcome::Mismatch { .. }
            ));
        }
        assert_eq!(
            consume(&store, &u, "c-right", T0 + 2).await,
            CodeOutcome::TooManyAttempts
        );
        assert_eq!(
            consume(&store, &u, "c-wrong", T0 + 3).await,
            CodeOutcome::TooManyAttempts
        );
        let latest = store
            .latest_token(&u.id, TokenPurpose::VerifyEmail)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            latest.attempts, MAX_ATTEMPTS,
            "refused attempts are not counted beyond the limit"
        );
        assert_eq!(latest.consumed_at, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_never_exceed_max_attempts() {
    each_backend(async |store| {
        let u = user(&store, "race@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        let guesses: Vec<_> = (0..200)
            .map(|i| {
                let (store, user_id) = (store.clone(), u.id.clone());
                tokio::spawn(async move {
                    store
                        .consume_code(
                            &user_id,
                            TokenPurpose::VerifyEmail,
                            &format!("c-{i}"),
                            MAX_ATTEMPTS,
                            T0 + 1,
                        )
                        .await
                })
            })
            .collect();
        let mut mismatches = 0;
        for guess in guesses {
            match guess.await.expect("task").expect("consume") {
                CodeOutcome::Mismatch { .. } => mismatches += 1,
                CodeOutcome::TooManyAttempts => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(mismatches, MAX_ATTEMPTS);
        let latest = store
            .latest_token(&u.id, TokenPurpose::VerifyEmail)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.attempts, MAX_ATTEMPTS);
    })
    .await;
}

#[tokio::test]
async fn reused_verification_code_is_rejected() {
    each_backend(async |store| {
        let u = user(&store, "reuse@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        assert!(matches!(
            consume(&store, &u, "c-right", T0 + 1).await,
            CodeOutcome::Consumed(_)
        ));
        assert_eq!(
            consume(&store, &u, "c-right", T0 + 2).await,
            CodeOutcome::NoToken
        );
        // Its link is spent with it.
        assert_eq!(
            store
                .consume_link(TokenPurpose::VerifyEmail, "l1", T0 + 3)
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn expired_code_is_rejected() {
    each_backend(async |store| {
        let u = user(&store, "late@example.com").await;
        let t = issue(&store, &u, TokenPurpose::VerifyEmail, "c-right", "l1", T0).await;
        assert_eq!(
            consume(&store, &u, "c-right", t.expires_at).await,
            CodeOutcome::Expired
        );
        assert_eq!(
            consume(&store, &u, "c-right", t.expires_at + MINUTE).await,
            CodeOutcome::Expired
        );
    })
    .await;
}

#[tokio::test]
async fn issuing_a_new_token_invalidates_the_older_one() {
    each_backend(async |store| {
        let u = user(&store, "again@example.com").await;
        let old = issue(&store, &u, TokenPurpose::VerifyEmail, "c-old", "l-old", T0).await;
        let new = issue(&store, &u, TokenPurpose::VerifyEmail, "c-new", "l-new", T0 + 1).await;
        assert_ne!(old.id, new.id);
        // The old code is compared against the new token (and misses); the old link is dead.
        assert!(matches!(consume(&store, &u, "c-old", T0 + 2).await, CodeOutcome::Mismatch { .. }));
        assert_eq!(store.consume_link(TokenPurpose::VerifyEmail, "l-old", T0 + 2).await.unwrap(), None);
        assert!(matches!(consume(&store, &u, "c-new", T0 + 3).await, CodeOutcome::Consumed(t) if t.id == new.id));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_issues_leave_exactly_one_live_token() {
    each_backend(async |store| {
        let u = user(&store, "resend@example.com").await;
        let issues: Vec<_> = (0..50)
            .map(|i| {
                let (store, u) = (store.clone(), u.clone());
                tokio::spawn(async move {
                    let link = format!("l-{i}");
                    store
                        .issue_token(&new_token(&u, TokenPurpose::VerifyEmail, None, &link, T0))
                        .await
                })
            })
            .collect();
        for issue in issues {
            issue.await.expect("task").expect("every issue succeeds");
        }
        let mut live = 0;
        for i in 0..50 {
            let link = format!("l-{i}");
            if store
                .consume_link(TokenPurpose::VerifyEmail, &link, T0 + 1)
                .await
                .unwrap()
                .is_some()
            {
                live += 1;
            }
        }
        assert_eq!(live, 1);
    })
    .await;
}

#[tokio::test]
async fn issuing_a_token_leaves_tokens_of_other_purposes_alone() {
    each_backend(async |store| {
        let u = user(&store, "purposes@example.com").await;
        issue(
            &store,
            &u,
            TokenPurpose::VerifyEmail,
            "c-verify",
            "l-verify",
            T0,
        )
        .await;
        issue(
            &store,
            &u,
            TokenPurpose::ResetPassword,
            "c-reset",
            "l-reset",
            T0 + 1,
        )
        .await;
        assert!(matches!(
            consume(&store, &u, "c-verify", T0 + 2).await,
            CodeOutcome::Consumed(_)
        ));
        assert!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 2)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn link_works_once() {
    each_backend(async |store| {
        let u = user(&store, "link@example.com").await;
        let issued = issue(&store, &u, TokenPurpose::ResetPassword, "c", "l-reset", T0).await;
        let used = store
            .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 1)
            .await
            .unwrap();
        let used = used.expect("first use succeeds");
        assert_eq!(used.id, issued.id);
        assert_eq!(used.user_id, u.id);
        assert_eq!(used.consumed_at, Some(T0 + 1));
        assert_eq!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 2)
                .await
                .unwrap(),
            None
        );
        // The code of a token used by its link is spent too.
        let code = store
            .consume_code(
                &u.id,
                TokenPurpose::ResetPassword,
                "c",
                MAX_ATTEMPTS,
                T0 + 3,
            )
            .await
            .unwrap();
        assert_eq!(code, CodeOutcome::NoToken);
    })
    .await;
}

#[tokio::test]
async fn expired_link_is_rejected() {
    each_backend(async |store| {
        let u = user(&store, "oldlink@example.com").await;
        let t = issue(&store, &u, TokenPurpose::ResetPassword, "c", "l-reset", T0).await;
        assert_eq!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", t.expires_at)
                .await
                .unwrap(),
            None
        );
        // Still unconsumed (and still expired): resend throttling sees it as the latest.
        let latest = store
            .latest_token(&u.id, TokenPurpose::ResetPassword)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(latest.consumed_at, None);
    })
    .await;
}

#[tokio::test]
async fn link_for_one_purpose_is_rejected_for_another() {
    each_backend(async |store| {
        let u = user(&store, "flow@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c", "l-verify", T0).await;
        assert_eq!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-verify", T0 + 1)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .consume_link(TokenPurpose::ChangeEmail, "l-verify", T0 + 1)
                .await
                .unwrap(),
            None
        );
        // Refusal did not spend it for its own flow.
        assert!(
            store
                .consume_link(TokenPurpose::VerifyEmail, "l-verify", T0 + 2)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn token_of_one_user_cannot_be_consumed_for_another() {
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        let bob = user(&store, "bob@example.com").await;
        issue(
            &store,
            &alice,
            TokenPurpose::VerifyEmail,
            "c-alice",
            "l-alice",
            T0,
        )
        .await;

        // Bob has no token: Alice's code does not count for him, nor against her.
        assert_eq!(
            consume(&store, &bob, "c-alice", T0 + 1).await,
            CodeOutcome::NoToken
        );
        // Bob with a token of his own: Alice's code is just wrong.
        issue(
            &store,
            &bob,
            TokenPurpose::VerifyEmail,
            "c-bob",
            "l-bob",
            T0 + 1,
        )
        .await;
        assert!(matches!(
            consume(&store, &bob, "c-alice", T0 + 2).await,
            CodeOutcome::Mismatch { .. }
        ));
        // A link names its owner; it is Alice's whoever clicks it.
        let by_link = store
            .consume_link(TokenPurpose::VerifyEmail, "l-alice", T0 + 3)
            .await
            .unwrap();
        assert_eq!(by_link.map(|t| t.user_id), Some(alice.id.clone()));
        // Bob's guesses did not touch Alice's token.
        let alices = store
            .latest_token(&alice.id, TokenPurpose::VerifyEmail)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alices.attempts, 0);
    })
    .await;
}

#[tokio::test]
async fn link_only_token_cannot_be_redeemed_with_a_code() {
    each_backend(async |store| {
        let u = user(&store, "linkonly@example.com").await;
        store
            .issue_token(&new_token(
                &u,
                TokenPurpose::ResetPassword,
                None,
                "l-only",
                T0,
            ))
            .await
            .unwrap();
        let outcome = store
            .consume_code(
                &u.id,
                TokenPurpose::ResetPassword,
                "anything",
                MAX_ATTEMPTS,
                T0 + 1,
            )
            .await
            .unwrap();
        assert_eq!(outcome, CodeOutcome::NoToken);
    })
    .await;
}

#[tokio::test]
async fn latest_token_is_the_newest_whether_consumed_or_not() {
    each_backend(async |store| {
        let u = user(&store, "latest@example.com").await;
        assert_eq!(
            store
                .latest_token(&u.id, TokenPurpose::VerifyEmail)
                .await
                .unwrap(),
            None
        );
        issue(&store, &u, TokenPurpose::VerifyEmail, "c1", "l1", T0).await;
        let second = issue(
            &store,
            &u,
            TokenPurpose::VerifyEmail,
            "c2",
            "l2",
            T0 + MINUTE,
        )
        .await;
        assert_eq!(
            store
                .latest_token(&u.id, TokenPurpose::VerifyEmail)
                .await
                .unwrap(),
            Some(second.clone())
        );
        assert!(matches!(
            consume(&store, &u, "c2", T0 + MINUTE + 1).await,
            CodeOutcome::Consumed(_)
        ));
        let latest = store
            .latest_token(&u.id, TokenPurpose::VerifyEmail)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((latest.id, latest.created_at), (second.id, T0 + MINUTE));
        assert_eq!(latest.consumed_at, Some(T0 + MINUTE + 1));
        assert_eq!(
            store
                .latest_token(&u.id, TokenPurpose::ResetPassword)
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn token_issued_in_the_same_millisecond_supersedes_the_older() {
    each_backend(async |store| {
        let u = user(&store, "samems@example.com").await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c1", "l1", T0).await;
        let second = issue(&store, &u, TokenPurpose::VerifyEmail, "c2", "l2", T0).await;
        assert_eq!(
            store
                .latest_token(&u.id, TokenPurpose::VerifyEmail)
                .await
                .unwrap(),
            Some(second)
        );
        assert!(matches!(
            consume(&store, &u, "c1", T0).await,
            CodeOutcome::Mismatch { .. }
        ));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[tokio::test]
async fn session_is_found_by_its_token_hash_with_its_user() {
    each_backend(async |store| {
        let u = user(&store, "sess@example.com").await;
        let created = store
            .create_session(&NewSession {
                factors: vec!["password".to_owned(), "totp".to_owned()],
                ..new_session(&u, "hash-1", T0)
            })
            .await
            .unwrap();
        assert_eq!(created.id.len(), 32);
        assert_eq!(created.factors, ["password", "totp"]);
        assert_eq!((created.created_at, created.last_seen_at), (T0, T0));

        let (found, owner) = store
            .session_by_token_hash("hash-1")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found, created);
        assert_eq!(owner, u);
        assert_eq!(
            store.session_by_token_hash("hash-unknown").await.unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn session_without_factors_or_client_details_round_trips() {
    each_backend(async |store| {
        let u = user(&store, "bare@example.com").await;
        let created = store
            .create_session(&NewSession {
                factors: vec![],
                ip: None,
                user_agent: None,
                identity_id: None,
                ..new_session(&u, "bare", T0)
            })
            .await
            .unwrap();
        let (found, _) = store
            .session_by_token_hash("bare")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found, created);
        assert!(found.factors.is_empty());
        assert_eq!((found.ip, found.user_agent), (None, None));
    })
    .await;
}

#[tokio::test]
async fn factor_names_that_cannot_be_stored_faithfully_are_refused() {
    each_backend(async |store| {
        let u = user(&store, "comma@example.com").await;
        let bad = NewSession {
            factors: vec!["pass,word".to_owned()],
            ..new_session(&u, "comma", T0)
        };
        assert!(matches!(
            store.create_session(&bad).await,
            Err(StoreError::Database(_))
        ));
        assert_eq!(store.session_by_token_hash("comma").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn expired_session_is_still_returned_for_the_caller_to_judge() {
    each_backend(async |store| {
        let u = user(&store, "expired@example.com").await;
        let s = session(&store, &u, "old", T0).await;
        // The store has no clock: nothing changes however late it is.
        let (found, _) = store
            .session_by_token_hash("old")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found.expires_at, s.expires_at);
    })
    .await;
}

#[tokio::test]
async fn touching_a_session_records_activity_and_never_moves_it_back() {
    each_backend(async |store| {
        let u = user(&store, "touch@example.com").await;
        let s = session(&store, &u, "t", T0).await;
        store.touch_session(&s.id, T0 + MINUTE).await.unwrap();
        store.touch_session(&s.id, T0 + 30_000).await.unwrap();
        let (found, _) = store
            .session_by_token_hash("t")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found.last_seen_at, T0 + MINUTE);
        assert_eq!(found.created_at, T0);
    })
    .await;
}

#[tokio::test]
async fn sessions_are_listed_newest_first_without_revoked_ones() {
    each_backend(async |store| {
        let u = user(&store, "list@example.com").await;
        let other = user(&store, "other@example.com").await;
        let s1 = session(&store, &u, "h1", T0).await;
        let s2 = session(&store, &u, "h2", T0 + 2).await;
        let s3 = session(&store, &u, "h3", T0 + 1).await;
        session(&store, &other, "h-other", T0 + 3).await;
        assert_eq!(
            live_session_ids(&store.list_sessions(&u.id).await.unwrap()),
            [s2.id.as_str(), s3.id.as_str(), s1.id.as_str()]
        );
        assert!(store.revoke_session(&u.id, &s3.id, T0 + 4).await.unwrap());
        assert_eq!(
            live_session_ids(&store.list_sessions(&u.id).await.unwrap()),
            [s2.id.as_str(), s1.id.as_str()]
        );
    })
    .await;
}

#[tokio::test]
async fn user_can_revoke_their_own_session() {
    each_backend(async |store| {
        let u = user(&store, "own@example.com").await;
        let s = session(&store, &u, "mine", T0).await;
        assert!(store.revoke_session(&u.id, &s.id, T0 + 1).await.unwrap());
        assert_eq!(store.session_by_token_hash("mine").await.unwrap(), None);
        // Revoking twice revokes nothing more; touching a revoked session does not revive it.
        assert!(!store.revoke_session(&u.id, &s.id, T0 + 2).await.unwrap());
        store.touch_session(&s.id, T0 + 3).await.unwrap();
        assert_eq!(store.session_by_token_hash("mine").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn user_cannot_revoke_another_users_session() {
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        let mallory = user(&store, "mallory@example.com").await;
        let alices = session(&store, &alice, "alice-session", T0).await;
        assert!(
            !store
                .revoke_session(&mallory.id, &alices.id, T0 + 1)
                .await
                .unwrap()
        );
        assert!(
            store
                .session_by_token_hash("alice-session")
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn revoking_all_but_the_current_session_keeps_only_it() {
    each_backend(async |store| {
        let u = user(&store, "all@example.com").await;
        let other = user(&store, "bystander@example.com").await;
        let current = session(&store, &u, "current", T0).await;
        session(&store, &u, "laptop", T0 + 1).await;
        session(&store, &u, "phone", T0 + 2).await;
        let bystander = session(&store, &other, "bystander", T0).await;

        assert_eq!(
            store
                .revoke_user_sessions(&u.id, Some(&current.id), T0 + 3)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            live_session_ids(&store.list_sessions(&u.id).await.unwrap()),
            [current.id.as_str()]
        );
        assert_eq!(
            live_session_ids(&store.list_sessions(&other.id).await.unwrap()),
            [bystander.id.as_str()]
        );

        assert_eq!(
            store
                .revoke_user_sessions(&u.id, None, T0 + 4)
                .await
                .unwrap(),
            1
        );
        assert!(store.list_sessions(&u.id).await.unwrap().is_empty());
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Password and email changes

#[tokio::test]
async fn replacing_the_password_revokes_other_sessions_and_reset_links() {
    each_backend(async |store| {
        let u = user(&store, "replace@example.com").await;
        let current = session(&store, &u, "current", T0).await;
        session(&store, &u, "stolen", T0 + 1).await;
        session(&store, &u, "old-phone", T0 + 2).await;
        issue(&store, &u, TokenPurpose::ResetPassword, "c", "l-reset", T0).await;
        issue(&store, &u, TokenPurpose::VerifyEmail, "c", "l-verify", T0).await;

        let revoked = store
            .replace_password(&u.id, "$argon2id$new", Some(&current.id), T0 + 3)
            .await
            .unwrap();
        assert_eq!(revoked, 2);
        let (kept, owner) = store
            .session_by_token_hash("current")
            .await
            .unwrap()
            .expect("kept");
        assert_eq!(kept.id, current.id);
        assert_eq!(owner.password_hash.as_deref(), Some("$argon2id$new"));
        assert_eq!(owner.updated_at, T0 + 3);
        assert_eq!(store.session_by_token_hash("stolen").await.unwrap(), None);
        assert_eq!(
            store.session_by_token_hash("old-phone").await.unwrap(),
            None
        );
        // An outstanding reset link mailed before the change no longer works; other flows do.
        assert_eq!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 4)
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .consume_link(TokenPurpose::VerifyEmail, "l-verify", T0 + 4)
                .await
                .unwrap()
                .is_some()
        );

        // Without a session to keep (a reset from the mailbox), every session ends.
        assert_eq!(
            store
                .replace_password(&u.id, "$argon2id$newer", None, T0 + 5)
                .await
                .unwrap(),
            1
        );
        assert!(store.list_sessions(&u.id).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn changing_email_sets_a_verified_address_and_revokes_other_sessions() {
    each_backend(async |store| {
        let u = user(&store, "before@example.com").await;
        let current = session(&store, &u, "current", T0).await;
        session(&store, &u, "other", T0 + 1).await;
        issue(&store, &u, TokenPurpose::ResetPassword, "c", "l-reset", T0).await;

        store
            .change_email(&u.id, "after@example.com", Some(&current.id), T0 + 2)
            .await
            .unwrap();
        let changed = store.user_by_id(&u.id).await.unwrap().unwrap();
        assert_eq!(changed.email, "after@example.com");
        assert_eq!(changed.email_verified_at, Some(T0 + 2));
        assert_eq!(
            store.user_by_email("before@example.com").await.unwrap(),
            None
        );
        assert_eq!(
            live_session_ids(&store.list_sessions(&u.id).await.unwrap()),
            [current.id.as_str()]
        );
        // A reset link mailed to the old address dies with the change.
        assert_eq!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 3)
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn email_change_to_a_taken_address_changes_nothing() {
    each_backend(async |store| {
        let u = user(&store, "mine@example.com").await;
        user(&store, "theirs@example.com").await;
        let current = session(&store, &u, "current", T0).await;
        let other = session(&store, &u, "other", T0 + 1).await;
        issue(&store, &u, TokenPurpose::ResetPassword, "c", "l-reset", T0).await;

        let result = store
            .change_email(&u.id, "theirs@example.com", Some(&current.id), T0 + 2)
            .await;
        assert!(matches!(result, Err(StoreError::EmailTaken)), "{result:?}");
        // The whole change rolled back: address, sessions and tokens as before.
        assert_eq!(store.user_by_id(&u.id).await.unwrap(), Some(u.clone()));
        assert_eq!(
            live_session_ids(&store.list_sessions(&u.id).await.unwrap()),
            [other.id.as_str(), current.id.as_str()]
        );
        assert!(
            store
                .consume_link(TokenPurpose::ResetPassword, "l-reset", T0 + 3)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Identities

fn new_identity(user: &User, provider: &str, subject: &str, now: i64) -> NewIdentity {
    NewIdentity {
        user_id: user.id.clone(),
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        email: Some(user.email.clone()),
        email_verified: true,
        now,
    }
}

async fn link(store: &Store, user: &User, provider: &str, subject: &str, now: i64) -> Identity {
    store
        .link_identity(&new_identity(user, provider, subject, now))
        .await
        .expect("link identity")
}

#[tokio::test]
async fn linked_identity_is_found_by_its_subject_with_its_user() {
    each_backend(async |store| {
        let u = user(&store, "linked@example.com").await;
        let linked = link(&store, &u, "github", "gh-1234", T0 + 1).await;
        assert_eq!(linked.user_id, u.id);
        assert_eq!((linked.created_at, linked.last_used_at), (T0 + 1, T0 + 1));

        let found = store
            .identity_by_subject("github", "gh-1234")
            .await
            .unwrap();
        assert_eq!(found, Some((linked.clone(), u.clone())));
        assert_eq!(store.identities_of_user(&u.id).await.unwrap(), [linked]);
        // The subject is looked up at its provider only.
        assert_eq!(
            store
                .identity_by_subject("google", "gh-1234")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.identity_by_subject("github", "gh-9").await.unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn identity_without_an_email_round_trips() {
    each_backend(async |store| {
        let u = user(&store, "no-email@example.com").await;
        let linked = store
            .link_identity(&NewIdentity {
                email: None,
                email_verified: false,
                ..new_identity(&u, "gitlab", "gl-7", T0)
            })
            .await
            .unwrap();
        assert_eq!(
            (linked.email.as_deref(), linked.email_verified),
            (None, false)
        );
        let (found, _) = store
            .identity_by_subject("gitlab", "gl-7")
            .await
            .unwrap()
            .expect("linked");
        assert_eq!(found, linked);
    })
    .await;
}

#[tokio::test]
async fn identities_of_a_user_are_listed_in_link_order_without_anyone_elses() {
    each_backend(async |store| {
        let u = user(&store, "many@example.com").await;
        let other = user(&store, "other@example.com").await;
        let first = link(&store, &u, "github", "gh-1", T0).await;
        link(&store, &other, "github", "gh-2", T0 + 1).await;
        let second = link(&store, &u, "google", "g-1", T0 + 2).await;
        assert_eq!(
            store.identities_of_user(&u.id).await.unwrap(),
            [first, second]
        );
    })
    .await;
}

#[tokio::test]
async fn subject_linked_to_one_user_cannot_be_linked_to_another() {
    each_backend(async |store| {
        let owner = user(&store, "owner@example.com").await;
        let intruder = user(&store, "intruder@example.com").await;
        let linked = link(&store, &owner, "github", "gh-1", T0).await;

        let result = store
            .link_identity(&new_identity(&intruder, "github", "gh-1", T0 + 1))
            .await;
        assert!(
            matches!(result, Err(StoreError::IdentityTaken)),
            "{result:?}"
        );
        // Linking the same subject again to its owner is refused too, never a second row.
        let again = store
            .link_identity(&new_identity(&owner, "github", "gh-1", T0 + 2))
            .await;
        assert!(matches!(again, Err(StoreError::IdentityTaken)), "{again:?}");

        // The subject still signs in to its owner, and nothing was added anywhere.
        assert_eq!(
            store.identity_by_subject("github", "gh-1").await.unwrap(),
            Some((linked.clone(), owner.clone()))
        );
        assert_eq!(store.identities_of_user(&owner.id).await.unwrap(), [linked]);
        assert!(
            store
                .identities_of_user(&intruder.id)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn same_subject_at_another_provider_is_another_identity() {
    each_backend(async |store| {
        let a = user(&store, "a@example.com").await;
        let b = user(&store, "b@example.com").await;
        link(&store, &a, "github", "42", T0).await;
        link(&store, &b, "gitlab", "42", T0).await;
        let (_, found) = store
            .identity_by_subject("gitlab", "42")
            .await
            .unwrap()
            .expect("linked");
        assert_eq!(found, b);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_links_of_one_subject_give_it_to_exactly_one_user() {
    each_backend(async |store| {
        let mut users = Vec::new();
        for i in 0..10 {
            users.push(user(&store, &format!("racer{i}@example.com")).await);
        }
        let links: Vec<_> = users
            .iter()
            .map(|u| {
                let (store, identity) = (store.clone(), new_identity(u, "github", "gh-race", T0));
                tokio::spawn(async move { store.link_identity(&identity).await })
            })
            .collect();
        let mut winners = Vec::new();
        for link in links {
            match link.await.expect("task") {
                Ok(identity) => winners.push(identity),
                Err(StoreError::IdentityTaken) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let (found, _) = store
            .identity_by_subject("github", "gh-race")
            .await
            .unwrap()
            .expect("linked");
        assert_eq!(found, winners[0]);
    })
    .await;
}

#[tokio::test]
async fn identity_for_a_nonexistent_user_is_refused() {
    each_backend(async |store| {
        let ghost = User {
            id: "00000000000000000000000000000000".to_owned(),
            email: "ghost@example.com".to_owned(),
            email_verified_at: None,
            password_hash: None,
            name: None,
            picture: None,
            created_at: T0,
            updated_at: T0,
        };
        let result = store
            .link_identity(&new_identity(&ghost, "github", "gh-ghost", T0))
            .await;
        assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    })
    .await;
}

#[tokio::test]
async fn user_can_unlink_their_own_identity() {
    each_backend(async |store| {
        let u = user(&store, "unlink@example.com").await;
        let gone = link(&store, &u, "github", "gh-1", T0).await;
        let kept = link(&store, &u, "google", "g-1", T0 + 1).await;

        assert!(store.unlink_identity(&u.id, &gone.id).await.unwrap());
        assert_eq!(store.identities_of_user(&u.id).await.unwrap(), [kept]);
        assert_eq!(
            store.identity_by_subject("github", "gh-1").await.unwrap(),
            None
        );
        // Unlinking twice finds nothing the second time.
        assert!(!store.unlink_identity(&u.id, &gone.id).await.unwrap());
        // An unlinked subject is free to link again (to this user or another).
        link(&store, &u, "github", "gh-1", T0 + 2).await;
    })
    .await;
}

#[tokio::test]
async fn user_cannot_unlink_another_users_identity() {
    each_backend(async |store| {
        let owner = user(&store, "owner@example.com").await;
        let attacker = user(&store, "attacker@example.com").await;
        let theirs = link(&store, &owner, "github", "gh-1", T0).await;

        assert!(
            !store
                .unlink_identity(&attacker.id, &theirs.id)
                .await
                .unwrap()
        );
        assert_eq!(
            store.identity_by_subject("github", "gh-1").await.unwrap(),
            Some((theirs, owner))
        );
    })
    .await;
}

#[tokio::test]
async fn touching_an_identity_records_use_and_never_moves_it_back() {
    each_backend(async |store| {
        let u = user(&store, "touch@example.com").await;
        let linked = link(&store, &u, "github", "gh-1", T0).await;
        let last_used = async || {
            let (identity, _) = store
                .identity_by_subject("github", "gh-1")
                .await
                .unwrap()
                .expect("linked");
            identity.last_used_at
        };

        store
            .touch_identity(&u.id, &linked.id, T0 + 10)
            .await
            .unwrap();
        assert_eq!(last_used().await, T0 + 10);
        // A replica whose clock is behind.
        store
            .touch_identity(&u.id, &linked.id, T0 + 5)
            .await
            .unwrap();
        assert_eq!(last_used().await, T0 + 10);
    })
    .await;
}

#[tokio::test]
async fn user_cannot_touch_another_users_identity() {
    each_backend(async |store| {
        let owner = user(&store, "owner@example.com").await;
        let other = user(&store, "other@example.com").await;
        let theirs = link(&store, &owner, "github", "gh-1", T0).await;

        store
            .touch_identity(&other.id, &theirs.id, T0 + 10)
            .await
            .unwrap();
        let (found, _) = store
            .identity_by_subject("github", "gh-1")
            .await
            .unwrap()
            .expect("linked");
        assert_eq!(found.last_used_at, T0);
    })
    .await;
}

#[tokio::test]
async fn deleting_a_user_deletes_their_identities_and_devices() {
    // The store has no user deletion yet; this checks the schema's ON DELETE CASCADE that one
    // will rely on, with a raw connection.
    for t in support::stores().await {
        let store = &t.store;
        let gone = user(store, "gone@example.com").await;
        let stays = user(store, "stays@example.com").await;
        link(store, &gone, "github", "gh-gone", T0).await;
        link(store, &stays, "github", "gh-stays", T0).await;
        store
            .note_device(&gone.id, "dev-a", T0, DEVICE_WINDOW)
            .await
            .unwrap();
        store
            .note_device(&stays.id, "dev-a", T0, DEVICE_WINDOW)
            .await
            .unwrap();

        let mut conn = sqlx::AnyConnection::connect(&t.database.url)
            .await
            .expect("raw connect");
        if t.database.backend == Backend::Sqlite {
            // Per connection in SQLite, as the store sets it for its own.
            conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(&gone.id)
            .execute(&mut conn)
            .await
            .unwrap();
        let count = async |conn: &mut sqlx::AnyConnection, table: &str, user_id: &str| -> i64 {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE user_id = $1"
            )))
            .bind(user_id.to_owned())
            .fetch_one(conn)
            .await
            .unwrap()
        };
        for table in ["identities", "devices"] {
            assert_eq!(count(&mut conn, table, &gone.id).await, 0, "{table}");
            assert_eq!(count(&mut conn, table, &stays.id).await, 1, "{table}");
        }
        conn.close().await.unwrap();
        assert_eq!(
            store
                .identity_by_subject("github", "gh-gone")
                .await
                .unwrap(),
            None
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Devices

/// The sign-in flow's memory of a device: 30 days.
const DEVICE_WINDOW: i64 = 30 * 24 * 60 * MINUTE;

async fn note(store: &Store, user: &User, device: &str, now: i64) -> bool {
    store
        .note_device(&user.id, device, now, DEVICE_WINDOW)
        .await
        .expect("note device")
}

#[tokio::test]
async fn device_is_new_once_then_known_within_the_window() {
    each_backend(async |store| {
        let u = user(&store, "device@example.com").await;
        assert!(note(&store, &u, "dev-a", T0).await, "first sign-in");
        assert!(!note(&store, &u, "dev-a", T0).await, "same millisecond");
        assert!(!note(&store, &u, "dev-a", T0 + MINUTE).await);
        assert!(!note(&store, &u, "dev-a", T0 + MINUTE + DEVICE_WINDOW - 1).await);
        // Another browser of the same account is new on its own.
        assert!(note(&store, &u, "dev-b", T0 + 2 * MINUTE).await);
    })
    .await;
}

#[tokio::test]
async fn device_is_new_again_once_unseen_for_the_window() {
    each_backend(async |store| {
        let u = user(&store, "device@example.com").await;
        assert!(note(&store, &u, "dev-a", T0).await);
        // The same boundary as a throttle window: exactly one window later counts as new.
        assert!(note(&store, &u, "dev-a", T0 + DEVICE_WINDOW).await);
        assert!(!note(&store, &u, "dev-a", T0 + DEVICE_WINDOW + 1).await);
    })
    .await;
}

#[tokio::test]
async fn device_signed_in_from_regularly_stays_known() {
    // The window runs from the last sign-in: a browser used every 20 days never counts as new.
    each_backend(async |store| {
        const DAY: i64 = 24 * 60 * MINUTE;
        let u = user(&store, "regular@example.com").await;
        assert!(note(&store, &u, "dev-a", T0).await);
        for visit in 1..=4 {
            assert!(
                !note(&store, &u, "dev-a", T0 + visit * 20 * DAY).await,
                "visit {visit}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn device_is_new_to_each_account_separately() {
    each_backend(async |store| {
        let a = user(&store, "a@example.com").await;
        let b = user(&store, "b@example.com").await;
        assert!(note(&store, &a, "shared-browser", T0).await);
        assert!(note(&store, &b, "shared-browser", T0 + 1).await);
        assert!(!note(&store, &a, "shared-browser", T0 + 2).await);
    })
    .await;
}

#[tokio::test]
async fn earlier_clock_never_moves_a_devices_last_sighting_back() {
    each_backend(async |store| {
        let u = user(&store, "skew@example.com").await;
        assert!(note(&store, &u, "dev-a", T0 + 10).await);
        // A replica whose clock is behind: known, and the sighting at T0 + 10 stands...
        assert!(!note(&store, &u, "dev-a", T0).await);
        // ...so the window still runs from T0 + 10, not from T0.
        assert!(!note(&store, &u, "dev-a", T0 + 9 + DEVICE_WINDOW).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_from_a_new_device_report_it_new_exactly_once() {
    each_backend(async |store| {
        let u = user(&store, "burst@example.com").await;
        // Half in one millisecond, half spread out: both ways of being "not new" are raced.
        let notes: Vec<_> = (0..50)
            .map(|i| {
                let (store, user_id) = (store.clone(), u.id.clone());
                let now = T0 + (i % 2) * i;
                tokio::spawn(async move {
                    store
                        .note_device(&user_id, "dev-burst", now, DEVICE_WINDOW)
                        .await
                })
            })
            .collect();
        let mut new = 0;
        for noted in notes {
            if noted.await.expect("task").expect("note device") {
                new += 1;
            }
        }
        assert_eq!(new, 1);
        assert!(!note(&store, &u, "dev-burst", T0 + 100).await);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Throttling

#[tokio::test]
async fn throttle_counts_hits_within_a_window() {
    each_backend(async |store| {
        let first = store
            .throttle_hit("sign-in:ip:192.0.2.1", MINUTE, T0)
            .await
            .unwrap();
        assert_eq!((first.count, first.window_started_at), (1, T0));
        let second = store
            .throttle_hit("sign-in:ip:192.0.2.1", MINUTE, T0 + 10)
            .await
            .unwrap();
        assert_eq!((second.count, second.window_started_at), (2, T0));
        let third = store
            .throttle_hit("sign-in:ip:192.0.2.1", MINUTE, T0 + MINUTE - 1)
            .await
            .unwrap();
        assert_eq!((third.count, third.window_started_at), (3, T0));
        // Keys are independent.
        let other = store
            .throttle_hit("sign-in:ip:192.0.2.2", MINUTE, T0 + 20)
            .await
            .unwrap();
        assert_eq!((other.count, other.window_started_at), (1, T0 + 20));
    })
    .await;
}

#[tokio::test]
async fn throttle_window_restarts_once_it_is_over() {
    each_backend(async |store| {
        for i in 0..5 {
            store.throttle_hit("k", MINUTE, T0 + i).await.unwrap();
        }
        // A window is [start, start + window): its end starts a fresh one.
        let next = store.throttle_hit("k", MINUTE, T0 + MINUTE).await.unwrap();
        assert_eq!((next.count, next.window_started_at), (1, T0 + MINUTE));
        let later = store
            .throttle_hit("k", MINUTE, T0 + 10 * MINUTE)
            .await
            .unwrap();
        assert_eq!(
            (later.count, later.window_started_at),
            (1, T0 + 10 * MINUTE)
        );
    })
    .await;
}

#[tokio::test]
async fn throttle_peek_reports_the_count_without_counting() {
    each_backend(async |store| {
        assert_eq!(store.throttle_peek("p", MINUTE, T0).await.unwrap(), 0);
        store.throttle_hit("p", MINUTE, T0).await.unwrap();
        store.throttle_hit("p", MINUTE, T0 + 1).await.unwrap();
        assert_eq!(store.throttle_peek("p", MINUTE, T0 + 2).await.unwrap(), 2);
        assert_eq!(store.throttle_peek("p", MINUTE, T0 + 3).await.unwrap(), 2);
        // Once the window is over, the old hits no longer count.
        assert_eq!(
            store.throttle_peek("p", MINUTE, T0 + MINUTE).await.unwrap(),
            0
        );
        assert_eq!(
            store.throttle_hit("p", MINUTE, T0 + 4).await.unwrap().count,
            3
        );
    })
    .await;
}

#[tokio::test]
async fn throttle_clear_forgets_the_key() {
    each_backend(async |store| {
        store.throttle_hit("c", MINUTE, T0).await.unwrap();
        store.throttle_hit("other", MINUTE, T0).await.unwrap();
        store.throttle_clear("c").await.unwrap();
        store.throttle_clear("never-seen").await.unwrap();
        assert_eq!(store.throttle_peek("c", MINUTE, T0 + 1).await.unwrap(), 0);
        assert_eq!(
            store.throttle_peek("other", MINUTE, T0 + 1).await.unwrap(),
            1
        );
        let fresh = store.throttle_hit("c", MINUTE, T0 + 2).await.unwrap();
        assert_eq!((fresh.count, fresh.window_started_at), (1, T0 + 2));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_throttle_hits_are_all_counted() {
    each_backend(async |store| {
        let hits: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.throttle_hit("burst", MINUTE, T0 + i).await })
            })
            .collect();
        let mut counts = Vec::new();
        for hit in hits {
            counts.push(hit.await.expect("task").expect("hit").count);
        }
        counts.sort_unstable();
        // Every hit saw a distinct count: none was lost or double-counted.
        assert_eq!(counts, (1..=50).collect::<Vec<u32>>());
        assert_eq!(
            store.throttle_peek("burst", MINUTE, T0 + 50).await.unwrap(),
            50
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Retention

#[tokio::test]
async fn sweep_deletes_only_what_is_past_its_window_or_retention() {
    each_backend(async |store| {
        const DAY: i64 = 24 * 60 * MINUTE;
        let window = 60 * MINUTE;
        // Counters: one whose window is over, one still counting.
        store.throttle_hit("old", window, T0).await.unwrap();
        store
            .throttle_hit("fresh", window, T0 + 9 * DAY)
            .await
            .unwrap();
        // Sessions: one that expired 8 days ago, one that expired yesterday (kept for the
        // account page's history), one live.
        let u = user(&store, "sweep@example.com").await;
        session(&store, &u, "long-gone", T0).await; // expires T0 + 1 day
        session(&store, &u, "recent", T0 + 7 * DAY).await; // expires T0 + 8 days
        session(&store, &u, "live", T0 + 9 * DAY).await;
        // Tokens: one that expired 8 days ago, one live.
        issue(&store, &u, TokenPurpose::VerifyEmail, "c1", "l1", T0).await;
        issue(
            &store,
            &u,
            TokenPurpose::ResetPassword,
            "c2",
            "l2",
            T0 + 9 * DAY,
        )
        .await;

        let now = T0 + 9 * DAY;
        let swept = store.sweep(now, window, 7 * DAY).await.unwrap();
        assert_eq!(
            (swept.counters, swept.sessions, swept.tokens),
            (1, 1, 1),
            "{swept:?}"
        );
        // What is left still works; nothing live was touched.
        assert_eq!(store.throttle_peek("fresh", window, now).await.unwrap(), 1);
        for kept in ["recent", "live"] {
            assert!(
                store.session_by_token_hash(kept).await.unwrap().is_some(),
                "{kept}"
            );
        }
        assert!(
            store
                .session_by_token_hash("long-gone")
                .await
                .unwrap()
                .is_none()
        );
        let reset = store
            .latest_token(&u.id, TokenPurpose::ResetPassword)
            .await
            .unwrap();
        assert!(reset.is_some());
        // A second sweep finds nothing more.
        let again = store.sweep(now, window, 7 * DAY).await.unwrap();
        assert_eq!(again, Default::default());
    })
    .await;
}

#[tokio::test]
async fn device_sweep_deletes_only_devices_forgotten_longer_than_the_retention() {
    each_backend(async |store| {
        const DAY: i64 = 24 * 60 * MINUTE;
        let retention = 7 * DAY;
        let u = user(&store, "sweep@example.com").await;
        let now = T0 + 40 * DAY;
        // Last seen 38 days ago: forgotten 8 days ago, past the retention.
        note(&store, &u, "long-gone", T0 + 2 * DAY).await;
        // Last seen 36 days ago: forgotten 6 days ago, kept for now.
        note(&store, &u, "recent", T0 + 4 * DAY).await;
        // Seen yesterday.
        note(&store, &u, "live", now - DAY).await;

        let swept = store
            .sweep_devices(now, DEVICE_WINDOW, retention)
            .await
            .unwrap();
        assert_eq!(swept, 1);
        // The counter sweep leaves devices alone, however short its longest window.
        assert_eq!(
            store.sweep(now, 60 * MINUTE, retention).await.unwrap(),
            Default::default()
        );
        assert_eq!(
            store
                .sweep_devices(now, DEVICE_WINDOW, retention)
                .await
                .unwrap(),
            0
        );
        // Nothing live was touched; forgotten ones count as new whether swept or not.
        assert!(!note(&store, &u, "live", now).await);
        assert!(note(&store, &u, "recent", now).await);
        assert!(note(&store, &u, "long-gone", now).await);
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// OpenID Provider grants

/// The client `new_grant`'s grants are for, presenting their refresh tokens.
const SHOP: vestibule::store::Presenter<'static> = vestibule::store::Presenter {
    client_id: "shop",
    resource: None,
};

fn new_grant(user: &User, session_id: Option<&str>, code_hash: &str) -> vestibule::store::NewGrant {
    vestibule::store::NewGrant {
        user_id: user.id.clone(),
        client_id: "shop".to_owned(),
        session_id: session_id.map(str::to_owned),
        scopes: vec!["openid".to_owned(), "email".to_owned()],
        auth_time: T0,
        factors: vec!["password".to_owned()],
        nonce: Some("n-1".to_owned()),
        expires_at: T0 + 24 * 60 * MINUTE,
        resource: None,
        organization_id: None,
        code_hash: code_hash.to_owned(),
        redirect_uri: "https://shop.example/cb".to_owned(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        code_expires_at: T0 + MINUTE,
        now: T0,
    }
}

/// A grant made from `new` with its first refresh token, `token`, issued at `T0`.
async fn grant_with_refresh_token(
    store: &Store,
    new: &vestibule::store::NewGrant,
    token: &str,
) -> vestibule::store::Grant {
    let grant = store.create_grant(new).await.expect("grant");
    store
        .add_refresh_token(&grant.id, token, T0)
        .await
        .expect("refresh token");
    grant
}

#[tokio::test]
async fn a_code_redeems_once_and_a_second_redemption_revokes_what_the_first_issued() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        let created = store
            .create_grant(&new_grant(&alice, None, "code-1"))
            .await
            .expect("grant");
        let redeemed = store
            .redeem_code("code-1", T0 + 1_000)
            .await
            .expect("db")
            .expect("first redemption");
        assert_eq!(redeemed.grant, created);
        assert_eq!(redeemed.redirect_uri, "https://shop.example/cb");
        assert_eq!(redeemed.grant.scopes, ["openid", "email"]);
        store
            .add_refresh_token(&created.id, "refresh-1", T0 + 1_000)
            .await
            .expect("refresh");
        // The code again: refused, and the grant (with the refresh token issued from the first
        // redemption) is revoked.
        assert_eq!(
            store.redeem_code("code-1", T0 + 2_000).await.expect("db"),
            Err(GrantRefusal::Replayed {
                grant_id: created.id.clone()
            })
        );
        assert_eq!(
            store
                .active_grant(&created.id, T0 + 2_000)
                .await
                .expect("db"),
            None
        );
        assert_eq!(
            store
                .rotate_refresh_token("refresh-1", "refresh-2", SHOP, T0 + 3_000)
                .await
                .expect("db"),
            Err(GrantRefusal::Revoked)
        );
        assert_eq!(
            store.redeem_code("no-such-code", T0).await.expect("db"),
            Err(GrantRefusal::Unknown)
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        store
            .create_grant(&new_grant(&alice, None, "code-1"))
            .await
            .expect("grant");
        assert_eq!(
            store.redeem_code("code-1", T0 + MINUTE).await.expect("db"),
            Err(GrantRefusal::Expired)
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_succeed_at_most_once() {
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        store
            .create_grant(&new_grant(&alice, None, "code-1"))
            .await
            .expect("grant");
        let (a, b) = tokio::join!(
            store.redeem_code("code-1", T0 + 1_000),
            store.redeem_code("code-1", T0 + 1_000)
        );
        let successes = [a.expect("db"), b.expect("db")]
            .iter()
            .filter(|r| r.is_ok())
            .count();
        assert_eq!(successes, 1, "exactly one of two racing redemptions wins");
    })
    .await;
}

#[tokio::test]
async fn a_rotated_refresh_token_presented_again_revokes_its_family() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        let grant =
            grant_with_refresh_token(&store, &new_grant(&alice, None, "code-1"), "r1").await;
        let rotate = async |old: &str, new: &str, at: i64| {
            store
                .rotate_refresh_token(old, new, SHOP, at)
                .await
                .expect("db")
        };
        assert!(rotate("r1", "r2", T0 + 1_000).await.is_ok());
        assert!(rotate("r2", "r3", T0 + 2_000).await.is_ok());
        // r1 again (a stolen copy): the family is revoked, the legitimate r3 included.
        assert_eq!(
            rotate("r1", "r4", T0 + 3_000).await,
            Err(GrantRefusal::Replayed {
                grant_id: grant.id.clone()
            })
        );
        assert_eq!(
            rotate("r3", "r5", T0 + 4_000).await,
            Err(GrantRefusal::Revoked)
        );
        assert_eq!(rotate("nope", "r6", T0).await, Err(GrantRefusal::Unknown));
    })
    .await;
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_or_for_another_resource_stays_usable() {
    use vestibule::store::{GrantRefusal, Presenter};
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        grant_with_refresh_token(&store, &new_grant(&alice, None, "code-1"), "r1").await;
        let other_client = Presenter {
            client_id: "other",
            resource: None,
        };
        let other_resource = Presenter {
            client_id: "shop",
            resource: Some("https://api.example"),
        };
        for (presenter, refusal) in [
            (other_client, GrantRefusal::OtherClient),
            (other_resource, GrantRefusal::OtherResource),
        ] {
            assert_eq!(
                store
                    .rotate_refresh_token("r1", "r2", presenter, T0 + 1_000)
                    .await
                    .expect("db")
                    .map(|_| ()),
                Err(refusal)
            );
        }
        // Neither used the token up: its client rotates it, once.
        assert!(
            store
                .rotate_refresh_token("r1", "r2", SHOP, T0 + 2_000)
                .await
                .expect("db")
                .is_ok()
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_rotations_commit_together_and_one_token_presented_twice_at_once_is_a_replay() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        // Forty families rotating at the same moment: the writer commits them in batches, and
        // every rotation stands on its own (each new token rotates again).
        let mut grants = Vec::new();
        for i in 0..40 {
            let grant = grant_with_refresh_token(
                &store,
                &new_grant(&alice, None, &format!("code-{i}")),
                &format!("a{i}"),
            )
            .await;
            grants.push(grant);
        }
        let rotated = futures::future::join_all((0..40).map(|i| {
            let store = store.clone();
            async move {
                store
                    .rotate_refresh_token(&format!("a{i}"), &format!("b{i}"), SHOP, T0 + 1_000)
                    .await
                    .expect("db")
            }
        }))
        .await;
        for (i, result) in rotated.iter().enumerate() {
            let (grant, owner) = result.as_ref().expect("rotated");
            assert_eq!(
                grant.id, grants[i].id,
                "rotation {i} answers for its own grant"
            );
            assert_eq!(owner.id, alice.id);
        }
        for i in 0..40 {
            assert!(
                store
                    .rotate_refresh_token(&format!("b{i}"), &format!("c{i}"), SHOP, T0 + 2_000)
                    .await
                    .expect("db")
                    .is_ok(),
                "the token rotation {i} stored works once"
            );
        }
        // One token presented five times at once (a stolen copy racing its owner): exactly one
        // presentation rotates it, the others are replays, and the family is revoked.
        let racing = futures::future::join_all((0..5).map(|i| {
            let store = store.clone();
            async move {
                store
                    .rotate_refresh_token("c0", &format!("d{i}"), SHOP, T0 + 3_000)
                    .await
                    .expect("db")
            }
        }))
        .await;
        // The others are replays; one that read the token after the first replay revoked the
        // family finds it revoked.
        let refusals: Vec<GrantRefusal> = racing
            .iter()
            .filter_map(|r| r.as_ref().err().cloned())
            .collect();
        assert_eq!(refusals.len(), 4, "{racing:?}");
        let replayed = GrantRefusal::Replayed {
            grant_id: grants[0].id.clone(),
        };
        assert!(refusals.contains(&replayed), "{racing:?}");
        assert!(
            refusals
                .iter()
                .all(|r| *r == replayed || *r == GrantRefusal::Revoked),
            "{racing:?}"
        );
        for (i, raced) in racing.iter().enumerate() {
            assert_eq!(
                store
                    .rotate_refresh_token(&format!("d{i}"), "e", SHOP, T0 + 4_000)
                    .await
                    .expect("db")
                    .map(|_| ()),
                Err(if raced.is_ok() {
                    GrantRefusal::Revoked
                } else {
                    GrantRefusal::Unknown
                }),
            );
        }
        // The other families are untouched.
        assert!(
            store
                .rotate_refresh_token("c1", "d", SHOP, T0 + 4_000)
                .await
                .expect("db")
                .is_ok()
        );
    })
    .await;
}

#[tokio::test]
async fn revoking_the_session_ends_its_grants_refresh_tokens_and_the_family_ends_on_time() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        let alice = user(&store, "alice@example.com").await;
        let signed_in = session(&store, &alice, "session-1", T0).await;
        let grant = grant_with_refresh_token(
            &store,
            &new_grant(&alice, Some(&signed_in.id), "code-1"),
            "r1",
        )
        .await;
        assert!(
            store
                .active_grant(&grant.id, T0 + 1)
                .await
                .expect("db")
                .is_some()
        );
        assert!(
            store
                .revoke_session(&alice.id, &signed_in.id, T0 + 1_000)
                .await
                .expect("revoke")
        );
        assert_eq!(
            store
                .rotate_refresh_token("r1", "r2", SHOP, T0 + 2_000)
                .await
                .expect("db"),
            Err(GrantRefusal::Revoked)
        );
        // Another grant without a session: usable until its absolute end, not after.
        let other =
            grant_with_refresh_token(&store, &new_grant(&alice, None, "code-2"), "q1").await;
        assert_eq!(
            store
                .rotate_refresh_token("q1", "q2", SHOP, T0 + 24 * 60 * MINUTE)
                .await
                .expect("db"),
            Err(GrantRefusal::Expired)
        );
        assert!(
            store
                .revoke_grant(&other.id, "revoked", T0)
                .await
                .expect("db")
        );
        assert!(
            !store
                .revoke_grant(&other.id, "revoked", T0)
                .await
                .expect("db"),
            "revoking twice reports it was already revoked"
        );
    })
    .await;
}

#[tokio::test]
async fn the_sweep_deletes_grants_ended_or_revoked_past_the_retention_with_their_tokens() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        const DAY: i64 = 24 * 60 * MINUTE;
        let alice = user(&store, "alice@example.com").await;
        // Ended a day after T0; revoked at T0; and one still running.
        let ended = store
            .create_grant(&new_grant(&alice, None, "code-ended"))
            .await
            .expect("grant");
        let revoked = store
            .create_grant(&new_grant(&alice, None, "code-revoked"))
            .await
            .expect("grant");
        store
            .revoke_grant(&revoked.id, "revoked", T0)
            .await
            .expect("revoke");
        let mut live = new_grant(&alice, None, "code-live");
        live.expires_at = T0 + 30 * DAY;
        grant_with_refresh_token(&store, &live, "live-r1").await;

        let now = T0 + 9 * DAY;
        let swept = store.sweep(now, 60 * MINUTE, 7 * DAY).await.expect("sweep");
        assert_eq!(swept.grants, 2, "{swept:?}");
        // Their codes went with them; the running grant still rotates.
        for gone in ["code-ended", "code-revoked"] {
            assert_eq!(
                store.redeem_code(gone, now).await.expect("db"),
                Err(GrantRefusal::Unknown)
            );
        }
        assert!(
            store
                .active_grant(&ended.id, now)
                .await
                .expect("db")
                .is_none()
        );
        assert!(
            store
                .rotate_refresh_token("live-r1", "live-r2", SHOP, now)
                .await
                .expect("db")
                .is_ok()
        );
    })
    .await;
}

#[tokio::test]
async fn a_grant_ends_when_its_session_expires() {
    use vestibule::store::GrantRefusal;
    each_backend(async |store| {
        const HOUR: i64 = 60 * MINUTE;
        let alice = user(&store, "alice@example.com").await;
        // The session lasts 24 hours; the refresh family could last 30 days on its own.
        let signed_in = session(&store, &alice, "session-1", T0).await;
        let mut new = new_grant(&alice, Some(&signed_in.id), "code-1");
        new.expires_at = T0 + 30 * 24 * HOUR;
        grant_with_refresh_token(&store, &new, "r1").await;
        assert!(
            store
                .rotate_refresh_token("r1", "r2", SHOP, T0 + 23 * HOUR)
                .await
                .expect("db")
                .is_ok()
        );
        assert_eq!(
            store
                .rotate_refresh_token("r2", "r3", SHOP, T0 + 25 * HOUR)
                .await
                .expect("db"),
            Err(GrantRefusal::Revoked)
        );
    })
    .await;
}

#[tokio::test]
async fn organizations_memberships_and_single_use_invitations() {
    use vestibule::store::{NewInvitation, NewOrganization};
    each_backend(async |store| {
        let ada = user(&store, "ada@example.com").await;
        let bob = user(&store, "bob@example.com").await;
        let acme = store
            .create_organization(&NewOrganization {
                slug: "acme".into(),
                name: "Acme".into(),
                managed: false,
                creator: Some((ada.id.clone(), "admin".into())),
                now: T0,
            })
            .await
            .expect("created");
        assert_eq!(acme.created_by.as_deref(), Some(ada.id.as_str()));
        assert!(!acme.managed);
        assert_eq!(
            store.organization_by_slug("acme").await.expect("read"),
            Some(acme.clone())
        );
        // The creator is a member, with the creator's role, in the same transaction.
        let mine = store.organizations_of_user(&ada.id).await.expect("read");
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].0.id, acme.id);
        assert_eq!(mine[0].1.role, "admin");

        // A taken slug writes nothing, not even the creator's membership.
        let taken = store
            .create_organization(&NewOrganization {
                slug: "acme".into(),
                name: "Other".into(),
                managed: true,
                creator: Some((bob.id.clone(), "admin".into())),
                now: T0,
            })
            .await;
        assert!(matches!(taken, Err(StoreError::SlugTaken)), "{taken:?}");
        assert!(
            store
                .organizations_of_user(&bob.id)
                .await
                .expect("read")
                .is_empty()
        );

        // Invitations: single use, expiring, revocable only within their organization.
        let invite = |hash: &str, expires_at: i64| NewInvitation {
            organization_id: acme.id.clone(),
            email: "bob@example.com".into(),
            role: "member".into(),
            token_hash: hash.into(),
            invited_by: Some(ada.id.clone()),
            now: T0,
            expires_at,
        };
        store
            .create_invitation(&invite("h1", T0 + 60 * MINUTE))
            .await
            .expect("invite");
        let taken = store
            .take_invitation("h1", T0 + MINUTE)
            .await
            .expect("take");
        assert_eq!(taken.as_ref().map(|i| i.role.as_str()), Some("member"));
        assert_eq!(
            store
                .take_invitation("h1", T0 + MINUTE)
                .await
                .expect("again"),
            None
        );
        store
            .create_invitation(&invite("h2", T0 + MINUTE))
            .await
            .expect("invite");
        assert_eq!(
            store
                .take_invitation("h2", T0 + MINUTE)
                .await
                .expect("late"),
            None
        );
        let pending = store
            .create_invitation(&invite("h3", T0 + 60 * MINUTE))
            .await
            .expect("invite");
        assert_eq!(
            store
                .pending_invitations(&acme.id, T0)
                .await
                .expect("read")
                .len(),
            2,
            "h2 and h3 are pending at T0"
        );
        assert!(
            !store
                .revoke_invitation("other-org", &pending.id, T0)
                .await
                .expect("revoke")
        );
        assert!(
            store
                .revoke_invitation(&acme.id, &pending.id, T0)
                .await
                .expect("revoke")
        );
        assert_eq!(
            store
                .take_invitation("h3", T0 + MINUTE)
                .await
                .expect("revoked"),
            None
        );

        // Membership: join, change role (one row), leave.
        store
            .set_membership(&acme.id, &bob.id, "member", T0)
            .await
            .expect("join");
        store
            .set_membership(&acme.id, &bob.id, "admin", T0 + MINUTE)
            .await
            .expect("promote");
        let members = store.members(&acme.id).await.expect("members");
        assert_eq!(members.len(), 2);
        let bobs = store
            .membership(&acme.id, &bob.id)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(
            (bobs.role.as_str(), bobs.created_at, bobs.updated_at),
            ("admin", T0, T0 + MINUTE)
        );
        assert!(store.remove_member(&acme.id, &bob.id).await.expect("leave"));
        assert!(!store.remove_member(&acme.id, &bob.id).await.expect("again"));
        assert_eq!(
            store.membership(&acme.id, &bob.id).await.expect("read"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn declared_organizations_sync_only_what_changed_and_never_touch_runtime_ones() {
    use vestibule::store::{DeclaredOrganization, NewOrganization};
    each_backend(async |store| {
        let ada = user(&store, "ada@example.com").await;
        let declared = DeclaredOrganization {
            slug: "acme".into(),
            name: "Acme".into(),
            roles: [("billing".to_owned(), vec!["org:billing:read".to_owned()])].into(),
            domains: [("acme.example".to_owned(), "autoJoin".to_owned())].into(),
            members: [
                ("ada@example.com".to_owned(), "admin".to_owned()),
                ("nobody@example.com".to_owned(), "member".to_owned()),
            ]
            .into(),
            delete_when_undeclared: false,
            fingerprint: String::new(),
        };
        let first = store
            .sync_declared_organization(&declared, T0)
            .await
            .expect("sync");
        assert_eq!(
            first.writes, 4,
            "organization, role, domain, one membership: {first:?}"
        );
        assert_eq!(
            first.missing_members,
            [("nobody@example.com".to_owned(), "member".to_owned())]
        );
        let acme = store
            .organization_by_slug("acme")
            .await
            .expect("read")
            .expect("created");
        assert!(acme.managed);
        let ada_in = store
            .membership(&acme.id, &ada.id)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(ada_in.role, "admin");

        // The same declaration again: nothing written.
        let again = store
            .sync_declared_organization(&declared, T0 + MINUTE)
            .await
            .expect("sync");
        assert_eq!(again.writes, 0, "{again:?}");

        // One role changed: one write, and the member's role follows.
        let mut edited = declared.clone();
        edited
            .members
            .insert("ada@example.com".into(), "member".into());
        let changed = store
            .sync_declared_organization(&edited, T0 + 2 * MINUTE)
            .await
            .expect("sync");
        assert_eq!(changed.writes, 1, "{changed:?}");
        let ada_in = store
            .membership(&acme.id, &ada.id)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(
            (ada_in.role.as_str(), ada_in.updated_at),
            ("member", T0 + 2 * MINUTE)
        );

        // A runtime organization's slug is a conflict: it is left as it is.
        store
            .create_organization(&NewOrganization {
                slug: "beta".into(),
                name: "Beta (runtime)".into(),
                managed: false,
                creator: Some((ada.id.clone(), "admin".into())),
                now: T0,
            })
            .await
            .expect("runtime org");
        let clash = DeclaredOrganization {
            slug: "beta".into(),
            name: "Beta (declared)".into(),
            domains: [("acme.example".to_owned(), "suggest".to_owned())].into(),
            ..Default::default()
        };
        let outcome = store
            .sync_declared_organization(&clash, T0)
            .await
            .expect("sync");
        assert!(outcome.slug_conflict && outcome.writes == 0, "{outcome:?}");
        let beta = store
            .organization_by_slug("beta")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(beta.name, "Beta (runtime)");
        assert!(!beta.managed);

        // A domain another organization holds is reported, not taken over.
        let gamma = DeclaredOrganization {
            slug: "gamma".into(),
            name: "Gamma".into(),
            domains: [("acme.example".to_owned(), "suggest".to_owned())].into(),
            delete_when_undeclared: true,
            ..Default::default()
        };
        let outcome = store
            .sync_declared_organization(&gamma, T0)
            .await
            .expect("sync");
        assert_eq!(outcome.domain_conflicts, ["acme.example"]);

        // No longer declared: kept, unmanaged (Retain); the runtime organization untouched.
        let released = store
            .release_undeclared_organizations(&["gamma".to_owned()], T0 + 3 * MINUTE)
            .await
            .expect("release");
        assert_eq!(released, 1, "acme only");
        let acme = store
            .organization_by_slug("acme")
            .await
            .expect("read")
            .expect("kept");
        assert!(!acme.managed);
        assert!(
            store
                .membership(&acme.id, &ada.id)
                .await
                .expect("read")
                .is_some()
        );

        // Declared again: adopted, not a conflict.
        let adopted = store
            .sync_declared_organization(&edited, T0 + 4 * MINUTE)
            .await
            .expect("sync");
        assert!(!adopted.slug_conflict && adopted.writes == 1, "{adopted:?}");
        assert!(
            store
                .organization_by_slug("acme")
                .await
                .expect("read")
                .expect("kept")
                .managed
        );

        // `Delete`: gone, with its memberships, once no longer declared.
        let removed = store
            .release_undeclared_organizations(&["acme".to_owned()], T0 + 5 * MINUTE)
            .await
            .expect("release");
        assert_eq!(removed, 1, "gamma only");
        assert_eq!(
            store.organization_by_slug("gamma").await.expect("read"),
            None
        );

        // Ada taken out of acme's declaration: the membership the declaration made goes.
        let mut without_ada = edited.clone();
        without_ada.members.remove("ada@example.com");
        let outcome = store
            .sync_declared_organization(&without_ada, T0 + 6 * MINUTE)
            .await
            .expect("sync");
        assert_eq!(outcome.writes, 1, "{outcome:?}");
        assert_eq!(
            store.membership(&acme.id, &ada.id).await.expect("read"),
            None
        );
    })
    .await;
}
