//! `mime=xml`: mod_jk's layout — every attribute on its own line, elements prefixed with
//! the worker's `ns` (default `jk:`), the root carrying its `xmlns` (mod_jk.md §5.7).
//! Attribute values are escaped (`&`, `<`, `>`, `"`), which mod_jk does not do.

use std::fmt::Display;
use std::fmt::Write as _;

use super::clock::{text_time, tz};
use super::format::{Format, boolean};
use super::model::{
    AjpConf, AjpView, ErrorTime, Header, LbView, MapView, MemberView, RouteView, Traffic,
};

/// The XML writer.
#[derive(Debug)]
pub struct Xml {
    ns: String,
    xmlns: Option<String>,
    doctype: Option<String>,
    out: String,
}

/// Escapes text for an XML/HTML attribute value or element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

impl Xml {
    /// A writer with the status worker's `ns`, `xmlns` and `doctype`.
    pub fn new(ns: Option<&str>, xmlns: Option<&str>, doctype: Option<&str>) -> Self {
        Xml {
            ns: ns.unwrap_or_default().to_owned(),
            xmlns: xmlns.filter(|x| !x.is_empty()).map(str::to_owned),
            doctype: doctype.map(str::to_owned),
            out: String::new(),
        }
    }

    fn start(&mut self, indent: usize, name: &str) {
        let _ = writeln!(self.out, "{:indent$}<{}{name}", "", self.ns);
    }

    fn att(&mut self, indent: usize, key: &str, value: impl Display) {
        let value = escape(&value.to_string());
        let _ = writeln!(self.out, "{:indent$}{key}=\"{value}\"", "");
    }

    /// `/>` (empty element) or `>` (element with children) at `indent`.
    fn stop(&mut self, indent: usize, empty: bool) {
        let end = if empty { "/>" } else { ">" };
        let _ = writeln!(self.out, "{:indent$}{end}", "");
    }

    fn close(&mut self, indent: usize, name: &str) {
        let _ = writeln!(self.out, "{:indent$}</{}{name}>", "", self.ns);
    }

    fn conf(&mut self, i: usize, c: &AjpConf) {
        self.att(i, "host", &c.host);
        self.att(i, "port", c.port);
        self.att(i, "address", &c.address);
        self.att(i, "source", &c.source);
        self.att(i, "connection_pool_timeout", c.connection_pool_timeout);
        self.att(i, "ping_timeout", c.ping_timeout);
        self.att(i, "connect_timeout", c.connect_timeout);
        self.att(i, "prepost_timeout", c.prepost_timeout);
        self.att(i, "reply_timeout", c.reply_timeout);
        // XML lists the ping interval before the retries (txt and prop after).
        self.att(i, "connection_ping_interval", c.connection_ping_interval);
        self.att(i, "retries", c.retries);
        self.att(i, "recovery_options", c.recovery_options);
        self.att(i, "busy_limit", c.busy_limit);
        self.att(i, "max_packet_size", c.max_packet_size);
    }

    fn traffic(&mut self, i: usize, t: &Traffic) {
        self.att(i, "client_errors", t.client_errors);
        self.att(i, "reply_timeouts", t.reply_timeouts);
        self.att(i, "transferred", t.transferred);
        self.att(i, "read", t.read);
        self.att(i, "busy", t.busy);
        self.att(i, "max_busy", t.max_busy);
        self.att(i, "connected", t.connected);
        self.att(i, "max_connected", t.max_connected);
    }

    fn tail(&mut self, i: usize, reset_at: u64, reset_ago: u64, error: Option<ErrorTime>) {
        self.att(i, "last_reset_at", reset_at);
        self.att(i, "last_reset_ago", reset_ago);
        if let Some(error) = error {
            self.att(i, "error_time_datetime", text_time(error.at));
            self.att(i, "error_time_tz", tz(error.at));
            self.att(i, "error_time_unix_seconds", error.at);
            self.att(i, "error_time_ago", error.ago);
        }
    }
}

impl Format for Xml {
    fn begin(&mut self) {
        self.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n");
        if let Some(doctype) = &self.doctype {
            let _ = writeln!(self.out, "{doctype}");
        }
        self.start(0, "status");
        if let Some(xmlns) = &self.xmlns {
            let _ = write!(self.out, "  {xmlns}");
        }
        self.stop(0, false);
    }

    fn server(&mut self, header: &Header) {
        self.start(0, "server");
        self.att(2, "name", &header.server_name);
        self.att(2, "port", header.server_port);
        self.stop(0, true);
    }

    fn head(&mut self, header: &Header) {
        self.start(0, "time");
        self.att(2, "datetime", text_time(header.now));
        self.att(2, "tz", tz(header.now));
        self.att(2, "unix", header.now);
        self.stop(0, true);
        self.start(0, "software");
        self.att(2, "web_server", &header.web_server);
        self.att(2, "jk_version", &header.jk_version);
        self.stop(0, true);
        self.start(0, "generation");
        self.att(2, "number", header.config_generation);
        self.att(2, "loaded", header.config_loaded);
        self.att(
            2,
            "reload",
            if header.reload_error.is_some() {
                "ERROR"
            } else {
                "OK"
            },
        );
        if let Some(error) = &header.reload_error {
            self.att(2, "reload_error", error.replace('\n', " "));
        }
        self.stop(0, true);
    }

    fn lb_list_start(&mut self, count: usize) {
        self.start(0, "balancers");
        self.att(2, "count", count);
        self.stop(0, false);
    }

    fn lb_list_end(&mut self) {
        self.close(0, "balancers");
    }

    fn lb_start(&mut self, lb: &LbView) {
        self.start(2, "balancer");
        self.att(4, "name", &lb.name);
        self.att(4, "type", "lb");
        self.att(4, "sticky_session", boolean(lb.sticky_session));
        self.att(4, "sticky_session_force", boolean(lb.sticky_session_force));
        self.att(4, "retries", lb.retries);
        self.att(4, "recover_time", lb.recover_time);
        self.att(4, "error_escalation_time", lb.error_escalation_time);
        self.att(4, "max_reply_timeouts", lb.max_reply_timeouts);
        self.att(4, "method", lb.method.status_name());
        self.att(4, "lock", lb.lock.status_name());
        self.att(4, "member_count", lb.member_count);
        self.att(4, "good", lb.good);
        self.att(4, "degraded", lb.degraded);
        self.att(4, "bad", lb.bad);
        self.att(4, "busy", lb.busy);
        self.att(4, "max_busy", lb.max_busy);
        self.att(4, "map_count", lb.map_count);
        self.att(4, "time_to_maintenance_min", lb.time_to_maintenance_min);
        self.att(4, "time_to_maintenance_max", lb.time_to_maintenance_max);
        self.att(4, "last_reset_at", lb.last_reset_at);
        self.att(4, "last_reset_ago", lb.last_reset_ago);
        self.stop(2, false);
    }

    fn member(&mut self, _lb: &LbView, m: &MemberView) {
        self.start(6, "member");
        self.att(8, "name", &m.name);
        self.att(8, "type", "ajp13");
        self.conf(8, &m.conf);
        self.att(8, "activation", m.activation.status_name());
        self.att(8, "lbfactor", m.lbfactor);
        self.att(8, "route", &m.route);
        self.att(8, "redirect", &m.redirect);
        self.att(8, "domain", &m.domain);
        self.att(8, "distance", m.distance);
        self.att(8, "state", m.state.status_name());
        self.att(8, "health", m.health.status_name());
        self.att(8, "lbmult", m.lb_mult);
        self.att(8, "lbvalue", m.lb_value);
        self.att(8, "elected", m.elected);
        self.att(8, "sessions", m.sessions);
        self.att(8, "errors", m.errors);
        self.traffic(8, &m.traffic);
        self.att(8, "time_to_recover_min", m.time_to_recover_min);
        self.att(8, "time_to_recover_max", m.time_to_recover_max);
        self.tail(8, m.last_reset_at, m.last_reset_ago, m.error);
        self.stop(6, true);
    }

    fn lb_end(&mut self, _lb: &LbView) {
        self.close(2, "balancer");
    }

    fn ajp_list_start(&mut self, count: usize) {
        self.start(0, "ajp_workers");
        self.att(2, "count", count);
        self.stop(0, false);
    }

    fn ajp_list_end(&mut self) {
        self.close(0, "ajp_workers");
    }

    fn ajp(&mut self, a: &AjpView) {
        self.start(2, "ajp");
        self.att(4, "name", &a.name);
        self.att(4, "type", "ajp13");
        self.conf(4, &a.conf);
        self.att(4, "used", a.used);
        self.att(4, "errors", a.errors);
        self.traffic(4, &a.traffic);
        self.att(4, "map_count", a.map_count);
        self.tail(4, a.last_reset_at, a.last_reset_ago, a.error);
        self.stop(2, true);
    }

    fn map(&mut self, _worker: &str, m: &MapView) {
        self.start(6, "map");
        self.att(8, "id", m.id);
        self.att(8, "server", &m.server);
        self.att(8, "uri", &m.uri);
        self.att(8, "type", &m.kind);
        self.att(8, "source", &m.source);
        self.att(8, "reply_timeout", m.reply_timeout);
        self.att(8, "sticky_ignore", u8::from(m.sticky_ignore));
        self.att(8, "stateless", u8::from(m.stateless));
        self.att(8, "fail_on_status", &m.fail_on_status);
        self.att(8, "active", &m.active);
        self.att(8, "disabled", &m.disabled);
        self.att(8, "stopped", &m.stopped);
        self.att(8, "use_server_errors", m.use_server_errors);
        self.stop(6, true);
    }

    fn dump(&mut self, pairs: &[(String, String)]) {
        self.start(2, "configuration");
        for (key, value) in pairs {
            self.att(4, &escape(key), value);
        }
        self.stop(2, true);
    }

    fn route(&mut self, r: &RouteView) {
        self.start(2, "route");
        self.att(4, "lb", &r.lb);
        self.att(4, "session_id", &r.session_id);
        self.att(4, "session_route", &r.session_route);
        self.att(4, "member", &r.member);
        self.att(4, "route", &r.route);
        self.att(4, "sent_route", &r.sent_route);
        self.att(4, "state", &r.state);
        self.att(4, "activation", &r.activation);
        self.att(4, "health", &r.health);
        self.att(4, "sticky", boolean(r.sticky));
        self.att(4, "reason", &r.reason);
        self.att(4, "why", &r.why);
        self.stop(2, true);
    }

    fn result(&mut self, error: Option<&str>) {
        let (kind, message) = super::format::result_of(error);
        self.start(2, "result");
        self.att(4, "type", kind);
        self.att(4, "message", message);
        self.stop(2, true);
    }

    fn finish(mut self: Box<Self>) -> String {
        self.close(0, "status");
        self.out
    }
}
