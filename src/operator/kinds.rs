//! The one list of kinds a region is made of (besides its Namespace): what the operator watches
//! for drift, and what it deletes when a region or the whole Vestibule goes. `render` produces
//! nothing else (a test checks), and pruning and applying work on the same objects.

/// Invokes `$m!(Kind)` for each namespaced kind a region is made of, in cleanup order: workloads
/// first, so nothing serves with half its config gone; identities last.
macro_rules! region_kinds {
    ($m:ident) => {
        $m!(k8s_openapi::api::networking::v1::Ingress);
        $m!(k8s_openapi::api::apps::v1::Deployment);
        $m!(k8s_openapi::api::policy::v1::PodDisruptionBudget);
        $m!(k8s_openapi::api::core::v1::Service);
        $m!(k8s_openapi::api::core::v1::ConfigMap);
        $m!(k8s_openapi::api::core::v1::Secret);
        $m!(k8s_openapi::api::core::v1::PersistentVolumeClaim);
        $m!(k8s_openapi::api::rbac::v1::RoleBinding);
        $m!(k8s_openapi::api::rbac::v1::Role);
        $m!(k8s_openapi::api::core::v1::ServiceAccount);
    };
}
pub(crate) use region_kinds;

/// The kinds of [`region_kinds!`] by name, in the same order.
pub fn names() -> Vec<String> {
    use kube::Resource;
    let mut names = Vec::new();
    macro_rules! name {
        ($kind:ty) => {
            names.push(<$kind as Resource>::kind(&()).into_owned());
        };
    }
    region_kinds!(name);
    names
}
