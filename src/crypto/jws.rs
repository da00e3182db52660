//! Compact JWS (RFC 7515) for Vestibule's own tokens: signing with the key set's signing key,
//! and verifying against the key set only. Glue over `ring`; no algorithm is taken from the
//! token: `alg` must be the algorithm of the key its `kid` names, so `none`, HMAC with a public
//! key as the secret, and a key from elsewhere are refused before any signature is checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use serde_json::{Value, json};

use super::keys::{KeyError, KeySet, SigningAlgorithm, SigningKey, alg_name};

/// Why a token does not verify. Deliberately coarse: the reason goes to logs, not to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts with JSON header and payload.
    #[error("malformed token")]
    Malformed,
    /// `alg` is not one Vestibule signs with, or not the algorithm of the key `kid` names.
    #[error("algorithm not accepted")]
    Algorithm,
    /// No published key has this `kid`.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("bad signature")]
    Signature,
}

/// Signs `claims` with `key` as a compact JWS whose header carries `alg`, `kid` and `typ`.
pub fn sign(key: &SigningKey, typ: &str, claims: &Value) -> Result<String, KeyError> {
    let header = json!({"alg": alg_name(key.algorithm), "kid": key.kid, "typ": typ});
    let encode = |value: &Value| -> Result<String, KeyError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| KeyError::Crypto(format!("serializing a token: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    };
    let signing_input = format!("{}.{}", encode(&header)?, encode(claims)?);
    let signature = key.sign(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// A verified token's header and claims. Claims (`iss`, `aud`, `exp`, `typ`) are the caller's
/// to check: this only proves the key set signed these bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The protected header.
    pub header: Value,
    /// The payload.
    pub claims: Value,
}

/// A compact JWS split into its parts, header decoded; nothing verified yet. Shared with
/// [`super::jwks`], which verifies other issuers' tokens the same way.
pub(super) struct Compact<'t> {
    /// The protected header (`crit` refused: it would name extensions not understood here,
    /// RFC 7515 4.1.11).
    pub header: Value,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'t [u8],
    payload_b64: &'t str,
    signature_b64: &'t str,
}

impl<'t> Compact<'t> {
    /// Splits `token` (three base64url parts, a JSON object header without `crit`).
    pub fn parse(token: &'t str) -> Result<Self, JwsError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header: Value =
            serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwsError::Malformed)?;
        if !header.is_object() || header.get("crit").is_some() {
            return Err(JwsError::Malformed);
        }
        Ok(Self {
            header,
            signing_input: &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()],
            payload_b64,
            signature_b64,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> Result<&str, JwsError> {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JwsError::Malformed)
    }

    /// The signature bytes.
    pub fn signature(&self) -> Result<Vec<u8>, JwsError> {
        decode(self.signature_b64)
    }

    /// The verified token: the payload must be a JSON object. Call after the signature check.
    pub fn verified(self) -> Result<Verified, JwsError> {
        let claims: Value =
            serde_json::from_slice(&decode(self.payload_b64)?).map_err(|_| JwsError::Malformed)?;
        if !claims.is_object() {
            return Err(JwsError::Malformed);
        }
        Ok(Verified {
            header: self.header,
            claims,
        })
    }
}

fn decode(part: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed)
}

/// Verifies a compact JWS against the keys `set` publishes at `now`.
pub fn verify(set: &KeySet, token: &str, now: i64) -> Result<Verified, JwsError> {
    let compact = Compact::parse(token)?;
    let alg = compact.alg()?;
    let kid = compact
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    let key = set
        .keys
        .iter()
        .find(|k| k.kid == kid && k.published_at(now))
        .ok_or(JwsError::UnknownKey)?;
    if alg != alg_name(key.algorithm) {
        return Err(JwsError::Algorithm);
    }
    let public = public_key_bytes(key).ok_or(JwsError::UnknownKey)?;
    let verifier = match key.algorithm {
        SigningAlgorithm::ES256 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public),
        SigningAlgorithm::EdDSA => UnparsedPublicKey::new(&ED25519, public),
        SigningAlgorithm::RS256 => return Err(JwsError::Algorithm),
    };
    verifier
        .verify(compact.signing_input, &compact.signature()?)
        .map_err(|_| JwsError::Signature)?;
    compact.verified()
}

/// The raw public key `ring` verifies with: the uncompressed P-256 point, or the Ed25519 key.
fn public_key_bytes(key: &SigningKey) -> Option<Vec<u8>> {
    let coordinate = |name: &str| {
        key.public_jwk
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    match key.algorithm {
        SigningAlgorithm::ES256 => {
            let (x, y) = (coordinate("x")?, coordinate("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Some(point)
        }
        SigningAlgorithm::EdDSA => coordinate("x").filter(|x| x.len() == 32),
        SigningAlgorithm::RS256 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(algorithm: SigningAlgorithm) -> KeySet {
        KeySet {
            keys: vec![SigningKey::generate(algorithm, 0, 0).expect("key")],
        }
    }

    fn forge(header: Value, claims: Value, signature: &[u8]) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"));
        format!(
            "{}.{}.{}",
            b64(&header),
            b64(&claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn a_signed_token_verifies_with_its_header_and_claims() {
        for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
            let keys = set(algorithm);
            let claims = json!({"sub": "u1", "exp": 10});
            let token = sign(&keys.keys[0], "at+jwt", &claims).expect("sign");
            let verified = verify(&keys, &token, 1).expect("verifies");
            assert_eq!(verified.claims, claims);
            assert_eq!(verified.header["typ"], "at+jwt");
            assert_eq!(verified.header["kid"], keys.keys[0].kid.as_str());
        }
    }

    #[test]
    fn tampering_another_key_and_an_unpublished_key_are_refused() {
        let keys = set(SigningAlgorithm::ES256);
        let token = sign(&keys.keys[0], "JWT", &json!({"sub": "u1"})).expect("sign");
        let mut parts: Vec<&str> = token.split('.').collect();
        let other_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &other_claims;
        assert_eq!(verify(&keys, &parts.join("."), 1), Err(JwsError::Signature));
        // Signed by a key of another set that happens to reuse the kid.
        let stranger = set(SigningAlgorithm::ES256);
        let mut imposter = stranger.keys[0].clone();
        imposter.kid = keys.keys[0].kid.clone();
        let forged = sign(&imposter, "JWT", &json!({"sub": "u1"})).expect("sign");
        assert_eq!(verify(&keys, &forged, 1), Err(JwsError::Signature));
        assert_eq!(
            verify(&stranger, &token, 1),
            Err(JwsError::UnknownKey),
            "a kid this set does not have"
        );
        // Past its publication, a key verifies nothing.
        let mut retired = keys.clone();
        retired.keys[0].retired_at = Some(5);
        retired.keys[0].published_until = Some(10);
        assert!(verify(&retired, &token, 10).is_ok());
        assert_eq!(verify(&retired, &token, 11), Err(JwsError::UnknownKey));
    }

    #[test]
    fn alg_none_hmac_with_the_public_key_and_a_mismatched_alg_are_refused() {
        let keys = set(SigningAlgorithm::ES256);
        let kid = keys.keys[0].kid.clone();
        let claims = json!({"sub": "u1"});
        let none = forge(json!({"alg": "none", "kid": kid}), claims.clone(), b"");
        assert_eq!(verify(&keys, &none, 1), Err(JwsError::Algorithm));
        // HS256 keyed with the published JWK: the classic confusion attack.
        let hmac_key = serde_json::to_vec(&keys.keys[0].public_jwk).expect("json");
        let header = json!({"alg": "HS256", "kid": kid});
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"));
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &hmac_key),
            input.as_bytes(),
        );
        let hs256 = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(verify(&keys, &hs256, 1), Err(JwsError::Algorithm));
        let eddsa = forge(
            json!({"alg": "EdDSA", "kid": kid}),
            claims.clone(),
            &[0; 64],
        );
        assert_eq!(verify(&keys, &eddsa, 1), Err(JwsError::Algorithm));
        let no_kid = forge(json!({"alg": "ES256"}), claims, &[0; 64]);
        assert_eq!(verify(&keys, &no_kid, 1), Err(JwsError::UnknownKey));
        for malformed in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(verify(&keys, malformed, 1), Err(JwsError::Malformed));
        }
    }
}
