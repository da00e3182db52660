//! Sign in with Apple's client secret: not a stored secret but an ES256 JWT that Vestibule mints
//! with the team's private key (the `.p8` file, PKCS#8 PEM, from the provider's Secret): `iss`
//! the team id, `sub` the client (Services) id, `aud` Apple's issuer, `kid` the key id. Apple
//! accepts lifetimes up to six months; Vestibule mints one for a day and reuses it until an hour
//! is left (`auth::federation::upstream::Upstreams::apple_client_secret`).

use base64::Engine;
use serde_json::json;

use super::jws;
use super::keys::{KeyError, SigningAlgorithm, SigningKey};

/// How long a minted client secret is valid, in seconds.
pub const LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// A cached client secret is replaced when less than this is left, in seconds.
pub const RENEW_BEFORE_SECONDS: i64 = 60 * 60;

/// Why the team's key cannot sign (never the key itself).
#[derive(Debug, thiserror::Error)]
pub enum AppleKeyError {
    /// Not PEM (or base64) text.
    #[error("the Apple key is not PKCS#8 PEM")]
    NotPem,
    /// Not an EC P-256 PKCS#8 private key.
    #[error("the Apple key is not a P-256 PKCS#8 private key")]
    NotP256,
    /// Signing failed.
    #[error("signing the Apple client secret failed: {0}")]
    Sign(#[from] KeyError),
}

/// The team's key from its PEM text (`-----BEGIN PRIVATE KEY-----` ...), or the bare base64 of
/// the PKCS#8 document.
pub fn parse_key(text: &str) -> Result<SigningKey, AppleKeyError> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| AppleKeyError::NotPem)?;
    SigningKey::from_pkcs8(SigningAlgorithm::ES256, &der, 0, 0).map_err(|_| AppleKeyError::NotP256)
}

/// A client secret JWT for `client_id` from team `team_id`, signed with its key `key_id`, issued
/// at `now` (Unix seconds).
pub fn client_secret(
    key: &SigningKey,
    team_id: &str,
    key_id: &str,
    client_id: &str,
    audience: &str,
    now: i64,
) -> Result<String, AppleKeyError> {
    let mut key = key.clone();
    // Apple names keys by its own id, not by the thumbprint Vestibule uses for its keys.
    key.kid = key_id.to_owned();
    let claims = json!({
        "iss": team_id,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "aud": audience,
        "sub": client_id,
    });
    Ok(jws::sign(&key, "JWT", &claims)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jwks;

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_can_verify_with_the_team_key() {
        let generated = SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            generated.private_pkcs8
        );
        let key = parse_key(&pem).expect("parses");
        let jwt = client_secret(
            &key,
            "TEAM123456",
            "KEY1234567",
            "com.example.web",
            "https://appleid.apple.com",
            1_800_000_000,
        )
        .expect("mints");
        let mut public = generated.public_jwk.clone();
        public["kid"] = json!("KEY1234567");
        let verified = jwks::verify(&json!({"keys": [public]}), &jwt).expect("verifies");
        assert_eq!(verified.header["alg"], "ES256");
        assert_eq!(verified.header["kid"], "KEY1234567");
        assert_eq!(
            verified.claims,
            json!({"iss": "TEAM123456", "iat": 1_800_000_000, "exp": 1_800_086_400,
                   "aud": "https://appleid.apple.com", "sub": "com.example.web"})
        );
        assert!(parse_key("not a key").is_err());
        assert!(parse_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }
}
