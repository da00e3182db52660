//! The Kubernetes operator: reconciles each `Vestibule` (and everything that references it or
//! that it references) into running auth servers, in the style of kube-rs' controller-rs.
//!
//! The reconcile loop only fetches inputs, calls `compile` and `render`, applies the result with
//! server-side apply under one field manager, and writes status through the status subresource.

pub mod children;
pub mod client_secrets;
pub mod clusters;
pub mod dependencies;
pub mod inputs;
pub mod keys;
pub mod kinds;
pub mod lease;
pub mod memory;
pub mod metrics;
pub mod reconcile;
pub mod region_watches;
pub mod run;
pub mod signing;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};

/// Field manager for every object the operator applies.
pub const FIELD_MANAGER: &str = "vestibule-operator";
/// Field manager for status writes.
pub const STATUS_MANAGER: &str = "vestibule-operator-status";
/// Finalizer that lets the operator remove regional objects before a Vestibule goes away.
pub const FINALIZER: &str = "vestibule.dev/cleanup";
/// Periodic resync that corrects drift even without events.
pub const RESYNC: Duration = Duration::from_secs(300);
/// How soon a Vestibule is looked at again while a region waits for its first ready server
/// (remote clusters' Deployments are not watched).
pub const PROGRESS_CHECK: Duration = Duration::from_secs(15);

/// What reconciles share; nothing global.
pub struct Context {
    /// Client of the operator's own cluster.
    pub client: Client,
    /// Auth server image rendered into Deployments.
    pub image: String,
    /// Clients for remote regions.
    pub clusters: clusters::Clusters,
    /// Metrics and per-object backoff.
    pub metrics: metrics::OperatorMetrics,
    /// Publishes Events when a Vestibule's status changes.
    pub recorder: Recorder,
    /// Which Secrets each Vestibule depends on.
    pub secrets: dependencies::SecretIndex,
    /// The watched input kinds, one set per controller scope; empty: reconciles list them.
    pub inputs: Vec<inputs::InputStores>,
    /// Watches on regions in remote clusters and other namespaces.
    pub region_watches: region_watches::RegionWatches,
}

impl Context {
    /// A context for the operator's cluster; `instance` names this replica in Events.
    pub fn new(
        client: Client,
        image: String,
        clusters: clusters::Clusters,
        instance: Option<String>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance,
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            image,
            clusters,
            metrics: Default::default(),
            secrets: Default::default(),
            inputs: Vec::new(),
            region_watches: Default::default(),
        }
    }

    /// Reconciles read their inputs from these stores once they are synced.
    #[must_use]
    pub fn with_inputs(mut self, inputs: Vec<inputs::InputStores>) -> Self {
        self.inputs = inputs;
        self
    }

    /// The synced stores that serve `namespace`, if any.
    pub fn synced_inputs(&self, namespace: &str) -> Option<&inputs::InputStores> {
        self.inputs
            .iter()
            .find(|stores| stores.covers(namespace))
            .filter(|stores| stores.synced())
    }
}

/// Why a reconcile failed. Variant names are the `error` label of the metrics.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer helper failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// A referenced Secret value is not usable.
    #[error("secret {0}")]
    Secret(String),
    /// The signing keys cannot be planned (a damaged key Secret, an unsupported algorithm).
    #[error("signing keys: {0}")]
    Keys(String),
    /// A region's cluster cannot be reached.
    #[error("region {0}: {1}")]
    Region(String, String),
}

impl Error {
    /// Short name for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
            Error::Secret(_) => "secret",
            Error::Region(..) => "region",
            Error::Keys(_) => "keys",
        }
    }
}

/// Requeue timing after an error: per-object exponential backoff (5 s doubling to 5 min).
pub fn error_policy(
    vestibule: Arc<crate::resources::Vestibule>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    use kube::ResourceExt;
    let object = format!(
        "{}/{}",
        vestibule.namespace().unwrap_or_default(),
        vestibule.name_any()
    );
    let wait = ctx.metrics.backoff(&object);
    tracing::warn!(%object, error = %error, kind = error.label(), retry_in_s = wait.as_secs(), "reconcile failed");
    Action::requeue(wait)
}
