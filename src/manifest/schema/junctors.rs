//! The junctors allOf, anyOf, oneOf and not, with messages that name the fields to set when
//! the branches only list required fields.

use serde_json::{Map, Value};

use super::walk::{Checker, Mode};
use super::{SchemaViolation, push};

impl Checker {
    pub(super) fn junctors(
        &mut self,
        s: &Map<String, Value>,
        value: &Value,
        path: &str,
        out: &mut Vec<SchemaViolation>,
    ) {
        if let Some(branches) = s.get("allOf").and_then(Value::as_array) {
            for branch in branches {
                self.node(branch, value, path, Mode::Branch, out);
            }
        }
        if let Some(branches) = s.get("anyOf").and_then(Value::as_array)
            && !branches.is_empty()
        {
            let results = self.branches(branches, value, path);
            if results.iter().all(|r| !r.is_empty()) {
                let message = match required_lists(branches) {
                    Some(lists) => format!("must set at least one of: {}", lists.join(", ")),
                    None => format!(
                        "must satisfy at least one of the anyOf alternatives: {}",
                        summarize(&results)
                    ),
                };
                push(out, path, message);
            }
        }
        if let Some(branches) = s.get("oneOf").and_then(Value::as_array)
            && !branches.is_empty()
        {
            let results = self.branches(branches, value, path);
            let matching: Vec<usize> = (0..results.len())
                .filter(|&i| results[i].is_empty())
                .collect();
            if matching.len() != 1 {
                let message = match (required_lists(branches), matching.is_empty()) {
                    (Some(lists), true) => {
                        format!("must set exactly one of: {}; none is set", lists.join(", "))
                    }
                    (Some(lists), false) => {
                        let set: Vec<&str> = matching.iter().map(|&i| lists[i].as_str()).collect();
                        format!(
                            "must set exactly one of: {}; got {}",
                            lists.join(", "),
                            set.join(", ")
                        )
                    }
                    (None, true) => format!(
                        "must satisfy exactly one of the oneOf alternatives, but satisfies none: {}",
                        summarize(&results)
                    ),
                    (None, false) => format!(
                        "must satisfy exactly one of the oneOf alternatives, but satisfies {}",
                        matching.len()
                    ),
                };
                push(out, path, message);
            }
        }
        if let Some(not) = s.get("not").filter(|n| n.is_object()) {
            let mut scratch = Vec::new();
            self.node(not, value, path, Mode::Branch, &mut scratch);
            if scratch.is_empty() {
                let message = match required_lists(std::slice::from_ref(not)) {
                    Some(lists) => format!("must not set {}", lists.join(", ")),
                    None => "must not satisfy the schema under `not`".to_owned(),
                };
                push(out, path, message);
            }
        }
    }

    fn branches(
        &mut self,
        branches: &[Value],
        value: &Value,
        path: &str,
    ) -> Vec<Vec<SchemaViolation>> {
        branches
            .iter()
            .map(|branch| {
                let mut scratch = Vec::new();
                self.node(branch, value, path, Mode::Branch, &mut scratch);
                scratch
            })
            .collect()
    }
}

/// For junctors whose branches only list `required` fields: each branch as "a" or "a and b".
fn required_lists(branches: &[Value]) -> Option<Vec<String>> {
    branches
        .iter()
        .map(|b| {
            let b = b.as_object()?;
            let only_required = b
                .keys()
                .all(|k| matches!(k.as_str(), "required" | "description" | "title"));
            if !only_required {
                return None;
            }
            let names: Vec<&str> = b
                .get("required")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (!names.is_empty()).then(|| names.join(" and "))
        })
        .collect()
}

fn summarize(results: &[Vec<SchemaViolation>]) -> String {
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let reasons: Vec<String> = r.iter().map(ToString::to_string).collect();
            format!("({}) {}", i + 1, reasons.join("; "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use crate::manifest::schema::test_support::{check_spec, pairs};
    use serde_json::json;

    #[test]
    fn any_of_one_of_not_with_required_lists() {
        let schema = json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        });
        assert_eq!(check_spec(schema.clone(), json!({"a": "x"})), vec![]);
        assert_eq!(
            pairs(&check_spec(schema.clone(), json!({}))),
            vec![("spec", "must set exactly one of: a, b; none is set")]
        );
        assert_eq!(
            pairs(&check_spec(schema, json!({"a": "x", "b": "y"}))),
            vec![("spec", "must set exactly one of: a, b; got a, b")]
        );

        let schema = json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}},
            "anyOf": [{"required": ["a"]}, {"required": ["b", "c"]}],
            "not": {"required": ["a", "c"]},
            "allOf": [{"properties": {"a": {"maxLength": 2}}}],
        });
        assert_eq!(
            check_spec(schema.clone(), json!({"b": "x", "c": "y"})),
            vec![]
        );
        assert_eq!(
            pairs(&check_spec(schema.clone(), json!({"b": "x"}))),
            vec![("spec", "must set at least one of: a, b and c")]
        );
        assert_eq!(
            pairs(&check_spec(schema, json!({"a": "xyz", "c": "y"}))),
            vec![
                ("spec.a", "must be at most 2 characters"),
                ("spec", "must not set a and c"),
            ]
        );
    }
}
