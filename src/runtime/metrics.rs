//! Metrics of config reloads: how many candidates were applied or rejected, and whether the
//! newest one is being refused right now (alert on it: an older config is serving).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Config reload counters. Clones share the same counters.
#[derive(Clone, Default)]
pub struct ConfigMetrics {
    reloads: Family<ResultLabels, Counter>,
    rejected: Gauge,
}

impl ConfigMetrics {
    /// Adds these metrics to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "config_reloads",
            "Config candidates by result (applied, rejected)",
            self.reloads.clone(),
        );
        registry.register(
            "config_rejected",
            "1 while the newest config candidate was rejected and an older one is serving",
            self.rejected.clone(),
        );
    }

    /// Records a config candidate's fate.
    pub fn config_reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
        self.rejected.set(i64::from(!applied));
    }
}
