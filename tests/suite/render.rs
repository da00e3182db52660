//! `render` and `vestibule render`: golden files per example and region (reviewable diffs), and
//! no Secret value in any ConfigMap. `UPDATE_GOLDEN=1 cargo test --test suite render` rewrites
//! the golden files after an intended change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::ResourceExt;
use vestibule::config::bundle::namespace_of;
use vestibule::manifest::secrets::region_secret_values;
use vestibule::manifest::validate::validate_paths;
use vestibule::render::{RenderInput, render};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const EXAMPLES: &[&str] = &[
    "quickstart",
    "multi-region",
    "b2b-organizations",
    "branded-theme",
];
const IMAGE: &str = "ghcr.io/vestibule/vestibule:test";

/// The accepted Vestibule a compiled config belongs to.
fn vestibule_of<'a>(
    report: &'a vestibule::manifest::validate::Report,
    id: &vestibule::config::ResourceId,
) -> &'a vestibule::resources::Vestibule {
    report
        .accepted
        .vestibules
        .iter()
        .find(|v| v.name_any() == id.name && namespace_of(*v) == id.namespace)
        .expect("vestibule")
}

fn example(name: &str) -> PathBuf {
    Path::new(ROOT).join("examples").join(name)
}

#[test]
fn render_output_matches_the_golden_files() {
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut checked = 0;
    for name in EXAMPLES {
        let report = validate_paths(&[example(name)], &[]).expect("example");
        assert!(!report.has_errors(), "{name}");
        for vestibule in &report.accepted.vestibules {
            for region in &vestibule.spec.regions {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_vestibule"))
                    .current_dir(ROOT)
                    .args([
                        "render",
                        &format!("examples/{name}"),
                        "--region",
                        &region.name,
                        "--image",
                        IMAGE,
                    ])
                    .output()
                    .expect("run vestibule render");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let rendered = String::from_utf8(out.stdout).expect("utf-8");
                let golden = Path::new(ROOT)
                    .join("tests/golden")
                    .join(name)
                    .join(format!("{}.yaml", region.name));
                if update {
                    std::fs::create_dir_all(golden.parent().expect("dir")).expect("mkdir");
                    std::fs::write(&golden, &rendered).expect("write golden");
                }
                let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
                    panic!(
                        "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test suite render",
                        golden.display()
                    )
                });
                assert!(
                    rendered == expected,
                    "{} differs from `vestibule render`; if the change is intended, run UPDATE_GOLDEN=1 cargo test --test suite render",
                    golden.display()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked, 6,
        "quickstart 1 + multi-region 3 + b2b 1 + branded 1 regions"
    );
}

#[test]
fn no_secret_value_appears_in_any_rendered_config_map() {
    for name in EXAMPLES {
        let report = validate_paths(&[example(name)], &[]).expect("example");
        for (id, config) in &report.configs {
            let vestibule = vestibule_of(&report, id);
            let values =
                region_secret_values(&[example(name)], &id.namespace, config).expect("secrets");
            assert_eq!(
                values.len(),
                config.secrets.len(),
                "{name}: every referenced secret has a value"
            );
            for region in &vestibule.spec.regions {
                let objects = render(&RenderInput {
                    vestibule,
                    config,
                    region,
                    secret_values: &values,
                    image: IMAGE,
                });
                let config_map = serde_json::to_string(&objects.config_map).expect("json");
                for value in values.values() {
                    assert!(
                        !config_map.contains(value.as_str()),
                        "{name}/{}: a Secret value is in the ConfigMap",
                        region.name
                    );
                }
                // The Secret does carry them, under the keys the config names.
                let data = objects.secret.data.clone().unwrap_or_default();
                let keys: Vec<&String> = data.keys().collect();
                let expected: Vec<&String> = config.secrets.keys().collect();
                assert_eq!(keys, expected);
            }
        }
    }
}

#[test]
fn every_object_is_labelled_and_the_server_is_locked_down() {
    let report = validate_paths(&[example("multi-region")], &[]).expect("example");
    let (id, config) = &report.configs[0];
    let vestibule = &report.accepted.vestibules[0];
    assert_eq!(id.name, "global");
    for region in &vestibule.spec.regions {
        let objects = render(&RenderInput {
            vestibule,
            config,
            region,
            secret_values: &BTreeMap::new(),
            image: IMAGE,
        });
        let kinds = vestibule::operator::kinds::names();
        for object in objects.to_values() {
            // What the operator watches and cleans up is exactly what it renders.
            let kind = object["kind"].as_str().unwrap_or_default();
            assert!(
                kind == "Namespace" || kinds.iter().any(|k| k == kind),
                "{kind} is rendered but not in operator::kinds"
            );
            let labels = &object["metadata"]["labels"];
            assert_eq!(
                labels["app.kubernetes.io/managed-by"], "vestibule",
                "{object}"
            );
            assert_eq!(labels["app.kubernetes.io/instance"], "global");
            assert_eq!(labels["vestibule.dev/region"], region.name.as_str());
        }
        let pod = objects
            .deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.clone())
            .expect("pod");
        let container = &pod.containers[0];
        let security = container
            .security_context
            .as_ref()
            .expect("security context");
        assert_eq!(security.run_as_non_root, Some(true));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        // The Role names exactly this region's ConfigMap and Secret, read-only, and the one
        // sync-status ConfigMap the servers may patch.
        let rules = objects.role.rules.clone().unwrap_or_default();
        let by_verbs = |verbs: &[&str]| -> Vec<String> {
            rules
                .iter()
                .filter(|r| r.verbs == verbs)
                .flat_map(|r| r.resource_names.clone().unwrap_or_default())
                .collect()
        };
        assert_eq!(
            by_verbs(&["get", "watch"]),
            ["global-config", "global-secrets"]
        );
        assert_eq!(by_verbs(&["get", "patch"]), ["global-sync-status"]);
        assert_eq!(rules.len(), 3);
        assert_eq!(objects.disruption_budget.is_some(), region.replicas > 1);
        assert_eq!(objects.ingress.is_some(), region.ingress.is_some());
    }
}

#[test]
fn a_config_change_changes_only_the_config_map() {
    let report = validate_paths(&[example("quickstart")], &[]).expect("example");
    let (_, config) = &report.configs[0];
    let vestibule = &report.accepted.vestibules[0];
    let region = &vestibule.spec.regions[0];
    let values = BTreeMap::new();
    let before = render(&RenderInput {
        vestibule,
        config,
        region,
        secret_values: &values,
        image: IMAGE,
    });
    let mut changed = config.clone();
    changed.passwords.min_length = 14;
    let changed = changed.seal();
    let after = render(&RenderInput {
        vestibule,
        config: &changed,
        region,
        secret_values: &values,
        image: IMAGE,
    });
    assert_ne!(before.config_map, after.config_map);
    // The pod template does not depend on the config: servers pick changes up without a rollout.
    assert_eq!(before.deployment, after.deployment);
    assert_eq!(before.secret, after.secret);
    assert_eq!(before.role, after.role);
}

#[test]
fn the_operators_list_of_region_kinds_is_what_render_produces() {
    // Across the examples every optional object appears (a SQLite volume, an Ingress, a PDB), so
    // the union is every kind a region can hold; the operator watches and cleans up exactly those.
    let mut rendered = std::collections::BTreeSet::new();
    for name in EXAMPLES {
        let report = validate_paths(&[example(name)], &[]).expect("example");
        for (id, config) in &report.configs {
            let vestibule = vestibule_of(&report, id);
            for region in &vestibule.spec.regions {
                let objects = render(&RenderInput {
                    vestibule,
                    config,
                    region,
                    secret_values: &BTreeMap::new(),
                    image: IMAGE,
                });
                for object in objects.to_values() {
                    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
                    if kind != "Namespace" {
                        rendered.insert(kind);
                    }
                }
            }
        }
    }
    let listed: std::collections::BTreeSet<String> =
        vestibule::operator::kinds::names().into_iter().collect();
    assert_eq!(rendered, listed);
}
