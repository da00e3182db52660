//! Watches on regions the controller's own watches cannot see: regions in a remote cluster, and
//! regions in another namespace of this cluster (owner references cannot cross namespaces, so
//! `owns` does not map them back).
//!
//! One watch set per cluster and namespace, shared by every Vestibule with a region there (the
//! remote credential only needs rights in that namespace), started when the first such region is
//! applied and stopped when the last one goes. A set watches each kind a region is made of, by
//! metadata only and by the operator's label, and wakes the Vestibules whose instance label an
//! event carries. Each set runs on its own task with the watcher's backoff: a cluster that
//! cannot be reached retries alone and never holds up the others; the periodic resync stays
//! the fallback while a watch cannot be held.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::stream::{BoxStream, SelectAll};
use futures::{Stream, StreamExt};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::resources::Vestibule;

/// Where one watch set looks: a cluster (`local`, or the kubeconfig Secret it is reached
/// through) and a namespace there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WatchTarget {
    /// Which cluster: `local`, or `namespace/secret/key#digest` of its kubeconfig.
    pub cluster: String,
    /// The namespace the regions live in.
    pub namespace: String,
}

/// What one event in a watched region means for the Vestibules there.
#[derive(Debug)]
enum Signal {
    /// An object of this Vestibule instance changed or was deleted.
    Changed(String),
    /// A watch listed again after losing its place: deletions may have been missed.
    Relisted,
}

struct WatchSet {
    users: Arc<Mutex<HashSet<ObjectRef<Vestibule>>>>,
    task: tokio::task::JoinHandle<()>,
}

/// A controller's scope (one namespace, or all) and the channel that wakes it.
type Waker = (Option<String>, mpsc::UnboundedSender<ObjectRef<Vestibule>>);

/// Where the wake-ups go: one channel per controller scope.
#[derive(Default)]
struct Triggers {
    senders: Mutex<Vec<Waker>>,
}

impl Triggers {
    /// Whether any controller listens: without one, a watch would wake nobody.
    fn listened(&self) -> bool {
        self.senders.lock().is_ok_and(|s| !s.is_empty())
    }

    fn send(&self, vestibule: &ObjectRef<Vestibule>) {
        let Ok(senders) = self.senders.lock() else {
            return;
        };
        let namespace = vestibule.namespace.as_deref().unwrap_or("default");
        for (scope, sender) in senders.iter() {
            if scope.as_deref().is_none_or(|s| s == namespace) {
                // A closed channel means its controller stopped; nothing to wake.
                let _ = sender.unbounded_send(vestibule.clone());
            }
        }
    }
}

/// The watch sets, and the Vestibules each one serves.
#[derive(Default)]
pub struct RegionWatches {
    sets: Mutex<BTreeMap<WatchTarget, WatchSet>>,
    triggers: Arc<Triggers>,
}

impl RegionWatches {
    /// A stream of Vestibules to reconcile because something in one of their watched regions
    /// changed, for the controller of `scope` (one namespace, or all).
    pub fn triggers(
        &self,
        scope: Option<String>,
    ) -> impl Stream<Item = ObjectRef<Vestibule>> + use<> {
        let (sender, receiver) = mpsc::unbounded();
        if let Ok(mut senders) = self.triggers.senders.lock() {
            senders.push((scope, sender));
        }
        receiver
    }

    /// Makes `targets` exactly the regions watched for `vestibule`: starts the sets it is the
    /// first user of, and stops those it was the last user of.
    pub fn track(&self, vestibule: &Vestibule, targets: Vec<(WatchTarget, Client)>) {
        let user = ObjectRef::from_obj(vestibule);
        let Ok(mut sets) = self.sets.lock() else {
            return;
        };
        let targets = if self.triggers.listened() {
            targets
        } else {
            Vec::new()
        };
        let wanted: BTreeSet<WatchTarget> = targets.iter().map(|(t, _)| t.clone()).collect();
        for (target, client) in targets {
            let set = sets.entry(target.clone()).or_insert_with(|| {
                tracing::info!(cluster = %target.cluster, namespace = %target.namespace, "watching region objects");
                start(&target, client, self.triggers.clone())
            });
            if let Ok(mut users) = set.users.lock() {
                users.insert(user.clone());
            }
        }
        sets.retain(|target, set| {
            if wanted.contains(target) {
                return true;
            }
            let empty = match set.users.lock() {
                Ok(mut users) => {
                    users.remove(&user);
                    users.is_empty()
                }
                Err(_) => true,
            };
            if empty {
                tracing::info!(cluster = %target.cluster, namespace = %target.namespace, "no region left: watch stopped");
                set.task.abort();
            }
            !empty
        });
    }

    /// Stops watching on behalf of `vestibule` (it is being deleted).
    pub fn forget(&self, vestibule: &Vestibule) {
        self.track(vestibule, Vec::new());
    }

    /// The targets being watched, for tests and metrics.
    pub fn watched(&self) -> Vec<WatchTarget> {
        self.sets
            .lock()
            .map(|sets| sets.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for RegionWatches {
    fn drop(&mut self) {
        if let Ok(sets) = self.sets.lock() {
            for set in sets.values() {
                set.task.abort();
            }
        }
    }
}

/// The watch of one kind in `namespace`, by metadata and label, as signals.
fn signals<K>(
    client: &Client,
    namespace: &str,
) -> BoxStream<'static, Result<Signal, watcher::Error>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    // `PartialObjectMeta` makes the requests metadata-only.
    let api: Api<PartialObjectMeta<K>> = Api::namespaced(client.clone(), namespace);
    let config = watcher::Config::default().labels(crate::render::MANAGED_SELECTOR);
    let mut listed_once = false;
    watcher::watcher(api, config)
        .default_backoff()
        .filter_map(move |event| {
            let signal = match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) => o
                    .labels()
                    .get(crate::render::INSTANCE_LABEL)
                    .cloned()
                    .map(|instance| Ok(Signal::Changed(instance))),
                Ok(watcher::Event::InitDone) => {
                    // The first list is what the apply just wrote; a later one follows a
                    // lost watch, during which anything may have happened.
                    let again = std::mem::replace(&mut listed_once, true);
                    again.then_some(Ok(Signal::Relisted))
                }
                Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => None,
                Err(e) => Some(Err(e)),
            };
            std::future::ready(signal)
        })
        .boxed()
}

/// Starts the watch set of `target` on its own task.
fn start(target: &WatchTarget, client: Client, triggers: Arc<Triggers>) -> WatchSet {
    let users: Arc<Mutex<HashSet<ObjectRef<Vestibule>>>> = Arc::default();
    let mut streams: SelectAll<BoxStream<'static, Result<Signal, watcher::Error>>> =
        SelectAll::new();
    macro_rules! watch {
        ($kind:ty) => {
            streams.push(signals::<$kind>(&client, &target.namespace));
        };
    }
    super::kinds::region_kinds!(watch);
    let (cluster, namespace) = (target.cluster.clone(), target.namespace.clone());
    let woken = users.clone();
    let task = tokio::spawn(async move {
        while let Some(signal) = streams.next().await {
            let users: Vec<ObjectRef<Vestibule>> = match woken.lock() {
                Ok(users) => users.iter().cloned().collect(),
                Err(_) => return,
            };
            match signal {
                Ok(Signal::Changed(instance)) => users
                    .iter()
                    .filter(|u| u.name == instance)
                    .for_each(|u| triggers.send(u)),
                Ok(Signal::Relisted) => users.iter().for_each(|u| triggers.send(u)),
                Err(e) => {
                    // The watcher backs off and retries; the resync covers the gap.
                    tracing::warn!(%cluster, %namespace, error = %e, "region watch failed; retrying");
                }
            }
        }
    });
    WatchSet { users, task }
}
