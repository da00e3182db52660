//! The state every handler shares: the auth services, the live config, metrics and (in `dev`)
//! the mailbox.

use std::sync::Arc;

use super::metrics::Metrics;
use crate::auth::Services;
use crate::email::Outbox;
use crate::runtime::LiveConfig;
use crate::store::Store;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The auth domain's services (store, hasher, clock, limits).
    pub auth: Services,
    /// The active config.
    pub live: Arc<LiveConfig>,
    /// Prometheus metrics of every layer.
    pub metrics: Arc<Metrics>,
    /// The dev mailbox; `Some` only in `vestibule dev`, which also enables `/dev/mailbox`.
    pub outbox: Option<Outbox>,
}

impl AppState {
    /// State for a server; `outbox` only in dev.
    pub fn new(store: Store, live: Arc<LiveConfig>, outbox: Option<Outbox>) -> Self {
        let auth = Services::new(store);
        let metrics = Arc::new(Metrics::new(&auth.metrics));
        Self {
            auth,
            live,
            metrics,
            outbox,
        }
    }
}
