//! Verifying tokens of other issuers (upstream identity providers such as Google, Microsoft or
//! any OpenID Provider) against the JWKS they publish (RFC 7517). Glue over `ring`, like
//! [`super::jws`] for our own tokens, with the same rule: the algorithm comes from the key, not
//! from the token. A token's `alg` must be one of RS256, ES256 or EdDSA *and* fit the key its
//! `kid` names (its `kty`/`crv`, and its `alg` when the JWK states one), so `none`, HMAC
//! keyed with a public key, and a key used for another algorithm are refused before any
//! signature is checked. Claims (`iss`, `aud`, `exp`, `nonce`) are the caller's to check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde_json::Value;

use super::jws::{Compact, JwsError, Verified};

/// Verifies a compact JWS against a JWKS document (`{"keys": [...]}`). With one key in the
/// set a token may omit `kid`; otherwise `kid` picks the key. An unknown `kid` is
/// [`JwsError::UnknownKey`], so the caller can fetch the JWKS again once (keys rotate).
pub fn verify(jwks: &Value, token: &str) -> Result<Verified, JwsError> {
    let compact = Compact::parse(token)?;
    let alg = compact.alg()?;
    let keys: Vec<&Value> = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                // Keys for encryption are not for checking signatures.
                .filter(|k| {
                    k.get("use")
                        .and_then(Value::as_str)
                        .is_none_or(|u| u == "sig")
                })
                .collect()
        })
        .unwrap_or_default();
    let key = match compact.header.get("kid").and_then(Value::as_str) {
        Some(kid) => keys
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or(JwsError::UnknownKey)?;
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if text("alg").is_some_and(|stated| stated != alg) {
        return Err(JwsError::Algorithm);
    }
    let member = |name: &str| -> Result<Vec<u8>, JwsError> {
        text(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or(JwsError::UnknownKey)
    };
    let signature = compact.signature()?;
    let message = compact.signing_input;
    let verified = match (alg, text("kty"), text("crv")) {
        ("RS256", Some("RSA"), _) => RsaPublicKeyComponents {
            n: member("n")?,
            e: member("e")?,
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, message, &signature),
        ("ES256", Some("EC"), Some("P-256")) => {
            let (x, y) = (member("x")?, member("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(JwsError::UnknownKey);
            }
            let point = [&[4u8][..], &x, &y].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, &signature)
        }
        ("EdDSA", Some("OKP"), Some("Ed25519")) => {
            UnparsedPublicKey::new(&ED25519, member("x")?).verify(message, &signature)
        }
        _ => return Err(JwsError::Algorithm),
    };
    verified.map_err(|_| JwsError::Signature)?;
    compact.verified()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::{SigningAlgorithm, SigningKey, jwks as published};
    use ring::rand::SystemRandom;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use serde_json::json;

    /// A 2048-bit RSA key (PKCS#8, generated with openssl for these tests only).
    const RSA_PKCS8: &str = "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDuuSF/fZTliL17Ugz3vXzIR96ZyEzuKL0PzJ5xRhJgdTUG6+Fe4ctUUf9BLVIbUenvUE6Ka5wTyannsp43AmvlkESGMAXN6LQTZ0kZoGIVnoXorENHin8WPTu61nn+XfZj+noTKaOE+TFW1z3lzOXMjN2wKCiNHwlCuf4IM1lSYY8r2vXMdFFhFCo8MdqZO/n0i93Abstv258zTbHMm0fTlSl+dfzp0y51LsWYW199cugeYh/VIEjkOWLL7LAwvC9sM9umbdd29WY1OaftPirYS7s6CI0kMLQYZ0xfZqvmHyLPSHGMHMY5rUEyi2PHDEj4MAtYt9ikYvkaVshJkqofAgMBAAECggEAIX550Tn3qLGOqF1YSBre2vjz0LmA9boN4MgcWOyfH8fXeKZNg4hZr3XRGGjOnYUDi29wkvegjp7bsbsRe3Vhrx7BRonkCUJuSvn8ZdXnZ9IgnAcuFL0SsgubCaQVuhdJPo4tD5WRhagzAH9dsL7sD87vPHaTTfg9+TiVsw/ap0tB0zG35fN91ZjBQiBsKQae+pBk4wB3Xbty8ojbTp/hOI4w1katyXlRHYtpYcl9eZYworjYyoEZI7WX+mJ4hNpI0Gv5mW/kYRTqghoe82SpYu8y2OnxXH29CJ06M3B5B8gEAqw090pKBpv+E/73YXPcWA6JzwjuBjVQ3egj0TpFSQKBgQD/fLGHYOcL361crUchkyCahyQmFkqt/c3p/WFK8xLEQ7BFMXc2tQWV1Xayqsm4EW+gj45yyvdXkeXTELSDkVunQbJSDtiJ6ueaGmgbuYdmYn00iVBRDxH42IA+hstTWwMrsmpbV3WOjEeoXrsRVk0zxNQspUxtlSK0X2yTNeHsWQKBgQDvM9JWnvG43ZuHLPRNHoxB6ArZ+f85oPOk2ZvtjYvNrQXIsWb9U52A5e/sqPkWwApwC5+TiX9F0HFn91MGU/PpTkq1kHhbu498cVR4xzANZnIRjVEXU0frzHQqTdDnKN87X3mbEif1RCFwDOP/4+veycpH2TrcwwhCmUh5cYebNwKBgQDMhxVT7FZqogEWDT3BehgCvSdKOlREn8dlh8uIhblDV3DYo7XtHNPA1Ge2tpTP/11eqy39ZdDG0OysoFXycb5u0mAf4vSkzGHmczde4pKrezMCiN68VZUsop1f8Ob67wRFygns38IjgNeoyVV2lqEtTWgR6a6al2Z2AWJZIyye2QKBgG9yD3+4Ehr1dO7n7PK5VtOmDtg798Obz6hwkot9NTOgd19n9/nzKSDTAJOcrmEBHFvTroeIujmGwi+UNaRvHOcISRqKsujaXCG4k4iqFSNJJcAzvSJG9O1RlpXXJ4trqYX6F6g+L0vAcGvKNbgVMuHb1ljfRuNwIrsUu4WJdYrFAoGBAMcdiNWjPyRjwNO6fyLob+YVvMd74KAI7xotd5eooDTLAaKFLQg/90i+a3msds0qv6aZaEpqNL+AiRfexFZYbemlhvb1zKk2BM9LhAjZxsix4Oan1HxN6Rzq1foZhVKmk3/oxmDxzJGBiUpHHoFLNQbiCU2AeZZw+flOmIocUlSp";

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_pair() -> RsaKeyPair {
        let der = base64::engine::general_purpose::STANDARD
            .decode(RSA_PKCS8)
            .expect("base64");
        RsaKeyPair::from_pkcs8(&der).expect("rsa key")
    }

    fn rsa_jwk(pair: &RsaKeyPair, kid: &str) -> Value {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(&public.n), "e": b64(&public.e)})
    }

    fn rs256(pair: &RsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(header).expect("json")),
            b64(&serde_json::to_vec(claims).expect("json"))
        );
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .expect("signs");
        format!("{input}.{}", b64(&signature))
    }

    fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(&serde_json::to_vec(header).expect("json")),
            b64(&serde_json::to_vec(claims).expect("json")),
            b64(signature)
        )
    }

    #[test]
    fn verifies_rs256_es256_and_eddsa_tokens_of_another_issuer() {
        let pair = rsa_pair();
        let claims = json!({"iss": "https://idp.example", "sub": "u1"});
        let jwks = json!({"keys": [rsa_jwk(&pair, "r1")]});
        let token = rs256(&pair, &json!({"alg": "RS256", "kid": "r1"}), &claims);
        assert_eq!(verify(&jwks, &token).expect("RS256").claims, claims);
        // One key in the set: kid may be left out.
        let token = rs256(&pair, &json!({"alg": "RS256"}), &claims);
        assert!(verify(&jwks, &token).is_ok());

        for algorithm in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA] {
            let key = SigningKey::generate(algorithm, 0, 0).expect("key");
            let set = crate::crypto::keys::KeySet {
                keys: vec![key.clone()],
            };
            let token = crate::crypto::jws::sign(&key, "JWT", &claims).expect("signs");
            assert!(verify(&published(&set, 0), &token).is_ok(), "{algorithm:?}");
        }
    }

    #[test]
    fn refuses_none_hmac_with_the_public_key_mismatched_keys_and_tampering() {
        let pair = rsa_pair();
        let jwk = rsa_jwk(&pair, "r1");
        let jwks = json!({"keys": [jwk.clone()]});
        let claims = json!({"iss": "https://idp.example", "sub": "u1"});

        let none = forge(&json!({"alg": "none", "kid": "r1"}), &claims, b"");
        assert_eq!(verify(&jwks, &none), Err(JwsError::Algorithm));
        // HS256 keyed with the published key: the algorithm-confusion attack.
        let header = json!({"alg": "HS256", "kid": "r1"});
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(&header).expect("json")),
            b64(&serde_json::to_vec(&claims).expect("json"))
        );
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(
                ring::hmac::HMAC_SHA256,
                &serde_json::to_vec(&jwk).expect("json"),
            ),
            input.as_bytes(),
        );
        let hs256 = format!("{input}.{}", b64(mac.as_ref()));
        assert_eq!(verify(&jwks, &hs256), Err(JwsError::Algorithm));
        // An RSA key asked to check an ES256 signature.
        let es = forge(&json!({"alg": "ES256", "kid": "r1"}), &claims, &[0; 64]);
        assert_eq!(verify(&jwks, &es), Err(JwsError::Algorithm));
        // The JWK states another algorithm.
        let mut rs384_only = jwk.clone();
        rs384_only["alg"] = "RS384".into();
        let token = rs256(&pair, &json!({"alg": "RS256", "kid": "r1"}), &claims);
        assert_eq!(
            verify(&json!({"keys": [rs384_only]}), &token),
            Err(JwsError::Algorithm)
        );
        // Unknown kid (the caller fetches the JWKS again), and an encryption key.
        let other = rs256(&pair, &json!({"alg": "RS256", "kid": "r2"}), &claims);
        assert_eq!(verify(&jwks, &other), Err(JwsError::UnknownKey));
        let mut enc = jwk.clone();
        enc["use"] = "enc".into();
        assert_eq!(
            verify(&json!({"keys": [enc]}), &token),
            Err(JwsError::UnknownKey)
        );
        // Tampered claims.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64(br#"{"iss":"https://idp.example","sub":"admin"}"#);
        assert_eq!(verify(&jwks, &parts.join(".")), Err(JwsError::Signature));
        assert_eq!(verify(&jwks, "a.b"), Err(JwsError::Malformed));
    }
}
