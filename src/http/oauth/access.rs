//! Vestibule's own access tokens as the endpoints that accept them see them: signed by a
//! published key of the instance, `typ: at+jwt` (so an ID token is refused, RFC 9068 4), this
//! issuer, not expired. Whether the grant behind one is still active is the caller's check.

use serde_json::{Map, Value};

use crate::crypto::jws;
use crate::runtime::Active;

/// The claims of `token` if it is one of this instance's live access tokens at `now` (ms).
pub fn verify(active: &Active, token: &str, now: i64) -> Option<Map<String, Value>> {
    let keys = active.keys.as_ref()?;
    let verified = jws::verify(keys, token.trim(), now).ok()?;
    let Value::Object(claims) = verified.claims else {
        return None;
    };
    let genuine = verified.header.get("typ").and_then(Value::as_str) == Some("at+jwt")
        && claims.get("iss").and_then(Value::as_str) == Some(active.config.issuer.as_str())
        && claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp.saturating_mul(1000) > now);
    genuine.then_some(claims)
}
