//! Helpers shared by the schema modules' tests.

use serde_json::{Value, json};

use super::{SchemaViolation, check};

/// A resource around `spec`, with a valid envelope.
pub(super) fn resource(spec: Value) -> Value {
    json!({
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "demo", "namespace": "default"},
        "spec": spec,
    })
}

/// A root schema whose `spec` is `spec`.
pub(super) fn root(spec: Value) -> Value {
    json!({"type": "object", "properties": {"spec": spec}})
}

pub(super) fn pairs(v: &[SchemaViolation]) -> Vec<(&str, &str)> {
    v.iter()
        .map(|v| (v.path.as_str(), v.message.as_str()))
        .collect()
}

pub(super) fn check_spec(spec_schema: Value, spec: Value) -> Vec<SchemaViolation> {
    check(&root(spec_schema), &resource(spec))
}

pub(super) fn crd_schema(kind: &str) -> Value {
    let crd = crate::resources::crd::all()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .expect("kind is defined");
    let crd = serde_json::to_value(crd).expect("serializes");
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("has a schema")
}
