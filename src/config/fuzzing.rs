//! Entry points for the fuzz targets (and their regression tests): bytes in, never a panic.

use super::properties::{DuplicateMode, PropertyMap};
use super::reader::read_workers_properties;
use super::uriworkermap::{MountTable, normalize_path};

fn no_env(_: &str) -> Option<String> {
    None
}

/// Reads `data` as workers.properties; on success, checks invariants of the result.
pub fn workers_properties(data: &[u8]) {
    match read_workers_properties(data, "fuzz.properties", &no_env) {
        Ok(file) => {
            for worker in &file.config.workers {
                assert!(file.config.list.contains(&worker.name));
                if let super::workers::WorkerKind::Lb(lb) = &worker.kind {
                    assert!(!lb.members.is_empty());
                    for member in &lb.members {
                        assert!(member.member.lbfactor >= 1);
                        assert!(
                            member.ajp.max_packet_size >= 8192
                                && member.ajp.max_packet_size <= 65536
                        );
                        assert_eq!(member.ajp.max_packet_size % 1024, 0);
                        assert!(member.ajp.retries >= 1);
                    }
                }
            }
        }
        Err(error) => {
            // Every error renders to a message.
            assert!(!error.to_string().is_empty());
        }
    }
    // The map alone (no reference resolution) never fails on anything but a directive.
    let mut map = PropertyMap::new();
    let _ = map.read(data, "fuzz.properties", DuplicateMode::Merge, &no_env);
}

/// Reads `data` as uriworkermap.properties and matches a few paths derived from it.
pub fn uriworkermap(data: &[u8]) {
    let mut table = MountTable::new();
    let _ = table.read_uriworkermap(data, "fuzz.map", &no_env);
    for window in data.split(|&b| b == b'\n').take(8) {
        if let Ok(path) = normalize_path(window) {
            let _ = table.find(&path);
            assert!(path.starts_with(b"/"));
        }
        let _ = table.find(window);
    }
    for rule in table.rules() {
        assert!(rule.pattern.starts_with('/'));
        let _ = table.find(rule.pattern.as_bytes());
    }
}

/// Reads `data` as jkgate.ini and runs every value through the parser the command line
/// uses for it (no file is opened); a format that parses is rendered once.
pub fn jkgate_ini(data: &[u8]) {
    use super::ini::{
        JkOptions, LogLevel, RequestLogFields, RequestLogFormat, parse_ini, parse_replay,
        parse_seconds, parse_strip_session, split_setting_list,
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ini = match parse_ini(text, "fuzz.ini") {
        Ok(ini) => ini,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let listens = [
        ini.listen.as_deref(),
        ini.tls.as_ref().and_then(|t| t.listen.as_deref()),
    ];
    for value in listens.into_iter().flatten() {
        for one in split_setting_list(value) {
            let _ = super::settings::parse_listen("Listen", &one);
        }
    }
    let seconds = [
        ("JkMountFileReload", &ini.mount_file_reload),
        ("JkWatchdogInterval", &ini.watchdog_interval),
        ("GracefulShutdownTimeout", &ini.graceful_shutdown_timeout),
    ];
    for (name, value) in seconds {
        if let Some(value) = value {
            let _ = parse_seconds(name, value);
        }
    }
    if let Some(value) = &ini.log_level {
        let _ = LogLevel::parse(value);
    }
    // mod_remoteip's ranges and the [access] rules, evaluated for a few clients.
    for value in [&ini.remote_ip_trusted_proxy, &ini.remote_ip_internal_proxy]
        .into_iter()
        .flatten()
    {
        for item in split_setting_list(value) {
            if let Ok(range) = super::iprange::IpRange::parse(&item) {
                assert!(super::iprange::IpRange::parse(&range.to_string()) == Ok(range));
            }
        }
    }
    if let Some(access) = &ini.access {
        let mut errors = Vec::new();
        let rules = super::access::AccessRules::parse(
            &access.0,
            &ini.origins.in_section("access"),
            &mut errors,
        );
        let local = std::net::IpAddr::from([127, 0, 0, 1]);
        for client in ["10.1.2.3", "::1", "2001:db8::1"] {
            let client = client.parse().expect("a fixed address");
            let _ = rules.refusing(b"/app/x", Some("lb"), client, local);
        }
    }
    if let Some(value) = &ini.options {
        let _ = JkOptions::parse(value);
    }
    if let Some(value) = &ini.replay {
        let _ = parse_replay(value);
    }
    if let Some(value) = &ini.strip_session {
        if let Ok(Some(name)) = parse_strip_session(value) {
            assert!(name.starts_with(';'));
        }
    }
    if let Some(format) = &ini.request_log_format
        && let Ok(format) = RequestLogFormat::parse(format)
    {
        let fields = RequestLogFields {
            bytes: 1024,
            protocol: "HTTP/1.1",
            method: "GET",
            port: 8080,
            query: Some("a=1"),
            path: "/app/x",
            status: 200,
            duration: std::time::Duration::from_micros(1500),
            server_name: "fuzz.test",
            virtual_host: None,
            worker: "lb",
            route: Some("node1"),
            first_route: Some("node1"),
            session: None,
            member: Some("node1"),
            client: "192.0.2.1",
        };
        let line = format.render(&fields);
        assert!(line.len() <= format.0.len() * 64 + text.len());
    }
    if let Some(mounts) = &ini.mounts {
        let mut table = MountTable::new();
        for (pattern, worker) in &mounts.0 {
            let _ = table.add_jk_mount_line(&format!("{pattern}={worker}"), None);
        }
    }
    // Vhosts: addresses, names and mounts through their parsers, then a request's host
    // (the vhost's own name must select it or one written before it) through the choice.
    let mut matchers = Vec::new();
    for vhost in &ini.vhosts {
        let addresses: Vec<super::vhost::VhostAddress> = vhost
            .get("VirtualHost")
            .map(split_setting_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| super::vhost::VhostAddress::parse(a).ok())
            .collect();
        let aliases = vhost
            .get("ServerAlias")
            .map(split_setting_list)
            .unwrap_or_default();
        let name = vhost.get("ServerName").unwrap_or(&vhost.label);
        matchers.push(super::vhost::HostMatcher::new(name, &aliases, addresses));
        let mut table = MountTable::new();
        for (pattern, worker, _) in &vhost.mounts {
            let _ = table.add_jk_mount(pattern, worker, None);
        }
        let _ = matchers.last().map(super::vhost::HostMatcher::status_text);
    }
    let hosts = super::vhost::VirtualHosts::new(matchers);
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
    for (index, matcher) in hosts.hosts().iter().enumerate() {
        let plain = super::vhost::normalize_host(&matcher.server_name).as_deref()
            == Some(matcher.server_name.as_str());
        if plain
            && hosts.chain(local).contains(&index)
            && let Some(chosen) = hosts.select(local, Some(&matcher.server_name))
        {
            assert!(chosen <= index, "a later vhost won over the one named");
        }
    }
}
