//! `mime=prop`: Java-properties style `<prefix>.<worker>.<key>=<value>` lines, with
//! mod_jk's quirks kept byte for byte (mod_jk.md §5.7): `list` / `balance_workers`
//! repeat once per worker / member; a member's `last_reset_*` and `error_time_*` keys are
//! written under the **lb**'s name; the error keys are spelled `error_time_unix seconds`
//! and `error_time_ago seconds`; a plain ajp worker is introduced by
//! `<prefix>.<name>.list=<name>`.

use std::fmt::Display;
use std::fmt::Write as _;

use super::clock::{text_time, tz};
use super::format::{Format, boolean};
use super::model::{
    AjpConf, AjpView, ErrorTime, Header, LbView, MapView, MemberView, RouteView, Traffic,
};

/// The properties writer.
#[derive(Debug)]
pub struct Prop {
    prefix: String,
    out: String,
}

impl Prop {
    /// An empty document with key prefix `prefix` (the status worker's `prefix`).
    pub fn new(prefix: &str) -> Self {
        Prop {
            prefix: prefix.to_owned(),
            out: String::new(),
        }
    }

    /// `<prefix>.<key>=<value>`.
    fn top(&mut self, key: &str, value: impl Display) {
        let _ = writeln!(self.out, "{}.{key}={value}", self.prefix);
    }

    /// `<prefix>.<name>.<key>=<value>`.
    fn att(&mut self, name: &str, key: &str, value: impl Display) {
        let _ = writeln!(self.out, "{}.{name}.{key}={value}", self.prefix);
    }

    fn conf(&mut self, name: &str, c: &AjpConf) {
        self.att(name, "host", &c.host);
        self.att(name, "port", c.port);
        self.att(name, "address", &c.address);
        self.att(name, "source", &c.source);
        self.att(name, "connection_pool_timeout", c.connection_pool_timeout);
        self.att(name, "ping_timeout", c.ping_timeout);
        self.att(name, "connect_timeout", c.connect_timeout);
        self.att(name, "prepost_timeout", c.prepost_timeout);
        self.att(name, "reply_timeout", c.reply_timeout);
        self.att(name, "retries", c.retries);
        self.att(name, "connection_ping_interval", c.connection_ping_interval);
        self.att(name, "recovery_options", c.recovery_options);
        self.att(name, "busy_limit", c.busy_limit);
        self.att(name, "max_packet_size", c.max_packet_size);
    }

    fn traffic(&mut self, name: &str, t: &Traffic) {
        self.att(name, "client_errors", t.client_errors);
        self.att(name, "reply_timeouts", t.reply_timeouts);
        self.att(name, "transferred", t.transferred);
        self.att(name, "read", t.read);
        self.att(name, "busy", t.busy);
        self.att(name, "max_busy", t.max_busy);
        self.att(name, "connected", t.connected);
        self.att(name, "max_connected", t.max_connected);
    }

    fn tail(&mut self, name: &str, reset_at: u64, reset_ago: u64, error: Option<ErrorTime>) {
        self.att(name, "last_reset_at", reset_at);
        self.att(name, "last_reset_ago", reset_ago);
        if let Some(error) = error {
            self.att(name, "error_time_datetime", text_time(error.at));
            self.att(name, "error_time_tz", tz(error.at));
            self.att(name, "error_time_unix seconds", error.at);
            self.att(name, "error_time_ago seconds", error.ago);
        }
    }
}

impl Format for Prop {
    fn begin(&mut self) {}

    fn server(&mut self, header: &Header) {
        self.top("server_name", &header.server_name);
        self.top("server_port", header.server_port);
    }

    fn head(&mut self, header: &Header) {
        self.top("time_datetime", text_time(header.now));
        self.top("time_tz", tz(header.now));
        self.top("time_unix", header.now);
        self.top("web_server", &header.web_server);
        self.top("jk_version", &header.jk_version);
        // jkgate's own keys (mod_jk has no reload to report on).
        self.top("config_generation", header.config_generation);
        self.top("config_loaded", header.config_loaded);
        match &header.reload_error {
            None => self.top("config_reload", "OK"),
            Some(error) => {
                self.top("config_reload", "ERROR");
                self.top("config_reload_error", error.replace('\n', " "));
            }
        }
    }

    fn lb_list_start(&mut self, count: usize) {
        self.top("lb_count", count);
    }

    fn lb_list_end(&mut self) {}

    fn lb_start(&mut self, lb: &LbView) {
        let n = lb.name.as_str();
        self.top("list", n);
        self.att(n, "type", "lb");
        self.att(n, "sticky_session", boolean(lb.sticky_session));
        self.att(n, "sticky_session_force", boolean(lb.sticky_session_force));
        self.att(n, "retries", lb.retries);
        self.att(n, "recover_time", lb.recover_time);
        self.att(n, "error_escalation_time", lb.error_escalation_time);
        self.att(n, "max_reply_timeouts", lb.max_reply_timeouts);
        self.att(n, "method", lb.method.status_name());
        self.att(n, "lock", lb.lock.status_name());
        self.att(n, "member_count", lb.member_count);
        self.att(n, "good", lb.good);
        self.att(n, "degraded", lb.degraded);
        self.att(n, "bad", lb.bad);
        self.att(n, "busy", lb.busy);
        self.att(n, "max_busy", lb.max_busy);
        self.att(n, "map_count", lb.map_count);
        self.att(n, "time_to_maintenance_min", lb.time_to_maintenance_min);
        self.att(n, "time_to_maintenance_max", lb.time_to_maintenance_max);
        self.att(n, "last_reset_at", lb.last_reset_at);
        self.att(n, "last_reset_ago", lb.last_reset_ago);
    }

    fn member(&mut self, lb: &LbView, m: &MemberView) {
        let n = m.name.as_str();
        self.att(&lb.name, "balance_workers", n);
        self.att(n, "type", "ajp13");
        self.conf(n, &m.conf);
        self.att(n, "activation", m.activation.status_name());
        self.att(n, "lbfactor", m.lbfactor);
        self.att(n, "route", &m.route);
        self.att(n, "redirect", &m.redirect);
        self.att(n, "domain", &m.domain);
        self.att(n, "distance", m.distance);
        self.att(n, "state", m.state.status_name());
        // jkgate's own key (the application health check).
        self.att(n, "health", m.health.status_name());
        self.att(n, "lbmult", m.lb_mult);
        self.att(n, "lbvalue", m.lb_value);
        self.att(n, "elected", m.elected);
        self.att(n, "sessions", m.sessions);
        self.att(n, "errors", m.errors);
        self.traffic(n, &m.traffic);
        self.att(n, "time_to_recover_min", m.time_to_recover_min);
        self.att(n, "time_to_recover_max", m.time_to_recover_max);
        // mod_jk writes these under the lb's name.
        self.tail(&lb.name, m.last_reset_at, m.last_reset_ago, m.error);
    }

    fn lb_end(&mut self, _lb: &LbView) {}

    fn ajp_list_start(&mut self, count: usize) {
        self.top("ajp_count", count);
    }

    fn ajp_list_end(&mut self) {}

    fn ajp(&mut self, a: &AjpView) {
        let n = a.name.as_str();
        self.att(n, "list", n);
        self.att(n, "type", "ajp13");
        self.conf(n, &a.conf);
        self.att(n, "used", a.used);
        self.att(n, "errors", a.errors);
        self.traffic(n, &a.traffic);
        self.att(n, "map_count", a.map_count);
        self.tail(n, a.last_reset_at, a.last_reset_ago, a.error);
    }

    fn map(&mut self, worker: &str, m: &MapView) {
        let p = format!("{worker}.map.{}", m.id);
        self.att(&p, "server", &m.server);
        self.att(&p, "uri", &m.uri);
        self.att(&p, "type", &m.kind);
        self.att(&p, "source", &m.source);
        self.att(&p, "reply_timeout", m.reply_timeout);
        self.att(&p, "sticky_ignore", u8::from(m.sticky_ignore));
        self.att(&p, "stateless", u8::from(m.stateless));
        self.att(&p, "fail_on_status", &m.fail_on_status);
        self.att(&p, "active", &m.active);
        self.att(&p, "disabled", &m.disabled);
        self.att(&p, "stopped", &m.stopped);
        self.att(&p, "use_server_errors", m.use_server_errors);
    }

    fn dump(&mut self, pairs: &[(String, String)]) {
        for (key, value) in pairs {
            let _ = writeln!(self.out, "{key}={value}");
        }
    }

    fn route(&mut self, r: &RouteView) {
        let p = format!("route.{}", r.lb);
        self.att(&p, "session_id", &r.session_id);
        self.att(&p, "session_route", &r.session_route);
        self.att(&p, "member", &r.member);
        self.att(&p, "route", &r.route);
        self.att(&p, "sent_route", &r.sent_route);
        self.att(&p, "state", &r.state);
        self.att(&p, "activation", &r.activation);
        self.att(&p, "health", &r.health);
        self.att(&p, "sticky", boolean(r.sticky));
        self.att(&p, "reason", &r.reason);
        self.att(&p, "why", &r.why);
    }

    fn result(&mut self, error: Option<&str>) {
        let (kind, message) = super::format::result_of(error);
        self.att("result", "type", kind);
        self.att("result", "message", message);
    }

    fn finish(self: Box<Self>) -> String {
        self.out
    }
}
