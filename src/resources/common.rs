//! Types shared by several resource kinds: references, durations and status conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern every duration field follows: Go-style durations such as `168h`, `30m`, `1h30m`, `90s`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(h|m|s|ms))+$";

/// Pattern for names used in URLs and DNS (RFC 1123 label).
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A reference to another Vestibule resource in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ObjectRef {
    /// Name of the referenced resource, in the same namespace as the referring one.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A reference to one key of a Kubernetes Secret in the same namespace. Secret values are never
/// written inline in a resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret, in the same namespace as the referring resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's `data` (or `stringData`) that holds the value.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// Status fields every kind carries, in the kstatus shape that `kubectl wait`, Argo CD and Flux
/// understand.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current state: `Ready`, `Reconciling`, `Stalled`, plus kind-specific conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Parses a Go-style duration (`168h`, `1h30m`, `45s`, `250ms`) into milliseconds.
///
/// Returns `None` for anything else, including overflow; the CRD pattern and `compile` both rely
/// on this one parser so they can never disagree.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, unit_len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('s') {
            (1_000, 1)
        } else {
            return None;
        };
        rest = &rest[unit_len..];
        total = total.checked_add(value.checked_mul(unit_ms)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration_ms("168h"), Some(168 * 3_600_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(90 * 60_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("10s"), Some(10_000));
        for bad in [
            "",
            "h",
            "10",
            "10d",
            "1.5h",
            "-1h",
            "1h 30m",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn duration_pattern_agrees_with_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for text in ["168h", "1h30m", "250ms", "10s", "", "10d", "1.5h", "h"] {
            assert_eq!(
                re.is_match(text),
                parse_duration_ms(text).is_some(),
                "{text}"
            );
        }
    }
}
