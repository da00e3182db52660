//! Breached-password checks against a Pwned Passwords range API (SECURITY 4), with
//! k-anonymity: the server sends the first 5 hex digits of the password's SHA-1 and compares the
//! returned suffixes itself, so neither the password nor its full hash leaves the process.

use std::time::Duration;

/// How long a check may take before the password is accepted without it.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Why a check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    /// The API was unreachable, slow, or answered with an error.
    #[error("range API: {0}")]
    Http(#[from] reqwest::Error),
    /// The base URL does not make a request URL.
    #[error("range API URL {0:?} is not usable")]
    Url(String),
    /// No HTTPS client could be built (no TLS trust roots on this machine).
    #[error("no HTTPS client: {0}")]
    NoClient(String),
}

/// Asks the range API; one connection pool for the whole server.
#[derive(Clone, Debug)]
pub struct BreachCheck {
    /// The client, or why there is none (building fails only without TLS trust roots).
    client: Result<reqwest::Client, String>,
}

impl Default for BreachCheck {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("vestibule/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string());
        Self { client }
    }
}

/// Upper-case hex SHA-1 of the password, split into the 5-digit prefix sent and the rest kept.
pub fn range_key(password: &str) -> (String, String) {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_owned(), suffix.to_owned())
}

/// Whether `suffix` is listed in a range response (`SUFFIX:COUNT` lines). Padding entries
/// (count 0, asked for with `Add-Padding` so response sizes reveal nothing) do not count.
pub fn listed(body: &str, suffix: &str) -> bool {
    body.lines().any(|line| {
        let Some((candidate, count)) = line.trim().split_once(':') else {
            return false;
        };
        candidate.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|n| n > 0)
    })
}

impl BreachCheck {
    /// Whether the password appears in the breach corpus behind `base_url`.
    pub async fn breached(&self, base_url: &str, password: &str) -> Result<bool, BreachError> {
        let (prefix, suffix) = range_key(password);
        let url = format!("{}/range/{prefix}", base_url.trim_end_matches('/'));
        let url = reqwest::Url::parse(&url).map_err(|_| BreachError::Url(base_url.to_owned()))?;
        let client = self
            .client
            .as_ref()
            .map_err(|e| BreachError::NoClient(e.clone()))?;
        let body = client
            .get(url)
            .timeout(TIMEOUT)
            .header("Add-Padding", "true")
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(listed(&body, &suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_key_is_the_sha1_split_after_five_digits() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let (prefix, suffix) = range_key("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[test]
    fn only_a_listed_suffix_with_a_count_is_breached() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD9:0\r\n";
        assert!(listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(
            listed(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"),
            "hex case"
        );
        assert!(
            !listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD9"),
            "padding"
        );
        assert!(!listed(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"));
        assert!(!listed("garbage\nmore:garbage", "garbage"));
    }
}
