//! From the property map to typed [`WorkersConfig`]: defaults, clamps, deprecated aliases,
//! implicit workers and the cross-checks (spec §1.6–§1.9, §2).

use std::path::Path;
use std::time::Duration;

use super::error::{ConfigError, ConfigWarning, Origin};
use super::properties::{DuplicateMode, EnvLookup, Property, PropertyMap, process_env};
use super::value::{
    VALID_BOOLEANS, parse_bool, parse_int, parse_int_1_2_48, parse_int_list, split_list,
};
use super::workers::*;

/// A read `workers.properties`: the typed configuration plus what it was made from.
#[derive(Clone, Debug)]
pub struct WorkersFile {
    /// The resolved workers.
    pub config: WorkersConfig,
    /// The property map after merging and reference resolution (the status worker's
    /// `cmd=dump` shows it).
    pub properties: PropertyMap,
    /// Everything mod_jk would accept but an operator should know about.
    pub warnings: Vec<ConfigWarning>,
}

/// Reads a `workers.properties` file from disk (`$(name)` falls back to the environment).
pub fn load_workers_properties(path: &Path) -> Result<WorkersFile, ConfigError> {
    load_workers_properties_seeded(path, &[])
}

/// Like [`load_workers_properties`], with keys stored before the file is read (mod_jk
/// pre-seeds `ServerRoot`; a file's own keys are merged with them per the usual rules).
pub fn load_workers_properties_seeded(
    path: &Path,
    seed: &[(&str, &str)],
) -> Result<WorkersFile, ConfigError> {
    let content = std::fs::read(path).map_err(|source| ConfigError::Io {
        what: "workers file",
        path: path.to_owned(),
        source,
    })?;
    read_workers_properties_seeded(&content, &path.display().to_string(), &process_env, seed)
}

/// Reads content with pre-seeded keys (see [`load_workers_properties_seeded`]).
pub fn read_workers_properties_seeded(
    content: &[u8],
    file: &str,
    env: EnvLookup<'_>,
    seed: &[(&str, &str)],
) -> Result<WorkersFile, ConfigError> {
    let mut map = PropertyMap::new();
    for (key, value) in seed {
        map.put(Property {
            key: (*key).to_owned(),
            value: (*value).to_owned(),
            origin: Origin::new("<preset>", 0),
            inherited_from: None,
        });
    }
    map.read(content, file, DuplicateMode::Merge, env)?;
    map.resolve_references()?;
    resolve_workers(map)
}

/// Reads `workers.properties` content. `file` names it in messages; `env` resolves
/// `$(name)` references that no earlier key defines.
pub fn read_workers_properties(
    content: &[u8],
    file: &str,
    env: EnvLookup<'_>,
) -> Result<WorkersFile, ConfigError> {
    let mut map = PropertyMap::new();
    map.read(content, file, DuplicateMode::Merge, env)?;
    map.resolve_references()?;
    resolve_workers(map)
}

/// Builds the typed configuration from an already read and reference-resolved map.
pub fn resolve_workers(mut map: PropertyMap) -> Result<WorkersFile, ConfigError> {
    let mut warnings = std::mem::take(&mut map.warnings);
    let mut resolver = Resolver {
        map: &map,
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let config = resolver.workers_config();
    resolver.refuse_unexpanded_variables();
    warnings.append(&mut resolver.warnings);
    if let Some(error) = ConfigError::from_list(std::mem::take(&mut resolver.errors)) {
        return Err(error);
    }
    Ok(WorkersFile {
        config,
        properties: map,
        warnings,
    })
}

struct Resolver<'a> {
    map: &'a PropertyMap,
    warnings: Vec<ConfigWarning>,
    errors: Vec<ConfigError>,
}

fn key_of(worker: &str, directive: &str) -> String {
    format!("worker.{worker}.{directive}")
}

impl<'a> Resolver<'a> {
    fn property(&self, worker: &str, directive: &str) -> Option<&'a Property> {
        self.map.get(&key_of(worker, directive))
    }

    fn warn(&mut self, property: Option<&Property>, key: String, message: String) {
        self.warnings.push(ConfigWarning {
            origin: property.map(|p| p.origin.clone()),
            key,
            message,
        });
    }

    /// An integer directive: mod_jk 1.2.49+ parsing, default when absent or unparsable.
    fn int_key(&mut self, key: &str, default: i64) -> i64 {
        let Some(property) = self.map.get(key) else {
            return default;
        };
        let old = parse_int_1_2_48(&property.value);
        match parse_int(&property.value) {
            Some(value) => {
                if value != old {
                    self.warn(
                        Some(property),
                        key.to_owned(),
                        format!(
                            "`{}` is read as {value} (mod_jk 1.2.49+ rules, used by jkgate); mod_jk 1.2.48 read it as {old}",
                            property.value
                        ),
                    );
                }
                value
            }
            None => {
                self.warn(
                    Some(property),
                    key.to_owned(),
                    format!(
                        "`{}` is not an integer (digits, optionally followed by k or M); using the default {default} as mod_jk 1.2.49+ does (1.2.48 used {old})",
                        property.value
                    ),
                );
                default
            }
        }
    }

    fn int(&mut self, worker: &str, directive: &str, default: i64) -> i64 {
        self.int_key(&key_of(worker, directive), default)
    }

    /// A non-negative count; negative values become `floor` with a warning.
    fn count(&mut self, worker: &str, directive: &str, default: i64, floor: i64) -> u32 {
        let value = self.int(worker, directive, default);
        if value < floor {
            let property = self.property(worker, directive);
            self.warn(
                property,
                key_of(worker, directive),
                format!("{value} is below the minimum {floor}; using {floor} as mod_jk does"),
            );
            return floor as u32;
        }
        value as u32
    }

    /// A duration in `unit_ms` milliseconds per file unit; negative → zero with a warning.
    fn duration(&mut self, worker: &str, directive: &str, default: i64, unit_ms: u64) -> Duration {
        let value = self.int(worker, directive, default);
        self.duration_from_raw(worker, directive, value, unit_ms)
    }

    fn duration_from_raw(
        &mut self,
        worker: &str,
        directive: &str,
        value: i64,
        unit_ms: u64,
    ) -> Duration {
        if value < 0 {
            let property = self.property(worker, directive);
            self.warn(
                property,
                key_of(worker, directive),
                format!("negative value {value} is treated as 0 (off)"),
            );
            return Duration::ZERO;
        }
        Duration::from_millis(value as u64 * unit_ms)
    }

    fn boolean(&mut self, worker: &str, directive: &str, default: bool) -> bool {
        let Some(property) = self.property(worker, directive) else {
            return default;
        };
        match parse_bool(&property.value) {
            Some(value) => value,
            None => {
                self.warn(
                    Some(property),
                    property.key.clone(),
                    format!(
                        "`{}` is not a boolean; using the default {default} as mod_jk does; valid: {VALID_BOOLEANS}",
                        property.value
                    ),
                );
                default
            }
        }
    }

    fn string(&mut self, worker: &str, directive: &str) -> Option<String> {
        self.property(worker, directive).map(|p| p.value.clone())
    }

    /// A name-like string limited to 63 bytes.
    fn name_string(&mut self, worker: &str, directive: &str) -> Option<String> {
        let property = self.property(worker, directive)?;
        self.check_len(
            Some(property.origin.clone()),
            &property.key,
            &property.value,
        );
        Some(property.value.clone())
    }

    fn check_len(&mut self, origin: Option<Origin>, key: &str, value: &str) {
        if value.len() > MAX_NAME_LEN {
            self.errors.push(ConfigError::TooLong {
                origin,
                key: key.to_owned(),
                value: value.to_owned(),
                len: value.len(),
            });
        }
    }

    fn list(&mut self, worker: &str, directive: &str) -> Option<Vec<String>> {
        self.property(worker, directive)
            .map(|p| split_list(&p.value))
    }

    fn has_any_property(&self, worker: &str) -> bool {
        let prefix = format!("worker.{worker}.");
        self.map.iter().any(|p| p.key.starts_with(&prefix))
    }

    fn workers_config(&mut self) -> WorkersConfig {
        let list = match self.map.get("worker.list") {
            Some(property) => {
                let names = split_list(&property.value);
                let mut unique: Vec<String> = Vec::new();
                for name in names {
                    if unique.contains(&name) {
                        self.warn(
                            Some(property),
                            "worker.list".to_owned(),
                            format!("worker `{name}` is listed more than once; it is built once"),
                        );
                    } else {
                        unique.push(name);
                    }
                }
                if unique.is_empty() {
                    self.warn(
                        Some(property),
                        "worker.list".to_owned(),
                        "the list is empty: no worker can be mounted".to_owned(),
                    );
                }
                unique
            }
            None => {
                self.warnings.push(ConfigWarning {
                    origin: None,
                    key: "worker.list".to_owned(),
                    message: "not set; as in mod_jk the only top-level worker is `ajp13`"
                        .to_owned(),
                });
                vec!["ajp13".to_owned()]
            }
        };
        let maintain_secs = self.int_key("worker.maintain", DEFAULT_MAINTAIN.as_secs() as i64);
        let maintain = Duration::from_secs(maintain_secs.max(0) as u64);
        if maintain_secs < 0 {
            let property = self.map.get("worker.maintain");
            self.warn(
                property,
                "worker.maintain".to_owned(),
                format!(
                    "negative value {maintain_secs} is treated as 0 (maintenance off) as in mod_jk"
                ),
            );
        }
        let mut workers = Vec::new();
        for name in &list {
            if let Some(worker) = self.top_level_worker(name) {
                workers.push(worker);
            }
        }
        WorkersConfig {
            list,
            maintain,
            workers,
        }
    }

    fn worker_type(&mut self, name: &str) -> Option<WorkerType> {
        let Some(property) = self.property(name, "type") else {
            return Some(WorkerType::Ajp13);
        };
        let (value, origin) = (property.value.clone(), property.origin.clone());
        match value.as_str() {
            "ajp13" => Some(WorkerType::Ajp13),
            "lb" => Some(WorkerType::Lb),
            "status" => Some(WorkerType::Status),
            other => {
                let reason = match other {
                    "ajp14" => "is not supported by jkgate (experimental in mod_jk; use ajp13)",
                    "ajp12" => "is not supported by jkgate (obsolete; use ajp13)",
                    _ if ["ajp13", "lb", "status"]
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(other)) =>
                    {
                        "is unknown (mod_jk compares types case-sensitively)"
                    }
                    _ => "is unknown",
                };
                self.errors.push(ConfigError::BadWorkerType {
                    origin: Some(origin),
                    worker: name.to_owned(),
                    value,
                    reason,
                });
                None
            }
        }
    }

    fn top_level_worker(&mut self, name: &str) -> Option<Worker> {
        self.check_len(None, "worker name", name);
        let implicit = !self.has_any_property(name);
        if implicit {
            self.warnings.push(ConfigWarning {
                origin: self.map.get("worker.list").map(|p| p.origin.clone()),
                key: "worker.list".to_owned(),
                message: format!(
                    "worker `{name}` has no properties; it becomes an ajp13 worker on localhost:8009 as in mod_jk (a typo?)"
                ),
            });
        }
        let kind = match self.worker_type(name)? {
            WorkerType::Ajp13 => WorkerKind::Ajp13(self.ajp_settings(name, None)),
            WorkerType::Lb => WorkerKind::Lb(self.lb_worker(name)?),
            WorkerType::Status => WorkerKind::Status(self.status_settings(name)),
        };
        let mounts = self.list(name, "mount").unwrap_or_default();
        Some(Worker {
            name: name.to_owned(),
            mounts,
            implicit,
            kind,
        })
    }

    fn ajp_settings(&mut self, name: &str, lb_secret: Option<&str>) -> AjpSettings {
        let d = AjpSettings::default();
        let host = self.name_string(name, "host").unwrap_or(d.host);
        let port_raw = self.int(name, "port", i64::from(DEFAULT_AJP_PORT));
        let port = if port_raw <= 0 {
            if port_raw < 0 {
                let property = self.property(name, "port");
                self.warn(
                    property,
                    key_of(name, "port"),
                    format!("port {port_raw} disables contact as port 0 does (mod_jk: port ≤ 0)"),
                );
            }
            0
        } else if port_raw > 65535 {
            let property = self.property(name, "port");
            self.errors.push(ConfigError::OutOfRange {
                origin: property.map(|p| p.origin.clone()),
                key: key_of(name, "port"),
                value: port_raw.to_string(),
                problem: "not a TCP port".to_owned(),
                valid: "0..=65535 (0 disables the worker)",
            });
            0
        } else {
            port_raw as u16
        };
        let source = self.name_string(name, "source");
        let prefer_ipv6 = self.boolean(name, "prefer_ipv6", false);
        let secret = self
            .string(name, "secret")
            .or_else(|| lb_secret.map(str::to_owned));

        let pool_raw = self.int(name, "connection_pool_size", -1);
        let pool_raw = if pool_raw >= 0 {
            pool_raw
        } else {
            self.int(name, "cachesize", i64::from(DEFAULT_CONNECTION_POOL_SIZE))
        };
        let connection_pool_size = if pool_raw < 1 {
            let property = self
                .property(name, "connection_pool_size")
                .or_else(|| self.property(name, "cachesize"));
            self.warn(
                property,
                key_of(name, "connection_pool_size"),
                format!("{pool_raw} connections cannot serve a request; using 1"),
            );
            1
        } else {
            pool_raw.min(i64::from(u32::MAX)) as u32
        };
        let minsize_raw = self.int(
            name,
            "connection_pool_minsize",
            i64::from(connection_pool_size.div_ceil(2)),
        );
        let connection_pool_minsize = minsize_raw.clamp(0, i64::from(connection_pool_size)) as u32;
        if i64::from(connection_pool_minsize) != minsize_raw {
            let property = self.property(name, "connection_pool_minsize");
            self.warn(
                property,
                key_of(name, "connection_pool_minsize"),
                format!("{minsize_raw} is outside 0..={connection_pool_size} (the pool size); using {connection_pool_minsize}"),
            );
        }
        let pool_timeout_raw = self.int(name, "connection_pool_timeout", -1);
        let connection_pool_timeout = if pool_timeout_raw >= 0 {
            Duration::from_secs(pool_timeout_raw as u64)
        } else {
            self.duration(name, "cache_timeout", 0, 1000)
        };
        let retries_raw = self.int(name, "retries", i64::from(DEFAULT_RETRIES));
        let retry_interval_raw = self.int(
            name,
            "retry_interval",
            DEFAULT_RETRY_INTERVAL.as_millis() as i64,
        );
        let retry_interval = self.duration_from_raw(name, "retry_interval", retry_interval_raw, 1);
        // Not mod_jk's `retries × retry_interval`: see DEFAULT_CONNECTION_ACQUIRE_TIMEOUT.
        let connection_acquire_timeout = self.duration(
            name,
            "connection_acquire_timeout",
            DEFAULT_CONNECTION_ACQUIRE_TIMEOUT.as_millis() as i64,
            1,
        );
        let ping_mode = self
            .string(name, "ping_mode")
            .map(|v| PingMode::from_modjk(&v))
            .unwrap_or(PingMode::NONE);
        let ping_timeout_raw = self.int(
            name,
            "ping_timeout",
            DEFAULT_PING_TIMEOUT.as_millis() as i64,
        );
        let ping_timeout = self.duration_from_raw(name, "ping_timeout", ping_timeout_raw, 1);
        let mut connect_timeout = self.duration(name, "connect_timeout", 0, 1);
        if ping_mode.connect && connect_timeout.is_zero() {
            connect_timeout = ping_timeout;
        }
        let mut prepost_timeout = self.duration(name, "prepost_timeout", 0, 1);
        if ping_mode.prepost && prepost_timeout.is_zero() {
            prepost_timeout = ping_timeout;
        }
        let mut connection_ping_interval = self.duration(name, "connection_ping_interval", 0, 1000);
        if ping_mode.interval && connection_ping_interval.is_zero() {
            connection_ping_interval = Duration::from_secs((ping_timeout_raw.max(0) / 100) as u64);
        }
        let reply_timeout = self.duration(name, "reply_timeout", 0, 1);
        let socket_timeout_raw = self.int(name, "socket_timeout", 0);
        let socket_timeout =
            self.duration_from_raw(name, "socket_timeout", socket_timeout_raw, 1000);
        let socket_connect_timeout = self.duration(
            name,
            "socket_connect_timeout",
            socket_timeout_raw.saturating_mul(1000).max(0),
            1,
        );
        let socket_keepalive = self.boolean(name, "socket_keepalive", false);
        let packet_raw = self.int(name, "max_packet_size", i64::from(DEFAULT_MAX_PACKET_SIZE));
        let aligned = (packet_raw + 1023).div_euclid(1024) * 1024;
        let max_packet_size = aligned.clamp(
            i64::from(DEFAULT_MAX_PACKET_SIZE),
            i64::from(MAX_MAX_PACKET_SIZE),
        ) as u32;
        if i64::from(max_packet_size) != packet_raw
            && self.property(name, "max_packet_size").is_some()
        {
            let property = self.property(name, "max_packet_size");
            self.warn(
                property,
                key_of(name, "max_packet_size"),
                format!("{packet_raw} becomes {max_packet_size} (rounded up to a multiple of 1024, then clamped to 8192..=65536 as mod_jk does)"),
            );
        }
        let socket_buffer_raw = self.int(name, "socket_buffer", 0).max(0);
        let socket_buffer =
            if socket_buffer_raw > 0 && socket_buffer_raw < i64::from(max_packet_size) {
                max_packet_size
            } else {
                socket_buffer_raw.min(i64::from(u32::MAX)) as u32
            };
        let retries = if retries_raw < 1 {
            let property = self.property(name, "retries");
            self.warn(
                property,
                key_of(name, "retries"),
                format!("{retries_raw} is below 1; using 1 as mod_jk does"),
            );
            1
        } else {
            retries_raw as u32
        };
        let recovery_options = RecoveryOptions(self.count(name, "recovery_options", 0, 0));
        let fail_on_status = FailOnStatus(
            self.property(name, "fail_on_status")
                .map(|p| parse_int_list(&p.value))
                .unwrap_or_default(),
        );
        let busy_limit = self.count(name, "busy_limit", 0, 0);
        let lb_retries = self
            .int(name, "lb_retries", i64::from(DEFAULT_RETRIES))
            .max(1) as u32;
        AjpSettings {
            host,
            port,
            source,
            prefer_ipv6,
            secret,
            connection_pool_size,
            connection_pool_minsize,
            connection_pool_timeout,
            connection_acquire_timeout,
            ping_mode,
            ping_timeout,
            connect_timeout,
            prepost_timeout,
            connection_ping_interval,
            reply_timeout,
            socket_timeout,
            socket_connect_timeout,
            socket_keepalive,
            socket_buffer,
            max_packet_size,
            retries,
            retry_interval,
            recovery_options,
            fail_on_status,
            busy_limit,
            lb_retries,
        }
    }

    fn lb_settings(&mut self, name: &str) -> LbSettings {
        let d = LbSettings::default();
        let method = match self.property(name, "method") {
            None => d.method,
            Some(property) => LbMethod::from_modjk(&property.value).unwrap_or_else(|| {
                self.warn(
                    Some(property),
                    property.key.clone(),
                    format!("unknown method `{}`; using Request as mod_jk does; valid: R(equest), T(raffic), B(usyness), S(ession), N(ext) or 0-4", property.value),
                );
                d.method
            }),
        };
        let lock = match self.property(name, "lock") {
            None => d.lock,
            Some(property) => LbLock::from_modjk(&property.value).unwrap_or_else(|| {
                self.warn(
                    Some(property),
                    property.key.clone(),
                    format!("unknown lock `{}`; using Optimistic as mod_jk does; valid: O(ptimistic), P(essimistic) or 0/1", property.value),
                );
                d.lock
            }),
        };
        let recover_raw = self.int(name, "recover_time", d.recover_time.as_secs() as i64);
        let recover_secs = if recover_raw < 1 {
            let property = self.property(name, "recover_time");
            self.warn(
                property,
                key_of(name, "recover_time"),
                format!("{recover_raw} is below 1; using 1 as mod_jk does"),
            );
            1
        } else {
            recover_raw
        };
        LbSettings {
            sticky_session: self.boolean(name, "sticky_session", d.sticky_session),
            sticky_session_force: self.boolean(
                name,
                "sticky_session_force",
                d.sticky_session_force,
            ),
            method,
            lock,
            retries: self.count(name, "retries", i64::from(d.retries), 1),
            lb_retries: self.count(name, "lb_retries", i64::from(d.lb_retries), 1),
            retry_interval: self.duration(
                name,
                "retry_interval",
                d.retry_interval.as_millis() as i64,
                1,
            ),
            recover_time: Duration::from_secs(recover_secs as u64),
            error_escalation_time: self.duration(
                name,
                "error_escalation_time",
                recover_secs / 2,
                1000,
            ),
            max_reply_timeouts: self.count(name, "max_reply_timeouts", 0, 0),
            secret: self.string(name, "secret"),
            session_cookie: self
                .name_string(name, "session_cookie")
                .unwrap_or(d.session_cookie),
            session_path: self
                .name_string(name, "session_path")
                .unwrap_or(d.session_path),
            set_session_cookie: self.boolean(name, "set_session_cookie", d.set_session_cookie),
            session_cookie_path: self
                .name_string(name, "session_cookie_path")
                .unwrap_or(d.session_cookie_path),
        }
    }

    fn lb_worker(&mut self, name: &str) -> Option<LbWorker> {
        let settings = self.lb_settings(name);
        let members_property = self
            .property(name, "balance_workers")
            .or_else(|| self.property(name, "balanced_workers"));
        let member_names = members_property
            .map(|p| split_list(&p.value))
            .unwrap_or_default();
        let lb_origin = members_property
            .or_else(|| self.property(name, "type"))
            .map(|p| p.origin.clone());
        if member_names.is_empty() {
            self.errors.push(ConfigError::LbWithoutMembers {
                origin: lb_origin,
                worker: name.to_owned(),
            });
            return None;
        }
        let mut members: Vec<LbMember> = Vec::new();
        let mut ok = true;
        for member_name in &member_names {
            self.check_len(lb_origin.clone(), "member name", member_name);
            match self.worker_type(member_name) {
                Some(WorkerType::Ajp13) => {}
                Some(other) => {
                    self.errors.push(ConfigError::MemberNotAjp {
                        origin: lb_origin.clone(),
                        lb: name.to_owned(),
                        member: member_name.clone(),
                        member_type: other.as_str(),
                    });
                    ok = false;
                    continue;
                }
                None => {
                    ok = false;
                    continue;
                }
            }
            if members.iter().any(|m| &m.name == member_name) {
                self.warn(
                    members_property,
                    key_of(name, "balance_workers"),
                    format!("member `{member_name}` is listed twice; mod_jk then balances over two copies of it"),
                );
            }
            let implicit = !self.has_any_property(member_name);
            if implicit {
                self.warn(
                    members_property,
                    key_of(name, "balance_workers"),
                    format!("member `{member_name}` has no properties; it becomes an ajp13 worker on localhost:8009 as in mod_jk (a typo?)"),
                );
            }
            let ajp = self.ajp_settings(member_name, settings.secret.as_deref());
            let member = self.member_settings(member_name, &ajp);
            members.push(LbMember {
                name: member_name.clone(),
                implicit,
                ajp,
                member,
            });
        }
        if !ok {
            return None;
        }
        for (i, second) in members.iter().enumerate() {
            if let Some(first) = members[..i]
                .iter()
                .find(|m| m.member.route == second.member.route)
            {
                let origin = self
                    .property(&second.name, "route")
                    .or_else(|| self.property(&second.name, "jvm_route"))
                    .map(|p| p.origin.clone())
                    .or_else(|| lb_origin.clone());
                self.errors.push(ConfigError::DuplicateRoute {
                    origin,
                    lb: name.to_owned(),
                    first: first.name.clone(),
                    second: second.name.clone(),
                    route: second.member.route.clone(),
                });
            }
        }
        for member in &members {
            let redirect = &member.member.redirect;
            if redirect.is_empty() {
                continue;
            }
            let property = self.property(&member.name, "redirect");
            if redirect == &member.member.route {
                self.warn(
                    property,
                    key_of(&member.name, "redirect"),
                    format!("redirect `{redirect}` is the member's own route; it has no effect"),
                );
            } else if !members.iter().any(|m| &m.member.route == redirect) {
                let routes: Vec<&str> = members.iter().map(|m| m.member.route.as_str()).collect();
                self.warn(
                    property,
                    key_of(&member.name, "redirect"),
                    format!(
                        "redirect `{redirect}` is not the route of any member of lb `{name}` (routes: {}); failover via redirect will find nothing",
                        routes.join(", ")
                    ),
                );
            }
        }
        Some(LbWorker { settings, members })
    }

    fn member_settings(&mut self, name: &str, ajp: &AjpSettings) -> MemberSettings {
        let lbfactor_raw = self.int(name, "lbfactor", 1);
        let lbfactor = if lbfactor_raw < 1 {
            let property = self.property(name, "lbfactor");
            self.warn(
                property,
                key_of(name, "lbfactor"),
                format!("{lbfactor_raw} is below 1; using 1 as mod_jk does"),
            );
            1
        } else {
            lbfactor_raw as u32
        };
        let distance = self.int(name, "distance", 0) as i32;
        let route = self
            .name_string(name, "route")
            .or_else(|| self.name_string(name, "jvm_route"))
            .unwrap_or_else(|| name.to_owned());
        let domain = match self.name_string(name, "domain") {
            Some(domain) => domain,
            None => route
                .split_once('.')
                .map(|(d, _)| d.to_owned())
                .unwrap_or_default(),
        };
        let redirect = self.name_string(name, "redirect").unwrap_or_default();
        let mut activation = match self.property(name, "activation") {
            Some(property) => Activation::from_modjk(&property.value).unwrap_or_else(|| {
                self.warn(
                    Some(property),
                    property.key.clone(),
                    format!("unknown activation `{}`; using Active as mod_jk does; valid: A(ctive), D(isabled), S(topped) or 0/1/2", property.value),
                );
                Activation::Active
            }),
            None => {
                if self.boolean(name, "stopped", false) {
                    Activation::Stopped
                } else if self.boolean(name, "disabled", false) {
                    Activation::Disabled
                } else {
                    Activation::Active
                }
            }
        };
        if ajp.port == 0 && activation != Activation::Stopped {
            let property = self.property(name, "port");
            self.warn(
                property,
                key_of(name, "port"),
                "port 0 disables contact: the member is forced to activation Stopped as in mod_jk"
                    .to_owned(),
            );
            activation = Activation::Stopped;
        }
        MemberSettings {
            lbfactor,
            distance,
            route,
            domain,
            redirect,
            activation,
        }
    }

    /// Refuses every `worker.` value that still holds a `$(name)` after substitution.
    /// mod_jk keeps the text literally (spec §1.3) and would connect to a host called
    /// `$(TC_HOST)` or check a secret `$(SECRET)`; nobody means that, so jkgate stops here
    /// with the file, line and variable rather than fail later without them.
    fn refuse_unexpanded_variables(&mut self) {
        for property in self.map.iter() {
            if !property.key.starts_with("worker.") {
                continue;
            }
            if let Some(name) = unexpanded_variable(&property.value) {
                self.errors.push(ConfigError::UnexpandedVariable {
                    origin: property.origin.clone(),
                    key: property.key.clone(),
                    value: property.value.clone(),
                    name: name.to_owned(),
                });
            }
        }
    }

    fn status_settings(&mut self, name: &str) -> StatusSettings {
        let settings = self.status_settings_as_written(name);
        if !settings.read_only && settings.users.is_empty() {
            // mod_jk's default: anyone who reaches the URL may stop members, change
            // lbfactors or reset counters. Legal, but rarely meant on a public listener.
            let origin = self.property(name, "type").map(|p| p.origin.clone());
            self.warnings.push(ConfigWarning {
                origin,
                key: format!("worker.{name}"),
                message: format!(
                    "status worker `{name}` lets anyone change workers (stop members, edit settings, reset counters): it has neither read_only=true nor a user list; \
                     set worker.{name}.read_only=true, or worker.{name}.user=NAME[,NAME...] with the users in jkgate.ini's AuthUserFile (htpasswd) or [status_users], or limit it to your addresses with an [access] rule (worker:{name} = Require ip ...)"
                ),
            });
        }
        settings
    }

    fn status_settings_as_written(&mut self, name: &str) -> StatusSettings {
        let d = StatusSettings::default();
        let dash_is_none = |value: Option<String>, default: Option<String>| match value {
            Some(v) if v.starts_with('-') => None,
            Some(v) => Some(v),
            None => default,
        };
        StatusSettings {
            css: self.string(name, "css"),
            prefix: self.string(name, "prefix").unwrap_or(d.prefix),
            ns: dash_is_none(self.string(name, "ns"), d.ns),
            xmlns: dash_is_none(self.string(name, "xmlns"), d.xmlns),
            doctype: self.string(name, "doctype"),
            read_only: self.boolean(name, "read_only", false),
            users: self.list(name, "user").unwrap_or_default(),
            user_case_insensitive: self.boolean(name, "user_case_insensitive", false),
            good: self.list(name, "good").unwrap_or(d.good),
            bad: self.list(name, "bad").unwrap_or(d.bad),
        }
    }
}

/// The name of the first `$(name)` in `value` (mod_jk's syntax: `$(` up to the next `)`);
/// `None` when there is none.
fn unexpanded_variable(value: &str) -> Option<&str> {
    let start = value.find("$(")? + 2;
    let end = value[start..].find(')')?;
    Some(&value[start..start + end])
}
