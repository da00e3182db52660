//! `render`: the Kubernetes objects one region of a Vestibule runs as. Pure: config, resource and
//! region in, objects out; no I/O, so the operator, `vestibule render` and golden tests agree.
//!
//! Every object carries `app.kubernetes.io/managed-by: vestibule`,
//! `app.kubernetes.io/instance: <vestibule>` and `vestibule.dev/region: <region>`, which is how
//! the operator finds (and cleans up) what it owns in clusters where owner references cannot
//! reach.

pub mod review;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, Secret, Service, ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
use serde_json::Value;

use crate::config::RuntimeConfig;
use crate::config::bundle::namespace_of;
use crate::resources::Vestibule;
use crate::resources::vestibule::Region;

pub use workload::{CONFIG_FILE, DATA_MOUNT};

/// Field manager and `managed-by` label value.
pub const MANAGER: &str = "vestibule";
/// Label naming the operator as what manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Label naming the Vestibule an object belongs to.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Label selector of everything the operator generates.
pub const MANAGED_SELECTOR: &str = "app.kubernetes.io/managed-by=vestibule";
/// Label naming the region of an object.
pub const REGION_LABEL: &str = "vestibule.dev/region";
/// Annotation with the config hash a ConfigMap holds.
pub const CONFIG_HASH_ANNOTATION: &str = "vestibule.dev/config-hash";
/// Port the auth server listens on.
pub const HTTP_PORT: i32 = 8080;

/// What `render` needs besides the config.
pub struct RenderInput<'a> {
    /// The Vestibule being rendered.
    pub vestibule: &'a Vestibule,
    /// Its compiled config.
    pub config: &'a RuntimeConfig,
    /// The region.
    pub region: &'a Region,
    /// Values for the region's Secret, by key (`config.secrets` says where each comes from).
    pub secret_values: &'a BTreeMap<String, String>,
    /// Container image of the auth server.
    pub image: &'a str,
}

/// Everything one region runs as, in apply order.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionObjects {
    /// The region's namespace, when it is not the Vestibule's own (created when missing).
    pub namespace: Option<Namespace>,
    /// The auth server's identity.
    pub service_account: ServiceAccount,
    /// Lets the server read only its own ConfigMap and Secret.
    pub role: Role,
    /// Binds the Role to the ServiceAccount.
    pub role_binding: RoleBinding,
    /// The declared organizations, in shards the main ConfigMap lists (applied before it).
    pub organization_shards: Vec<ConfigMap>,
    /// The runtime config (no secret values).
    pub config_map: ConfigMap,
    /// Where the auth servers report what the declared-Organization sync could not do (slug
    /// conflicts), for the operator to read back; the operator applies it empty.
    pub sync_status: ConfigMap,
    /// The secret values the region needs.
    pub secret: Secret,
    /// SQLite's volume, when the database is SQLite.
    pub volume_claim: Option<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    /// The auth servers.
    pub deployment: k8s_openapi::api::apps::v1::Deployment,
    /// Their Service.
    pub service: Service,
    /// Keeps one server up through voluntary disruptions, when there are several.
    pub disruption_budget: Option<PodDisruptionBudget>,
    /// Public entry, when the region asks for one.
    pub ingress: Option<Ingress>,
}

impl RegionObjects {
    /// The objects as JSON, in apply order.
    pub fn to_values(&self) -> Vec<Value> {
        fn value<T: serde::Serialize>(o: &T) -> Value {
            // k8s-openapi objects always serialize.
            serde_json::to_value(o).unwrap_or(Value::Null)
        }
        let mut out = Vec::new();
        out.extend(self.namespace.as_ref().map(value));
        out.push(value(&self.service_account));
        out.push(value(&self.role));
        out.push(value(&self.role_binding));
        out.extend(self.organization_shards.iter().map(value));
        out.push(value(&self.config_map));
        out.push(value(&self.sync_status));
        out.push(value(&self.secret));
        out.extend(self.volume_claim.as_ref().map(value));
        out.push(value(&self.deployment));
        out.push(value(&self.service));
        out.extend(self.disruption_budget.as_ref().map(value));
        out.extend(self.ingress.as_ref().map(value));
        out
    }
}

/// Names of a Vestibule's objects in a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// Namespace the objects go to.
    pub namespace: String,
    /// Deployment, Service, ServiceAccount, PDB, Ingress.
    pub base: String,
    /// ConfigMap.
    pub config_map: String,
    /// Secret.
    pub secret: String,
    /// The sync-status ConfigMap the servers write.
    pub sync_status: String,
    /// Role and RoleBinding.
    pub role: String,
    /// SQLite volume claim.
    pub data: String,
}

impl Names {
    /// Names for `vestibule` in `region`.
    pub fn new(vestibule: &Vestibule, region: &Region) -> Self {
        let base = vestibule.name_any();
        Self {
            namespace: region
                .namespace
                .clone()
                .unwrap_or_else(|| namespace_of(vestibule)),
            config_map: format!("{base}-config"),
            secret: format!("{base}-secrets"),
            sync_status: format!("{base}-sync-status"),
            role: format!("{base}-server"),
            data: format!("{base}-data"),
            base,
        }
    }
}

/// The labels of everything the operator generates for this Vestibule (regional objects, its
/// key Secret, Applications' client Secrets): how cleanup and the Secret watch find them.
pub fn instance_labels(vestibule: &Vestibule) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned()),
        (INSTANCE_LABEL.to_owned(), vestibule.name_any()),
    ])
}

/// The labels every object of this Vestibule in this region carries.
pub fn labels(vestibule: &Vestibule, region: &Region) -> BTreeMap<String, String> {
    let mut labels = instance_labels(vestibule);
    labels.extend([
        ("app.kubernetes.io/name".to_owned(), "vestibule".to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            "auth-server".to_owned(),
        ),
        (REGION_LABEL.to_owned(), region.name.clone()),
    ]);
    labels
}

/// Labels that select this region's pods.
pub fn selector(vestibule: &Vestibule, region: &Region) -> BTreeMap<String, String> {
    BTreeMap::from([
        (INSTANCE_LABEL.to_owned(), vestibule.name_any()),
        (REGION_LABEL.to_owned(), region.name.clone()),
    ])
}

/// An owner reference to the Vestibule, for objects in its own cluster and namespace (Kubernetes
/// forbids owners in another namespace; those objects are found by label instead).
fn owner(vestibule: &Vestibule, region: &Region, names: &Names) -> Option<Vec<OwnerReference>> {
    let same_place =
        region.kubeconfig_secret_ref.is_none() && names.namespace == namespace_of(vestibule);
    if !same_place {
        return None;
    }
    vestibule.controller_owner_ref(&()).map(|r| vec![r])
}

fn meta(input: &RenderInput<'_>, names: &Names, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(names.namespace.clone()),
        labels: Some(labels(input.vestibule, input.region)),
        owner_references: owner(input.vestibule, input.region, names),
        ..ObjectMeta::default()
    }
}

/// Renders one region.
pub fn render(input: &RenderInput<'_>) -> RegionObjects {
    let (vestibule, region) = (input.vestibule, input.region);
    let names = Names::new(vestibule, region);
    let namespace = (names.namespace != namespace_of(vestibule)
        || region.kubeconfig_secret_ref.is_some())
    .then(|| Namespace {
        metadata: ObjectMeta {
            name: Some(names.namespace.clone()),
            labels: Some(labels(vestibule, region)),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    });
    let service_account = ServiceAccount {
        metadata: meta(input, &names, &names.base),
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    };
    let (main_config, shards) = crate::config::shards::split(input.config, &names.config_map);
    let organization_shards: Vec<ConfigMap> = shards
        .into_iter()
        .map(|shard| ConfigMap {
            metadata: meta(input, &names, &shard.name),
            data: Some(BTreeMap::from([(
                crate::config::shards::SHARD_KEY.to_owned(),
                shard.text,
            )])),
            ..ConfigMap::default()
        })
        .collect();
    let mut readable = vec![names.config_map.clone()];
    readable.extend(
        organization_shards
            .iter()
            .filter_map(|c| c.metadata.name.clone()),
    );
    let role = Role {
        metadata: meta(input, &names, &names.role),
        rules: Some(vec![
            PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["configmaps".into()]),
                resource_names: Some(readable),
                verbs: vec!["get".into(), "watch".into()],
                ..PolicyRule::default()
            },
            // The one object the servers write: what their sync reports.
            PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["configmaps".into()]),
                resource_names: Some(vec![names.sync_status.clone()]),
                verbs: vec!["get".into(), "patch".into()],
                ..PolicyRule::default()
            },
            PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["secrets".into()]),
                resource_names: Some(vec![names.secret.clone()]),
                verbs: vec!["get".into(), "watch".into()],
                ..PolicyRule::default()
            },
        ]),
    };
    let role_binding = RoleBinding {
        metadata: meta(input, &names, &names.role),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: names.role.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: names.base.clone(),
            namespace: Some(names.namespace.clone()),
            ..Subject::default()
        }]),
    };
    let mut config_meta = meta(input, &names, &names.config_map);
    config_meta.annotations = Some(BTreeMap::from([(
        CONFIG_HASH_ANNOTATION.to_owned(),
        input.config.hash.clone(),
    )]));
    let config_map = ConfigMap {
        metadata: config_meta,
        data: Some(BTreeMap::from([(
            CONFIG_FILE.to_owned(),
            main_config.to_config_map_text(),
        )])),
        ..ConfigMap::default()
    };
    let sync_status = ConfigMap {
        metadata: meta(input, &names, &names.sync_status),
        ..ConfigMap::default()
    };
    let secret = Secret {
        metadata: meta(input, &names, &names.secret),
        type_: Some("Opaque".into()),
        data: Some(
            input
                .secret_values
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    };
    let service = Service {
        metadata: meta(input, &names, &names.base),
        spec: Some(ServiceSpec {
            selector: Some(selector(vestibule, region)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    let disruption_budget = (region.replicas > 1).then(|| PodDisruptionBudget {
        metadata: meta(input, &names, &names.base),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector(vestibule, region)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    });
    let ingress = region.ingress.as_ref().and_then(|ingress| {
        let host = region.hostname.clone()?;
        let mut ingress_meta = meta(input, &names, &names.base);
        if !ingress.annotations.is_empty() {
            ingress_meta.annotations = Some(ingress.annotations.clone());
        }
        Some(Ingress {
            metadata: ingress_meta,
            spec: Some(IngressSpec {
                ingress_class_name: ingress.class_name.clone(),
                tls: ingress.tls_secret_name.as_ref().map(|secret| {
                    vec![IngressTLS {
                        hosts: Some(vec![host.clone()]),
                        secret_name: Some(secret.clone()),
                    }]
                }),
                rules: Some(vec![IngressRule {
                    host: Some(host),
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some("/".into()),
                            path_type: "Prefix".into(),
                            backend: IngressBackend {
                                service: Some(IngressServiceBackend {
                                    name: names.base.clone(),
                                    port: Some(ServiceBackendPort {
                                        name: Some("http".into()),
                                        ..ServiceBackendPort::default()
                                    }),
                                }),
                                ..IngressBackend::default()
                            },
                        }],
                    }),
                }]),
                ..IngressSpec::default()
            }),
            ..Ingress::default()
        })
    });
    let (deployment, volume_claim) =
        workload::deployment(input, &names, meta(input, &names, &names.base));
    let volume_claim = volume_claim.map(|spec| k8s_openapi::api::core::v1::PersistentVolumeClaim {
        metadata: ObjectMeta {
            // Retained data has no owner, so Kubernetes does not collect it with the Vestibule.
            owner_references: match vestibule.spec.deletion_policy {
                crate::resources::vestibule::DeletionPolicy::Retain => None,
                crate::resources::vestibule::DeletionPolicy::Delete => {
                    owner(vestibule, region, &names)
                }
            },
            ..meta(input, &names, &names.data)
        },
        spec: Some(spec),
        ..Default::default()
    });
    RegionObjects {
        namespace,
        service_account,
        role,
        role_binding,
        organization_shards,
        config_map,
        sync_status,
        secret,
        volume_claim,
        deployment,
        service,
        disruption_budget,
        ingress,
    }
}
