//! `vestibule server` as a pod runs it: a runtime config file and a mounted Secret directory,
//! both watched; a new config is validated before it replaces the old one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vestibule::config::RuntimeConfig;

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn write_config(path: &Path, config: &RuntimeConfig) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(config).expect("json")).expect("write");
    // Atomic replace, as the kubelet's symlink swap is.
    std::fs::rename(&tmp, path).expect("rename");
}

async fn readyz(base: &str) -> serde_json::Value {
    match reqwest::get(format!("{base}/readyz")).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    }
}

pub async fn wait_for(
    base: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = readyz(base).await;
        if check(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last /readyz: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn server_applies_a_changed_config_file_and_keeps_the_last_good_one() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("server-cmd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("secrets")).expect("mkdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}");

    let first = crate::app::quickstart_config(&base, |_| {});
    for key in first.secrets.keys() {
        std::fs::write(root.join("secrets").join(key), "test-secret").expect("secret");
    }
    std::fs::write(
        root.join("secrets").join("mfa-key"),
        crate::app::test_mfa_key(),
    )
    .expect("MFA key");
    let config_path = root.join("config.json");
    write_config(&config_path, &first);
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_vestibule"))
            .args([
                "server",
                "--config",
                &config_path.to_string_lossy(),
                "--secrets",
                &root.join("secrets").to_string_lossy(),
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &format!("sqlite://{}", root.join("db.sqlite").display()),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vestibule server"),
    );
    wait_for(&base, "the first config", |b| {
        b["configHash"] == first.hash.as_str()
    })
    .await;

    // A new, valid config applies without a restart.
    let second = crate::app::quickstart_config(&base, |c| c.passwords.min_length = 12);
    write_config(&config_path, &second);
    wait_for(&base, "the second config", |b| {
        b["configHash"] == second.hash.as_str()
    })
    .await;
    let page = reqwest::get(format!("{base}/sign-up"))
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("At least 12 characters"));

    // A config edited by hand (hash no longer matches) is refused; the last good one serves.
    let mut tampered = second.clone();
    tampered.passwords.min_length = 8;
    write_config(&config_path, &tampered);
    let body = wait_for(&base, "the rejection", |b| b["rejectedConfig"].is_string()).await;
    assert_eq!(body["configHash"], second.hash.as_str());
    assert!(
        body["rejectedConfig"]
            .as_str()
            .unwrap_or_default()
            .contains("does not match its content"),
        "{body}"
    );

    // A config whose secret is missing from the mounted Secret is refused too.
    let third = crate::app::quickstart_config(&base, |c| c.passwords.min_length = 14);
    let key = third.secrets.keys().next().expect("a secret key").clone();
    std::fs::remove_file(root.join("secrets").join(&key)).expect("remove secret");
    write_config(&config_path, &third);
    let body = wait_for(&base, "the missing-secret rejection", |b| {
        b["rejectedConfig"]
            .as_str()
            .is_some_and(|r| r.contains("is missing"))
    })
    .await;
    assert_eq!(body["configHash"], second.hash.as_str());

    // Restoring the secret lets the same config through.
    std::fs::write(root.join("secrets").join(&key), "test-secret").expect("secret");
    wait_for(&base, "the third config", |b| {
        b["configHash"] == third.hash.as_str() && b["rejectedConfig"].is_null()
    })
    .await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn the_region_secrets_key_set_is_checked_before_it_is_served() {
    use vestibule::crypto::keys::KeySet;
    use vestibule::runtime::live::{Active, SecretValues};
    let config = crate::app::quickstart_config("http://127.0.0.1:1", |_| {});
    let base = SecretValues::new(
        config
            .secrets
            .keys()
            .map(|k| (k.clone(), "test-secret".to_owned()))
            .chain([("mfa-key".to_owned(), crate::app::test_mfa_key())])
            .collect(),
    );
    // A damaged key set is refused (the previous config keeps serving), with the reason.
    let damaged = base.clone().with(
        "signing-keys.json",
        r#"{"keys": [{"kid": "x"}]}"#.to_owned(),
    );
    let refused = Active::build(config.clone(), damaged, None).err();
    assert!(
        refused
            .map(|e| e.to_string())
            .is_some_and(|e| e.contains("signing keys")),
        "a damaged key set must not activate"
    );
    // The operator's planned set activates and is what the JWKS serves from.
    let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
    let planned = vestibule::operator::keys::plan(
        &KeySet::default(),
        &vestibule::operator::signing::policy(&config),
        now,
        false,
    )
    .expect("keys");
    let json = String::from_utf8(planned.to_json().expect("json")).expect("utf-8");
    let active =
        Active::build(config, base.with("signing-keys.json", json), None).expect("activates");
    assert_eq!(active.keys.expect("keys").keys, planned.keys);
}
