//! What `jkgate check` prints: the resolved settings, each lb with its members and their
//! effective values, in a form an operator can compare with mod_jk's configuration.

use std::fmt::Write as _;
use std::time::Duration;

use super::settings::RunSettings;
use super::workers::{AjpSettings, LbMember, WorkerKind};

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

fn describe_ajp(out: &mut String, indent: &str, ajp: &AjpSettings) {
    let _ = writeln!(
        out,
        "{indent}host={} port={} source={} prefer_ipv6={} secret={}",
        ajp.host,
        ajp.port,
        ajp.source.as_deref().unwrap_or("-"),
        ajp.prefer_ipv6,
        if ajp.secret.is_some() { "(set)" } else { "-" },
    );
    let _ = writeln!(
        out,
        "{indent}connection_pool_size={} connection_pool_minsize={} connection_pool_timeout={} connection_acquire_timeout={}",
        ajp.connection_pool_size,
        ajp.connection_pool_minsize,
        secs(ajp.connection_pool_timeout),
        ms(ajp.connection_acquire_timeout),
    );
    let _ = writeln!(
        out,
        "{indent}ping_mode={} ping_timeout={} connect_timeout={} prepost_timeout={} connection_ping_interval={}",
        if ajp.ping_mode.letters().is_empty() {
            "-".to_owned()
        } else {
            ajp.ping_mode.letters()
        },
        ms(ajp.ping_timeout),
        ms(ajp.connect_timeout),
        ms(ajp.prepost_timeout),
        secs(ajp.connection_ping_interval),
    );
    let _ = writeln!(
        out,
        "{indent}reply_timeout={} socket_timeout={} socket_connect_timeout={} socket_keepalive={} socket_buffer={}",
        ms(ajp.reply_timeout),
        secs(ajp.socket_timeout),
        ms(ajp.socket_connect_timeout),
        ajp.socket_keepalive,
        ajp.socket_buffer,
    );
    let _ = writeln!(
        out,
        "{indent}max_packet_size={} retries={} retry_interval={} recovery_options={} fail_on_status={} busy_limit={}",
        ajp.max_packet_size,
        ajp.retries,
        ms(ajp.retry_interval),
        ajp.recovery_options.0,
        if ajp.fail_on_status.is_empty() {
            "-".to_owned()
        } else {
            ajp.fail_on_status.to_list_string()
        },
        ajp.busy_limit,
    );
}

fn describe_member(out: &mut String, member: &LbMember) {
    let m = &member.member;
    let _ = writeln!(
        out,
        "    member {}{}: route={} domain={} redirect={} activation={} lbfactor={} distance={}",
        member.name,
        if member.implicit {
            " (implicit: no properties)"
        } else {
            ""
        },
        m.route,
        if m.domain.is_empty() { "-" } else { &m.domain },
        if m.redirect.is_empty() {
            "-"
        } else {
            &m.redirect
        },
        m.activation.status_name(),
        m.lbfactor,
        m.distance,
    );
    describe_ajp(out, "      ", &member.ajp);
}

/// A human-readable description of the resolved settings (what `jkgate check` prints).
pub fn describe(settings: &RunSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "workers file: {}", settings.workers_file.display());
    if let Some(file) = &settings.mount_file {
        let _ = writeln!(out, "mount file: {}", file.display());
    }
    for listener in &settings.listeners {
        let _ = writeln!(
            out,
            "listen: {} ({})",
            listener.addr,
            if listener.tls { "https" } else { "http" }
        );
    }
    let limits = &settings.limits;
    let phase = |phase: Option<super::limits::RateTimeout>| match phase {
        None => "0".to_owned(),
        Some(p) => format!(
            "{}{}{}",
            p.initial.as_secs(),
            p.max
                .map(|m| format!("-{}", m.as_secs()))
                .unwrap_or_default(),
            p.min_rate
                .map(|r| format!(",MinRate={r}"))
                .unwrap_or_default()
        ),
    };
    let _ = writeln!(
        out,
        "client limits: RequestReadTimeout header={} body={} KeepAliveTimeout={} LimitRequestLine={} \
         LimitRequestFieldSize={} LimitRequestFields={} LimitRequestBody={} MaxConnections={}",
        phase(limits.read_timeout.header),
        phase(limits.read_timeout.body),
        ms(limits.keep_alive_timeout),
        limits.request_line,
        limits.field_size,
        limits.fields,
        limits
            .body
            .map_or_else(|| "0 (unlimited)".to_owned(), |b| b.to_string()),
        limits.max_connections,
    );
    if let Some(metrics) = &settings.metrics {
        let _ = writeln!(
            out,
            "metrics: {} on {}",
            metrics.path,
            metrics
                .listen
                .map_or_else(|| "every listener".to_owned(), |a| format!("{a} only")),
        );
    }
    for check in &settings.health_checks {
        let _ = writeln!(
            out,
            "health check {}: GET {} every {} timeout {} expect status {}{} rise {} fall {}",
            check.target,
            check.uri,
            secs(check.interval),
            ms(check.timeout),
            check.expect_status,
            check
                .expect_body
                .as_deref()
                .map(|b| format!(" body containing `{b}`"))
                .unwrap_or_default(),
            check.rise,
            check.fall,
        );
    }
    match (&settings.state_file, &settings.state_store) {
        (None, None) => {
            let _ = writeln!(out, "runtime edits: kept until jkgate stops (no StateFile)");
        }
        (file, store) => {
            let _ = writeln!(
                out,
                "runtime edits: StateFile={} StateStore={}",
                file.as_ref()
                    .map_or_else(|| "-".to_owned(), |f| f.display().to_string()),
                store
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string)
            );
        }
    }
    describe_client(&mut out, settings);
    let _ = writeln!(out, "worker.list: {}", settings.workers.list.join(","));
    let _ = writeln!(out, "worker.maintain: {}", secs(settings.workers.maintain));
    for worker in &settings.workers.workers {
        let _ = writeln!(
            out,
            "worker {} (type {}){}",
            worker.name,
            worker.type_name(),
            if worker.implicit {
                " (implicit: no properties)"
            } else {
                ""
            }
        );
        match &worker.kind {
            WorkerKind::Ajp13(ajp) => describe_ajp(&mut out, "    ", ajp),
            WorkerKind::Lb(lb) => {
                let s = &lb.settings;
                let _ = writeln!(
                    out,
                    "    method={} lock={} sticky_session={} sticky_session_force={} retries={} lb_retries={} retry_interval={}",
                    s.method.status_name(),
                    s.lock.status_name(),
                    s.sticky_session,
                    s.sticky_session_force,
                    s.retries,
                    s.lb_retries,
                    ms(s.retry_interval),
                );
                let _ = writeln!(
                    out,
                    "    recover_time={} error_escalation_time={} max_reply_timeouts={} session_cookie={} session_path={} set_session_cookie={} session_cookie_path={}",
                    secs(s.recover_time),
                    secs(s.error_escalation_time),
                    s.max_reply_timeouts,
                    s.session_cookie,
                    s.session_path,
                    s.set_session_cookie,
                    s.session_cookie_path,
                );
                for member in &lb.members {
                    describe_member(&mut out, member);
                }
            }
            WorkerKind::Status(st) => {
                let _ = writeln!(
                    out,
                    "    read_only={} users={} prefix={} good={} bad={}",
                    st.read_only,
                    if st.users.is_empty() {
                        "-".to_owned()
                    } else {
                        st.users.join(",")
                    },
                    st.prefix,
                    st.good.join(","),
                    st.bad.join(","),
                );
            }
        }
    }
    if let Some(name) = &settings.server_name {
        let _ = writeln!(out, "ServerName {name}");
    }
    describe_mounts(&mut out, "", &settings.mounts);
    for vhost in &settings.vhosts {
        let m = &vhost.matcher;
        let mut aliases: Vec<&str> = m.aliases.iter().map(String::as_str).collect();
        aliases.extend(m.wild_aliases.iter().map(String::as_str));
        let addresses: Vec<String> = m
            .addresses
            .iter()
            .map(|a| match a.port {
                Some(port) => format!("{}:{port}", a.text),
                None => a.text.clone(),
            })
            .collect();
        let _ = writeln!(
            out,
            "vhost [{}] ServerName={} ServerAlias={} VirtualHost={} certificate={} JkMountCopy={} JkMountFile={}",
            vhost.label,
            m.server_name_written,
            if aliases.is_empty() {
                "-".to_owned()
            } else {
                aliases.join(",")
            },
            addresses.join(","),
            vhost.tls.as_ref().map_or_else(
                || "([tls])".to_owned(),
                |t| t.certificate.display().to_string()
            ),
            if vhost.mount_copy { "On" } else { "Off" },
            vhost
                .mount_file
                .as_ref()
                .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
        );
        describe_mounts(&mut out, "  ", &vhost.mounts);
    }
    out
}

fn describe_mounts(out: &mut String, indent: &str, mounts: &super::MountTable) {
    for rule in mounts.rules() {
        let _ = writeln!(
            out,
            "{indent}mount {}{}{} -> {} ({}, {})",
            if rule.disabled { "-" } else { "" },
            if rule.exclusion { "!" } else { "" },
            rule.pattern,
            rule.worker,
            rule.status_type(),
            rule.source.status_name(),
        );
    }
}

/// The client's address (mod_remoteip's settings), the `[access]` rules and the status
/// users' sources.
fn describe_client(out: &mut String, settings: &RunSettings) {
    let remote = &settings.remote_ip;
    if let Some(header) = &remote.header {
        let proxies: Vec<String> = remote
            .proxies
            .iter()
            .map(|p| format!("{}{}", p.range, if p.internal { " (internal)" } else { "" }))
            .collect();
        let _ = writeln!(
            out,
            "client address: RemoteIPHeader={} proxies={} RemoteIPProxiesHeader={}",
            header.name,
            if proxies.is_empty() {
                "(every peer)".to_owned()
            } else {
                proxies.join(", ")
            },
            remote.proxies_header.as_deref().unwrap_or("-"),
        );
    }
    for addr in &remote.proxy_protocol {
        let _ = writeln!(out, "PROXY protocol listener: {addr}");
    }
    for rule in &settings.access.rules {
        let scope = match &rule.scope {
            super::access::Scope::Location(path) => path.clone(),
            super::access::Scope::Worker(name) => format!("worker:{name}"),
        };
        let requires: Vec<String> = rule.requires.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "access {scope}: {}", requires.join("; "));
    }
    if let Some(file) = &settings.auth_user_file {
        let _ = writeln!(out, "AuthUserFile: {}", file.display());
    }
    if !settings.status_users.is_empty() {
        let names: Vec<&str> = settings
            .status_users
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        let _ = writeln!(out, "status users: {}", names.join(","));
    }
}
