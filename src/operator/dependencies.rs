//! Which Secrets each Vestibule depends on, recorded at its last reconcile, so that a change to
//! one Secret wakes exactly the Vestibules that read it (not every Vestibule in the namespace:
//! unrelated Secrets, such as Helm's release records, change all the time).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::resources::Vestibule;

/// Secret names per Vestibule, as of each Vestibule's last reconcile.
#[derive(Debug, Default)]
pub struct SecretIndex {
    by_vestibule: RwLock<HashMap<ObjectRef<Vestibule>, BTreeSet<String>>>,
}

impl SecretIndex {
    /// Records the Secrets (in the Vestibule's namespace) its last reconcile depended on.
    pub fn record(&self, vestibule: &Vestibule, names: BTreeSet<String>) {
        let mut map = self.by_vestibule.write().unwrap_or_else(|e| e.into_inner());
        map.insert(ObjectRef::from_obj(vestibule), names);
    }

    /// Forgets a Vestibule that is gone.
    pub fn forget(&self, vestibule: &Vestibule) {
        let mut map = self.by_vestibule.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&ObjectRef::from_obj(vestibule));
    }

    /// The Vestibules a change to this Secret concerns: those that read it, and the one whose
    /// generated Secret it is (a hand edit is drift to correct). Only names and labels are
    /// needed, so the operator watches Secrets' metadata, never their values.
    pub fn dependents(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<ObjectRef<Vestibule>> {
        let generated_for = (labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str)
            == Some(crate::render::MANAGER))
        .then(|| labels.get("app.kubernetes.io/instance"))
        .flatten();
        let map = self.by_vestibule.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = map
            .iter()
            .filter(|(vestibule, names)| {
                let reads =
                    vestibule.namespace.as_deref() == Some(namespace) && names.contains(name);
                reads || generated_for == Some(&vestibule.name)
            })
            .map(|(vestibule, _)| vestibule.clone())
            .collect();
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        out
    }
}

/// What a Secret's metadata says about the Vestibules it concerns.
pub fn secret_dependents(
    index: &SecretIndex,
    secret: &impl ResourceExt,
) -> Vec<ObjectRef<Vestibule>> {
    let namespace = secret.namespace().unwrap_or_default();
    index.dependents(&namespace, &secret.name_any(), secret.labels())
}

/// Everything in `namespace` a Vestibule's reconcile reads or regenerates.
pub fn secrets_of(
    vestibule: &Vestibule,
    referenced: BTreeSet<String>,
    application_secrets: impl IntoIterator<Item = String>,
) -> BTreeSet<String> {
    let mut names = referenced;
    names.insert(super::signing::secret_name(vestibule));
    names.extend(application_secrets);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vestibule(namespace: &str, name: &str) -> Vestibule {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "vestibule.dev/v1alpha1", "kind": "Vestibule",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"issuer": "https://auth.example.com", "regions": [{"name": "local"}]},
        }))
        .expect("vestibule")
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_secret_wakes_only_the_vestibules_that_read_it() {
        let index = SecretIndex::default();
        let auth = vestibule("auth", "main");
        let other = vestibule("auth", "staging");
        let elsewhere = vestibule("team-b", "main");
        index.record(&auth, names(&["smtp", "google"]));
        index.record(&other, names(&["db"]));
        index.record(&elsewhere, names(&["smtp"]));
        let none = BTreeMap::new();
        let woken = index.dependents("auth", "smtp", &none);
        assert_eq!(woken, vec![ObjectRef::from_obj(&auth)]);
        assert!(
            index
                .dependents("auth", "sh.helm.release.v1.x.v1", &none)
                .is_empty()
        );
        index.forget(&auth);
        assert!(index.dependents("auth", "smtp", &none).is_empty());
    }

    #[test]
    fn an_edited_generated_secret_wakes_its_vestibule_in_any_namespace() {
        let index = SecretIndex::default();
        let auth = vestibule("auth", "main");
        index.record(&auth, names(&["smtp"]));
        let labels: BTreeMap<String, String> = [
            ("app.kubernetes.io/managed-by", "vestibule"),
            ("app.kubernetes.io/instance", "main"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let woken = index.dependents("auth-eu", "main-secrets", &labels);
        assert_eq!(woken, vec![ObjectRef::from_obj(&auth)]);
    }

    #[test]
    fn the_key_secret_and_application_secrets_are_dependencies() {
        let auth = vestibule("auth", "main");
        let all = secrets_of(&auth, names(&["smtp"]), ["web-client".to_owned()]);
        assert_eq!(all, names(&["smtp", "main-signing-keys", "web-client"]));
    }
}
