//! Sessions as the server sees them: the cookie, server-side idle and absolute timeouts, and
//! issuing a fresh session (new token) at sign-in and at every privilege change.

use axum::http::HeaderMap;

use super::cookies;
use super::error::HttpError;
use super::live::Active;
use super::state::AppState;
use crate::store::{NewSession, Session, User};

/// `last_seen_at` is written at most this often, so authenticated reads stay reads.
/// Idle timeouts are therefore exact to within a minute.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// A signed-in request.
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// The session of this request, if it has a live one.
pub async fn current(
    state: &AppState,
    active: &Active,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, HttpError> {
    let Some(token) = cookies::get(headers, cookies::SESSION).filter(|t| cookies::is_token(t))
    else {
        return Ok(None);
    };
    let Some((session, user)) = state
        .store
        .session_by_token_hash(&cookies::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle_ms = i64::try_from(active.config.sessions.idle_timeout_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    if now >= session.expires_at || now.saturating_sub(session.last_seen_at) > idle_ms {
        // Expired sessions are dead server-side, whatever the cookie says.
        state
            .store
            .revoke_session(&session.user_id, &session.id, now)
            .await?;
        return Ok(None);
    }
    if now.saturating_sub(session.last_seen_at) > TOUCH_INTERVAL_MS {
        state.store.touch_session(&session.id, now).await?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// Creates a session for `user` and returns the cookie to set. Always a new token: callers
/// revoke the old session themselves when they replace one (fixation, SECURITY 34).
pub async fn start(
    state: &AppState,
    active: &Active,
    user: &User,
    factors: &[&str],
    client: &ClientInfo,
) -> Result<axum::http::HeaderValue, HttpError> {
    let token = cookies::random_token();
    let now = state.clock.now();
    let lifetime_ms = i64::try_from(active.config.sessions.lifetime_seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    state
        .store
        .create_session(&NewSession {
            token_hash: cookies::token_hash(&token),
            user_id: user.id.clone(),
            factors: factors.iter().map(|f| f.to_string()).collect(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: now.saturating_add(lifetime_ms),
            now,
        })
        .await?;
    Ok(cookies::set(
        cookies::SESSION,
        &token,
        Some(active.config.sessions.lifetime_seconds),
    ))
}

/// Who is asking: recorded on sessions and used for per-IP limits.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// Remote address.
    pub ip: Option<String>,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// From the connection and headers; `X-Forwarded-For` counts only when the connection
    /// comes from a trusted proxy.
    pub fn from_request(
        headers: &HeaderMap,
        peer: Option<std::net::SocketAddr>,
        trusted_proxies: &[crate::config::cidr::Cidr],
    ) -> Self {
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Self {
            ip: peer.map(|p| client_ip(p.ip(), headers, trusted_proxies).to_string()),
            user_agent,
        }
    }
}

/// The address a request is attributed to. From an untrusted peer: the peer, whatever the
/// headers say. From a trusted proxy: walking `X-Forwarded-For` from the right (each proxy
/// appends the address it received from), the first hop that is not a trusted proxy; entries
/// left of it were written by the client and prove nothing. An entry that does not parse stops
/// the walk at the proxy that reported it, so garbage never becomes an identity to rotate.
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted_proxies: &[crate::config::cidr::Cidr],
) -> std::net::IpAddr {
    let trusted = |ip: std::net::IpAddr| trusted_proxies.iter().any(|range| range.contains(ip));
    let peer = peer.to_canonical();
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if trusted(ip.to_canonical()) => nearest = ip.to_canonical(),
            Ok(ip) => return ip.to_canonical(),
            Err(_) => return nearest,
        }
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().expect("header"));
        }
        let trusted: Vec<_> = trusted.iter().map(|t| t.parse().expect("cidr")).collect();
        client_ip(peer.parse().expect("ip"), &headers, &trusted).to_string()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        // No trusted proxies: a forged header changes nothing.
        assert_eq!(
            resolve("198.51.100.4", &["203.0.113.9"], &[]),
            "198.51.100.4"
        );
        // Trusted proxies configured, but this peer is not one of them.
        assert_eq!(
            resolve("198.51.100.4", &["203.0.113.9"], &["10.0.0.0/8"]),
            "198.51.100.4"
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            resolve("10.0.0.5", &["203.0.113.9"], &trusted),
            "203.0.113.9"
        );
        // The client prepended a forged address; the ingress appended the real one.
        assert_eq!(
            resolve("10.0.0.5", &["1.2.3.4, 203.0.113.9"], &trusted),
            "203.0.113.9"
        );
        // Two proxies in the chain (CDN edge in 10/8, then the ingress), over two headers.
        assert_eq!(
            resolve("10.0.0.5", &["1.2.3.4, 203.0.113.9", "10.8.0.1"], &trusted),
            "203.0.113.9"
        );
        // IPv6 and IPv4-mapped peers.
        assert_eq!(
            resolve("::ffff:10.0.0.5", &["2001:db8::7"], &trusted),
            "2001:db8::7"
        );
    }

    #[test]
    fn without_a_usable_header_the_nearest_proxy_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(resolve("10.0.0.5", &[], &trusted), "10.0.0.5");
        assert_eq!(resolve("10.0.0.5", &["10.0.0.9"], &trusted), "10.0.0.9");
        // Garbage is not an identity an attacker could rotate to escape per-address limits.
        assert_eq!(
            resolve("10.0.0.5", &["203.0.113.9, not-an-ip"], &trusted),
            "10.0.0.5"
        );
        assert_eq!(resolve("10.0.0.5", &["unknown"], &trusted), "10.0.0.5");
    }
}
