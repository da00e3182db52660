//! Who is asking, as far as HTTP can tell: the client's address (through trusted proxies only)
//! and its User-Agent, for sessions and per-IP limits.

use axum::http::HeaderMap;

use crate::auth::ClientInfo;
use crate::config::cidr::Cidr;

/// The client of a request, from the connection and headers; `X-Forwarded-For` counts only when
/// the connection comes from a trusted proxy.
pub fn client_info(
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    trusted_proxies: &[Cidr],
) -> ClientInfo {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect());
    ClientInfo {
        ip: peer.map(|p| client_ip(p.ip(), headers, trusted_proxies).to_string()),
        user_agent,
        words: None,
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
    trusted_proxies: &[Cidr],
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
