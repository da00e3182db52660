//! YAML manifests as JSON values, with the source line of every node.
//!
//! Built on yaml-rust2's event parser rather than its `Yaml` tree, because the tree drops
//! positions and manifest diagnostics need `file:line`.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting of mappings and sequences accepted. Manifests are far shallower; the limit
/// keeps hostile input from exhausting the stack (dropping a `Value` recurses).
const MAX_DEPTH: usize = 128;

/// Most nodes that aliases may copy into one document, against "billion laughs" input.
const MAX_ALIAS_NODES: usize = 100_000;

/// What yaml-rust2 expands the `!!` tag handle to.
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Longest key written as an implicit `key: value`; YAML limits implicit keys to 1024 characters.
const MAX_IMPLICIT_KEY_LEN: usize = 1000;

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

/// Path of the entry `key` of the mapping at `parent` (see [`YamlDocument::lines`]).
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

/// Path of item `i` of the sequence at `parent` (see [`YamlDocument::lines`]).
pub fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

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
struct Builder<'t> {
    source_lines: Vec<&'t str>,
    documents: Vec<YamlDocument>,
    stack: Vec<Frame>,
    lines: BTreeMap<String, usize>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    root: Option<Value>,
    /// Set when the document has no content at all, so it is skipped.
    empty_document: bool,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
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

    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
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

fn tag_display(tag: &Tag) -> String {
    match tag.handle.as_str() {
        CORE_TAG_PREFIX => format!("!!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
    }
}

fn resolve_scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<Value, YamlError> {
    let Some(tag) = tag else {
        return Ok(if style == TScalarStyle::Plain {
            resolve_plain(text)
        } else {
            Value::String(text.to_owned())
        });
    };
    let invalid = || YamlError::InvalidTaggedScalar {
        line,
        value: text.to_owned(),
        tag: tag_display(tag),
    };
    let core_name = if tag.handle == CORE_TAG_PREFIX {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        // Verbatim `!<tag:yaml.org,2002:str>`, or the non-specific `!`.
        tag.suffix.strip_prefix(CORE_TAG_PREFIX)
    } else {
        None
    };
    match (tag.handle.as_str(), tag.suffix.as_str(), core_name) {
        // The non-specific tag `!` makes a scalar a string.
        ("", "!", _) | (_, _, Some("str")) => Ok(Value::String(text.to_owned())),
        (_, _, Some("null")) if is_core_null(text) => Ok(Value::Null),
        (_, _, Some("bool")) => core_bool(text).map(Value::Bool).ok_or_else(invalid),
        (_, _, Some("int")) => core_int(text).ok_or_else(invalid),
        (_, _, Some("float")) => core_float(text).ok_or_else(invalid),
        (_, _, Some("null")) => Err(invalid()),
        _ => Err(YamlError::UnsupportedTag {
            line,
            tag: tag_display(tag),
            kind: "scalar",
        }),
    }
}

/// The value of an untagged plain scalar under the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    core_non_string(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The value of a plain scalar the core schema does not read as a string, or None.
fn core_non_string(text: &str) -> Option<Value> {
    if is_core_null(text) {
        return Some(Value::Null);
    }
    if let Some(b) = core_bool(text) {
        return Some(Value::Bool(b));
    }
    core_int(text).or_else(|| core_float(text))
}

fn is_core_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn core_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A core-schema integer: decimal, `0x…` or `0o…`. Beyond u64/i64 a decimal becomes a float
/// (as Kubernetes does) and a hex/octal stays a string.
fn core_int(text: &str) -> Option<Value> {
    let radix_int = |digits: &str, radix: u32| {
        (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))).then(|| {
            u64::from_str_radix(digits, radix)
                .map_or_else(|_| Value::String(text.to_owned()), Value::from)
        })
    };
    if let Some(digits) = text.strip_prefix("0o") {
        return radix_int(digits, 8);
    }
    if let Some(digits) = text.strip_prefix("0x") {
        return radix_int(digits, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    Some(float_value(text))
}

/// A core-schema float. Non-finite values have no JSON form and stay strings.
fn core_float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(Value::String(text.to_owned()));
    }
    is_core_float_syntax(text).then(|| float_value(text))
}

fn float_value(text: &str) -> Value {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float_syntax(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let int_end = digits_from(i);
    let int_digits = int_end - i;
    i = int_end;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        frac_digits = frac_end - (i + 1);
        i = frac_end;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == bytes.len()
}

/// Writes JSON values as a multi-document YAML stream (`---` before each document), keys in
/// the order the JSON map yields them.
pub fn to_yaml_documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---");
        if is_block_collection(doc) {
            out.push('\n');
            write_block(&mut out, doc, 0);
        } else {
            out.push(' ');
            // A literal block at the root would be indented relative to column -1; quote instead.
            write_scalar(&mut out, doc, 0, false);
        }
    }
    out
}

/// Non-empty mappings and sequences are written in block style; empty ones as `{}` / `[]`.
fn is_block_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Writes a non-empty collection whose first line starts at column `indent`, where the cursor
/// already is.
fn write_block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            for (i, (key, child)) in map.iter().enumerate() {
                if i > 0 {
                    push_indent(out, indent);
                }
                if key.chars().count() > MAX_IMPLICIT_KEY_LEN {
                    // Too long for `key:`; the explicit `? key` form has no length limit.
                    out.push_str("? ");
                    write_quoted(out, key);
                    out.push('\n');
                    push_indent(out, indent);
                } else if plain_is_safe(key) {
                    out.push_str(key);
                } else {
                    write_quoted(out, key);
                }
                out.push(':');
                write_child(out, child, indent);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    push_indent(out, indent);
                }
                out.push('-');
                if is_block_collection(item) {
                    // Compact form: the item's first entry shares the `- ` line.
                    out.push(' ');
                    write_block(out, item, indent + 2);
                } else {
                    out.push(' ');
                    write_scalar(out, item, indent, true);
                }
            }
        }
        _ => write_scalar(out, value, indent, true),
    }
}

/// Writes a mapping value after `key:`, the key being at column `indent`.
fn write_child(out: &mut String, value: &Value, indent: usize) {
    if is_block_collection(value) {
        out.push('\n');
        push_indent(out, indent + 2);
        write_block(out, value, indent + 2);
    } else {
        out.push(' ');
        write_scalar(out, value, indent, true);
    }
}

/// Writes a scalar (or empty collection) and ends the line. `indent` is the column of the
/// owning key or `-`; literal block content goes two columns further.
fn write_scalar(out: &mut String, value: &Value, indent: usize, allow_literal: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // serde_json writes floats with a '.' or exponent ("3.0", "1e20"), so they read back as
        // floats, and integers without, so they read back as integers.
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => {
            if plain_is_safe(s) {
                out.push_str(s);
            } else if !(allow_literal && try_write_literal(out, s, indent)) {
                write_quoted(out, s);
            }
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
    // A literal block already ended its last line.
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Characters that must be escaped in a double-quoted scalar (non-printable in YAML, or a line
/// break to YAML 1.1 readers).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Whether `s` reads back as the same string when written unquoted, in block context.
fn plain_is_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if core_non_string(s).is_some()
        || reads_differently_in_yaml_1_1(s)
        // Unquoted, it would be a merge key.
        || s == "<<"
        || s.starts_with("---")
        || s.starts_with("...")
        || first == ' '
        || s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(needs_escape)
    {
        return false;
    }
    if matches!(
        first,
        '-' | '?'
            | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
    ) {
        // `-x`, `?x` and `:x` are plain scalars (e.g. `--flag`); other indicators never are.
        let second_is_safe = chars
            .next()
            .is_some_and(|c| c != ' ' && !matches!(c, ',' | '[' | ']' | '{' | '}' | '#'));
        return matches!(first, '-' | '?' | ':') && second_is_safe;
    }
    true
}

/// Whether a YAML 1.1 reader (such as kubectl's) could read `s` as a non-string: its booleans
/// (`yes`, `off`, …), and numbers with `_`, `0b`, base-60 `:` or timestamps. Over-matching only
/// adds quotes.
fn reads_differently_in_yaml_1_1(s: &str) -> bool {
    const WORDS: [&str; 17] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", "=",
    ];
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let number_like = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(
                    c,
                    '_' | ':' | '.' | '-' | '+' | 'x' | 'o' | 'b' | 'T' | 'Z' | ' '
                )
        });
    WORDS.contains(&s) || number_like
}

fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `s` as a `|` literal block if that reads back exactly; returns whether it did.
fn try_write_literal(out: &mut String, s: &str, indent: usize) -> bool {
    let Some(first_text_line) = s.split('\n').find(|l| !l.is_empty()) else {
        return false;
    };
    // Auto-detected indentation needs a first text line without leading spaces; lines of only
    // blanks are read differently by different parsers; other controls need escapes.
    if !s.contains('\n')
        || first_text_line.starts_with([' ', '\t'])
        || s.split('\n')
            .any(|l| !l.is_empty() && l.trim_matches([' ', '\t']).is_empty())
        || s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c))
    {
        return false;
    }
    let mut block = String::new();
    write_literal(&mut block, s, 0);
    // Check the exact round trip rather than trust the rules above to cover every parser quirk.
    let reads_back = parse_documents(&format!("k: {block}")).is_ok_and(|docs| {
        matches!(docs.as_slice(), [doc] if doc.value.get("k").and_then(Value::as_str) == Some(s))
    });
    if reads_back {
        write_literal(out, s, indent);
    }
    reads_back
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    let trailing_newlines = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing_newlines {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    for piece in s.split_inclusive('\n') {
        let text = piece.strip_suffix('\n').unwrap_or(piece);
        if !text.is_empty() {
            push_indent(out, indent + 2);
            out.push_str(text);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Vec<YamlDocument> {
        match parse_documents(text) {
            Ok(docs) => docs,
            Err(e) => panic!("line {}: {e}\n{text}", e.line()),
        }
    }

    fn parse_one(text: &str) -> YamlDocument {
        let mut docs = parse(text);
        assert_eq!(docs.len(), 1, "{text}");
        docs.remove(0)
    }

    fn parse_err(text: &str) -> YamlError {
        match parse_documents(text) {
            Ok(docs) => panic!("expected an error, got {docs:?}"),
            Err(e) => e,
        }
    }

    fn round_trip(values: &[Value]) {
        let text = to_yaml_documents(values);
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => panic!("line {}: {e}\n{text}", e.line()),
        };
        let back: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
        assert_eq!(back, values, "\n{text}");
    }

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
    fn core_schema_scalars() {
        let text = r#"
quoted_int: "10"
plain_int: 10
single_true: 'true'
plain_true: true
cap_true: True
upper_false: FALSE
tilde: ~
null_word: null
Null_word: Null
empty:
quoted_empty: ""
quoted_null: "null"
hex: 0x1F
octal: 0o17
leading_zero: 012
plus: +5
negative: -3
float: 1.5
exp: 1e3
trailing_dot: 5.
leading_dot: .5
inf: .inf
neg_inf: -.Inf
nan: .NaN
big: 123456789012345678901234567890
u64: 18446744073709551615
huge_hex: 0x1FFFFFFFFFFFFFFFF
yaml11_bool: yes
off: off
version: 1.2.3
date: 2024-01-01
"#;
        let doc = parse_one(text);
        let v = &doc.value;
        assert_eq!(v["quoted_int"], json!("10"));
        assert_eq!(v["plain_int"], json!(10));
        assert_eq!(v["single_true"], json!("true"));
        assert_eq!(v["plain_true"], json!(true));
        assert_eq!(v["cap_true"], json!(true));
        assert_eq!(v["upper_false"], json!(false));
        assert_eq!(v["tilde"], Value::Null);
        assert_eq!(v["null_word"], Value::Null);
        assert_eq!(v["Null_word"], Value::Null);
        assert_eq!(v["empty"], Value::Null);
        assert_eq!(v["quoted_empty"], json!(""));
        assert_eq!(v["quoted_null"], json!("null"));
        assert_eq!(v["hex"], json!(31));
        assert_eq!(v["octal"], json!(15));
        assert_eq!(v["leading_zero"], json!(12));
        assert_eq!(v["plus"], json!(5));
        assert_eq!(v["negative"], json!(-3));
        assert_eq!(v["float"], json!(1.5));
        assert_eq!(v["exp"], json!(1000.0));
        assert!(v["exp"].is_f64());
        assert_eq!(v["trailing_dot"], json!(5.0));
        assert_eq!(v["leading_dot"], json!(0.5));
        assert_eq!(v["inf"], json!(".inf"));
        assert_eq!(v["neg_inf"], json!("-.Inf"));
        assert_eq!(v["nan"], json!(".NaN"));
        assert_eq!(v["big"], json!(1.2345678901234568e29));
        assert_eq!(v["u64"], json!(u64::MAX));
        assert_eq!(v["huge_hex"], json!("0x1FFFFFFFFFFFFFFFF"));
        assert_eq!(v["yaml11_bool"], json!("yes"));
        assert_eq!(v["off"], json!("off"));
        assert_eq!(v["version"], json!("1.2.3"));
        assert_eq!(v["date"], json!("2024-01-01"));
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
    fn tags() {
        let doc =
            parse_one("a: !!str 10\nb: ! 12\nc: !!int \"7\"\nd: !!float 1\ne: !!map {x: 1}\n");
        assert_eq!(
            doc.value,
            json!({"a": "10", "b": "12", "c": 7, "d": 1.0, "e": {"x": 1}})
        );
        assert!(doc.value["d"].is_f64());
        let err = parse_err("a: 1\nb: !!binary aGk=\n");
        assert_eq!(err.line(), 2);
        assert_eq!(err.to_string(), "unsupported tag !!binary on a scalar");
        let err = parse_err("a: !Ref x\n");
        assert_eq!(err.to_string(), "unsupported tag !Ref on a scalar");
        let err = parse_err("a:\n  b: !!int abc\n");
        assert_eq!(err.line(), 2);
        assert_eq!(err.to_string(), "\"abc\" is not a valid !!int");
        let err = parse_err("a: !!seq {x: 1}\n");
        assert_eq!(err.to_string(), "unsupported tag !!seq on a mapping");
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

    #[test]
    fn writes_readable_yaml() {
        let docs = [
            json!({
                "apiVersion": "v1",
                "kind": "Realm",
                "spec": {
                    "replicas": 3,
                    "ratio": 0.5,
                    "regions": [{"name": "eu", "zones": ["a", "b"]}, "x"],
                    "empty": {},
                    "none": [],
                    "nothing": null,
                    "script": "echo hi\necho bye\n"
                }
            }),
            json!("10"),
        ];
        let expected = "\
---
apiVersion: v1
kind: Realm
spec:
  empty: {}
  none: []
  nothing: null
  ratio: 0.5
  regions:
    - name: eu
      zones:
        - a
        - b
    - x
  replicas: 3
  script: |
    echo hi
    echo bye
--- \"10\"
";
        assert_eq!(to_yaml_documents(&docs), expected);
        round_trip(&docs);
        assert_eq!(to_yaml_documents(&[]), "");
    }

    #[test]
    fn round_trip_tricky_strings() {
        let strings = [
            "",
            " ",
            "  leading",
            "trailing ",
            "10",
            "-1",
            "1.5",
            "1e3",
            "0x1F",
            "0o7",
            ".inf",
            "-.inf",
            ".nan",
            "true",
            "True",
            "FALSE",
            "null",
            "~",
            "yes",
            "no",
            "on",
            "a: b",
            "a:b",
            "a:",
            ":a",
            "::",
            "a #b",
            "a#b",
            "#a",
            "- a",
            "-a",
            "--flag",
            "-",
            "---",
            "--- a",
            "...",
            "? a",
            "?a",
            "[a]",
            "{a}",
            "a, b",
            "a,b",
            "*a",
            "&a",
            "!a",
            "|a",
            ">a",
            "'a'",
            "\"a\"",
            "%a",
            "@a",
            "`a`",
            "a'b",
            "a\"b",
            "back\\slash",
            "tab\there",
            "cr\rlf",
            "nul\0",
            "bell\u{7}",
            "nel\u{85}x",
            "ls\u{2028}x",
            "bom\u{feff}x",
            "é ü 漢字 🎉",
            "line1\nline2",
            "line1\nline2\n",
            "trailing\n\n\n",
            "\nleading newline",
            "\n  indented second",
            "  indented first\nsecond",
            "a\n\nb",
            "a\n  \nb",
            "a  \nb  ",
            "a\tb\n\tc",
            "x\r\ny",
            "\n",
            "\n\n",
            "a\n# not a comment\n--- not a marker\n...",
            "key: value\nlist:\n  - a\n",
            "http://example.com/a?b=c#d",
            "100%",
            "a]b",
            "a}b",
            "a{b",
            "2024-01-01",
            "12:30",
            "<<",
            "<",
            "=",
            "y",
            "N",
            "0b101",
            "1_000",
            "2024-01-01T10:00:00Z",
            "1.2.3",
            "-.5",
        ];
        for s in strings {
            round_trip(&[json!(s)]);
            round_trip(&[json!({ s: s })]);
            round_trip(&[json!([s, {"k": [s]}])]);
            round_trip(&[json!({"a": {"b": [[s], {s: {"c": s}}]}})]);
        }
    }

    #[test]
    fn round_trip_numbers_and_structures() {
        let docs = [
            json!({"int": 3, "neg": -7, "float": 3.0, "half": 0.5, "big": u64::MAX, "min": i64::MIN,
                   "tiny": 1e-300, "large": 1e300, "neg_zero": -0.0, "frac": 0.1}),
            json!([[], {}, [[]], [{}], {"a": []}, {"a": {}}, [null, true, false]]),
            json!([[1, [2, [3]]], [{"a": [{"b": 1}]}]]),
            json!(null),
            json!(7),
            json!(2.5),
            json!(true),
            json!([]),
            json!({}),
            json!("multi\nline root"),
        ];
        round_trip(&docs);
        let text = to_yaml_documents(&docs[..1]);
        assert!(
            text.contains("int: 3\n") && text.contains("float: 3.0\n"),
            "{text}"
        );
        let back = parse_one(&text).value;
        assert!(back["int"].is_u64() && back["float"].is_f64());
    }

    #[test]
    fn round_trip_long_keys() {
        let long = "k".repeat(2000);
        round_trip(&[json!({ long.clone(): {"x": 1}, "short": [1] })]);
        round_trip(&[json!({ long.clone(): 1 })]);
        round_trip(&[json!([{ long: "v" }])]);
    }

    #[test]
    fn round_trip_generated_strings() {
        // Deterministic pseudo-random strings over characters YAML treats specially.
        let alphabet: Vec<char> = " \n\t-?:,[]{}#&*!|><='\"%@`.~0123456789aeEx+\\\r\u{85}é"
            .chars()
            .collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = usize::try_from(next() % 12).unwrap_or(0);
            let s: String = (0..len)
                .map(|_| alphabet[usize::try_from(next()).unwrap_or(0) % alphabet.len()])
                .collect();
            round_trip(&[json!({ s.clone(): [s.clone(), {"k": s}] })]);
        }
    }
}
