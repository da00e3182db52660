//! The event-driven builder: turns yaml-rust2's parser events into [`YamlDocument`]s, recording
//! the line of every node and enforcing the manifest limits (depth, alias expansion, keys).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::scalar::{CORE_TAG_PREFIX, resolve_scalar, tag_display};
use super::{MAX_ALIAS_NODES, MAX_DEPTH, YamlDocument, YamlError, index_path, join_path};

/// A value with an anchor, kept for the aliases that copy it.
struct Anchored {
    value: Value,
    /// The scalar's text, for aliases used as mapping keys.
    raw_scalar: Option<String>,
    /// Lines of the descendants, by path relative to the anchored node (".a", "[0].b").
    descendant_lines: Vec<(String, usize)>,
    /// Nesting depth of `value` (0 for a scalar).
    depth: usize,
}

enum Container {
    Sequence(Vec<Value>),
    /// `key` is the key whose value is being read, if any.
    Mapping {
        map: Map<String, Value>,
        key: Option<String>,
    },
}

/// A mapping or sequence still being read.
struct Frame {
    container: Container,
    path: String,
    anchor: usize,
    /// Deepest nesting among the finished children.
    child_depth: usize,
}

/// Turns the parser's events into documents.
pub(super) struct Builder<'t> {
    source_lines: Vec<&'t str>,
    pub(super) documents: Vec<YamlDocument>,
    stack: Vec<Frame>,
    lines: BTreeMap<String, usize>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    root: Option<Value>,
    /// Set when the document has no content at all, so it is skipped.
    empty_document: bool,
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Builder {
            source_lines: text.split('\n').collect(),
            documents: Vec::new(),
            stack: Vec::new(),
            lines: BTreeMap::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
            empty_document: false,
        }
    }

    pub(super) fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
        let line = mark.line().max(1);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => Ok(()),
            Event::DocumentStart => {
                self.stack.clear();
                self.lines = BTreeMap::new();
                self.anchors.clear();
                self.alias_nodes = 0;
                self.root = None;
                self.empty_document = false;
                Ok(())
            }
            Event::DocumentEnd => {
                if let Some(value) = self.root.take()
                    && !self.empty_document
                {
                    let lines = std::mem::take(&mut self.lines);
                    let line = lines.get("").copied().unwrap_or(line);
                    self.documents.push(YamlDocument { value, line, lines });
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let line = self.scalar_line(style, mark);
                self.on_scalar(text, style, anchor, tag.as_ref(), line)
            }
            Event::Alias(id) => self.on_alias(id, line),
            Event::SequenceStart(anchor, tag) => {
                self.start_collection(Container::Sequence(Vec::new()), anchor, tag.as_ref(), line)
            }
            Event::MappingStart(anchor, tag) => {
                let container = Container::Mapping {
                    map: Map::new(),
                    key: None,
                };
                self.start_collection(container, anchor, tag.as_ref(), line)
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(line),
        }
    }

    /// yaml-rust2 marks a block scalar (`|`, `>`) at its first content line; report the
    /// header's line instead, which is where a sequence item or document starts.
    fn scalar_line(&self, style: TScalarStyle, mark: Marker) -> usize {
        let line = mark.line().max(1);
        if !matches!(style, TScalarStyle::Literal | TScalarStyle::Folded) {
            return line;
        }
        let mut candidate = line;
        while candidate > 1 {
            candidate -= 1;
            let source = self.source_lines.get(candidate - 1).copied().unwrap_or("");
            if !source.trim().is_empty() {
                return if source.contains(['|', '>']) {
                    candidate
                } else {
                    line
                };
            }
        }
        line
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                container: Container::Mapping { key: None, .. },
                ..
            })
        )
    }

    fn on_scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        line: usize,
    ) -> Result<(), YamlError> {
        if self.expecting_key() {
            if style == TScalarStyle::Plain && tag.is_none() && text == "<<" {
                return Err(YamlError::MergeKey { line });
            }
            if anchor != 0 {
                let value = resolve_scalar(&text, style, tag, line)?;
                self.anchors.insert(
                    anchor,
                    Anchored {
                        value,
                        raw_scalar: Some(text.clone()),
                        descendant_lines: Vec::new(),
                        depth: 0,
                    },
                );
            }
            // Keys keep their text: `1:` is the key "1", as JSON requires string keys.
            return self.set_key(text, line);
        }
        let value = resolve_scalar(&text, style, tag, line)?;
        if self.stack.is_empty()
            && text.is_empty()
            && style == TScalarStyle::Plain
            && anchor == 0
            && tag.is_none()
        {
            self.empty_document = true;
        }
        self.begin_node(line)?;
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    raw_scalar: Some(text),
                    descendant_lines: Vec::new(),
                    depth: 0,
                },
            );
        }
        self.finish_node(value, 0);
        Ok(())
    }

    fn on_alias(&mut self, id: usize, line: usize) -> Result<(), YamlError> {
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(YamlError::UnresolvableAlias { line });
        };
        if self.expecting_key() {
            let Some(key) = anchored.raw_scalar.clone() else {
                return Err(YamlError::ComplexKey { line });
            };
            return self.set_key(key, line);
        }
        self.alias_nodes = self
            .alias_nodes
            .saturating_add(anchored.descendant_lines.len() + 1);
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(YamlError::AliasExpansion { line });
        }
        if self.stack.len() + anchored.depth > MAX_DEPTH {
            return Err(YamlError::TooDeep { line });
        }
        let value = anchored.value.clone();
        let depth = anchored.depth;
        let relative_lines = anchored.descendant_lines.clone();
        let path = self.begin_node(line)?;
        for (relative, source_line) in relative_lines {
            // Copied nodes keep the lines where they are written, under the alias's path.
            let full = if path.is_empty() {
                relative.strip_prefix('.').unwrap_or(&relative).to_owned()
            } else {
                format!("{path}{relative}")
            };
            self.lines.insert(full, source_line);
        }
        self.finish_node(value, depth);
        Ok(())
    }

    fn start_collection(
        &mut self,
        container: Container,
        anchor: usize,
        tag: Option<&Tag>,
        line: usize,
    ) -> Result<(), YamlError> {
        if self.expecting_key() {
            return Err(YamlError::ComplexKey { line });
        }
        let (kind, core_name) = match container {
            Container::Sequence(_) => ("sequence", "seq"),
            Container::Mapping { .. } => ("mapping", "map"),
        };
        if let Some(tag) = tag {
            let full = format!("{}{}", tag.handle, tag.suffix);
            if full != "!" && full != format!("{CORE_TAG_PREFIX}{core_name}") {
                return Err(YamlError::UnsupportedTag {
                    line,
                    tag: tag_display(tag),
                    kind,
                });
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::TooDeep { line });
        }
        let path = self.begin_node(line)?;
        self.stack.push(Frame {
            container,
            path,
            anchor,
            child_depth: 0,
        });
        Ok(())
    }

    fn end_collection(&mut self, line: usize) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Err(YamlError::Syntax {
                line,
                message: "unexpected end of a collection".to_owned(),
            });
        };
        let value = match frame.container {
            Container::Sequence(items) => Value::Array(items),
            Container::Mapping { map, .. } => Value::Object(map),
        };
        let depth = frame.child_depth + 1;
        if frame.anchor != 0 {
            let descendant_lines = descendant_lines(&self.lines, &frame.path);
            self.anchors.insert(
                frame.anchor,
                Anchored {
                    value: value.clone(),
                    raw_scalar: None,
                    descendant_lines,
                    depth,
                },
            );
        }
        self.finish_node(value, depth);
        Ok(())
    }

    /// Path of a node that starts now, recording its line unless it is a mapping value (whose
    /// line is its key's, recorded with the key).
    fn begin_node(&mut self, line: usize) -> Result<String, YamlError> {
        let path = match self.stack.last() {
            None => String::new(),
            Some(frame) => match &frame.container {
                Container::Sequence(items) => index_path(&frame.path, items.len()),
                Container::Mapping { key: Some(key), .. } => {
                    return Ok(join_path(&frame.path, key));
                }
                // The event order guarantees a key first; guard anyway rather than panic.
                Container::Mapping { key: None, .. } => {
                    return Err(YamlError::Syntax {
                        line,
                        message: "mapping value without a key".to_owned(),
                    });
                }
            },
        };
        self.lines.insert(path.clone(), line);
        Ok(path)
    }

    fn finish_node(&mut self, value: Value, depth: usize) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.child_depth = frame.child_depth.max(depth);
        match &mut frame.container {
            Container::Sequence(items) => items.push(value),
            Container::Mapping { map, key } => {
                if let Some(key) = key.take() {
                    map.insert(key, value);
                }
            }
        }
    }

    fn set_key(&mut self, key: String, line: usize) -> Result<(), YamlError> {
        let Some(Frame {
            container: Container::Mapping { map, key: slot },
            path,
            ..
        }) = self.stack.last_mut()
        else {
            return Err(YamlError::Syntax {
                line,
                message: "mapping key outside a mapping".to_owned(),
            });
        };
        let key_path = join_path(path, &key);
        if map.contains_key(&key) {
            let first_line = self.lines.get(&key_path).copied().unwrap_or(line);
            return Err(YamlError::DuplicateKey {
                line,
                key,
                first_line,
            });
        }
        self.lines.insert(key_path, line);
        *slot = Some(key);
        Ok(())
    }
}

/// Lines of the nodes below `path`, keyed by their path relative to it (".a", "[0].b").
fn descendant_lines(lines: &BTreeMap<String, usize>, path: &str) -> Vec<(String, usize)> {
    lines
        .range::<str, _>((Bound::Excluded(path), Bound::Unbounded))
        .take_while(|(key, _)| key.starts_with(path))
        .filter_map(|(key, &line)| {
            let relative = &key[path.len()..];
            if relative.starts_with(['.', '[']) {
                Some((relative.to_owned(), line))
            } else if path.is_empty() {
                Some((format!(".{relative}"), line))
            } else {
                // A sibling whose key merely starts with this one's ("ab" after "a").
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse_documents;
    use crate::manifest::yaml::test_support::{parse, parse_err, parse_one};
    use serde_json::json;

    #[test]
    fn lines_of_nested_keys_and_items() {
        let text = "\
apiVersion: v1
spec:
  regions:
    - name: eu
      zones: [a, b]
    -
      name: us
    - plain
  labels: {x: 1,
    y: 2}
";
        let doc = parse_one(text);
        let expected = [
            ("", 1),
            ("apiVersion", 1),
            ("spec", 2),
            ("spec.regions", 3),
            ("spec.regions[0]", 4),
            ("spec.regions[0].name", 4),
            ("spec.regions[0].zones", 5),
            ("spec.regions[0].zones[0]", 5),
            ("spec.regions[0].zones[1]", 5),
            ("spec.regions[1]", 7),
            ("spec.regions[1].name", 7),
            ("spec.regions[2]", 8),
            ("spec.labels", 9),
            ("spec.labels.x", 9),
            ("spec.labels.y", 10),
        ];
        for (path, line) in expected {
            assert_eq!(doc.lines.get(path), Some(&line), "{path}");
        }
        assert_eq!(doc.lines.len(), expected.len());
    }

    #[test]
    fn block_and_multi_line_scalars() {
        let text = "\
literal: |
  line one
    indented
  # not a comment
folded: >-
  folded
  text
strip: |-
  no newline
keep: |+
  kept

plain: multi
  line plain
quoted: \"a\\tb\\u00e9\"
";
        let doc = parse_one(text);
        let v = &doc.value;
        assert_eq!(
            v["literal"],
            json!("line one\n  indented\n# not a comment\n")
        );
        assert_eq!(v["folded"], json!("folded text"));
        assert_eq!(v["strip"], json!("no newline"));
        assert_eq!(v["keep"], json!("kept\n\n"));
        assert_eq!(v["plain"], json!("multi line plain"));
        assert_eq!(v["quoted"], json!("a\tbé"));
        assert_eq!(doc.line_of("folded"), 5);
    }

    #[test]
    fn block_scalar_items_report_header_line() {
        let doc = parse_one("args:\n  - |\n\n    script\n  - x\n");
        assert_eq!(doc.value["args"], json!(["\nscript\n", "x"]));
        assert_eq!(doc.line_of("args[0]"), 2);
        assert_eq!(doc.line_of("args[1]"), 5);
    }

    #[test]
    fn non_string_keys_become_strings() {
        let doc = parse_one("1: a\ntrue: b\n0x10: c\n~: d\n'q': e\n");
        assert_eq!(
            doc.value,
            json!({"1": "a", "true": "b", "0x10": "c", "~": "d", "q": "e"})
        );
        assert_eq!(doc.line_of("0x10"), 3);
    }

    #[test]
    fn anchors_and_aliases() {
        let text = "\
defaults: &defaults
  replicas: 3
  ports:
    - 80
name: &name web
copy: *defaults
list:
  - *name
  - *defaults
";
        let doc = parse_one(text);
        let defaults = json!({"replicas": 3, "ports": [80]});
        assert_eq!(doc.value["copy"], defaults);
        assert_eq!(doc.value["list"], json!(["web", defaults]));
        // The alias itself is where it is used; copied nodes keep their written lines.
        assert_eq!(doc.line_of("copy"), 6);
        assert_eq!(doc.line_of("copy.replicas"), 2);
        assert_eq!(doc.line_of("copy.ports[0]"), 4);
        assert_eq!(doc.line_of("list[0]"), 8);
        assert_eq!(doc.line_of("list[1]"), 9);
        assert_eq!(doc.line_of("list[1].ports[0]"), 4);
        // A re-defined anchor name refers to the latest definition.
        let doc = parse_one("a: &x 1\nb: &x 2\nc: *x\n");
        assert_eq!(doc.value["c"], json!(2));
        // An alias may be a key when it names a scalar.
        let doc = parse_one("a: &k name\n*k : v\n");
        assert_eq!(doc.value, json!({"a": "name", "name": "v"}));
    }

    #[test]
    fn alias_errors() {
        let err = parse_err("a: &x [1, *x]\n");
        assert!(
            matches!(err, YamlError::UnresolvableAlias { line: 1 }),
            "{err:?}"
        );
        let err = parse_err("a: &x 1\n---\nb: *x\n");
        assert!(
            matches!(err, YamlError::UnresolvableAlias { line: 3 }),
            "{err:?}"
        );
        let err = parse_err("a: *nowhere\n");
        assert!(matches!(err, YamlError::Syntax { line: 1, .. }), "{err:?}");
        let err = parse_err("a: &x {k: v}\n*x : 1\n");
        assert!(matches!(err, YamlError::ComplexKey { line: 2 }), "{err:?}");
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut text = String::from("l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
        for i in 1..10 {
            let prev = i - 1;
            let items = vec![format!("*l{prev}"); 10].join(", ");
            text.push_str(&format!("l{i}: &l{i} [{items}]\n"));
        }
        let err = parse_err(&text);
        assert!(matches!(err, YamlError::AliasExpansion { .. }), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let deep_flow = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_documents(&deep_flow).is_err());
        let mut deep_block = String::new();
        for i in 0..10_000 {
            deep_block.push_str(&" ".repeat(i));
            deep_block.push_str("a:\n");
        }
        let err = parse_err(&deep_block);
        assert!(matches!(err, YamlError::TooDeep { line: 129 }), "{err:?}");
        // Within the limit is fine.
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse(&ok).len(), 1);
    }

    #[test]
    fn duplicate_key_reports_both_lines() {
        let text = "\
metadata:
  name: a
  labels:
    x: 1
  name: b
";
        let err = parse_err(text);
        assert_eq!(
            err,
            YamlError::DuplicateKey {
                line: 5,
                key: "name".to_owned(),
                first_line: 2
            }
        );
        assert_eq!(err.line(), 5);
        assert_eq!(
            err.to_string(),
            "duplicate key \"name\" (first defined on line 2)"
        );
        // Same key in different mappings is fine; a quoted and a plain spelling collide.
        parse_one("a: {x: 1}\nb: {x: 2}\n");
        assert_eq!(parse_err("1: a\n\"1\": b\n").line(), 2);
    }

    #[test]
    fn unsupported_keys() {
        let err = parse_err("base: &b {x: 1}\nderived:\n  <<: *b\n");
        assert_eq!(err, YamlError::MergeKey { line: 3 });
        assert!(err.to_string().contains("<<"));
        // Quoted, "<<" is an ordinary key.
        assert_eq!(parse_one("'<<': 1\n").value, json!({"<<": 1}));
        let err = parse_err("a: 1\n? [x, y]\n: 2\n");
        assert_eq!(err, YamlError::ComplexKey { line: 2 });
        assert!(matches!(
            parse_err("{[a]: 1}\n"),
            YamlError::ComplexKey { .. }
        ));
    }
}
