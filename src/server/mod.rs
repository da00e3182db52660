//! The auth server: hosted pages, sessions and the operational endpoints, on axum.
//!
//! Cross-cutting concerns are layers (security headers, CSRF, request metrics); handlers are thin
//! and call the flows in `crate::flows`.

pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod headers;
pub mod kube_source;
pub mod live;
pub mod metrics;
pub mod pages;
pub mod run;
pub mod session;
pub mod source;
pub mod state;
pub mod theme_css;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use handlers::{account, auth, ops, recovery, verify};
use state::AppState;

/// Requests larger than this are refused before any handler runs.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the server. `/dev/*` answers only when the state has a dev outbox.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { handlers::see_other("/account", &[]) }))
        .route(
            "/sign-in",
            get(auth::sign_in_page).post(auth::sign_in_submit),
        )
        .route(
            "/sign-up",
            get(auth::sign_up_page).post(auth::sign_up_submit),
        )
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/verify-email",
            get(verify::verify_page).post(verify::verify_code_submit),
        )
        .route("/verify-email/link", post(verify::verify_link_submit))
        .route("/verify-email/resend", post(verify::resend_submit))
        .route(
            "/forgot-password",
            get(recovery::forgot_page).post(recovery::forgot_submit),
        )
        .route(
            "/reset-password",
            get(recovery::reset_page).post(recovery::reset_submit),
        )
        .route("/account", get(account::account_get))
        .route("/session", get(ops::session))
        .route("/account/password", post(account::change_password))
        .route("/account/email", post(account::change_email))
        .route("/account/email/verify", post(account::confirm_email))
        .route("/account/sessions/revoke", post(account::revoke_session))
        .route("/assets/vestibule.css", get(ops::stylesheet))
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/dev/mailbox", get(ops::mailbox_html))
        .route("/dev/mailbox.json", get(ops::mailbox_json))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::protect))
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

/// How often expired rows are swept. Every replica sweeps; the deletes are idempotent.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
/// How long expired sessions and tokens are kept before they are deleted.
const RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

async fn sweep_periodically(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        let longest = crate::flows::limits::longest_window_ms();
        match state.store.sweep(now, longest, RETENTION_MS).await {
            Ok(swept) => tracing::debug!(
                counters = swept.counters,
                sessions = swept.sessions,
                tokens = swept.tokens,
                "swept expired rows"
            ),
            Err(error) => tracing::warn!(%error, "sweeping expired rows failed"),
        }
    }
}
