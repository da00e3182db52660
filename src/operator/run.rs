//! `vestibule operator`: the controller, its watches, and a small health/metrics endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use super::{Context, error_policy, inputs, reconcile::reconcile};
use crate::config::bundle::namespace_of;
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme, Vestibule};

/// Options of `vestibule operator`.
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    /// Auth server image for the Deployments.
    pub image: String,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub metrics: SocketAddr,
    /// Namespaces to watch; empty means every namespace.
    pub namespaces: Vec<String>,
    /// This replica's name (the pod name), for the Lease and Events; default: the host name.
    pub identity: Option<String>,
    /// Where the leader-election Lease lives; default: the client's namespace.
    pub lease_namespace: Option<String>,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No usable kubeconfig or in-cluster config.
    #[error("kubernetes client: {0}")]
    Client(#[from] kube::Error),
    /// The health endpoint could not listen.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Leader election failed or leadership was lost.
    #[error("leader election: {0}")]
    Lease(#[from] super::lease::LeaseError),
}

/// Vestibules in `namespace` for which `matches` holds: how a change to a Theme or MfaPolicy
/// finds the Vestibules that depend on it.
fn dependents(
    store: &kube::runtime::reflector::Store<Vestibule>,
    namespace: &str,
    matches: impl Fn(&Vestibule) -> bool,
) -> Vec<ObjectRef<Vestibule>> {
    store
        .state()
        .iter()
        .filter(|v| namespace_of(v.as_ref()) == namespace && matches(v))
        .map(|v| ObjectRef::from_obj(v.as_ref()))
        .collect()
}

/// An `Api` over one namespace, or over all of them.
fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Name of the Lease the operator replicas elect a leader with.
pub const LEASE_NAME: &str = "vestibule-operator";

/// Runs the controllers until SIGTERM, on the replica that holds the Lease; the others wait.
pub async fn run(options: OperatorOptions) -> Result<(), RunError> {
    let client = Client::try_default().await?;
    let identity = options.identity.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME")
            .unwrap_or_else(|_| format!("vestibule-operator-{}", std::process::id()))
    });
    let scopes: Vec<Option<String>> = if options.namespaces.is_empty() {
        vec![None]
    } else {
        options.namespaces.iter().cloned().map(Some).collect()
    };
    // The input stores exist from the start; their watches begin with the controllers.
    let (stores, writers): (Vec<_>, Vec<_>) = scopes.iter().cloned().map(inputs::stores).unzip();
    let ctx = Arc::new(
        Context::new(
            client.clone(),
            options.image,
            super::clusters::Clusters::default(),
            Some(identity.clone()),
        )
        .with_inputs(stores),
    );
    // Health first: a follower waiting for the Lease is alive.
    tokio::spawn(serve_health(options.metrics, ctx.clone()));
    tokio::spawn(super::memory::trim_after_reconciles(ctx.clone()));
    let lease_namespace = options
        .lease_namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let settings = super::lease::LeaseSettings::new(LEASE_NAME, lease_namespace, identity);
    let mut leadership = tokio::select! {
        held = super::lease::acquire(client.clone(), settings) => held?,
        () = shutdown_signal() => return Ok(()),
    };
    // One controller per watched namespace; they share the context (metrics, clients, index).
    let controllers = futures::future::join_all(
        scopes
            .iter()
            .zip(writers)
            .map(|(scope, writers)| controller(&client, scope.as_deref(), writers, ctx.clone())),
    );
    let lost = tokio::select! {
        _ = controllers => None,
        lost = leadership.renew_until_lost() => Some(lost),
    };
    match lost {
        // Another replica may be leading already: stop at once; the pod restarts as a follower.
        Some(lost) => Err(RunError::Lease(lost)),
        None => {
            // Hand over now rather than make the successor wait out the lease.
            leadership.release().await;
            Ok(())
        }
    }
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The Vestibule controller over one namespace (or all), with every watch that can make a
/// Vestibule's desired state change.
async fn controller(
    client: &Client,
    scope: Option<&str>,
    writers: inputs::InputWriters,
    ctx: Arc<Context>,
) {
    let owned = watcher::Config::default().labels(crate::render::MANAGED_SELECTOR);
    let mut controller = Controller::new(
        scoped::<Vestibule>(client, scope),
        watcher::Config::default(),
    );
    let store = controller.store();
    let by_ref = |namespace: Option<String>, name: &str| {
        Some(ObjectRef::<Vestibule>::new(name).within(namespace.as_deref().unwrap_or("default")))
    };
    let (themes, policies, known) = (store.clone(), store.clone(), store);
    let index = ctx.clone();
    // Every kind a region is made of is watched, so a deleted or hand-edited child next to its
    // Vestibule is put back within seconds, not at the resync. Metadata only: the caches hold
    // names and versions, not Secret data, specs or 1 MiB ConfigMaps. Mapped by the instance
    // label rather than owner references, which retained volume claims do not carry; only to a
    // Vestibule in the object's namespace (regions elsewhere have their own watches).
    let by_instance = std::sync::Arc::new(move |object: &kube::core::ObjectMeta| {
        let instance = object.labels.as_ref()?.get(crate::render::INSTANCE_LABEL)?;
        by_ref(object.namespace.clone(), instance).filter(|v| known.get(v).is_some())
    });
    macro_rules! own {
        ($kind:ty) => {
            controller = controller.watches(
                scoped::<PartialObjectMeta<$kind>>(client, scope),
                owned.clone(),
                {
                    let by_instance = by_instance.clone();
                    move |o| by_instance(&o.metadata)
                },
            );
        };
    }
    super::kinds::region_kinds!(own);
    controller
        // The input kinds: each watch fills the store reconciles read instead of listing.
        .watches_stream(
            inputs::watch(scoped::<OAuthProvider>(client, scope), writers.providers),
            move |p| by_ref(p.namespace(), &p.spec.vestibule_ref.name),
        )
        .watches_stream(
            inputs::watch(scoped::<Organization>(client, scope), writers.organizations),
            move |o| by_ref(o.namespace(), &o.spec.vestibule_ref.name),
        )
        .watches_stream(
            inputs::watch(scoped::<Application>(client, scope), writers.applications),
            move |a| by_ref(a.namespace(), &a.spec.vestibule_ref.name),
        )
        // A Theme anywhere in a Vestibule's namespace may sit in its `extends` chain: re-check
        // them all (compile is cheap; a no-op reconcile writes nothing).
        .watches_stream(
            inputs::watch(scoped::<Theme>(client, scope), writers.themes),
            move |t| dependents(&themes, &namespace_of(&t), |_| true),
        )
        .watches_stream(
            inputs::watch(scoped::<MfaPolicy>(client, scope), writers.mfa_policies),
            move |m| dependents(&policies, &namespace_of(&m), |_| true),
        )
        // Regions the watches above cannot see (remote clusters, other namespaces) are watched
        // per cluster and namespace, started as their regions are applied.
        .reconcile_on(ctx.region_watches.triggers(scope.map(str::to_owned)))
        // Secrets by metadata only (kube makes `PartialObjectMeta` requests metadata-only): the
        // operator never receives values it does not use.
        .watches(
            scoped::<PartialObjectMeta<Secret>>(client, scope),
            watcher::Config::default(),
            move |s| super::dependencies::secret_dependents(&index.secrets, &s),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(vestibule = %object.name, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "reconcile error"),
            }
        })
        .await;
}

async fn serve_health(address: SocketAddr, ctx: Arc<Context>) -> Result<(), std::io::Error> {
    let router = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(|| async { "ok" }))
        .route(
            "/metrics",
            axum::routing::get(move || {
                let ctx = ctx.clone();
                async move { ctx.metrics.render() }
            }),
        );
    let listener = tokio::net::TcpListener::bind(address).await?;
    axum::serve(listener, router).await
}
