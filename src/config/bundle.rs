//! Bundles: one Vestibule with the resources it references and that reference it.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::diagnostic::{Diagnostic, ResourceId};
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme, Vestibule};

/// Namespace assumed for a resource whose manifest names none (as `kubectl apply` does).
pub const DEFAULT_NAMESPACE: &str = "default";

/// The keys a Secret holds. Values are resolved separately, never by `compile`.
pub type SecretKeys = BTreeSet<String>;

/// The input of `compile`: one Vestibule and everything it depends on, all in its namespace.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The Vestibule being compiled.
    pub vestibule: Vestibule,
    /// `OAuthProvider`s whose `vestibuleRef` names it.
    pub providers: Vec<OAuthProvider>,
    /// `Organization`s whose `vestibuleRef` names it.
    pub organizations: Vec<Organization>,
    /// `Application`s whose `vestibuleRef` names it.
    pub applications: Vec<Application>,
    /// Themes referenced by the Vestibule or its organizations, with their `extends` chains.
    pub themes: Vec<Theme>,
    /// MFA policies referenced by the Vestibule or its organizations.
    pub mfa_policies: Vec<MfaPolicy>,
    /// Secrets referenced by any of the above: name → keys present.
    pub secrets: BTreeMap<String, SecretKeys>,
}

/// Every resource known to the caller (from files or from the API server), in any namespaces.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// Vestibules.
    pub vestibules: Vec<Vestibule>,
    /// OAuth providers.
    pub providers: Vec<OAuthProvider>,
    /// Organizations.
    pub organizations: Vec<Organization>,
    /// Applications.
    pub applications: Vec<Application>,
    /// Themes.
    pub themes: Vec<Theme>,
    /// MFA policies.
    pub mfa_policies: Vec<MfaPolicy>,
    /// Secrets: (namespace, name) → keys present.
    pub secrets: BTreeMap<(String, String), SecretKeys>,
}

/// Namespace of a resource, defaulted like `kubectl` does.
pub fn namespace_of<K: ResourceExt>(resource: &K) -> String {
    resource
        .namespace()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// The id of a typed resource, for diagnostics.
pub fn id_of<K>(resource: &K) -> ResourceId
where
    K: ResourceExt + kube::Resource<DynamicType = ()>,
{
    ResourceId::new(&K::kind(&()), &namespace_of(resource), &resource.name_any())
}

impl Resources {
    /// One bundle per Vestibule (sorted by namespace and name), plus a diagnostic for each
    /// resource whose `vestibuleRef` names no known Vestibule.
    pub fn bundles(&self) -> (Vec<Bundle>, Vec<Diagnostic>) {
        let known: BTreeSet<(String, String)> = self
            .vestibules
            .iter()
            .map(|v| (namespace_of(v), v.name_any()))
            .collect();
        let mut diagnostics = Vec::new();
        let mut dangling = |id: ResourceId, target: &str| {
            if !known.contains(&(id.namespace.clone(), target.to_owned())) {
                diagnostics.push(Diagnostic::new(
                    &id,
                    "spec.vestibuleRef.name",
                    format!(
                        "Vestibule \"{target}\" not found in namespace \"{}\"",
                        id.namespace
                    ),
                ));
            }
        };
        for p in &self.providers {
            dangling(id_of(p), &p.spec.vestibule_ref.name);
        }
        for o in &self.organizations {
            dangling(id_of(o), &o.spec.vestibule_ref.name);
        }
        for a in &self.applications {
            dangling(id_of(a), &a.spec.vestibule_ref.name);
        }

        let mut vestibules: Vec<&Vestibule> = self.vestibules.iter().collect();
        vestibules.sort_by_key(|v| (namespace_of(*v), v.name_any()));
        let bundles = vestibules.into_iter().map(|v| self.bundle_for(v)).collect();
        diagnostics.sort();
        (bundles, diagnostics)
    }

    /// The bundle of one Vestibule.
    pub fn bundle_for(&self, vestibule: &Vestibule) -> Bundle {
        let namespace = namespace_of(vestibule);
        let name = vestibule.name_any();
        let belongs = |ns: String, target: &str| ns == namespace && target == name;

        let providers: Vec<OAuthProvider> = self
            .providers
            .iter()
            .filter(|p| belongs(namespace_of(*p), &p.spec.vestibule_ref.name))
            .cloned()
            .collect();
        let organizations: Vec<Organization> = self
            .organizations
            .iter()
            .filter(|o| belongs(namespace_of(*o), &o.spec.vestibule_ref.name))
            .cloned()
            .collect();
        let applications: Vec<Application> = self
            .applications
            .iter()
            .filter(|a| belongs(namespace_of(*a), &a.spec.vestibule_ref.name))
            .cloned()
            .collect();

        // Themes: the referenced ones and everything up their `extends` chains.
        let in_namespace = |ns: String| ns == namespace;
        let mut wanted_themes: Vec<String> = vestibule
            .spec
            .theme_ref
            .iter()
            .chain(
                organizations
                    .iter()
                    .filter_map(|o| o.spec.theme_ref.as_ref()),
            )
            .map(|r| r.name.clone())
            .collect();
        let mut theme_names = BTreeSet::new();
        while let Some(theme_name) = wanted_themes.pop() {
            if !theme_names.insert(theme_name.clone()) {
                continue;
            }
            let parent = self
                .themes
                .iter()
                .find(|t| in_namespace(namespace_of(*t)) && t.name_any() == theme_name)
                .and_then(|t| t.spec.extends.as_ref());
            if let Some(parent) = parent {
                wanted_themes.push(parent.name.clone());
            }
        }
        let themes = self
            .themes
            .iter()
            .filter(|t| in_namespace(namespace_of(*t)) && theme_names.contains(&t.name_any()))
            .cloned()
            .collect();

        let policy_names: BTreeSet<&str> = vestibule
            .spec
            .mfa_policy_ref
            .iter()
            .chain(
                organizations
                    .iter()
                    .filter_map(|o| o.spec.mfa_policy_ref.as_ref()),
            )
            .map(|r| r.name.as_str())
            .collect();
        let mfa_policies = self
            .mfa_policies
            .iter()
            .filter(|m| {
                in_namespace(namespace_of(*m)) && policy_names.contains(m.name_any().as_str())
            })
            .cloned()
            .collect();

        let mut bundle = Bundle {
            vestibule: vestibule.clone(),
            providers,
            organizations,
            applications,
            themes,
            mfa_policies,
            secrets: BTreeMap::new(),
        };
        for secret_name in bundle.referenced_secrets() {
            if let Some(keys) = self.secrets.get(&(namespace.clone(), secret_name.clone())) {
                bundle.secrets.insert(secret_name, keys.clone());
            }
        }
        bundle
    }
}

impl Bundle {
    /// Names of every Secret the bundle's resources reference.
    pub fn referenced_secrets(&self) -> BTreeSet<String> {
        let spec = &self.vestibule.spec;
        let mut names = BTreeSet::new();
        for region in &spec.regions {
            if let Some(r) = &region.kubeconfig_secret_ref {
                names.insert(r.name.clone());
            }
        }
        if let Some(pg) = &spec.database.postgres {
            names.insert(pg.url_secret_ref.name.clone());
        }
        if let Some(creds) = spec
            .email
            .as_ref()
            .and_then(|e| e.smtp.as_ref())
            .and_then(|s| s.credentials_secret_ref.as_ref())
        {
            names.insert(creds.name.clone());
        }
        for p in &self.providers {
            names.insert(p.spec.client_secret_ref.name.clone());
        }
        names
    }
}
