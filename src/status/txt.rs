//! `mime=txt`: one record per line, `Key: k=v k=v …`, with mod_jk's quoting (member
//! route/redirect/domain, every map value but `id`, the software string and the result
//! message are quoted).

use std::fmt::Write as _;

use super::clock::{text_time, tz};
use super::format::{Format, boolean};
use super::model::{
    AjpConf, AjpView, ErrorTime, Header, LbView, MapView, MemberView, RouteView, Traffic,
};

/// The text writer.
#[derive(Debug, Default)]
pub struct Txt {
    out: String,
}

impl Txt {
    /// An empty document.
    pub fn new() -> Self {
        Txt::default()
    }

    fn conf(&mut self, conf: &AjpConf) {
        let _ = write!(
            self.out,
            " host={} port={} address={} source={} connection_pool_timeout={} ping_timeout={} \
             connect_timeout={} prepost_timeout={} reply_timeout={} retries={} \
             connection_ping_interval={} recovery_options={} busy_limit={} max_packet_size={}",
            conf.host,
            conf.port,
            conf.address,
            conf.source,
            conf.connection_pool_timeout,
            conf.ping_timeout,
            conf.connect_timeout,
            conf.prepost_timeout,
            conf.reply_timeout,
            conf.retries,
            conf.connection_ping_interval,
            conf.recovery_options,
            conf.busy_limit,
            conf.max_packet_size
        );
    }

    fn traffic(&mut self, t: &Traffic) {
        let _ = write!(
            self.out,
            " client_errors={} reply_timeouts={} transferred={} read={} busy={} max_busy={} \
             connected={} max_connected={}",
            t.client_errors,
            t.reply_timeouts,
            t.transferred,
            t.read,
            t.busy,
            t.max_busy,
            t.connected,
            t.max_connected
        );
    }

    fn tail(&mut self, reset_at: u64, reset_ago: u64, error: Option<ErrorTime>) {
        let _ = write!(
            self.out,
            " last_reset_at={reset_at} last_reset_ago={reset_ago}"
        );
        if let Some(error) = error {
            let _ = write!(
                self.out,
                " error_time_datetime={} error_time_tz={} error_time_unix_seconds={} error_time_ago={}",
                text_time(error.at),
                tz(error.at),
                error.at,
                error.ago
            );
        }
        self.out.push('\n');
    }
}

impl Format for Txt {
    fn begin(&mut self) {}

    fn server(&mut self, header: &Header) {
        let _ = writeln!(
            self.out,
            "Server: name={} port={}",
            header.server_name, header.server_port
        );
    }

    fn head(&mut self, header: &Header) {
        let _ = writeln!(
            self.out,
            "Time: datetime={} tz={} unix={}",
            text_time(header.now),
            tz(header.now),
            header.now
        );
        let _ = writeln!(
            self.out,
            "Software: web_server=\"{}\" jk_version={}",
            header.web_server, header.jk_version
        );
        let _ = writeln!(
            self.out,
            "Config Generation: number={} loaded={} reload={}",
            header.config_generation,
            header.config_loaded,
            match &header.reload_error {
                None => "OK".to_owned(),
                Some(error) => format!("ERROR error=\"{}\"", error.replace('\n', " ")),
            }
        );
    }

    fn lb_list_start(&mut self, count: usize) {
        let _ = writeln!(self.out, "Balancer Workers: count={count}");
    }

    fn lb_list_end(&mut self) {}

    fn lb_start(&mut self, lb: &LbView) {
        let _ = writeln!(
            self.out,
            "Balancer Worker: name={} type=lb sticky_session={} sticky_session_force={} retries={} \
             recover_time={} error_escalation_time={} max_reply_timeouts={} method={} lock={} \
             member_count={} good={} degraded={} bad={} busy={} max_busy={} map_count={} \
             time_to_maintenance_min={} time_to_maintenance_max={} last_reset_at={} last_reset_ago={}",
            lb.name,
            boolean(lb.sticky_session),
            boolean(lb.sticky_session_force),
            lb.retries,
            lb.recover_time,
            lb.error_escalation_time,
            lb.max_reply_timeouts,
            lb.method.status_name(),
            lb.lock.status_name(),
            lb.member_count,
            lb.good,
            lb.degraded,
            lb.bad,
            lb.busy,
            lb.max_busy,
            lb.map_count,
            lb.time_to_maintenance_min,
            lb.time_to_maintenance_max,
            lb.last_reset_at,
            lb.last_reset_ago
        );
    }

    fn member(&mut self, _lb: &LbView, m: &MemberView) {
        let _ = write!(self.out, "Member: name={} type=ajp13", m.name);
        self.conf(&m.conf);
        let _ = write!(
            self.out,
            " activation={} lbfactor={} route=\"{}\" redirect=\"{}\" domain=\"{}\" distance={} \
             state={} health={} lbmult={} lbvalue={} elected={} sessions={} errors={}",
            m.activation.status_name(),
            m.lbfactor,
            m.route,
            m.redirect,
            m.domain,
            m.distance,
            m.state.status_name(),
            m.health.status_name(),
            m.lb_mult,
            m.lb_value,
            m.elected,
            m.sessions,
            m.errors
        );
        self.traffic(&m.traffic);
        let _ = write!(
            self.out,
            " time_to_recover_min={} time_to_recover_max={}",
            m.time_to_recover_min, m.time_to_recover_max
        );
        self.tail(m.last_reset_at, m.last_reset_ago, m.error);
    }

    fn lb_end(&mut self, _lb: &LbView) {}

    fn ajp_list_start(&mut self, count: usize) {
        let _ = writeln!(self.out, "AJP Workers: count={count}");
    }

    fn ajp_list_end(&mut self) {}

    fn ajp(&mut self, a: &AjpView) {
        let _ = write!(self.out, "AJP Worker: name={} type=ajp13", a.name);
        self.conf(&a.conf);
        let _ = write!(self.out, " used={} errors={}", a.used, a.errors);
        self.traffic(&a.traffic);
        let _ = write!(self.out, " map_count={}", a.map_count);
        self.tail(a.last_reset_at, a.last_reset_ago, a.error);
    }

    fn map(&mut self, _worker: &str, m: &MapView) {
        let _ = writeln!(
            self.out,
            "Map: id={} server=\"{}\" uri=\"{}\" type=\"{}\" source=\"{}\" reply_timeout=\"{}\" \
             sticky_ignore=\"{}\" stateless=\"{}\" fail_on_status=\"{}\" active=\"{}\" \
             disabled=\"{}\" stopped=\"{}\" use_server_errors=\"{}\"",
            m.id,
            m.server,
            m.uri,
            m.kind,
            m.source,
            m.reply_timeout,
            u8::from(m.sticky_ignore),
            u8::from(m.stateless),
            m.fail_on_status,
            m.active,
            m.disabled,
            m.stopped,
            m.use_server_errors
        );
    }

    fn dump(&mut self, pairs: &[(String, String)]) {
        self.out.push_str("Configuration:\n");
        for (key, value) in pairs {
            let _ = writeln!(self.out, "{key}={value}");
        }
    }

    fn route(&mut self, r: &RouteView) {
        let _ = writeln!(
            self.out,
            "Route: lb={} session_id=\"{}\" session_route=\"{}\" member=\"{}\" route=\"{}\" \
             sent_route=\"{}\" state=\"{}\" activation=\"{}\" health=\"{}\" sticky={} reason={} \
             why=\"{}\"",
            r.lb,
            r.session_id,
            r.session_route,
            r.member,
            r.route,
            r.sent_route,
            r.state,
            r.activation,
            r.health,
            boolean(r.sticky),
            r.reason,
            r.why
        );
    }

    fn result(&mut self, error: Option<&str>) {
        let (kind, message) = super::format::result_of(error);
        let _ = writeln!(self.out, "Result: type={kind} message=\"{message}\"");
    }

    fn finish(self: Box<Self>) -> String {
        self.out
    }
}
