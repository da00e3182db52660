//! `vestibule dev` as a developer runs it: edits apply without a restart, and a broken edit is
//! reported with `file:line` while the previous config keeps serving.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct DevServer {
    child: Child,
    stderr: Arc<Mutex<String>>,
    base: String,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
    }
}

/// A fresh copy of `examples/EXAMPLE` under the test temp dir: (the copy's root, its
/// `resources` directory). The root also holds the data directory.
fn example_copy(label: &str, example: &str) -> (PathBuf, PathBuf) {
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("resources");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example),
        &dir,
    );
    (root, dir)
}

fn start(dir: &Path, data: &Path) -> DevServer {
    start_with(dir, data, &[])
}

fn start_with(dir: &Path, data: &Path, extra: &[&str]) -> DevServer {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .args([
            "dev",
            &dir.to_string_lossy(),
            "--port",
            &port.to_string(),
            "--data-dir",
            &data.to_string_lossy(),
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vestibule dev");
    let stderr = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().expect("stderr");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    DevServer {
        child,
        stderr,
        base: format!("http://localhost:{port}"),
    }
}

async fn get(base: &str, path: &str) -> Option<String> {
    let response = reqwest::get(format!("{base}{path}")).await.ok()?;
    response.text().await.ok()
}

/// Polls until `check` holds for the body of `path`, or fails after 15 s.
async fn eventually(
    server: &DevServer,
    path: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(body) = get(&server.base, path).await
            && check(&body)
        {
            return body;
        }
        if Instant::now() > deadline {
            let log = server.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            panic!("timed out waiting for {what}; dev stderr:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to `seconds` for the dev server's stderr to hold every one of `wanted`, then returns it
/// (failing with the log when it never does).
async fn stderr_with(server: &DevServer, wanted: &[&str], seconds: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let log = server.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        if wanted.iter().all(|w| log.contains(w)) {
            return log;
        }
        assert!(Instant::now() < deadline, "expected {wanted:?} in:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{from:?} not in {}", file.display());
    std::fs::write(file, text.replace(from, to)).expect("write");
}

#[tokio::test]
async fn editing_the_dev_directory_applies_without_restart_and_a_broken_edit_keeps_the_old_config()
{
    let (root, dir) = example_copy("dev-reload", "quickstart");
    let server = start(&dir, &root.join("data"));
    let pid = server.child.id();

    eventually(&server, "/sign-up", "the first config", |b| {
        b.contains("At least 10 characters")
    })
    .await;
    let first_hash = eventually(&server, "/readyz", "readyz", |b| b.contains("configHash")).await;

    // A good edit: the new minimum shows up, same process.
    let file = dir.join("vestibule.yaml");
    edit(&file, "minLength: 10", "minLength: 12");
    eventually(&server, "/sign-up", "the edited minimum", |b| {
        b.contains("At least 12 characters")
    })
    .await;
    let second_hash = get(&server.base, "/readyz").await.unwrap_or_default();
    assert_ne!(first_hash, second_hash);
    assert_eq!(server.child.id(), pid);

    // A broken edit: reported with file:line, the previous config keeps serving.
    edit(&file, "minLength: 12", "minLength: 3");
    let readyz = eventually(&server, "/readyz", "the rejection", |b| {
        b.contains("spec.passwords.minLength")
    })
    .await;
    assert!(readyz.contains("\"ready\":true"), "{readyz}");
    let line = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .position(|l| l.contains("minLength"))
        .expect("minLength line")
        + 1;
    let expected = format!(
        "{}:{line}: Vestibule/quickstart: spec.passwords.minLength: must be at least 8",
        file.display()
    );
    let log = stderr_with(&server, &[&expected], 5).await;
    assert!(log.contains("still serving the previous config"), "{log}");
    let page = get(&server.base, "/sign-up").await.unwrap_or_default();
    assert!(
        page.contains("At least 12 characters"),
        "the last good config serves"
    );

    // Fixing it clears the rejection.
    edit(&file, "minLength: 3", "minLength: 14");
    eventually(&server, "/sign-up", "the fixed config", |b| {
        b.contains("At least 14 characters")
    })
    .await;
    let readyz = get(&server.base, "/readyz").await.unwrap_or_default();
    assert!(readyz.contains("\"rejectedConfig\":null"), "{readyz}");
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn making_mfa_required_in_the_dev_directory_forces_enrolment_at_the_next_sign_in() {
    let (root, dir) = example_copy("dev-mfa", "quickstart");
    let server = start(&dir, &root.join("data"));
    let first = eventually(&server, "/readyz", "the first config", |b| {
        b.contains("configHash")
    })
    .await;
    let email = "policy@example.com";
    let mut client = crate::app::Client::at(&server.base);
    let page = client
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", email), ("password", crate::app::PASSWORD)],
        )
        .await;
    let mailbox = get(&server.base, "/dev/mailbox.json")
        .await
        .unwrap_or_default();
    let code = crate::app::code_in(&mailbox);
    let verified = client
        .submit(
            page.location(),
            "/verify-email",
            &[("email", email), ("code", &code)],
        )
        .await;
    assert_eq!(verified.location(), "/account", "optional: no enrolment");
    let token = client.get("/account").await.csrf();
    client.post("/sign-out", &[("csrf_token", &token)]).await;

    edit(
        &dir.join("mfa-policy.yaml"),
        "enforcement: optional",
        "enforcement: required",
    );
    eventually(&server, "/readyz", "the required policy", |b| {
        b.contains("configHash") && b != first
    })
    .await;
    let signed = client
        .submit(
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", crate::app::PASSWORD)],
        )
        .await;
    assert_eq!(
        signed.location(),
        "/sign-in/enrol",
        "same process, new policy"
    );
    assert!(client.session().is_none());
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The value of `name="field" value="..."` in a page.
fn field(html: &str, name: &str) -> String {
    crate::app::field_value(html, name).unwrap_or_default()
}

#[tokio::test]
async fn logs_never_contain_passwords_codes_tokens_or_cookies() {
    let (root, dir) = example_copy("dev-logs", "quickstart");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .args([
            "dev",
            &dir.to_string_lossy(),
            "--port",
            &port.to_string(),
            "--data-dir",
            &root.join("data").to_string_lossy(),
        ])
        // Everything, including the database driver's statement logs.
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vestibule dev");
    let pipe = child.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    let server = DevServer {
        child,
        stderr: log.clone(),
        base: format!("http://localhost:{port}"),
    };
    eventually(&server, "/healthz", "the server", |b| b == "ok").await;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = server.base.clone();
    let password = "log-canary passphrase 7731";
    let email = "owner@example.com";
    let page = http
        .get(format!("{base}/sign-up"))
        .send()
        .await
        .expect("get");
    let csrf_cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .expect("csrf cookie");
    let token = field(&page.text().await.expect("body"), "csrf_token");
    http.post(format!("{base}/sign-up"))
        .header("cookie", &csrf_cookie)
        .header("origin", &base)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign up");
    let mail: serde_json::Value = http
        .get(format!("{base}/dev/mailbox.json"))
        .send()
        .await
        .expect("mailbox")
        .json()
        .await
        .expect("json");
    let text = mail[0]["text"].as_str().unwrap_or_default().to_owned();
    let code = crate::app::code_in(&text);
    let link_token = text
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    let verified = http
        .post(format!("{base}/verify-email"))
        .header("cookie", &csrf_cookie)
        .header("origin", &base)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .expect("verify");
    let session = verified
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-vestibule_session="))
        .and_then(|c| c.split(';').next())
        .and_then(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .expect("session cookie");
    http.get(format!("{base}/account"))
        .header("cookie", format!("__Host-vestibule_session={session}"))
        .send()
        .await
        .expect("account");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let _ = reader.join();
    let log = log.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        log.contains("route=/sign-up"),
        "request logs are there: {log}"
    );
    let csrf_value = csrf_cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    for (what, secret) in [
        ("password", password),
        ("code", code.as_str()),
        ("link token", link_token.as_str()),
        ("session token", session.as_str()),
        ("CSRF token", csrf_value.as_str()),
    ] {
        assert!(!secret.is_empty(), "{what} captured");
        assert!(!log.contains(secret), "the {what} appears in the logs");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The JWKS as served, with its response headers, for a request from `origin`.
async fn jwks(base: &str, origin: &str) -> (serde_json::Value, reqwest::header::HeaderMap) {
    let response = reqwest::Client::new()
        .get(format!("{base}/.well-known/jwks.json"))
        .header("Origin", origin)
        .send()
        .await
        .expect("jwks");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (response.json().await.expect("json"), headers)
}

#[tokio::test]
async fn dev_publishes_its_signing_keys_and_reuses_them_after_a_restart() {
    let (root, dir) = example_copy("dev-keys", "quickstart");
    // A browser app whose origin may read the JWKS.
    std::fs::write(
        dir.join("spa.yaml"),
        "apiVersion: vestibule.dev/v1alpha1\nkind: Application\nmetadata:\n  name: spa\nspec:\n  vestibuleRef:\n    name: quickstart\n  type: spa\n  clientId: spa\n  redirectUris:\n    - http://localhost:3000/callback\n  allowedOrigins:\n    - http://localhost:3000\n",
    )
    .expect("write spa.yaml");
    // A confidential client without a Secret in DIR.
    std::fs::write(
        dir.join("worker.yaml"),
        "apiVersion: vestibule.dev/v1alpha1\nkind: Application\nmetadata:\n  name: worker\nspec:\n  vestibuleRef:\n    name: quickstart\n  type: m2m\n  clientId: worker\n  grantTypes: [client_credentials]\n  secretName: worker-oidc\n",
    )
    .expect("write worker.yaml");
    let data = root.join("data");
    let server = start(&dir, &data);
    eventually(&server, "/.well-known/jwks.json", "the JWKS", |b| {
        b.contains("\"kid\"")
    })
    .await;
    let (set, headers) = jwks(&server.base, "http://localhost:3000").await;
    let keys = set["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{set}");
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(
        key.get("d").is_none(),
        "no private member is published: {key}"
    );
    let kid = key["kid"].as_str().expect("kid").to_owned();
    // Cacheable for minutes, and readable by a listed origin only.
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let (_, other) = jwks(&server.base, "http://localhost:3001").await;
    assert!(other.get("access-control-allow-origin").is_none());

    // The private keys live in the data directory, readable by their owner only.
    let file = data.join("signing-keys.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("keys file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The quickstart's demo-app takes its secret from the Secret in DIR; the worker has none
    // there, so dev generated one into the data directory. The token endpoint knows both.
    assert!(!data.join("client-secrets").join("demo-app").exists());
    let generated = std::fs::read_to_string(data.join("client-secrets").join("worker"))
        .expect("generated client secret");
    let attempt = async |client_id: &str, secret: &str| {
        let response = reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.base))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "not-a-token"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("token");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("json");
        (
            status,
            body["error"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        attempt("demo-app", "quickstart-demo-secret-change-me").await,
        (reqwest::StatusCode::BAD_REQUEST, "invalid_grant".to_owned()),
        "authenticated: only the refresh token is wrong"
    );
    assert_eq!(
        attempt("worker", &generated).await,
        (
            reqwest::StatusCode::BAD_REQUEST,
            "unauthorized_client".to_owned()
        ),
        "authenticated, but the worker may not refresh"
    );
    assert_eq!(
        attempt("demo-app", "wrong").await,
        (
            reqwest::StatusCode::UNAUTHORIZED,
            "invalid_client".to_owned()
        )
    );
    drop(server);

    // A restart reuses them: tokens signed before it still verify after it.
    let again = start(&dir, &data);
    let body = eventually(&again, "/.well-known/jwks.json", "the JWKS again", |b| {
        b.contains("\"kid\"")
    })
    .await;
    let set: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(set["keys"][0]["kid"], kid.as_str());
    assert_eq!(
        std::fs::read_to_string(data.join("client-secrets").join("worker")).expect("kept"),
        generated,
        "the generated client secret is reused"
    );
}

#[tokio::test]
async fn dev_serves_from_the_database_given_by_database_url() {
    let Some(database) = crate::support::fresh_postgres_database().await else {
        return; // the notice is printed; strict mode fails inside
    };
    let (root, dir) = example_copy("dev-pg", "quickstart");
    let server = start_with(&dir, &root.join("data"), &["--database-url", &database.url]);
    eventually(&server, "/sign-up", "the sign-up page", |b| {
        b.contains("csrf_token")
    })
    .await;
    let page = get(&server.base, "/sign-up").await.unwrap_or_default();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/sign-up", server.base))
        .header("origin", &server.base)
        .header(
            "cookie",
            format!("__Host-vestibule_csrf={}", field(&page, "csrf_token")),
        )
        .form(&[
            ("csrf_token", field(&page, "csrf_token").as_str()),
            ("email", "pg@example.com"),
            ("password", "correct horse battery staple"),
        ])
        .send()
        .await
        .expect("sign-up");
    assert!(response.status().is_redirection(), "{}", response.status());
    // The account is in PostgreSQL, and no SQLite file was made.
    let store = vestibule::store::Store::connect(&database.url, 1)
        .await
        .expect("store");
    assert!(
        store
            .user_by_email("pg@example.com")
            .await
            .expect("query")
            .is_some()
    );
    assert!(!root.join("data").join("vestibule.sqlite").exists());
    drop(store);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_theme_edit_restyles_the_next_page_and_a_broken_override_keeps_the_old_theme() {
    let (root, dir) = example_copy("dev-theme", "branded-theme");
    let server = start(&dir, &root.join("data"));
    let page = eventually(&server, "/sign-in", "the override", |b| {
        b.contains("nordlicht-sign-in")
    })
    .await;
    assert!(page.contains("data-layout=\"split\""), "layout.variant");
    let css = get(&server.base, "/assets/vestibule.css")
        .await
        .unwrap_or_default();
    assert!(css.contains("--vst-color-primary:#2563eb;"), "{css}");

    // The preview: every component in every state, light and dark, in the visitor's locale.
    let preview = get(&server.base, "/dev/theme?locale=de")
        .await
        .unwrap_or_default();
    for component in vestibule::ui::COMPONENTS
        .iter()
        .filter(|c| c.name != "layout")
    {
        let marker = format!("data-component-preview=\"{}\"", component.name);
        assert!(preview.contains(&marker), "{marker} in the preview");
    }
    assert!(preview.contains("data-state=\"with values\""));
    assert_eq!(
        preview.matches("data-appearance=\"light\"").count(),
        preview.matches("data-appearance=\"dark\"").count()
    );
    assert!(preview.contains("<html lang=\"de\""), "the picker's locale");
    assert!(
        preview.contains("class=\"nordlicht-sign-in\""),
        "the theme's override"
    );
    assert!(preview.contains("/assets/dev-reload.js"), "reloads itself");

    // A token edit: the next stylesheet has it, same process.
    let pid = server.child.id();
    let file = dir.join("theme.yaml");
    edit(&file, "primary: \"#2563eb\"", "primary: \"#7c3aed\"");
    eventually(&server, "/assets/vestibule.css", "the new token", |b| {
        b.contains("--vst-color-primary:#7c3aed;")
    })
    .await;
    assert_eq!(server.child.id(), pid);

    // An override that drops the CSRF field: reported at its line, the last good theme serves.
    edit(
        &file,
        "{{ csrf(csrf_token) }}{{ redirect(redirect_url) }}",
        "{{ redirect(redirect_url) }}",
    );
    let line = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .position(|l| l.contains("sign-in.form: |"))
        .expect("the override's key")
        + 1;
    let expected = format!(
        "{}:{line}: Theme/nordlicht: spec.templates[\"sign-in.form\"]: sign-in.form: the form \
         posting to /sign-in lost its CSRF field",
        file.display()
    );
    eventually(&server, "/readyz", "the rejection", |b| {
        b.contains("spec.templates")
    })
    .await;
    stderr_with(&server, &[&expected], 5).await;
    let page = get(&server.base, "/sign-in").await.unwrap_or_default();
    assert!(page.contains("nordlicht-sign-in"), "the last good override");
    assert!(
        page.contains("name=\"csrf_token\""),
        "still with its CSRF field"
    );

    // A line inside the template: `safe` on the email input's line.
    edit(
        &file,
        "{{ redirect(redirect_url) }}",
        "{{ csrf(csrf_token) }}{{ redirect(redirect_url) }}",
    );
    edit(&file, "value=\"{{ email }}\"", "value=\"{{ email|safe }}\"");
    let line = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .position(|l| l.contains("email|safe"))
        .expect("the safe line")
        + 1;
    let expected = format!("{}:{line}: Theme/nordlicht", file.display());
    stderr_with(&server, &[&expected, "`safe` is refused"], 15).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn declared_organizations_reach_the_database_and_follow_yaml_edits() {
    let (root, dir) = example_copy("dev-orgs", "b2b-organizations");
    let data = root.join("data");
    let server = start(&dir, &data);
    eventually(&server, "/readyz", "the first config", |b| {
        b.contains("configHash")
    })
    .await;
    let url = format!("sqlite://{}", data.join("vestibule.sqlite").display());
    let store = vestibule::store::Store::connect(&url, 1)
        .await
        .expect("the dev database");
    let organization = async |slug: &str| store.organization_by_slug(slug).await.expect("read");

    let deadline = Instant::now() + Duration::from_secs(15);
    // Each organization commits on its own: wait for both.
    let acme = loop {
        if let (Some(acme), Some(_)) = (organization("acme").await, organization("globex").await) {
            break acme;
        }
        assert!(
            Instant::now() < deadline,
            "the declared organizations never synced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(acme.managed, "declared: managed");
    assert_eq!(acme.name, "Acme Corporation");

    // An edit in the YAML reaches the row, same process.
    edit(
        &dir.join("organizations.yaml"),
        "displayName: Acme Corporation",
        "displayName: Acme Corp",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while organization("acme").await.map(|o| o.name) != Some("Acme Corp".into()) {
        assert!(Instant::now() < deadline, "the rename never synced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let renamed = organization("acme").await.expect("acme");
    assert_eq!(renamed.id, acme.id, "the same organization, renamed");

    // Declared members without an account were invited, once (the rename did not re-send).
    let mailbox = get(&server.base, "/dev/mailbox.json")
        .await
        .unwrap_or_default();
    for to in ["ceo@acme.com", "finance@acme.com", "hank@globex.example"] {
        assert_eq!(
            mailbox.matches(&format!("\"to\":\"{to}\"")).count(),
            1,
            "{to} invited once: {mailbox}"
        );
    }

    // Hank (declared admin of Globex) signs up; the next sync makes him admin, and a role
    // edited in the YAML follows on the reload after.
    let hank = store
        .create_user_with_email("hank@globex.example", "not-a-real-hash", 0)
        .await
        .expect("hank");
    let globex = organization("globex").await.expect("globex");
    let role = async || {
        store
            .membership(&globex.id, &hank.id)
            .await
            .expect("read")
            .map(|m| m.role)
    };
    edit(
        &dir.join("organizations.yaml"),
        "displayName: Globex",
        "displayName: Globex Inc",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while role().await.as_deref() != Some("admin") {
        assert!(Instant::now() < deadline, "hank never became a member");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    edit(
        &dir.join("organizations.yaml"),
        "- email: hank@globex.example\n      role: admin",
        "- email: hank@globex.example\n      role: member",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while role().await.as_deref() != Some("member") {
        assert!(Instant::now() < deadline, "the role edit never synced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A reload that changes nothing the organizations declare writes nothing, and says so.
    let counter = |metrics: &str, name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    const UNCHANGED: &str = "vestibule_organization_syncs_total{result=\"unchanged\"}";
    const WRITES: &str = "vestibule_organization_sync_writes_total";
    let before = get(&server.base, "/metrics").await.unwrap_or_default();
    edit(
        &dir.join("vestibule.yaml"),
        "maxCreatedPerUser: 3",
        "maxCreatedPerUser: 4",
    );
    let after = eventually(&server, "/metrics", "a sync that writes nothing", |m| {
        counter(m, UNCHANGED) > counter(&before, UNCHANGED)
    })
    .await;
    assert_eq!(counter(&after, WRITES), counter(&before, WRITES), "{after}");

    // A runtime organization's slug declared: left alone, and the terminal says why.
    store
        .create_organization(&vestibule::store::NewOrganization {
            slug: "initech".into(),
            name: "Initech (runtime)".into(),
            managed: false,
            creator: None,
            now: 0,
        })
        .await
        .expect("runtime organization");
    let declared = |slug: &str, policy: &str| {
        format!(
            "apiVersion: vestibule.dev/v1alpha1\nkind: Organization\nmetadata:\n  name: {slug}\n  namespace: saas\nspec:\n  vestibuleRef:\n    name: saas\n  slug: {slug}\n  displayName: Declared {slug}\n  deletionPolicy: {policy}\n"
        )
    };
    std::fs::write(dir.join("initech.yaml"), declared("initech", "Retain")).expect("write");
    stderr_with(
        &server,
        &["initech", "a runtime-created organization has this slug"],
        15,
    )
    .await;
    assert_eq!(
        organization("initech").await.map(|o| (o.name, o.managed)),
        Some(("Initech (runtime)".to_owned(), false))
    );

    // `deletionPolicy: Delete`: removing the resource removes the organization.
    std::fs::remove_file(dir.join("initech.yaml")).expect("remove");
    std::fs::write(dir.join("umbrella.yaml"), declared("umbrella", "Delete")).expect("write");
    let deadline = Instant::now() + Duration::from_secs(15);
    while organization("umbrella").await.is_none() {
        assert!(Instant::now() < deadline, "umbrella never synced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::remove_file(dir.join("umbrella.yaml")).expect("remove");
    let deadline = Instant::now() + Duration::from_secs(15);
    while organization("umbrella").await.is_some() {
        assert!(Instant::now() < deadline, "umbrella was never deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        organization("acme").await.is_some_and(|o| o.managed),
        "the others stay"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
