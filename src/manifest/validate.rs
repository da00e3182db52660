//! `vestibule validate`: manifests on disk → schema and CEL checks → `compile` → findings with
//! `file:line`.
//!
//! The same pipeline feeds `vestibule dev`, so a local run accepts exactly what validation accepts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::schema;
use super::yaml::{YamlDocument, parse_documents};
use crate::config::bundle::DEFAULT_NAMESPACE;
use crate::config::{Diagnostic, ResourceId, Resources, RuntimeConfig, compile};
use crate::resources::API_VERSION;

/// A file or directory that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The manifests cannot be applied.
    Error,
    /// Works, but worth fixing (a theme below WCAG contrast).
    Warning,
    /// Worth knowing; nothing is wrong.
    Note,
}

/// One finding, located in a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// File the finding is in.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// Error or note.
    pub severity: Severity,
    /// `Kind/name` of the resource, when known.
    pub subject: Option<String>,
    /// Field path, when known.
    pub path: Option<String>,
    /// Why.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        match self.severity {
            Severity::Error => {}
            Severity::Warning => write!(f, "warning: ")?,
            Severity::Note => write!(f, "note: ")?,
        }
        if let Some(subject) = &self.subject {
            write!(f, "{subject}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// What validation found, and the configs of every Vestibule that compiled.
#[derive(Debug, Default)]
pub struct Report {
    /// Errors and notes, sorted by file and line.
    pub findings: Vec<Finding>,
    /// Compiled configs, by Vestibule.
    pub configs: Vec<(ResourceId, RuntimeConfig)>,
    /// Number of Vestibule resources read (all kinds).
    pub resources: usize,
    /// The resources that passed schema and CEL checks.
    pub accepted: Resources,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

/// Every `.yaml`/`.yml` file under the given paths (directories recursively), sorted.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = BTreeSet::new();
    for path in paths {
        collect_into(path, &mut files)?;
    }
    Ok(files.into_iter().collect())
}

fn collect_into(path: &Path, files: &mut BTreeSet<PathBuf>) -> Result<(), LoadError> {
    let read_err = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let child = entry.path();
            let is_yaml = child.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if child.is_dir() || is_yaml {
                collect_into(&child, files)?;
            }
        }
    } else {
        files.insert(path.to_owned());
    }
    Ok(())
}

/// The CRD schemas, with their CEL rules compiled once.
struct Schemas {
    by_kind: BTreeMap<String, (Value, CompiledSchema)>,
    cel: Validator,
}

impl Schemas {
    fn new() -> Self {
        let by_kind = crate::resources::crd::all()
            .into_iter()
            .filter_map(|crd| {
                let kind = crd.spec.names.kind.clone();
                let schema = crd
                    .spec
                    .versions
                    .first()?
                    .schema
                    .as_ref()?
                    .open_api_v3_schema
                    .as_ref()?;
                let schema = serde_json::to_value(schema).ok()?;
                let compiled = compile_schema(&schema);
                Some((kind, (schema, compiled)))
            })
            .collect();
        Self {
            by_kind,
            cel: Validator::new(),
        }
    }
}

/// Where each accepted resource was defined.
type Origins = BTreeMap<ResourceId, (PathBuf, YamlDocument)>;

/// Validates and compiles the manifests under `paths`. `previous` holds the manifests as they are
/// now (for example in the cluster or on the main branch), so immutable fields and other
/// transition rules are checked against them.
pub fn validate_paths(paths: &[PathBuf], previous: &[PathBuf]) -> Result<Report, LoadError> {
    let schemas = Schemas::new();
    let mut report = Report::default();

    let mut old_objects: BTreeMap<ResourceId, Value> = BTreeMap::new();
    for file in collect_files(previous)? {
        let text = read(&file)?;
        // Problems in the previous version are not this change's problems: only take what parses.
        for doc in parse_documents(&text).unwrap_or_default() {
            if let Some(id) = vestibule_resource_id(&doc.value) {
                old_objects.insert(id, doc.value);
            }
        }
    }

    let mut origins: Origins = BTreeMap::new();
    for file in collect_files(paths)? {
        let text = read(&file)?;
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                report.findings.push(Finding {
                    file: file.clone(),
                    line: e.line(),
                    severity: Severity::Error,
                    subject: None,
                    path: None,
                    message: format!("invalid YAML: {e}"),
                });
                continue;
            }
        };
        for doc in docs {
            read_document(
                &schemas,
                &file,
                doc,
                &old_objects,
                &mut origins,
                &mut report,
            );
        }
    }

    let (bundles, dangling) = report.accepted.bundles();
    let mut diagnostics = dangling;
    for bundle in &bundles {
        let id = crate::config::bundle::id_of(&bundle.vestibule);
        match compile(bundle) {
            // The cluster would refuse a config its ConfigMap cannot hold: say so here first.
            Ok(config) => match config.config_map_overflow() {
                Some(reason) => diagnostics.push(Diagnostic::new(&id, "spec", reason)),
                None => {
                    // Said on the theme that set the colors last (the end of its chain).
                    if let Some(theme) = config.theme.sources.last() {
                        let theme = ResourceId::new("Theme", &id.namespace, theme);
                        for (path, message) in crate::config::contrast_warnings(&config.theme) {
                            let mut found =
                                locate(&origins, Diagnostic::new(&theme, path, message));
                            found.severity = Severity::Warning;
                            report.findings.push(found);
                        }
                    }
                    report.configs.push((id, config));
                }
            },
            Err(mut found) => diagnostics.append(&mut found),
        }
    }
    for d in diagnostics {
        let located = locate(&origins, d);
        // compile re-checks the CEL rules (for callers that skip them); report each problem once.
        let already_reported = report.findings.iter().any(|f| {
            f.subject == located.subject
                && f.file == located.file
                && related(f.path.as_deref(), located.path.as_deref())
        });
        if !already_reported {
            report.findings.push(located);
        }
    }
    report.findings.sort();
    report.findings.dedup();
    Ok(report)
}

fn read(file: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(file).map_err(|source| LoadError::Read {
        path: file.to_owned(),
        source,
    })
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// The id of a document that claims to be a Vestibule resource.
fn vestibule_resource_id(value: &Value) -> Option<ResourceId> {
    if str_at(value, "/apiVersion")? != API_VERSION {
        return None;
    }
    Some(ResourceId::new(
        str_at(value, "/kind")?,
        str_at(value, "/metadata/namespace").unwrap_or(DEFAULT_NAMESPACE),
        str_at(value, "/metadata/name")?,
    ))
}

fn read_document(
    schemas: &Schemas,
    file: &Path,
    doc: YamlDocument,
    old_objects: &BTreeMap<ResourceId, Value>,
    origins: &mut Origins,
    report: &mut Report,
) {
    let finding = |doc: &YamlDocument,
                   severity,
                   subject: Option<String>,
                   path: Option<&str>,
                   message: String| {
        Finding {
            file: file.to_owned(),
            line: path.map_or(doc.line, |p| doc.line_of(p)),
            severity,
            subject,
            path: path.map(str::to_owned),
            message,
        }
    };
    let api_version = str_at(&doc.value, "/apiVersion")
        .unwrap_or_default()
        .to_owned();
    let kind = str_at(&doc.value, "/kind").unwrap_or_default().to_owned();
    let name = str_at(&doc.value, "/metadata/name").map(str::to_owned);
    let namespace = str_at(&doc.value, "/metadata/namespace")
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    if api_version.is_empty() || kind.is_empty() {
        report.findings.push(finding(
            &doc,
            Severity::Error,
            None,
            None,
            "not a Kubernetes object: apiVersion and kind are required".into(),
        ));
        return;
    }
    let subject = Some(match &name {
        Some(n) => format!("{kind}/{n}"),
        None => kind.clone(),
    });

    if api_version == "v1" && kind == "Secret" {
        let keys = ["/data", "/stringData"]
            .iter()
            .filter_map(|p| doc.value.pointer(p).and_then(Value::as_object))
            .flat_map(|m| m.keys().cloned())
            .collect();
        if let Some(name) = name {
            report.accepted.secrets.insert((namespace, name), keys);
        }
        return;
    }
    if !api_version.starts_with("vestibule.dev/") {
        report.findings.push(finding(
            &doc,
            Severity::Note,
            subject,
            None,
            format!("ignoring {api_version} {kind}: not a Vestibule resource"),
        ));
        return;
    }
    report.resources += 1;
    if api_version != API_VERSION {
        report.findings.push(finding(
            &doc,
            Severity::Error,
            subject,
            Some("apiVersion"),
            format!("unknown apiVersion {api_version:?}; expected {API_VERSION:?}"),
        ));
        return;
    }
    let Some((schema, compiled)) = schemas.by_kind.get(&kind) else {
        let known: Vec<&str> = schemas.by_kind.keys().map(String::as_str).collect();
        report.findings.push(finding(
            &doc,
            Severity::Error,
            subject,
            Some("kind"),
            format!(
                "unknown kind {kind:?}; expected one of {}",
                known.join(", ")
            ),
        ));
        return;
    };

    let violations = schema::check(schema, &doc.value);
    if !violations.is_empty() {
        for v in violations {
            report.findings.push(finding(
                &doc,
                Severity::Error,
                subject.clone(),
                Some(&v.path),
                v.message,
            ));
        }
        return;
    }
    // Structural checks passed, so the name exists; CEL runs on a well-typed object only.
    let id = ResourceId::new(&kind, &namespace, name.as_deref().unwrap_or_default());
    let old = old_objects.get(&id);
    // A CEL failure is reported but the object is still compiled: it is well-typed, and compile
    // finds the problems CEL cannot see (references, other resources).
    if let Err(errors) = schemas.cel.validate_compiled(compiled, &doc.value, old) {
        for e in errors.iter() {
            let path = e.field_path.trim_start_matches('.');
            report.findings.push(finding(
                &doc,
                Severity::Error,
                subject.clone(),
                Some(path),
                e.message.clone(),
            ));
        }
    }
    if let Some((first_file, first_doc)) = origins.get(&id) {
        report.findings.push(finding(
            &doc,
            Severity::Error,
            subject,
            Some("metadata.name"),
            format!(
                "{} is defined twice in namespace {namespace:?} (first at {}:{})",
                id,
                first_file.display(),
                first_doc.line_of("metadata.name")
            ),
        ));
        return;
    }
    let accepted = &mut report.accepted;
    let stored = match kind.as_str() {
        "Vestibule" => push(&mut accepted.vestibules, &doc.value),
        "OAuthProvider" => push(&mut accepted.providers, &doc.value),
        "MfaPolicy" => push(&mut accepted.mfa_policies, &doc.value),
        "Organization" => push(&mut accepted.organizations, &doc.value),
        "Theme" => push(&mut accepted.themes, &doc.value),
        "Application" => push(&mut accepted.applications, &doc.value),
        _ => Err(format!("kind {kind} has a schema but no type")),
    };
    match stored {
        Ok(()) => {
            origins.insert(id, (file.to_owned(), doc));
        }
        Err(message) => {
            report
                .findings
                .push(finding(&doc, Severity::Error, subject, None, message))
        }
    }
}

/// Whether two field paths are the same field or one contains the other.
fn related(a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let within = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    };
    within(a, b) || within(b, a)
}

fn push<K: DeserializeOwned>(list: &mut Vec<K>, value: &Value) -> Result<(), String> {
    let typed = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    list.push(typed);
    Ok(())
}

fn locate(origins: &Origins, d: Diagnostic) -> Finding {
    let (file, line) = match origins.get(&d.resource) {
        // A line inside a field's text counts from the line after its key: the first line of a
        // block scalar (`|`), the way templates and stylesheets are written.
        Some((file, doc)) => (file.clone(), doc.line_of(&d.path) + d.within.unwrap_or(0)),
        None => (PathBuf::from("<unknown>"), 0),
    };
    Finding {
        file,
        line,
        severity: Severity::Error,
        subject: Some(d.resource.to_string()),
        path: Some(d.path),
        message: d.message,
    }
}
