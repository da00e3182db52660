//! `KubeSource` against kube's mocked API server (`tower-test`): the exact GET and WATCH
//! requests for the region's ConfigMap and Secret, and the candidates a running server receives
//! when they change, with no restart in between.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, Request, Response, StatusCode};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_test::mock::{self, Handle, SendResponse};
use vestibule::auth::AuthMetrics;
use vestibule::config::RuntimeConfig;
use vestibule::http::metrics::Metrics;
use vestibule::manifest::validate::validate_paths;
use vestibule::runtime::kube_source::KubeSource;
use vestibule::runtime::live::{Active, LiveConfig};
use vestibule::runtime::source::{Candidate, ConfigSource, follow};

const NAMESPACE: &str = "default";
const CONFIG_MAP: &str = "quickstart-config";
const SECRET: &str = "quickstart-secrets";
const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";
/// How long any one step may take before the test fails instead of hanging.
const STEP: Duration = Duration::from_secs(10);

type ApiHandle = Handle<Request<Body>, Response<Body>>;
type Responder = SendResponse<Response<Body>>;

/// The quickstart example compiled, changed by `tweak`.
fn quickstart(tweak: impl FnOnce(&mut RuntimeConfig)) -> RuntimeConfig {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let report = validate_paths(&[dir], &[]).expect("quickstart readable");
    assert!(!report.has_errors(), "{:?}", report.findings);
    let mut config = report.configs[0].1.clone();
    tweak(&mut config);
    config.seal()
}

/// A value for every key the config refers to.
fn secret_values(config: &RuntimeConfig, prefix: &str) -> BTreeMap<String, String> {
    config
        .secrets
        .keys()
        .map(|k| (k.clone(), format!("{prefix}-{k}")))
        // The MFA key the operator ships with every region (any 32 bytes, base64).
        .chain([(
            "mfa-key".to_owned(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        )])
        .collect()
}

fn config_map_with(version: &str, data: BTreeMap<String, String>) -> Value {
    serde_json::to_value(ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIG_MAP.into()),
            namespace: Some(NAMESPACE.into()),
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    })
    .expect("json")
}

/// The ConfigMap as the operator writes it: the config under `config.json`.
fn config_map(version: &str, text: &str) -> Value {
    config_map_with(
        version,
        BTreeMap::from([("config.json".to_owned(), text.to_owned())]),
    )
}

fn config_text(config: &RuntimeConfig) -> String {
    serde_json::to_string_pretty(config).expect("json")
}

fn secret(version: &str, values: &BTreeMap<String, String>) -> Value {
    serde_json::to_value(Secret {
        metadata: ObjectMeta {
            name: Some(SECRET.into()),
            namespace: Some(NAMESPACE.into()),
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            values
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    })
    .expect("json")
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn event(kind: &str, object: Value) -> Value {
    json!({"type": kind, "object": object})
}

/// A source over the mocked API, run in a task that forwards its candidates.
struct Running {
    candidates: mpsc::UnboundedReceiver<Candidate>,
    task: tokio::task::JoinHandle<()>,
}

fn start() -> (Running, ApiHandle) {
    let (source, handle) = source();
    let (tx, candidates) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut source = source;
        while let Some(candidate) = source.next().await {
            if tx.send(candidate).is_err() {
                break;
            }
        }
    });
    (Running { candidates, task }, handle)
}

impl Running {
    async fn candidate(&mut self) -> Candidate {
        tokio::time::timeout(STEP, self.candidates.recv())
            .await
            .expect("a candidate in time")
            .expect("the source is running")
    }

    /// Nothing was yielded that the test has not taken.
    fn assert_idle(&mut self) {
        assert!(
            self.candidates.try_recv().is_err(),
            "an unexpected candidate"
        );
    }

    /// Stops the source: its client closes.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn source() -> (KubeSource, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NAMESPACE);
    (
        KubeSource::new(client, NAMESPACE, CONFIG_MAP, SECRET),
        handle,
    )
}

async fn next_request(handle: &mut ApiHandle) -> (Request<Body>, Responder) {
    tokio::time::timeout(STEP, handle.next_request())
        .await
        .expect("a request in time")
        .expect("the client is alive")
}

/// The next two requests, ConfigMap's first: the source makes them concurrently.
async fn next_pair(handle: &mut ApiHandle) -> [(Request<Body>, Responder); 2] {
    let a = next_request(handle).await;
    let b = next_request(handle).await;
    if a.0.uri().path().starts_with(CONFIG_MAPS) {
        [a, b]
    } else {
        [b, a]
    }
}

fn query(request: &Request<Body>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A GET of one object, without parameters.
fn assert_get(request: &Request<Body>, path: &str) {
    assert_eq!(request.method(), Method::GET, "{}", request.uri());
    assert_eq!(request.uri().path(), path);
    assert_eq!(request.uri().query(), None, "{}", request.uri());
}

/// A WATCH of the collection, narrowed by field selector to the one object, from `version`.
fn assert_watch(request: &Request<Body>, collection: &str, name: &str, version: &str) {
    assert_eq!(request.method(), Method::GET, "{}", request.uri());
    assert_eq!(request.uri().path(), collection);
    let expected: BTreeMap<String, String> = [
        ("watch", "true"),
        ("timeoutSeconds", "290"),
        ("fieldSelector", &format!("metadata.name={name}")),
        ("allowWatchBookmarks", "true"),
        ("resourceVersion", version),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(query(request), expected, "{}", request.uri());
}

fn respond(send: Responder, code: StatusCode, body: &Value) {
    send.send_response(
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(body).expect("json")))
            .expect("response"),
    );
}

/// Answers a watch with these events, one JSON object per line, and ends it (as the API server
/// does at its timeout), so the source resumes with a new watch.
fn respond_events(send: Responder, events: &[Value]) {
    let mut body = Vec::new();
    for e in events {
        body.extend(serde_json::to_vec(e).expect("json"));
        body.push(b'\n');
    }
    send.send_response(
        Response::builder()
            .body(Body::from(body))
            .expect("response"),
    );
}

/// Answers the first GETs with the quickstart config (ConfigMap at version 10) and a value for
/// every secret key (Secret at version 20).
async fn answer_gets(handle: &mut ApiHandle) -> (RuntimeConfig, BTreeMap<String, String>) {
    let config = quickstart(|_| {});
    let values = secret_values(&config, "v1");
    assert!(!values.is_empty(), "quickstart refers to secrets");
    let [(cm, cm_send), (sec, sec_send)] = next_pair(handle).await;
    assert_get(&cm, &format!("{CONFIG_MAPS}/{CONFIG_MAP}"));
    assert_get(&sec, &format!("{SECRETS}/{SECRET}"));
    respond(
        cm_send,
        StatusCode::OK,
        &config_map("10", &config_text(&config)),
    );
    respond(sec_send, StatusCode::OK, &secret("20", &values));
    (config, values)
}

/// The two watches that follow the GETs, from the versions they returned; left unanswered.
async fn take_watches(handle: &mut ApiHandle) -> (Responder, Responder) {
    let [(cm, cm_watch), (sec, secret_watch)] = next_pair(handle).await;
    assert_watch(&cm, CONFIG_MAPS, CONFIG_MAP, "10");
    assert_watch(&sec, SECRETS, SECRET, "20");
    (cm_watch, secret_watch)
}

fn assert_ok(candidate: Candidate, hash: &str, values: &BTreeMap<String, String>) -> RuntimeConfig {
    let (config, secrets) = candidate.expect("a valid candidate");
    assert_eq!(config.hash, hash);
    for (key, value) in values {
        assert_eq!(secrets.get(key), Some(value.as_str()), "{key}");
    }
    config
}

/// After the source is gone its client closes; no request may be left unseen.
async fn assert_no_more_requests(handle: &mut ApiHandle) {
    let rest = tokio::time::timeout(STEP, handle.next_request())
        .await
        .expect("the client closes");
    if let Some((request, _)) = rest {
        panic!("unexpected request {} {}", request.method(), request.uri());
    }
}

#[tokio::test]
async fn a_config_map_change_reaches_the_running_source() {
    let (mut source, mut handle) = start();
    let (config, values) = answer_gets(&mut handle).await;
    assert_ok(source.candidate().await, &config.hash, &values);
    let (cm_watch, secret_watch) = take_watches(&mut handle).await;

    // A MODIFIED event with a changed config: the next candidate, same source, no restart.
    let changed = quickstart(|c| c.passwords.min_length = 12);
    assert_ne!(changed.hash, config.hash);
    respond_events(
        cm_watch,
        &[event("MODIFIED", config_map("11", &config_text(&changed)))],
    );
    let applied = assert_ok(source.candidate().await, &changed.hash, &values);
    assert_eq!(applied.passwords.min_length, 12);

    // The watch ended; the source resumes from the version it last saw. Broken JSON: `Err`.
    let (request, send) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "11");
    respond_events(send, &[event("MODIFIED", config_map("12", "{ not json"))]);
    let reason = source
        .candidate()
        .await
        .expect_err("broken JSON is refused");
    assert!(
        reason.starts_with("ConfigMap default/quickstart-config key \"config.json\": "),
        "{reason}"
    );

    let (request, parked) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "12");
    source.assert_idle();
    source.stop().await;
    drop((secret_watch, parked));
    assert_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn follow_applies_a_config_map_change_without_restart() {
    let (mut source, mut handle) = source();
    // As `vestibule server` starts: the first candidate becomes the first active config, then
    // `follow` takes over the same source.
    let (first, (config, values)) = tokio::join!(source.next(), answer_gets(&mut handle));
    let (first, secrets) = first.expect("a first candidate").expect("valid");
    assert_eq!(first.hash, config.hash);
    for (key, value) in &values {
        assert_eq!(secrets.get(key), Some(value.as_str()), "{key}");
    }
    let live = Arc::new(LiveConfig::new(
        Active::build(first, secrets, None).expect("activates"),
    ));
    let metrics = Metrics::new(&AuthMetrics::default());
    let following = tokio::spawn(follow(
        source,
        live.clone(),
        metrics.config.clone(),
        None,
        |_| {},
    ));
    let (cm_watch, secret_watch) = take_watches(&mut handle).await;
    assert_eq!(live.load().config.hash, config.hash);

    let changed = quickstart(|c| c.passwords.min_length = 12);
    respond_events(
        cm_watch,
        &[event("MODIFIED", config_map("11", &config_text(&changed)))],
    );
    // The source resumes the watch only after `follow` has handled the candidate.
    let (request, send) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "11");
    assert_eq!(live.load().config.hash, changed.hash);
    assert_eq!(live.load().config.passwords.min_length, 12);
    assert!(live.rejected().is_none());

    // A broken version is rejected; the changed config keeps serving.
    respond_events(send, &[event("MODIFIED", config_map("12", "{ not json"))]);
    let (request, parked) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "12");
    let rejected = live.rejected().expect("rejection recorded");
    assert!(rejected.contains("config.json"), "{rejected}");
    assert_eq!(live.load().config.hash, changed.hash);
    let rendered = metrics.render();
    assert!(rendered.contains("config_rejected 1"), "{rendered}");

    following.abort();
    let _ = following.await;
    drop((secret_watch, parked));
    assert_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn secret_changes_expired_watches_and_deletions() {
    let (mut source, mut handle) = start();
    let (config, values) = answer_gets(&mut handle).await;
    assert_ok(source.candidate().await, &config.hash, &values);
    let (cm_watch, secret_watch) = take_watches(&mut handle).await;

    // A Secret change alone is a candidate: same config, new values. Bookmarks only move the
    // version the watch resumes from.
    let rotated = secret_values(&config, "v2");
    respond_events(
        secret_watch,
        &[
            event(
                "BOOKMARK",
                json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"resourceVersion": "21"}}),
            ),
            event("MODIFIED", secret("22", &rotated)),
            event(
                "BOOKMARK",
                json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"resourceVersion": "23"}}),
            ),
        ],
    );
    assert_ok(source.candidate().await, &config.hash, &rotated);
    let (request, secret_watch) = next_request(&mut handle).await;
    assert_watch(&request, SECRETS, SECRET, "23");

    // An expired watch (410): the ConfigMap is read again and followed from the new version;
    // unchanged content yields nothing.
    respond_events(
        cm_watch,
        &[event(
            "ERROR",
            status(410, "Expired", "too old resource version: 10 (15)"),
        )],
    );
    let (request, send) = next_request(&mut handle).await;
    assert_get(&request, &format!("{CONFIG_MAPS}/{CONFIG_MAP}"));
    respond(
        send,
        StatusCode::OK,
        &config_map("15", &config_text(&config)),
    );
    let (request, send) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "15");
    source.assert_idle();

    // Deleted, then back without `config.json`, then whole again.
    respond_events(
        send,
        &[event("DELETED", config_map("16", &config_text(&config)))],
    );
    assert_eq!(
        source.candidate().await.expect_err("deleted"),
        "ConfigMap default/quickstart-config not found"
    );
    let (request, send) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "16");
    let unrelated = BTreeMap::from([("other.json".to_owned(), "{}".to_owned())]);
    respond_events(
        send,
        &[
            event("ADDED", config_map_with("17", unrelated)),
            event("MODIFIED", config_map("18", &config_text(&config))),
        ],
    );
    assert_eq!(
        source.candidate().await.expect_err("no config.json"),
        "ConfigMap default/quickstart-config has no key \"config.json\""
    );
    assert_ok(source.candidate().await, &config.hash, &rotated);
    let (request, parked) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "18");

    source.assert_idle();
    source.stop().await;
    drop((secret_watch, parked));
    assert_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn a_missing_secret_is_reported_then_watched_for() {
    let (mut source, mut handle) = start();
    let config = quickstart(|_| {});
    let values = secret_values(&config, "v1");
    let [(cm, cm_send), (sec, sec_send)] = next_pair(&mut handle).await;
    assert_get(&cm, &format!("{CONFIG_MAPS}/{CONFIG_MAP}"));
    assert_get(&sec, &format!("{SECRETS}/{SECRET}"));
    respond(
        cm_send,
        StatusCode::OK,
        &config_map("10", &config_text(&config)),
    );
    respond(
        sec_send,
        StatusCode::NOT_FOUND,
        &status(404, "NotFound", "secrets \"quickstart-secrets\" not found"),
    );
    assert_eq!(
        source.candidate().await.expect_err("no Secret"),
        "Secret default/quickstart-secrets not found"
    );
    // Watched from "now" (no version to resume from): its creation arrives as ADDED.
    let [(cm, cm_watch), (sec, send)] = next_pair(&mut handle).await;
    assert_watch(&cm, CONFIG_MAPS, CONFIG_MAP, "10");
    assert_watch(&sec, SECRETS, SECRET, "");
    respond_events(send, &[event("ADDED", secret("30", &values))]);
    assert_ok(source.candidate().await, &config.hash, &values);
    let (request, parked) = next_request(&mut handle).await;
    assert_watch(&request, SECRETS, SECRET, "30");

    source.assert_idle();
    source.stop().await;
    drop((cm_watch, parked));
    assert_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn an_api_error_before_the_first_config_is_reported() {
    let (mut source, mut handle) = start();
    let [(cm, cm_send), (sec, sec_send)] = next_pair(&mut handle).await;
    assert_get(&cm, &format!("{CONFIG_MAPS}/{CONFIG_MAP}"));
    assert_get(&sec, &format!("{SECRETS}/{SECRET}"));
    respond(
        cm_send,
        StatusCode::FORBIDDEN,
        &status(
            403,
            "Forbidden",
            "configmaps \"quickstart-config\" is forbidden: User \"system:serviceaccount:default:quickstart\" cannot get resource \"configmaps\"",
        ),
    );
    let reason = source.candidate().await.expect_err("forbidden");
    assert!(
        reason.starts_with("ConfigMap default/quickstart-config: ") && reason.contains("forbidden"),
        "{reason}"
    );
    source.stop().await;
    drop(sec_send);
    assert_no_more_requests(&mut handle).await;
}

/// A shard ConfigMap as the operator writes it.
fn shard_map(name: &str, version: &str, text: &str) -> Value {
    serde_json::to_value(ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NAMESPACE.into()),
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            vestibule::config::shards::SHARD_KEY.to_owned(),
            text.to_owned(),
        )])),
        ..ConfigMap::default()
    })
    .expect("json")
}

/// The quickstart config with `orgs` declared organizations, sealed.
fn with_organizations(orgs: usize, display: &str) -> RuntimeConfig {
    quickstart(|c| {
        c.organizations.enabled = true;
        c.organizations.declared = (0..orgs)
            .map(|i| vestibule::config::runtime::OrganizationConfig {
                slug: format!("org-{i:04}"),
                display_name: format!("{display} {i}"),
                domains: BTreeMap::new(),
                roles: BTreeMap::new(),
                members: BTreeMap::new(),
                theme: None,
                mfa: None,
                allowed_providers: Vec::new(),
                password_sign_in: true,
                delete_when_undeclared: false,
            })
            .collect();
    })
}

#[tokio::test]
async fn declared_organizations_are_read_from_the_shards_the_config_map_lists_and_only_changed_ones_again()
 {
    use vestibule::config::shards::split;
    let (mut source, mut handle) = start();
    let config = with_organizations(3_000, "Org");
    let (main, shards) = split(&config, CONFIG_MAP);
    assert!(shards.len() >= 2, "{}", shards.len());
    let values = secret_values(&config, "v1");
    let [(cm, cm_send), (sec, sec_send)] = next_pair(&mut handle).await;
    assert_get(&cm, &format!("{CONFIG_MAPS}/{CONFIG_MAP}"));
    assert_get(&sec, &format!("{SECRETS}/{SECRET}"));
    respond(
        cm_send,
        StatusCode::OK,
        &config_map("10", &config_text(&main)),
    );
    respond(sec_send, StatusCode::OK, &secret("20", &values));
    // Then one GET per shard, by name, in the order the config lists them.
    for shard in &shards {
        let (request, send) = next_request(&mut handle).await;
        assert_get(&request, &format!("{CONFIG_MAPS}/{}", shard.name));
        respond(
            send,
            StatusCode::OK,
            &shard_map(&shard.name, "30", &shard.text),
        );
    }
    let joined = assert_ok(source.candidate().await, &config.hash, &values);
    assert_eq!(
        joined, config,
        "the config the operator compiled, organizations and all"
    );
    let (cm_watch, secret_watch) = take_watches(&mut handle).await;

    // One organization renamed: one shard changes, and only that one is read again.
    let mut edited = config.clone();
    edited.organizations.declared[42].display_name = "Renamed".into();
    let edited = edited.seal();
    let (main2, shards2) = split(&edited, CONFIG_MAP);
    let changed: Vec<_> = shards2.iter().filter(|s| !shards.contains(s)).collect();
    assert_eq!(changed.len(), 1);
    respond_events(
        cm_watch,
        &[event("MODIFIED", config_map("11", &config_text(&main2)))],
    );
    let (request, send) = next_request(&mut handle).await;
    assert_get(&request, &format!("{CONFIG_MAPS}/{}", changed[0].name));
    respond(
        send,
        StatusCode::OK,
        &shard_map(&changed[0].name, "31", &changed[0].text),
    );
    let applied = assert_ok(source.candidate().await, &edited.hash, &values);
    assert_eq!(applied.organizations.declared[42].display_name, "Renamed");

    let (request, parked) = next_request(&mut handle).await;
    assert_watch(&request, CONFIG_MAPS, CONFIG_MAP, "11");
    source.assert_idle();
    source.stop().await;
    drop((secret_watch, parked));
    assert_no_more_requests(&mut handle).await;
}

#[tokio::test]
async fn the_sync_status_is_patched_only_when_the_conflicts_change() {
    use vestibule::runtime::kube_source::SyncStatusWriter;
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let writer = SyncStatusWriter::new(
        Client::new(service, NAMESPACE),
        NAMESPACE,
        "quickstart-sync-status",
    );
    let path = format!("{CONFIG_MAPS}/quickstart-sync-status");
    let answer = |send: Responder| {
        respond(
            send,
            StatusCode::OK,
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "quickstart-sync-status", "namespace": NAMESPACE}}),
        )
    };
    let expect_patch = async |handle: &mut ApiHandle, expected: &str| {
        let (request, send) = next_request(handle).await;
        assert_eq!(request.method(), Method::PATCH);
        assert_eq!(request.uri().path(), path);
        assert_eq!(
            request.headers()["content-type"],
            "application/merge-patch+json"
        );
        let body = http_body_util::BodyExt::collect(request.into_body())
            .await
            .expect("body")
            .to_bytes();
        let patch: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(patch["data"]["slugConflicts.json"], expected, "{patch}");
        send
    };
    let both: Vec<String> = vec!["globex".into(), "acme".into()];
    let (wrote, ()) = tokio::join!(writer.write(&both), async {
        answer(expect_patch(&mut handle, "[\"acme\",\"globex\"]").await)
    });
    assert!(wrote.expect("patched"));
    // The same slugs again, in another order: nothing is sent.
    let same: Vec<String> = vec!["acme".into(), "globex".into()];
    assert!(!writer.write(&same).await.expect("nothing to write"));
    // One resolved: written again.
    let one: Vec<String> = vec!["acme".into()];
    let (wrote, ()) = tokio::join!(writer.write(&one), async {
        answer(expect_patch(&mut handle, "[\"acme\"]").await)
    });
    assert!(wrote.expect("patched"));
    drop(writer);
    assert_no_more_requests(&mut handle).await;
}
