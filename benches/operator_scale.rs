//! compile + render at scale: a Vestibule with 3 regions, 1,000 Organizations and 100
//! Applications, as the operator holds and reconciles it. `cargo bench --bench operator_scale`;
//! `ORGS=10000 MEMBERS=10` for the sharded scale. Prints the shards, the largest ConfigMap and
//! the process's peak RSS at the end. Figures go to docs/benchmarks.md.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use vestibule::config::{Resources, compile};
use vestibule::render::{RenderInput, render};
use vestibule::resources::{Application, Organization, Vestibule};

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn resources() -> Resources {
    let (orgs, members) = (count("ORGS", 1000), count("MEMBERS", 1));
    let vestibule: Vestibule = serde_json::from_value(json!({
        "apiVersion": "vestibule.dev/v1alpha1", "kind": "Vestibule",
        "metadata": {"name": "scale", "namespace": "auth", "uid": "6a1f0000-0000-4000-8000-000000000000"},
        "spec": {
            "issuer": "https://auth.example.com",
            "database": {"postgres": {"urlSecretRef": {"name": "db", "key": "url"}}},
            "organizations": {"enabled": true},
            "regions": [
                {"name": "eu", "replicas": 3},
                {"name": "us", "replicas": 3, "kubeconfigSecretRef": {"name": "us", "key": "kubeconfig"}},
                {"name": "ap", "replicas": 2, "kubeconfigSecretRef": {"name": "ap", "key": "kubeconfig"}},
            ],
        },
    }))
    .expect("vestibule");
    let organizations = (0..orgs)
        .map(|i| {
            let members: Vec<serde_json::Value> = (0..members)
                .map(|m| json!({"email": format!("user{m}@org-{i}.example.com"), "role": if m == 0 { "admin" } else { "member" }}))
                .collect();
            serde_json::from_value::<Organization>(json!({
                "apiVersion": "vestibule.dev/v1alpha1", "kind": "Organization",
                "metadata": {"name": format!("org-{i}"), "namespace": "auth"},
                "spec": {
                    "vestibuleRef": {"name": "scale"}, "slug": format!("org-{i}"), "displayName": format!("Organization {i}"),
                    "domains": [{"domain": format!("org-{i}.example.com"), "enrollment": "autoJoin"}],
                    "roles": [{"name": "admin", "permissions": ["org:manage"]}, {"name": "member", "permissions": ["projects:read"]}],
                    "members": members,
                },
            }))
            .expect("organization")
        })
        .collect();
    let applications = (0..100)
        .map(|i| {
            serde_json::from_value::<Application>(json!({
                "apiVersion": "vestibule.dev/v1alpha1", "kind": "Application",
                "metadata": {"name": format!("app-{i}"), "namespace": "auth"},
                "spec": {
                    "vestibuleRef": {"name": "scale"}, "type": "spa", "clientId": format!("app-{i}"),
                    "redirectUris": [format!("https://app-{i}.example.com/callback")],
                    "allowedOrigins": [format!("https://app-{i}.example.com")],
                },
            }))
            .expect("application")
        })
        .collect();
    let mut secrets = BTreeMap::new();
    for (name, key) in [("db", "url"), ("us", "kubeconfig"), ("ap", "kubeconfig")] {
        secrets.insert(
            ("auth".to_owned(), name.to_owned()),
            [key.to_owned()].into(),
        );
    }
    Resources {
        vestibules: vec![vestibule],
        organizations,
        applications,
        secrets,
        ..Resources::default()
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn scale(c: &mut Criterion) {
    let resources = resources();
    let vestibule = resources.vestibules[0].clone();
    let bundle = resources.bundle_for(&vestibule);
    let config = compile(&bundle).unwrap_or_else(|d| panic!("{d:?}"));
    let values: BTreeMap<String, String> = config
        .secrets
        .keys()
        .map(|k| (k.clone(), "x".repeat(64)))
        .collect();
    let orgs = count("ORGS", 1000);
    let mut group = c.benchmark_group("operator_scale");
    group.sample_size(if orgs > 2000 { 10 } else { 20 });
    group.bench_function(format!("compile_3_regions_{orgs}_orgs_100_apps"), |b| {
        b.iter(|| compile(black_box(&bundle)))
    });
    group.bench_function("compile_and_render_all_regions", |b| {
        b.iter(|| {
            let config = compile(black_box(&bundle)).expect("compiles");
            vestibule
                .spec
                .regions
                .iter()
                .map(|region| {
                    render(&RenderInput {
                        vestibule: &vestibule,
                        config: &config,
                        region,
                        secret_values: &values,
                        image: "img",
                    })
                })
                .collect::<Vec<_>>()
        })
    });
    group.finish();
    let config_bytes = serde_json::to_vec(&config).map(|v| v.len()).unwrap_or(0);
    let objects = render(&RenderInput {
        vestibule: &vestibule,
        config: &config,
        region: &vestibule.spec.regions[0],
        secret_values: &values,
        image: "img",
    });
    let size = |c: &k8s_openapi::api::core::v1::ConfigMap| {
        c.data
            .iter()
            .flat_map(|d| d.values())
            .map(String::len)
            .sum::<usize>()
    };
    let largest_shard = objects
        .organization_shards
        .iter()
        .map(size)
        .max()
        .unwrap_or(0);
    eprintln!(
        "operator_scale: runtime config {:.1} KiB compact; main ConfigMap {:.1} KiB; {} shard ConfigMaps, largest {:.1} KiB; peak RSS of this process {:.1} MiB",
        config_bytes as f64 / 1024.0,
        size(&objects.config_map) as f64 / 1024.0,
        objects.organization_shards.len(),
        largest_shard as f64 / 1024.0,
        peak_rss_mib()
    );
}

criterion_group!(benches, scale);
criterion_main!(benches);
