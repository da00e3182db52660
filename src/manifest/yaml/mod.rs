//! YAML manifests as JSON values, with the source line of every node.
//!
//! Built on yaml-rust2's event parser rather than its `Yaml` tree, because the tree drops
//! positions and manifest diagnostics need `file:line`. The parts: `builder` turns parser
//! events into [`YamlDocument`]s, `scalar` resolves scalars under the YAML 1.2 core schema,
//! and `emit` writes JSON values back out as YAML.

mod builder;
mod emit;
mod scalar;
#[cfg(test)]
mod test_support;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;
use yaml_rust2::parser::{Event, Parser};

use self::builder::Builder;
pub use self::emit::to_yaml_documents;

/// Deepest nesting of mappings and sequences accepted. Manifests are far shallower; the limit
/// keeps hostile input from exhausting the stack (dropping a `Value` recurses).
const MAX_DEPTH: usize = 128;

/// Most nodes that aliases may copy into one document, against "billion laughs" input.
const MAX_ALIAS_NODES: usize = 100_000;

/// One YAML document of a manifest file, as JSON, with the line of every node.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlDocument {
    /// The document's content (YAML 1.2 core schema scalars: null/~/empty → null, true/false
    /// (also True/TRUE) → bool, decimal/0x/0o ints → number, floats incl. .inf/.nan → number
    /// where representable else string; quoted scalars are always strings).
    pub value: Value,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// 1-based line of each node, keyed by its path: `""` for the root, `spec`, `spec.regions[0]`,
    /// `spec.regions[0].name`. For a mapping entry the line is the line of its KEY. Keys
    /// containing '.', '[' or ']' (or empty, or with control characters) are written as
    /// `["key"]` in JSON string syntax, e.g. `metadata.annotations["example.com/x"]`.
    pub lines: BTreeMap<String, usize>,
}

impl YamlDocument {
    /// Line of the node at `path`, or of its nearest ancestor that exists (so a missing field
    /// reports the line of the object that should hold it).
    pub fn line_of(&self, path: &str) -> usize {
        if let Some(&line) = self.lines.get(path) {
            return line;
        }
        // Try prefixes ending at segment starts ('.' or '['), longest first. A cut inside a
        // ["…"] key yields a string no path ever has, so the brackets need no parsing.
        for (i, byte) in path.bytes().enumerate().rev() {
            if (byte == b'.' || byte == b'[')
                && let Some(&line) = self.lines.get(&path[..i])
            {
                return line;
            }
        }
        self.lines.get("").copied().unwrap_or(self.line)
    }
}

pub use crate::config::diagnostic::{index_path, join_path};

/// A YAML syntax error, or a construct a manifest cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML.
    #[error("{message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// The parser's description.
        message: String,
    },
    /// A key appears twice in one mapping.
    #[error("duplicate key {key:?} (first defined on line {first_line})")]
    DuplicateKey {
        /// 1-based line of the second occurrence.
        line: usize,
        /// The repeated key.
        key: String,
        /// 1-based line of the first occurrence.
        first_line: usize,
    },
    /// A mapping key that is itself a mapping or sequence.
    #[error("mapping keys must be scalars, not mappings or sequences")]
    ComplexKey {
        /// 1-based line of the key.
        line: usize,
    },
    /// A `<<` merge key.
    #[error("merge keys (<<) are not supported; write the merged keys out")]
    MergeKey {
        /// 1-based line of the key.
        line: usize,
    },
    /// A tag other than the core schema's `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`,
    /// `!!map`, `!!seq` and the non-specific `!`.
    #[error("unsupported tag {tag} on a {kind}")]
    UnsupportedTag {
        /// 1-based line of the tagged node.
        line: usize,
        /// The tag as written (`!!binary`, `!foo`).
        tag: String,
        /// "scalar", "mapping" or "sequence".
        kind: &'static str,
    },
    /// A scalar whose text does not fit its explicit tag, e.g. `!!int abc`.
    #[error("{value:?} is not a valid {tag}")]
    InvalidTaggedScalar {
        /// 1-based line of the scalar.
        line: usize,
        /// The scalar's text.
        value: String,
        /// The tag as written.
        tag: String,
    },
    /// An alias to an anchor of another document, or to a node that contains the alias.
    #[error("alias refers to an anchor that is not a complete node earlier in this document")]
    UnresolvableAlias {
        /// 1-based line of the alias.
        line: usize,
    },
    /// Nesting deeper than the manifest limit.
    #[error("mappings and sequences nest deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// 1-based line where the limit was passed.
        line: usize,
    },
    /// Aliases expanding to too many nodes.
    #[error("aliases expand to more than {MAX_ALIAS_NODES} nodes")]
    AliasExpansion {
        /// 1-based line of the alias that passed the limit.
        line: usize,
    },
}

impl YamlError {
    /// 1-based line the error refers to.
    pub fn line(&self) -> usize {
        match self {
            YamlError::Syntax { line, .. }
            | YamlError::DuplicateKey { line, .. }
            | YamlError::ComplexKey { line }
            | YamlError::MergeKey { line }
            | YamlError::UnsupportedTag { line, .. }
            | YamlError::InvalidTaggedScalar { line, .. }
            | YamlError::UnresolvableAlias { line }
            | YamlError::TooDeep { line }
            | YamlError::AliasExpansion { line } => *line,
        }
    }
}

/// Parses every document of a (multi-document) YAML text. Empty documents (e.g. only comments,
/// or a trailing `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<YamlDocument>, YamlError> {
    let last_line = Cell::new(1);
    // yaml-rust2 has internal `unreachable!`s; a bug there must become an error, not a crash.
    catch_unwind(AssertUnwindSafe(|| parse_all(text, &last_line))).unwrap_or_else(|_| {
        Err(YamlError::Syntax {
            line: last_line.get(),
            message: "the YAML parser failed on this input".to_owned(),
        })
    })
}

fn parse_all(text: &str, last_line: &Cell<usize>) -> Result<Vec<YamlDocument>, YamlError> {
    // YAML allows a byte order mark first; yaml-rust2 would read it into the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::new(text);
    // Pull events one by one instead of `Parser::load`: `load` recurses once per nesting level
    // (deep input would overflow the stack), and pulling lets us stop at the first error.
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError::Syntax {
            line: e.marker().line().max(1),
            message: e.info().to_owned(),
        })?;
        last_line.set(mark.line().max(1));
        if matches!(event, Event::StreamEnd) {
            return Ok(builder.documents);
        }
        builder.on_event(event, mark)?;
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{parse, parse_err, parse_one};
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_document_with_comments() {
        let text = "\
# leading comment
---
apiVersion: v1 # trailing comment
kind: Realm
---
# a document of only comments
---

kind: Client
metadata:
  name: web
...
---
";
        let docs = parse(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, json!({"apiVersion": "v1", "kind": "Realm"}));
        assert_eq!(docs[0].line, 3);
        assert_eq!(
            docs[1].value,
            json!({"kind": "Client", "metadata": {"name": "web"}})
        );
        assert_eq!(docs[1].line, 9);
        assert_eq!(docs[1].line_of("metadata.name"), 11);
    }

    #[test]
    fn document_without_marker() {
        let doc = parse_one("a: 1\n");
        assert_eq!(doc.value, json!({"a": 1}));
        assert_eq!(doc.line, 1);
    }

    #[test]
    fn empty_documents_are_skipped() {
        for text in [
            "",
            "\n\n",
            "# just a comment\n",
            "---\n",
            "---\n---\n# c\n---\n",
            "...\n",
        ] {
            assert_eq!(parse(text), Vec::new(), "{text:?}");
        }
        let docs = parse("---\na: 1\n---\n");
        assert_eq!(docs.len(), 1);
        // An explicit null is content, not an empty document.
        assert_eq!(parse("--- null\n")[0].value, Value::Null);
    }

    #[test]
    fn keys_with_dots_use_brackets() {
        let text = "\
metadata:
  annotations:
    example.com/x: a
    \"\": empty
    'a[0]': b
";
        let doc = parse_one(text);
        assert_eq!(doc.line_of(r#"metadata.annotations["example.com/x"]"#), 3);
        assert_eq!(doc.line_of(r#"metadata.annotations[""]"#), 4);
        assert_eq!(doc.line_of(r#"metadata.annotations["a[0]"]"#), 5);
        assert_eq!(
            doc.line_of(r#"metadata.annotations["example.com/x"].nope"#),
            3
        );
    }

    #[test]
    fn path_helpers() {
        assert_eq!(join_path("", "spec"), "spec");
        assert_eq!(join_path("spec", "regions"), "spec.regions");
        assert_eq!(index_path("spec.regions", 0), "spec.regions[0]");
        assert_eq!(index_path("", 2), "[2]");
        assert_eq!(join_path("spec.regions[0]", "name"), "spec.regions[0].name");
        assert_eq!(
            join_path("metadata.annotations", "example.com/x"),
            r#"metadata.annotations["example.com/x"]"#
        );
        assert_eq!(join_path("", "a.b"), r#"["a.b"]"#);
        assert_eq!(join_path("m", "x\"y.z"), r#"m["x\"y.z"]"#);
        assert_eq!(join_path("m", ""), r#"m[""]"#);
        assert_eq!(join_path("m", "a\nb"), r#"m["a\nb"]"#);
    }

    #[test]
    fn line_of_falls_back_to_ancestor() {
        let text = "\
kind: Realm
spec:
  regions:
    - name: eu
  other: {}
";
        let doc = parse_one(text);
        assert_eq!(doc.line_of("spec.regions[0].name"), 4);
        assert_eq!(doc.line_of("spec.regions[0].missing"), 4);
        assert_eq!(doc.line_of("spec.regions[7].name"), 3);
        assert_eq!(doc.line_of("spec.missing.deeper"), 2);
        assert_eq!(doc.line_of("missing"), 1);
        assert_eq!(doc.line_of(""), 1);
        // A sibling with a longer name is not an ancestor.
        assert_eq!(doc.line_of("spec.other"), 5);
        assert_eq!(doc.line_of("spec.otherwise"), 2);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let cases = [
            ("a: 1\nb: [1, 2\n", 3),
            ("a: 1\n  b: 2\n", 2),
            ("a:\n\t- b\n", 2),
            ("ok: 1\n---\n- a\nb: 2\n", 4),
            ("a: b: c\n", 1),
        ];
        for (text, line) in cases {
            let err = parse_err(text);
            assert!(matches!(err, YamlError::Syntax { .. }), "{err:?}");
            assert_eq!(err.line(), line, "{text:?}: {err}");
            assert!(!err.to_string().contains("line"), "{err}");
        }
    }

    #[test]
    fn never_panics_on_truncated_or_mangled_input() {
        let text = "\
# c
--- !!map
a: &x {b: [1, \"two\", 'th''ree'], c: |\n    lit\n  }
d: *x
? e
: - f: >-
      g
  - !!str h
\"i\\u00e9\": ~
...
--- [x, {y: z}]
";
        for (i, _) in text.char_indices() {
            let _ = parse_documents(&text[..i]);
            let mut mangled = text.to_owned();
            mangled.replace_range(i..i, "\t");
            let _ = parse_documents(&mangled);
            let mut mangled = text.to_owned();
            mangled.replace_range(i..i, "]:&*");
            let _ = parse_documents(&mangled);
        }
        for weird in [
            "\u{feff}a: 1",
            "a: \"\\",
            "- - - -",
            "? ? ?",
            "&a",
            "!",
            "*",
            "{",
            "'",
            "|",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\r\nb: 2\r\n",
        ] {
            let _ = parse_documents(weird);
        }
        assert_eq!(parse_one("a: 1\r\nb: 2\r\n").value, json!({"a": 1, "b": 2}));
        assert_eq!(parse_one("\u{feff}a: 1\n").value, json!({"a": 1}));
    }
}
