//! The Vestibule controller against kube's mocked API server (`tower-test`): each scenario is the
//! exact list of requests the reconcile must make, in order, and nothing else.

use std::sync::Arc;

use axum::http::{Method, Request, Response};
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::{Client, Resource};
use serde_json::{Value, json};
use tower_test::mock;

use crate::mock_api::{ApiHandle, Expect, expect, serve};
use vestibule::operator::{Context, FINALIZER, reconcile::reconcile};
use vestibule::resources::Vestibule;

/// A GET answered 404, as for an object that does not exist yet.
fn absent(path: &str) -> Expect {
    expect(Method::GET, path).fails(404, "NotFound")
}

/// A GET answered with `object` as the API server holds it (with server-set fields added).
fn present(path: &str, object: Value) -> Expect {
    expect(Method::GET, path).respond(move |_| {
        let mut live = object.clone();
        live["metadata"]["resourceVersion"] = json!("42");
        live["metadata"]["uid"] = json!("9c1d7a4e-0000-4000-8000-000000000001");
        live
    })
}

/// The reads after a region is applied that look for optional objects the spec no longer
/// needs (a PodDisruptionBudget, an Ingress), none there.
fn nothing_to_prune() -> Vec<Expect> {
    vec![
        absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
        absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
    ]
}

/// Where a region's objects are deleted by label, in the order cleanup deletes them
/// (workloads first).
const REGION_KINDS: [&str; 10] = [
    "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
    "/apis/apps/v1/namespaces/default/deployments",
    "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
    "/api/v1/namespaces/default/services",
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/secrets",
    "/api/v1/namespaces/default/persistentvolumeclaims",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
    "/api/v1/namespaces/default/serviceaccounts",
];

/// How a region's objects are cleaned up: each kind deleted by label, except volume claims under
/// the default `deletionPolicy: Retain`, which are listed (here: `claims`) and kept.
fn region_cleanup(retain: bool, claims: &'static [&'static str]) -> Vec<Expect> {
    REGION_KINDS
        .iter()
        .map(|path| {
            if retain && path.ends_with("/persistentvolumeclaims") {
                expect(Method::GET, path)
                    .query("labelSelector=")
                    .respond(move |_| {
                        let items: Vec<Value> = claims
                            .iter()
                            .map(|name| json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": name, "namespace": "default"}}))
                            .collect();
                        json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": {}, "items": items})
                    })
            } else {
                expect(Method::DELETE, path)
                    .query("labelSelector=")
                    .respond(|_| json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}))
            }
        })
        .collect()
}

fn empty_list(kind: &str) -> Expect {
    let kind = kind.to_owned();
    let plural = format!("{}s", kind.to_lowercase()).replace("policys", "policies");
    expect(Method::GET, &format!("/apis/vestibule.dev/v1alpha1/namespaces/default/{plural}")).respond(move |_| {
        json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": format!("{kind}List"), "metadata": {"resourceVersion": "1"}, "items": []})
    })
}

fn context() -> (Arc<Context>, ApiHandle) {
    context_with(Default::default())
}

fn context_with(clusters: vestibule::operator::clusters::Clusters) -> (Arc<Context>, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let image = "ghcr.io/vestibule/vestibule:test".into();
    (
        Arc::new(Context::new(client, image, clusters, None)),
        handle,
    )
}

fn vestibule(spec: Value, finalized: bool) -> Vestibule {
    let mut v: Vestibule = serde_json::from_value(json!({
        "apiVersion": "vestibule.dev/v1alpha1",
        "kind": "Vestibule",
        "metadata": {"name": "quickstart", "namespace": "default", "uid": "0b0e5a52-1111-4c1e-9d2e-4a5e6f7a8b9c", "generation": 3, "resourceVersion": "7"},
        "spec": spec,
    }))
    .expect("vestibule");
    if finalized {
        v.meta_mut().finalizers = Some(vec![FINALIZER.to_owned()]);
    }
    v
}

/// A status patch, answered with the Vestibule carrying that status, as the API server does.
fn status_patch(v: &Vestibule) -> Expect {
    let object = serde_json::to_value(v).expect("json");
    expect(
        Method::PATCH,
        "/apis/vestibule.dev/v1alpha1/namespaces/default/vestibules/quickstart/status",
    )
    .query("fieldManager=vestibule-operator-status")
    .respond(move |patch| {
        let mut answer = object.clone();
        answer["status"] = patch["status"].clone();
        answer
    })
}

/// An Event on the Vestibule, published after a status transition.
fn event(kind: &'static str, reason: &'static str) -> Expect {
    expect(
        Method::POST,
        "/apis/events.k8s.io/v1/namespaces/default/events",
    )
    .body(move |event| {
        assert_eq!(event["type"], kind, "{event}");
        assert_eq!(event["reason"], reason, "{event}");
        assert_eq!(event["regarding"]["kind"], "Vestibule");
        assert_eq!(event["regarding"]["name"], "quickstart");
        assert_eq!(event["reportingController"], "vestibule-operator");
    })
}

/// The Deployment as the API server answers an apply once its pods are up.
fn with_ready_pods(e: Expect, ready: i32) -> Expect {
    e.respond(move |deployment| {
        let mut live = deployment.clone();
        live["status"] = json!({"replicas": ready, "readyReplicas": ready});
        live
    })
}

fn minimal_spec() -> Value {
    json!({"issuer": "https://auth.example.com", "regions": [{"name": "local"}]})
}

/// Runs one reconcile against the scripted API server; the server task checks that nothing
/// else was requested.
async fn run(v: Vestibule, expected: Vec<Expect>) -> Action {
    let (ctx, handle) = context();
    run_in(ctx, handle, v, expected).await.0
}

/// [`run`] with a context of the test's making.
async fn run_in(
    ctx: Arc<Context>,
    handle: ApiHandle,
    v: Vestibule,
    expected: Vec<Expect>,
) -> (Action, String) {
    let server = serve(handle, expected);
    let action = Box::pin(reconcile(Arc::new(v), ctx.clone()))
        .await
        .expect("reconcile succeeds");
    let metrics = ctx.metrics.render();
    // Dropping the context closes the client, so the server sees the end of requests.
    drop(ctx);
    server
        .await
        .expect("the API server saw exactly the expected requests");
    (action, metrics)
}

#[tokio::test]
async fn finalizer_is_added_first() {
    let v = vestibule(minimal_spec(), false);
    let finalized = vestibule(minimal_spec(), true);
    let action = run(
        v,
        vec![
            expect(
                Method::PATCH,
                "/apis/vestibule.dev/v1alpha1/namespaces/default/vestibules/quickstart",
            )
            .body(|patch| {
                let ops = patch.as_array().expect("json patch");
                assert!(
                    ops.iter()
                        .any(|op| op["op"] == "add" && op["value"] == json!([FINALIZER])),
                    "{patch}"
                );
            })
            .respond(move |_| serde_json::to_value(&finalized).expect("json")),
        ],
    )
    .await;
    assert_eq!(action, Action::await_change());
}

#[tokio::test]
async fn compile_error_sets_stalled_and_leaves_the_config_map_untouched() {
    let mut spec = minimal_spec();
    spec["themeRef"] = json!({"name": "missing"});
    let v = vestibule(spec, true);
    let action = run(
        v.clone(),
        vec![
            empty_list("OAuthProvider"),
            empty_list("Organization"),
            empty_list("Application"),
            empty_list("Theme"),
            empty_list("MfaPolicy"),
            status_patch(&v).body(|patch| {
                let conditions = patch["status"]["conditions"]
                    .as_array()
                    .expect("conditions");
                let stalled = conditions
                    .iter()
                    .find(|c| c["type"] == "Stalled")
                    .expect("Stalled");
                assert_eq!(stalled["status"], "True");
                assert!(
                    stalled["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Theme \"missing\" not found"),
                    "{stalled}"
                );
                let ready = conditions
                    .iter()
                    .find(|c| c["type"] == "Ready")
                    .expect("Ready");
                assert_eq!(ready["status"], "False");
                assert_eq!(patch["status"]["observedGeneration"], 3);
            }),
            event("Warning", "InvalidConfig"),
            // Nothing else: no ConfigMap, no Deployment.
        ],
    )
    .await;
    assert_eq!(action, Action::requeue(vestibule::operator::RESYNC));
}

/// Puts the read (answered 404: nothing there yet) before every object apply, as the operator
/// reads before it writes.
fn first_time(expected: Vec<Expect>) -> Vec<Expect> {
    let mut out = Vec::new();
    for e in expected {
        if e.method == Method::PATCH && !e.path.ends_with("/status") {
            out.push(absent(&e.path));
        }
        out.push(e);
    }
    out
}

fn applied(kind_path: &str, name: &str) -> Expect {
    expect(Method::PATCH, &format!("{kind_path}/{name}"))
        .query("fieldManager=vestibule-operator")
        .body(|object| {
            assert_eq!(
                object["metadata"]["labels"]["app.kubernetes.io/managed-by"], "vestibule",
                "{object}"
            );
            if object["kind"] == "PersistentVolumeClaim" {
                // Retained data (the default deletionPolicy) has no owner to be collected with.
                assert!(object["metadata"]["ownerReferences"].is_null(), "{object}");
            } else {
                // Owner reference to the Vestibule: same cluster, same namespace.
                assert_eq!(
                    object["metadata"]["ownerReferences"][0]["kind"], "Vestibule",
                    "{object}"
                );
            }
        })
}

#[tokio::test]
async fn first_reconcile_applies_every_object_then_reports_ready() {
    let ns = "/api/v1/namespaces/default";
    let v = vestibule(minimal_spec(), true);
    let action = run(
        v.clone(),
        first_time(vec![
            empty_list("OAuthProvider"),
            empty_list("Organization"),
            empty_list("Application"),
            empty_list("Theme"),
            empty_list("MfaPolicy"),
            keys_created(),
            applied(&format!("{ns}/serviceaccounts"), "quickstart"),
            applied(
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
                "quickstart-server",
            ),
            applied(
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                "quickstart-server",
            ),
            applied(&format!("{ns}/configmaps"), "quickstart-config").body(|cm| {
                let config: Value =
                    serde_json::from_str(cm["data"]["config.json"].as_str().expect("config"))
                        .expect("json");
                assert_eq!(config["issuer"], "https://auth.example.com");
                assert_eq!(
                    cm["metadata"]["annotations"]["vestibule.dev/config-hash"],
                    config["hash"]
                );
            }),
            applied(&format!("{ns}/configmaps"), "quickstart-sync-status"),
            applied(&format!("{ns}/secrets"), "quickstart-secrets"),
            applied(&format!("{ns}/persistentvolumeclaims"), "quickstart-data"),
            applied("/apis/apps/v1/namespaces/default/deployments", "quickstart").body(|d| {
                assert_eq!(
                    d["spec"]["template"]["spec"]["containers"][0]["image"],
                    "ghcr.io/vestibule/vestibule:test"
                );
            }),
            applied(&format!("{ns}/services"), "quickstart"),
            absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
            absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
            status_patch(&v).body(|patch| {
                // Applied, but no pod is ready yet: Reconciling, not Ready.
                let find = |kind: &str| {
                    patch["status"]["conditions"]
                        .as_array()
                        .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
                        .expect(kind)
                };
                assert_eq!(find("Ready")["status"], "False");
                assert_eq!(find("Ready")["reason"], "Progressing");
                assert_eq!(find("Reconciling")["status"], "True");
                assert_eq!(patch["status"]["regions"][0]["name"], "local");
                assert_eq!(patch["status"]["regions"][0]["readyReplicas"], 0);
                assert!(
                    patch["status"]["configHash"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("sha256:")
                );
            }),
            event("Normal", "Progressing"),
        ]),
    )
    .await;
    // The Deployment's pods are watched locally; remote ones are not: look again soon.
    assert_eq!(action, Action::requeue(vestibule::operator::PROGRESS_CHECK));
}

#[tokio::test]
async fn a_region_is_ready_once_its_deployment_has_a_ready_server() {
    let ns = "/api/v1/namespaces/default";
    let v = vestibule(minimal_spec(), true);
    let mut expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
    ];
    expected.extend(first_time(vec![
        keys_created(),
        applied(&format!("{ns}/serviceaccounts"), "quickstart"),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "quickstart-server",
        ),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "quickstart-server",
        ),
        applied(&format!("{ns}/configmaps"), "quickstart-config"),
        applied(&format!("{ns}/configmaps"), "quickstart-sync-status"),
        applied(&format!("{ns}/secrets"), "quickstart-secrets"),
        applied(&format!("{ns}/persistentvolumeclaims"), "quickstart-data"),
        with_ready_pods(
            applied("/apis/apps/v1/namespaces/default/deployments", "quickstart"),
            1,
        ),
        applied(&format!("{ns}/services"), "quickstart"),
        absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
        absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
    ]));
    expected.push(status_patch(&v).body(|patch| {
        let ready = patch["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
            .expect("Ready");
        assert_eq!(ready["status"], "True", "{ready}");
        let region = &patch["status"]["regions"][0];
        assert_eq!(region["readyReplicas"], 1);
        assert_eq!(region["conditions"][0]["message"], "1/1 auth servers ready");
        assert_eq!(region["appliedConfigHash"], patch["status"]["configHash"]);
    }));
    expected.push(event("Normal", "Reconciled"));
    let action = run(v, expected).await;
    assert_eq!(action, Action::requeue(vestibule::operator::RESYNC));
}

#[tokio::test]
async fn paused_vestibule_gets_only_a_status_write() {
    let mut spec = minimal_spec();
    spec["paused"] = json!(true);
    let v = vestibule(spec, true);
    let action = run(
        v.clone(),
        vec![
            status_patch(&v).body(|patch| {
                let ready = patch["status"]["conditions"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
                    .expect("Ready");
                assert_eq!(ready["reason"], "Paused");
            }),
            event("Normal", "Paused"),
        ],
    )
    .await;
    assert_eq!(action, Action::await_change());
}

const KEY_SECRET: &str = "/api/v1/namespaces/default/secrets/quickstart-signing-keys";
/// The MFA key an earlier reconcile generated into the key Secret.
const MFA_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// The key Secret's first write: one key that signs at once.
fn keys_created() -> Expect {
    applied(
        "/api/v1/namespaces/default/secrets",
        "quickstart-signing-keys",
    )
    .body(|secret| {
        use base64::Engine;
        let json = secret["data"]["keys.json"].as_str().expect("keys.json");
        let json = base64::engine::general_purpose::STANDARD
            .decode(json)
            .expect("base64");
        let set = vestibule::crypto::keys::KeySet::from_json(&json).expect("a key set");
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].public_jwk["alg"], "ES256");
        let mfa = secret["data"]["mfa-key"].as_str().expect("an MFA key");
        let mfa = base64::engine::general_purpose::STANDARD
            .decode(mfa)
            .expect("base64");
        let mfa = String::from_utf8(mfa).expect("utf-8");
        assert!(vestibule::crypto::sealing::MfaKey::from_encoded(&mfa).is_ok());
    })
}

/// A key set as an earlier reconcile stored it, and the key Secret holding it.
fn stored_keys(
    config: &vestibule::config::RuntimeConfig,
) -> (vestibule::crypto::keys::KeySet, Expect) {
    let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
    let set = vestibule::operator::keys::plan(
        &Default::default(),
        &vestibule::operator::signing::policy(config),
        now,
        false,
    )
    .expect("keys");
    let read = key_secret_read(&set);
    (set, read)
}

/// The read of the key Secret holding `set`, as an earlier reconcile stored it.
fn key_secret_read(set: &vestibule::crypto::keys::KeySet) -> Expect {
    use base64::Engine;
    let json = set.to_json().expect("json");
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "quickstart-signing-keys", "namespace": "default"},
        "data": {
            "keys.json": base64::engine::general_purpose::STANDARD.encode(json),
            "mfa-key": base64::engine::general_purpose::STANDARD.encode(MFA_KEY),
        },
    });
    present(KEY_SECRET, secret)
}

/// What the operator renders for `v` with `themes`, as it would compute it.
fn rendered(
    v: &Vestibule,
    themes: Vec<vestibule::resources::Theme>,
    keys: Option<&vestibule::crypto::keys::KeySet>,
) -> (vestibule::config::RuntimeConfig, Vec<Value>) {
    let resources = vestibule::config::Resources {
        themes,
        ..Default::default()
    };
    rendered_with(v, resources, keys)
}

/// What the operator renders for `v` with the other `resources` of its namespace.
fn rendered_with(
    v: &Vestibule,
    mut resources: vestibule::config::Resources,
    keys: Option<&vestibule::crypto::keys::KeySet>,
) -> (vestibule::config::RuntimeConfig, Vec<Value>) {
    resources.vestibules = vec![v.clone()];
    let config = vestibule::config::compile(&resources.bundle_for(v)).expect("compiles");
    let objects = vestibule::render::render(&vestibule::render::RenderInput {
        vestibule: v,
        config: &config,
        region: &v.spec.regions[0],
        secret_values: &keys
            .map(|k| {
                let json = String::from_utf8(k.to_json().expect("json")).expect("utf-8");
                [
                    ("signing-keys.json".to_owned(), json),
                    ("mfa-key".to_owned(), MFA_KEY.to_owned()),
                ]
                .into()
            })
            .unwrap_or_default(),
        image: "ghcr.io/vestibule/vestibule:test",
    });
    (config, objects.to_values())
}

/// `object` as an earlier reconcile left it: Ready, accepted into Vestibule quickstart.
fn accepted(mut object: Value) -> Value {
    let id = vestibule::config::ResourceId::new(
        object["kind"].as_str().unwrap_or_default(),
        "default",
        object["metadata"]["name"].as_str().unwrap_or_default(),
    );
    let then = "2026-01-01T00:00:00Z".parse().expect("time");
    let status = vestibule::operator::children::status_for(&id, "quickstart", None, &[], then);
    object["status"] = serde_json::to_value(status).expect("json");
    object
}

fn theme(primary: &str) -> vestibule::resources::Theme {
    serde_json::from_value(json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "Theme",
        "metadata": {"name": "brand", "namespace": "default"},
        "spec": {"tokens": {"colors": {"primary": primary}}},
    }))
    .expect("theme")
}

/// The path of a rendered object on the API server.
fn path_of(object: &Value) -> String {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let (group, plural) = match object["kind"].as_str().unwrap_or_default() {
        "ServiceAccount" => ("/api/v1", "serviceaccounts"),
        "ConfigMap" => ("/api/v1", "configmaps"),
        "Secret" => ("/api/v1", "secrets"),
        "Service" => ("/api/v1", "services"),
        "PersistentVolumeClaim" => ("/api/v1", "persistentvolumeclaims"),
        "Role" => ("/apis/rbac.authorization.k8s.io/v1", "roles"),
        "RoleBinding" => ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
        "Deployment" => ("/apis/apps/v1", "deployments"),
        other => panic!("unexpected kind {other}"),
    };
    format!("{group}/namespaces/default/{plural}/{name}")
}

/// A rendered object as the cluster holds it after earlier reconciles: a running Deployment
/// reports its ready pod.
fn live(object: &Value) -> Expect {
    let mut held = object.clone();
    if held["kind"] == "Deployment" {
        held["status"] = json!({"replicas": 1, "readyReplicas": 1});
    }
    present(&path_of(object), held)
}

fn with_ready_status(mut v: Vestibule, config: &vestibule::config::RuntimeConfig) -> Vestibule {
    // As an earlier reconcile left it (timestamps differ from now on purpose).
    let then = "2026-01-01T00:00:00Z".parse().expect("time");
    let outcome = vestibule::operator::status::RegionOutcome::Applied {
        ready: 1,
        desired: 1,
    };
    let mut region =
        vestibule::operator::status::region("local", &config.hash, outcome, Some(3), then);
    region.namespace = Some("default".into());
    v.status = Some(vestibule::operator::status::ready(
        Some(3),
        &config.hash,
        vec![region],
        then,
    ));
    v
}

/// A Vestibule whose region already runs what it renders (themed, Ready, keys stored): the
/// Vestibule, its config, the rendered objects, and the reads every reconcile of it starts with
/// (inputs and the current key set, read and not rewritten).
fn settled() -> (
    Vestibule,
    vestibule::config::RuntimeConfig,
    Vec<Value>,
    Vec<Expect>,
) {
    settled_with(minimal_spec())
}

/// [`settled`] from `spec` (given a theme).
fn settled_with(
    mut spec: Value,
) -> (
    Vestibule,
    vestibule::config::RuntimeConfig,
    Vec<Value>,
    Vec<Expect>,
) {
    spec["themeRef"] = json!({"name": "brand"});
    let v = vestibule(spec, true);
    let (config, _) = rendered(&v, vec![theme("#2563eb")], None);
    let (keys, key_secret) = stored_keys(&config);
    let (config, objects) = rendered(&v, vec![theme("#2563eb")], Some(&keys));
    let v = with_ready_status(v, &config);
    let brand = accepted(serde_json::to_value(theme("#2563eb")).expect("json"));
    let expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/themes").respond(move |_| {
            json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ThemeList", "metadata": {}, "items": [brand]})
        }),
        empty_list("MfaPolicy"),
        key_secret,
    ];
    (v, config, objects, expected)
}

#[tokio::test]
async fn a_no_op_reconcile_makes_no_write() {
    let (v, _, objects, mut expected) = settled();
    // Every object is read and found as desired: nothing is written, not even status.
    expected.extend(objects.iter().map(live));
    expected.extend(nothing_to_prune());
    run(v, expected).await;
}

#[tokio::test]
async fn a_theme_change_updates_only_the_config_map() {
    let mut spec = minimal_spec();
    spec["themeRef"] = json!({"name": "brand"});
    let v = vestibule(spec, true);
    // What the cluster runs: rendered with the old brand color.
    let (old_config, _) = rendered(&v, vec![theme("#dc2626")], None);
    let (keys, key_secret) = stored_keys(&old_config);
    let (old_config, live) = rendered(&v, vec![theme("#dc2626")], Some(&keys));
    let v = with_ready_status(v, &old_config);
    let (new_config, _) = rendered(&v, vec![theme("#2563eb")], Some(&keys));
    assert_ne!(old_config.hash, new_config.hash);
    let brand = accepted(serde_json::to_value(theme("#2563eb")).expect("json"));
    let mut expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/themes").respond(move |_| {
            json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ThemeList", "metadata": {}, "items": [brand]})
        }),
        empty_list("MfaPolicy"),
        key_secret,
    ];
    for object in &live {
        expected.push(self::live(object));
        if object["metadata"]["name"] == "quickstart-config" {
            // The only write to a workload object: the ConfigMap, with the new theme.
            let hash = new_config.hash.clone();
            expected.push(
                applied("/api/v1/namespaces/default/configmaps", "quickstart-config").body(
                    move |cm| {
                        assert_eq!(
                            cm["metadata"]["annotations"]["vestibule.dev/config-hash"],
                            hash.as_str()
                        );
                        assert!(
                            cm["data"]["config.json"]
                                .as_str()
                                .unwrap_or_default()
                                .contains("#2563eb")
                        );
                    },
                ),
            );
        }
    }
    expected.extend(nothing_to_prune());
    // No Deployment write: the servers pick the new config up without a rollout. Status records
    // the new hash.
    let hash = new_config.hash.clone();
    expected.push(
        status_patch(&v)
            .body(move |patch| assert_eq!(patch["status"]["configHash"], hash.as_str())),
    );
    // Still Ready, so the one Event says which config went out.
    expected.push(event("Normal", "ConfigChanged").body({
        let hash = new_config.hash.clone();
        move |e| assert!(e["note"].as_str().unwrap_or_default().contains(&hash))
    }));
    run(v, expected).await;
}

fn two_region_spec() -> Value {
    json!({
        "issuer": "https://auth.example.com",
        "database": {"postgres": {"urlSecretRef": {"name": "db", "key": "url"}}},
        "regions": [
            {"name": "local"},
            {"name": "far", "kubeconfigSecretRef": {"name": "cluster-far", "key": "kubeconfig"}},
        ],
    })
}

fn secret(name: &str, key: &str, value: &str) -> Value {
    use base64::Engine;
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "data": {key: base64::engine::general_purpose::STANDARD.encode(value)},
    })
}

/// The reads every reconcile of the two-region Vestibule starts with.
fn two_region_inputs() -> Vec<Expect> {
    let far = secret("cluster-far", "kubeconfig", "this is not a kubeconfig");
    let db = secret("db", "url", "postgres://vestibule:s3cret@db/vestibule");
    let db2 = db.clone();
    vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
        // Key checks of the referenced Secrets, by name.
        expect(
            Method::GET,
            "/api/v1/namespaces/default/secrets/cluster-far",
        )
        .respond(move |_| far.clone()),
        expect(Method::GET, "/api/v1/namespaces/default/secrets/db").respond(move |_| db.clone()),
        // The signing keys: none yet, so one is created.
        absent(KEY_SECRET),
        keys_created(),
        // Values for the region Secret.
        expect(Method::GET, "/api/v1/namespaces/default/secrets/db").respond(move |_| db2.clone()),
    ]
}

fn local_region_applies() -> Vec<Expect> {
    let ns = "/api/v1/namespaces/default";
    first_time(vec![
        applied(&format!("{ns}/serviceaccounts"), "quickstart"),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "quickstart-server",
        ),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "quickstart-server",
        ),
        applied(&format!("{ns}/configmaps"), "quickstart-config"),
        applied(&format!("{ns}/configmaps"), "quickstart-sync-status"),
        applied(&format!("{ns}/secrets"), "quickstart-secrets"),
        with_ready_pods(
            applied("/apis/apps/v1/namespaces/default/deployments", "quickstart"),
            2,
        ),
        applied(&format!("{ns}/services"), "quickstart"),
        absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
        absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
    ])
}

#[tokio::test]
async fn a_failing_remote_region_is_degraded_while_the_others_are_applied() {
    let v = vestibule(two_region_spec(), true);
    let far = secret("cluster-far", "kubeconfig", "this is not a kubeconfig");
    let mut expected = two_region_inputs();
    expected.extend(local_region_applies());
    // The far region: its kubeconfig is read and refused; nothing else is attempted there.
    expected.push(
        expect(
            Method::GET,
            "/api/v1/namespaces/default/secrets/cluster-far",
        )
        .respond(move |_| far.clone()),
    );
    expected.push(status_patch(&v).body(|patch| {
        let status = &patch["status"];
        let find = |conditions: &Value, kind: &str| {
            conditions
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
                .expect(kind)
        };
        assert_eq!(find(&status["conditions"], "Degraded")["status"], "True");
        assert_eq!(find(&status["conditions"], "Ready")["status"], "False");
        assert!(
            find(&status["conditions"], "Ready")["message"]
                .as_str()
                .unwrap_or_default()
                .contains("far")
        );
        assert_eq!(status["regions"][0]["name"], "local");
        assert_eq!(
            find(&status["regions"][0]["conditions"], "Ready")["status"],
            "True"
        );
        assert_eq!(status["regions"][1]["name"], "far");
        let far = find(&status["regions"][1]["conditions"], "Degraded");
        assert_eq!(far["status"], "True");
        assert!(
            far["message"]
                .as_str()
                .unwrap_or_default()
                .contains("invalid kubeconfig"),
            "{far}"
        );
        assert!(status["regions"][1]["appliedConfigHash"].is_null());
    }));
    expected.push(event("Warning", "RegionsDegraded"));
    run(v, expected).await;
}

#[tokio::test]
async fn a_remote_region_is_applied_in_its_own_cluster_with_the_secret_values_it_needs() {
    let v = vestibule(two_region_spec(), true);
    // The far cluster is a second mocked API server.
    let (far_service, far_handle) = mock::pair::<Request<Body>, Response<Body>>();
    let far_client = Client::new(far_service, "default");
    let clusters =
        vestibule::operator::clusters::Clusters::default().with_fixed("cluster-far", far_client);
    let ns = "/api/v1/namespaces/default";
    let far_server = serve(
        far_handle,
        first_time(vec![
            // Remote objects carry no owner reference (the owner lives in another cluster).
            expect(Method::PATCH, "/api/v1/namespaces/default")
                .query("fieldManager=vestibule-operator"),
            expect(Method::PATCH, &format!("{ns}/serviceaccounts/quickstart"))
                .body(|o| assert!(o["metadata"]["ownerReferences"].is_null())),
            expect(
                Method::PATCH,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/quickstart-server",
            ),
            expect(
                Method::PATCH,
                "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/quickstart-server",
            ),
            expect(Method::PATCH, &format!("{ns}/configmaps/quickstart-config")),
            expect(
                Method::PATCH,
                &format!("{ns}/configmaps/quickstart-sync-status"),
            ),
            expect(Method::PATCH, &format!("{ns}/secrets/quickstart-secrets")).body(|secret| {
                use base64::Engine;
                let url = secret["data"]["database.url"]
                    .as_str()
                    .expect("database.url copied");
                let url = base64::engine::general_purpose::STANDARD
                    .decode(url)
                    .expect("base64");
                assert_eq!(url, b"postgres://vestibule:s3cret@db/vestibule");
                assert!(
                    secret["data"]["signing-keys.json"].is_string(),
                    "the key set is shipped to the region"
                );
            }),
            expect(
                Method::PATCH,
                "/apis/apps/v1/namespaces/default/deployments/quickstart",
            ),
            expect(Method::PATCH, &format!("{ns}/services/quickstart")),
            absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
            absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
        ]),
    );
    let (ctx, handle) = context_with(clusters);
    let mut expected = two_region_inputs();
    expected.extend(local_region_applies());
    expected.push(status_patch(&v).body(|patch| {
        assert_eq!(patch["status"]["regions"][0]["readyReplicas"], 2);
        let far = &patch["status"]["regions"][1];
        assert_eq!(far["name"], "far");
        assert!(far["appliedConfigHash"].is_string());
        // Applied there, its pods not up yet.
        assert_eq!(far["conditions"][0]["reason"], "Progressing");
    }));
    expected.push(event("Normal", "Progressing"));
    let server = serve(handle, expected);
    Box::pin(reconcile(Arc::new(v), ctx))
        .await
        .expect("reconcile");
    server
        .await
        .expect("local API server saw exactly the expected requests");
    far_server
        .await
        .expect("far API server saw exactly the expected requests");
}

#[tokio::test]
async fn deletion_cleans_remote_regions_then_releases_the_finalizer() {
    let mut spec = two_region_spec();
    // Data goes too: the volume claims are deleted with the rest.
    spec["deletionPolicy"] = json!("Delete");
    let mut v = vestibule(spec, true);
    v.meta_mut().deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-26T00:00:00Z".parse().expect("time"),
    ));
    let (far_service, far_handle) = mock::pair::<Request<Body>, Response<Body>>();
    let clusters = vestibule::operator::clusters::Clusters::default()
        .with_fixed("cluster-far", Client::new(far_service, "default"));
    let cleaned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deleted = |path: &str| {
        let cleaned = cleaned.clone();
        expect(Method::DELETE, path)
            .query("labelSelector=")
            .respond(move |_| {
                cleaned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []})
            })
    };
    let far_server = serve(
        far_handle,
        REGION_KINDS.iter().map(|path| deleted(path)).collect(),
    );
    let (ctx, handle) = context_with(clusters);
    let done = cleaned.clone();
    let released = {
        let mut gone = v.clone();
        gone.meta_mut().finalizers = None;
        serde_json::to_value(&gone).expect("json")
    };
    // The local region (same namespace) goes with the Vestibule through owner references: the
    // local requests are the Event saying what went and releasing the finalizer, after the far
    // cluster is clean.
    let server = serve(
        handle,
        vec![
            event("Normal", "CleanedUp").body(|e| {
                let note = e["note"].as_str().unwrap_or_default();
                assert_eq!(note, "deleted region far in default");
            }),
            expect(
                Method::PATCH,
                "/apis/vestibule.dev/v1alpha1/namespaces/default/vestibules/quickstart",
            )
            .body(move |patch| {
                let ops = patch.as_array().expect("json patch");
                assert!(ops.iter().any(|op| op["op"] == "remove"), "{patch}");
                let cleaned = done.load(std::sync::atomic::Ordering::SeqCst);
                assert_eq!(cleaned, 10, "the far cluster is cleaned first");
            })
            .respond(move |_| released.clone()),
        ],
    );
    Box::pin(reconcile(Arc::new(v), ctx))
        .await
        .expect("reconcile");
    far_server.await.expect("far cluster cleaned");
    server.await.expect("finalizer released");
}

#[tokio::test]
async fn key_rotation_publishes_the_new_key_to_every_region_before_it_signs() {
    use base64::Engine;
    let v = vestibule(minimal_spec(), true);
    let (config, _) = rendered(&v, vec![], None);
    let policy = vestibule::operator::signing::policy(&config);
    let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
    // A key made almost a full rotation interval ago: due for a successor.
    let old = vestibule::operator::keys::plan(
        &Default::default(),
        &policy,
        now - policy.rotation_interval_ms + policy.publish_ahead_ms / 2,
        false,
    )
    .expect("keys");
    let old_kid = old.keys[0].kid.clone();
    let stored = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "quickstart-signing-keys", "namespace": "default"},
        "data": {
            "keys.json": base64::engine::general_purpose::STANDARD.encode(old.to_json().expect("json")),
            "mfa-key": base64::engine::general_purpose::STANDARD.encode(MFA_KEY),
        },
    });
    let decode = |field: &Value| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(field.as_str().expect("base64 field"))
            .expect("base64");
        vestibule::crypto::keys::KeySet::from_json(&bytes).expect("key set")
    };
    let kid = old_kid.clone();
    let mut expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
        present(KEY_SECRET, stored),
        applied(
            "/api/v1/namespaces/default/secrets",
            "quickstart-signing-keys",
        )
        .body(move |secret| {
            let set = decode(&secret["data"]["keys.json"]);
            assert_eq!(set.keys.len(), 2, "the successor is added");
            let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
            // The old key still signs; the new one only after it has been published.
            assert_eq!(
                vestibule::crypto::keys::signing_key(&set, now).map(|k| k.kid.clone()),
                Some(kid.clone())
            );
            let successor = set.keys.iter().find(|k| k.kid != kid).expect("successor");
            assert!(successor.signs_from > now, "not signing yet");
        }),
    ];
    let kid = old_kid.clone();
    let ns = "/api/v1/namespaces/default";
    expected.extend(first_time(vec![
        applied(&format!("{ns}/serviceaccounts"), "quickstart"),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "quickstart-server",
        ),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "quickstart-server",
        ),
        applied(&format!("{ns}/configmaps"), "quickstart-config"),
        applied(&format!("{ns}/configmaps"), "quickstart-sync-status"),
        applied(&format!("{ns}/secrets"), "quickstart-secrets").body(move |secret| {
            // The region receives both keys in the same pass, long before the new one signs.
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(
                    secret["data"]["signing-keys.json"]
                        .as_str()
                        .expect("keys shipped"),
                )
                .expect("base64");
            let set = vestibule::crypto::keys::KeySet::from_json(&bytes).expect("key set");
            assert_eq!(set.keys.len(), 2);
            let jwks = vestibule::crypto::keys::jwks(
                &set,
                k8s_openapi::jiff::Timestamp::now().as_millisecond(),
            );
            assert_eq!(
                jwks["keys"].as_array().map(Vec::len),
                Some(2),
                "both kids are published"
            );
            assert!(set.keys.iter().any(|k| k.kid == kid));
        }),
        applied(&format!("{ns}/persistentvolumeclaims"), "quickstart-data"),
        applied("/apis/apps/v1/namespaces/default/deployments", "quickstart"),
        applied(&format!("{ns}/services"), "quickstart"),
        absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
        absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
    ]));
    expected.push(status_patch(&v));
    expected.push(event("Normal", "Progressing"));
    run(v, expected).await;
}

#[tokio::test]
async fn a_confidential_client_gets_a_generated_secret_and_regions_only_its_hash() {
    use base64::Engine;
    use std::sync::Mutex;
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    let v = vestibule(minimal_spec(), true);
    let app = json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "Application",
        "metadata": {"name": "web", "namespace": "default", "uid": "5e1c0000-0000-4000-8000-00000000a001"},
        "spec": {"vestibuleRef": {"name": "quickstart"}, "type": "web", "clientId": "web-app",
                 "redirectUris": ["https://app.example.com/cb"], "secretName": "web-app-oidc"},
    });
    let app_object = app.clone();
    let generated: Arc<Mutex<Option<String>>> = Arc::default();
    let (seen, check) = (generated.clone(), generated.clone());
    let ns = "/api/v1/namespaces/default";
    let mut expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/applications").respond(move |_| {
            json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ApplicationList", "metadata": {}, "items": [app]})
        }),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
        // The Application learns it was accepted.
        expect(Method::PATCH, "/apis/vestibule.dev/v1alpha1/namespaces/default/applications/web/status")
            .query("fieldManager=vestibule-operator-status")
            .body(|patch| {
                assert_eq!(patch["status"]["conditions"][0]["type"], "Ready");
                assert_eq!(patch["status"]["conditions"][0]["status"], "True");
            })
            .respond(move |patch| {
                let mut answer = app_object.clone();
                answer["status"] = patch["status"].clone();
                answer
            }),
    ];
    expected.extend(first_time(vec![
        keys_created(),
        // No Secret yet: one is generated for the app team, owned by the Application.
        expect(Method::PATCH, &format!("{ns}/secrets/web-app-oidc"))
            .query("fieldManager=vestibule-operator")
            .body(move |secret| {
                let field = |k: &str| {
                    String::from_utf8(
                        B64.decode(secret["data"][k].as_str().expect(k))
                            .expect("base64"),
                    )
                    .expect("utf-8")
                };
                assert_eq!(field("client_id"), "web-app");
                assert_eq!(field("issuer"), "https://auth.example.com");
                let client_secret = field("client_secret");
                assert_eq!(client_secret.len(), 43, "256 random bits");
                assert_eq!(
                    secret["metadata"]["ownerReferences"][0]["kind"],
                    "Application"
                );
                *seen.lock().expect("lock") = Some(client_secret);
            }),
        applied(&format!("{ns}/serviceaccounts"), "quickstart"),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            "quickstart-server",
        ),
        applied(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            "quickstart-server",
        ),
        applied(&format!("{ns}/configmaps"), "quickstart-config").body(|cm| {
            assert!(
                !cm.to_string().contains("client_secret\":"),
                "no secret in the ConfigMap"
            );
        }),
        applied(&format!("{ns}/configmaps"), "quickstart-sync-status"),
        applied(&format!("{ns}/secrets"), "quickstart-secrets").body(move |secret| {
            let hash = secret["data"]["application.web-app.client-secret-hash"]
                .as_str()
                .expect("hash shipped");
            let hash = String::from_utf8(B64.decode(hash).expect("base64")).expect("utf-8");
            let client_secret = check
                .lock()
                .expect("lock")
                .clone()
                .expect("generated first");
            assert_eq!(
                hash,
                vestibule::operator::client_secrets::secret_hash(&client_secret)
            );
            assert!(
                !secret.to_string().contains(&B64.encode(&client_secret)),
                "the secret itself stays with the app"
            );
        }),
        applied(&format!("{ns}/persistentvolumeclaims"), "quickstart-data"),
        applied("/apis/apps/v1/namespaces/default/deployments", "quickstart"),
        applied(&format!("{ns}/services"), "quickstart"),
        absent("/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart"),
        absent("/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart"),
    ]));
    expected.push(status_patch(&v));
    expected.push(event("Normal", "Progressing"));
    run(v, expected).await;
    assert!(generated.lock().expect("lock").is_some());
}

#[tokio::test]
async fn an_invalid_child_gets_ready_false_with_the_reason_and_nothing_rolls_out() {
    let v = vestibule(minimal_spec(), true);
    let provider = json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "OAuthProvider",
        "metadata": {"name": "github", "namespace": "default", "generation": 2},
        "spec": {"vestibuleRef": {"name": "quickstart"}, "type": "github", "clientId": "abc",
                 "clientSecretRef": {"name": "gh-oauth", "key": "secret"}},
    });
    let answer = provider.clone();
    run(
        v.clone(),
        vec![
            expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/oauthproviders").respond(move |_| {
                json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "OAuthProviderList", "metadata": {}, "items": [provider]})
            }),
            empty_list("Organization"),
            empty_list("Application"),
            empty_list("Theme"),
            empty_list("MfaPolicy"),
            absent("/api/v1/namespaces/default/secrets/gh-oauth"),
            expect(Method::PATCH, "/apis/vestibule.dev/v1alpha1/namespaces/default/oauthproviders/github/status")
                .query("fieldManager=vestibule-operator-status")
                .body(|patch| {
                    let ready = &patch["status"]["conditions"][0];
                    assert_eq!(ready["type"], "Ready");
                    assert_eq!(ready["status"], "False");
                    assert_eq!(ready["observedGeneration"], 2);
                    assert!(ready["message"].as_str().unwrap_or_default().contains("Secret \"gh-oauth\" not found"), "{ready}");
                })
                .respond(move |patch| {
                    let mut object = answer.clone();
                    object["status"] = patch["status"].clone();
                    object
                }),
            status_patch(&v).body(|patch| {
                let stalled = patch["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Stalled").cloned()).expect("Stalled");
                assert_eq!(stalled["status"], "True");
                assert!(stalled["message"].as_str().unwrap_or_default().contains("OAuthProvider/github"));
            }),
            event("Warning", "InvalidConfig"),
            // No ConfigMap, no Deployment: the running config stays.
        ],
    )
    .await;
}

#[tokio::test]
async fn a_changed_source_secret_rewrites_only_the_region_secret() {
    let mut spec = minimal_spec();
    spec["database"] = json!({"postgres": {"urlSecretRef": {"name": "db", "key": "url"}}});
    let v = vestibule(spec, true);
    let resources = vestibule::config::Resources {
        vestibules: vec![v.clone()],
        secrets: [(
            ("default".to_owned(), "db".to_owned()),
            ["url".to_owned()].into(),
        )]
        .into(),
        ..Default::default()
    };
    let config = vestibule::config::compile(&resources.bundle_for(&v)).expect("compiles");
    let (keys, key_secret) = stored_keys(&config);
    let keys_json = String::from_utf8(keys.to_json().expect("json")).expect("utf-8");
    let objects_with = |url: &str| {
        let values = [
            ("signing-keys.json".to_owned(), keys_json.clone()),
            ("mfa-key".to_owned(), MFA_KEY.to_owned()),
            ("database.url".to_owned(), url.to_owned()),
        ]
        .into();
        vestibule::render::render(&vestibule::render::RenderInput {
            vestibule: &v,
            config: &config,
            region: &v.spec.regions[0],
            secret_values: &values,
            image: "ghcr.io/vestibule/vestibule:test",
        })
        .to_values()
    };
    // The cluster runs with the old password; the source Secret now holds a new one.
    let running = objects_with("postgres://vestibule:old@db/vestibule");
    let db = secret("db", "url", "postgres://vestibule:new@db/vestibule");
    let db2 = db.clone();
    let mut expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        empty_list("Application"),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
        expect(Method::GET, "/api/v1/namespaces/default/secrets/db").respond(move |_| db.clone()),
        key_secret,
        expect(Method::GET, "/api/v1/namespaces/default/secrets/db").respond(move |_| db2.clone()),
    ];
    for object in &running {
        expected.push(live(object));
        if object["kind"] == "Secret" {
            // The one write: the region Secret, which the servers watch (no rollout).
            expected.push(
                applied("/api/v1/namespaces/default/secrets", "quickstart-secrets").body(|s| {
                    use base64::Engine;
                    let url = base64::engine::general_purpose::STANDARD
                        .decode(s["data"]["database.url"].as_str().expect("url"))
                        .expect("base64");
                    assert_eq!(url, b"postgres://vestibule:new@db/vestibule");
                }),
            );
        }
    }
    expected.extend(nothing_to_prune());
    // The config hash is unchanged (it holds no secret values): no status write, no Event.
    let v = with_ready_status(v, &config);
    let (ctx, handle) = context();
    let server = serve(handle, expected);
    Box::pin(reconcile(Arc::new(v.clone()), ctx.clone()))
        .await
        .expect("reconcile");
    // What the Secret watch consults: a change to `db` (or to the key Secret) wakes this
    // Vestibule; an unrelated Secret in the namespace does not.
    let me = vec![kube::runtime::reflector::ObjectRef::from_obj(&v)];
    let none = Default::default();
    assert_eq!(ctx.secrets.dependents("default", "db", &none), me);
    assert_eq!(
        ctx.secrets
            .dependents("default", "quickstart-signing-keys", &none),
        me
    );
    assert!(
        ctx.secrets
            .dependents("default", "sh.helm.release.v1.web.v3", &none)
            .is_empty()
    );
    drop(ctx);
    server.await.expect("exactly the expected requests");
}

#[tokio::test]
async fn a_refused_region_keeps_its_applied_hash_and_ready_replicas_in_status() {
    let ns = "/api/v1/namespaces/default";
    let mut spec = minimal_spec();
    spec["organizations"] = json!({"enabled": true});
    let mut v = vestibule(spec, true);
    // An earlier reconcile applied config sha256:old, and two servers run it.
    let then = "2026-01-01T00:00:00Z".parse().expect("time");
    let outcome = vestibule::operator::status::RegionOutcome::Applied {
        ready: 2,
        desired: 1,
    };
    let region = vestibule::operator::status::region("local", "sha256:old", outcome, Some(3), then);
    v.status = Some(vestibule::operator::status::ready(
        Some(3),
        "sha256:old",
        vec![region],
        then,
    ));
    // Now enough Applications that the compiled config no longer fits a ConfigMap (declared
    // Organizations would not: they travel in shards).
    let applications: Vec<Value> = (0..500)
        .map(|n| {
            let uris: Vec<String> = (0..40)
                .map(|u| format!("https://app-{n}.example.com/callback/{u}"))
                .collect();
            accepted(json!({
                "apiVersion": "vestibule.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": format!("app-{n}"), "namespace": "default"},
                "spec": {"vestibuleRef": {"name": "quickstart"}, "type": "spa", "clientId": format!("app-{n}"),
                         "displayName": format!("Application {n}"), "redirectUris": uris},
            }))
        })
        .collect();
    let resources = vestibule::config::Resources {
        vestibules: vec![v.clone()],
        applications: applications
            .iter()
            .map(|o| serde_json::from_value(o.clone()).expect("application"))
            .collect(),
        ..Default::default()
    };
    let config = vestibule::config::compile(&resources.bundle_for(&v)).expect("compiles");
    assert!(
        config.config_map_overflow().is_some(),
        "the test config must not fit"
    );
    let (_, key_secret) = stored_keys(&config);
    let listed = applications.clone();
    let expected = vec![
        empty_list("OAuthProvider"),
        empty_list("Organization"),
        expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/applications").respond(move |_| {
            json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ApplicationList", "metadata": {}, "items": listed})
        }),
        empty_list("Theme"),
        empty_list("MfaPolicy"),
        key_secret,
        // Nothing is written to the region; what it serves is read.
        present(
            &format!("{ns}/configmaps/quickstart-config"),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "quickstart-config", "namespace": "default",
                                "annotations": {"vestibule.dev/config-hash": "sha256:old"}}}),
        ),
        present(
            "/apis/apps/v1/namespaces/default/deployments/quickstart",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "quickstart", "namespace": "default"},
                   "status": {"replicas": 2, "readyReplicas": 2}}),
        ),
        status_patch(&v).body(|patch| {
            let region = &patch["status"]["regions"][0];
            assert_eq!(region["appliedConfigHash"], "sha256:old", "{region}");
            assert_eq!(region["readyReplicas"], 2, "{region}");
            assert_ne!(region["desiredConfigHash"], "sha256:old", "{region}");
            let ready = region["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
                .expect("Ready");
            assert_eq!(ready["reason"], "NotApplied");
            assert!(
                ready["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("over the 1 MiB a ConfigMap holds"),
                "{ready}"
            );
        }),
        event("Warning", "RegionsDegraded"),
    ];
    run(v, expected).await;
}

#[tokio::test]
async fn a_deleted_service_is_re_applied_and_nothing_else_is_written() {
    let (v, _, objects, mut expected) = settled();
    // Someone deleted the Service (the watch on Services woke this reconcile): it alone is
    // applied again; every other object is read and left as it is, and status stays.
    for object in &objects {
        if object["kind"] == "Service" {
            expected.push(absent(&path_of(object)));
            expected.push(applied("/api/v1/namespaces/default/services", "quickstart"));
        } else {
            expected.push(live(object));
        }
    }
    expected.extend(nothing_to_prune());
    run(v, expected).await;
}

/// A reconcile of the no-op scenario's Vestibule in which the cluster still holds `pdb` and
/// `ingress` (as JSON, or `None`), expecting `after_pdb` / `after_ingress` once each is read.
async fn prune_scenario(
    pdb: Option<Value>,
    after_pdb: Vec<Expect>,
    ingress: Option<Value>,
    after_ingress: Vec<Expect>,
    events: Vec<Expect>,
) {
    let (v, _, objects, mut expected) = settled();
    expected.extend(objects.iter().map(live));
    let pdb_path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart";
    let ingress_path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart";
    expected.push(match pdb {
        Some(object) => present(pdb_path, object),
        None => absent(pdb_path),
    });
    expected.extend(after_pdb);
    expected.push(match ingress {
        Some(object) => present(ingress_path, object),
        None => absent(ingress_path),
    });
    expected.extend(after_ingress);
    expected.extend(events);
    run(v, expected).await;
}

/// An object of `kind` named like the region's, with `labels`.
fn leftover(api_version: &str, kind: &str, labels: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": "quickstart", "namespace": "default", "labels": labels}})
}

fn our_labels() -> Value {
    json!({"app.kubernetes.io/managed-by": "vestibule", "app.kubernetes.io/instance": "quickstart",
           "vestibule.dev/region": "local", "app.kubernetes.io/name": "vestibule"})
}

fn delete(path: &'static str) -> Expect {
    expect(Method::DELETE, path).respond(
        |_| json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success"}),
    )
}

#[tokio::test]
async fn turning_an_ingress_off_deletes_exactly_that_ingress() {
    prune_scenario(
        None,
        vec![],
        Some(leftover("networking.k8s.io/v1", "Ingress", our_labels())),
        vec![delete(
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses/quickstart",
        )],
        vec![event("Normal", "Pruned").body(|e| {
            let note = e["note"].as_str().unwrap_or_default();
            assert!(note.contains("Ingress default/quickstart"), "{note}");
        })],
    )
    .await;
}

#[tokio::test]
async fn scaling_to_one_replica_deletes_the_disruption_budget() {
    prune_scenario(
        Some(leftover("policy/v1", "PodDisruptionBudget", our_labels())),
        vec![delete(
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/quickstart",
        )],
        None,
        vec![],
        vec![event("Normal", "Pruned").body(|e| {
            let note = e["note"].as_str().unwrap_or_default();
            assert!(
                note.contains("PodDisruptionBudget default/quickstart"),
                "{note}"
            );
        })],
    )
    .await;
}

#[tokio::test]
async fn an_object_without_the_instance_labels_is_never_deleted() {
    // Same names, but someone else's (no labels; or another Vestibule's; or another region's).
    let another = json!({"app.kubernetes.io/managed-by": "vestibule",
                         "app.kubernetes.io/instance": "other", "vestibule.dev/region": "local"});
    prune_scenario(
        Some(leftover("policy/v1", "PodDisruptionBudget", json!({}))),
        vec![],
        Some(leftover("networking.k8s.io/v1", "Ingress", another)),
        vec![],
        vec![],
    )
    .await;
}

#[tokio::test]
async fn removing_a_remote_region_deletes_its_objects_there_and_its_status_entry() {
    let (mut v, config, objects, mut expected) = settled();
    // The status still lists region "far", in cluster-far's namespace "default": the spec
    // no longer has it.
    let then = "2026-01-01T00:00:00Z".parse().expect("time");
    let outcome = vestibule::operator::status::RegionOutcome::Applied {
        ready: 1,
        desired: 1,
    };
    let mut far = vestibule::operator::status::region("far", &config.hash, outcome, Some(3), then);
    far.namespace = Some("default".into());
    far.kubeconfig_secret_ref = Some(
        serde_json::from_value(json!({"name": "cluster-far", "key": "kubeconfig"})).expect("ref"),
    );
    if let Some(status) = v.status.as_mut() {
        status.regions.push(far);
    }
    let (far_service, far_handle) = mock::pair::<Request<Body>, Response<Body>>();
    let clusters = vestibule::operator::clusters::Clusters::default()
        .with_fixed("cluster-far", Client::new(far_service, "default"));
    // Everything of the region goes but its data, kept by the default deletionPolicy.
    let far_server = serve(far_handle, region_cleanup(true, &["quickstart-data"]));
    // The local region is as desired: read, not written.
    expected.extend(objects.iter().map(live));
    expected.extend(nothing_to_prune());
    expected.push(status_patch(&v).body(|patch| {
        let regions = patch["status"]["regions"].as_array().expect("regions");
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert_eq!(regions[0]["name"], "local");
    }));
    expected.push(event("Normal", "Pruned").body(|e| {
        let note = e["note"].as_str().unwrap_or_default();
        assert!(note.contains("deleted region far"), "{note}");
        assert!(
            note.contains(
                "kept PersistentVolumeClaim default/quickstart-data (deletionPolicy: Retain)"
            ),
            "{note}"
        );
    }));
    let (ctx, handle) = context_with(clusters);
    let server = serve(handle, expected);
    Box::pin(reconcile(Arc::new(v), ctx))
        .await
        .expect("reconcile");
    server
        .await
        .expect("local API server saw exactly the expected requests");
    far_server
        .await
        .expect("the far cluster saw exactly its region's deletes");
}

fn organization(display_name: &str) -> vestibule::resources::Organization {
    serde_json::from_value(accepted(json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "Organization",
        "metadata": {"name": "acme", "namespace": "default"},
        "spec": {"vestibuleRef": {"name": "quickstart"}, "slug": "acme", "displayName": display_name},
    })))
    .expect("organization")
}

/// Input stores as the controller's watches leave them after their first lists.
fn synced_stores(
    themes: Vec<vestibule::resources::Theme>,
    organizations: Vec<vestibule::resources::Organization>,
) -> (
    vestibule::operator::inputs::InputStores,
    vestibule::operator::inputs::InputWriters,
) {
    use kube::runtime::watcher::Event;
    let (stores, mut writers) = vestibule::operator::inputs::stores(None);
    writers.themes.apply_watcher_event(&Event::Init);
    for theme in themes {
        writers.themes.apply_watcher_event(&Event::InitApply(theme));
    }
    writers.themes.apply_watcher_event(&Event::InitDone);
    writers.organizations.apply_watcher_event(&Event::Init);
    for organization in organizations {
        writers
            .organizations
            .apply_watcher_event(&Event::InitApply(organization));
    }
    writers.organizations.apply_watcher_event(&Event::InitDone);
    writers.providers.apply_watcher_event(&Event::InitDone);
    writers.applications.apply_watcher_event(&Event::InitDone);
    writers.mfa_policies.apply_watcher_event(&Event::InitDone);
    (stores, writers)
}

#[tokio::test]
async fn an_organization_edit_is_reconciled_from_the_watch_caches_without_a_list() {
    let mut spec = minimal_spec();
    spec["themeRef"] = json!({"name": "brand"});
    spec["organizations"] = json!({"enabled": true});
    let v = vestibule(spec, true);
    let inputs = |name: &str| vestibule::config::Resources {
        themes: vec![theme("#2563eb")],
        organizations: vec![organization(name)],
        ..Default::default()
    };
    // The cluster runs the organization's old name; the watch has delivered the new one.
    let (old_config, _) = rendered_with(&v, inputs("Acme"), None);
    let (keys, key_secret) = stored_keys(&old_config);
    let (old_config, live) = rendered_with(&v, inputs("Acme"), Some(&keys));
    let v = with_ready_status(v, &old_config);
    let (new_config, new_objects) = rendered_with(&v, inputs("Acme Corporation"), Some(&keys));
    assert_ne!(old_config.hash, new_config.hash);
    let (stores, _writers) = synced_stores(
        vec![
            serde_json::from_value(accepted(
                serde_json::to_value(theme("#2563eb")).expect("json"),
            ))
            .expect("theme"),
        ],
        vec![organization("Acme Corporation")],
    );
    // No list of any input kind: the first request is the key Secret.
    let mut expected = vec![key_secret];
    // The organization's shard (which carries the new name) and the main ConfigMap listing it.
    let (steps, written) = transition(&live, &new_objects);
    assert_eq!(
        written,
        ["quickstart-config-orgs-0", "quickstart-config"],
        "{written:?}"
    );
    let shard = new_objects
        .iter()
        .find(|o| o["metadata"]["name"] == "quickstart-config-orgs-0")
        .expect("a shard");
    assert!(
        shard["data"]["organizations.json"]
            .as_str()
            .unwrap_or_default()
            .contains("Acme Corporation")
    );
    expected.extend(steps);
    expected.extend(nothing_to_prune());
    let hash = new_config.hash.clone();
    expected.push(
        status_patch(&v)
            .body(move |patch| assert_eq!(patch["status"]["configHash"], hash.as_str())),
    );
    expected.push(event("Normal", "ConfigChanged"));
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = Arc::new(
        Context::new(
            client,
            "ghcr.io/vestibule/vestibule:test".into(),
            Default::default(),
            None,
        )
        .with_inputs(vec![stores]),
    );
    let (_, metrics) = run_in(ctx, handle, v, expected).await;
    assert!(
        metrics.contains("vestibule_operator_input_reads_total{source=\"cache\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_reconcile_before_the_caches_are_synced_lists_its_inputs() {
    let (v, _, objects, mut expected) = settled();
    expected.extend(objects.iter().map(live));
    expected.extend(nothing_to_prune());
    // Stores whose watches have not finished their first list yet.
    let (stores, _writers) = vestibule::operator::inputs::stores(None);
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = Arc::new(
        Context::new(
            client,
            "ghcr.io/vestibule/vestibule:test".into(),
            Default::default(),
            None,
        )
        .with_inputs(vec![stores]),
    );
    run_in(ctx, handle, v, expected).await;
}

#[tokio::test]
async fn deleting_a_sqlite_vestibule_keeps_its_data_and_says_so() {
    let mut v = vestibule(minimal_spec(), true);
    v.meta_mut().deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        "2026-11-26T00:00:00Z".parse().expect("time"),
    ));
    let released = {
        let mut gone = v.clone();
        gone.meta_mut().finalizers = None;
        serde_json::to_value(&gone).expect("json")
    };
    // Kubernetes collects the region through owner references; the volume claim has none
    // (deletionPolicy: Retain by default), so it stays, and the Event names it.
    let expected = vec![
        expect(Method::GET, "/api/v1/namespaces/default/persistentvolumeclaims")
            .query("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dvestibule%2Capp.kubernetes.io%2Finstance%3Dquickstart%2Cvestibule.dev%2Fregion%3Dlocal")
            .respond(|_| json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": {}, "items": [
                {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": "quickstart-data", "namespace": "default"}},
            ]})),
        event("Normal", "CleanedUp").body(|e| {
            let note = e["note"].as_str().unwrap_or_default();
            assert_eq!(
                note,
                "kept PersistentVolumeClaim default/quickstart-data (deletionPolicy: Retain)"
            );
        }),
        expect(
            Method::PATCH,
            "/apis/vestibule.dev/v1alpha1/namespaces/default/vestibules/quickstart",
        )
        .respond(move |_| released.clone()),
    ];
    run(v, expected).await;
}

/// `count` declared Organizations of quickstart, ten members each, as an earlier reconcile
/// accepted them; `renamed` gets another display name.
fn many_organizations(
    count: usize,
    renamed: Option<usize>,
) -> Vec<vestibule::resources::Organization> {
    (0..count)
        .map(|i| {
            let members: Vec<Value> = (0..10)
                .map(|m| json!({"email": format!("user{m}@org{i}.example"), "role": if m == 0 { "admin" } else { "member" }}))
                .collect();
            let name = if renamed == Some(i) { format!("Renamed {i}") } else { format!("Organization {i}") };
            let object = accepted(json!({
                "apiVersion": "vestibule.dev/v1alpha1", "kind": "Organization",
                "metadata": {"name": format!("org-{i}"), "namespace": "default"},
                "spec": {"vestibuleRef": {"name": "quickstart"}, "slug": format!("org-{i}"), "displayName": name, "members": members},
            }));
            serde_json::from_value(object).expect("organization")
        })
        .collect()
}

/// The reconcile from what the cluster holds (`old`) to what renders now (`new`): every object
/// read, and written only where it differs (a new one is read as absent first).
fn transition(old: &[Value], new: &[Value]) -> (Vec<Expect>, Vec<String>) {
    let mut expected = Vec::new();
    let mut written = Vec::new();
    for object in new {
        let path = path_of(object);
        let (collection, name) = path.rsplit_once('/').expect("a path");
        match old.iter().find(|o| path_of(o) == path) {
            Some(before) if before == object => expected.push(live(before)),
            Some(before) => {
                expected.push(live(before));
                expected.push(applied(collection, name));
                written.push(name.to_owned());
            }
            None => {
                expected.push(absent(&path));
                expected.push(applied(collection, name));
                written.push(name.to_owned());
            }
        }
    }
    (expected, written)
}

#[tokio::test]
async fn ten_thousand_declared_organizations_apply_in_shards_and_one_edit_rewrites_one_shard() {
    let mut spec = minimal_spec();
    spec["themeRef"] = json!({"name": "brand"});
    spec["organizations"] = json!({"enabled": true});
    let v = vestibule(spec, true);
    let resources = |orgs: Vec<vestibule::resources::Organization>| vestibule::config::Resources {
        themes: vec![theme("#2563eb")],
        organizations: orgs,
        ..Default::default()
    };
    let (config, _) = rendered_with(&v, resources(Vec::new()), None);
    let (keys, key_secret) = stored_keys(&config);
    let key_secret_again = key_secret_read(&keys);
    let (before, before_objects) = rendered_with(&v, resources(Vec::new()), Some(&keys));
    let (after, after_objects) =
        rendered_with(&v, resources(many_organizations(10_000, None)), Some(&keys));
    let (edited, edited_objects) = rendered_with(
        &v,
        resources(many_organizations(10_000, Some(4321))),
        Some(&keys),
    );
    assert_eq!(after.organizations.declared.len(), 10_000);
    for object in &after_objects {
        let size = serde_json::to_vec(&object["data"]).map_or(0, |d| d.len());
        assert!(size < 1024 * 1024, "{} is {size} bytes", path_of(object));
    }

    let inputs = |orgs: Vec<vestibule::resources::Organization>| {
        let brand = accepted(serde_json::to_value(theme("#2563eb")).expect("json"));
        let items: Vec<Value> = orgs
            .into_iter()
            .map(|o| serde_json::to_value(o).expect("json"))
            .collect();
        vec![
            empty_list("OAuthProvider"),
            expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/organizations").respond(move |_| {
                json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "OrganizationList", "metadata": {"resourceVersion": "1"}, "items": items})
            }),
            empty_list("Application"),
            expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/themes").respond(move |_| {
                json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ThemeList", "metadata": {}, "items": [brand]})
            }),
            empty_list("MfaPolicy"),
        ]
    };
    let config_changed = |v: &Vestibule, hash: String| {
        vec![
            status_patch(v).body({
                let hash = hash.clone();
                move |patch| assert_eq!(patch["status"]["configHash"], hash.as_str())
            }),
            event("Normal", "ConfigChanged"),
        ]
    };

    // 10,000 Organizations declared: the shards are created, then the Role that lets the
    // servers read them and the main ConfigMap that lists them; nothing else is written.
    let v1 = with_ready_status(v.clone(), &before);
    let mut expected = inputs(many_organizations(10_000, None));
    expected.push(key_secret);
    let (steps, written) = transition(&before_objects, &after_objects);
    expected.extend(steps);
    expected.extend(nothing_to_prune());
    expected.extend(config_changed(&v1, after.hash.clone()));
    let shards: Vec<&String> = written.iter().filter(|n| n.contains("-orgs-")).collect();
    assert!(shards.len() >= 16, "{written:?}");
    assert_eq!(
        written.len(),
        shards.len() + 2,
        "the shards, the Role and the ConfigMap: {written:?}"
    );
    assert!(
        written.contains(&"quickstart-server".to_owned())
            && written.contains(&"quickstart-config".to_owned())
    );
    run(v1, expected).await;

    // One Organization renamed: its shard and the main ConfigMap, nothing else.
    let v2 = with_ready_status(v, &after);
    let mut expected = inputs(many_organizations(10_000, Some(4321)));
    expected.push(key_secret_again);
    let (steps, written) = transition(&after_objects, &edited_objects);
    expected.extend(steps);
    expected.extend(nothing_to_prune());
    expected.extend(config_changed(&v2, edited.hash.clone()));
    assert_eq!(written.len(), 2, "{written:?}");
    assert!(
        written[0].starts_with("quickstart-config-orgs-") && written[1] == "quickstart-config",
        "{written:?}"
    );
    run(v2, expected).await;
}

#[tokio::test]
async fn a_slug_conflict_the_servers_report_shows_on_the_organization_and_the_vestibule() {
    let mut spec = minimal_spec();
    spec["themeRef"] = json!({"name": "brand"});
    spec["organizations"] = json!({"enabled": true});
    let v = vestibule(spec, true);
    let inputs = || vestibule::config::Resources {
        themes: vec![theme("#2563eb")],
        organizations: vec![organization("Acme")],
        ..Default::default()
    };
    let (config, _) = rendered_with(&v, inputs(), None);
    let (keys, _) = stored_keys(&config);
    let (config, objects) = rendered_with(&v, inputs(), Some(&keys));
    let v = with_ready_status(v, &config);
    let acme = serde_json::to_value(organization("Acme")).expect("json");
    let acme_object = acme.clone();
    let seen_org: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
    let written_org = seen_org.clone();
    let written: Arc<std::sync::Mutex<Option<Value>>> = Arc::default();
    // The reads every reconcile here starts with: inputs (Acme as given), the key Secret.
    let inputs_read = |acme: Value| {
        let brand = accepted(serde_json::to_value(theme("#2563eb")).expect("json"));
        vec![
            empty_list("OAuthProvider"),
            expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/organizations").respond(move |_| {
                json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "OrganizationList", "metadata": {}, "items": [acme]})
            }),
            empty_list("Application"),
            expect(Method::GET, "/apis/vestibule.dev/v1alpha1/namespaces/default/themes").respond(move |_| {
                json!({"apiVersion": "vestibule.dev/v1alpha1", "kind": "ThemeList", "metadata": {}, "items": [brand]})
            }),
            empty_list("MfaPolicy"),
            key_secret_read(&keys),
        ]
    };
    // The region as it runs, its servers having found a runtime organization holding "acme".
    let region_read = || {
        let mut reads: Vec<Expect> = objects
            .iter()
            .map(|object| {
                if object["metadata"]["name"] == "quickstart-sync-status" {
                    let mut reported = object.clone();
                    reported["data"] = json!({"slugConflicts.json": "[\"acme\"]"});
                    present(&path_of(object), reported)
                } else {
                    live(object)
                }
            })
            .collect();
        reads.extend(nothing_to_prune());
        reads
    };
    let mut expected = inputs_read(acme);
    expected.extend(region_read());
    // Nothing in the region is written; the Organization learns why it is not synced...
    expected.push(
        expect(
            Method::PATCH,
            "/apis/vestibule.dev/v1alpha1/namespaces/default/organizations/acme/status",
        )
        .query("fieldManager=vestibule-operator-status")
        .body(|patch| {
            let ready = &patch["status"]["conditions"][0];
            assert_eq!(ready["status"], "False", "{patch}");
            let message = ready["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("spec.slug: a runtime-created organization already has this slug"),
                "{message}"
            );
        })
        .respond(move |patch| {
            let mut answer = acme_object.clone();
            answer["status"] = patch["status"].clone();
            *written_org.lock().expect("lock") = Some(answer.clone());
            answer
        }),
    );
    // ... and the Vestibule's status lists it, so the next reconciles agree without writes.
    let written_status = written.clone();
    expected.push(status_patch(&v).body(move |patch| {
        assert_eq!(patch["status"]["slugConflicts"], json!(["acme"]), "{patch}");
        *written_status.lock().expect("lock") = Some(patch["status"].clone());
    }));
    run(v.clone(), expected).await;

    // The next reconcile, with both statuses as written: every object read, nothing written.
    let org = seen_org
        .lock()
        .expect("lock")
        .clone()
        .expect("organization status");
    let status = written
        .lock()
        .expect("lock")
        .clone()
        .expect("vestibule status");
    let mut again = v;
    again.status = Some(serde_json::from_value(status).expect("status"));
    let mut expected = inputs_read(org);
    expected.extend(region_read());
    run(again, expected).await;
}
