//! Lease leader election against kube's mocked API server (`tower-test`): each scenario is the
//! exact list of requests, in order, and nothing else. Time is tokio's paused clock, so waiting
//! out a lease takes no real time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::time::Instant;
use tower_test::mock;

use crate::mock_api::{Expect, expect, serve};
use vestibule::operator::lease::{LeaseError, LeaseSettings, acquire};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/vestibule-system/leases";
const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/vestibule-system/leases/vestibule-operator";

fn absent() -> Expect {
    expect(Method::GET, LEASE).fails(404, "NotFound")
}

fn present(lease: Value) -> Expect {
    expect(Method::GET, LEASE).respond(move |_| lease.clone())
}

fn create() -> Expect {
    expect(Method::POST, LEASES).stored("1")
}

fn replace() -> Expect {
    expect(Method::PUT, LEASE)
}

/// A Lease as another replica left it.
fn lease(holder: Option<&str>, duration_s: i32, resource_version: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "vestibule-operator", "namespace": "vestibule-system", "resourceVersion": resource_version},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration_s,
            "acquireTime": "2025-06-01T10:00:00.000000Z",
            "renewTime": "2025-06-01T10:00:00.000000Z",
            "leaseTransitions": 3,
        },
    })
}

fn settings() -> LeaseSettings {
    let mut settings = LeaseSettings::new("vestibule-operator", "vestibule-system", "operator-a");
    settings.retry_every = Duration::from_secs(1);
    settings
}

/// A client whose requests the scripted server answers.
fn api_server(expected: Vec<Expect>) -> (Client, tokio::task::JoinHandle<()>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), serve(handle, expected))
}

/// Bounds a scenario in (paused, so free) time: if the API server fails a request, the client
/// sees a closed connection and would retry forever. The server's panic says why.
async fn within<T>(scenario: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), scenario)
        .await
        .expect("scenario finished; if not, the API server panicked above")
}

#[tokio::test(start_paused = true)]
async fn missing_lease_is_created_held_by_me() {
    let (client, server) = api_server(vec![
        absent(),
        create().body(|lease| {
            assert_eq!(lease["metadata"]["name"], "vestibule-operator");
            assert_eq!(lease["metadata"].get("resourceVersion"), None);
            let spec = &lease["spec"];
            assert_eq!(spec["holderIdentity"], "operator-a");
            assert_eq!(spec["leaseTransitions"], 0);
            assert_eq!(spec["leaseDurationSeconds"], 15);
            assert!(spec["renewTime"].is_string(), "{lease}");
            assert_eq!(spec["acquireTime"], spec["renewTime"]);
        }),
    ]);
    let leadership = within(acquire(client, settings())).await.expect("leader");
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn fresh_lease_of_another_replica_is_waited_out_then_taken_over() {
    let held = lease(Some("operator-b"), 2, "42");
    let (client, server) = api_server(vec![
        present(held.clone()),
        present(held.clone()).after(Duration::from_secs(1)),
        // Unchanged for its full leaseDurationSeconds: lapsed.
        present(held),
        replace()
            .after(Duration::from_secs(2))
            .body(|lease| {
                assert_eq!(lease["metadata"]["resourceVersion"], "42");
                let spec = &lease["spec"];
                assert_eq!(spec["holderIdentity"], "operator-a");
                assert_eq!(spec["leaseTransitions"], 4);
                assert_eq!(spec["leaseDurationSeconds"], 15);
                assert_ne!(spec["renewTime"], "2025-06-01T10:00:00.000000Z");
                assert_eq!(spec["acquireTime"], spec["renewTime"]);
            })
            .stored("43"),
    ]);
    let leadership = within(acquire(client, settings())).await.expect("leader");
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn released_lease_is_taken_over_at_once() {
    let (client, server) = api_server(vec![
        present(lease(None, 15, "42")),
        replace()
            .body(|lease| {
                assert_eq!(lease["metadata"]["resourceVersion"], "42");
                assert_eq!(lease["spec"]["holderIdentity"], "operator-a");
            })
            .stored("43"),
    ]);
    let started = Instant::now();
    let leadership = within(acquire(client, settings())).await.expect("leader");
    assert_eq!(started.elapsed(), Duration::ZERO);
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn conflict_on_take_over_means_waiting_not_failing() {
    let winner = lease(Some("operator-b"), 1, "43");
    let (client, server) = api_server(vec![
        present(lease(None, 15, "42")),
        // operator-b wrote first.
        replace().fails(409, "Conflict"),
        present(winner.clone()),
        present(winner).after(Duration::from_secs(2)),
        replace()
            .body(|lease| {
                assert_eq!(lease["metadata"]["resourceVersion"], "43");
                assert_eq!(lease["spec"]["holderIdentity"], "operator-a");
                assert_eq!(lease["spec"]["leaseTransitions"], 4);
            })
            .stored("44"),
    ]);
    let leadership = within(acquire(client, settings()))
        .await
        .expect("leader in the end");
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn held_lease_is_renewed_until_someone_else_writes_it() {
    let created = Arc::new(Mutex::new(Value::Null));
    let seen = created.clone();
    let (client, server) = api_server(vec![
        absent(),
        create().body(move |lease| {
            *seen.lock().expect("lock") = lease["spec"]["renewTime"].clone();
        }),
        replace()
            .after(Duration::from_secs(5))
            .body(move |lease| {
                assert_eq!(lease["metadata"]["resourceVersion"], "1");
                assert_eq!(lease["spec"]["holderIdentity"], "operator-a");
                let first = created.lock().expect("lock").clone();
                let renewed = &lease["spec"]["renewTime"];
                // RFC 3339 with fixed precision orders as text.
                assert!(renewed.as_str() > first.as_str(), "{renewed} after {first}");
                assert_eq!(lease["spec"]["acquireTime"], first);
            })
            .stored("2"),
        replace()
            .after(Duration::from_secs(10))
            .body(|lease| assert_eq!(lease["metadata"]["resourceVersion"], "2"))
            .fails(409, "Conflict"),
    ]);
    let started = Instant::now();
    let mut leadership = within(acquire(client, settings())).await.expect("leader");
    let lost = within(leadership.renew_until_lost()).await;
    assert!(matches!(lost, LeaseError::Lost { .. }), "{lost}");
    // Lost on the 409 itself, not by running out the lease.
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn failed_renewal_is_retried() {
    let (client, server) = api_server(vec![
        absent(),
        create(),
        replace()
            .after(Duration::from_secs(5))
            .fails(500, "InternalError"),
        replace()
            .after(Duration::from_secs(6))
            .body(|lease| assert_eq!(lease["metadata"]["resourceVersion"], "1"))
            .stored("2"),
        replace()
            .after(Duration::from_secs(11))
            .body(|lease| assert_eq!(lease["metadata"]["resourceVersion"], "2"))
            .fails(409, "Conflict"),
    ]);
    let started = Instant::now();
    let mut leadership = within(acquire(client, settings())).await.expect("leader");
    let lost = within(leadership.renew_until_lost()).await;
    assert!(matches!(lost, LeaseError::Lost { .. }), "{lost}");
    // Lost on the 409 itself, not by running out the lease.
    assert_eq!(started.elapsed(), Duration::from_secs(11));
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn no_renewal_for_a_lease_duration_loses_leadership() {
    let mut expected = vec![absent(), create()];
    // Renewal fails at 5 s, then is retried every second until the 10 s renew deadline: the
    // holder stops 5 s before any follower can see the 15 s lease lapse.
    for _ in 5..10 {
        expected.push(replace().fails(503, "ServiceUnavailable"));
    }
    let (client, server) = api_server(expected);
    let started = Instant::now();
    let mut leadership = within(acquire(client, settings())).await.expect("leader");
    let lost = within(leadership.renew_until_lost()).await;
    assert!(matches!(lost, LeaseError::Lost { .. }), "{lost}");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    drop(leadership);
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn release_clears_the_holder() {
    let created = Arc::new(Mutex::new(Value::Null));
    let seen = created.clone();
    let (client, server) = api_server(vec![
        absent(),
        create().body(move |lease| *seen.lock().expect("lock") = lease["spec"].clone()),
        replace().body(move |lease| {
            assert_eq!(lease["metadata"]["resourceVersion"], "1");
            let spec = &lease["spec"];
            assert_eq!(spec.get("holderIdentity"), None, "{lease}");
            let first = created.lock().expect("lock").clone();
            assert_eq!(spec["renewTime"], first["renewTime"]);
            assert_eq!(spec["leaseTransitions"], 0);
        }),
    ]);
    let leadership = within(acquire(client, settings())).await.expect("leader");
    within(leadership.release()).await;
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn release_leaves_a_successor_alone() {
    let (client, server) = api_server(vec![
        absent(),
        create(),
        replace().fails(409, "Conflict"),
        present(lease(Some("operator-b"), 15, "7")),
    ]);
    let leadership = within(acquire(client, settings())).await.expect("leader");
    within(leadership.release()).await;
    server.await.expect("exactly the expected requests");
}

#[tokio::test(start_paused = true)]
async fn refusal_is_an_error_not_a_wait() {
    let (client, server) = api_server(vec![expect(Method::GET, LEASE).fails(403, "Forbidden")]);
    let error = within(acquire(client, settings()))
        .await
        .err()
        .expect("refused");
    assert!(matches!(error, LeaseError::Kube(_)), "{error}");
    server.await.expect("exactly the expected requests");
}
