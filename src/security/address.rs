//! Address filters for the ZAP handler: `--allow ADDR` and `--deny ADDR` entries,
//! each an IP address or a CIDR range (IPv4 or IPv6), matched against the peer
//! address libzmq puts in a ZAP request.
//!
//! The rule is CZMQ `zauth`'s: if any address is allowed, only allowed addresses
//! pass (the deny list is then not consulted); otherwise denied addresses are
//! refused and all others pass. What passes here must still pass its mechanism
//! (PLAIN password, CURVE key).
//!
//! libzmq gives the address as text: `127.0.0.1`, `::1`, `::ffff:10.0.0.5` (an IPv4
//! client of an IPv6 socket), `fe80::1%eth0` (with a scope). An IPv4-mapped IPv6
//! address is matched as the IPv4 address it carries, so `--allow 10.0.0.0/8` covers
//! both spellings, and a scope is ignored. Connections that have no IP address (ipc,
//! inproc: libzmq gives an empty address or `:UID:GID:PID`) match no entry: an allow
//! list refuses them, a deny list lets them through.

use crate::error::{Error, Result};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP address or a CIDR range: `10.0.0.0/8`, `127.0.0.1` (= `/32`),
/// `2001:db8::/32`, `::1`.
///
/// ```
/// use zpattern::security::AddressRange;
///
/// let lan: AddressRange = "192.168.1.0/24".parse()?;
/// assert!(lan.contains("192.168.1.77".parse().unwrap()));
/// assert!(!lan.contains("192.168.2.1".parse().unwrap()));
/// // Host bits set are a mistake, not a silent rounding.
/// assert!("192.168.1.1/24".parse::<AddressRange>().is_err());
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// The range of one address.
    pub fn host(address: IpAddr) -> AddressRange {
        let address = canonical(address);
        AddressRange {
            network: address,
            prefix: bits(address),
        }
    }

    /// Whether `address` is in the range (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                mask_v4(u32::from(a), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                mask_v6(u128::from(a), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address; others unchanged.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn bits(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_v4(value: u32, prefix: u8) -> u32 {
    value & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(value: u128, prefix: u8) -> u128 {
    value & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for AddressRange {
    type Err = Error;

    fn from_str(text: &str) -> Result<AddressRange> {
        let bad = |why: &str| {
            Error::usage(format!(
                "{text:?} is not an IP address or range (like 10.0.0.0/8 or ::1): {why}"
            ))
        };
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad("not an IP address"))?;
        let Some(prefix) = prefix else {
            return Ok(AddressRange::host(address));
        };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|&p| p <= bits(address))
            .ok_or_else(|| bad(&format!("the prefix length must be 0 to {}", bits(address))))?;
        // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
        let (address, prefix) = match (canonical(address), address) {
            (IpAddr::V4(v4), IpAddr::V6(_)) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
            _ => (address, prefix),
        };
        let network = match address {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(a), prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(a), prefix))),
        };
        if network != address {
            return Err(bad(&format!(
                "host bits are set (did you mean {network}/{prefix}?)"
            )));
        }
        Ok(AddressRange { network, prefix })
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Debug for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressRange({self})")
    }
}

/// The IP address in a peer address as libzmq gives it to ZAP: without a scope
/// (`%eth0`), IPv4-mapped addresses as IPv4. `None` for ipc and inproc peers.
pub fn peer_ip(peer: &str) -> Option<IpAddr> {
    let address = peer.split('%').next().unwrap_or(peer);
    address.parse().ok().map(canonical)
}

/// Why an address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressRefusal {
    /// An allow list is configured and the address is not on it.
    NotAllowed,
    /// The address is on the deny list.
    Denied,
}

impl fmt::Display for AddressRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressRefusal::NotAllowed => "address not in the allow list",
            AddressRefusal::Denied => "address denied",
        })
    }
}

/// Allowed and denied addresses, with `zauth`'s rule (see the module docs).
///
/// ```
/// use zpattern::security::{AddressFilter, AddressRefusal};
///
/// let filter = AddressFilter::new().deny("10.0.0.0/8".parse()?);
/// assert_eq!(filter.check("10.1.2.3"), Err(AddressRefusal::Denied));
/// assert_eq!(filter.check("::ffff:10.1.2.3"), Err(AddressRefusal::Denied));
/// assert_eq!(filter.check("127.0.0.1"), Ok(()));
///
/// let filter = filter.allow("127.0.0.1".parse()?);
/// assert_eq!(filter.check("127.0.0.1"), Ok(()));
/// assert_eq!(filter.check("192.168.0.1"), Err(AddressRefusal::NotAllowed));
/// # Ok::<(), zpattern::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressFilter {
    allowed: Vec<AddressRange>,
    denied: Vec<AddressRange>,
}

impl AddressFilter {
    /// No entries: every address passes.
    pub fn new() -> AddressFilter {
        AddressFilter::default()
    }

    /// Allow `range`: once anything is allowed, nothing else is.
    pub fn allow(mut self, range: AddressRange) -> AddressFilter {
        self.allowed.push(range);
        self
    }

    /// Deny `range` (not consulted when an allow list is configured).
    pub fn deny(mut self, range: AddressRange) -> AddressFilter {
        self.denied.push(range);
        self
    }

    /// Whether the filter has no entries.
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty() && self.denied.is_empty()
    }

    /// The allowed ranges.
    pub fn allowed(&self) -> &[AddressRange] {
        &self.allowed
    }

    /// The denied ranges.
    pub fn denied(&self) -> &[AddressRange] {
        &self.denied
    }

    /// Whether a peer of address `peer` (as libzmq gives it) may go on.
    pub fn check(&self, peer: &str) -> std::result::Result<(), AddressRefusal> {
        let ip = peer_ip(peer);
        let on = |list: &[AddressRange]| ip.is_some_and(|ip| list.iter().any(|r| r.contains(ip)));
        if !self.allowed.is_empty() {
            return if on(&self.allowed) {
                Ok(())
            } else {
                Err(AddressRefusal::NotAllowed)
            };
        }
        if on(&self.denied) {
            return Err(AddressRefusal::Denied);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> AddressRange {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_print() {
        assert_eq!(range("127.0.0.1").to_string(), "127.0.0.1/32");
        assert_eq!(range("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(range("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(range("::1").to_string(), "::1/128");
        assert_eq!(range("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(range("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert_eq!(range("::ffff:10.0.0.1").to_string(), "10.0.0.1/32");
    }

    #[test]
    fn bad_ranges_say_why() {
        let e = |t: &str| t.parse::<AddressRange>().unwrap_err().to_string();
        assert_eq!(
            e("10.0.0.1/8"),
            "\"10.0.0.1/8\" is not an IP address or range (like 10.0.0.0/8 or ::1): host bits are set (did you mean 10.0.0.0/8?)"
        );
        assert!(e("10.0.0.0/33").ends_with("the prefix length must be 0 to 32"));
        assert!(e("::/129").ends_with("the prefix length must be 0 to 128"));
        assert!(e("10.0.0.0/").ends_with("the prefix length must be 0 to 32"));
        assert!(e("localhost").ends_with("not an IP address"));
        assert!(e("10.0.0").ends_with("not an IP address"));
        assert!(e("[::1]").ends_with("not an IP address"));
    }

    #[test]
    fn containment_v4_v6_and_mapped() {
        assert!(range("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!range("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(range("10.0.0.0/8").contains(ip("::ffff:10.1.1.1")));
        assert!(range("0.0.0.0/0").contains(ip("1.2.3.4")));
        assert!(!range("0.0.0.0/0").contains(ip("::1")));
        assert!(range("::/0").contains(ip("::1")));
        assert!(range("fe80::/10").contains(ip("fe80::1")));
        assert!(!range("fe80::/10").contains(ip("fec0::1")));
        assert!(range("::ffff:127.0.0.1").contains(ip("127.0.0.1")));
    }

    #[test]
    fn peer_addresses_as_libzmq_gives_them() {
        assert_eq!(peer_ip("127.0.0.1"), Some(ip("127.0.0.1")));
        assert_eq!(peer_ip("::ffff:127.0.0.1"), Some(ip("127.0.0.1")));
        assert_eq!(peer_ip("fe80::1%eth0"), Some(ip("fe80::1")));
        assert_eq!(peer_ip(""), None);
        assert_eq!(peer_ip(":1000:1000:4242"), None);
    }

    #[test]
    fn allow_wins_over_deny_as_in_zauth() {
        let filter = AddressFilter::new()
            .deny(range("127.0.0.1"))
            .allow(range("127.0.0.0/8"));
        assert_eq!(filter.check("127.0.0.1"), Ok(()));
        assert_eq!(filter.check("::1"), Err(AddressRefusal::NotAllowed));
        assert_eq!(filter.check(""), Err(AddressRefusal::NotAllowed));
        let filter = AddressFilter::new().deny(range("::1"));
        assert_eq!(filter.check("::1"), Err(AddressRefusal::Denied));
        assert_eq!(filter.check(""), Ok(()));
        assert_eq!(AddressFilter::new().check("anything"), Ok(()));
    }
}
