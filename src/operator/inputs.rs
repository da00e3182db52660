//! The kinds a Vestibule's compile reads, cached by the controller's watches.
//!
//! Each input kind is watched once per controller scope; the watch feeds a reflector store and
//! triggers reconciles. Reconciles read the stores instead of listing the API server (a list of
//! 5,000 Organizations takes seconds on a real API server); until every store has seen its first
//! full list they fall back to listing, so a reconcile never compiles from a half-filled cache.

use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt};
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::config::bundle::namespace_of;
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme};

/// Read side: what reconciles look at.
#[derive(Clone)]
pub struct InputStores {
    /// Where these stores watch: one namespace, or all (`None`).
    pub scope: Option<String>,
    /// OAuth providers.
    pub providers: Store<OAuthProvider>,
    /// Organizations.
    pub organizations: Store<Organization>,
    /// Applications.
    pub applications: Store<Application>,
    /// Themes.
    pub themes: Store<Theme>,
    /// MFA policies.
    pub mfa_policies: Store<MfaPolicy>,
}

/// Write side: consumed by the watches that fill the stores.
pub struct InputWriters {
    /// OAuth providers.
    pub providers: Writer<OAuthProvider>,
    /// Organizations.
    pub organizations: Writer<Organization>,
    /// Applications.
    pub applications: Writer<Application>,
    /// Themes.
    pub themes: Writer<Theme>,
    /// MFA policies.
    pub mfa_policies: Writer<MfaPolicy>,
}

/// Empty stores for one scope, and their writers.
pub fn stores(scope: Option<String>) -> (InputStores, InputWriters) {
    let (providers, providers_w) = reflector::store();
    let (organizations, organizations_w) = reflector::store();
    let (applications, applications_w) = reflector::store();
    let (themes, themes_w) = reflector::store();
    let (mfa_policies, mfa_policies_w) = reflector::store();
    (
        InputStores {
            scope,
            providers,
            organizations,
            applications,
            themes,
            mfa_policies,
        },
        InputWriters {
            providers: providers_w,
            organizations: organizations_w,
            applications: applications_w,
            themes: themes_w,
            mfa_policies: mfa_policies_w,
        },
    )
}

/// The watch of one input kind: fills `writer`'s store and yields every object that changed
/// (deleted ones included), for the controller to map to Vestibules. Managed fields are dropped
/// before caching: compile never reads them and they are most of an object's size.
pub fn watch<K>(
    api: Api<K>,
    writer: Writer<K>,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync,
    K: 'static,
{
    let watch = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object: &mut K| object.managed_fields_mut().clear());
    reflector::reflector(writer, watch)
        .touched_objects()
        .boxed()
}

impl InputStores {
    /// Whether these stores serve `namespace`.
    pub fn covers(&self, namespace: &str) -> bool {
        self.scope.as_deref().is_none_or(|scope| scope == namespace)
    }

    /// Whether every store has seen its first full list.
    pub fn synced(&self) -> bool {
        fn ready<K>(store: &Store<K>) -> bool
        where
            K: Resource + Clone + 'static,
            K::DynamicType: Eq + std::hash::Hash + Clone,
        {
            matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
        }
        ready(&self.providers)
            && ready(&self.organizations)
            && ready(&self.applications)
            && ready(&self.themes)
            && ready(&self.mfa_policies)
    }
}

/// The objects of `store` in `namespace`, ordered by name as a list from the API server is, so
/// compile sees the same input either way.
pub fn in_namespace<K>(store: &Store<K>, namespace: &str) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let mut objects: Vec<Arc<K>> = store.state_filter(|o| namespace_of(o) == namespace);
    objects.sort_by_key(|o| o.name_any());
    objects.into_iter().map(|o| o.as_ref().clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::watcher::Event;

    fn organization(namespace: &str, name: &str) -> Organization {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "vestibule.dev/v1alpha1",
            "kind": "Organization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"vestibuleRef": {"name": "shop"}, "slug": name, "displayName": name},
        }))
        .expect("organization")
    }

    #[test]
    fn stores_are_synced_only_after_every_first_list() {
        let (stores, mut writers) = stores(None);
        assert!(!stores.synced());
        writers.providers.apply_watcher_event(&Event::InitDone);
        writers.organizations.apply_watcher_event(&Event::InitDone);
        writers.applications.apply_watcher_event(&Event::InitDone);
        writers.themes.apply_watcher_event(&Event::InitDone);
        assert!(!stores.synced(), "MfaPolicies not listed yet");
        writers.mfa_policies.apply_watcher_event(&Event::InitDone);
        assert!(stores.synced());
    }

    #[test]
    fn objects_come_out_of_one_namespace_in_name_order() {
        let (stores, mut writers) = stores(None);
        for (ns, name) in [("auth", "zeta"), ("other", "alpha"), ("auth", "beta")] {
            writers
                .organizations
                .apply_watcher_event(&Event::Apply(organization(ns, name)));
        }
        let names: Vec<String> = in_namespace(&stores.organizations, "auth")
            .iter()
            .map(|o| o.name_any())
            .collect();
        assert_eq!(names, ["beta", "zeta"]);
        assert!(stores.covers("anything"));
        let (scoped, _) = super::stores(Some("auth".into()));
        assert!(scoped.covers("auth") && !scoped.covers("other"));
    }
}
