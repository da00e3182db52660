//! The walker: descends a schema and a value together, checking types, enums, nullability,
//! declared, unknown and required fields, and item and property counts. The value keywords,
//! junctors and the resource envelope are checked by the sibling modules.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

// Paths are spelled the way the YAML reader records line positions, so the two line up.
use crate::manifest::yaml::{index_path, join_path};

use super::go_regex::compile_go_regex;
use super::keywords::{list_uniqueness, number};
use super::{
    SchemaViolation, brief_json, count, describe, enum_item, flag, is_integer, json_eq, plural,
    push, quote, with_article,
};

/// Where a node sits, which decides the checks that are implicit rather than in the schema.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The resource itself: apiVersion, kind and metadata are implicit and checked built-in.
    Root,
    /// An ordinary schema node.
    Node,
    /// Inside allOf/anyOf/oneOf/not: value validations only, since junctors cannot declare
    /// fields (so no unknown-field checks) and nulls were already judged by the outer node.
    Branch,
}

/// State for one `check` call: compiled patterns are cached because list items share schemas.
#[derive(Default)]
pub(super) struct Checker {
    patterns: HashMap<String, Result<Regex, String>>,
}

impl Checker {
    pub(super) fn node(
        &mut self,
        schema: &Value,
        value: &Value,
        path: &str,
        mode: Mode,
        out: &mut Vec<SchemaViolation>,
    ) {
        // Boolean or malformed schemas carry no checks we can apply.
        let Some(s) = schema.as_object() else {
            return;
        };
        if value.is_null() {
            if mode != Mode::Branch && !flag(s, "nullable") {
                push(out, path, "must not be null");
            }
            return;
        }

        if flag(s, "x-kubernetes-int-or-string") {
            if !(is_integer(value) || value.is_string()) {
                push(
                    out,
                    path,
                    format!("must be an integer or a string; got {}", describe(value)),
                );
                return;
            }
        } else if let Some(ty) = s.get("type").and_then(Value::as_str) {
            let ok = match ty {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => is_integer(value),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                // Not a structural type; don't guess at it.
                _ => true,
            };
            if !ok {
                // A mismatch stops descent: the children's errors would only be noise.
                push(
                    out,
                    path,
                    format!("must be {}; got {}", with_article(ty), describe(value)),
                );
                return;
            }
        }

        if let Some(Value::Array(allowed)) = s.get("enum")
            && !allowed.iter().any(|a| json_eq(a, value))
        {
            let list: Vec<String> = allowed.iter().map(enum_item).collect();
            push(
                out,
                path,
                format!(
                    "must be one of: {}; got {}",
                    list.join(", "),
                    brief_json(value)
                ),
            );
        }

        match value {
            Value::String(text) => self.string(s, text, path, out),
            Value::Number(n) => number(s, n, path, out),
            Value::Array(items) => self.array(s, items, path, mode, out),
            Value::Object(map) => self.object(s, map, path, mode, out),
            Value::Bool(_) | Value::Null => {}
        }

        self.junctors(s, value, path, out);
    }

    fn array(
        &mut self,
        s: &Map<String, Value>,
        items: &[Value],
        path: &str,
        mode: Mode,
        out: &mut Vec<SchemaViolation>,
    ) {
        let len = items.len() as u64;
        if let Some(min) = count(s, "minItems")
            && len < min
        {
            push(
                out,
                path,
                format!("must be at least {}", plural(min, "item")),
            );
        }
        if let Some(max) = count(s, "maxItems")
            && len > max
        {
            push(
                out,
                path,
                format!("must be at most {}", plural(max, "item")),
            );
        }
        list_uniqueness(s, items, path, out);
        if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
            let mode = if mode == Mode::Branch {
                Mode::Branch
            } else {
                Mode::Node
            };
            for (i, item) in items.iter().enumerate() {
                self.node(item_schema, item, &index_path(path, i), mode, out);
            }
        }
    }

    pub(super) fn object(
        &mut self,
        s: &Map<String, Value>,
        map: &Map<String, Value>,
        path: &str,
        mode: Mode,
        out: &mut Vec<SchemaViolation>,
    ) {
        let len = map.len() as u64;
        if let Some(min) = count(s, "minProperties")
            && len < min
        {
            push(
                out,
                path,
                format!("must have at least {}", plural(min, "property")),
            );
        }
        if let Some(max) = count(s, "maxProperties")
            && len > max
        {
            push(
                out,
                path,
                format!("must have at most {}", plural(max, "property")),
            );
        }

        // The resource itself and embedded resources carry apiVersion/kind/metadata implicitly.
        let envelope =
            mode == Mode::Root || (mode == Mode::Node && flag(s, "x-kubernetes-embedded-resource"));
        let implicit: &[&str] = if envelope {
            self.envelope(s, map, path, mode == Mode::Root, out);
            &["apiVersion", "kind", "metadata"]
        } else {
            &[]
        };

        let props = s.get("properties").and_then(Value::as_object);
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if implicit.contains(&key) || map.contains_key(key) {
                    continue;
                }
                // The API server applies defaults before validating, so a defaulted field
                // is never missing.
                let defaulted = props
                    .and_then(|p| p.get(key))
                    .and_then(|p| p.get("default"))
                    .is_some();
                if !defaulted {
                    push(out, &join_path(path, key), "required field is missing");
                }
            }
        }

        let additional = s.get("additionalProperties");
        let additional_schema = additional.filter(|a| a.is_object());
        let open = mode == Mode::Branch
            || flag(s, "x-kubernetes-preserve-unknown-fields")
            || additional == Some(&Value::Bool(true));
        // Only an object node prunes unknown fields; a typeless node (e.g. in a junctor)
        // says nothing about which fields exist.
        let closed =
            !open && (props.is_some() || s.get("type").and_then(Value::as_str) == Some("object"));
        let child_mode = if mode == Mode::Branch {
            Mode::Branch
        } else {
            Mode::Node
        };
        for (key, child) in map {
            if implicit.contains(&key.as_str()) {
                continue;
            }
            let child_path = join_path(path, key);
            if let Some(prop) = props.and_then(|p| p.get(key)) {
                self.node(prop, child, &child_path, child_mode, out);
            } else if let Some(schema) = additional_schema {
                self.node(schema, child, &child_path, child_mode, out);
            } else if closed {
                push(out, &child_path, format!("unknown field {}", quote(key)));
            }
        }
    }

    pub(super) fn regex(&mut self, pattern: &str) -> Result<Regex, String> {
        self.patterns
            .entry(pattern.to_owned())
            .or_insert_with(|| compile_go_regex(pattern))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::schema::check;
    use crate::manifest::schema::test_support::{check_spec, pairs};
    use serde_json::json;

    #[test]
    fn valid_object_has_no_violations() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "count": {"type": "integer", "format": "int32", "minimum": 0},
                "ratio": {"type": "number"},
                "on": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        });
        let spec = json!({"name": "x", "count": 3, "ratio": 2, "on": true, "tags": ["a"]});
        assert_eq!(check_spec(schema, spec), vec![]);
    }

    #[test]
    fn unknown_field_at_depth_reports_its_full_path() {
        let schema = json!({
            "type": "object",
            "properties": {"outer": {
                "type": "object",
                "properties": {"list": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"inner": {"type": "string"}}},
                }},
            }},
        });
        let spec =
            json!({"outer": {"list": [{"inner": "a"}, {"inner": "b", "extra": {"deep": 1}}]}});
        assert_eq!(
            pairs(&check_spec(schema, spec)),
            vec![("spec.outer.list[1].extra", "unknown field \"extra\"")]
        );
    }

    #[test]
    fn typo_is_unknown_and_the_intended_field_missing() {
        let schema = json!({
            "type": "object",
            "required": ["clientSecretRef"],
            "properties": {"clientSecretRef": {"type": "object", "properties": {"name": {"type": "string"}}}},
        });
        let got = check_spec(schema, json!({"clientSecretref": {"name": "s"}}));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.clientSecretRef", "required field is missing"),
                ("spec.clientSecretref", "unknown field \"clientSecretref\""),
            ]
        );
    }

    #[test]
    fn object_without_properties_admits_no_fields() {
        // The API server would prune every field of such an object.
        let got = check_spec(json!({"type": "object"}), json!({"a": 1}));
        assert_eq!(pairs(&got), vec![("spec.a", "unknown field \"a\"")]);
    }

    #[test]
    fn wrong_enum_lists_allowed_values() {
        let schema = json!({"type": "object", "properties": {
            "type": {"type": "string", "enum": ["google", "github", "oidc"]},
            "level": {"type": "integer", "enum": [1, 2]},
        }});
        let got = check_spec(schema.clone(), json!({"type": "gihub", "level": 3}));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.level", "must be one of: 1, 2; got 3"),
                (
                    "spec.type",
                    "must be one of: google, github, oidc; got \"gihub\""
                ),
            ]
        );
        // 2.0 is the number 2.
        assert_eq!(
            check_spec(schema, json!({"type": "github", "level": 2.0})),
            vec![]
        );
    }

    #[test]
    fn missing_required_uses_the_would_be_path_and_respects_defaults() {
        let schema = json!({
            "type": "object",
            "required": ["a", "b", "c.d"],
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "string", "default": "x"},
                "c.d": {"type": "string"},
            },
        });
        let got = check_spec(schema, json!({}));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.a", "required field is missing"),
                ("spec[\"c.d\"]", "required field is missing"),
            ]
        );
        // The root's own `required` applies too.
        let got = check(
            &json!({"type": "object", "required": ["spec"]}),
            &json!({
                "apiVersion": "v1", "kind": "K", "metadata": {"name": "n"}
            }),
        );
        assert_eq!(pairs(&got), vec![("spec", "required field is missing")]);
    }

    #[test]
    fn type_mismatch_stops_descent() {
        let schema = json!({"type": "object", "required": ["x"], "properties": {
            "list": {"type": "array", "minItems": 3, "items": {"type": "string"}},
            "obj": {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}},
            "n": {"type": "integer", "minimum": 5},
            "s": {"type": "string"},
            "b": {"type": "boolean"},
            "f": {"type": "number"},
            "x": {"type": "string"},
        }});
        let spec = json!({
            "list": {"a": 1}, "obj": [1, 2], "n": "three", "s": 3, "b": "yes", "f": "1.5", "x": "ok"
        });
        assert_eq!(
            pairs(&check_spec(schema, spec)),
            vec![
                ("spec.b", "must be a boolean; got string \"yes\""),
                ("spec.f", "must be a number; got string \"1.5\""),
                ("spec.list", "must be an array; got object"),
                ("spec.n", "must be an integer; got string \"three\""),
                ("spec.obj", "must be an object; got array"),
                ("spec.s", "must be a string; got integer 3"),
            ]
        );
    }

    #[test]
    fn integers_and_numbers() {
        let schema = json!({"type": "object", "properties": {
            "i": {"type": "integer"},
            "n": {"type": "number"},
        }});
        // An integer is a number; a whole float is an integer (as in the API server).
        assert_eq!(
            check_spec(schema.clone(), json!({"i": 3.0, "n": 3})),
            vec![]
        );
        assert_eq!(
            pairs(&check_spec(schema, json!({"i": 1.5}))),
            vec![("spec.i", "must be an integer; got number 1.5")]
        );
    }

    #[test]
    fn nullable() {
        let schema = json!({"type": "object", "properties": {
            "maybe": {"type": "string", "nullable": true},
            "never": {"type": "string"},
            "list": {"type": "array", "items": {"type": "integer"}},
        }});
        assert_eq!(check_spec(schema.clone(), json!({"maybe": null})), vec![]);
        assert_eq!(check_spec(schema.clone(), json!({})), vec![]);
        assert_eq!(
            pairs(&check_spec(
                schema,
                json!({"never": null, "list": [1, null]})
            )),
            vec![
                ("spec.list[1]", "must not be null"),
                ("spec.never", "must not be null"),
            ]
        );
    }

    #[test]
    fn int_or_string() {
        let schema = json!({"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true},
            "pct": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+%$"}]},
        }});
        assert_eq!(
            check_spec(schema.clone(), json!({"port": 80, "pct": "50%"})),
            vec![]
        );
        assert_eq!(
            check_spec(schema.clone(), json!({"port": "http", "pct": 5})),
            vec![]
        );
        let got = check_spec(schema, json!({"port": true, "pct": "half"}));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].path, "spec.pct");
        assert!(
            got[0]
                .message
                .starts_with("must satisfy at least one of the anyOf"),
            "{got:?}"
        );
        assert!(got[0].message.contains("must match ^[0-9]+%$"), "{got:?}");
        assert_eq!(
            (got[1].path.as_str(), got[1].message.as_str()),
            (
                "spec.port",
                "must be an integer or a string; got boolean true"
            )
        );
    }

    #[test]
    fn preserve_unknown_fields_still_checks_declared_properties() {
        let schema = json!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "known": {"type": "integer"},
                "nested": {"type": "object", "properties": {"a": {"type": "string"}}},
            },
        });
        let spec = json!({
            "anything": {"goes": [1, {"here": null}]},
            "known": "no",
            "nested": {"a": "x", "b": 1},
        });
        assert_eq!(
            pairs(&check_spec(schema, spec)),
            vec![
                ("spec.known", "must be an integer; got string \"no\""),
                ("spec.nested.b", "unknown field \"b\""),
            ]
        );
    }

    #[test]
    fn maps_via_additional_properties() {
        let schema = json!({"type": "object", "properties": {
            "annotations": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
            "limits": {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": true}},
        }});
        let spec = json!({
            "annotations": {"example.com/x": "ok", "plain": 1, "long": "abcd"},
            "limits": {"cpu": "500m", "memory": 1024, "gpu": [1]},
        });
        assert_eq!(
            pairs(&check_spec(schema, spec)),
            vec![
                ("spec.annotations.long", "must be at most 3 characters"),
                ("spec.annotations.plain", "must be a string; got integer 1"),
                (
                    "spec.limits.gpu",
                    "must be an integer or a string; got array"
                ),
            ]
        );
    }

    #[test]
    fn bracketed_path_for_keys_with_dots() {
        let schema = json!({"type": "object", "properties": {
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
        }});
        let got = check_spec(schema, json!({"m": {"example.com/x": "a", "a[0]": "b"}}));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.m[\"a[0]\"]", "must be an integer; got string \"b\""),
                (
                    "spec.m[\"example.com/x\"]",
                    "must be an integer; got string \"a\""
                ),
            ]
        );
    }

    #[test]
    fn min_max_items_length_properties() {
        let schema = json!({"type": "object", "properties": {
            "list": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "integer"}},
            "name": {"type": "string", "minLength": 2, "maxLength": 3},
            "map": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
        }});
        assert_eq!(
            pairs(&check_spec(
                schema.clone(),
                json!({"list": [], "name": "a"})
            )),
            vec![
                ("spec.list", "must be at least 1 item"),
                ("spec.name", "must be at least 2 characters"),
            ]
        );
        assert_eq!(
            pairs(&check_spec(
                schema.clone(),
                json!({"list": [1, 2, 3], "name": "abcd", "map": {"a": "1", "b": "2"}})
            )),
            vec![
                ("spec.list", "must be at most 2 items"),
                ("spec.map", "must have at most 1 property"),
                ("spec.name", "must be at most 3 characters"),
            ]
        );
        // Length counts code points: three characters, nine bytes.
        assert_eq!(check_spec(schema, json!({"name": "日本語"})), vec![]);
    }
}
