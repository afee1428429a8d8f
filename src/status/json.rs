//! `mime=json` (jkgate's own): the records of `mime=prop`, with the same key names, as one
//! JSON document a script can parse without scraping text. docs/status-json.md describes
//! every field.
//!
//! Where `prop` has quirks kept from mod_jk (a member's reset and error times written under
//! the lb's name, keys with spaces), the document puts each value where it belongs: on the
//! member, under `error_time`. Booleans are JSON booleans, numbers JSON numbers; states and
//! activations keep mod_jk's names (`OK/IDLE`, `ACT`).

use serde::{Deserialize, Serialize};

use super::clock::{text_time, tz};
use super::format::Format;
use super::model::{
    AjpConf, AjpView, ErrorTime, Header, LbView, MapView, MemberView, RouteView, Traffic,
};

/// The whole answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDocument {
    /// The server record (absent for the answer of an action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Server>,
    /// Time record (`list`, `show`, `version`, `dump`, `route`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Software record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<Software>,
    /// The configuration generation record (jkgate's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigRecord>,
    /// How many lb workers `list` shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lb_count: Option<usize>,
    /// The lb workers shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balancers: Vec<Balancer>,
    /// How many plain ajp13 workers `list` shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ajp_count: Option<usize>,
    /// The plain ajp13 workers shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ajp_workers: Vec<AjpWorker>,
    /// `dump`: the workers.properties keys and values, in file order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump: Option<Vec<DumpEntry>>,
    /// `route`: where a session id would go now, per lb.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteView>,
    /// The result record (always there).
    pub result: ResultRecord,
}

/// `server_name`, `server_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// The request's host name.
    pub name: String,
    /// The port the request came in on.
    pub port: u16,
}

/// `time_datetime`, `time_tz`, `time_unix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Time {
    /// Local time, `YYYYMMDDhhmmss`.
    pub datetime: String,
    /// Local offset, `+hhmm`.
    pub tz: String,
    /// Unix seconds.
    pub unix: u64,
}

/// `web_server`, `jk_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Software {
    /// jkgate's product string.
    pub web_server: String,
    /// The same (mod_jk's version slot).
    pub jk_version: String,
}

/// `config_generation`, `config_loaded`, `config_reload`, `config_reload_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRecord {
    /// 1 at start, +1 per successful reload.
    pub generation: u64,
    /// When it was loaded, Unix seconds.
    pub loaded: u64,
    /// `OK` or `ERROR` (the last reload failed).
    pub reload: String,
    /// Why the last reload failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
}

/// The connection settings of an ajp13 worker or member (prop's keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conf {
    /// `host` as configured.
    pub host: String,
    /// `port`.
    pub port: u16,
    /// Resolved `ip:port` (`invalid` for port 0).
    pub address: String,
    /// `source` or `undefined`.
    pub source: String,
    /// Seconds.
    pub connection_pool_timeout: u64,
    /// Milliseconds.
    pub ping_timeout: u64,
    /// Milliseconds.
    pub connect_timeout: u64,
    /// Milliseconds.
    pub prepost_timeout: u64,
    /// Milliseconds.
    pub reply_timeout: u64,
    /// Attempts per request on this worker.
    pub retries: u32,
    /// Seconds.
    pub connection_ping_interval: u64,
    /// Bit mask.
    pub recovery_options: u32,
    /// 0: none.
    pub busy_limit: u32,
    /// Bytes.
    pub max_packet_size: u32,
}

impl From<&AjpConf> for Conf {
    fn from(c: &AjpConf) -> Self {
        Conf {
            host: c.host.clone(),
            port: c.port,
            address: c.address.clone(),
            source: c.source.clone(),
            connection_pool_timeout: c.connection_pool_timeout,
            ping_timeout: c.ping_timeout,
            connect_timeout: c.connect_timeout,
            prepost_timeout: c.prepost_timeout,
            reply_timeout: c.reply_timeout,
            retries: c.retries,
            connection_ping_interval: c.connection_ping_interval,
            recovery_options: c.recovery_options,
            busy_limit: c.busy_limit,
            max_packet_size: c.max_packet_size,
        }
    }
}

/// The traffic counters (prop's keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficRecord {
    /// Requests that failed because of the client.
    pub client_errors: u64,
    /// Reply timeouts.
    pub reply_timeouts: u64,
    /// AJP bytes sent to the backend.
    pub transferred: u64,
    /// AJP bytes read from the backend.
    pub read: u64,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight.
    pub max_busy: u64,
    /// Open connections.
    pub connected: u64,
    /// Most open connections.
    pub max_connected: u64,
}

impl From<&Traffic> for TrafficRecord {
    fn from(t: &Traffic) -> Self {
        TrafficRecord {
            client_errors: t.client_errors,
            reply_timeouts: t.reply_timeouts,
            transferred: t.transferred,
            read: t.read,
            busy: t.busy,
            max_busy: t.max_busy,
            connected: t.connected,
            max_connected: t.max_connected,
        }
    }
}

/// prop's `error_time_*` keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRecord {
    /// Local time, `YYYYMMDDhhmmss`.
    pub datetime: String,
    /// Local offset.
    pub tz: String,
    /// Unix seconds.
    pub unix: u64,
    /// Seconds ago.
    pub ago: u64,
}

fn error_record(error: Option<ErrorTime>) -> Option<ErrorRecord> {
    error.map(|e| ErrorRecord {
        datetime: text_time(e.at),
        tz: tz(e.at),
        unix: e.at,
        ago: e.ago,
    })
}

/// One lb worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Balancer {
    /// Name.
    pub name: String,
    /// Always `lb`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sticky_session`.
    pub sticky_session: bool,
    /// `sticky_session_force`.
    pub sticky_session_force: bool,
    /// `retries`.
    pub retries: u32,
    /// Seconds.
    pub recover_time: u64,
    /// Seconds.
    pub error_escalation_time: u64,
    /// `max_reply_timeouts`.
    pub max_reply_timeouts: u64,
    /// `Request`, `Session`, `Next`, `Traffic`, `Busyness`.
    pub method: String,
    /// `Optimistic` or `Pessimistic`.
    pub lock: String,
    /// Members.
    pub member_count: usize,
    /// Members rated good.
    pub good: usize,
    /// Members rated degraded.
    pub degraded: usize,
    /// Members rated bad.
    pub bad: usize,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight.
    pub max_busy: u64,
    /// Mount rules naming it.
    pub map_count: usize,
    /// Seconds.
    pub time_to_maintenance_min: u64,
    /// Seconds.
    pub time_to_maintenance_max: u64,
    /// Unix seconds.
    pub last_reset_at: u64,
    /// Seconds.
    pub last_reset_ago: u64,
    /// Its members (all, or the one `sw` names).
    #[serde(default)]
    pub members: Vec<Member>,
    /// Its mount rules.
    #[serde(default)]
    pub maps: Vec<Map>,
}

/// One lb member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Member worker name.
    pub name: String,
    /// Always `ajp13`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Connection settings.
    #[serde(flatten)]
    pub conf: Conf,
    /// `ACT`, `DIS`, `STP`.
    pub activation: String,
    /// `lbfactor`.
    pub lbfactor: u64,
    /// `route`.
    pub route: String,
    /// `redirect`.
    pub redirect: String,
    /// `domain`.
    pub domain: String,
    /// `distance`.
    pub distance: i64,
    /// mod_jk's run-time state (`OK/IDLE`, `OK`, `ERR`, ...).
    pub state: String,
    /// jkgate's application health check: `N/A`, `UP` or `DOWN`.
    pub health: String,
    /// `lbmult`.
    pub lbmult: u64,
    /// `lbvalue`.
    pub lbvalue: u64,
    /// Attempts started.
    pub elected: u64,
    /// Requests without a session id.
    pub sessions: u64,
    /// Member errors.
    pub errors: u64,
    /// Traffic counters.
    #[serde(flatten)]
    pub traffic: TrafficRecord,
    /// Seconds.
    pub time_to_recover_min: u64,
    /// Seconds.
    pub time_to_recover_max: u64,
    /// Unix seconds.
    pub last_reset_at: u64,
    /// Seconds.
    pub last_reset_ago: u64,
    /// Start of the current error episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_time: Option<ErrorRecord>,
}

/// One plain ajp13 worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AjpWorker {
    /// Name.
    pub name: String,
    /// Always `ajp13`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Connection settings.
    #[serde(flatten)]
    pub conf: Conf,
    /// Requests served or tried.
    pub used: u64,
    /// Failed requests.
    pub errors: u64,
    /// Traffic counters.
    #[serde(flatten)]
    pub traffic: TrafficRecord,
    /// Mount rules naming it.
    pub map_count: usize,
    /// Unix seconds.
    pub last_reset_at: u64,
    /// Seconds.
    pub last_reset_ago: u64,
    /// The last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_time: Option<ErrorRecord>,
    /// Its mount rules.
    #[serde(default)]
    pub maps: Vec<Map>,
}

/// One mount rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Map {
    /// 1-based number under its worker.
    pub id: usize,
    /// Server name.
    pub server: String,
    /// Pattern.
    pub uri: String,
    /// `Exact`/`Wildchar` with `Disabled `/`Unmount ` prefixes.
    #[serde(rename = "type")]
    pub kind: String,
    /// `worker definition`, `JkMount` or `uriworkermap`.
    pub source: String,
    /// Milliseconds, -1 when unset.
    pub reply_timeout: i64,
    /// `sticky_ignore`.
    pub sticky_ignore: bool,
    /// `stateless`.
    pub stateless: bool,
    /// Comma-separated statuses.
    pub fail_on_status: String,
    /// Member names.
    pub active: String,
    /// Member names.
    pub disabled: String,
    /// Member names.
    pub stopped: String,
    /// 0: off.
    pub use_server_errors: u16,
}

impl From<&MapView> for Map {
    fn from(m: &MapView) -> Self {
        Map {
            id: m.id,
            server: m.server.clone(),
            uri: m.uri.clone(),
            kind: m.kind.clone(),
            source: m.source.clone(),
            reply_timeout: m.reply_timeout,
            sticky_ignore: m.sticky_ignore,
            stateless: m.stateless,
            fail_on_status: m.fail_on_status.clone(),
            active: m.active.clone(),
            disabled: m.disabled.clone(),
            stopped: m.stopped.clone(),
            use_server_errors: m.use_server_errors,
        }
    }
}

/// One `dump` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpEntry {
    /// The workers.properties key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// `OK` with "Action finished", or `ERROR` with the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRecord {
    /// `OK` or `ERROR`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message.
    pub message: String,
}

/// Which list the last worker went to (its mount rules follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    None,
    Lb,
    Ajp,
}

/// The JSON writer.
#[derive(Debug)]
pub struct Json {
    doc: StatusDocument,
    last: Last,
}

impl Json {
    /// An empty document.
    pub fn new() -> Self {
        Json {
            doc: StatusDocument::default(),
            last: Last::None,
        }
    }
}

impl Default for Json {
    fn default() -> Self {
        Json::new()
    }
}

/// A member as JSON.
pub fn member_record(m: &MemberView) -> Member {
    Member {
        name: m.name.clone(),
        kind: "ajp13".to_owned(),
        conf: Conf::from(&m.conf),
        activation: m.activation.status_name().to_owned(),
        lbfactor: m.lbfactor,
        route: m.route.clone(),
        redirect: m.redirect.clone(),
        domain: m.domain.clone(),
        distance: m.distance,
        state: m.state.status_name().to_owned(),
        health: m.health.status_name().to_owned(),
        lbmult: m.lb_mult,
        lbvalue: m.lb_value,
        elected: m.elected,
        sessions: m.sessions,
        errors: m.errors,
        traffic: TrafficRecord::from(&m.traffic),
        time_to_recover_min: m.time_to_recover_min,
        time_to_recover_max: m.time_to_recover_max,
        last_reset_at: m.last_reset_at,
        last_reset_ago: m.last_reset_ago,
        error_time: error_record(m.error),
    }
}

impl Format for Json {
    fn begin(&mut self) {}

    fn server(&mut self, header: &Header) {
        self.doc.server = Some(Server {
            name: header.server_name.clone(),
            port: header.server_port,
        });
    }

    fn head(&mut self, header: &Header) {
        self.doc.time = Some(Time {
            datetime: text_time(header.now),
            tz: tz(header.now),
            unix: header.now,
        });
        self.doc.software = Some(Software {
            web_server: header.web_server.clone(),
            jk_version: header.jk_version.clone(),
        });
        self.doc.config = Some(ConfigRecord {
            generation: header.config_generation,
            loaded: header.config_loaded,
            reload: if header.reload_error.is_some() {
                "ERROR"
            } else {
                "OK"
            }
            .to_owned(),
            reload_error: header.reload_error.clone(),
        });
    }

    fn lb_list_start(&mut self, count: usize) {
        self.doc.lb_count = Some(count);
    }

    fn lb_list_end(&mut self) {}

    fn lb_start(&mut self, lb: &LbView) {
        self.last = Last::Lb;
        self.doc.balancers.push(Balancer {
            name: lb.name.clone(),
            kind: "lb".to_owned(),
            sticky_session: lb.sticky_session,
            sticky_session_force: lb.sticky_session_force,
            retries: lb.retries,
            recover_time: lb.recover_time,
            error_escalation_time: lb.error_escalation_time,
            max_reply_timeouts: lb.max_reply_timeouts,
            method: lb.method.status_name().to_owned(),
            lock: lb.lock.status_name().to_owned(),
            member_count: lb.member_count,
            good: lb.good,
            degraded: lb.degraded,
            bad: lb.bad,
            busy: lb.busy,
            max_busy: lb.max_busy,
            map_count: lb.map_count,
            time_to_maintenance_min: lb.time_to_maintenance_min,
            time_to_maintenance_max: lb.time_to_maintenance_max,
            last_reset_at: lb.last_reset_at,
            last_reset_ago: lb.last_reset_ago,
            members: Vec::new(),
            maps: Vec::new(),
        });
    }

    fn member(&mut self, _lb: &LbView, m: &MemberView) {
        if let Some(lb) = self.doc.balancers.last_mut() {
            lb.members.push(member_record(m));
        }
    }

    fn lb_end(&mut self, _lb: &LbView) {}

    fn ajp_list_start(&mut self, count: usize) {
        self.doc.ajp_count = Some(count);
    }

    fn ajp_list_end(&mut self) {}

    fn ajp(&mut self, a: &AjpView) {
        self.last = Last::Ajp;
        self.doc.ajp_workers.push(AjpWorker {
            name: a.name.clone(),
            kind: "ajp13".to_owned(),
            conf: Conf::from(&a.conf),
            used: a.used,
            errors: a.errors,
            traffic: TrafficRecord::from(&a.traffic),
            map_count: a.map_count,
            last_reset_at: a.last_reset_at,
            last_reset_ago: a.last_reset_ago,
            error_time: error_record(a.error),
            maps: Vec::new(),
        });
    }

    fn map(&mut self, _worker: &str, m: &MapView) {
        let maps = match self.last {
            Last::Lb => self.doc.balancers.last_mut().map(|lb| &mut lb.maps),
            Last::Ajp => self.doc.ajp_workers.last_mut().map(|a| &mut a.maps),
            Last::None => None,
        };
        if let Some(maps) = maps {
            maps.push(Map::from(m));
        }
    }

    fn dump(&mut self, pairs: &[(String, String)]) {
        self.doc.dump = Some(
            pairs
                .iter()
                .map(|(key, value)| DumpEntry {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        );
    }

    fn route(&mut self, route: &RouteView) {
        self.doc.routes.push(route.clone());
    }

    fn result(&mut self, error: Option<&str>) {
        let (kind, message) = super::format::result_of(error);
        self.doc.result = ResultRecord {
            kind: kind.to_owned(),
            message: message.to_owned(),
        };
    }

    fn finish(self: Box<Self>) -> String {
        // Plain data (strings, numbers, booleans): serialising cannot fail.
        let mut out = serde_json::to_string_pretty(&self.doc).unwrap_or_default();
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_is_a_result_only() {
        let mut out: Box<dyn Format> = Box::new(Json::new());
        out.begin();
        out.result(Some("Invalid command."));
        let text = out.finish();
        let doc: StatusDocument = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(doc.result.kind, "ERROR");
        assert_eq!(doc.result.message, "Invalid command.");
        assert!(doc.server.is_none() && doc.balancers.is_empty());
        let again = serde_json::to_string_pretty(&doc).expect("serialises") + "\n";
        assert_eq!(again, text);
    }
}
