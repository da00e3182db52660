//! Kubernetes patterns are Go RE2 regular expressions; this compiles them with Rust's regex
//! crate, translating the constructs whose meaning differs between the two.

use regex::{Regex, RegexBuilder};

/// Compiles a Kubernetes (Go RE2) pattern with Rust's regex, translating the few places where
/// the two syntaxes differ in meaning.
pub(super) fn compile_go_regex(pattern: &str) -> Result<Regex, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schema::test_support::check_spec;
    use serde_json::{Value, json};

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
        let crds = serde_json::to_value(crate::resources::crd::all()).expect("serializes");
        let mut found = Vec::new();
        patterns(&crds, &mut found);
        assert!(!found.is_empty());
        for p in found {
            assert!(compile_go_regex(p).is_ok(), "{p}");
        }
    }
}
