//! Random tokens (sessions, CSRF, emailed links, client secrets), what is stored instead of them,
//! and comparing secrets without leaking where they differ.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 256 random bits, base64url: session tokens, CSRF tokens, link tokens, client secrets.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `text` looks like one of our tokens (43 base64url characters).
pub fn is_token(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored instead of a token: its SHA-256, hex. Tokens carry 256 bits of entropy, so a
/// fast hash suffices (no dictionary to attack).
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Hex digits of the issue time that start a refresh token (milliseconds, 48 bits: until the
/// year 10889).
const ISSUED_DIGITS: usize = 12;

/// A refresh token: the issue time in milliseconds as 12 hex digits, then a [`random_token`].
///
/// The time prefix carries no secret; it orders the stored keys ([`refresh_token_key`]) by
/// issue time, so the tokens of one moment land together at the end of the key index instead
/// of each on a random page of it: a batch of rotations writes a few pages, not one per token.
pub fn new_refresh_token(now_ms: i64) -> String {
    let issued = u64::try_from(now_ms).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{issued:012x}{}", random_token())
}

/// What is stored for a refresh token and looked up by: its time prefix, then the SHA-256 of the
/// whole token. A token without the prefix (issued before it existed, or made up) is keyed by
/// its hash alone, as before, and so is never confused with one that has it.
pub fn refresh_token_key(token: &str) -> String {
    match token.get(..ISSUED_DIGITS) {
        Some(issued)
            if token.len() == ISSUED_DIGITS + 43
                && issued.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            format!("{issued}{}", token_hash(token))
        }
        _ => token_hash(token),
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two secrets are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_unique() {
        let (a, b) = (random_token(), random_token());
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert!(!is_token("short"));
        assert!(!is_token(&format!("{}!", &a[..42])));
    }

    #[test]
    fn refresh_token_keys_sort_by_issue_time_and_hash_the_whole_token() {
        let early = new_refresh_token(1_700_000_000_000);
        let late = new_refresh_token(1_700_000_000_001);
        assert_eq!(early.len(), 55);
        assert!(early.starts_with("018bcfe56800"));
        let (early_key, late_key) = (refresh_token_key(&early), refresh_token_key(&late));
        assert!(early_key < late_key, "keys follow issue time");
        assert_eq!(early_key, format!("{}{}", &early[..12], token_hash(&early)));
        // A plain token (an older refresh token) keeps its plain hash.
        let plain = random_token();
        assert_eq!(refresh_token_key(&plain), token_hash(&plain));
        // Another secret behind the same prefix is another key.
        let forged = format!("{}{}", &early[..12], random_token());
        assert_ne!(refresh_token_key(&forged), early_key);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
