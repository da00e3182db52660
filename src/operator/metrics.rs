//! The operator's Prometheus metrics: reconciles by result, reconcile duration, API writes by
//! verb and kind, and region failures by region.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    verb: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionLabels {
    region: String,
}

/// Metrics plus the per-object failure counts that drive the backoff.
pub struct OperatorMetrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    writes: Family<WriteLabels, Counter>,
    region_errors: Family<RegionLabels, Counter>,
    input_reads: Family<SourceLabels, Counter>,
    finished: std::sync::atomic::AtomicU64,
    failures: Mutex<HashMap<String, u32>>,
}

impl Default for OperatorMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vestibule_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by result (ok, or the error kind)",
            reconciles.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            duration.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "api_writes",
            "Writes to the Kubernetes API by verb and kind",
            writes.clone(),
        );
        let region_errors = Family::<RegionLabels, Counter>::default();
        registry.register(
            "region_errors",
            "Regions that could not be applied, by region",
            region_errors.clone(),
        );
        let input_reads = Family::<SourceLabels, Counter>::default();
        registry.register(
            "input_reads",
            "Reconciles by where their inputs came from (cache: the watch stores; list: the API server)",
            input_reads.clone(),
        );
        Self {
            registry,
            reconciles,
            duration,
            writes,
            region_errors,
            input_reads,
            finished: Default::default(),
            failures: Mutex::new(HashMap::new()),
        }
    }
}

/// First retry after a failure; doubles per consecutive failure of the same object.
const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Longest wait between retries.
const BACKOFF_MAX: Duration = Duration::from_secs(300);

impl OperatorMetrics {
    /// Records a finished reconcile of `object` (`namespace/name`); a success resets its backoff.
    pub fn reconciled(&self, object: &str, result: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
        self.duration.observe(took.as_secs_f64());
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if result == "ok"
            && let Ok(mut failures) = self.failures.lock()
        {
            failures.remove(object);
        }
    }

    /// Reconciles finished so far, whatever their result.
    pub fn finished(&self) -> u64 {
        self.finished.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a failure of `object` and returns how long to wait before retrying it: 5 s, 10 s,
    /// 20 s, ... up to 5 minutes, per object (one broken Vestibule does not slow the others).
    pub fn backoff(&self, object: &str) -> Duration {
        let n = match self.failures.lock() {
            Ok(mut failures) => {
                let n = failures.entry(object.to_owned()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
    }

    /// Counts one API write.
    pub fn write(&self, verb: &str, kind: &str) {
        self.writes
            .get_or_create(&WriteLabels {
                verb: verb.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Counts where one reconcile read its inputs: `cache` or `list`.
    pub fn input_read(&self, source: &'static str) {
        self.input_reads
            .get_or_create(&SourceLabels { source })
            .inc();
    }

    /// Counts one region that could not be applied.
    pub fn region_error(&self, region: &str) {
        self.region_errors
            .get_or_create(&RegionLabels {
                region: region.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_object_and_resets_on_success() {
        let m = OperatorMetrics::default();
        let waits: Vec<u64> = (0..8).map(|_| m.backoff("ns/a").as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(m.backoff("ns/b").as_secs(), 5, "per object");
        m.reconciled("ns/a", "ok", Duration::from_millis(3));
        assert_eq!(m.backoff("ns/a").as_secs(), 5, "a success resets it");
        let text = m.render();
        assert!(
            text.contains("vestibule_operator_reconciles_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("vestibule_operator_reconcile_duration_seconds_count 1"));
    }
}
