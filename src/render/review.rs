//! `vestibule render`: what the operator would apply, per region, for review in pull requests.
//! Secret values never appear: every Secret shows its keys with `<redacted>`.

use std::collections::BTreeMap;

use kube::ResourceExt;
use serde_json::Value;

use super::{RenderInput, render};
use crate::config::bundle::namespace_of;
use crate::manifest::validate::Report;

/// What a reviewer sees instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// One rendered region.
pub struct RenderedRegion {
    /// `namespace/name` of the Vestibule.
    pub vestibule: String,
    /// Region name.
    pub region: String,
    /// `this cluster` or `cluster from Secret NAME/KEY`.
    pub cluster: String,
    /// The objects, in apply order, with Secret values redacted.
    pub objects: Vec<Value>,
}

/// Renders every region (or only `region`) of every Vestibule that compiled in `report`.
pub fn render_report(report: &Report, region: Option<&str>, image: &str) -> Vec<RenderedRegion> {
    let mut out = Vec::new();
    for (id, config) in &report.configs {
        let Some(vestibule) = report
            .accepted
            .vestibules
            .iter()
            .find(|v| v.name_any() == id.name && namespace_of(*v) == id.namespace)
        else {
            continue;
        };
        let redacted: BTreeMap<String, String> = config
            .secrets
            .keys()
            .map(|k| (k.clone(), REDACTED.to_owned()))
            .collect();
        for r in vestibule
            .spec
            .regions
            .iter()
            .filter(|r| region.is_none_or(|want| r.name == want))
        {
            let objects = render(&RenderInput {
                vestibule,
                config,
                region: r,
                secret_values: &redacted,
                image,
            });
            let cluster = match &r.kubeconfig_secret_ref {
                None => "this cluster".to_owned(),
                Some(s) => format!("cluster from Secret {}/{}", s.name, s.key),
            };
            out.push(RenderedRegion {
                vestibule: format!("{}/{}", id.namespace, id.name),
                region: r.name.clone(),
                cluster,
                objects: objects.to_values().into_iter().map(redact).collect(),
            });
        }
    }
    out
}

/// Shows a Secret's keys as `stringData: {key: <redacted>}` instead of base64 data.
fn redact(mut object: Value) -> Value {
    if object["kind"] == "Secret"
        && let Some(map) = object.as_object_mut()
    {
        let keys: serde_json::Map<String, Value> = map
            .remove("data")
            .and_then(|d| d.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| (k, Value::String(REDACTED.to_owned())))
            .collect();
        map.insert("stringData".to_owned(), Value::Object(keys));
    }
    object
}

/// The output of `vestibule render`: a YAML stream with a comment before each region.
pub fn to_yaml(regions: &[RenderedRegion]) -> String {
    regions
        .iter()
        .map(|r| {
            format!(
                "# Vestibule {}, region {} ({})\n{}",
                r.vestibule,
                r.region,
                r.cluster,
                crate::manifest::yaml::to_yaml_documents(&r.objects)
            )
        })
        .collect()
}

/// The default image: this build's version.
pub fn default_image() -> String {
    format!("ghcr.io/vestibule/vestibule:{}", env!("CARGO_PKG_VERSION"))
}
