//! The `ajp://host:port/path?query` URLs every `jkgate ajp` command takes, and the
//! loopback guard of the commands that send hostile traffic.

use std::net::{SocketAddr, ToSocketAddrs};

use super::error::ToolError;

/// The port of an `ajp://` URL without one: Tomcat's default AJP connector port.
pub(crate) const DEFAULT_PORT: u16 = 8009;

/// A parsed `ajp://` URL. The path and query are kept as written (percent-escapes
/// included): AJP carries the request URI undecoded, so the container decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AjpUrl {
    /// Host name or address, without IPv6 brackets.
    pub host: String,
    /// TCP port of the AJP connector.
    pub port: u16,
    /// Request path, `/` when the URL has none.
    pub path: String,
    /// Query string without the `?`, when the URL has one.
    pub query: Option<String>,
}

/// Why a URL is not a usable `ajp://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UrlError {
    /// Another scheme than `ajp` (curl's "unsupported protocol").
    #[error("`{url}`: unsupported scheme `{scheme}`; valid: ajp://host[:port][/path][?query]")]
    Scheme {
        /// The URL as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// Not a URL we can send (curl's "URL malformed").
    #[error("`{url}`: {why}; valid: ajp://host[:port][/path][?query]")]
    Malformed {
        /// The URL as given.
        url: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl AjpUrl {
    /// Parses `ajp://host[:port][/path][?query][#fragment]`; the scheme may be left out
    /// (`127.0.0.1:8009/app`), the fragment is dropped (it never leaves a client).
    pub(crate) fn parse(text: &str) -> Result<AjpUrl, UrlError> {
        let malformed = |why| UrlError::Malformed {
            url: text.to_owned(),
            why,
        };
        if text.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(malformed(
                "spaces and control characters must be percent-encoded",
            ));
        }
        let rest = match text.split_once("://") {
            Some((scheme, rest)) => {
                if !scheme.eq_ignore_ascii_case("ajp") {
                    return Err(UrlError::Scheme {
                        url: text.to_owned(),
                        scheme: scheme.to_owned(),
                    });
                }
                rest
            }
            None => text,
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(malformed(
                "user information (`user@`) has no meaning in AJP",
            ));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| malformed("bad host or port"))?;
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        let (path, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (tail, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Ok(AjpUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            query,
        })
    }

    /// `host:port` as written in the URL (IPv6 in brackets).
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Every address the host resolves to (an IP address is itself).
    pub(crate) fn resolve_all(&self) -> Result<Vec<SocketAddr>, ToolError> {
        let resolved = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|cause| ToolError::Resolve {
                host: self.host.clone(),
                cause,
            })?;
        let mut all: Vec<SocketAddr> = resolved.collect();
        // IPv4 first, as the workers do unless told otherwise.
        all.sort_by_key(|addr| addr.is_ipv6());
        if all.is_empty() {
            return Err(ToolError::Resolve {
                host: self.host.clone(),
                cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            });
        }
        Ok(all)
    }

    /// The address to connect to: the first one the host resolves to, IPv4 first.
    pub(crate) fn resolve(&self) -> Result<SocketAddr, ToolError> {
        Ok(self.resolve_all()?[0])
    }

    /// The address to send hostile traffic to: refused unless every address the host
    /// resolves to is loopback or `allow_remote` says otherwise, so a typo cannot aim
    /// the fuzzer at someone else's server.
    pub(crate) fn resolve_guarded(&self, allow_remote: bool) -> Result<SocketAddr, ToolError> {
        let all = self.resolve_all()?;
        if !allow_remote && let Some(remote) = all.iter().find(|addr| !addr.ip().is_loopback()) {
            return Err(ToolError::NotLoopback {
                target: self.authority(),
                addr: *remote,
            });
        }
        Ok(all[0])
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; `None` when the port is not 1..=65535.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(digits) => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match digits.parse::<u16>() {
                Ok(0) | Err(_) => return None,
                Ok(port) => port,
            }
        }
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str, query: Option<&str>) -> AjpUrl {
        AjpUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            query: query.map(str::to_owned),
        }
    }

    #[test]
    fn parses_the_forms_testers_write() {
        let cases = [
            (
                "ajp://127.0.0.1:8009/app/echo?a=1&b=2",
                url("127.0.0.1", 8009, "/app/echo", Some("a=1&b=2")),
            ),
            ("ajp://localhost/", url("localhost", 8009, "/", None)),
            ("ajp://localhost", url("localhost", 8009, "/", None)),
            (
                "AJP://tomcat.example:18009/x%20y",
                url("tomcat.example", 18009, "/x%20y", None),
            ),
            ("127.0.0.1:8010/app", url("127.0.0.1", 8010, "/app", None)),
            ("ajp://[::1]:8009/app?", url("::1", 8009, "/app", Some(""))),
            ("ajp://[::1]/a#frag", url("::1", 8009, "/a", None)),
            ("ajp://h:1?q", url("h", 1, "/", Some("q"))),
        ];
        for (text, expected) in cases {
            assert_eq!(AjpUrl::parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_sent() {
        let malformed = [
            "ajp://:8009/",
            "ajp://host:0/",
            "ajp://host:65536/",
            "ajp://host:80x/",
            "ajp://host:/",
            "ajp://user@host/",
            "ajp://[::1/",
            "ajp://[::1]x/",
            "ajp://host/a b",
            "ajp://host/a\nb",
            "",
        ];
        for text in malformed {
            assert!(
                matches!(AjpUrl::parse(text), Err(UrlError::Malformed { .. })),
                "{text:?} gave {:?}",
                AjpUrl::parse(text)
            );
        }
        for text in ["http://host/", "https://host:8443/"] {
            assert!(
                matches!(AjpUrl::parse(text), Err(UrlError::Scheme { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn authority_brackets_ipv6() {
        assert_eq!(
            AjpUrl::parse("ajp://[::1]:9/").unwrap().authority(),
            "[::1]:9"
        );
        assert_eq!(AjpUrl::parse("ajp://h:9/").unwrap().authority(), "h:9");
    }

    #[test]
    fn the_loopback_guard_refuses_other_hosts() {
        let local = AjpUrl::parse("ajp://127.0.0.1:8009/").unwrap();
        assert!(local.resolve_guarded(false).is_ok());
        let remote = AjpUrl::parse("ajp://192.0.2.7:8009/").unwrap();
        assert!(matches!(
            remote.resolve_guarded(false),
            Err(ToolError::NotLoopback { .. })
        ));
        assert!(remote.resolve_guarded(true).is_ok());
    }
}
