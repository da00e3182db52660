//! Prometheus metrics for `/metrics`: requests by route and status, sign-in results, emails,
//! CSRF refusals, password-hash queue depth and config reloads.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

/// The server's metrics. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    sign_ins: Family<ResultLabels, Counter>,
    emails: Family<ResultLabels, Counter>,
    breach_checks: Family<ResultLabels, Counter>,
    csrf_rejected: Counter,
    config_reloads: Family<ResultLabels, Counter>,
    config_rejected: Gauge,
    hash_queue: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vestibule");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let sign_ins = Family::<ResultLabels, Counter>::default();
        registry.register("sign_ins", "Sign-in attempts by result", sign_ins.clone());
        let emails = Family::<ResultLabels, Counter>::default();
        registry.register("emails", "Emails by result (sent, failed)", emails.clone());
        let breach_checks = Family::<ResultLabels, Counter>::default();
        registry.register(
            "breach_checks",
            "Breached-password checks by result (clean, breached, skipped: the range API failed)",
            breach_checks.clone(),
        );
        let csrf_rejected = Counter::default();
        registry.register(
            "csrf_rejected",
            "Requests refused by the CSRF check",
            csrf_rejected.clone(),
        );
        let config_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Config candidates by result (applied, rejected)",
            config_reloads.clone(),
        );
        let config_rejected = Gauge::default();
        registry.register(
            "config_rejected",
            "1 while the newest config candidate was rejected and an older one is serving",
            config_rejected.clone(),
        );
        let hash_queue = Gauge::default();
        registry.register(
            "password_hash_queue",
            "Password hashes running or waiting",
            hash_queue.clone(),
        );
        Self {
            registry,
            requests,
            sign_ins,
            emails,
            breach_checks,
            csrf_rejected,
            config_reloads,
            config_rejected,
            hash_queue,
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

    /// Counts one sign-in attempt (`success`, `invalid`, `locked`, `unverified`, `busy`).
    pub fn sign_in(&self, result: &str) {
        self.sign_ins
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one email (`sent` or `failed`).
    pub fn email(&self, result: &str) {
        self.emails
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one breached-password check (`clean`, `breached`, `skipped`).
    pub fn breach_check(&self, result: &str) {
        self.breach_checks
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one CSRF refusal.
    pub fn csrf_rejected(&self) {
        self.csrf_rejected.inc();
    }

    /// Records a config candidate's fate.
    pub fn config_reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.config_reloads
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
        self.config_rejected.set(i64::from(!applied));
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
