//! The resource envelope: apiVersion, kind, and ObjectMeta as the API server decodes it, with
//! the DNS name, label and annotation rules of ValidateObjectMeta.

use serde_json::{Map, Value};

use crate::manifest::yaml::{index_path, join_path};

use super::walk::{Checker, Mode};
use super::{SchemaViolation, describe, is_integer, push, quote};

impl Checker {
    /// Built-in checks of apiVersion, kind and metadata, plus whatever the schema declares
    /// about them (structural schemas may only restrict metadata.name and generateName).
    pub(super) fn envelope(
        &mut self,
        s: &Map<String, Value>,
        map: &Map<String, Value>,
        path: &str,
        root: bool,
        out: &mut Vec<SchemaViolation>,
    ) {
        let declared = s.get("properties").and_then(Value::as_object);
        for key in ["apiVersion", "kind"] {
            let field_path = join_path(path, key);
            match map.get(key) {
                None | Some(Value::Null) => push(out, &field_path, "required field is missing"),
                Some(Value::String(text)) if text.is_empty() => {
                    push(out, &field_path, "must not be empty");
                }
                Some(v @ Value::String(_)) => {
                    if let Some(schema) = declared.and_then(|d| d.get(key)) {
                        self.node(schema, v, &field_path, Mode::Node, out);
                    }
                }
                Some(other) => push(
                    out,
                    &field_path,
                    format!("must be a string; got {}", describe(other)),
                ),
            }
        }

        let meta_path = join_path(path, "metadata");
        match map.get("metadata") {
            None | Some(Value::Null) => {
                if root {
                    push(out, &meta_path, "required field is missing");
                }
            }
            Some(Value::Object(meta)) => {
                metadata(meta, &meta_path, root, out);
                let meta_props = declared
                    .and_then(|d| d.get("metadata"))
                    .and_then(|m| m.get("properties"))
                    .and_then(Value::as_object);
                for key in ["name", "generateName"] {
                    if let (Some(schema), Some(v @ Value::String(_))) =
                        (meta_props.and_then(|p| p.get(key)), meta.get(key))
                    {
                        self.node(schema, v, &join_path(&meta_path, key), Mode::Node, out);
                    }
                }
            }
            Some(other) => push(
                out,
                &meta_path,
                format!("must be an object; got {}", describe(other)),
            ),
        }
    }
}

/// ObjectMeta as the API server decodes it: known fields only, shallow type checks, and the
/// name, namespace, label and annotation rules of ValidateObjectMeta.
fn metadata(
    meta: &Map<String, Value>,
    path: &str,
    require_name: bool,
    out: &mut Vec<SchemaViolation>,
) {
    for (key, value) in meta {
        let p = join_path(path, key);
        // Go decodes null into a zero value, so null metadata fields are simply unset.
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "name" => {
                if let Some(name) = expect_string(value, &p, out)
                    && !name.is_empty()
                {
                    check_dns_subdomain(name, &p, out);
                }
            }
            "namespace" => {
                if let Some(ns) = expect_string(value, &p, out) {
                    check_dns_label(ns, &p, out);
                }
            }
            "labels" => string_map(value, &p, out, |k, v, p, out| {
                check_qualified_name(k, "label key", p, out);
                check_label_value(v, p, out);
            }),
            "annotations" => {
                string_map(value, &p, out, |k, _, p, out| {
                    // Annotation keys are validated case-insensitively.
                    check_qualified_name(&k.to_ascii_lowercase(), "annotation key", p, out);
                });
                if let Value::Object(map) = value {
                    let size: usize = map
                        .iter()
                        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                        .sum();
                    if size > 256 * 1024 {
                        push(out, &p, "must total at most 262144 bytes (256 KiB)");
                    }
                }
            }
            "generateName" | "uid" | "resourceVersion" | "selfLink" | "creationTimestamp"
            | "deletionTimestamp" => {
                expect_string(value, &p, out);
            }
            "generation" | "deletionGracePeriodSeconds" => {
                if !is_integer(value) {
                    push(
                        out,
                        &p,
                        format!("must be an integer; got {}", describe(value)),
                    );
                }
            }
            "finalizers" => match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        expect_string(item, &index_path(&p, i), out);
                    }
                }
                other => push(
                    out,
                    &p,
                    format!("must be an array; got {}", describe(other)),
                ),
            },
            "ownerReferences" | "managedFields" => {
                if !value.is_array() {
                    push(
                        out,
                        &p,
                        format!("must be an array; got {}", describe(value)),
                    );
                }
            }
            _ => push(out, &p, format!("unknown field {}", quote(key))),
        }
    }
    if require_name {
        let set = |k: &str| {
            meta.get(k)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if !set("generateName") {
            match meta.get("name") {
                None | Some(Value::Null) => {
                    push(out, &join_path(path, "name"), "required field is missing");
                }
                Some(Value::String(name)) if name.is_empty() => {
                    push(out, &join_path(path, "name"), "must not be empty");
                }
                Some(_) => {}
            }
        }
    }
}

fn expect_string<'v>(
    value: &'v Value,
    path: &str,
    out: &mut Vec<SchemaViolation>,
) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        other => {
            push(
                out,
                path,
                format!("must be a string; got {}", describe(other)),
            );
            None
        }
    }
}

/// A map of string to string (labels, annotations); `each` checks each key and value.
fn string_map(
    value: &Value,
    path: &str,
    out: &mut Vec<SchemaViolation>,
    each: impl Fn(&str, &str, &str, &mut Vec<SchemaViolation>),
) {
    let Value::Object(map) = value else {
        push(
            out,
            path,
            format!("must be an object; got {}", describe(value)),
        );
        return;
    };
    for (key, v) in map {
        let p = join_path(path, key);
        if let Some(text) = expect_string(v, &p, out) {
            each(key, text, &p, out);
        }
    }
}

fn check_dns_subdomain(name: &str, path: &str, out: &mut Vec<SchemaViolation>) {
    if name.len() > 253 {
        push(out, path, "must be at most 253 characters");
    }
    if !name.split('.').all(is_dns_label_chars) {
        push(
            out,
            path,
            format!(
                "must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit; got {}",
                quote(name)
            ),
        );
    }
}

fn check_dns_label(name: &str, path: &str, out: &mut Vec<SchemaViolation>) {
    if name.len() > 63 {
        push(out, path, "must be at most 63 characters");
    }
    if !is_dns_label_chars(name) {
        push(
            out,
            path,
            format!(
                "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit; got {}",
                quote(name)
            ),
        );
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (length limits are checked by the callers).
fn is_dns_label_chars(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
        }
        _ => false,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the name part of label keys and values.
fn is_qualified_chars(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

fn check_qualified_name(key: &str, what: &str, path: &str, out: &mut Vec<SchemaViolation>) {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(is_dns_label_chars));
    if !prefix_ok || name.len() > 63 || !is_qualified_chars(name) {
        push(
            out,
            path,
            format!(
                "{what} must be an optional DNS subdomain and '/', then a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got {}",
                quote(key)
            ),
        );
    }
}

fn check_label_value(value: &str, path: &str, out: &mut Vec<SchemaViolation>) {
    if value.is_empty() {
        return;
    }
    if value.len() > 63 || !is_qualified_chars(value) {
        push(
            out,
            path,
            format!(
                "must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got {}",
                quote(value)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::schema::check;
    use crate::manifest::schema::test_support::{pairs, resource, root};
    use serde_json::json;

    #[test]
    fn envelope_and_metadata_rules() {
        let schema = root(json!({"type": "object"}));
        let ok = json!({
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "metadata": {
                "name": "a.b-c",
                "namespace": "team-1",
                "labels": {"app.kubernetes.io/name": "web", "tier": ""},
                "annotations": {"Example.com/Note": "any text at all"},
                "creationTimestamp": null,
                "generation": 2,
                "finalizers": ["example.com/cleanup"],
                "uid": "123",
                "resourceVersion": "7",
                "ownerReferences": [],
            },
        });
        assert_eq!(check(&schema, &ok), vec![]);

        let bad = json!({
            "apiVersion": 1,
            "metadata": {
                "name": "Demo_1",
                "namespace": "a.b",
                "labels": {"bad key!": "v", "ok": "-bad-", "n": 3},
                "annotations": "none",
                "lables": {},
            },
        });
        assert_eq!(
            pairs(&check(&schema, &bad)),
            vec![
                ("apiVersion", "must be a string; got integer 1"),
                ("kind", "required field is missing"),
                (
                    "metadata.annotations",
                    "must be an object; got string \"none\""
                ),
                (
                    "metadata.labels.bad key!",
                    "label key must be an optional DNS subdomain and '/', then a name of at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got \"bad key!\""
                ),
                ("metadata.labels.n", "must be a string; got integer 3"),
                (
                    "metadata.labels.ok",
                    "must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got \"-bad-\""
                ),
                ("metadata.lables", "unknown field \"lables\""),
                (
                    "metadata.name",
                    "must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit; got \"Demo_1\""
                ),
                (
                    "metadata.namespace",
                    "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit; got \"a.b\""
                ),
            ]
        );

        let long = "a".repeat(254);
        let got = check(
            &schema,
            &json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": long}}),
        );
        assert_eq!(
            pairs(&got),
            vec![("metadata.name", "must be at most 253 characters")]
        );

        let got = check(
            &schema,
            &json!({"apiVersion": "v1", "kind": "", "metadata": {}}),
        );
        assert_eq!(
            pairs(&got),
            vec![
                ("kind", "must not be empty"),
                ("metadata.name", "required field is missing")
            ]
        );
        // generateName stands in for name.
        let got = check(
            &schema,
            &json!({"apiVersion": "v1", "kind": "K", "metadata": {"generateName": "demo-"}}),
        );
        assert_eq!(got, vec![]);
        let got = check(&schema, &json!({"apiVersion": "v1", "kind": "K"}));
        assert_eq!(pairs(&got), vec![("metadata", "required field is missing")]);
        let got = check(&schema, &json!(["not", "an", "object"]));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "");
    }

    #[test]
    fn declared_metadata_constraints_apply() {
        let schema = json!({"type": "object", "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}},
        }});
        let got = check(
            &schema,
            &json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "toolong"}}),
        );
        assert_eq!(
            pairs(&got),
            vec![("metadata.name", "must be at most 5 characters")]
        );
    }

    #[test]
    fn embedded_resources_allow_their_envelope() {
        let schema = root(json!({"type": "object", "properties": {"template": {
            "type": "object",
            "x-kubernetes-embedded-resource": true,
            "properties": {"data": {"type": "string"}},
        }}}));
        let ok = resource(
            json!({"template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": "b"}}, "data": "x"}}),
        );
        assert_eq!(check(&schema, &ok), vec![]);
        let bad = resource(
            json!({"template": {"apiVersion": "v1", "metadata": {"nmae": "x"}, "extra": 1}}),
        );
        assert_eq!(
            pairs(&check(&schema, &bad)),
            vec![
                ("spec.template.kind", "required field is missing"),
                ("spec.template.metadata.nmae", "unknown field \"nmae\""),
                ("spec.template.extra", "unknown field \"extra\""),
            ]
        );
    }
}
