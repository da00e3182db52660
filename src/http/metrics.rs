//! Prometheus metrics for `/metrics`: one registry holding the HTTP face's own metrics (requests
//! by route and status, CSRF refusals, password-hash queue depth) and those of the auth domain
//! and the config runtime, which each layer defines and updates itself.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::auth::AuthMetrics;
use crate::runtime::ConfigMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

/// The server's metrics. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    csrf_rejected: Counter,
    hash_queue: Gauge,
    /// Config reloads, updated by the runtime's follow loop.
    pub config: ConfigMetrics,
}

impl Metrics {
    /// Registers every metric, `auth`'s included.
    pub fn new(auth: &AuthMetrics) -> Self {
        let mut registry = Registry::with_prefix("vestibule");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        auth.register(&mut registry);
        let csrf_rejected = Counter::default();
        registry.register(
            "csrf_rejected",
            "Requests refused by the CSRF check",
            csrf_rejected.clone(),
        );
        let config = ConfigMetrics::default();
        config.register(&mut registry);
        let hash_queue = Gauge::default();
        registry.register(
            "password_hash_queue",
            "Password hashes running or waiting",
            hash_queue.clone(),
        );
        Self {
            registry,
            requests,
            csrf_rejected,
            hash_queue,
            config,
        }
    }

    /// Counts one request.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.requests
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
    }

    /// Counts one CSRF refusal.
    pub fn csrf_rejected(&self) {
        self.csrf_rejected.inc();
    }

    /// Sets the password-hash queue depth.
    pub fn hash_queue(&self, depth: usize) {
        self.hash_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
