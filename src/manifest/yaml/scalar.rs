//! Scalar resolution under the YAML 1.2 core schema, and the core tags (`!!str`, `!!int`, ...).

use serde_json::{Number, Value};
use yaml_rust2::parser::Tag;
use yaml_rust2::scanner::TScalarStyle;

use super::YamlError;

/// What yaml-rust2 expands the `!!` tag handle to.
pub(super) const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

pub(super) fn tag_display(tag: &Tag) -> String {
    match tag.handle.as_str() {
        CORE_TAG_PREFIX => format!("!!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
    }
}

pub(super) fn resolve_scalar(
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
pub(super) fn core_non_string(text: &str) -> Option<Value> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::test_support::{parse_err, parse_one};
    use serde_json::json;

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
}
