//! Bundles from small YAML texts, and assertions on diagnostics, for the tests of each part.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;
use serde_json::Value;

use super::Compiler;
use crate::config::bundle::{Bundle, SecretKeys};
use crate::config::diagnostic::Diagnostic;
use yaml_rust2::{Yaml, YamlLoader};

/// The spec of a valid Vestibule; tests add fields to it.
pub const SPEC: &str = "issuer: https://auth.example.com
regions:
  - name: local
";

/// The Vestibule `test` in namespace `default` with `spec` (unindented YAML).
pub fn vestibule(spec: &str) -> String {
    manifest("Vestibule", "test", spec)
}

/// The bundle of the valid Vestibule [`SPEC`] and `others`.
pub fn with_base(others: &[&str]) -> Bundle {
    with_spec("", others)
}

/// The valid Vestibule [`SPEC`] with `extra` spec fields, and `others`.
pub fn with_spec(extra: &str, others: &[&str]) -> Bundle {
    let mut all = vec![vestibule(&format!("{SPEC}{extra}"))];
    all.extend(others.iter().map(|d| d.to_string()));
    bundle(&all.join("\n---\n"))
}

/// A resource of `kind` named `name`, with `spec` (unindented YAML) under `spec:`.
pub fn manifest(kind: &str, name: &str, spec: &str) -> String {
    let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
    format!(
        "apiVersion: vestibule.dev/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

/// Like [`manifest`], for kinds that belong to the Vestibule through `vestibuleRef`.
fn owned(kind: &str, name: &str, spec: &str) -> String {
    manifest(kind, name, &format!("vestibuleRef: {{name: test}}\n{spec}"))
}

/// An `OAuthProvider` of the base Vestibule.
pub fn provider(name: &str, spec: &str) -> String {
    owned("OAuthProvider", name, spec)
}

/// An `Application` of the base Vestibule.
pub fn application(name: &str, spec: &str) -> String {
    owned("Application", name, spec)
}

/// An `Organization` of the base Vestibule.
pub fn organization(name: &str, spec: &str) -> String {
    owned("Organization", name, spec)
}

/// A Secret holding `keys` (values are never read by `compile`).
pub fn secret(name: &str, keys: &[&str]) -> String {
    let data: String = keys.iter().map(|k| format!("  {k}: x\n")).collect();
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n{data}")
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("test resource: {e}"))
}

/// A YAML value as JSON. Test inputs only: plain maps, lists, strings, numbers and booleans
/// (the manifest layer, with positions and schema checks, sits above config and is not used here).
fn json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json(v)))
                .collect(),
        ),
        Yaml::Array(items) => Value::Array(items.iter().map(json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => r.parse::<f64>().map(Value::from).unwrap_or(Value::Null),
        Yaml::Boolean(b) => Value::Bool(*b),
        _ => Value::Null,
    }
}

/// The bundle of the one Vestibule in `text`, with every other resource in `text`.
pub fn bundle(text: &str) -> Bundle {
    let mut vestibules = Vec::new();
    let (mut providers, mut organizations, mut applications) = (Vec::new(), Vec::new(), Vec::new());
    let (mut themes, mut mfa_policies, mut secrets) = (Vec::new(), Vec::new(), BTreeMap::new());
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("test YAML: {e}"));
    for doc in &docs {
        let value = json(doc);
        match value["kind"].as_str().unwrap_or_default() {
            "Vestibule" => vestibules.push(typed(value)),
            "OAuthProvider" => providers.push(typed(value)),
            "Organization" => organizations.push(typed(value)),
            "Application" => applications.push(typed(value)),
            "Theme" => themes.push(typed(value)),
            "MfaPolicy" => mfa_policies.push(typed(value)),
            "Secret" => {
                let keys: SecretKeys = value["stringData"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys().cloned())
                    .collect();
                let name = value["metadata"]["name"].as_str().unwrap_or_default();
                secrets.insert(name.to_owned(), keys);
            }
            other => panic!("test YAML: unexpected kind {other:?}"),
        }
    }
    assert_eq!(vestibules.len(), 1, "a test bundle has one Vestibule");
    Bundle {
        vestibule: vestibules.remove(0),
        providers,
        organizations,
        applications,
        themes,
        mfa_policies,
        secrets,
    }
}

/// Runs one part of the compiler on `bundle`: what it returns and what it reported.
pub fn run_part<T>(bundle: &Bundle, part: impl FnOnce(&mut Compiler) -> T) -> (T, Vec<Diagnostic>) {
    let mut compiler = Compiler::new(bundle);
    let out = part(&mut compiler);
    (out, compiler.diagnostics)
}

/// Asserts that each resource enum variant maps to a config variant with the same JSON, so the
/// mapping keeps the runtime config byte-identical.
pub fn maps_to_same_json<R, C>(variants: &[R])
where
    R: Copy + Serialize + Debug,
    C: From<R> + Serialize,
{
    for &variant in variants {
        let config = serde_json::to_value(C::from(variant)).ok();
        assert!(config.is_some(), "{variant:?} serializes");
        assert_eq!(config, serde_json::to_value(variant).ok(), "{variant:?}");
    }
}

/// Asserts that a diagnostic on `resource` (kind, name) at `path` says `message` (a substring).
pub fn has_diagnostic(
    diagnostics: &[Diagnostic],
    resource: (&str, &str),
    path: &str,
    message: &str,
) {
    let (kind, name) = resource;
    assert!(
        diagnostics.iter().any(|d| d.resource.kind == kind
            && d.resource.name == name
            && d.path == path
            && d.message.contains(message)),
        "no diagnostic {kind}/{name}: {path}: …{message}… in {diagnostics:#?}"
    );
}

/// The runtime config of the smallest valid Vestibule, for tests outside `compile` that need
/// a whole config to change a part of.
pub fn minimal_runtime_config() -> crate::config::RuntimeConfig {
    super::compile(&with_base(&[])).unwrap_or_else(|d| panic!("{d:#?}"))
}
