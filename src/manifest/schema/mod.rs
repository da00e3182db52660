//! Offline validation of a custom resource against its CRD's structural `openAPIV3Schema`.
//!
//! This mirrors what the Kubernetes API server checks before CEL rules run, with one
//! deliberate difference: where the API server silently prunes unknown fields (and nulls in
//! non-nullable fields), we report them, because in a hand-written manifest they are typos.
//! `x-kubernetes-validations` (CEL) is ignored here; it is checked elsewhere.
//!
//! The parts: `walk` descends the schema and value together, checking types, enums, fields
//! and required properties; `keywords` checks the value keywords of strings, numbers and
//! lists; `junctors` handles allOf/anyOf/oneOf/not; `metadata` checks apiVersion, kind and
//! ObjectMeta; `go_regex` compiles Kubernetes (Go RE2) patterns; `formats` checks string
//! formats such as date-time.

mod formats;
mod go_regex;
mod junctors;
mod keywords;
mod metadata;
#[cfg(test)]
mod test_support;
mod walk;

use std::fmt;

use serde_json::{Map, Number, Value};

use self::walk::{Checker, Mode};

/// One way a value breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// Path of the offending field: "spec.regions[0].name"; for an unknown field, the path of
    /// the unknown field itself; for a missing required field, the path the field would have.
    pub path: String,
    /// Why, in plain words: `unknown field "clientSecretref"`, `required field is missing`,
    /// `must be one of: google, github, ...; got "gihub"`, `must be an integer; got string
    /// "three"`, `must match ^[a-z0-9]...$`, `must be at most 16 items`, `must be at least 1`.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Checks `value` (a whole object: apiVersion, kind, metadata, spec, ...) against a CRD
/// version's openAPIV3Schema (as JSON). Returns every violation, not the first, in document
/// order (sorted by path is fine).
#[must_use]
pub fn check(schema: &Value, value: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    let Some(object) = value.as_object() else {
        push(
            &mut out,
            "",
            format!(
                "must be an object with apiVersion, kind and metadata; got {}",
                describe(value)
            ),
        );
        return out;
    };
    // A malformed (non-object) schema still gets the apiVersion/kind/metadata checks.
    let empty = Map::new();
    let schema = schema.as_object().unwrap_or(&empty);
    let mut checker = Checker::default();
    checker.object(schema, object, "", Mode::Root, &mut out);
    checker.junctors(schema, value, "", &mut out);
    out
}

// ---- small helpers shared by the submodules ----

fn push(out: &mut Vec<SchemaViolation>, path: &str, message: impl Into<String>) {
    out.push(SchemaViolation {
        path: path.to_owned(),
        message: message.into(),
    });
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A non-negative integer keyword such as maxLength (tolerating `3.0`).
fn count(s: &Map<String, Value>, key: &str) -> Option<u64> {
    let v = s.get(key)?;
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
            .map(|f| f as u64)
    })
}

/// The integer a JSON number denotes, if any. Like the API server, `3.0` counts as an integer.
fn integral(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    n.as_f64()
        .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e38)
        .map(|f| f as i128)
}

fn is_integer(v: &Value) -> bool {
    v.as_number().and_then(integral).is_some()
}

/// JSON equality where 1 and 1.0 are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (integral(x), integral(y)) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

fn with_article(ty: &str) -> String {
    match ty {
        "object" | "array" | "integer" => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

/// The kind of a value, with the value itself for scalars: `string "three"`, `integer 3`.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", quote(s)),
        Value::Array(_) => "array".to_owned(),
        Value::Object(_) => "object".to_owned(),
    }
}

/// An allowed enum value as listed in messages: strings bare, anything else as JSON.
fn enum_item(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => brief_json(other),
    }
}

/// A value as JSON, shortened so one huge value cannot swamp a message.
fn brief_json(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

/// A string in JSON quotes, cut to 80 characters.
fn quote(s: &str) -> String {
    const LIMIT: usize = 80;
    if s.chars().count() > LIMIT {
        let cut: String = s.chars().take(LIMIT).collect();
        let quoted = Value::String(cut).to_string();
        format!("{}...\"", &quoted[..quoted.len() - 1])
    } else {
        Value::String(s.to_owned()).to_string()
    }
}

fn plural(n: u64, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "property") => format!("{n} properties"),
        _ => format!("{n} {noun}s"),
    }
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{crd_schema, pairs};
    use super::*;
    use serde_json::json;

    #[test]
    fn odd_schemas_and_values_do_not_panic() {
        let schemas = [
            json!(null),
            json!(true),
            json!([]),
            json!({"type": ["string", "null"]}),
            json!({"type": "object", "properties": []}),
            json!({"type": "object", "properties": {"spec": {"type": "frob", "enum": "x", "required": 3,
                "minLength": -1, "maxItems": "two", "pattern": 7, "items": [1], "anyOf": [], "oneOf": [1, null],
                "allOf": "x", "not": 1, "minimum": "0", "format": "int32",
                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [1]}}}),
            json!({"properties": {"spec": {"pattern": "[", "maxLength": 1.0e300, "multipleOf": 0}}}),
        ];
        let values = [
            json!(null),
            json!({}),
            json!({"spec": null}),
            json!({"spec": [{"a": 1}, {"a": 1}]}),
            json!({"spec": "x".repeat(500)}),
            json!({"spec": {"": {"[": "]"}}}),
            json!({"spec": 1.0e308, "metadata": {"name": 5, "labels": {"a/b/c": "d"}}}),
            json!({"spec": -0.0, "metadata": {"name": "a..b", "labels": {"/x": "é"}}}),
        ];
        for s in &schemas {
            for v in &values {
                let _ = check(s, v);
            }
        }
    }

    #[test]
    fn real_crd_minimal_vestibule_is_valid() {
        let schema = crd_schema("Vestibule");
        let value = json!({
            "apiVersion": "vestibule.dev/v1alpha1",
            "kind": "Vestibule",
            "metadata": {"name": "demo"},
            "spec": {"issuer": "https://auth.example.com", "regions": [{"name": "local"}]},
        });
        assert_eq!(check(&schema, &value), vec![]);
    }

    #[test]
    fn real_crd_typo_is_reported() {
        let schema = crd_schema("Vestibule");
        let value = json!({
            "apiVersion": "vestibule.dev/v1alpha1",
            "kind": "Vestibule",
            "metadata": {"name": "demo"},
            "spec": {"issuer": "https://auth.example.com", "regoins": [{"name": "local"}]},
        });
        let mut got = check(&schema, &value);
        got.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.regions", "required field is missing"),
                ("spec.regoins", "unknown field \"regoins\""),
            ]
        );
    }

    #[test]
    fn real_crd_deep_violations() {
        let schema = crd_schema("Vestibule");
        let value = json!({
            "apiVersion": "vestibule.dev/v1alpha1",
            "kind": "Vestibule",
            "metadata": {"name": "demo"},
            "spec": {
                "issuer": "https://auth.example.com",
                "regions": [
                    {"name": "local", "resources": {"limits": {"cpu": "1", "memory": 512}}},
                    {"name": "EU", "replicas": 0, "ingress": {"annotations": {"cert-manager.io/issuer": "x"}, "clas": "n"}},
                ],
                "database": {"postgres": {"urlSecretRef": {"name": "db", "key": "url"}, "maxConnections": "10"}},
                "signingKeys": {"algorithm": "HS256"},
            },
        });
        assert_eq!(
            pairs(&check(&schema, &value)),
            vec![
                (
                    "spec.database.postgres.maxConnections",
                    "must be an integer; got string \"10\""
                ),
                ("spec.regions[1].ingress.clas", "unknown field \"clas\""),
                (
                    "spec.regions[1].name",
                    "must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
                ),
                ("spec.regions[1].replicas", "must be at least 1"),
                (
                    "spec.signingKeys.algorithm",
                    "must be one of: ES256, RS256, EdDSA; got \"HS256\""
                ),
            ]
        );
    }

    #[test]
    fn real_crd_oauth_provider() {
        let schema = crd_schema("OAuthProvider");
        let value = json!({
            "apiVersion": "vestibule.dev/v1alpha1",
            "kind": "OAuthProvider",
            "metadata": {"name": "google", "namespace": "auth"},
            "spec": {
                "type": "gihub",
                "clientId": "abc",
                "clientSecretref": {"name": "s", "key": "k"},
                "vestibuleRef": {"name": "demo"},
            },
        });
        let got = check(&schema, &value);
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.clientSecretRef", "required field is missing"),
                ("spec.clientSecretref", "unknown field \"clientSecretref\""),
                (
                    "spec.type",
                    "must be one of: google, github, microsoft, gitlab, apple, oidc, oauth2; got \"gihub\""
                ),
            ]
        );
    }

    #[test]
    fn every_real_crd_schema_accepts_a_bare_envelope_shape() {
        // Smoke test over all kinds (more are being added): no panics, and nothing but
        // missing required fields for an empty spec.
        for crd in crate::resources::crd::all() {
            let kind = crd.spec.names.kind.clone();
            let crd = serde_json::to_value(crd).expect("serializes");
            let Some(versions) = crd.pointer("/spec/versions").and_then(Value::as_array) else {
                continue;
            };
            for version in versions {
                let Some(schema) = version.pointer("/schema/openAPIV3Schema") else {
                    continue;
                };
                let value = json!({"apiVersion": "vestibule.dev/v1", "kind": kind, "metadata": {"name": "x"}, "spec": {}});
                for v in check(schema, &value) {
                    assert_eq!(v.message, "required field is missing", "{kind}: {v}");
                }
            }
        }
    }
}
