//! The client's real address behind proxies: mod_remoteip's settings, with its names.
//!
//! ```ini
//! RemoteIPHeader = X-Forwarded-For          ; or Forwarded (RFC 7239), X-Real-IP, ...
//! RemoteIPInternalProxy = 10.0.0.0/8        ; may present private addresses
//! RemoteIPTrustedProxy = 203.0.113.7 198.51.100.0/24
//! RemoteIPTrustedProxy = 2001:db8::/32      ; repeated lines add up
//! RemoteIPProxiesHeader = X-Forwarded-By    ; the proxies that were trusted, for Tomcat
//! RemoteIPProxyProtocol = 127.0.0.1:8000    ; listeners that read a PROXY v1/v2 header first
//! ```
//!
//! As in mod_remoteip, without any `RemoteIPTrustedProxy` or `RemoteIPInternalProxy` every
//! peer is trusted to present the header; jkgate warns about that, since any client can
//! then choose the address Tomcat sees. The walk itself is `server::remoteip`.

use std::net::SocketAddr;

use super::error::{ConfigError, ConfigWarning, Origin};
use super::ini::split_setting_list;
use super::iprange::IpRange;
use super::settings::{Listener, parse_listen};

/// The header that carries the client's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHeader {
    /// Its name as written (matched ignoring case).
    pub name: String,
    /// `Forwarded` (RFC 7239): the address is each element's `for=` parameter; any other
    /// header is a comma-separated list of addresses, as mod_remoteip reads it.
    pub forwarded: bool,
}

/// A peer allowed to present the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    /// Its addresses.
    pub range: IpRange,
    /// `RemoteIPInternalProxy`: may also present private, loopback and link-local
    /// addresses (a `RemoteIPTrustedProxy` presenting one ends the walk).
    pub internal: bool,
}

/// mod_remoteip's settings, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteIpSettings {
    /// `RemoteIPHeader` (`None`: the TCP peer, or the PROXY header's source, is the client).
    pub header: Option<ClientHeader>,
    /// `RemoteIPInternalProxy` and `RemoteIPTrustedProxy`, in the order written (the first
    /// range that holds a peer decides whether it is internal, as in mod_remoteip).
    pub proxies: Vec<TrustedProxy>,
    /// `RemoteIPProxiesHeader`: set to the trusted (not internal) proxies' addresses.
    pub proxies_header: Option<String>,
    /// `RemoteIPProxyProtocol`: listen addresses whose connections must start with a PROXY
    /// protocol header (v1 or v2).
    pub proxy_protocol: Vec<SocketAddr>,
}

/// The values of the mod_remoteip keys as jkgate.ini holds them (repeated lines joined).
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoteIpValues<'a> {
    /// `RemoteIPHeader`.
    pub header: Option<&'a str>,
    /// `RemoteIPTrustedProxy`.
    pub trusted: Option<&'a str>,
    /// `RemoteIPInternalProxy`.
    pub internal: Option<&'a str>,
    /// `RemoteIPProxiesHeader`.
    pub proxies_header: Option<&'a str>,
    /// `RemoteIPProxyProtocol`.
    pub proxy_protocol: Option<&'a str>,
}

/// Whether `name` is an HTTP field name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn setting(key: &str, origin: Option<Origin>, problem: String) -> ConfigError {
    ConfigError::Setting {
        origin,
        setting: key.to_owned(),
        problem,
    }
}

/// Resolves the mod_remoteip keys. `origin_of(key, item)` is the jkgate.ini line that wrote
/// `item` of `key`; `listeners` the configured listeners (`RemoteIPProxyProtocol` must name
/// one of them).
pub fn resolve_remote_ip(
    values: &RemoteIpValues<'_>,
    origin_of: &dyn Fn(&str, &str) -> Option<Origin>,
    listeners: &[Listener],
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> RemoteIpSettings {
    let mut settings = RemoteIpSettings::default();
    let header_name = |key: &str, value: &str, errors: &mut Vec<ConfigError>| {
        let value = value.trim();
        if is_token(value) {
            Some(value.to_owned())
        } else {
            errors.push(setting(
                key,
                origin_of(key, value),
                format!(
                    "`{value}` is not a header name; write one name such as X-Forwarded-For, X-Real-IP or Forwarded"
                ),
            ));
            None
        }
    };
    if let Some(value) = values.header {
        settings.header = header_name("RemoteIPHeader", value, errors).map(|name| ClientHeader {
            forwarded: name.eq_ignore_ascii_case("forwarded"),
            name,
        });
    }
    if let Some(value) = values.proxies_header {
        settings.proxies_header = header_name("RemoteIPProxiesHeader", value, errors);
    }
    for (key, value, internal) in [
        ("RemoteIPInternalProxy", values.internal, true),
        ("RemoteIPTrustedProxy", values.trusted, false),
    ] {
        for item in value.map(split_setting_list).unwrap_or_default() {
            match IpRange::parse(&item) {
                Ok(range) => settings.proxies.push(TrustedProxy { range, internal }),
                Err(problem) => {
                    errors.push(setting(key, origin_of(key, &item), problem.to_string()));
                }
            }
        }
    }
    for item in values
        .proxy_protocol
        .map(split_setting_list)
        .unwrap_or_default()
    {
        let origin = origin_of("RemoteIPProxyProtocol", &item);
        match parse_listen("RemoteIPProxyProtocol", &item) {
            Ok(addr) if listeners.iter().any(|l| l.addr == addr) => {
                settings.proxy_protocol.push(addr);
            }
            Ok(addr) => {
                let listed: Vec<String> = listeners.iter().map(|l| l.addr.to_string()).collect();
                errors.push(setting(
                    "RemoteIPProxyProtocol",
                    origin,
                    format!(
                        "`{item}` ({addr}) is not a listen address of jkgate; it names listeners by their Listen or [tls] Listen address: {}",
                        listed.join(", ")
                    ),
                ));
            }
            Err(ConfigError::Setting { problem, .. }) => {
                errors.push(setting("RemoteIPProxyProtocol", origin, problem));
            }
            Err(other) => errors.push(other),
        }
    }
    match (&settings.header, settings.proxies.is_empty()) {
        (Some(header), true) => warnings.push(ConfigWarning {
            origin: origin_of("RemoteIPHeader", &header.name),
            key: "RemoteIPHeader".to_owned(),
            message: format!(
                "no RemoteIPTrustedProxy or RemoteIPInternalProxy: as in mod_remoteip every peer is trusted, so any client can choose the address Tomcat sees by sending {}; list the proxies in front of jkgate",
                header.name
            ),
        }),
        (None, false) => warnings.push(ConfigWarning {
            origin: None,
            key: "RemoteIPTrustedProxy".to_owned(),
            message: "trusted or internal proxies are listed but no RemoteIPHeader names the header they send; they change nothing".to_owned(),
        }),
        _ => {}
    }
    if settings.proxies_header.is_some() && settings.header.is_none() {
        warnings.push(ConfigWarning {
            origin: None,
            key: "RemoteIPProxiesHeader".to_owned(),
            message: "without RemoteIPHeader there are no proxies to list; it changes nothing"
                .to_owned(),
        });
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(values: RemoteIpValues<'_>) -> (RemoteIpSettings, Vec<String>, Vec<String>) {
        let listeners = [Listener {
            addr: "127.0.0.1:8000".parse().unwrap(),
            tls: false,
        }];
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        let origin = |_: &str, _: &str| Some(Origin::new("j.ini", 7));
        let settings = resolve_remote_ip(&values, &origin, &listeners, &mut errors, &mut warnings);
        (
            settings,
            errors.iter().map(ToString::to_string).collect(),
            warnings.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn keys_resolve_in_order_with_internal_first_as_written() {
        let (settings, errors, warnings) = resolve(RemoteIpValues {
            header: Some("forwarded"),
            trusted: Some("203.0.113.7, 198.51.100.0/24"),
            internal: Some("10.0.0.0/8"),
            proxies_header: Some("X-Forwarded-By"),
            proxy_protocol: Some("127.0.0.1:8000"),
        });
        assert!(
            errors.is_empty() && warnings.is_empty(),
            "{errors:?} {warnings:?}"
        );
        assert!(settings.header.as_ref().unwrap().forwarded);
        let shown: Vec<(String, bool)> = settings
            .proxies
            .iter()
            .map(|p| (p.range.to_string(), p.internal))
            .collect();
        assert_eq!(
            shown,
            [
                ("10.0.0.0/8".to_owned(), true),
                ("203.0.113.7".to_owned(), false),
                ("198.51.100.0/24".to_owned(), false)
            ]
        );
        assert_eq!(settings.proxy_protocol, ["127.0.0.1:8000".parse().unwrap()]);
    }

    #[test]
    fn refusals_and_warnings_name_the_line() {
        let (_, errors, _) = resolve(RemoteIpValues {
            header: Some("X Forwarded"),
            trusted: Some("proxy.example.com"),
            proxy_protocol: Some("127.0.0.1:9999"),
            ..RemoteIpValues::default()
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("j.ini:7: RemoteIPHeader: `X Forwarded` is not a header name"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("RemoteIPTrustedProxy: `proxy.example.com`"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("not a listen address of jkgate")
                && errors[2].contains("127.0.0.1:8000"),
            "{errors:?}"
        );
        let (_, _, warnings) = resolve(RemoteIPValuesHeaderOnly::values());
        assert!(
            warnings[0].contains("any client can choose the address"),
            "{warnings:?}"
        );
    }

    struct RemoteIPValuesHeaderOnly;
    impl RemoteIPValuesHeaderOnly {
        fn values() -> RemoteIpValues<'static> {
            RemoteIpValues {
                header: Some("X-Forwarded-For"),
                ..RemoteIpValues::default()
            }
        }
    }
}
