//! The YAML writer: JSON values as a multi-document YAML stream that reads back the same.

use serde_json::Value;

use super::parse_documents;
use super::scalar::core_non_string;

/// Longest key written as an implicit `key: value`; YAML limits implicit keys to 1024 characters.
const MAX_IMPLICIT_KEY_LEN: usize = 1000;

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
    use crate::manifest::yaml::test_support::parse_one;
    use serde_json::json;

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
