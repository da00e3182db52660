//! What a new password must meet (SECURITY 2–5; NIST SP 800-63B §3.1.1.2).
//!
//! Length is counted in Unicode code points, as NIST asks, and nothing is trimmed or normalized:
//! the password that passes the policy is exactly the one that gets hashed. There are no
//! composition rules ("one digit, one symbol"): they push people to predictable patterns
//! (`Password1!`) without making passwords harder to guess. Instead, passwords an attacker tries
//! first are refused.

use zxcvbn::Score;
use zxcvbn::matching::patterns::MatchPattern;

use crate::config::runtime::PasswordConfig;

/// Why a new password is refused. `Display` is for logs; pages word it themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer code points than the configured minimum.
    #[error("shorter than {min} characters")]
    TooShort {
        /// The configured minimum.
        min: u32,
    },
    /// More code points than the configured maximum.
    #[error("longer than {max} characters")]
    TooLong {
        /// The configured maximum.
        max: u32,
    },
    /// A password attackers try first: on the common-password list, or guessable within a
    /// thousand tries.
    #[error("a common password")]
    Common,
    /// The password is, or contains, the local part of the account's email address.
    #[error("contains the email address")]
    ContainsEmail,
}

/// Shortest email local part that is checked for: shorter ones (`al@…`) occur in too many
/// unrelated passwords to be worth refusing.
const MIN_LOCAL_PART_CHARS: usize = 4;

/// Checks a new password (sign-up, change, reset) against the policy.
///
/// `email` is the account's address; a password equal to or containing its local part (when that
/// is at least 4 characters) is refused, compared case-insensitively. The breached-password check
/// (`policy.breach_check`) needs the network and is not done here.
///
/// CPU-bound: a few milliseconds usually, about 0.3 s (release build) for crafted 100-character
/// input. From async code use [`PasswordHasher::check_policy`](super::PasswordHasher::check_policy),
/// which runs it on the bounded hashing pool.
pub fn check_policy(
    password: &str,
    policy: &PasswordConfig,
    email: &str,
) -> Result<(), PolicyViolation> {
    let chars = password.chars().count();
    if chars < policy.min_length as usize {
        return Err(PolicyViolation::TooShort {
            min: policy.min_length,
        });
    }
    if chars > policy.max_length as usize {
        return Err(PolicyViolation::TooLong {
            max: policy.max_length,
        });
    }
    if contains_email_local_part(password, email) {
        return Err(PolicyViolation::ContainsEmail);
    }
    if policy.reject_common && is_common(password) {
        return Err(PolicyViolation::Common);
    }
    Ok(())
}

fn contains_email_local_part(password: &str, email: &str) -> bool {
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    if local.chars().count() < MIN_LOCAL_PART_CHARS {
        return false;
    }
    password.to_lowercase().contains(&local.to_lowercase())
}

/// Whether the password is a leaked one, or nearly: zxcvbn finds the whole of it in its
/// common-password list (the ~30,000 most frequent leaked passwords, also matched reversed,
/// capitalized or l33t-spelled); or it is a leaked password with decorations (`Password12345!`,
/// `P@ssw0rd2024!`, `iloveyou2025`): list entries make up at least half of it and zxcvbn
/// estimates fewer than 10^8 guesses; or it scores 0 (under 10^3 guesses: `aaaaaaaaaaaa`,
/// `1234567890`, `qwertyuiop`).
fn is_common(password: &str) -> bool {
    let estimate = zxcvbn::zxcvbn(password, &[]);
    if estimate.score() == Score::Zero {
        return true;
    }
    // zxcvbn looks at the first 100 characters only, so longer passwords are never judged by
    // their start alone.
    let chars = password.chars().count();
    if chars > 100 {
        return false;
    }
    let from_list: usize = estimate
        .sequence()
        .iter()
        .filter(|m| matches!(&m.pattern, MatchPattern::Dictionary(d) if is_password_list(d)))
        .map(|m| m.j + 1 - m.i)
        .sum();
    let whole = from_list == chars && estimate.sequence().len() == 1;
    let decorated = estimate.score() <= Score::Two && 2 * from_list >= chars;
    whole || decorated
}

/// zxcvbn's dictionary type lives in a private module, so it cannot be named; its `Debug` form
/// is the variant name. `common_list_words_are_rejected` fails if that ever changes.
fn is_password_list(pattern: &zxcvbn::matching::patterns::DictionaryPattern) -> bool {
    format!("{:?}", pattern.dictionary_name) == "Passwords"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordConfig {
        PasswordConfig {
            min_length: 10,
            max_length: 128,
            reject_common: true,
            breach_check: false,
            breach_check_url: None,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }

    const EMAIL: &str = "someone@example.com";

    #[test]
    fn password_shorter_than_minimum_is_rejected() {
        assert_eq!(
            check_policy("k7#vQ2pLm", &policy(), EMAIL),
            Err(PolicyViolation::TooShort { min: 10 })
        );
    }

    #[test]
    fn minimum_length_counts_code_points_not_bytes() {
        // Ten code points (30 bytes) pass; nine (27 bytes) are too short however many bytes.
        let ten = "日本語の秘密の合言葉";
        assert_eq!(ten.chars().count(), 10);
        assert!(check_policy(ten, &policy(), EMAIL).is_ok());
        let short = "本語の秘密の合言葉";
        assert_eq!(short.chars().count(), 9);
        assert_eq!(short.len(), 27);
        assert_eq!(
            check_policy(short, &policy(), EMAIL),
            Err(PolicyViolation::TooShort { min: 10 })
        );
    }

    #[test]
    fn eight_character_minimum_is_expressible_for_mfa_accounts() {
        let mfa = PasswordConfig {
            min_length: 8,
            ..policy()
        };
        assert!(check_policy("vX9#qLm2", &mfa, EMAIL).is_ok());
        assert!(check_policy("vX9#qLm", &mfa, EMAIL).is_err());
    }

    #[test]
    fn password_longer_than_maximum_is_rejected() {
        let long = "correct horse battery staple ".repeat(5);
        assert_eq!(long.chars().count(), 145);
        assert_eq!(
            check_policy(&long, &policy(), EMAIL),
            Err(PolicyViolation::TooLong { max: 128 })
        );
    }

    #[test]
    fn long_unicode_passphrases_with_spaces_are_accepted() {
        let passphrase = "Ünïcödé späces and 64+ characters are fine — 🦀 ferris rides a bicycle";
        assert!(passphrase.chars().count() >= 64);
        assert!(check_policy(passphrase, &policy(), EMAIL).is_ok());
    }

    #[test]
    fn common_list_words_are_rejected() {
        for common in ["password1234", "qwertyuiop", "1234567890", "1qaz2wsx3edc"] {
            assert_eq!(
                check_policy(common, &policy(), EMAIL),
                Err(PolicyViolation::Common),
                "{common}"
            );
        }
    }

    #[test]
    fn password_list_entry_is_rejected_even_when_score_is_not_zero() {
        // Rank 11,383 of the list: zxcvbn scores it 1, so only the list rule catches it.
        let estimate = zxcvbn::zxcvbn("password1234", &[]);
        assert_eq!(estimate.score(), Score::One);
        assert!(is_common("password1234"));
    }

    #[test]
    fn leaked_passwords_with_decorations_are_rejected() {
        for decorated in [
            "Password1234",
            "Password12345!",
            "P@ssw0rd2024!",
            "iloveyou2025",
            "Welcome123!",
            "monkey12345678",
        ] {
            assert!(is_common(decorated), "{decorated}");
        }
        // Passphrases and random strings that merely contain a list word stay allowed.
        for fine in [
            "correct horse battery staple",
            "my cat is called pickles",
            "Fjord-Lantern-91",
            "Tr0ub4dour&3xyz",
            "kx8#Qm2!vR",
        ] {
            assert!(!is_common(fine), "{fine}");
        }
    }

    #[test]
    fn trivially_guessable_passwords_are_rejected() {
        for weak in ["aaaaaaaaaaaa", "abcdefghijkl", "          "] {
            assert_eq!(
                check_policy(weak, &policy(), EMAIL),
                Err(PolicyViolation::Common),
                "{weak:?}"
            );
        }
    }

    #[test]
    fn common_passwords_are_allowed_when_the_blocklist_is_off() {
        let lax = PasswordConfig {
            reject_common: false,
            ..policy()
        };
        assert!(check_policy("qwertyuiop", &lax, EMAIL).is_ok());
    }

    #[test]
    fn random_passphrase_passes() {
        assert!(check_policy("tundra ladle crimson parsnip", &policy(), EMAIL).is_ok());
        assert!(check_policy("vq7Lx2mRw9Tz", &policy(), EMAIL).is_ok());
    }

    #[test]
    fn no_composition_rules() {
        // All lower-case letters, no digits or symbols: fine when it is hard to guess.
        assert!(check_policy("glimmerquokkabanjo", &policy(), EMAIL).is_ok());
        // Digits only, but random.
        assert!(check_policy("8406215937146", &policy(), EMAIL).is_ok());
    }

    #[test]
    fn password_containing_email_local_part_is_rejected() {
        let email = "Marguerite.Smith@example.com";
        for pw in [
            "marguerite.smith",
            "marguerite.smith2024!",
            "xxMARGUERITE.SMITHxx",
        ] {
            assert_eq!(
                check_policy(pw, &policy(), email),
                Err(PolicyViolation::ContainsEmail),
                "{pw}"
            );
        }
    }

    #[test]
    fn short_email_local_part_is_not_checked() {
        assert!(check_policy("tundra bob ladle crimson", &policy(), "bob@example.com").is_ok());
    }

    #[test]
    fn nothing_is_trimmed_before_counting() {
        // Nine visible characters plus a leading space: exactly ten, accepted as is.
        let padded = " vq7Lx2mRw";
        assert!(check_policy(padded, &policy(), EMAIL).is_ok());
        assert!(check_policy(padded.trim(), &policy(), EMAIL).is_err());
    }
}
