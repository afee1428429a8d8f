//! Typed worker settings: what `workers.properties` means once mod_jk's rules are applied.
//!
//! Every field holds the **effective** value mod_jk would use (defaults filled in, clamps
//! applied, deprecated aliases mapped). Time values are [`Duration`]s; the doc comment of
//! each says which unit the file uses for it, because mod_jk mixes seconds and
//! milliseconds (spec §0.1 item 1).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default AJP port of an `ajp13` worker.
pub const DEFAULT_AJP_PORT: u16 = 8009;
/// Default host of an `ajp13` worker.
pub const DEFAULT_AJP_HOST: &str = "localhost";
/// Default (and minimum) AJP packet size in bytes.
pub const DEFAULT_MAX_PACKET_SIZE: u32 = 8192;
/// Largest AJP packet size mod_jk accepts.
pub const MAX_MAX_PACKET_SIZE: u32 = 65536;
/// Default connection pool size per member: what one Tomcat AJP connector serves at once
/// (its `maxThreads` default, 200). mod_jk's default is per httpd child process
/// (`ThreadsPerChild`, 25 under Debian's event MPM), so httpd as a whole holds as many AJP
/// connections as it has request workers; jkgate is one process, and a per-member pool of
/// 25 would refuse what httpd + mod_jk serves. An explicit `connection_pool_size` is
/// honoured as the limit for the whole jkgate process.
pub const DEFAULT_CONNECTION_POOL_SIZE: u32 = 200;
/// Default `connection_acquire_timeout`: how long a request may wait in line for a
/// connection to its member. mod_jk's default (`retries × retry_interval`, 200 ms) bounds a
/// wait that hardly happens there, since each httpd thread has its own connection; in
/// jkgate the wait is where httpd's requests wait in the listen backlog, so it is as long
/// as a client is expected to wait. An explicit value is honoured.
pub const DEFAULT_CONNECTION_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `worker.maintain` interval.
pub const DEFAULT_MAINTAIN: Duration = Duration::from_secs(60);
/// Default for `ping_timeout`.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_millis(10_000);
/// Default for `retries` (ajp and lb).
pub const DEFAULT_RETRIES: u32 = 2;
/// Default for `retry_interval` (ajp and lb).
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_millis(100);
/// Default for the lb's `recover_time`.
pub const DEFAULT_RECOVER_TIME: Duration = Duration::from_secs(60);
/// Default session cookie name.
pub const DEFAULT_SESSION_COOKIE: &str = "JSESSIONID";
/// Default session path parameter (including the leading `;`).
pub const DEFAULT_SESSION_PATH: &str = ";jsessionid";
/// Default path of the routing cookie (mod_jk's code uses `/`; its manual says empty).
pub const DEFAULT_SESSION_COOKIE_PATH: &str = "/";
/// Longest name-like value (worker name, route, domain, host, ...) mod_jk can store.
pub const MAX_NAME_LEN: usize = 63;

/// The whole `workers.properties`, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkersConfig {
    /// `worker.list`: names of the top-level workers, in list order, each once (mod_jk
    /// builds a repeated name twice and keeps the second; the settings are identical).
    pub list: Vec<String>,
    /// `worker.maintain` (file unit: **seconds**, default 60). Zero disables maintenance.
    pub maintain: Duration,
    /// The top-level workers, in `worker.list` order.
    pub workers: Vec<Worker>,
}

impl WorkersConfig {
    /// The top-level worker called `name` (names are case-sensitive).
    pub fn get(&self, name: &str) -> Option<&Worker> {
        self.workers.iter().find(|w| w.name == name)
    }

    /// Every lb worker in `worker.list`.
    pub fn load_balancers(&self) -> impl Iterator<Item = (&str, &LbWorker)> {
        self.workers.iter().filter_map(|w| match &w.kind {
            WorkerKind::Lb(lb) => Some((w.name.as_str(), lb)),
            _ => None,
        })
    }
}

/// One top-level worker (named in `worker.list`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// Its name (case-sensitive, ≤ 63 bytes).
    pub name: String,
    /// `worker.<name>.mount`: URI patterns mapped to it (list, accumulates), in file order.
    pub mounts: Vec<String>,
    /// `true` when the name had no properties at all (mod_jk silently creates an ajp13
    /// worker on localhost:8009; jkgate warns).
    pub implicit: bool,
    /// Type and type-specific settings.
    pub kind: WorkerKind,
}

impl Worker {
    /// The `type` name as mod_jk spells it.
    pub fn type_name(&self) -> &'static str {
        self.kind.worker_type().as_str()
    }
}

/// Worker types jkgate supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerType {
    /// `ajp13`: one Tomcat connector.
    Ajp13,
    /// `lb`: a load balancer over ajp13 members.
    Lb,
    /// `status`: the status/management page.
    Status,
}

impl WorkerType {
    /// The spelling in workers.properties (exact, case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerType::Ajp13 => "ajp13",
            WorkerType::Lb => "lb",
            WorkerType::Status => "status",
        }
    }
}

/// Type-specific settings of a top-level worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerKind {
    /// A directly used ajp13 worker.
    Ajp13(AjpSettings),
    /// A load balancer.
    Lb(LbWorker),
    /// A status worker.
    Status(StatusSettings),
}

impl WorkerKind {
    /// The type of this worker.
    pub fn worker_type(&self) -> WorkerType {
        match self {
            WorkerKind::Ajp13(_) => WorkerType::Ajp13,
            WorkerKind::Lb(_) => WorkerType::Lb,
            WorkerKind::Status(_) => WorkerType::Status,
        }
    }
}

/// Connection settings of an `ajp13` worker (used directly or as an lb member), spec §2.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AjpSettings {
    /// `host` (default `localhost`): name or IP, resolved once at startup. Never split at
    /// `:` (mod_jk does not either, whatever its manual says).
    pub host: String,
    /// `port` (default 8009). 0 = "contact disabled" (an lb member is forced to STOPPED).
    pub port: u16,
    /// `source`: local address to bind before connecting; `None` when unset.
    pub source: Option<String>,
    /// `prefer_ipv6` (default false): pick IPv6 when the host has both families.
    pub prefer_ipv6: bool,
    /// `secret` (AJP attribute 0x0C). For lb members: the member's own, else the lb's.
    pub secret: Option<String>,
    /// `connection_pool_size` (deprecated alias `cachesize`), connections per worker.
    pub connection_pool_size: u32,
    /// `connection_pool_minsize` (default `(pool_size+1)/2`): idle closing stops here.
    pub connection_pool_minsize: u32,
    /// `connection_pool_timeout` (alias `cache_timeout`; file unit **seconds**, default 0 =
    /// never): close pooled connections idle longer than this (checked at maintenance).
    pub connection_pool_timeout: Duration,
    /// `connection_acquire_timeout` (file unit **ms**, default
    /// [`DEFAULT_CONNECTION_ACQUIRE_TIMEOUT`], not mod_jk's `retries × retry_interval`):
    /// how long a request waits, in arrival order, for a free pool slot. Zero fails at once.
    pub connection_acquire_timeout: Duration,
    /// `ping_mode` (letters C, P, I, A; default none).
    pub ping_mode: PingMode,
    /// `ping_timeout` (file unit **ms**, default 10000): CPong wait.
    pub ping_timeout: Duration,
    /// Effective `connect_timeout` (file unit **ms**, default 0): CPing after connect when
    /// non-zero; with `ping_mode` C and 0 in the file it becomes `ping_timeout`.
    pub connect_timeout: Duration,
    /// Effective `prepost_timeout` (file unit **ms**, default 0): CPing before each request
    /// on a reused connection; with `ping_mode` P and 0 it becomes `ping_timeout`.
    pub prepost_timeout: Duration,
    /// Effective `connection_ping_interval` (file unit **seconds**, default 0): CPing idle
    /// pooled connections at maintenance; with `ping_mode` I and 0 it becomes
    /// `ping_timeout_ms / 100` seconds.
    pub connection_ping_interval: Duration,
    /// `reply_timeout` (file unit **ms**, default 0 = wait forever): bound on **each**
    /// packet from Tomcat, not on the whole response.
    pub reply_timeout: Duration,
    /// `socket_timeout` (file unit **seconds**, default 0 = none): per read/write.
    pub socket_timeout: Duration,
    /// `socket_connect_timeout` (file unit **ms**, default `socket_timeout × 1000`):
    /// connect timeout; zero = the OS's blocking connect.
    pub socket_connect_timeout: Duration,
    /// `socket_keepalive` (default false): SO_KEEPALIVE on backend sockets.
    pub socket_keepalive: bool,
    /// `socket_buffer` (bytes, default 0 = OS default); a positive value below
    /// `max_packet_size` is raised to it.
    pub socket_buffer: u32,
    /// `max_packet_size` (bytes, default 8192): rounded up to a multiple of 1024, clamped to
    /// 8192..=65536. Must match Tomcat's `packetSize`.
    pub max_packet_size: u32,
    /// `retries` (default 2, values < 1 become 1): attempts on this same worker.
    pub retries: u32,
    /// `retry_interval` (file unit **ms**, default 100): sleep before each retry.
    pub retry_interval: Duration,
    /// `recovery_options` (bitmask, default 0).
    pub recovery_options: RecoveryOptions,
    /// `fail_on_status` (list, accumulates): statuses that count as failures.
    pub fail_on_status: FailOnStatus,
    /// `busy_limit` (requests, default 0 = off): refuse as "busy" above this concurrency.
    pub busy_limit: u32,
    /// `lb_retries` read on an ajp13 worker (default 2): mod_jk reads it and never uses it.
    pub lb_retries: u32,
}

impl Default for AjpSettings {
    fn default() -> Self {
        AjpSettings {
            host: DEFAULT_AJP_HOST.to_owned(),
            port: DEFAULT_AJP_PORT,
            source: None,
            prefer_ipv6: false,
            secret: None,
            connection_pool_size: DEFAULT_CONNECTION_POOL_SIZE,
            connection_pool_minsize: DEFAULT_CONNECTION_POOL_SIZE.div_ceil(2),
            connection_pool_timeout: Duration::ZERO,
            connection_acquire_timeout: DEFAULT_CONNECTION_ACQUIRE_TIMEOUT,
            ping_mode: PingMode::NONE,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            connect_timeout: Duration::ZERO,
            prepost_timeout: Duration::ZERO,
            connection_ping_interval: Duration::ZERO,
            reply_timeout: Duration::ZERO,
            socket_timeout: Duration::ZERO,
            socket_connect_timeout: Duration::ZERO,
            socket_keepalive: false,
            socket_buffer: 0,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            retries: DEFAULT_RETRIES,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            recovery_options: RecoveryOptions::default(),
            fail_on_status: FailOnStatus::default(),
            busy_limit: 0,
            lb_retries: DEFAULT_RETRIES,
        }
    }
}

/// An `lb` worker: balancer settings plus its members in `balance_workers` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbWorker {
    /// Balancer settings.
    pub settings: LbSettings,
    /// Members, in order (the order breaks ties, spec §3.5).
    pub members: Vec<LbMember>,
}

impl LbWorker {
    /// The member called `name` (names, not routes).
    pub fn member(&self, name: &str) -> Option<&LbMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member whose route is `route` (exact, case-sensitive).
    pub fn member_by_route(&self, route: &str) -> Option<&LbMember> {
        self.members.iter().find(|m| m.member.route == route)
    }
}

/// Balancer settings of an `lb` worker, spec §2.3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LbSettings {
    /// `sticky_session` (default true).
    pub sticky_session: bool,
    /// `sticky_session_force` (default false): fail instead of balancing elsewhere.
    pub sticky_session_force: bool,
    /// `method` (default Request).
    pub method: LbMethod,
    /// `lock` (default Optimistic); accepted and shown, equivalent in one process.
    pub lock: LbLock,
    /// `retries` (default 2, < 1 → 1): rounds over the members.
    pub retries: u32,
    /// `lb_retries` (default 2, < 1 → 1): members tried per round.
    pub lb_retries: u32,
    /// `retry_interval` (file unit **ms**, default 100): sleep between rounds.
    pub retry_interval: Duration,
    /// `recover_time` (file unit **seconds**, default 60, < 1 → 1): rest of an ERR member.
    pub recover_time: Duration,
    /// `error_escalation_time` (file unit **seconds**, default `recover_time / 2`).
    pub error_escalation_time: Duration,
    /// `max_reply_timeouts` (default 0): tolerated reply timeouts before ERR.
    pub max_reply_timeouts: u32,
    /// `secret`: given to every member without its own.
    pub secret: Option<String>,
    /// `session_cookie` (default `JSESSIONID`, case-sensitive).
    pub session_cookie: String,
    /// `session_path` (default `;jsessionid`, including the leading `;`).
    pub session_path: String,
    /// `set_session_cookie` (default false): emit a routing cookie.
    pub set_session_cookie: bool,
    /// `session_cookie_path` (default `/`): path of that cookie.
    pub session_cookie_path: String,
}

impl Default for LbSettings {
    fn default() -> Self {
        LbSettings {
            sticky_session: true,
            sticky_session_force: false,
            method: LbMethod::Request,
            lock: LbLock::Optimistic,
            retries: DEFAULT_RETRIES,
            lb_retries: DEFAULT_RETRIES,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            recover_time: DEFAULT_RECOVER_TIME,
            error_escalation_time: DEFAULT_RECOVER_TIME / 2,
            max_reply_timeouts: 0,
            secret: None,
            session_cookie: DEFAULT_SESSION_COOKIE.to_owned(),
            session_path: DEFAULT_SESSION_PATH.to_owned(),
            set_session_cookie: false,
            session_cookie_path: DEFAULT_SESSION_COOKIE_PATH.to_owned(),
        }
    }
}

/// One member of an lb: its own AJP settings plus the member attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbMember {
    /// Member worker name (from `balance_workers`).
    pub name: String,
    /// `true` when the name had no properties (mod_jk creates localhost:8009 silently).
    pub implicit: bool,
    /// Connection settings (secret already inherited from the lb when unset).
    pub ajp: AjpSettings,
    /// lb-member attributes.
    pub member: MemberSettings,
}

/// Member attributes of an lb member, spec §2.4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSettings {
    /// `lbfactor` (default 1, < 1 → 1): weight.
    pub lbfactor: u32,
    /// `distance` (default 0): preference group, lower preferred. Negative values are
    /// accepted from the file as in mod_jk.
    pub distance: i32,
    /// `route` (alias `jvm_route`; default: the member name). Must equal Tomcat's jvmRoute.
    pub route: String,
    /// `domain` (default: the route up to its first `.` if it has one, else empty).
    pub domain: String,
    /// `redirect` (default empty): **route** of the preferred failover member.
    pub redirect: String,
    /// Effective `activation` (`stopped=true` → Stopped, `disabled=true` → Disabled when
    /// `activation` is absent; port 0 forces Stopped).
    pub activation: Activation,
}

/// Settings of a `status` worker, spec §2.5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSettings {
    /// `css`: stylesheet URL for HTML pages.
    pub css: Option<String>,
    /// `prefix` (default `worker`): key prefix of `mime=prop` output.
    pub prefix: String,
    /// `ns` (default `jk:`): XML element prefix; `None` when the value starts with `-`.
    pub ns: Option<String>,
    /// `xmlns` (default `xmlns:jk="http://tomcat.apache.org"`); `None` when it starts with `-`.
    pub xmlns: Option<String>,
    /// `doctype`: line written after the XML declaration.
    pub doctype: Option<String>,
    /// `read_only` (default false): refuse edit/update/reset/recover.
    pub read_only: bool,
    /// `user` (list, accumulates): allowed user names; empty = anyone.
    pub users: Vec<String>,
    /// `user_case_insensitive` (default false).
    pub user_case_insensitive: bool,
    /// `good` (list; default `a.o,a.i,a.b,a.r`): rating rules, spec §5.6.
    pub good: Vec<String>,
    /// `bad` (list; default `e,s`): rating rules, spec §5.6.
    pub bad: Vec<String>,
}

impl Default for StatusSettings {
    fn default() -> Self {
        StatusSettings {
            css: None,
            prefix: "worker".to_owned(),
            ns: Some("jk:".to_owned()),
            xmlns: Some("xmlns:jk=\"http://tomcat.apache.org\"".to_owned()),
            doctype: None,
            read_only: false,
            users: Vec::new(),
            user_case_insensitive: false,
            good: ["a.o", "a.i", "a.b", "a.r"].map(str::to_owned).to_vec(),
            bad: ["e", "s"].map(str::to_owned).to_vec(),
        }
    }
}

/// Load-balancing method (`method`), spec §3.2.
///
/// mod_jk looks only at the first character, case-insensitive, digits accepted:
/// `R`/`0` Request, `T`/`1` Traffic, `B`/`2` Busyness, `S`/`3` Session(s), `N`/`4` Next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LbMethod {
    /// Count requests (default).
    #[default]
    Request,
    /// Count bytes transferred.
    Traffic,
    /// Count concurrent requests (never decayed).
    Busyness,
    /// Count new sessions.
    Session,
    /// Round-robin of new sessions.
    Next,
}

impl LbMethod {
    /// mod_jk's reading: by the first character; `None` when it is not recognised (mod_jk
    /// then silently uses the default, Request).
    pub fn from_modjk(value: &str) -> Option<Self> {
        match value.as_bytes().first()? {
            b'r' | b'R' | b'0' => Some(LbMethod::Request),
            b't' | b'T' | b'1' => Some(LbMethod::Traffic),
            b'b' | b'B' | b'2' => Some(LbMethod::Busyness),
            b's' | b'S' | b'3' => Some(LbMethod::Session),
            b'n' | b'N' | b'4' => Some(LbMethod::Next),
            _ => None,
        }
    }

    /// The name the status worker prints (`Sessions` for Session).
    pub fn status_name(self) -> &'static str {
        match self {
            LbMethod::Request => "Request",
            LbMethod::Traffic => "Traffic",
            LbMethod::Busyness => "Busyness",
            LbMethod::Session => "Sessions",
            LbMethod::Next => "Next",
        }
    }
}

/// Lock type (`lock`): `O`/`0` Optimistic, `P`/`1` Pessimistic (first character).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LbLock {
    /// Process-local lock (default).
    #[default]
    Optimistic,
    /// Shared-memory lock.
    Pessimistic,
}

impl LbLock {
    /// mod_jk's reading by the first character; `None` when unrecognised (→ Optimistic).
    pub fn from_modjk(value: &str) -> Option<Self> {
        match value.as_bytes().first()? {
            b'o' | b'O' | b'0' => Some(LbLock::Optimistic),
            b'p' | b'P' | b'1' => Some(LbLock::Pessimistic),
            _ => None,
        }
    }

    /// The name the status worker prints.
    pub fn status_name(self) -> &'static str {
        match self {
            LbLock::Optimistic => "Optimistic",
            LbLock::Pessimistic => "Pessimistic",
        }
    }
}

/// Member activation: `A`/`0` Active, `D`/`1` Disabled, `S`/`2` Stopped (first character).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// Normal balancing (default).
    #[default]
    Active,
    /// Only sticky requests for its own sessions (and redirect/failover).
    Disabled,
    /// No requests at all.
    Stopped,
}

impl Activation {
    /// mod_jk's reading by the first character; `None` when unrecognised (→ Active).
    pub fn from_modjk(value: &str) -> Option<Self> {
        match value.as_bytes().first()? {
            b'a' | b'A' | b'0' => Some(Activation::Active),
            b'd' | b'D' | b'1' => Some(Activation::Disabled),
            b's' | b'S' | b'2' => Some(Activation::Stopped),
            _ => None,
        }
    }

    /// The status worker's three-letter code: `ACT`, `DIS`, `STP` (also sent to Tomcat as
    /// `JK_LB_ACTIVATION`).
    pub fn status_name(self) -> &'static str {
        match self {
            Activation::Active => "ACT",
            Activation::Disabled => "DIS",
            Activation::Stopped => "STP",
        }
    }
}

/// `ping_mode`: which CPing checks are on. Letters `C` (after connect), `P` (before each
/// request), `I` (idle connections at maintenance), `A` (all); any case, any order, other
/// characters ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PingMode {
    /// `C`: CPing right after connecting.
    pub connect: bool,
    /// `P`: CPing before sending each request.
    pub prepost: bool,
    /// `I`: CPing idle pooled connections at maintenance.
    pub interval: bool,
}

impl PingMode {
    /// No CPing at all (the default).
    pub const NONE: PingMode = PingMode {
        connect: false,
        prepost: false,
        interval: false,
    };
    /// `A`: all three.
    pub const ALL: PingMode = PingMode {
        connect: true,
        prepost: true,
        interval: true,
    };

    /// mod_jk's reading: every C/P/I letter adds its flag, `A` sets all and stops.
    pub fn from_modjk(value: &str) -> Self {
        let mut mode = PingMode::NONE;
        for byte in value.bytes() {
            match byte {
                b'c' | b'C' => mode.connect = true,
                b'p' | b'P' => mode.prepost = true,
                b'i' | b'I' => mode.interval = true,
                b'a' | b'A' => return PingMode::ALL,
                _ => {}
            }
        }
        mode
    }

    /// The flags as letters (`CPI` order), empty for none.
    pub fn letters(self) -> String {
        let mut out = String::new();
        if self.connect {
            out.push('C');
        }
        if self.prepost {
            out.push('P');
        }
        if self.interval {
            out.push('I');
        }
        out
    }
}

/// `recovery_options` bitmask, spec §4.7.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecoveryOptions(pub u32);

impl RecoveryOptions {
    /// Bit value 1: don't recover once Tomcat may have received the request.
    pub const ABORT_IF_REQUEST_SENT: u32 = 1;
    /// Bit value 2: don't recover after response headers reached the client.
    pub const ABORT_IF_HEADERS_SENT: u32 = 2;
    /// Bit value 4: close the backend connection hard on a client read/write error.
    pub const CLOSE_ON_CLIENT_ERROR: u32 = 4;
    /// Bit value 8: HEAD stays recoverable despite bit 1.
    pub const ALWAYS_RECOVER_HEAD: u32 = 8;
    /// Bit value 16: GET stays recoverable despite bit 1 (only when bit 8 is **not** set).
    pub const ALWAYS_RECOVER_GET: u32 = 16;

    /// Whether a read error or reply timeout **before** the response headers were passed
    /// on may be retried, for request `method` (mod_jk's `else if`: with 8 set, 16 is never
    /// consulted, so 24 rescues only HEAD).
    pub fn recoverable_before_headers(self, method: &str) -> bool {
        if self.0 & Self::ABORT_IF_REQUEST_SENT == 0 {
            return true;
        }
        if self.0 & Self::ALWAYS_RECOVER_HEAD != 0 {
            method == "HEAD"
        } else if self.0 & Self::ALWAYS_RECOVER_GET != 0 {
            method == "GET"
        } else {
            false
        }
    }

    /// Whether a failure **after** the response headers reached the client may be retried.
    pub fn recoverable_after_headers(self) -> bool {
        self.0 & Self::ABORT_IF_HEADERS_SENT == 0
    }

    /// Whether to close the backend connection hard after a client error.
    pub fn close_on_client_error(self) -> bool {
        self.0 & Self::CLOSE_ON_CLIENT_ERROR != 0
    }
}

/// `fail_on_status`: response statuses treated as failures; negative entries are "soft"
/// (member stays OK), positive ones "hard" (member goes ERR). Entries are kept in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailOnStatus(pub Vec<i32>);

/// How a `fail_on_status` hit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusFailure {
    /// Positive entry: the member goes to global ERR.
    Hard,
    /// Negative entry: failover, the member stays OK.
    Soft,
}

impl FailOnStatus {
    /// Whether `status` is listed, and how (first matching entry wins).
    pub fn classify(&self, status: u16) -> Option<StatusFailure> {
        let status = i32::from(status);
        self.0.iter().find_map(|&entry| {
            if entry > 0 && entry == status {
                Some(StatusFailure::Hard)
            } else if entry < 0 && -entry == status {
                Some(StatusFailure::Soft)
            } else {
                None
            }
        })
    }

    /// `true` when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The list as mod_jk's status worker prints it: comma-separated.
    pub fn to_list_string(&self) -> String {
        self.0
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}
