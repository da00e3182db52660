//! Region watches (remote clusters, other namespaces) against kube's mocked API servers: a
//! healthy cluster whose Service changes, and one that fails every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{Request, Response};
use futures::{FutureExt, StreamExt};
use kube::Client;
use kube::client::Body;
use kube::runtime::reflector::ObjectRef;
use serde_json::json;
use tokio::sync::Notify;
use tower_test::mock;

use crate::mock_api::ApiHandle;
use vestibule::operator::region_watches::{RegionWatches, WatchTarget};
use vestibule::resources::Vestibule;

fn vestibule(name: &str) -> Vestibule {
    serde_json::from_value(json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "Vestibule",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"issuer": "https://auth.example.com", "regions": [{"name": "local"}]},
    }))
    .expect("vestibule")
}

fn target(cluster: &str) -> WatchTarget {
    WatchTarget {
        cluster: cluster.to_owned(),
        namespace: "auth-us".to_owned(),
    }
}

fn response(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(body.into_bytes()))
        .expect("response")
}

/// A cluster that answers every list with nothing; the first watch of Services delivers a
/// change to an unrelated instance's Service and then to `instance`'s; other watches stay open.
async fn healthy(mut handle: ApiHandle, instance: &'static str) {
    let mut open = Vec::new();
    let mut delivered = false;
    while let Some((request, send)) = handle.next_request().await {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        if !query.contains("watch=true") {
            let list = json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": {"resourceVersion": "1"}, "items": []});
            send.send_response(response(200, list.to_string()));
        } else if path == "/api/v1/namespaces/auth-us/services" && !delivered {
            delivered = true;
            let event = |name: &str, rv: &str| {
                json!({"type": "MODIFIED", "object": {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {
                    "name": name, "namespace": "auth-us", "resourceVersion": rv,
                    "labels": {"app.kubernetes.io/managed-by": "vestibule", "app.kubernetes.io/instance": name},
                }}})
                .to_string()
            };
            let body = format!("{}\n{}\n", event("unrelated", "2"), event(instance, "3"));
            send.send_response(response(200, body));
        } else {
            // Held open, as a watch with nothing to say is.
            open.push(send);
        }
    }
}

/// A cluster that fails every request; counts them and says when the first one failed.
async fn broken(mut handle: ApiHandle, failed: Arc<AtomicUsize>, first: Arc<Notify>) {
    while let Some((_, send)) = handle.next_request().await {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable", "code": 503, "message": "unreachable"});
        send.send_response(response(503, status.to_string()));
        if failed.fetch_add(1, Ordering::SeqCst) == 0 {
            first.notify_one();
        }
    }
}

fn cluster() -> (Client, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

#[tokio::test]
async fn a_cluster_failing_its_watches_does_not_hold_up_another() {
    let watches = RegionWatches::default();
    let mut woken = watches.triggers(None);
    let (bad, bad_handle) = cluster();
    let (good, good_handle) = cluster();
    let (failed, first_failure) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
    tokio::spawn(broken(bad_handle, failed.clone(), first_failure.clone()));
    tokio::spawn(healthy(good_handle, "quickstart"));
    let v = vestibule("quickstart");
    watches.track(
        &v,
        vec![(target("broken"), bad.clone()), (target("good"), good)],
    );
    // Guards against a hang only; nothing here is timed.
    let guard = Duration::from_secs(30);
    tokio::time::timeout(guard, first_failure.notified())
        .await
        .expect("the broken cluster is tried");
    let trigger = tokio::time::timeout(guard, woken.next())
        .await
        .expect("the healthy cluster's change arrives while the other keeps failing")
        .expect("a trigger");
    assert_eq!(trigger, ObjectRef::new("quickstart").within("default"));
    // The unrelated instance's Service woke nobody.
    assert!(woken.next().now_or_never().is_none());
    assert!(failed.load(Ordering::SeqCst) >= 1);
    assert_eq!(watches.watched(), [target("broken"), target("good")]);

    // The region in the healthy cluster goes: only its watch stops.
    watches.track(&v, vec![(target("broken"), bad)]);
    assert_eq!(watches.watched(), [target("broken")]);
    watches.forget(&v);
    assert!(watches.watched().is_empty());
}

#[tokio::test]
async fn one_watch_set_serves_every_vestibule_with_a_region_there() {
    let watches = RegionWatches::default();
    let _woken = watches.triggers(None);
    let (client, handle) = cluster();
    tokio::spawn(healthy(handle, "shop"));
    let (shop, blog) = (vestibule("shop"), vestibule("blog"));
    watches.track(&shop, vec![(target("us"), client.clone())]);
    watches.track(&blog, vec![(target("us"), client)]);
    assert_eq!(watches.watched(), [target("us")]);
    // The set stays while one Vestibule still has a region there.
    watches.forget(&shop);
    assert_eq!(watches.watched(), [target("us")]);
    watches.forget(&blog);
    assert!(watches.watched().is_empty());
}

#[tokio::test]
async fn without_a_controller_to_wake_nothing_is_watched() {
    let watches = RegionWatches::default();
    let (client, _handle) = cluster();
    watches.track(&vestibule("shop"), vec![(target("us"), client)]);
    assert!(watches.watched().is_empty());
}
