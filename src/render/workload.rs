//! The auth server Deployment (and SQLite's volume claim).
//!
//! The pod template holds only what needs a restart to change (image, pod settings, resources);
//! the config and secrets reach running servers through the API without a rollout, so neither is
//! mounted and no config hash is stamped on the template.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecurityContext, TopologySpreadConstraint, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{HTTP_PORT, Names, RenderInput, labels, selector};
use crate::config::runtime::DatabaseConfig;

/// The ConfigMap key holding the runtime config.
pub use crate::config::files::CONFIG_FILE;
/// Where SQLite keeps its file.
pub const DATA_MOUNT: &str = "/var/lib/vestibule";

/// Non-root, read-only root filesystem, no capabilities, default seccomp.
const USER_ID: i64 = 65532;

fn probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

fn default_resources() -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), q("100m")),
            ("memory".into(), q("128Mi")),
        ])),
        // Hashing memory is bounded per core; 512 MiB leaves room for a burst on 4 cores.
        limits: Some(BTreeMap::from([("memory".into(), q("512Mi"))])),
        ..ResourceRequirements::default()
    }
}

/// The Deployment, and the volume claim spec when the database is SQLite.
pub fn deployment(
    input: &RenderInput<'_>,
    names: &Names,
    metadata: ObjectMeta,
) -> (Deployment, Option<PersistentVolumeClaimSpec>) {
    let (vestibule, region) = (input.vestibule, input.region);
    let sqlite = matches!(input.config.database, DatabaseConfig::Sqlite {});
    // The server watches its ConfigMap and Secret through the API (its Role allows exactly
    // that): changes apply in seconds, and the pod template never mentions the config.
    let mut args = vec![
        "server".to_owned(),
        "--kubernetes".to_owned(),
        "--config-map".to_owned(),
        names.config_map.clone(),
        "--secret".to_owned(),
        names.secret.clone(),
        "--sync-status".to_owned(),
        names.sync_status.clone(),
        "--listen".to_owned(),
        format!("0.0.0.0:{HTTP_PORT}"),
    ];
    if sqlite {
        args.push("--database-url".into());
        args.push(format!("sqlite://{DATA_MOUNT}/vestibule.sqlite"));
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    let claim =
        if let (true, Some(storage)) = (sqlite, input.vestibule.spec.database.sqlite.as_ref()) {
            mounts.push(VolumeMount {
                name: "data".into(),
                mount_path: DATA_MOUNT.into(),
                ..VolumeMount::default()
            });
            volumes.push(Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: names.data.clone(),
                    ..PersistentVolumeClaimVolumeSource::default()
                }),
                ..Volume::default()
            });
            Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".into(),
                        Quantity(storage.storage.clone()),
                    )])),
                    ..VolumeResourceRequirements::default()
                }),
                ..PersistentVolumeClaimSpec::default()
            })
        } else {
            None
        };
    let container = Container {
        name: "vestibule".into(),
        image: Some(input.image.to_owned()),
        args: Some(args),
        env: Some(vec![
            EnvVar {
                name: "VESTIBULE_LOG_FORMAT".into(),
                value: Some("json".into()),
                ..EnvVar::default()
            },
            EnvVar {
                name: "POD_NAMESPACE".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.namespace".into(),
                        ..ObjectFieldSelector::default()
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: HTTP_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/healthz", 10)),
        readiness_probe: Some(probe("/readyz", 5)),
        resources: Some(region.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(USER_ID),
            run_as_group: Some(USER_ID),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Container::default()
    };
    let spread = |key: &str| TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.into(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(selector(vestibule, region)),
            ..LabelSelector::default()
        }),
        ..TopologySpreadConstraint::default()
    };
    let pod = PodSpec {
        service_account_name: Some(names.base.clone()),
        containers: vec![container],
        volumes: (!volumes.is_empty()).then_some(volumes),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            fs_group: Some(USER_ID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        topology_spread_constraints: Some(vec![
            spread("topology.kubernetes.io/zone"),
            spread("kubernetes.io/hostname"),
        ]),
        ..PodSpec::default()
    };
    let deployment = Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(region.replicas),
            selector: LabelSelector {
                match_labels: Some(selector(vestibule, region)),
                ..LabelSelector::default()
            },
            // SQLite's volume is ReadWriteOnce: the old pod must stop before the new one starts.
            strategy: sqlite.then(|| DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..DeploymentStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(vestibule, region)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    (deployment, claim)
}
