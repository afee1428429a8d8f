//! Address ranges as httpd writes them in `Require ip` and mod_remoteip's
//! `RemoteIPTrustedProxy` / `RemoteIPInternalProxy` (both go through APR's
//! `apr_ipsubnet_create`): a full address, a CIDR range (`10.0.0.0/8`, `2001:db8::/32`), an
//! IPv4 network with a dotted mask (`10.1.0.0/255.255.0.0`), or a partial IPv4 address
//! (`10.1` is `10.1.0.0/16`, `192.168.1.` is `192.168.1.0/24`).
//!
//! An IPv4 range also matches the same address written as an IPv4-mapped IPv6 address
//! (`::ffff:10.1.2.3`), the form a dual-stack listener reports IPv4 clients in, as APR
//! matches it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

/// What every refusal of a range that is not plainly malformed suggests instead.
const VALID: &str = "write an address (10.1.2.3, 2001:db8::1), a CIDR range (10.0.0.0/8, 2001:db8::/32), \
                     an IPv4 network with its mask (10.1.0.0/255.255.0.0) or a partial IPv4 address (10.1)";

/// Why a text is not a range httpd would accept (each message quotes the text, so the line
/// it came from need not be searched).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpRangeError {
    /// Nothing written.
    #[error("an empty address; {VALID}")]
    Empty,
    /// The part before `/` is not an address.
    #[error("`{text}`: `{address}` is not an IP address; {VALID}")]
    NotAnAddress {
        /// The range as written.
        text: String,
        /// Its address part.
        address: String,
    },
    /// A prefix length longer than the address.
    #[error(
        "`{text}`: prefix length /{bits} is too long for {} (at most /{})",
        if *ipv4 { "IPv4" } else { "IPv6" },
        if *ipv4 { 32 } else { 128 }
    )]
    PrefixTooLong {
        /// The range as written.
        text: String,
        /// The prefix length.
        bits: u8,
        /// Whether the address is IPv4 (else IPv6).
        ipv4: bool,
    },
    /// A dotted mask with a zero bit before a one bit.
    #[error("`{text}`: `{mask}` is not a netmask (its one bits must come first)")]
    NotANetmask {
        /// The range as written.
        text: String,
        /// Its mask part.
        mask: Ipv4Addr,
    },
    /// The part after `/` is neither a number nor a dotted IPv4 mask.
    #[error("`{text}`: `{mask}` is neither a prefix length nor an IPv4 netmask; {VALID}")]
    NotAMask {
        /// The range as written.
        text: String,
        /// Its mask part.
        mask: String,
    },
    /// Neither an address nor a partial IPv4 address (a host name, most often).
    #[error("`{text}` is not an address or range (host names are not looked up); {VALID}")]
    NotARange {
        /// The range as written.
        text: String,
    },
}

/// One range of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange(IpNet);

impl IpRange {
    /// Parses one of the forms httpd accepts (see the module documentation). The error
    /// says what was wrong and what would be valid.
    pub fn parse(text: &str) -> Result<IpRange, IpRangeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(IpRangeError::Empty);
        }
        if let Some((address, mask)) = text.split_once('/') {
            let address: IpAddr = address.parse().map_err(|_| IpRangeError::NotAnAddress {
                text: text.to_owned(),
                address: address.to_owned(),
            })?;
            if let Ok(bits) = mask.parse::<u8>() {
                let net = IpNet::new(address, bits).map_err(|_| IpRangeError::PrefixTooLong {
                    text: text.to_owned(),
                    bits,
                    ipv4: address.is_ipv4(),
                })?;
                return Ok(IpRange(net.trunc()));
            }
            if let (IpAddr::V4(address), Ok(mask)) = (address, mask.parse::<Ipv4Addr>()) {
                let net = Ipv4Net::with_netmask(address, mask).map_err(|_| {
                    IpRangeError::NotANetmask {
                        text: text.to_owned(),
                        mask,
                    }
                })?;
                return Ok(IpRange(IpNet::V4(net.trunc())));
            }
            return Err(IpRangeError::NotAMask {
                text: text.to_owned(),
                mask: mask.to_owned(),
            });
        }
        if let Ok(address) = text.parse::<IpAddr>() {
            return Ok(IpRange(IpNet::from(address)));
        }
        // A partial IPv4 address: one to three numbers, optionally ending with a dot.
        let digits = text.strip_suffix('.').unwrap_or(text);
        let parts: Vec<&str> = digits.split('.').collect();
        let octets: Option<Vec<u8>> = (parts.len() <= 3)
            .then(|| {
                parts
                    .iter()
                    .map(|p| {
                        (!p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| p.parse::<u8>().ok())
                            .flatten()
                    })
                    .collect()
            })
            .flatten();
        match octets {
            Some(octets) => {
                let mut full = [0u8; 4];
                full[..octets.len()].copy_from_slice(&octets);
                let bits = 8 * octets.len() as u8;
                let net = Ipv4Net::new(Ipv4Addr::from(full), bits).expect("at most /24");
                Ok(IpRange(IpNet::V4(net)))
            }
            None => Err(IpRangeError::NotARange {
                text: text.to_owned(),
            }),
        }
    }

    /// Whether `address` is in the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(net) if net.prefix_len() == 32 => write!(f, "{}", net.addr()),
            IpNet::V6(net) if net.prefix_len() == 128 => write!(f, "{}", net.addr()),
            net => write!(f, "{net}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_httpd_accepts() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            // (written, shown, inside, outside)
            (
                "10.1.2.3",
                "10.1.2.3",
                &["10.1.2.3", "::ffff:10.1.2.3"],
                &["10.1.2.4"],
            ),
            (
                "10.0.0.0/8",
                "10.0.0.0/8",
                &["10.255.1.1"],
                &["11.0.0.1", "::1"],
            ),
            ("10.1.2.3/16", "10.1.0.0/16", &["10.1.200.1"], &["10.2.0.1"]),
            (
                "10.1",
                "10.1.0.0/16",
                &["10.1.0.9", "::ffff:10.1.3.4"],
                &["10.10.0.1"],
            ),
            ("10.1.", "10.1.0.0/16", &["10.1.9.9"], &["10.2.0.0"]),
            (
                "192.168.1",
                "192.168.1.0/24",
                &["192.168.1.77"],
                &["192.168.2.1"],
            ),
            ("10", "10.0.0.0/8", &["10.9.9.9"], &["100.0.0.1"]),
            (
                "172.16.0.0/255.240.0.0",
                "172.16.0.0/12",
                &["172.31.1.1"],
                &["172.32.0.1"],
            ),
            (
                "2001:db8::/32",
                "2001:db8::/32",
                &["2001:db8:1::5"],
                &["2001:db9::1", "10.0.0.1"],
            ),
            ("::1", "::1", &["::1"], &["127.0.0.1"]),
            (
                "0.0.0.0/0",
                "0.0.0.0/0",
                &["8.8.8.8", "::ffff:1.2.3.4"],
                &["2001:db8::1"],
            ),
        ];
        for (written, shown, inside, outside) in cases {
            let range = IpRange::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(range.to_string(), *shown, "{written}");
            for address in *inside {
                assert!(
                    range.contains(address.parse().unwrap()),
                    "{written} ∌ {address}"
                );
            }
            for address in *outside {
                assert!(
                    !range.contains(address.parse().unwrap()),
                    "{written} ∋ {address}"
                );
            }
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "an empty address"),
            ("10.0.0.0/33", "too long for IPv4"),
            ("2001:db8::/129", "too long for IPv6"),
            ("10.0.0.0/255.0.255.0", "is not a netmask"),
            ("10.0.0.0/x", "neither a prefix length"),
            ("proxy.example.com", "host names are not looked up"),
            ("10.256", "not an address or range"),
            ("10..1", "not an address or range"),
            ("1.2.3.4.5", "not an address or range"),
            ("fe80::zz/64", "is not an IP address"),
        ];
        for (written, expected) in cases {
            let error = IpRange::parse(written).expect_err(written);
            assert!(error.to_string().contains(expected), "{written}: {error}");
        }
    }
}
