//! `vestibule operator`: the controller, its watches, and a small health/metrics endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use super::{Context, error_policy, reconcile::reconcile};
use crate::config::bundle::namespace_of;
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme, Vestibule};

/// Options of `vestibule operator`.
#[derive(Clone, Debug)]
pub struct OperatorOptions {
    /// Auth server image for the Deployments.
    pub image: String,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub metrics: SocketAddr,
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
}

/// Vestibules in `namespace` for which `matches` holds: how a change to a Theme, MfaPolicy or
/// Secret finds the Vestibules that depend on it.
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

/// Runs the controllers until SIGTERM.
pub async fn run(options: OperatorOptions) -> Result<(), RunError> {
    let client = Client::try_default().await?;
    let ctx = Arc::new(Context {
        client: client.clone(),
        image: options.image,
        clusters: super::clusters::Clusters::default(),
        metrics: Default::default(),
    });
    tokio::spawn(serve_health(options.metrics, ctx.clone()));
    let owned = watcher::Config::default().labels("app.kubernetes.io/managed-by=vestibule");
    let controller = Controller::new(
        Api::<Vestibule>::all(client.clone()),
        watcher::Config::default(),
    );
    let store = controller.store();
    let by_ref = |namespace: Option<String>, name: &str| {
        Some(ObjectRef::<Vestibule>::new(name).within(namespace.as_deref().unwrap_or("default")))
    };
    let (themes, policies, secrets) = (store.clone(), store.clone(), store);
    controller
        .owns(Api::<ConfigMap>::all(client.clone()), owned.clone())
        .owns(Api::<Deployment>::all(client.clone()), owned)
        .watches(
            Api::<OAuthProvider>::all(client.clone()),
            watcher::Config::default(),
            move |p| by_ref(p.namespace(), &p.spec.vestibule_ref.name),
        )
        .watches(
            Api::<Organization>::all(client.clone()),
            watcher::Config::default(),
            move |o| by_ref(o.namespace(), &o.spec.vestibule_ref.name),
        )
        .watches(
            Api::<Application>::all(client.clone()),
            watcher::Config::default(),
            move |a| by_ref(a.namespace(), &a.spec.vestibule_ref.name),
        )
        // A Theme anywhere in a Vestibule's namespace may sit in its `extends` chain: re-check
        // them all (compile is cheap; a no-op reconcile writes nothing).
        .watches(
            Api::<Theme>::all(client.clone()),
            watcher::Config::default(),
            move |t| dependents(&themes, &namespace_of(&t), |_| true),
        )
        .watches(
            Api::<MfaPolicy>::all(client.clone()),
            watcher::Config::default(),
            move |m| dependents(&policies, &namespace_of(&m), |_| true),
        )
        .watches(
            Api::<Secret>::all(client.clone()),
            watcher::Config::default(),
            move |s| {
                let name = s.name_any();
                dependents(&secrets, &namespace_of(&s), |v| {
                    crate::config::Resources {
                        vestibules: vec![v.clone()],
                        ..Default::default()
                    }
                    .bundle_for(v)
                    .referenced_secrets()
                    .contains(&name)
                })
            },
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
    Ok(())
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
