//! The HTTP server, on axum: one router made of faces, each with its own layers and error shape.
//!
//! - [`pages`]: hosted HTML under the cookie session, CSRF-protected, with an HTML error page.
//! - [`oauth`]: `/.well-known/*` and `/oauth2/*`, JSON errors in the RFC 6749 shape.
//! - [`admin`]: reserved for `/admin/v1` (JSON) and `/admin` (pages).
//! - [`ops`]: health, readiness and metrics.
//!
//! Layers every face shares (security headers, request metrics, the body limit) wrap them all.
//! Handlers are thin: they call the domain in `crate::auth`.

pub mod admin;
pub mod client;
pub mod cookies;
pub mod headers;
pub mod metrics;
pub mod oauth;
pub mod ops;
pub mod pages;
pub mod state;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

use state::AppState;

/// Requests larger than this are refused before any handler runs.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the server. `/dev/*` answers only when the state has a dev outbox.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::router(state.clone()))
        .merge(oauth::router())
        .merge(ops::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Counts and logs each request by route template, never by full URI: query strings carry
/// tokens and addresses that must not reach logs.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.request(&route, &method, status);
    tracing::info!(%method, %route, status, latency_ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Serves `router` on `listener` until `shutdown` resolves, sweeping dead rows meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_periodically(state.clone()));
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    served
}

/// How often expired rows are swept.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

async fn sweep_periodically(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match crate::auth::maintenance::sweep(&state.auth).await {
            Ok(swept) => tracing::debug!(
                counters = swept.counters,
                sessions = swept.sessions,
                tokens = swept.tokens,
                devices = swept.devices,
                "swept expired rows"
            ),
            Err(error) => tracing::warn!(%error, "sweeping expired rows failed"),
        }
    }
}
