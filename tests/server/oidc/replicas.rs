//! Two `vestibule server` processes on one PostgreSQL database, as two replicas behind a load
//! balancer: a code issued by one is redeemed at the other, and a refresh token rotated at one
//! is recognised as replayed at the other (the replay rules hold in the database, not in a
//! process).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use vestibule::store::{NewSession, Store};

use super::*;
use crate::server_cmd::{Server, wait_for, write_config};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(config: &std::path::Path, secrets: &std::path::Path, port: u16, url: &str) -> Server {
    Server(
        Command::new(env!("CARGO_BIN_EXE_vestibule"))
            .args([
                "server",
                "--config",
                &config.to_string_lossy(),
                "--secrets",
                &secrets.to_string_lossy(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                url,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vestibule server"),
    )
}

#[tokio::test]
async fn two_replicas_on_one_database_share_codes_and_refresh_families() {
    let Some(database) = crate::support::fresh_postgres_database().await else {
        return; // the notice is printed; strict mode fails inside
    };
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replicas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let secrets = root.join("secrets");
    std::fs::create_dir_all(&secrets).expect("mkdir");
    let (port_a, port_b) = (free_port(), free_port());
    let (a, b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    // One config for both, as one ConfigMap is mounted into every pod; the issuer is replica
    // A's address (standing in for the load balancer's).
    let config = crate::app::quickstart_config(&a, |c| c.applications.push(spa()));
    for key in config.secrets.keys() {
        std::fs::write(secrets.join(key), "test-secret").expect("secret");
    }
    std::fs::write(secrets.join("mfa-key"), crate::app::test_mfa_key()).expect("MFA key");
    std::fs::write(
        secrets.join("signing-keys.json"),
        keys(&config).to_json().expect("json"),
    )
    .expect("keys");
    let config_path = root.join("config.json");
    write_config(&config_path, &config);
    // Both start at once and migrate the same database (migrations take a lock).
    let _replica_a = start(&config_path, &secrets, port_a, &database.url);
    let _replica_b = start(&config_path, &secrets, port_b, &database.url);
    for base in [&a, &b] {
        wait_for(base, "the config", |r| {
            r["configHash"] == config.hash.as_str()
        })
        .await;
    }

    // A signed-in user, seeded in the shared database.
    let store = Store::connect(&database.url, 2).await.expect("store");
    let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
    let user = store
        .create_user_with_email("alice@example.com", "unused-hash", now)
        .await
        .expect("user");
    store
        .mark_email_verified(&user.id, now)
        .await
        .expect("verified");
    let session_token = vestibule::crypto::random_token();
    store
        .create_session(&NewSession {
            token_hash: vestibule::crypto::token_hash(&session_token),
            user_id: user.id.clone(),
            factors: vec!["password".into()],
            ip: None,
            user_agent: None,
            identity_id: None,
            organization_id: None,
            expires_at: now + 3_600_000,
            now,
        })
        .await
        .expect("session");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let code_from = async |base: &str| -> String {
        let response = http
            .get(format!("{base}{}", authorize_path(&[])))
            .header(
                "cookie",
                format!("__Host-vestibule_session={session_token}"),
            )
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        param(&redirect_query(&location), "code")
            .expect("a code")
            .to_owned()
    };
    // A code from A is redeemed at B; redeeming it again at A fails and revokes B's tokens.
    let code = code_from(&a).await;
    let (status, tokens) = exchange_at(&b, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    assert_eq!(userinfo_at(&a, &access).await.0, StatusCode::OK);
    let (status, again) = exchange_at(&a, &code).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(userinfo_at(&b, &access).await.0, StatusCode::UNAUTHORIZED);

    // A refresh family rotated at A is caught replaying at B, which revokes it everywhere.
    let (_, tokens) = exchange_at(&a, &code_from(&b).await).await;
    let first = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let refresh = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
            ("client_id", "spa".to_owned()),
        ]
    };
    let form = refresh(&first);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, rotated) = token_at(&a, &form).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_owned();
    let (status, replay) = token_at(&b, &form).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let form = refresh(&second);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        token_at(&a, &form).await.1["error"],
        "invalid_grant",
        "the replay at B revoked the family for A too"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&root);
}
