//! A scripted stand-in behind kube's mocked service (`tower-test`): each scenario lists the
//! exact requests it expects, in order, with a check of each body and the answer to send;
//! anything else — a different request, one too many, one missing — fails the test.

use std::time::Duration;

use axum::http::{Method, Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::time::Instant;
use tower_test::mock::Handle;

/// The mocked API server's side of the client.
pub type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// One expected request: method, path, query, earliest arrival, a check of the body, and the
/// answer to send.
pub struct Expect {
    pub status: u16,
    pub method: Method,
    pub path: String,
    query_contains: &'static str,
    not_before: Duration,
    body: Box<dyn Fn(&Value) + Send>,
    respond: Box<dyn Fn(&Value) -> Value + Send>,
}

/// Expects `method path`, answered 200 with the request body echoed back.
pub fn expect(method: Method, path: &str) -> Expect {
    Expect {
        status: 200,
        method,
        path: path.to_owned(),
        query_contains: "",
        not_before: Duration::ZERO,
        body: Box::new(|_| {}),
        respond: Box::new(|body| body.clone()),
    }
}

/// A Kubernetes `Status` failure body.
pub fn failure(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": reason, "code": code, "message": reason})
}

impl Expect {
    /// Asserts the query string contains `q`.
    pub fn query(mut self, q: &'static str) -> Self {
        self.query_contains = q;
        self
    }
    /// Asserts the request comes no earlier than `offset` after the server started.
    pub fn after(mut self, offset: Duration) -> Self {
        self.not_before = offset;
        self
    }
    /// Checks the request body.
    pub fn body(mut self, check: impl Fn(&Value) + Send + 'static) -> Self {
        self.body = Box::new(check);
        self
    }
    /// Answers with what `answer` makes of the request body.
    pub fn respond(mut self, answer: impl Fn(&Value) -> Value + Send + 'static) -> Self {
        self.respond = Box::new(answer);
        self
    }
    /// Answers with the request body as stored under `resource_version`.
    pub fn stored(self, resource_version: &'static str) -> Self {
        self.respond(move |body| {
            let mut live = body.clone();
            live["metadata"]["resourceVersion"] = json!(resource_version);
            live
        })
    }
    /// Answers with a failure `Status`.
    pub fn fails(mut self, code: u16, reason: &'static str) -> Self {
        self.status = code;
        self.respond(move |_| failure(code, reason))
    }
}

/// Serves `expected` in order and fails on anything else, including requests after the last.
pub fn serve(mut handle: ApiHandle, expected: Vec<Expect>) -> tokio::task::JoinHandle<()> {
    let started = Instant::now();
    tokio::spawn(async move {
        for (i, e) in expected.into_iter().enumerate() {
            let (request, send) = handle
                .next_request()
                .await
                .unwrap_or_else(|| panic!("request {i} ({} {}) was never made", e.method, e.path));
            let at = started.elapsed();
            assert_eq!(
                request.method(),
                &e.method,
                "request {i}: {}",
                request.uri()
            );
            assert_eq!(request.uri().path(), e.path, "request {i}");
            let query = request.uri().query().unwrap_or_default().to_owned();
            assert!(
                query.contains(e.query_contains),
                "request {i}: query {query:?} lacks {:?}",
                e.query_contains
            );
            assert!(
                at >= e.not_before,
                "request {i} came at {at:?}, before {:?}",
                e.not_before
            );
            let bytes = request
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            let body: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("json body")
            };
            (e.body)(&body);
            let answer = (e.respond)(&body);
            send.send_response(
                Response::builder()
                    .status(e.status)
                    .body(Body::from(serde_json::to_vec(&answer).expect("json")))
                    .expect("response"),
            );
        }
        if let Some((request, _)) = handle.next_request().await {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
    })
}
