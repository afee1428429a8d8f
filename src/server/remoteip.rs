//! The client's real address from `RemoteIPHeader`, walked as mod_remoteip walks it
//! (httpd's `modules/metadata/mod_remoteip.c`, `remoteip_modify_request`):
//!
//! * Start from the peer (the TCP peer, or the PROXY header's source). While the current
//!   address is a listed proxy (the first `RemoteIPInternalProxy`/`RemoteIPTrustedProxy`
//!   range that holds it says whether it is internal), take the rightmost remaining entry
//!   of the header as the new current address. With no proxy listed, every peer is trusted.
//! * Stop, leaving the entry in the header, at an empty entry, at one that is not an IP
//!   address, or — unless the proxy that presented it is internal — at a private, loopback
//!   or link-local IPv4 address or an IPv6 address outside 2000::/3.
//! * When an entry was taken: the header keeps only the entries not taken (it is removed
//!   when none is left), and `RemoteIPProxiesHeader` gets the trusted (not internal)
//!   proxies the walk went through, first the peer.
//!
//! `Forwarded` (RFC 7239), which mod_remoteip does not read, is walked the same way over its
//! elements, the address being each element's `for=` parameter (quoted, `[IPv6]`, with or
//! without a port); an obfuscated or `unknown` node stops the walk.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::config::remoteip::{ClientHeader, RemoteIpSettings};

/// The walk's settings, ready for requests.
#[derive(Debug, Clone)]
pub struct RemoteIp {
    settings: RemoteIpSettings,
    header: HeaderName,
    forwarded: bool,
    proxies_header: Option<HeaderName>,
}

/// What the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// The client's address.
    pub client: IpAddr,
    /// The trusted (not internal) proxies passed, first the peer (`None`: only internal).
    pub proxies: Option<String>,
}

impl RemoteIp {
    /// `None` when `settings` name no header (nothing to walk).
    pub fn new(settings: &RemoteIpSettings) -> Option<RemoteIp> {
        let ClientHeader { name, forwarded } = settings.header.as_ref()?;
        Some(RemoteIp {
            header: HeaderName::from_bytes(name.as_bytes()).ok()?,
            forwarded: *forwarded,
            proxies_header: settings
                .proxies_header
                .as_deref()
                .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok()),
            settings: settings.clone(),
        })
    }

    /// Walks the header of `headers` from `peer`; when an entry was taken, rewrites the
    /// header (and sets the proxies header) as mod_remoteip does and returns the client.
    pub fn apply(&self, peer: IpAddr, headers: &mut HeaderMap) -> Option<Walked> {
        // Several header lines are one comma-separated list, as httpd's table merges them.
        let mut values = headers.get_all(&self.header).iter();
        let first = values.next()?;
        let joined: Vec<u8> = match values.next() {
            None => first.as_bytes().to_vec(),
            Some(second) => {
                let mut joined = first.as_bytes().to_vec();
                for value in std::iter::once(second).chain(values) {
                    joined.extend_from_slice(b", ");
                    joined.extend_from_slice(value.as_bytes());
                }
                joined
            }
        };
        let text = std::str::from_utf8(&joined).ok()?;
        let entries = if self.forwarded {
            split_forwarded(text)
        } else {
            text.split(',').collect()
        };
        let (kept, walked) = self.walk(peer, &entries)?;
        if kept == 0 {
            headers.remove(&self.header);
        } else {
            let rest = entries[..kept].join(if self.forwarded { ", " } else { "," });
            match HeaderValue::from_str(&rest) {
                Ok(value) => {
                    headers.insert(self.header.clone(), value);
                }
                Err(_) => {
                    headers.remove(&self.header);
                }
            }
        }
        if let (Some(name), Some(proxies)) = (&self.proxies_header, &walked.proxies)
            && let Ok(value) = HeaderValue::from_str(proxies)
        {
            headers.insert(name.clone(), value);
        }
        Some(walked)
    }

    /// The walk over `entries` (left to right as written): how many entries remain (the
    /// left ones) and the result, or `None` when nothing was taken.
    fn walk(&self, peer: IpAddr, entries: &[&str]) -> Option<(usize, Walked)> {
        let proxies = &self.settings.proxies;
        let mut current = peer.to_canonical();
        let mut internal = false;
        let mut remaining = entries.len();
        let mut passed: Vec<String> = Vec::new();
        let mut taken = false;
        while remaining > 0 {
            if !proxies.is_empty() {
                match proxies.iter().find(|p| p.range.contains(current)) {
                    Some(proxy) => internal = proxy.internal,
                    None => break,
                }
            }
            let entry = entries[remaining - 1];
            let address = if self.forwarded {
                forwarded_for(entry)
            } else {
                // mod_remoteip trims spaces only.
                Some(entry.trim_matches(' ')).filter(|e| !e.is_empty())
            };
            let Some(address) = address.and_then(|a| a.parse::<IpAddr>().ok()) else {
                tracing::debug!(header = %self.header, entry, "RemoteIP: entry is not a client address; walk stops");
                break;
            };
            let address = address.to_canonical();
            if !internal && !public(address) {
                tracing::debug!(header = %self.header, %address, "RemoteIP: a private address from a proxy that is not internal; ignored");
                break;
            }
            if !internal {
                passed.push(current.to_string());
            }
            current = address;
            remaining -= 1;
            taken = true;
        }
        taken.then(|| {
            (
                remaining,
                Walked {
                    client: current,
                    proxies: (!passed.is_empty()).then(|| passed.join(", ")),
                },
            )
        })
    }
}

/// mod_remoteip's test for an address a proxy that is not internal may present: IPv4
/// outside 10/8, 127/8, 169.254/16, 172.16/12 and 192.168/16; IPv6 inside 2000::/3.
fn public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(a == 10
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && (b & 0xf0) == 16)
                || (a == 192 && b == 168))
        }
        IpAddr::V6(v6) => v6.octets()[0] & 0xe0 == 0x20,
    }
}

/// The elements of a `Forwarded` value: commas outside quoted strings separate them.
fn split_forwarded(text: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                elements.push(text[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    elements.push(text[start..].trim());
    elements
}

/// The address of an element's `for=` node: `192.0.2.60`, `"[2001:db8::17]:4711"`,
/// `"192.0.2.60:80"`; `None` without one, or for `unknown` and obfuscated (`_x`) nodes.
fn forwarded_for(element: &str) -> Option<&str> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim())
    })?;
    let node = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split_once(']').map(|(v6, _)| v6);
    }
    Some(match node.split_once(':') {
        Some((v4, _port)) => v4,
        None => node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::iprange::IpRange;
    use crate::config::remoteip::TrustedProxy;

    fn remote_ip(header: &str, internal: &[&str], trusted: &[&str], by: bool) -> RemoteIp {
        let proxy = |text: &&str, internal| TrustedProxy {
            range: IpRange::parse(text).unwrap(),
            internal,
        };
        let settings = RemoteIpSettings {
            header: Some(ClientHeader {
                name: header.to_owned(),
                forwarded: header.eq_ignore_ascii_case("forwarded"),
            }),
            proxies: internal
                .iter()
                .map(|t| proxy(t, true))
                .chain(trusted.iter().map(|t| proxy(t, false)))
                .collect(),
            proxies_header: by.then(|| "X-Forwarded-By".to_owned()),
            proxy_protocol: Vec::new(),
        };
        RemoteIp::new(&settings).unwrap()
    }

    /// (peer, header value, client, header after, proxies header after)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );

    fn run(walker: &RemoteIp, cases: &[Case]) {
        for (peer, value, client, after, by) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(walker.header.clone(), HeaderValue::from_static(value));
            let walked = walker.apply(peer.parse().unwrap(), &mut headers);
            let client_seen = walked.map_or_else(|| peer.to_string(), |w| w.client.to_string());
            assert_eq!(client_seen, *client, "peer {peer}, header {value}");
            assert_eq!(
                headers.get(&walker.header).map(|v| v.to_str().unwrap()),
                *after,
                "header after, peer {peer}, header {value}"
            );
            assert_eq!(
                headers.get("x-forwarded-by").map(|v| v.to_str().unwrap()),
                *by,
                "proxies, peer {peer}, header {value}"
            );
        }
    }

    #[test]
    fn x_forwarded_for_as_mod_remoteip_walks_it() {
        let walker = remote_ip(
            "X-Forwarded-For",
            &["10.0.0.0/8"],
            &["203.0.113.7", "198.51.100.0/24"],
            true,
        );
        run(
            &walker,
            &[
                // An internal proxy hands over a public client: no trusted proxy to list.
                ("10.0.0.5", "198.18.0.1", "198.18.0.1", None, None),
                // Several proxies: internal, then trusted, then the client.
                (
                    "10.0.0.5",
                    "8.8.8.8, 198.51.100.3",
                    "8.8.8.8",
                    None,
                    Some("198.51.100.3"),
                ),
                // Stop at the first untrusted: 1.1.1.1 is the client, 9.9.9.9 stays.
                (
                    "10.0.0.5",
                    "9.9.9.9, 1.1.1.1, 203.0.113.7",
                    "1.1.1.1",
                    Some("9.9.9.9"),
                    Some("203.0.113.7"),
                ),
                // An untrusted peer changes nothing.
                ("8.8.4.4", "1.2.3.4", "8.8.4.4", Some("1.2.3.4"), None),
                // A trusted (not internal) proxy may not present a private address.
                (
                    "203.0.113.7",
                    "192.168.1.9",
                    "203.0.113.7",
                    Some("192.168.1.9"),
                    None,
                ),
                (
                    "203.0.113.7",
                    "fd00::1",
                    "203.0.113.7",
                    Some("fd00::1"),
                    None,
                ),
                // An internal one may.
                ("10.0.0.5", "192.168.1.9", "192.168.1.9", None, None),
                // Not an address, an empty entry: the walk stops there.
                (
                    "10.0.0.5",
                    "1.2.3.4, bogus",
                    "10.0.0.5",
                    Some("1.2.3.4, bogus"),
                    None,
                ),
                (
                    "10.0.0.5",
                    "1.2.3.4,,5.6.7.8",
                    "5.6.7.8",
                    Some("1.2.3.4,"),
                    None,
                ),
                (
                    "10.0.0.5",
                    "1.2.3.4:5678",
                    "10.0.0.5",
                    Some("1.2.3.4:5678"),
                    None,
                ),
                // IPv6 and IPv4-mapped peers and clients.
                ("::ffff:10.0.0.5", "2001:db8::1", "2001:db8::1", None, None),
                ("10.0.0.5", "::ffff:8.8.8.8", "8.8.8.8", None, None),
            ],
        );
    }

    #[test]
    fn without_listed_proxies_every_peer_is_trusted_as_in_mod_remoteip() {
        let walker = remote_ip("X-Real-IP", &[], &[], false);
        run(
            &walker,
            &[
                ("8.8.4.4", "1.2.3.4", "1.2.3.4", None, None),
                ("8.8.4.4", "9.9.9.9, 1.2.3.4", "9.9.9.9", None, None),
                // ... but private addresses only from internal proxies, and there are none.
                ("8.8.4.4", "10.1.1.1", "8.8.4.4", Some("10.1.1.1"), None),
            ],
        );
    }

    #[test]
    fn forwarded_elements_and_their_for_nodes() {
        let walker = remote_ip("Forwarded", &["127.0.0.0/8"], &["203.0.113.7"], true);
        run(
            &walker,
            &[
                (
                    "127.0.0.1",
                    "for=198.18.0.1;proto=https",
                    "198.18.0.1",
                    None,
                    None,
                ),
                (
                    "127.0.0.1",
                    "for=\"[2001:db8::17]:4711\", for=203.0.113.7;by=x",
                    "2001:db8::17",
                    None,
                    Some("203.0.113.7"),
                ),
                (
                    "127.0.0.1",
                    "For=\"198.18.0.2:80\"",
                    "198.18.0.2",
                    None,
                    None,
                ),
                (
                    "127.0.0.1",
                    "for=_hidden, for=198.18.0.3",
                    "198.18.0.3",
                    Some("for=_hidden"),
                    None,
                ),
                (
                    "127.0.0.1",
                    "for=unknown",
                    "127.0.0.1",
                    Some("for=unknown"),
                    None,
                ),
                (
                    "127.0.0.1",
                    "proto=http;by=1.2.3.4",
                    "127.0.0.1",
                    Some("proto=http;by=1.2.3.4"),
                    None,
                ),
                (
                    "127.0.0.1",
                    "for=\"a,b\", for=198.18.0.4",
                    "198.18.0.4",
                    Some("for=\"a,b\""),
                    None,
                ),
                (
                    "8.8.8.8",
                    "for=198.18.0.5",
                    "8.8.8.8",
                    Some("for=198.18.0.5"),
                    None,
                ),
            ],
        );
    }

    #[test]
    fn repeated_header_lines_are_one_list() {
        let walker = remote_ip("X-Forwarded-For", &["10.0.0.0/8"], &[], false);
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("9.9.9.9"));
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("10.0.0.7, 8.8.8.8"),
        );
        let walked = walker
            .apply("10.0.0.1".parse().unwrap(), &mut headers)
            .unwrap();
        assert_eq!(walked.client.to_string(), "8.8.8.8");
        assert_eq!(headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(headers["x-forwarded-for"], "9.9.9.9, 10.0.0.7");
    }
}
