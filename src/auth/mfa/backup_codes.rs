//! Backup codes: ten characters from a 29-symbol alphabet (48 bits each, SECURITY 26), shown as
//! `xxxxx-xxxxx`, stored as MACs under the MFA key.

use rand::RngExt;

use crate::crypto::sealing::MfaKey;

/// Lower-case letters and digits without the ones people confuse (0/o, 1/l/i, u/v).
const ALPHABET_TEXT: &[u8] = b"abcdefghjkmnpqrstwxyz23456789";
/// Characters per code.
const LENGTH: usize = 10;

/// `count` new codes, formatted for display.
pub fn new_set(count: u32) -> Vec<String> {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| {
            let chars: String = (0..LENGTH)
                .map(|_| char::from(ALPHABET_TEXT[rng.random_range(0..ALPHABET_TEXT.len())]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A code as typed (any case, spaces or dashes anywhere) in its canonical form, if it can be one.
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET_TEXT.contains(&b))).then_some(code)
}

/// What is stored for a canonical code of `user_id`: bound to the user, so a code of one account
/// never matches another's.
pub fn mac(key: &MfaKey, user_id: &str, code: &str) -> String {
    key.mac(format!("backup-code:{user_id}:{code}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_enough_distinct_and_round_trip() {
        let codes = new_set(10);
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        // 29 symbols ^ 10 characters is more than 2^48 (SECURITY 26 asks for 20 bits).
        assert!((ALPHABET_TEXT.len() as f64).powi(LENGTH as i32).log2() > 48.0);
        for code in &codes {
            assert_eq!(code.len(), 11);
            let canonical = normalize(code).unwrap();
            assert_eq!(
                normalize(&code.to_uppercase().replace('-', " ")),
                Some(canonical)
            );
        }
        assert_eq!(normalize("abc"), None);
        assert_eq!(
            normalize("abcde-fgh0o"),
            None,
            "confusable letters are not in codes"
        );
    }

    #[test]
    fn macs_are_bound_to_the_user() {
        let key = MfaKey::from_encoded(&crate::crypto::sealing::generate_encoded()).unwrap();
        assert_ne!(mac(&key, "u1", "abcdefghjk"), mac(&key, "u2", "abcdefghjk"));
        assert_eq!(mac(&key, "u1", "abcdefghjk"), mac(&key, "u1", "abcdefghjk"));
    }
}
