//! The layering of `src/`, checked on the source itself (docs/architecture.md draws it).
//!
//! Every top-level module has a list of the top-level modules it may use; an import outside that
//! list, a rule the layering depends on (the auth domain knows no HTTP, HTTP knows no operator,
//! the operator knows neither HTTP nor the auth domain), or an import loop between top-level
//! modules fails the test with the file and line. Comments and string literals do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each top-level module may import. Read it bottom-up: a module only
/// uses modules listed above it. `cli` wires everything together and may use anything.
const LAYERS: &[(&str, &[&str])] = &[
    ("resources", &[]),
    ("crypto", &[]),
    ("i18n", &[]),
    ("ui", &["i18n"]),
    ("store", &["crypto"]),
    ("config", &["i18n", "resources", "ui"]),
    ("email", &["config", "i18n", "ui"]),
    ("manifest", &["config", "resources"]),
    ("render", &["config", "crypto", "manifest", "resources"]),
    (
        "runtime",
        &["config", "crypto", "email", "i18n", "manifest", "ui"],
    ),
    (
        "auth",
        &["config", "crypto", "email", "i18n", "runtime", "store"],
    ),
    (
        "http",
        &[
            "auth", "config", "crypto", "email", "i18n", "runtime", "store", "ui",
        ],
    ),
    (
        "operator",
        &["config", "crypto", "manifest", "render", "resources"],
    ),
    (
        "cli",
        &[
            "auth",
            "config",
            "crypto",
            "email",
            "http",
            "i18n",
            "manifest",
            "operator",
            "render",
            "resources",
            "runtime",
            "store",
            "ui",
        ],
    ),
];

/// Names a module must never mention, whatever the table above says: the rules the layering
/// exists for. Each entry: module, forbidden path prefix, why.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("auth", "axum", "the auth domain knows no HTTP framework"),
    (
        "auth",
        "http::",
        "the auth domain knows no HTTP types or faces",
    ),
    ("auth", "tower::", "the auth domain knows no HTTP layers"),
    (
        "auth",
        "tower_http::",
        "the auth domain knows no HTTP layers",
    ),
    ("auth", "crate::http", "the auth domain knows no HTTP faces"),
    (
        "http",
        "crate::operator",
        "the server does not depend on the operator",
    ),
    (
        "operator",
        "crate::http",
        "the operator does not depend on the server",
    ),
    (
        "operator",
        "crate::auth",
        "the operator does not depend on the auth domain",
    ),
];

/// One broken rule.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The source with comments and string/char literals blanked out (newlines kept, so line
/// numbers stay right).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('#') | Some('"'))
            && !is_ident_char(prev(&chars, i))
        {
            // Raw string: r"..." or r#"..."#, any number of hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            for &ch in &chars[i..j.min(chars.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || (next == Some('\\'))) {
            // A char literal ('x', '\n', '\''); a lifetime ('a) has no closing quote.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\\') {
                j += 2;
            } else {
                j += 1;
            }
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            for &ch in &chars[i..(j + 1).min(chars.len())] {
                out.push(blank(ch));
            }
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 { ' ' } else { chars[i - 1] }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier starting at byte `at` of `text`.
fn ident_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest
        .char_indices()
        .find(|(_, c)| !is_ident_char(*c))
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The top-level modules a file's code names, with the line of each mention: `crate::x`,
/// `crate::{x, y}`, and `super::` chains that climb out to the crate root.
fn imports(module_path: &[String], code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line_no = n + 1;
        let mut search = 0;
        while let Some(pos) = line[search..].find("crate::") {
            let at = search + pos;
            search = at + "crate::".len();
            if at > 0 && is_ident_char(line[..at].chars().last().unwrap_or(' ')) {
                continue;
            }
            let after = &line[search..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or_default();
                for item in inner.split(',') {
                    let name = item.trim().split("::").next().unwrap_or_default().trim();
                    if !name.is_empty() {
                        found.push((name.to_owned(), line_no));
                    }
                }
            } else {
                let name = ident_at(line, search);
                if !name.is_empty() {
                    found.push((name.to_owned(), line_no));
                }
            }
        }
        let mut search = 0;
        while let Some(pos) = line[search..].find("super::") {
            let at = search + pos;
            if at > 0 && is_ident_char(line[..at].chars().last().unwrap_or(' ')) {
                search = at + 1;
                continue;
            }
            let mut depth = 0;
            let mut cursor = at;
            while line[cursor..].starts_with("super::") {
                depth += 1;
                cursor += "super::".len();
            }
            search = cursor;
            if depth >= module_path.len() {
                let name = ident_at(line, cursor);
                if !name.is_empty() {
                    found.push((name.to_owned(), line_no));
                }
            }
        }
    }
    found
}

/// Whether `code` mentions the path prefix `name` (as a whole identifier at its start), and on
/// which lines.
fn mentions(code: &str, name: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut search = 0;
        while let Some(pos) = line[search..].find(name) {
            let at = search + pos;
            search = at + name.len();
            let before = line[..at].chars().last().unwrap_or(' ');
            // `crate::http` must not be matched inside `crate::https_only`; `http::` must not be
            // matched inside `crate::http::` twice over or inside `xhttp::`.
            let after = line[search..].chars().next().unwrap_or(' ');
            let ends_cleanly = name.ends_with("::") || !is_ident_char(after);
            if !is_ident_char(before) && ends_cleanly {
                lines.push(n + 1);
                break;
            }
        }
    }
    lines
}

/// The module path of a file under `src/`: `auth/flows/sign_in.rs` → `[auth, flows, sign_in]`,
/// `auth/mod.rs` → `[auth]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    parts
}

/// Checks `files` (path relative to `src/`, source) against `layers` and [`FORBIDDEN`].
fn check(files: &[(PathBuf, String)], layers: &[(&str, &[&str])]) -> Vec<Violation> {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = layers
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect();
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    for (path, source) in files {
        let module = module_path(path);
        let Some(top) = module.first().cloned() else {
            continue;
        };
        if module.len() == 1 && matches!(top.as_str(), "lib" | "main") {
            continue;
        }
        let file = format!("src/{}", path.display());
        let code = code_only(source);
        let Some(may_use) = allowed.get(top.as_str()) else {
            violations.push(Violation {
                file,
                line: 1,
                message: format!(
                    "top-level module `{top}` has no place in the layers: add it to LAYERS and docs/architecture.md"
                ),
            });
            continue;
        };
        for (name, line) in imports(&module, &code) {
            if name == top || !allowed.contains_key(name.as_str()) {
                continue;
            }
            graph
                .entry(top.clone())
                .or_default()
                .entry(name.clone())
                .or_insert((file.clone(), line));
            if !may_use.contains(name.as_str()) {
                violations.push(Violation {
                    file: file.clone(),
                    line,
                    message: format!("`{top}` may not import `{name}` (it may use: {may_use:?})"),
                });
            }
        }
        for (module_name, prefix, why) in FORBIDDEN {
            if *module_name != top {
                continue;
            }
            for line in mentions(&code, prefix) {
                violations.push(Violation {
                    file: file.clone(),
                    line,
                    message: format!("`{top}` names `{prefix}`: {why}"),
                });
            }
        }
    }
    for cycle in cycles(&graph) {
        let (file, line) = graph[&cycle[0]][&cycle[1]].clone();
        violations.push(Violation {
            file,
            line,
            message: format!(
                "import loop between top-level modules: {}",
                cycle.join(" -> ")
            ),
        });
    }
    violations
}

/// Every elementary loop found by a depth-first search, each as `[a, b, ..., a]`, reported once
/// per back edge.
fn cycles(graph: &BTreeMap<String, BTreeMap<String, (String, usize)>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, (String, usize)>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(start) = stack.iter().position(|n| n == next) {
                let mut cycle = stack[start..].to_vec();
                cycle.push(next.clone());
                found.push(cycle);
            } else if !done.contains(next) {
                visit(next, graph, stack, done, found);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if !done.contains(node) {
            visit(node, graph, &mut Vec::new(), &mut done, &mut found);
        }
    }
    found
}

fn source_files(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("source is UTF-8");
            let relative = path.strip_prefix(root).expect("under src").to_path_buf();
            out.push((relative, source));
        }
    }
}

#[test]
fn the_source_tree_keeps_its_layers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &root, &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let violations = check(&files, LAYERS);
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(report.is_empty(), "\n{}", report.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(root.join("lib.rs")).expect("lib.rs");
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    assert_eq!(declared, layered);
}

fn file(path: &str, source: &str) -> (PathBuf, String) {
    (PathBuf::from(path), source.to_owned())
}

fn messages(files: &[(PathBuf, String)], layers: &[(&str, &[&str])]) -> Vec<String> {
    check(files, layers)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn http_in_the_auth_domain_is_refused() {
    let found = messages(
        &[file(
            "auth/flows/sign_in.rs",
            "use crate::store::User;\nuse axum::http::StatusCode;\n",
        )],
        LAYERS,
    );
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("src/auth/flows/sign_in.rs:2:") && m.contains("`axum`")),
        "{found:?}"
    );
    assert!(found.iter().any(|m| m.contains("`http::`")), "{found:?}");
    let found = messages(
        &[file(
            "auth/mod.rs",
            "fn f() { crate::http::pages::see_other(); }\n",
        )],
        LAYERS,
    );
    assert!(
        found.iter().any(|m| m.contains("may not import `http`")),
        "{found:?}"
    );
    // The same import through `super::` from a domain module's root.
    let found = messages(
        &[file("auth/mod.rs", "use super::http::state::AppState;\n")],
        LAYERS,
    );
    assert!(
        found.iter().any(|m| m.contains("may not import `http`")),
        "{found:?}"
    );
}

#[test]
fn the_operator_and_the_server_do_not_import_each_other() {
    let found = messages(
        &[
            file(
                "http/ops.rs",
                "use crate::operator::run::OperatorOptions;\n",
            ),
            file("operator/reconcile.rs", "use crate::{auth::Ctx, config};\n"),
            file(
                "operator/mod.rs",
                "fn f() { let _ = crate::http::router; }\n",
            ),
        ],
        LAYERS,
    );
    for expected in [
        "src/http/ops.rs:1: `http` names `crate::operator`",
        "src/operator/reconcile.rs:1: `operator` may not import `auth`",
        "src/operator/mod.rs:1: `operator` names `crate::http`",
    ] {
        assert!(
            found.iter().any(|m| m.starts_with(expected)),
            "{expected}\n{found:?}"
        );
    }
}

#[test]
fn a_lower_layer_importing_an_upper_one_is_refused() {
    let found = messages(&[file("store/users.rs", "use crate::auth::Ctx;\n")], LAYERS);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("`store` may not import `auth`"),
        "{found:?}"
    );
}

#[test]
fn an_import_loop_between_top_level_modules_is_refused() {
    // A table that allows both directions, so only the loop check can catch it.
    let permissive: &[(&str, &[&str])] = &[("config", &["email"]), ("email", &["config"])];
    let found = messages(
        &[
            file("config/mod.rs", "use crate::email::Mailer;\n"),
            file("email/mod.rs", "\n\nuse crate::config::RuntimeConfig;\n"),
        ],
        permissive,
    );
    assert_eq!(
        found,
        vec![
            "src/config/mod.rs:1: import loop between top-level modules: config -> email -> config"
        ]
    );
    // Three modules around.
    let ring: &[(&str, &[&str])] = &[("a", &["b"]), ("b", &["c"]), ("c", &["a"])];
    let found = messages(
        &[
            file("a/mod.rs", "use crate::b::X;\n"),
            file("b/mod.rs", "use crate::c::X;\n"),
            file("c/mod.rs", "use crate::a::X;\n"),
        ],
        ring,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a -> b -> c -> a"), "{found:?}");
}

#[test]
fn comments_and_strings_are_not_imports() {
    let source = r###"//! Talks about `crate::http` and axum in docs.
/* crate::operator */
const CSS: &str = r#"a "crate::http" b"#;
const TEXT: &str = "use axum; crate::http::x \" crate::operator";
fn f<'a>(x: &'a str) -> char { let _ = x; '"' }
use crate::store::User;
"###;
    let found = messages(&[file("auth/mod.rs", source)], LAYERS);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_unlisted_top_level_module_must_be_placed() {
    let found = messages(
        &[file("telemetry/mod.rs", "use crate::store::Store;\n")],
        LAYERS,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("has no place in the layers"), "{found:?}");
}
