//! Address ranges in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address), for the
//! reverse proxies whose `X-Forwarded-For` the auth server believes.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network (ipnet's, parsed more strictly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr(ipnet::IpNet);

/// Why a string is not a CIDR.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CidrError {
    /// Neither an address nor `address/prefix` within the family's bits.
    #[error("{0:?} is not an IP address or CIDR range (for example 10.0.0.0/8 or fd00::/8)")]
    Invalid(String),
    /// Bits are set past the prefix, which usually means a typo (`10.1.0.0/8`).
    #[error("{given} has host bits set; the network is {network}")]
    HostBits {
        /// What was written.
        given: String,
        /// What was probably meant.
        network: String,
    },
}

impl Cidr {
    /// Whether `ip` is in this network. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, as a
    /// dual-stack listener reports IPv4 peers) count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let net = match s.parse::<IpAddr>() {
            Ok(one) => ipnet::IpNet::from(one),
            Err(_) => s
                .parse::<ipnet::IpNet>()
                .map_err(|_| CidrError::Invalid(s.to_owned()))?,
        };
        if net.trunc() != net {
            return Err(CidrError::HostBits {
                given: s.to_owned(),
                network: net.trunc().to_string(),
            });
        }
        Ok(Cidr(net))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().expect(s)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect(s)
    }

    #[test]
    fn membership() {
        assert!(cidr("10.0.0.0/8").contains(ip("10.42.7.1")));
        assert!(!cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(cidr("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!cidr("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(
            !cidr("0.0.0.0/0").contains(ip("2001:db8::1")),
            "families never mix"
        );
        assert!(cidr("fd00::/8").contains(ip("fd12:3456::1")));
        assert!(
            cidr("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped"
        );
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("2001:db8::1").to_string(), "2001:db8::1/128");
        for bad in ["ten.0.0.0/8", "10.0.0.0/33", "10.0.0.0/x", "", "10.0.0.0/"] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::Invalid(_))),
                "{bad}"
            );
        }
        let typo = "10.1.0.0/8".parse::<Cidr>().expect_err("host bits");
        assert_eq!(
            typo.to_string(),
            "10.1.0.0/8 has host bits set; the network is 10.0.0.0/8"
        );
    }
}
