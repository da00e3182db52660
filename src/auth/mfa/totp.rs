//! Authenticator-app codes (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, what every app
//! expects), through `totp-rs`, and the enrolment QR code, drawn as SVG on the server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngExt;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Secret length: 160 bits, RFC 4226's recommendation (SECURITY 22).
pub const SECRET_BYTES: usize = 20;
/// Seconds per step.
const STEP_SECONDS: u64 = 30;

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let bytes: [u8; SECRET_BYTES] = rand::rng().random();
    bytes.to_vec()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        // One step either side: a phone clock a little off still works (SECURITY 23).
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        // Labels may not hold a colon (Key Uri Format); the address and host never do, but a
        // custom issuer label might.
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .ok()
}

/// The time step a code belongs to, if `code` is valid at `now_ms` (server time only, SECURITY
/// 24), within one step of skew. The caller refuses steps already used (replay).
pub fn check(secret: &[u8], code: &str, now_ms: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now_ms / 1000).ok()?;
    let step = totp(secret, "-", "-")?.check(&code, now)?;
    i64::try_from(step).ok()
}

/// The code for `secret` at `now_ms` (tests and the benchmark play the authenticator app).
pub fn code_at(secret: &[u8], now_ms: i64) -> Option<String> {
    let now = u64::try_from(now_ms / 1000).ok()?;
    Some(totp(secret, "-", "-")?.generate(now).to_string())
}

/// What the enrolment page shows: the secret in base32 (typed in by hand), the `otpauth://`
/// URI, and that URI as a QR code (an SVG data URL, so no external service sees the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret, base32 without padding, in groups of four.
    pub secret_base32: String,
    /// `otpauth://totp/Issuer:account?secret=...`
    pub uri: String,
    /// `data:image/svg+xml;base64,...`
    pub qr_data_url: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// The enrolment view of `secret` for `account` at `issuer`.
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Option<Enrolment> {
    let totp = totp(secret, issuer, account)?;
    let uri = totp.to_url().ok()?;
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let base32 = Secret::from(secret.to_vec())
        .to_base32()
        .trim_end_matches('=')
        .to_owned();
    let grouped = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Enrolment {
        secret_base32: grouped,
        uri,
        qr_data_url: format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", 8-digit values; the 6-digit
    // code is their last six digits.
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_and_allow_one_step_of_skew() {
        assert_eq!(code_at(SEED, 59_000).as_deref(), Some("287082"));
        assert_eq!(code_at(SEED, 1_111_111_109_000).as_deref(), Some("081804"));
        assert_eq!(check(SEED, "081804", 1_111_111_109_000), Some(37_037_036));
        assert_eq!(
            check(SEED, "081 804", 1_111_111_109_000 + 30_000),
            Some(37_037_036)
        );
        assert_eq!(check(SEED, "081804", 1_111_111_109_000 + 61_000), None);
        assert_eq!(check(SEED, "081805", 1_111_111_109_000), None);
        assert_eq!(check(SEED, "81804", 1_111_111_109_000), None);
        assert_eq!(check(SEED, "08180x", 1_111_111_109_000), None);
    }

    #[test]
    fn enrolment_shows_the_uri_and_a_qr_code() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let e = enrolment(&secret, "auth.example.com", "ada@example.com").unwrap();
        assert!(
            e.uri
                .starts_with("otpauth://totp/auth.example.com:ada%40example.com?"),
            "{}",
            e.uri
        );
        assert!(
            e.uri
                .contains(&format!("secret={}", e.secret_base32.replace(' ', "")))
        );
        assert!(e.qr_data_url.starts_with("data:image/svg+xml;base64,"));
        assert_eq!(e.secret_base32.replace(' ', "").len(), 32);
    }
}
