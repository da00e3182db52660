//! The value keywords of strings (length, pattern, format), numbers (bounds, multipleOf,
//! int32/int64) and lists (`x-kubernetes-list-type` uniqueness).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use crate::manifest::yaml::index_path;

use super::formats::is_date_time;
use super::walk::Checker;
use super::{SchemaViolation, brief_json, count, flag, fmt_num, integral, plural, push, quote};

impl Checker {
    pub(super) fn string(
        &mut self,
        s: &Map<String, Value>,
        text: &str,
        path: &str,
        out: &mut Vec<SchemaViolation>,
    ) {
        // Kubernetes counts string length in Unicode code points, not bytes.
        let len = text.chars().count() as u64;
        if let Some(min) = count(s, "minLength")
            && len < min
        {
            push(
                out,
                path,
                format!("must be at least {}", plural(min, "character")),
            );
        }
        if let Some(max) = count(s, "maxLength")
            && len > max
        {
            push(
                out,
                path,
                format!("must be at most {}", plural(max, "character")),
            );
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            match self.regex(pattern) {
                Ok(re) => {
                    if !re.is_match(text) {
                        push(out, path, format!("must match {pattern}"));
                    }
                }
                Err(e) => push(
                    out,
                    path,
                    format!("cannot check the schema's pattern {pattern}: {e}"),
                ),
            }
        }
        if s.get("format").and_then(Value::as_str) == Some("date-time") && !is_date_time(text) {
            push(
                out,
                path,
                format!(
                    "must be an RFC 3339 date-time such as 2024-01-31T12:00:00Z; got {}",
                    quote(text)
                ),
            );
        }
    }
}

pub(super) fn number(
    s: &Map<String, Value>,
    n: &Number,
    path: &str,
    out: &mut Vec<SchemaViolation>,
) {
    let Some(x) = n.as_f64() else {
        return;
    };
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        let exclusive = flag(s, "exclusiveMinimum");
        if (exclusive && x <= min) || x < min {
            let how = if exclusive {
                "greater than"
            } else {
                "at least"
            };
            push(out, path, format!("must be {how} {}", fmt_num(min)));
        }
    } else if let Some(min) = s.get("exclusiveMinimum").and_then(Value::as_f64)
        && x <= min
    {
        // JSON Schema 2019+ spelling: the bound itself in exclusiveMinimum.
        push(out, path, format!("must be greater than {}", fmt_num(min)));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        let exclusive = flag(s, "exclusiveMaximum");
        if (exclusive && x >= max) || x > max {
            let how = if exclusive { "less than" } else { "at most" };
            push(out, path, format!("must be {how} {}", fmt_num(max)));
        }
    } else if let Some(max) = s.get("exclusiveMaximum").and_then(Value::as_f64)
        && x >= max
    {
        push(out, path, format!("must be less than {}", fmt_num(max)));
    }
    if let Some(m) = s.get("multipleOf").and_then(Value::as_f64)
        && m > 0.0
    {
        let q = x / m;
        if q.is_finite() && (q - q.round()).abs() > 1e-9 {
            push(out, path, format!("must be a multiple of {}", fmt_num(m)));
        }
    }
    if let Some(i) = integral(n) {
        let (bits, fits) = match s.get("format").and_then(Value::as_str) {
            Some("int32") => (32, i32::try_from(i).is_ok()),
            Some("int64") => (64, i64::try_from(i).is_ok()),
            _ => (0, true),
        };
        if !fits {
            push(
                out,
                path,
                format!("must fit in a signed {bits}-bit integer (int{bits}); got {i}"),
            );
        }
    }
}

/// `x-kubernetes-list-type: set` and `map` forbid duplicates (by value / by key fields).
pub(super) fn list_uniqueness(
    s: &Map<String, Value>,
    items: &[Value],
    path: &str,
    out: &mut Vec<SchemaViolation>,
) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                let first = *seen.entry(item.to_string()).or_insert(i);
                if first != i {
                    push(
                        out,
                        &index_path(path, i),
                        format!("duplicate value {}; same as [{first}]", brief_json(item)),
                    );
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = s
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if keys.is_empty() {
                return;
            }
            for (i, item) in items.iter().enumerate() {
                let Some(obj) = item.as_object() else {
                    continue;
                };
                let parts: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{k}={}", brief_json(obj.get(*k).unwrap_or(&Value::Null))))
                    .collect();
                let id = parts.join(", ");
                if let Some(&first) = seen.get(&id) {
                    push(
                        out,
                        &index_path(path, i),
                        format!("duplicate entry with {id}; same as [{first}]"),
                    );
                } else {
                    seen.insert(id, i);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::schema::test_support::{check_spec, pairs};
    use serde_json::json;

    #[test]
    fn minimum_maximum_and_formats() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "integer", "minimum": 1.0, "maximum": 200.0},
            "b": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true},
            "c": {"type": "integer", "format": "int32"},
            "d": {"type": "integer", "format": "int64"},
            "e": {"type": "integer", "multipleOf": 5},
            "t": {"type": "string", "format": "date-time"},
            "u": {"type": "string", "format": "uri"},
        }});
        let ok = json!({"a": 1, "b": 0.5, "c": 2147483647, "d": -9223372036854775808i64, "e": 10,
            "t": "2024-02-29T23:59:59.123+01:00", "u": "not checked"});
        assert_eq!(check_spec(schema.clone(), ok), vec![]);
        let bad = json!({"a": 0, "b": 1, "c": 2147483648u64, "d": 18446744073709551615u64, "e": 7,
            "t": "2023-02-29T10:00:00Z"});
        assert_eq!(
            pairs(&check_spec(schema.clone(), bad)),
            vec![
                ("spec.a", "must be at least 1"),
                ("spec.b", "must be less than 1"),
                (
                    "spec.c",
                    "must fit in a signed 32-bit integer (int32); got 2147483648"
                ),
                (
                    "spec.d",
                    "must fit in a signed 64-bit integer (int64); got 18446744073709551615"
                ),
                ("spec.e", "must be a multiple of 5"),
                (
                    "spec.t",
                    "must be an RFC 3339 date-time such as 2024-01-31T12:00:00Z; got \"2023-02-29T10:00:00Z\""
                ),
            ]
        );
        let got = check_spec(schema.clone(), json!({"a": 201, "b": 0}));
        assert_eq!(
            pairs(&got),
            vec![
                ("spec.a", "must be at most 200"),
                ("spec.b", "must be greater than 0")
            ]
        );
        for t in [
            "2024-01-31",
            "2024-01-31T12:00:00",
            "2024-01-31T24:00:00Z",
            "yesterday",
        ] {
            assert_eq!(check_spec(schema.clone(), json!({"t": t})).len(), 1, "{t}");
        }
        assert_eq!(
            check_spec(schema, json!({"t": "2024-01-31t12:00:00z"})),
            vec![]
        );
    }

    #[test]
    fn list_types() {
        let schema = json!({"type": "object", "properties": {
            "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "map": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}},
        }});
        let spec = json!({
            "set": ["a", "b", "a"],
            "map": [{"name": "x", "v": 1}, {"name": "y"}, {"name": "x", "v": 2}],
        });
        assert_eq!(
            pairs(&check_spec(schema, spec)),
            vec![
                (
                    "spec.map[2]",
                    "duplicate entry with name=\"x\"; same as [0]"
                ),
                ("spec.set[2]", "duplicate value \"a\"; same as [0]"),
            ]
        );
    }
}
