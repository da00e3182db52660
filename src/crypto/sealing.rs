//! The instance's MFA key: it seals second-factor secrets at rest (AES-256-GCM, SECURITY 22) and
//! keys the MACs of backup codes and remembered-device cookies. One 256-bit master key from the
//! region's Secret; the two uses get their own subkeys, so neither can stand in for the other.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngExt;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;

/// Why the key or a sealed value cannot be used. Never carries key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The stored key is not 32 bytes of base64.
    #[error("the MFA key must be 32 bytes, base64-encoded")]
    BadKey,
    /// A sealed value was damaged, moved to another owner, or sealed under another key.
    #[error("a sealed value does not open under this key")]
    Unsealable,
}

/// The MFA key, ready to use. `Debug` prints nothing of it.
pub struct MfaKey {
    aead: LessSafeKey,
    mac: hmac::Key,
}

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(<redacted>)")
    }
}

/// A new random master key, base64, as stored in the region Secret or the dev data directory.
pub fn generate_encoded() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    STANDARD.encode(bytes)
}

impl MfaKey {
    /// The key from its stored form (base64 of 32 bytes; surrounding whitespace ignored).
    pub fn from_encoded(text: &str) -> Result<MfaKey, SealError> {
        let master = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        if master.len() != 32 {
            return Err(SealError::BadKey);
        }
        let master = hmac::Key::new(hmac::HMAC_SHA256, &master);
        let derive = |label: &[u8]| hmac::sign(&master, label);
        let aead = UnboundKey::new(&AES_256_GCM, derive(b"vestibule mfa seal v1").as_ref())
            .map_err(|_| SealError::BadKey)?;
        Ok(MfaKey {
            aead: LessSafeKey::new(aead),
            mac: hmac::Key::new(hmac::HMAC_SHA256, derive(b"vestibule mfa mac v1").as_ref()),
        })
    }

    /// Seals `plaintext` for `owner` (bound as associated data, so a value copied to another
    /// row does not open there): base64url of a random nonce, the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8], owner: &str) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
        let mut buffer = plaintext.to_vec();
        // Sealing fails only for inputs of gigabytes; secrets here are 20 bytes.
        if self
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(owner.as_bytes()),
                &mut buffer,
            )
            .is_err()
        {
            buffer.clear();
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens a value [`Self::seal`] made for `owner`.
    pub fn open(&self, sealed: &str, owner: &str) -> Result<Vec<u8>, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Unsealable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unsealable)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SealError::Unsealable)?;
        Ok(plain.to_vec())
    }

    /// HMAC-SHA256 of `message` under the MAC subkey, base64url.
    pub fn mac(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.mac, message).as_ref())
    }

    /// Whether `tag` (base64url) is the MAC of `message`, compared in constant time.
    pub fn verify_mac(&self, message: &[u8], tag: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(tag)
            .is_ok_and(|tag| hmac::verify(&self.mac, message, &tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MfaKey {
        MfaKey::from_encoded(&generate_encoded()).expect("key")
    }

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let k = key();
        let sealed = k.seal(b"twenty byte secret!!", "user-1");
        assert!(!sealed.contains("twenty"), "not stored in the clear");
        assert_eq!(k.open(&sealed, "user-1").unwrap(), b"twenty byte secret!!");
        assert_eq!(k.open(&sealed, "user-2"), Err(SealError::Unsealable));
        assert_eq!(key().open(&sealed, "user-1"), Err(SealError::Unsealable));
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            k.open(&URL_SAFE_NO_PAD.encode(tampered), "user-1"),
            Err(SealError::Unsealable)
        );
        assert_ne!(
            sealed,
            k.seal(b"twenty byte secret!!", "user-1"),
            "fresh nonce"
        );
    }

    #[test]
    fn macs_verify_only_their_message() {
        let k = key();
        let tag = k.mac(b"message");
        assert!(k.verify_mac(b"message", &tag));
        assert!(!k.verify_mac(b"massage", &tag));
        assert!(!key().verify_mac(b"message", &tag));
        assert!(!k.verify_mac(b"message", "not base64!"));
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        assert_eq!(
            MfaKey::from_encoded("c2hvcnQ=").unwrap_err(),
            SealError::BadKey
        );
        assert_eq!(MfaKey::from_encoded("???").unwrap_err(), SealError::BadKey);
        assert!(MfaKey::from_encoded(&format!(" {}\n", generate_encoded())).is_ok());
    }
}
