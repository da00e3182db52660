//! Problems found in resources, each naming the resource, the field path and the reason.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// Identifies one resource: its kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceId {
    /// Kind, for example `OAuthProvider`.
    pub kind: String,
    /// Namespace (`default` when a manifest leaves it out).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ResourceId {
    /// A resource id from its parts.
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One problem in one field of one resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// The resource at fault.
    pub resource: ResourceId,
    /// Path of the field at fault, for example `spec.regions[1].name`.
    pub path: String,
    /// Why, in words a platform engineer can act on.
    pub message: String,
    /// 1-based line inside the field's text (a template, a stylesheet), when the problem has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<usize>,
}

impl Diagnostic {
    /// A diagnostic for `resource` at `path`.
    pub fn new(resource: &ResourceId, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            resource: resource.clone(),
            path: path.into(),
            message: message.into(),
            within: None,
        }
    }

    /// The same diagnostic, at `line` inside the field's text.
    pub fn within(mut self, line: usize) -> Self {
        self.within = Some(line);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.resource, self.path, self.message)
    }
}

/// Path of the entry `key` of the mapping at `parent` (the path syntax of every diagnostic).
pub fn join_path(parent: &str, key: &str) -> String {
    let needs_brackets = key.is_empty()
        || key
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']') || c.is_control());
    if needs_brackets {
        // JSON string syntax keeps the key unambiguous and printable.
        let quoted = Value::String(key.to_owned()).to_string();
        format!("{parent}[{quoted}]")
    } else if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Path of item `i` of the sequence at `parent` (the path syntax of every diagnostic).
pub fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}
