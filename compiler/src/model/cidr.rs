//! IP networks in CIDR notation, with the containment and overlap tests the lints need.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: an address with every host bit zero, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// No `/` or an unparsable address or prefix.
    Syntax,
    PrefixTooLong {
        max: u8,
    },
    /// Bits below the prefix are set; carries the network the user probably meant.
    HostBitsSet {
        network: Cidr,
    },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Syntax => write!(
                f,
                "is not an address and a prefix length, such as `10.244.0.0/16`"
            ),
            CidrError::PrefixTooLong { max } => {
                write!(f, "has a prefix length above {max}")
            }
            CidrError::HostBitsSet { .. } => write!(f, "has bits set below the prefix"),
        }
    }
}

impl Cidr {
    pub fn new(address: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let max = max_prefix(address);
        if prefix > max {
            return Err(CidrError::PrefixTooLong { max });
        }
        let network = mask(address, prefix);
        let cidr = Cidr { network, prefix };
        if network != address {
            return Err(CidrError::HostBitsSet { network: cidr });
        }
        Ok(cidr)
    }

    pub fn network(self) -> IpAddr {
        self.network
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    pub fn is_ipv4(self) -> bool {
        self.network.is_ipv4()
    }

    /// Number of address bits below the prefix.
    pub fn host_bits(self) -> u8 {
        max_prefix(self.network) - self.prefix
    }

    pub fn contains(self, address: IpAddr) -> bool {
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }

    /// Whether the two networks share at least one address (one then contains the other).
    pub fn overlaps(self, other: Cidr) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// The address `n` places after the network address, if it lies inside the network
    /// (kubeadm puts the API service at n = 1 and cluster DNS at n = 10).
    pub fn nth(self, n: u128) -> Option<IpAddr> {
        if self.host_bits() < 128 && n >> self.host_bits() != 0 {
            return None;
        }
        Some(match self.network {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(
                u32::from(v4).checked_add(u32::try_from(n).ok()?)?,
            )),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6).checked_add(n)?)),
        })
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u32::MAX << (32 - u32::from(prefix)))
            };
            IpAddr::V4(Ipv4Addr::from(kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u128::MAX << (128 - u32::from(prefix)))
            };
            IpAddr::V6(Ipv6Addr::from(kept))
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (address, prefix) = text.split_once('/').ok_or(CidrError::Syntax)?;
        let address: IpAddr = address.parse().map_err(|_| CidrError::Syntax)?;
        // Leading `+` or zeros would make two spellings of one prefix; refuse them.
        if prefix.is_empty()
            || prefix.len() > 3
            || !prefix.bytes().all(|b| b.is_ascii_digit())
            || (prefix.len() > 1 && prefix.starts_with('0'))
        {
            return Err(CidrError::Syntax);
        }
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::Syntax)?;
        Cidr::new(address, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_ipv4_and_ipv6() {
        assert_eq!(cidr("10.244.0.0/16").to_string(), "10.244.0.0/16");
        assert_eq!(cidr("fd00:10:244::/56").to_string(), "fd00:10:244::/56");
        assert_eq!(cidr("0.0.0.0/0").host_bits(), 32);
        assert_eq!(cidr("10.0.0.1/32").host_bits(), 0);
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            "10.244.0.0",
            "10.244.0.0/",
            "10.244.0/16",
            "10.244.0.0/+8",
            "10.244.0.0/016",
            "x/8",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(CidrError::Syntax), "{bad}");
        }
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong { max: 32 })
        );
        assert_eq!(
            "::/129".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong { max: 128 })
        );
        assert_eq!(
            "10.244.1.0/16".parse::<Cidr>(),
            Err(CidrError::HostBitsSet {
                network: cidr("10.244.0.0/16")
            })
        );
        assert_eq!(
            "fd00::1/64".parse::<Cidr>(),
            Err(CidrError::HostBitsSet {
                network: cidr("fd00::/64")
            })
        );
    }

    #[test]
    fn contains_respects_prefix_and_family() {
        let pods = cidr("10.244.0.0/16");
        assert!(pods.contains(ip("10.244.0.0")));
        assert!(pods.contains(ip("10.244.255.255")));
        assert!(!pods.contains(ip("10.245.0.0")));
        assert!(!pods.contains(ip("::ffff:10.244.0.1")));
        let v6 = cidr("fd00:10:96::/108");
        assert!(v6.contains(ip("fd00:10:96::a")));
        assert!(!v6.contains(ip("fd00:10:97::a")));
        assert!(cidr("0.0.0.0/0").contains(ip("192.168.1.1")));
        assert!(!cidr("::/0").contains(ip("192.168.1.1")));
    }

    #[test]
    fn overlap_is_symmetric_and_family_aware() {
        let cases = [
            ("10.244.0.0/16", "10.96.0.0/12", false),
            ("10.0.0.0/8", "10.96.0.0/12", true),
            ("10.96.0.0/12", "10.100.0.0/16", true),
            ("10.96.0.0/12", "10.112.0.0/12", false),
            ("192.168.0.0/16", "192.168.0.0/16", true),
            ("fd00::/8", "fd00:10::/64", true),
            ("fd00::/64", "fd01::/64", false),
            ("0.0.0.0/0", "::/0", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(cidr(a).overlaps(cidr(b)), expected, "{a} {b}");
            assert_eq!(cidr(b).overlaps(cidr(a)), expected, "{b} {a}");
        }
    }

    #[test]
    fn nth_address_stays_inside() {
        assert_eq!(cidr("10.96.0.0/12").nth(10), Some(ip("10.96.0.10")));
        assert_eq!(cidr("fd00:10:96::/108").nth(10), Some(ip("fd00:10:96::a")));
        assert_eq!(cidr("10.0.0.0/30").nth(3), Some(ip("10.0.0.3")));
        assert_eq!(cidr("10.0.0.0/30").nth(4), None);
        assert_eq!(
            cidr("::/0").nth(u128::MAX),
            Some(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        );
    }
}
