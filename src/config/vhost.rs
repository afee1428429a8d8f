//! Virtual hosts: which server of the configuration answers a request, chosen as httpd
//! chooses among its `<VirtualHost>` blocks, and what the status worker calls each server.
//!
//! httpd picks a server in two steps (`server/vhost.c`): first by the address the client
//! connected to, then by name.
//!
//! 1. The vhosts whose `<VirtualHost addr:port>` names the connection's local IP and port
//!    exactly form the candidate chain; when none does, the vhosts written as `*:port` (or
//!    `_default_:port`) for that port do. A missing port, or `*`, matches every port. With
//!    no candidate at all, the main server (the top level of jkgate.ini) answers.
//! 2. Within the chain, in configuration order, the first vhost whose `ServerName` or one
//!    of whose `ServerAlias` names matches the request's host wins; the host is compared
//!    without its port and its trailing dot, case-insensitively, and an alias may hold the
//!    wildcards `*` (any run of characters, dots included) and `?` (one character), as
//!    httpd's `ap_strcasecmp_match`. A host equal to the vhost's address as written is the
//!    last resort. No match, or no host at all: the first vhost of the chain (the
//!    "default" vhost of that address).
//!
//! The same selection chooses the certificate from the TLS server name (SNI) of a
//! connection before any request arrives.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::error::Origin;
use super::uriworkermap::MountTable;

/// One `[vhost NAME]` section, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostSettings {
    /// The section's name.
    pub label: String,
    /// The section header's line.
    pub origin: Origin,
    /// Its names and addresses.
    pub matcher: HostMatcher,
    /// Its own certificate (`None`: the `[tls]` one).
    pub tls: Option<VhostTls>,
    /// `JkMountCopy` in force (its own, else the top-level `All`).
    pub mount_copy: bool,
    /// The mount file its rules were read from (its own, or the copied top-level one); a
    /// `JkMountFileReload` reads it again.
    pub mount_file: Option<PathBuf>,
    /// Its mount rules, copies included.
    pub mounts: MountTable,
}

/// A vhost's own certificate, served when the TLS server name (SNI) selects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostTls {
    /// PEM certificate chain (`SSLCertificateFile`).
    pub certificate: PathBuf,
    /// PEM private key (`SSLCertificateKeyFile`).
    pub key: PathBuf,
}

/// The address part of one `<VirtualHost>` address (`VirtualHost =` in jkgate.ini).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VhostIp {
    /// `*` or `_default_`: any local address not named by another vhost.
    Any,
    /// One local IP address.
    Ip(IpAddr),
}

/// Why a `<VirtualHost>` address is not one httpd takes (each message quotes the address).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VhostAddressError {
    /// An IPv6 address opened with `[` and never closed.
    #[error("`{value}`: `[` without `]`")]
    UnclosedBracket {
        /// The address as written.
        value: String,
    },
    /// What follows the last `:` is neither a port number nor `*`.
    #[error("`{value}`: `{port}` is not a port (write a number, or `*` for any port)")]
    NotAPort {
        /// The address as written.
        value: String,
        /// Its port part.
        port: String,
    },
    /// The host part is a name (or nonsense), where httpd wants an IP address.
    #[error(
        "`{value}`: `{host}` is not an IP address; a vhost's address is `*`, `_default_` or an IP, with an optional `:port` (its names go in ServerName and ServerAlias)"
    )]
    NotAnIp {
        /// The address as written.
        value: String,
        /// Its host part.
        host: String,
    },
}

/// One address a vhost answers on: `*:80`, `10.0.0.1:443`, `[::1]:8443`, `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostAddress {
    /// The host part.
    pub ip: VhostIp,
    /// The port (`None`: any port, httpd's `*` or an address without a port).
    pub port: Option<u16>,
    /// The host part as written (`*`, `_default_`, `10.0.0.1`): what mod_jk's status worker
    /// shows and what a request's host may equal as a last resort.
    pub text: String,
}

impl VhostAddress {
    /// Parses one address as httpd's `<VirtualHost>` takes it. `Err` holds what is wrong.
    pub fn parse(value: &str) -> Result<VhostAddress, VhostAddressError> {
        let value = value.trim();
        let (host, port) = if let Some(rest) = value.strip_prefix('[') {
            let (inside, after) =
                rest.split_once(']')
                    .ok_or_else(|| VhostAddressError::UnclosedBracket {
                        value: value.to_owned(),
                    })?;
            (&value[..inside.len() + 2], after.strip_prefix(':'))
        } else {
            match value.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') => (host, Some(port)),
                Some(_) => (value, None),
                None => (value, None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(port) => Some(
                port.parse::<u16>()
                    .map_err(|_| VhostAddressError::NotAPort {
                        value: value.to_owned(),
                        port: port.to_owned(),
                    })?,
            ),
        };
        let ip = match host {
            "*" | "_default_" => VhostIp::Any,
            other => {
                let bare = other.trim_start_matches('[').trim_end_matches(']');
                VhostIp::Ip(
                    bare.parse::<IpAddr>()
                        .map_err(|_| VhostAddressError::NotAnIp {
                            value: value.to_owned(),
                            host: other.to_owned(),
                        })?,
                )
            }
        };
        Ok(VhostAddress {
            ip,
            port,
            text: host.to_owned(),
        })
    }

    /// `*` on any port: a vhost written without an address.
    pub fn any() -> VhostAddress {
        VhostAddress {
            ip: VhostIp::Any,
            port: None,
            text: "*".to_owned(),
        }
    }

    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    fn matches_exactly(&self, local: SocketAddr) -> bool {
        match self.ip {
            VhostIp::Ip(ip) => same_ip(ip, local.ip()) && self.port_matches(local.port()),
            VhostIp::Any => false,
        }
    }

    fn matches_wildcard(&self, port: u16) -> bool {
        self.ip == VhostIp::Any && self.port_matches(port)
    }
}

/// Equal addresses, an IPv4 address equal to its IPv4-mapped IPv6 form.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// What one vhost answers to: its names and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostMatcher {
    /// `ServerName` without its port, lower case.
    pub server_name: String,
    /// `ServerName` as written (a port included), for messages.
    pub server_name_written: String,
    /// The port of `ServerName host:port`, if written.
    pub server_port: Option<u16>,
    /// `ServerAlias` names without wildcards, lower case.
    pub aliases: Vec<String>,
    /// `ServerAlias` names with `*` or `?`, lower case.
    pub wild_aliases: Vec<String>,
    /// The addresses (`VirtualHost =`); at least one.
    pub addresses: Vec<VhostAddress>,
}

impl HostMatcher {
    /// A matcher for `server_name` (`host` or `host:port`), `aliases` and `addresses` (an
    /// empty list is `*`: every address and port).
    pub fn new(server_name: &str, aliases: &[String], addresses: Vec<VhostAddress>) -> Self {
        let (name, port) = split_server_name(server_name);
        let (wild, plain): (Vec<String>, Vec<String>) = aliases
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .partition(|a| a.contains(['*', '?']));
        HostMatcher {
            server_name: name.to_ascii_lowercase(),
            server_name_written: server_name.to_owned(),
            server_port: port,
            aliases: plain,
            wild_aliases: wild,
            addresses: if addresses.is_empty() {
                vec![VhostAddress::any()]
            } else {
                addresses
            },
        }
    }

    /// httpd's `matches_aliases`: ServerName, plain aliases, then wildcard aliases.
    /// `host` is already normalised ([`normalize_host`]).
    pub fn matches_name(&self, host: &str) -> bool {
        host == self.server_name
            || self.aliases.iter().any(|a| a == host)
            || self
                .wild_aliases
                .iter()
                .any(|w| wildcard_match_ci(w.as_bytes(), host.as_bytes()))
    }

    /// What mod_jk's status worker shows as the map's server for this vhost:
    /// `ServerName [address:port]` (the first address; its port when it has one).
    pub fn status_text(&self) -> String {
        let first = &self.addresses[0];
        match first.port {
            Some(port) => format!("{} [{}:{port}]", self.server_name_original(), first.text),
            None => format!("{} [{}]", self.server_name_original(), first.text),
        }
    }

    /// The ServerName as written, without its port (httpd keeps the case it was given).
    fn server_name_original(&self) -> &str {
        split_server_name(&self.server_name_written).0
    }
}

/// `host[:port]` of a ServerName: (host, port).
pub fn split_server_name(value: &str) -> (&str, Option<u16>) {
    if let Some(rest) = value.strip_prefix('[') {
        if let Some((inside, after)) = rest.split_once(']') {
            let host = &value[..inside.len() + 2];
            return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
        return (value, None);
    }
    match value.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (value, None),
        },
        _ => (value, None),
    }
}

/// A request host (a `Host` header value, an HTTP/2 `:authority` or a TLS server name) as
/// httpd's `fix_hostname` leaves it for matching: lower case, without the port and without a
/// trailing dot. `None` for an empty host.
pub fn normalize_host(raw: &str) -> Option<String> {
    let host = split_server_name(raw.trim()).0;
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// httpd's `ap_strcasecmp_match` (as a yes/no): `*` any run of characters, `?` one,
/// ASCII case-insensitive; `pattern` is already lower case.
pub fn wildcard_match_ci(pattern: &[u8], text: &[u8]) -> bool {
    super::uriworkermap::wildcard_match_folded(pattern, text, |b| b.to_ascii_lowercase())
}

/// The vhosts of a configuration, in configuration order: which one answers a connection
/// and a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualHosts {
    hosts: Vec<HostMatcher>,
}

impl VirtualHosts {
    /// The vhosts, in configuration order.
    pub fn new(hosts: Vec<HostMatcher>) -> Self {
        VirtualHosts { hosts }
    }

    /// Whether there is none (every request goes to the main server).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The vhosts, in configuration order.
    pub fn hosts(&self) -> &[HostMatcher] {
        &self.hosts
    }

    /// The candidate chain for a connection to `local` (indexes in configuration order):
    /// the vhosts naming its IP exactly, else those written with `*` for its port. Empty:
    /// the main server answers.
    pub fn chain(&self, local: SocketAddr) -> Vec<usize> {
        let exact = self.any_exact(local);
        (0..self.hosts.len())
            .filter(|&i| self.in_chain(i, local, exact))
            .collect()
    }

    fn any_exact(&self, local: SocketAddr) -> bool {
        self.hosts
            .iter()
            .any(|h| h.addresses.iter().any(|a| a.matches_exactly(local)))
    }

    fn in_chain(&self, index: usize, local: SocketAddr, exact: bool) -> bool {
        self.hosts[index].addresses.iter().any(|a| {
            if exact {
                a.matches_exactly(local)
            } else {
                a.matches_wildcard(local.port())
            }
        })
    }

    /// The vhost answering a request with host `host` (a Host header value, port and all,
    /// or a TLS server name) on a connection to `local`: `None` is the main server. Without
    /// vhosts this costs nothing; with them it allocates nothing.
    pub fn select(&self, local: SocketAddr, host: Option<&str>) -> Option<usize> {
        if self.hosts.is_empty() {
            return None;
        }
        let exact = self.any_exact(local);
        let mut chain = (0..self.hosts.len()).filter(|&i| self.in_chain(i, local, exact));
        let first = chain.next()?;
        let Some(host) = host.and_then(normalize_host) else {
            return Some(first);
        };
        let chain = std::iter::once(first).chain(chain);
        self.pick(chain, first, &host)
    }

    fn pick(
        &self,
        chain: impl Iterator<Item = usize> + Clone,
        first: usize,
        host: &str,
    ) -> Option<usize> {
        if let Some(hit) = chain.clone().find(|&i| self.hosts[i].matches_name(host)) {
            return Some(hit);
        }
        // httpd's last resort: the host equals the address the vhost was declared with.
        chain
            .into_iter()
            .find(|&i| {
                self.hosts[i]
                    .addresses
                    .iter()
                    .any(|a| a.ip != VhostIp::Any && a.text.eq_ignore_ascii_case(host))
            })
            .or(Some(first))
    }

    /// [`VirtualHosts::select`] within a chain already found.
    pub fn select_in(&self, chain: &[usize], host: Option<&str>) -> Option<usize> {
        let first = *chain.first()?;
        match host.and_then(normalize_host) {
            Some(host) => self.pick(chain.iter().copied(), first, &host),
            None => Some(first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> VhostAddress {
        VhostAddress::parse(s).expect("valid address")
    }

    fn hosts() -> VirtualHosts {
        VirtualHosts::new(vec![
            HostMatcher::new(
                "www.example.com",
                &["example.com".into()],
                vec![addr("*:80")],
            ),
            HostMatcher::new(
                "Shop.Example.com:443",
                &["*.shop.example.com".into(), "s?.example.org".into()],
                vec![addr("*:80"), addr("*:443")],
            ),
            HostMatcher::new("intranet", &[], vec![addr("10.0.0.1:80")]),
            HostMatcher::new("anyport.example.net", &[], vec![addr("*")]),
        ])
    }

    #[test]
    fn names_and_aliases_match_as_httpd_does() {
        let local: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let h = hosts();
        let cases: &[(Option<&str>, Option<usize>)] = &[
            (Some("www.example.com"), Some(0)),
            (Some("WWW.Example.COM:80"), Some(0)),
            (Some("www.example.com."), Some(0)),
            (Some("example.com"), Some(0)),
            (Some("shop.example.com"), Some(1)),
            (Some("a.b.shop.example.com"), Some(1)),
            (Some("S1.example.org"), Some(1)),
            (Some("s12.example.org"), Some(0)),
            (Some("anyport.example.net:8080"), Some(3)),
            (Some("unknown.example.com"), Some(0)),
            (None, Some(0)),
            (Some(""), Some(0)),
        ];
        for (host, expected) in cases {
            assert_eq!(h.select(local, *host), *expected, "host {host:?}");
        }
    }

    #[test]
    fn the_address_chooses_the_chain_first() {
        let h = hosts();
        // The exact IP vhost is the only candidate on 10.0.0.1:80, whatever the name.
        let intranet: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(h.select(intranet, Some("www.example.com")), Some(2));
        // Port 443: vhost 1 (`*:443`) and 3 (`*`, any port).
        let tls: SocketAddr = "192.0.2.1:443".parse().unwrap();
        assert_eq!(h.chain(tls), vec![1, 3]);
        assert_eq!(h.select(tls, Some("www.example.com")), Some(1));
        // A port nobody but the any-port vhost claims.
        let other: SocketAddr = "192.0.2.1:8080".parse().unwrap();
        assert_eq!(h.select(other, Some("www.example.com")), Some(3));
        let only_80 = VirtualHosts::new(vec![HostMatcher::new("a", &[], vec![addr("*:80")])]);
        assert_eq!(only_80.select(other, Some("a")), None, "main server");
        assert_eq!(VirtualHosts::default().select(other, Some("a")), None);
        // IPv4-mapped local addresses are the IPv4 address.
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:80".parse().unwrap();
        assert_eq!(h.select(mapped, None), Some(2));
        // The address as written is a last-resort name.
        assert_eq!(h.select(intranet, Some("10.0.0.1")), Some(2));
    }

    #[test]
    fn addresses_parse_as_virtualhost_takes_them() {
        assert_eq!(addr("*:80").port, Some(80));
        assert_eq!(addr("*").port, None);
        assert_eq!(addr("*:*").port, None);
        assert_eq!(addr("_default_:443").ip, VhostIp::Any);
        assert_eq!(addr("[::1]:8443").ip, VhostIp::Ip("::1".parse().unwrap()));
        assert_eq!(addr("[::1]:8443").text, "[::1]");
        assert_eq!(addr("10.0.0.1").port, None);
        assert!(VhostAddress::parse("www.example.com:80").is_err());
        assert!(VhostAddress::parse("*:http").is_err());
    }

    #[test]
    fn status_text_is_mod_jk_s() {
        let h = hosts();
        assert_eq!(h.hosts()[0].status_text(), "www.example.com [*:80]");
        assert_eq!(h.hosts()[1].status_text(), "Shop.Example.com [*:80]");
        assert_eq!(h.hosts()[3].status_text(), "anyport.example.net [*]");
    }

    #[test]
    fn wildcards_are_case_insensitive_and_cross_dots() {
        for (pattern, text, expected) in [
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "A.B.EXAMPLE.COM", true),
            ("*.example.com", "example.com", false),
            ("?.example.com", "ab.example.com", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(
                wildcard_match_ci(pattern.as_bytes(), text.as_bytes()),
                expected,
                "{pattern} ~ {text}"
            );
        }
    }
}
