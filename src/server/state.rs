//! The state every handler shares: storage, the live config, the hasher, metrics and the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::live::LiveConfig;
use super::metrics::Metrics;
use crate::email::Outbox;
use crate::password::PasswordHasher;
use crate::store::Store;

/// Milliseconds since the Unix epoch, with an offset tests can move forward to check expiry.
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, in Unix milliseconds.
    pub fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock forward (tests of timeouts and expiry).
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Users, sessions, tokens, counters.
    pub store: Store,
    /// The active config.
    pub live: Arc<LiveConfig>,
    /// Bounded-concurrency password hashing.
    pub hasher: PasswordHasher,
    /// Breached-password lookups (when the config turns them on).
    pub breach: crate::password::breach::BreachCheck,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The dev mailbox; `Some` only in `vestibule dev`, which also enables `/dev/mailbox`.
    pub outbox: Option<crate::email::Outbox>,
    /// The clock.
    pub clock: Clock,
    /// Rate limits and lockout. Only `vestibule dev --no-rate-limits` (for load tests on one
    /// machine, where every request comes from one address) turns them off.
    pub rate_limits: bool,
}

impl AppState {
    /// State for a server; `outbox` only in dev.
    pub fn new(store: Store, live: Arc<LiveConfig>, outbox: Option<Outbox>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            live,
            // Each argon2id hash holds its memory for its whole run: one per core, and a queue
            // of 64 per core before answering 503 (SECURITY 8).
            hasher: PasswordHasher::new(cores, cores * 64),
            breach: Default::default(),
            metrics: Arc::new(Metrics::new()),
            outbox,
            clock: Clock::default(),
            rate_limits: true,
        }
    }
}
