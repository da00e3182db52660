//! Offline validation of a custom resource against its CRD's structural `openAPIV3Schema`.
//!
//! This mirrors what the Kubernetes API server checks before CEL rules run, with one
//! deliberate difference: where the API server silently prunes unknown fields (and nulls in
//! non-nullable fields), we report them, because in a hand-written manifest they are typos.
//! `x-kubernetes-validations` (CEL) is ignored here; it is checked elsewhere.

use std::collections::HashMap;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

// Paths are spelled the way the YAML reader records line positions, so the two line up.
use super::yaml::{index_path, join_path};

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

/// Where a node sits, which decides the checks that are implicit rather than in the schema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
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
struct Checker {
    patterns: HashMap<String, Result<Regex, String>>,
}

impl Checker {
    fn node(
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

    fn string(
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

    fn object(
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

    /// Built-in checks of apiVersion, kind and metadata, plus whatever the schema declares
    /// about them (structural schemas may only restrict metadata.name and generateName).
    fn envelope(
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

    fn junctors(
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

    fn regex(&mut self, pattern: &str) -> Result<Regex, String> {
        self.patterns
            .entry(pattern.to_owned())
            .or_insert_with(|| compile_go_regex(pattern))
            .clone()
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

fn number(s: &Map<String, Value>, n: &Number, path: &str, out: &mut Vec<SchemaViolation>) {
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
fn list_uniqueness(
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

/// kube-openapi's date-time check: a valid calendar date, 'T', then hh:mm:ss[.frac] and 'Z' or
/// an offset, case-insensitively.
fn is_date_time(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some((date, time)) = lower.split_once('t') else {
        return false;
    };
    is_date(date) && is_time(time)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) = (digits(&b[0..2]), digits(&b[3..5]), digits(&b[6..8]))
    else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    let mut rest = &b[8..];
    if rest.first() == Some(&b'.') {
        let frac = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return false;
        }
        rest = &rest[1 + frac..];
    }
    match rest {
        [b'z'] => true,
        [sign, h1, h2, b':', m1, m2] => {
            matches!(sign, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Compiles a Kubernetes (Go RE2) pattern with Rust's regex, translating the few places where
/// the two syntaxes differ in meaning.
fn compile_go_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&go_regex_to_rust(pattern))
        // Go reads \123 as an octal escape.
        .octal(true)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            // regex's syntax errors span several lines; keep the one that says what is wrong.
            let reason = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or_else(|| text.lines().last().unwrap_or_default())
                .to_owned();
            format!("not a valid regular expression ({reason})")
        })
}

/// Go's \d, \w, \s and \b are ASCII-only (Rust's are Unicode); Go takes '[' inside a class,
/// "&&", "~~", "--" and a '{' that starts no repetition literally, where Rust would not;
/// Go has \Q...\E, Rust does not.
fn go_regex_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut it = pattern.chars().peekable();
    let mut in_class = false;
    let mut prev_dash = false;
    while let Some(c) = it.next() {
        if c == '\\' {
            let Some(e) = it.next() else {
                out.push('\\');
                break;
            };
            prev_dash = false;
            if !in_class && e == 'Q' {
                let mut literal = String::new();
                while let Some(q) = it.next() {
                    if q == '\\' && it.peek() == Some(&'E') {
                        it.next();
                        break;
                    }
                    literal.push(q);
                }
                out.push_str(&regex::escape(&literal));
                continue;
            }
            let (outside, inside) = match e {
                'd' => ("[0-9]", "0-9"),
                'D' => ("[^0-9]", "[^0-9]"),
                'w' => ("[0-9A-Za-z_]", "0-9A-Za-z_"),
                'W' => ("[^0-9A-Za-z_]", "[^0-9A-Za-z_]"),
                's' => (r"[\t\n\f\r ]", r"\t\n\f\r "),
                'S' => (r"[^\t\n\f\r ]", r"[^\t\n\f\r ]"),
                'b' if !in_class => (r"(?-u:\b)", ""),
                'B' if !in_class => (r"(?-u:\B)", ""),
                _ => {
                    out.push('\\');
                    out.push(e);
                    continue;
                }
            };
            out.push_str(if in_class { inside } else { outside });
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if it.peek() == Some(&':') => {
                    // A POSIX class such as [:alpha:]; Rust reads it the same way.
                    out.push('[');
                    let mut last = '[';
                    for q in it.by_ref() {
                        out.push(q);
                        if last == ':' && q == ']' {
                            break;
                        }
                        last = q;
                    }
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if prev_dash => {
                    out.push_str(r"\-");
                    prev_dash = false;
                    continue;
                }
                _ => out.push(c),
            }
            prev_dash = c == '-';
            continue;
        }
        match c {
            '[' => {
                out.push('[');
                in_class = true;
                prev_dash = false;
                if it.peek() == Some(&'^') {
                    it.next();
                    out.push('^');
                }
                // A ']' first in a class is a literal in Go.
                if it.peek() == Some(&']') {
                    it.next();
                    out.push_str(r"\]");
                }
            }
            '{' => {
                let rest: String = it.clone().take_while(|&q| q != '}').collect();
                let closed = it.clone().nth(rest.chars().count()) == Some('}');
                if closed && is_repetition(&rest) {
                    out.push('{');
                    out.push_str(&rest);
                    out.push('}');
                    for _ in 0..=rest.chars().count() {
                        it.next();
                    }
                } else {
                    out.push_str(r"\{");
                }
            }
            '}' => out.push_str(r"\}"),
            _ => out.push(c),
        }
    }
    out
}

/// The inside of `{n}`, `{n,}` or `{n,m}`.
fn is_repetition(s: &str) -> bool {
    let (min, max) = match s.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (s, None),
    };
    let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    !min.is_empty() && all_digits(min) && max.is_none_or(all_digits)
}

// ---- small helpers ----

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
    use super::*;
    use serde_json::json;

    /// A resource around `spec`, with a valid envelope.
    fn resource(spec: Value) -> Value {
        json!({
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "metadata": {"name": "demo", "namespace": "default"},
            "spec": spec,
        })
    }

    /// A root schema whose `spec` is `spec`.
    fn root(spec: Value) -> Value {
        json!({"type": "object", "properties": {"spec": spec}})
    }

    fn pairs(v: &[SchemaViolation]) -> Vec<(&str, &str)> {
        v.iter()
            .map(|v| (v.path.as_str(), v.message.as_str()))
            .collect()
    }

    fn check_spec(spec_schema: Value, spec: Value) -> Vec<SchemaViolation> {
        check(&root(spec_schema), &resource(spec))
    }

    fn crd_schema(kind: &str) -> Value {
        let crd = crate::crd::all()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .expect("kind is defined");
        let crd = serde_json::to_value(crd).expect("serializes");
        crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
            .cloned()
            .expect("has a schema")
    }

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
    fn pattern() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "digits": {"type": "string", "pattern": "^\\d+$"},
            "broken": {"type": "string", "pattern": "^(unclosed$"},
            "braces": {"type": "string", "pattern": "^{x}$"},
        }});
        assert_eq!(
            check_spec(
                schema.clone(),
                json!({"name": "eu-west", "digits": "42", "braces": "{x}"})
            ),
            vec![]
        );
        let got = check_spec(
            schema,
            json!({"name": "EU_West", "digits": "٤٢", "broken": "x"}),
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].path, "spec.broken");
        assert!(
            got[0].message.contains("not a valid regular expression"),
            "{got:?}"
        );
        // Go's \d is ASCII only; Arabic-Indic digits do not match.
        assert_eq!(
            (got[1].path.as_str(), got[1].message.as_str()),
            ("spec.digits", "must match ^\\d+$")
        );
        assert_eq!(
            (got[2].path.as_str(), got[2].message.as_str()),
            ("spec.name", "must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        );
    }

    #[test]
    fn go_regex_translation() {
        let cases = [
            ("^\\w+$", "héllo", false),
            ("^\\w+$", "hello_1", true),
            ("^[\\d.]+$", "1.2", true),
            ("^[\\D]+$", "ab", true),
            ("^[]a]+$", "]a", true),
            ("^[[]+$", "[[", true),
            ("^[a&&b]+$", "&", true),
            ("^[+--]+$", ",", true),
            ("^[[:alpha:]]+$", "abc", true),
            ("^\\Q a.b \\E$", " a.b ", true),
            ("^\\Q a.b \\E$", " axb ", false),
            ("^a{2,3}$", "aaa", true),
            ("^a{,3}$", "a{,3}", true),
            ("^\\101$", "A", true),
            ("\\bfoo\\b", "a foo b", true),
        ];
        for (pattern, text, want) in cases {
            let re = compile_go_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(re.is_match(text), want, "{pattern} on {text:?}");
        }
    }

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
        for crd in crate::crd::all() {
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

    #[test]
    fn every_pattern_in_the_real_crds_compiles() {
        fn patterns<'a>(v: &'a Value, found: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        found.push(p);
                    }
                    m.values().for_each(|v| patterns(v, found));
                }
                Value::Array(a) => a.iter().for_each(|v| patterns(v, found)),
                _ => {}
            }
        }
        let crds = serde_json::to_value(crate::crd::all()).expect("serializes");
        let mut found = Vec::new();
        patterns(&crds, &mut found);
        assert!(!found.is_empty());
        for p in found {
            assert!(compile_go_regex(p).is_ok(), "{p}");
        }
    }
}
