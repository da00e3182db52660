//! The CRDs: generated files match the code, and every schema obeys the rules the API server
//! applies to CRD schemas (structural schema, formats, CEL rules that compile within budget).

use std::path::Path;

use kube::core::cel::compile_schema;
use serde_json::Value;

const CRD_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crds");

#[test]
fn crds_directory_matches_the_code() {
    let crds = vestibule::resources::crd::all();
    assert_eq!(crds.len(), 6, "one CRD per kind");
    let mut expected_files = Vec::new();
    for crd in &crds {
        let name = vestibule::resources::crd::file_name(crd);
        let path = Path::new(CRD_DIR).join(&name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo run -- crd --output-dir crds`",
                path.display()
            )
        });
        assert!(
            on_disk == vestibule::manifest::crds::to_yaml(crd),
            "{} is out of date; run `cargo run -- crd --output-dir crds`",
            path.display()
        );
        expected_files.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir(CRD_DIR)
        .expect("crds/ exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    expected_files.sort();
    assert_eq!(
        present, expected_files,
        "crds/ holds exactly one file per kind"
    );
}

#[test]
fn crd_command_prints_every_crd() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .arg("crd")
        .output()
        .expect("run vestibule crd");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text, vestibule::manifest::crds::all_to_yaml());
    let docs = vestibule::manifest::yaml::parse_documents(&text).expect("valid YAML");
    let kinds: Vec<&str> = docs
        .iter()
        .filter_map(|d| d.value.pointer("/spec/names/kind").and_then(Value::as_str))
        .collect();
    assert_eq!(
        kinds,
        [
            "Vestibule",
            "OAuthProvider",
            "MfaPolicy",
            "Organization",
            "Theme",
            "Application"
        ]
    );
    // The YAML is the CRD, not an approximation of it.
    for (doc, crd) in docs.iter().zip(vestibule::resources::crd::all()) {
        assert_eq!(doc.value, serde_json::to_value(&crd).expect("json"));
    }
}

/// kubectl expands `TYPE` through categories before names: a category spelled like a kind's
/// singular, plural or short name makes `kubectl get vestibule NAME` address every kind in the
/// category ("you must specify only one resource").
#[test]
fn no_category_is_spelled_like_a_resource_name() {
    let crds = vestibule::resources::crd::all();
    let mut names = std::collections::BTreeSet::new();
    for crd in &crds {
        let n = &crd.spec.names;
        names.insert(n.kind.to_lowercase());
        names.insert(n.plural.clone());
        names.extend(n.singular.clone());
        names.extend(n.short_names.clone().unwrap_or_default());
    }
    // Built-in kinds kubectl users type every day must not be shadowed either.
    names.extend(
        [
            "all",
            "secret",
            "secrets",
            "deployment",
            "deployments",
            "service",
            "services",
        ]
        .map(String::from),
    );
    for crd in &crds {
        for category in crd.spec.names.categories.clone().unwrap_or_default() {
            assert!(
                !names.contains(&category),
                "{}: category {category:?} is also a resource name",
                crd.spec.names.kind
            );
        }
    }
}

#[test]
fn crds_are_namespaced_with_status_short_names_and_printer_columns() {
    for crd in vestibule::resources::crd::all() {
        let kind = &crd.spec.names.kind;
        assert_eq!(crd.spec.group, "vestibule.dev");
        assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
        assert!(
            !crd.spec
                .names
                .short_names
                .clone()
                .unwrap_or_default()
                .is_empty(),
            "{kind}"
        );
        assert_eq!(
            crd.spec.names.categories.clone().unwrap_or_default(),
            ["vestibule-all"],
            "{kind}"
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(version.served && version.storage);
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{kind} has a status subresource"
        );
        let columns: Vec<String> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect();
        assert!(
            columns.contains(&"Ready".to_string()),
            "{kind} shows Ready: {columns:?}"
        );
    }
}

fn schema_of(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Value {
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema"),
    )
    .expect("json")
}

/// Keys the API server forbids anywhere in a v1 CRD schema.
const FORBIDDEN_KEYS: &[&str] = &[
    "$ref",
    "$schema",
    "definitions",
    "$defs",
    "dependencies",
    "patternProperties",
    "additionalItems",
    "id",
    "const",
    "examples",
];

/// Keys that must not appear inside allOf/anyOf/oneOf/not (structural rule 3).
const FORBIDDEN_IN_JUNCTORS: &[&str] = &[
    "type",
    "description",
    "default",
    "additionalProperties",
    "nullable",
];

const STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "date-time",
];

/// Checks the structural-schema rules of
/// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
/// plus the v1 restrictions on keys and formats.
fn structural_violations(node: &Value, path: &str, in_junctor: bool, out: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    for key in FORBIDDEN_KEYS {
        if obj.contains_key(*key) {
            out.push(format!("{path}: {key} is not allowed in a CRD schema"));
        }
    }
    if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
        out.push(format!("{path}: uniqueItems: true is forbidden"));
    }
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if preserve {
        out.push(format!("{path}: x-kubernetes-preserve-unknown-fields is not intended anywhere in Vestibule's CRDs"));
    }
    if in_junctor {
        for key in FORBIDDEN_IN_JUNCTORS {
            if obj.contains_key(*key) && !int_or_string {
                out.push(format!("{path}: {key} inside allOf/anyOf/oneOf/not"));
            }
        }
    } else {
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
        if ty.is_empty() && !int_or_string && !preserve {
            out.push(format!("{path}: no type"));
        }
        let format = obj.get("format").and_then(Value::as_str);
        match (ty, format) {
            (_, None) => {}
            ("integer", Some(f)) if ["int32", "int64"].contains(&f) => {}
            ("number", Some(f)) if ["float", "double"].contains(&f) => {}
            ("string", Some(f)) if STRING_FORMATS.contains(&f) => {}
            (t, Some(f)) => out.push(format!(
                "{path}: format {f:?} is not one the API server knows for type {t:?}"
            )),
        }
        if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
            out.push(format!(
                "{path}: properties and additionalProperties are mutually exclusive"
            ));
        }
        if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
            out.push(format!("{path}: additionalProperties: false is forbidden"));
        }
        if ty != "array" && obj.contains_key("items") {
            out.push(format!("{path}: items on a non-array"));
        }
        if ty == "array" && !obj.contains_key("items") {
            out.push(format!("{path}: array without items"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            structural_violations(child, &format!("{path}.{name}"), in_junctor, out);
        }
    }
    if let Some(items) = obj.get("items") {
        structural_violations(items, &format!("{path}[]"), in_junctor, out);
    }
    if let Some(additional) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        structural_violations(additional, &format!("{path}{{}}"), in_junctor, out);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for (i, branch) in obj
            .get(junctor)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            structural_violations(branch, &format!("{path}.{junctor}[{i}]"), true, out);
        }
    }
    if let Some(not) = obj.get("not") {
        structural_violations(not, &format!("{path}.not"), true, out);
    }
}

#[test]
fn crd_schemas_are_structural() {
    for crd in vestibule::resources::crd::all() {
        let schema = schema_of(&crd);
        let mut violations = Vec::new();
        structural_violations(&schema, &crd.spec.names.kind, false, &mut violations);
        // Rule 4: only name and generateName may be restricted in metadata.
        if let Some(meta) = schema
            .pointer("/properties/metadata")
            .and_then(Value::as_object)
        {
            for key in meta
                .keys()
                .filter(|k| !["type", "properties"].contains(&k.as_str()))
            {
                violations.push(format!(
                    "{}.metadata: {key} is not allowed",
                    crd.spec.names.kind
                ));
            }
            for prop in meta
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|p| p.keys())
            {
                if !["name", "generateName"].contains(&prop.as_str()) {
                    violations.push(format!(
                        "{}.metadata: only name and generateName may be restricted, not {prop}",
                        crd.spec.names.kind
                    ));
                }
            }
        }
        assert!(
            violations.is_empty(),
            "{} is not structural:\n{}",
            crd.spec.names.kind,
            violations.join("\n")
        );
    }
}

#[test]
fn the_structural_check_catches_what_the_api_server_refuses() {
    // The checker above must itself fail on the classic mistakes, or the test above proves nothing.
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "count": {"type": "integer", "format": "uint32"},
            "choice": {"type": "object", "anyOf": [{"type": "string"}, {"type": "integer"}]},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "both": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "link": {"$ref": "#/definitions/x"}
        }
    });
    let mut violations = Vec::new();
    structural_violations(&bad, "Bad", false, &mut violations);
    for expected in [
        "Bad.untyped: no type",
        "uint32",
        "type inside allOf/anyOf/oneOf/not",
        "preserve-unknown-fields",
        "mutually exclusive",
        "$ref",
    ] {
        assert!(
            violations.iter().any(|v| v.contains(expected)),
            "missing {expected:?} in {violations:#?}"
        );
    }
}

#[test]
fn every_field_has_a_description() {
    fn walk(node: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                let child_path = format!("{path}.{name}");
                let top_level = path.matches('.').count() == 0
                    && ["apiVersion", "kind", "metadata"].contains(&name.as_str());
                let described = child
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| !d.trim().is_empty());
                if !described && !top_level {
                    out.push(child_path.clone());
                }
                walk(child, &child_path, out);
            }
        }
        if let Some(items) = node.get("items") {
            walk(items, &format!("{path}[]"), out);
        }
        if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
            walk(additional, &format!("{path}{{}}"), out);
        }
    }
    let mut missing = Vec::new();
    for crd in vestibule::resources::crd::all() {
        walk(&schema_of(&crd), &crd.spec.names.kind, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without a doc comment:\n{}",
        missing.join("\n")
    );
}

/// Kubernetes' per-rule CEL cost limit (apiextensions: `PerCallLimit`).
const COST_BUDGET: u64 = 1_000_000;

/// A conservative cost bound for one rule: every list the rule iterates must declare `maxItems`,
/// and nested comprehensions multiply (the API server refuses a CRD whose worst case is too big).
/// kube-cel's own estimator picks an arbitrary list of the node, so it cannot be used for this.
fn rule_cost_problems(rule: &str, node: &Value, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let properties = node.get("properties").and_then(Value::as_object);
    let comprehensions = ["all(", "exists(", "exists_one(", "map(", "filter("]
        .iter()
        .map(|m| rule.matches(m).count())
        .sum::<usize>();
    let mut worst: u64 = 1;
    for (name, schema) in properties.into_iter().flatten() {
        let referenced =
            rule.contains(&format!("self.{name}.")) || rule.contains(&format!("in self.{name}"));
        if !referenced || schema.get("type").and_then(Value::as_str) != Some("array") {
            continue;
        }
        match schema.get("maxItems").and_then(Value::as_u64) {
            None => problems.push(format!(
                "{path}: {rule}: iterates self.{name}, which has no maxItems"
            )),
            Some(max) => worst = worst.max(max),
        }
    }
    let depth = u32::try_from(comprehensions.max(1)).unwrap_or(u32::MAX);
    let cost = worst.saturating_pow(depth).saturating_mul(100);
    if cost > COST_BUDGET {
        problems.push(format!(
            "{path}: {rule}: worst case {cost} exceeds the CEL cost budget {COST_BUDGET}"
        ));
    }
    problems
}

#[test]
fn cel_rules_compile_and_fit_the_cost_budget() {
    fn walk(node: &Value, path: &str, count: &mut usize, out: &mut Vec<String>) {
        if let Some(rules) = node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        {
            for e in compile_schema(node).compilation_errors() {
                out.push(format!("{path}: {e}"));
            }
            for rule in rules
                .iter()
                .filter_map(|r| r.get("rule").and_then(Value::as_str))
            {
                *count += 1;
                out.extend(rule_cost_problems(rule, node, path));
            }
        }
        for (key, child) in node.as_object().into_iter().flatten() {
            match key.as_str() {
                "properties" => {
                    for (name, c) in child.as_object().into_iter().flatten() {
                        walk(c, &format!("{path}.{name}"), count, out);
                    }
                }
                "items" | "additionalProperties" => walk(child, &format!("{path}[]"), count, out),
                _ => {}
            }
        }
    }
    let mut problems = Vec::new();
    let mut count = 0;
    for crd in vestibule::resources::crd::all() {
        walk(
            &schema_of(&crd),
            &crd.spec.names.kind,
            &mut count,
            &mut problems,
        );
    }
    assert!(
        count >= 15,
        "expected the CEL rules to be in the CRDs, found {count}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check itself must bite: an unbounded list under a nested comprehension is refused.
    let unbounded = serde_json::json!({"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "string"}}}});
    assert!(
        !rule_cost_problems(
            "self.xs.all(a, self.xs.exists_one(b, a == b))",
            &unbounded,
            "T"
        )
        .is_empty()
    );
}

#[test]
fn crd_reference_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/crd-reference.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == vestibule::resources::crd::reference_markdown(),
        "docs/crd-reference.md is out of date; run `cargo run -- crd --reference > docs/crd-reference.md`"
    );
    for needle in [
        "`spec.regions[].replicas`",
        "`spec.clientSecretRef.key`",
        "region names must be unique",
    ] {
        assert!(on_disk.contains(needle), "reference lacks {needle}");
    }
}

#[test]
fn theming_reference_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/theming.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == vestibule::cli::theming::reference(),
        "docs/theming.md is out of date; run `cargo run -- crd --theming > docs/theming.md`"
    );
    for component in vestibule::ui::COMPONENTS {
        assert!(
            on_disk.contains(&format!("### `{}`", component.name)),
            "{}",
            component.name
        );
    }
    for needle in [
        "`--vst-color-primary`",
        "`signIn.title`",
        "`data-part=\"NAME\"`",
    ] {
        assert!(on_disk.contains(needle), "reference lacks {needle}");
    }
}
