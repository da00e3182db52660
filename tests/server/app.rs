//! `spawn_app`: the real server on a random port over a fresh store, and a client that handles
//! cookies by hand so tests can assert exactly what the server sets.

#![allow(dead_code)] // each test module uses a different part of this

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use vestibule::config::RuntimeConfig;
use vestibule::email::Outbox;
use vestibule::http::state::AppState;
use vestibule::manifest::validate::validate_paths;
use vestibule::runtime::live::{Active, LiveConfig, SecretValues};
use vestibule::store::Store;

/// A running server.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub outbox: Outbox,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The quickstart example compiled, with the issuer moved to `base`.
pub fn quickstart_config(base: &str, tweak: impl FnOnce(&mut RuntimeConfig)) -> RuntimeConfig {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let report = validate_paths(&[dir], &[]).expect("quickstart readable");
    assert!(!report.has_errors(), "{:?}", report.findings);
    let mut config = report.configs.into_iter().next().expect("one Vestibule").1;
    config.issuer = base.to_owned();
    tweak(&mut config);
    config.seal()
}

/// The MFA key every test server gets (as the operator's region Secret or `dev`'s data
/// directory would give it).
pub fn test_mfa_key() -> String {
    use std::sync::LazyLock;
    static KEY: LazyLock<String> = LazyLock::new(vestibule::crypto::sealing::generate_encoded);
    KEY.clone()
}

pub fn quickstart_secrets(config: &RuntimeConfig) -> SecretValues {
    SecretValues::new(
        config
            .secrets
            .keys()
            .map(|k| (k.clone(), "test-secret".to_owned()))
            .chain([("mfa-key".to_owned(), test_mfa_key())])
            .collect(),
    )
}

/// Starts the server on `store` with the quickstart config, changed by `tweak`.
pub async fn spawn_app_with(store: Store, tweak: impl FnOnce(&mut RuntimeConfig)) -> TestApp {
    spawn_app_with_secrets(store, tweak, |_| Vec::new()).await
}

/// [`spawn_app_with`], with more region Secret values (e.g. `signing-keys.json`) computed from
/// the final config.
pub async fn spawn_app_with_secrets(
    store: Store,
    tweak: impl FnOnce(&mut RuntimeConfig),
    extra: impl FnOnce(&RuntimeConfig) -> Vec<(String, String)>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let config = quickstart_config(&base, tweak);
    let outbox = Outbox::default();
    let mut secrets = quickstart_secrets(&config);
    for (key, value) in extra(&config) {
        secrets = secrets.with(&key, value);
    }
    let active = Active::build(config, secrets, Some(outbox.clone())).expect("config activates");
    let state = AppState::new(
        store,
        Arc::new(LiveConfig::new(active)),
        Some(outbox.clone()),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = state.clone();
    tokio::spawn(async move {
        let _ = vestibule::http::serve(listener, served, async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        base,
        state,
        outbox,
        shutdown: Some(tx),
    }
}

/// Starts the server with the quickstart config as is.
pub async fn spawn_app(store: Store) -> TestApp {
    spawn_app_with(store, |_| {}).await
}

/// A browser stand-in: a cookie jar, no automatic redirects, `Origin` on every POST.
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` header seen, in order.
    pub set_cookies: Vec<String>,
    /// `Accept-Language` on every request, when set.
    pub accept_language: Option<String>,
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The CSRF token embedded in the page's first form.
    pub fn csrf(&self) -> String {
        field_value(&self.body, "csrf_token").unwrap_or_default()
    }
}

/// The `value` of the first input named `name` in `html`.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

impl Client {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.base)
    }

    /// A client of the server at `base` (a `vestibule dev` process).
    pub fn at(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            set_cookies: Vec::new(),
            accept_language: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie").to_owned();
            let (pair, attributes) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.push(text);
        }
        let body = response.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    fn with_language(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.accept_language {
            Some(language) => request.header("accept-language", language),
            None => request,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        let response = self.with_language(request).send().await.expect("GET");
        self.finish(response).await
    }

    /// POSTs a form as a same-origin browser would (with `Origin`).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_with(path, form, &[("origin", origin.as_str())])
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self.with_language(
            self.http
                .post(format!("{}{path}", self.base))
                .header("cookie", self.cookie_header())
                .form(form),
        );
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.expect("POST");
        self.finish(response).await
    }

    /// GETs `page_path` for a CSRF token, then POSTs `form` (plus the token) to `action`.
    pub async fn submit(&mut self, page_path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let token = self.get(page_path).await.csrf();
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post(action, &fields).await
    }

    /// Posts the sign-in form with an already-fetched CSRF token.
    pub async fn sign_in(&mut self, token: &str, email: &str, password: &str) -> Page {
        self.post(
            "/sign-in",
            &[
                ("csrf_token", token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    pub fn session(&self) -> Option<&String> {
        self.cookies.get("__Host-vestibule_session")
    }
}

/// The newest message to `to`.
pub fn last_mail(app: &TestApp, to: &str) -> vestibule::email::OutboxEntry {
    app.outbox
        .entries()
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

/// The 6-digit code in a message.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code")
        .to_owned()
}

/// The path (with query) of the first link to this server in a message.
pub fn link_in(app: &TestApp, text: &str) -> String {
    let start = text.find(&app.base).expect("a link to the server") + app.base.len();
    text[start..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Signs up and verifies `email`; returns a signed-in client.
pub async fn signed_up(app: &TestApp, email: &str) -> Client {
    let mut client = Client::new(app);
    let page = client
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let code = code_in(&last_mail(app, email).text);
    let verify_path = page.location().to_owned();
    let page = client
        .submit(
            &verify_path,
            "/verify-email",
            &[("email", email), ("code", &code)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(client.session().is_some());
    client
}

/// Asks for a reset link for `email` and opens it: the form's CSRF token and the link's token.
pub async fn open_reset_link(app: &TestApp, client: &mut Client, email: &str) -> (String, String) {
    client
        .submit("/forgot-password", "/forgot-password", &[("email", email)])
        .await;
    let link = link_in(app, &last_mail(app, email).text);
    assert!(link.starts_with("/reset-password?token="), "{link}");
    let form = client.get(&link).await;
    let token = field_value(&form.body, "token").expect("token field");
    (form.csrf(), token)
}
