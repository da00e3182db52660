//! Token-signing key material: keys stored as PKCS#8 with their public JWK, RFC 7638 `kid`s,
//! signatures, and the published JWKS. The rotation *planner* that decides when keys are made
//! and retired is the operator's (`operator::keys`); this is what both the operator and the
//! server need to hold, sign with and publish keys.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// JWS algorithm of a signing key. Stored in the key Secret, so its serialized names are fixed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    #[default]
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: not generated or loaded yet.
    RS256,
    /// Ed25519.
    EdDSA,
}

/// JWK members that may appear in a published key. Everything else (`d`, `p`, `q`, ...) is left
/// out, whatever the stored JWK holds.
const PUBLIC_MEMBERS: [&str; 6] = ["kty", "crv", "x", "y", "n", "e"];

/// One signing key as stored in the Vestibule's key Secret (JSON), private part included.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of the public key.
    pub kid: String,
    /// JWS algorithm the key signs with.
    pub algorithm: SigningAlgorithm,
    /// The private key as a PKCS#8 document, standard base64. Empty in [`public_only`] sets.
    pub private_pkcs8: String,
    /// The public key as published: `kty`, `crv`, `x`, (`y`), `kid`, `alg`, `use`.
    pub public_jwk: Value,
    /// When the key was generated.
    pub created_at: i64,
    /// Not before this may it sign.
    pub signs_from: i64,
    /// When it stopped signing (its successor's `signs_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// Until when it stays in the JWKS: `retired_at + max_token_ttl_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_until: Option<i64>,
    /// The parsed private key, once it has signed: parsing PKCS#8 (and deriving the public
    /// point) costs more than an ES256 signature, so it is done once per key, not per token.
    #[serde(skip)]
    parsed: ParsedKey,
}

/// A lazily parsed private key, shared by clones; ignored by equality and debug output.
#[derive(Clone, Default)]
struct ParsedKey(std::sync::Arc<std::sync::OnceLock<Loaded>>);

impl PartialEq for ParsedKey {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ParsedKey {}

impl std::fmt::Debug for ParsedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedKey")
    }
}

/// Every key of a Vestibule, ordered oldest first (by `signs_from`, then `created_at`, then
/// `kid`) as [`plan`] leaves it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    /// The keys.
    pub keys: Vec<SigningKey>,
}

/// Why keys could not be planned, loaded or used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Keys of this algorithm can be neither generated nor loaded yet.
    #[error("{0:?} signing keys are not supported yet; use ES256 or EdDSA")]
    Unsupported(SigningAlgorithm),
    /// The crypto library failed (e.g. no randomness).
    #[error("crypto failure: {0}")]
    Crypto(String),
    /// The stored key set is damaged.
    #[error("stored signing key corrupt: {0}")]
    Corrupt(String),
    /// The policy is inconsistent.
    #[error("invalid signing-key policy: {0}")]
    Policy(String),
}

/// The JWS `alg` name of an algorithm.
pub fn alg_name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm {
        SigningAlgorithm::ES256 => "ES256",
        SigningAlgorithm::RS256 => "RS256",
        SigningAlgorithm::EdDSA => "EdDSA",
    }
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn member<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, KeyError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| KeyError::Corrupt(format!("JWK lacks string member {name:?}")))
}

/// RFC 7638 thumbprint of a public JWK: SHA-256 of the required members in lexicographic order,
/// serialized without whitespace, base64url without padding.
pub fn thumbprint(jwk: &Value) -> Result<String, KeyError> {
    let required: &[&str] = match member(jwk, "kty")? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        other => return Err(KeyError::Corrupt(format!("unknown JWK kty {other:?}"))),
    };
    let mut canonical = String::from("{");
    for (i, name) in required.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = member(jwk, name)?;
        canonical.push_str(&Value::String((*name).to_owned()).to_string());
        canonical.push(':');
        canonical.push_str(&Value::String(value.to_owned()).to_string());
    }
    canonical.push('}');
    Ok(b64url(&Sha256::digest(canonical.as_bytes())))
}

/// A parsed private key.
enum Loaded {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

fn load(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<Loaded, KeyError> {
    match algorithm {
        SigningAlgorithm::ES256 => EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8,
            &SystemRandom::new(),
        )
        .map(Loaded::Ecdsa)
        .map_err(|e| KeyError::Corrupt(format!("not a P-256 PKCS#8 key: {e}"))),
        SigningAlgorithm::EdDSA => Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map(Loaded::Ed25519)
            .map_err(|e| KeyError::Corrupt(format!("not an Ed25519 PKCS#8 key: {e}"))),
        SigningAlgorithm::RS256 => Err(KeyError::Unsupported(algorithm)),
    }
}

/// The published JWK of a loaded key, `kid` (its thumbprint), `alg` and `use` included.
fn public_jwk(algorithm: SigningAlgorithm, loaded: &Loaded) -> Result<Value, KeyError> {
    let mut jwk = Map::new();
    match loaded {
        Loaded::Ecdsa(pair) => {
            // Uncompressed SEC1 point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            let coordinates = match point.split_first() {
                Some((4, rest)) if rest.len() == 64 => rest,
                _ => return Err(KeyError::Crypto("unexpected P-256 public key form".into())),
            };
            let (x, y) = coordinates.split_at(32);
            jwk.insert("kty".into(), "EC".into());
            jwk.insert("crv".into(), "P-256".into());
            jwk.insert("x".into(), b64url(x).into());
            jwk.insert("y".into(), b64url(y).into());
        }
        Loaded::Ed25519(pair) => {
            jwk.insert("kty".into(), "OKP".into());
            jwk.insert("crv".into(), "Ed25519".into());
            jwk.insert("x".into(), b64url(pair.public_key().as_ref()).into());
        }
    }
    let mut jwk = Value::Object(jwk);
    let kid = thumbprint(&jwk)?;
    if let Value::Object(members) = &mut jwk {
        members.insert("kid".into(), kid.into());
        members.insert("alg".into(), alg_name(algorithm).into());
        members.insert("use".into(), "sig".into());
    }
    Ok(jwk)
}

impl SigningKey {
    /// A key from an existing PKCS#8 document (as generated by ring: P-256 for ES256, Ed25519 for
    /// EdDSA).
    pub fn from_pkcs8(
        algorithm: SigningAlgorithm,
        pkcs8: &[u8],
        created_at: i64,
        signs_from: i64,
    ) -> Result<SigningKey, KeyError> {
        let public_jwk = public_jwk(algorithm, &load(algorithm, pkcs8)?)?;
        Ok(SigningKey {
            kid: member(&public_jwk, "kid")?.to_owned(),
            algorithm,
            private_pkcs8: STANDARD.encode(pkcs8),
            public_jwk,
            created_at,
            signs_from,
            retired_at: None,
            published_until: None,
            parsed: ParsedKey::default(),
        })
    }

    /// A fresh random key.
    pub fn generate(
        algorithm: SigningAlgorithm,
        created_at: i64,
        signs_from: i64,
    ) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let document = match algorithm {
            SigningAlgorithm::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            SigningAlgorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng),
            SigningAlgorithm::RS256 => return Err(KeyError::Unsupported(algorithm)),
        }
        .map_err(|_| KeyError::Crypto(format!("{} key generation failed", alg_name(algorithm))))?;
        SigningKey::from_pkcs8(algorithm, document.as_ref(), created_at, signs_from)
    }

    fn load(&self) -> Result<Loaded, KeyError> {
        let pkcs8 = STANDARD.decode(&self.private_pkcs8).map_err(|e| {
            KeyError::Corrupt(format!("key {}: private key is not base64: {e}", self.kid))
        })?;
        load(self.algorithm, &pkcs8).map_err(|e| match e {
            KeyError::Corrupt(m) => KeyError::Corrupt(format!("key {}: {m}", self.kid)),
            other => other,
        })
    }

    /// Checks that the private key parses, that the stored public JWK is exactly its public part,
    /// and that the `kid` is its thumbprint.
    pub fn validate(&self) -> Result<(), KeyError> {
        let expected = public_jwk(self.algorithm, &self.load()?)?;
        if self.public_jwk != expected {
            return Err(KeyError::Corrupt(format!(
                "key {}: stored public JWK does not match the private key",
                self.kid
            )));
        }
        if member(&expected, "kid")? != self.kid {
            return Err(KeyError::Corrupt(format!(
                "key {}: kid is not the key's thumbprint",
                self.kid
            )));
        }
        match (self.retired_at, self.published_until) {
            (None, None) => {}
            (Some(retired), Some(until)) if until >= retired => {}
            _ => {
                return Err(KeyError::Corrupt(format!(
                    "key {}: inconsistent retiredAt/publishedUntil",
                    self.kid
                )));
            }
        }
        Ok(())
    }

    /// JWS signature of `message` (`ES256`: the 64-byte `r || s`; `EdDSA`: 64 bytes).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let loaded = match self.parsed.0.get() {
            Some(loaded) => loaded,
            None => {
                let loaded = self.load()?;
                self.parsed.0.get_or_init(|| loaded)
            }
        };
        match loaded {
            Loaded::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Crypto("ES256 signing failed".into())),
            Loaded::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// Whether the key is still in the JWKS at `now`.
    pub fn published_at(&self, now: i64) -> bool {
        self.published_until.is_none_or(|until| now <= until)
    }

    pub fn retired_at_time(&self, now: i64) -> bool {
        self.retired_at.is_some_and(|retired| retired <= now)
    }

    pub fn order_key(&self) -> (i64, i64, &str) {
        (self.signs_from, self.created_at, &self.kid)
    }
}

impl KeySet {
    /// The set stored in a Secret value.
    pub fn from_json(bytes: &[u8]) -> Result<KeySet, KeyError> {
        serde_json::from_slice(bytes)
            .map_err(|e| KeyError::Corrupt(format!("key set is not valid JSON: {e}")))
    }

    /// The Secret value: compact JSON, stable for a given set.
    pub fn to_json(&self) -> Result<Vec<u8>, KeyError> {
        serde_json::to_vec(self).map_err(|e| KeyError::Crypto(format!("serializing keys: {e}")))
    }

    /// Validates every key ([`SigningKey::validate`]) and that no `kid` repeats.
    pub fn validate(&self) -> Result<(), KeyError> {
        for (i, key) in self.keys.iter().enumerate() {
            key.validate()?;
            if self.keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(KeyError::Corrupt(format!("key {} appears twice", key.kid)));
            }
        }
        Ok(())
    }
}

/// The key that signs at `now`: the newest key whose `signs_from` has come and that is not
/// retired. `None` before the first [`plan`].
pub fn signing_key(set: &KeySet, now: i64) -> Option<&SigningKey> {
    set.keys
        .iter()
        .filter(|k| k.signs_from <= now && !k.retired_at_time(now))
        .max_by(|a, b| a.order_key().cmp(&b.order_key()))
}

/// The public part of a stored JWK: only public members, and `kid`, `alg`, `use` from the key.
fn published_jwk(key: &SigningKey) -> Value {
    let mut jwk = Map::new();
    for name in PUBLIC_MEMBERS {
        if let Some(value) = key.public_jwk.get(name) {
            jwk.insert(name.into(), value.clone());
        }
    }
    jwk.insert("kid".into(), key.kid.clone().into());
    jwk.insert("alg".into(), alg_name(key.algorithm).into());
    jwk.insert("use".into(), "sig".into());
    Value::Object(jwk)
}

/// The public JWKS (RFC 7517) to publish at `now`: every key not past its `published_until`
/// (keys waiting to sign included), public members only, with `kid`, `alg` and `use: "sig"`.
pub fn jwks(set: &KeySet, now: i64) -> Value {
    let keys: Vec<Value> = set
        .keys
        .iter()
        .filter(|k| k.published_at(now))
        .map(published_jwk)
        .collect();
    serde_json::json!({ "keys": keys })
}

/// The same set without private keys (`private_pkcs8` empty, public JWKs reduced to public
/// members), e.g. for a ConfigMap or `vestibule render`. Such a set cannot sign or be planned.
pub fn public_only(set: &KeySet) -> KeySet {
    KeySet {
        keys: set
            .keys
            .iter()
            .map(|k| SigningKey {
                private_pkcs8: String::new(),
                public_jwk: published_jwk(k),
                // Never carry the parsed private key into a public set.
                parsed: ParsedKey::default(),
                ..k.clone()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};

    const T0: i64 = 1_750_000_000_000;

    /// RFC 7517 appendix A.1/A.2 P-256 key, as a PKCS#8 document in ring's layout.
    const P256_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAGhRANCAAQwoEJM0hwpRIOKLXXJKzfnbqINnwCJOjtO7oo8Cq/sPuBLZekkVtmIi1Kzeb371R7oae8fD8ZbZllpW2zOCBcj";
    const P256_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
    const P256_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
    /// SHA-256 of the canonical JSON below, base64url (computed outside this crate, with Python's
    /// hashlib and with `openssl dgst -sha256 | basenc --base64url`).
    const P256_THUMBPRINT: &str = "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s";

    /// RFC 8037 appendix A.1 Ed25519 key (PKCS#8 v1); A.3 gives its thumbprint.
    const ED25519_PKCS8: &str = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
    const ED25519_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const ED25519_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    fn one_key(algorithm: SigningAlgorithm) -> KeySet {
        KeySet {
            keys: vec![SigningKey::generate(algorithm, T0, T0).expect("generate")],
        }
    }

    fn decode(member: &Value) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(member.as_str().expect("string member"))
            .expect("base64url")
    }

    /// Verifies a signature with ring, using only the published JWK.
    fn verify(jwk: &Value, message: &[u8], signature: &[u8]) -> bool {
        match jwk["alg"].as_str() {
            Some("ES256") => {
                let mut point = vec![4u8];
                point.extend(decode(&jwk["x"]));
                point.extend(decode(&jwk["y"]));
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            Some("EdDSA") => UnparsedPublicKey::new(&ED25519, decode(&jwk["x"]))
                .verify(message, signature)
                .is_ok(),
            other => panic!("unexpected alg {other:?}"),
        }
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // By hand: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{P256_X}","y":"{P256_Y}"}}"#);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
            P256_THUMBPRINT
        );
        // Member order and extra members of the input do not matter.
        let jwk = serde_json::json!({
            "y": P256_Y, "x": P256_X, "use": "sig", "kty": "EC", "crv": "P-256", "kid": "other"
        });
        assert_eq!(thumbprint(&jwk).expect("thumbprint"), P256_THUMBPRINT);

        // A stored key of that private key gets that kid.
        let pkcs8 = STANDARD.decode(P256_PKCS8).expect("base64");
        let key = SigningKey::from_pkcs8(SigningAlgorithm::ES256, &pkcs8, T0, T0).expect("load");
        assert_eq!(key.kid, P256_THUMBPRINT);
        assert_eq!(key.public_jwk["x"], P256_X);
        assert_eq!(key.public_jwk["y"], P256_Y);
        key.validate().expect("valid");

        // RFC 8037 A.3 for Ed25519.
        let pkcs8 = STANDARD.decode(ED25519_PKCS8).expect("base64");
        let key = SigningKey::from_pkcs8(SigningAlgorithm::EdDSA, &pkcs8, T0, T0).expect("load");
        assert_eq!(key.public_jwk["x"], ED25519_X);
        assert_eq!(key.kid, ED25519_THUMBPRINT);

        // Generated keys too.
        for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
            let key = SigningKey::generate(algorithm, T0, T0).expect("generate");
            assert_eq!(thumbprint(&key.public_jwk).expect("thumbprint"), key.kid);
        }
    }

    #[test]
    fn a_generated_es256_key_signs_and_verifies_with_ring() {
        let set = one_key(SigningAlgorithm::ES256);
        let key = signing_key(&set, T0).expect("signer");
        let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0";
        let signature = key.sign(message).expect("sign");
        assert_eq!(signature.len(), 64, "fixed r || s");
        let jwk = &jwks(&set, T0)["keys"][0];
        assert!(verify(jwk, message, &signature));
        assert!(!verify(jwk, b"tampered", &signature));
    }

    #[test]
    fn a_generated_eddsa_key_signs_and_verifies_with_ring() {
        let set = one_key(SigningAlgorithm::EdDSA);
        let key = signing_key(&set, T0).expect("signer");
        let message = b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0";
        let signature = key.sign(message).expect("sign");
        assert_eq!(signature.len(), 64);
        let jwk = &jwks(&set, T0)["keys"][0];
        assert!(verify(jwk, message, &signature));
        assert!(!verify(jwk, b"tampered", &signature));
    }
}
