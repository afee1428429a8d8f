//! The status worker: mod_jk's `jkstatus` page served by jkgate itself (mod_jk.md §5).
//!
//! A mount that names a `type=status` worker (`/jkstatus=jkstatus`) is answered here
//! instead of being relayed: always HTTP 200 with `Cache-Control: no-cache` and
//! `Pragma: no-cache`, errors reported in the body as a result of type `ERROR`.
//!
//! * Commands `list` (default), `show`, `edit` (HTML form), `update`, `reset`,
//!   `recover`, `version`, `dump`; formats `mime=html|xml|txt|prop` with mod_jk's field
//!   names, state and activation names, and the `prop` key quirks.
//! * jkgate's own: `mime=json` (the `prop` records as one JSON document, [`json`]) and
//!   `cmd=route&sid=ID[&w=LB]`: where a request with that session id would go now (member,
//!   route, state, why), decided by the balancer's dry run of the code that routes requests.
//! * `update` changes lb and member settings at run time through the balancer's update
//!   API, and the connection settings of ajp13 workers and members through the worker's
//!   own, with mod_jk's accepted ranges (out-of-range values are silently ignored, as in
//!   mod_jk; a host that does not resolve is reported and changes nothing).
//! * What `update` changed is recorded in the [`edits::EditBook`] (kept by the application's
//!   state store, laid over workers.properties at the next start and reload); jkgate's own
//!   `cmd=revert&w=WORKER[&sw=MEMBER]` releases those edits and puts workers.properties'
//!   values back in effect.
//! * Access: the worker's `read_only` (or `opt` bit 0x20) forbids `edit`, `update`,
//!   `reset`, `recover`; a non-empty `user` list requires HTTP Basic credentials from
//!   jkgate.ini's `AuthUserFile` (htpasswd, hashed) or `[status_users]` (plain text) for a
//!   listed user ("Access denied." otherwise). `[access]` IP rules are the server's,
//!   checked before the worker is asked.
//!
//! Files: [`query`] (parameters), [`auth`] (users), [`password`] (htpasswd schemes), [`rating`] (good/degraded/bad),
//! [`model`] (the snapshot), [`action`] (worker selection, update/reset/recover),
//! [`edits`] (runtime edits: recorded, reverted, put in effect),
//! [`format`], [`txt`], [`prop`], [`xml`], [`html`] (output), [`clock`] (times),
//! [`fuzzing`] (the fuzz target's entry point).

pub mod action;
pub mod auth;
pub mod clock;
pub mod edits;
pub mod format;
pub mod generation;
pub mod html;
pub mod json;
pub mod model;
pub mod password;
pub mod prop;
pub mod query;
pub mod rating;
pub mod txt;
pub mod xml;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::backend::dispatch::{Target, Workers};
use crate::config::properties::PropertyMap;
use crate::config::{StatusSettings, WorkerKind, WorkersConfig};
use edits::EditBook;

pub use generation::{Generation, ReloadRecord};
pub use model::ServerMap;

use action::{ActionError, Selected};
use clock::{ResetTimes, unix_seconds};
use format::Format;
use model::{Header, RouteView, Sources, WorkerView};
use query::{Command, Mime, OPT_READ_ONLY, Params};
use rating::Rules;

/// The `web_server` and `jk_version` jkgate reports.
pub const SOFTWARE: &str = concat!("jkgate/", env!("CARGO_PKG_VERSION"));

/// What every status worker of one gateway shares: the configuration it was started
/// with, the users, and the reset times.
#[derive(Debug)]
struct Shared {
    config: WorkersConfig,
    dump: Vec<(String, String)>,
    users: Vec<crate::config::htpasswd::StatusUser>,
    resets: Arc<ResetTimes>,
    generation: Generation,
    /// Where `update` records what it changed and `revert` releases it (`None`: edits are
    /// not kept, as in `jkgate check`).
    edits: Option<Arc<EditBook>>,
}

/// One status worker (`worker.<name>.type=status`).
#[derive(Debug)]
pub struct StatusWorker {
    name: String,
    settings: StatusSettings,
    rules: Rules,
    shared: Arc<Shared>,
}

/// Every status worker of `worker.list`, by name.
#[derive(Debug, Clone)]
pub struct StatusWorkers {
    workers: HashMap<String, Arc<StatusWorker>>,
    /// When each counter was last reset; kept across reloads, as the counters are.
    resets: Arc<ResetTimes>,
}

impl StatusWorkers {
    /// The status workers of `config`. `properties` is the workers.properties map (shown
    /// by `cmd=dump`, `.secret` keys left out), `users` jkgate.ini's `[status_users]` and
    /// `AuthUserFile`,
    /// `generation` the configuration they report on; `previous` (on a reload) hands over
    /// the reset times.
    pub fn new(
        config: &WorkersConfig,
        properties: &PropertyMap,
        users: &[crate::config::htpasswd::StatusUser],
        generation: Generation,
        previous: Option<&StatusWorkers>,
        edits: Option<Arc<EditBook>>,
    ) -> Self {
        let resets = previous.map_or_else(
            || Arc::new(ResetTimes::new(SystemTime::now())),
            |p| p.resets.clone(),
        );
        let dump = properties
            .iter()
            .filter(|p| !(p.key.len() > 8 && p.key.ends_with(".secret")))
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        let shared = Arc::new(Shared {
            config: config.clone(),
            dump,
            users: users.to_vec(),
            resets: resets.clone(),
            generation,
            edits,
        });
        let workers = config
            .workers
            .iter()
            .filter_map(|w| match &w.kind {
                WorkerKind::Status(settings) => Some((
                    w.name.clone(),
                    Arc::new(StatusWorker {
                        name: w.name.clone(),
                        rules: Rules::new(&settings.good, &settings.bad),
                        settings: settings.clone(),
                        shared: shared.clone(),
                    }),
                )),
                _ => None,
            })
            .collect();
        StatusWorkers { workers, resets }
    }

    /// The status worker called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<StatusWorker>> {
        self.workers.get(name)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }
}

/// The parts of an HTTP request the status worker reads.
#[derive(Debug, Clone, Copy)]
pub struct StatusRequest<'a> {
    /// The request path, as received (links and forms point back to it).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The local address the request came in on (the server name without `Host`).
    pub local_ip: &'a str,
    /// The local port the request came in on.
    pub local_port: u16,
    /// The `Authorization` header.
    pub authorization: Option<&'a [u8]>,
}

/// A status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReply {
    /// `text/html`, `text/xml` or `text/plain`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// No valid credentials came with a request to a worker with a `user` list: answer
    /// 401 with a Basic challenge (httpd's part in front of mod_jk) instead of 200.
    pub challenge: Option<String>,
}

impl StatusReply {
    /// The `WWW-Authenticate` value of a challenge: the realm is the worker's name, kept to
    /// the characters a quoted string may hold unescaped.
    pub fn www_authenticate(&self) -> Option<String> {
        let realm: String = self
            .challenge
            .as_deref()?
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
            .collect();
        Some(format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
    }
}

/// The host part of a `Host` header value (`name`, `[v6]`, without the port).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

impl StatusWorker {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Answers one request, given the gateway's mount tables (main server first, then
    /// each vhost) and workers.
    pub fn handle(
        &self,
        maps: &[ServerMap<'_>],
        workers: &Workers,
        request: &StatusRequest<'_>,
    ) -> StatusReply {
        let now = SystemTime::now();
        let params = Params::parse(request.query);
        let cmd = Command::parse(params.get("cmd"));
        let mime = Mime::parse(params.get("mime"));
        let opt = params.options();
        let read_only = self.settings.read_only || opt & OPT_READ_ONLY != 0;
        let server_name = request
            .host
            .map(host_name)
            .filter(|h| !h.is_empty())
            .unwrap_or(request.local_ip);
        let header = Header {
            server_name: query::sanitize(server_name),
            server_port: request.local_port,
            now: unix_seconds(now),
            web_server: SOFTWARE.to_owned(),
            jk_version: SOFTWARE.to_owned(),
            config_generation: self.shared.generation.number,
            config_loaded: unix_seconds(self.shared.generation.loaded),
            reload_error: self.shared.generation.reloads.last_failure(),
        };
        let config = &self.shared.config;
        let mut error: Option<String> = None;
        let mut selected = None;
        let mut challenge = None;
        match auth::check_access(&self.settings, &self.shared.users, request.authorization) {
            Err(denied) => {
                tracing::warn!(status_worker = %self.name, ?denied, "status worker access denied");
                error = Some("Access denied.".to_owned());
                if denied == auth::Denied::NoUser {
                    challenge = Some(self.name.clone());
                }
            }
            Ok(_) => {
                if read_only && cmd.is_some_and(|c| !c.is_read_only()) {
                    error = Some("This command is not allowed in read only mode.".to_owned());
                } else if cmd.is_none() {
                    error = Some("Invalid command.".to_owned());
                } else if mime.is_none() {
                    error = Some("Invalid mime type.".to_owned());
                } else if let Some(cmd) = cmd.filter(|c| c.checks_worker()) {
                    match action::select(cmd, &params, config, workers) {
                        Ok(found) => selected = Some(found),
                        Err(message) => error = Some(message.to_string()),
                    }
                }
            }
        }
        let sources = Sources {
            maps,
            resets: &self.shared.resets,
            rules: self.rules,
            header: &header,
        };
        let job = Job {
            worker: self,
            params: &params,
            cmd: cmd.unwrap_or(Command::List),
            selected: selected.as_ref(),
            sources,
            workers,
            opt,
        };
        let mime = mime.unwrap_or(Mime::Prop);
        let body = match mime {
            Mime::Html => job.html(request.path, read_only, error),
            Mime::Txt => job.text(Box::new(txt::Txt::new()), error),
            Mime::Prop => job.text(Box::new(prop::Prop::new(&self.settings.prefix)), error),
            Mime::Json => job.text(Box::new(json::Json::new()), error),
            Mime::Xml => job.text(
                Box::new(xml::Xml::new(
                    self.settings.ns.as_deref(),
                    self.settings.xmlns.as_deref(),
                    self.settings.doctype.as_deref(),
                )),
                error,
            ),
        };
        StatusReply {
            content_type: mime.content_type(),
            body,
            challenge,
        }
    }
}

/// Why `cmd=route` has no answer (texts in the style of mod_jk's own results).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RouteQueryError {
    /// `sid` is missing or empty.
    #[error("NULL or EMPTY session id param (sid)")]
    NoSessionId,
    /// No mount maps `uri`.
    #[error("No mount rule maps {uri}")]
    Unmapped {
        /// The `uri` asked about.
        uri: String,
    },
    /// `uri` is mapped to another worker than `w`.
    #[error("{uri} is mapped to {mapped}, not to {wanted}")]
    OtherWorker {
        /// The `uri` asked about.
        uri: String,
        /// The worker its mount names.
        mapped: String,
        /// The `w` asked about.
        wanted: String,
    },
    /// `w` (or the mount's worker) is not an lb.
    #[error("Worker {worker} is not a load balancer")]
    NotAnLb {
        /// That worker.
        worker: String,
    },
    /// `w` names no worker of `worker.list`.
    #[error("Could not find given worker")]
    WorkerNotFound,
    /// No `w`, and `worker.list` has no lb.
    #[error("No load balancer is configured")]
    NoLb,
}

/// `cmd=edit` found no form for the selected worker (a status worker, or an lb member
/// gone since it was selected).
#[derive(Debug, thiserror::Error)]
#[error("Error in generating this worker's configuration form.")]
pub(crate) struct EditFormError;

/// One request being answered.
struct Job<'a> {
    worker: &'a StatusWorker,
    params: &'a Params,
    cmd: Command,
    selected: Option<&'a Selected<'a>>,
    sources: Sources<'a>,
    workers: &'a Workers,
    opt: u32,
}

impl Job<'_> {
    /// Every lb and ajp13 worker of `worker.list`, in order.
    fn all_views(&self) -> Vec<WorkerView> {
        self.worker
            .shared
            .config
            .workers
            .iter()
            .filter_map(|w| match (&w.kind, self.workers.get(&w.name)) {
                (WorkerKind::Lb(_), Some(Target::Balanced(lb))) => Some(WorkerView::Lb(
                    model::lb_view(&self.sources, &w.name, lb, None),
                )),
                (WorkerKind::Ajp13(_), Some(Target::Ajp(ajp))) => Some(WorkerView::Ajp(
                    model::ajp_view(&self.sources, &w.name, ajp),
                )),
                _ => None,
            })
            .collect()
    }

    /// The selected worker (only the `sw` member of an lb when `sw` is given).
    fn selected_view(&self) -> Option<WorkerView> {
        match self.selected? {
            Selected::Lb {
                name,
                lb,
                sub_worker,
                members,
                ..
            } => {
                let only = if *sub_worker {
                    members.first().copied()
                } else {
                    None
                };
                Some(WorkerView::Lb(model::lb_view(
                    &self.sources,
                    name,
                    lb,
                    only,
                )))
            }
            Selected::Ajp { name, worker } => Some(WorkerView::Ajp(model::ajp_view(
                &self.sources,
                name,
                worker,
            ))),
            Selected::Status => None,
        }
    }

    /// `cmd=route`: the dry run of lb `w` (or of every lb of `worker.list`, in order) for
    /// session id `sid`; with `uri`, of the lb the mounts map it to, with the mount's
    /// extensions (`sticky_ignore`, `stopped=...`, its session cookie name, ...).
    fn routes(&self) -> Result<Vec<RouteView>, RouteQueryError> {
        let sid = self
            .params
            .get("sid")
            .filter(|s| !s.is_empty())
            .ok_or(RouteQueryError::NoSessionId)?;
        let uri = self.params.get("uri").filter(|u| !u.is_empty());
        let mount = match uri {
            // The main server's mounts first, then each vhost's, as they are listed.
            Some(uri) => match self
                .sources
                .maps
                .iter()
                .find_map(|map| map.mounts.find(uri.as_bytes()))
            {
                Some(rule) => Some((uri, rule)),
                None => {
                    return Err(RouteQueryError::Unmapped {
                        uri: uri.to_owned(),
                    });
                }
            },
            None => None,
        };
        let wanted = match (self.params.get("w").filter(|w| !w.is_empty()), mount) {
            (Some(w), Some((uri, rule))) if w != rule.worker => {
                return Err(RouteQueryError::OtherWorker {
                    uri: uri.to_owned(),
                    mapped: rule.worker.clone(),
                    wanted: w.to_owned(),
                });
            }
            (w, rule) => w.or(rule.map(|(_, r)| r.worker.as_str())),
        };
        let mut routes = Vec::new();
        for worker in &self.worker.shared.config.workers {
            if wanted.is_some_and(|w| w != worker.name) {
                continue;
            }
            match self.workers.get(&worker.name) {
                Some(Target::Balanced(lb)) => {
                    routes.push(model::route_view(&worker.name, lb, sid, mount));
                }
                _ if wanted.is_some() => {
                    return Err(RouteQueryError::NotAnLb {
                        worker: worker.name.clone(),
                    });
                }
                _ => {}
            }
        }
        if routes.is_empty() {
            return Err(if wanted.is_some() {
                RouteQueryError::WorkerNotFound
            } else {
                RouteQueryError::NoLb
            });
        }
        Ok(routes)
    }

    /// Runs `update`, `reset` or `recover`.
    fn act(&self) -> Result<(), ActionError> {
        let Some(selected) = self.selected else {
            return Err(ActionError::EmptyWorker);
        };
        let name = &self.worker.name;
        let result = match self.cmd {
            Command::Update => self.update_recorded(selected),
            Command::Revert => self.revert(selected),
            Command::Reset => action::reset(
                selected,
                &self.worker.shared.resets,
                self.sources.header.now,
            ),
            _ => action::recover(selected),
        };
        let worker = self.params.get("w").unwrap_or_default();
        let sub_worker = self.params.get("sw").unwrap_or("-");
        match &result {
            Ok(()) => tracing::info!(status_worker = %name, cmd = self.cmd.name(), worker,
                sub_worker, "status worker command done"),
            Err(message) => tracing::warn!(status_worker = %name, cmd = self.cmd.name(), worker,
                sub_worker, %message, "status worker command failed"),
        }
        result
    }

    /// `update`, with what it changed recorded in the edit book.
    fn update_recorded(&self, selected: &Selected<'_>) -> Result<(), ActionError> {
        let worker = self.params.get("w").unwrap_or_default();
        let target = self.workers.get(worker);
        let before = target.map(|t| edits::snapshot(worker, t));
        let result = action::update(selected, self.params);
        // A wildcard update may have changed some members before it failed: record
        // whatever changed either way.
        if let (Some(book), Some(target), Some(before)) =
            (&self.worker.shared.edits, target, before)
        {
            let after = edits::snapshot(worker, target);
            book.record(edits::changes(&before, &after));
        }
        result
    }

    /// `revert`: releases the edits of the selected worker or member and puts
    /// workers.properties' values back in effect.
    fn revert(&self, selected: &Selected<'_>) -> Result<(), ActionError> {
        let Some(book) = &self.worker.shared.edits else {
            return Err(ActionError::EditsNotKept);
        };
        let worker = self.params.get("w").unwrap_or_default();
        let member = match selected {
            Selected::Lb {
                sub_worker: true,
                lb,
                members,
                ..
            } => members
                .first()
                .map(|&i| lb.balancer().topology().members[i].name.clone()),
            Selected::Status => return Err(ActionError::RevertFailed),
            _ => None,
        };
        let released = book.revert(worker, member.as_deref());
        tracing::info!(
            worker,
            member = member.as_deref().unwrap_or("-"),
            released,
            "runtime edits released: back to workers.properties"
        );
        if let Some((config, _)) = book.effective() {
            for e in edits::converge(self.workers, &config) {
                tracing::warn!("revert: {e}");
            }
        }
        Ok(())
    }

    /// The `txt`, `prop` and `xml` answer.
    fn text(&self, mut out: Box<dyn Format>, mut error: Option<String>) -> String {
        out.begin();
        if error.is_none() {
            let routes = if self.cmd == Command::Route {
                self.routes().map_err(|e| error = Some(e.to_string())).ok()
            } else {
                None
            };
            if self.cmd.is_action() {
                error = self.act().err().map(|e| e.to_string());
            } else if error.is_none() {
                out.server(self.sources.header);
                if self.cmd.has_head() {
                    out.head(self.sources.header);
                }
                match self.cmd {
                    Command::List => format::write_listing(&mut *out, &self.all_views(), self.opt),
                    Command::Show => {
                        if let Some(view) = self.selected_view() {
                            format::write_worker(&mut *out, &view, self.opt);
                        }
                    }
                    Command::Dump => out.dump(&self.worker.shared.dump),
                    Command::Route => {
                        for route in routes.iter().flatten() {
                            out.route(route);
                        }
                    }
                    _ => {}
                }
            }
        }
        out.result(error.as_deref());
        out.finish()
    }

    /// The HTML answer.
    fn html(&self, path: &str, read_only: bool, mut error: Option<String>) -> String {
        let path = query::sanitize(&query::percent_decode(path));
        let mut page = html::Page::new(
            &path,
            self.params,
            self.cmd,
            read_only,
            self.worker.settings.read_only,
            self.worker.settings.css.clone(),
        );
        if error.is_none() {
            if self.cmd.is_action() {
                match self.act() {
                    Ok(()) => page.redirect(),
                    Err(message) => error = Some(message.to_string()),
                }
            } else {
                let refresh = self.params.int("re", 0);
                let refresh = (refresh > 0 && matches!(self.cmd, Command::List | Command::Show))
                    .then(|| {
                        let query: Vec<String> = self
                            .params
                            .iter()
                            .map(|(k, v)| format!("{}={}", query::encode(k), query::encode(v)))
                            .collect();
                        (refresh, query.join("&"))
                    });
                page.begin(refresh);
                page.top(self.sources.header);
                match self.cmd {
                    Command::List => page.listing(&self.all_views()),
                    Command::Show => {
                        if let Some(view) = self.selected_view() {
                            page.worker(&view, self.params.get("sw"));
                        }
                    }
                    Command::Edit => {
                        if let Err(message) = self.edit(&mut page) {
                            error = Some(message.to_string());
                        }
                    }
                    Command::Dump => page.dump(&self.worker.shared.dump),
                    Command::Route => match self.routes() {
                        Ok(routes) => page.routes(&routes),
                        Err(message) => error = Some(message.to_string()),
                    },
                    _ => {}
                }
                if matches!(self.cmd, Command::List | Command::Show) {
                    page.legend();
                }
            }
        }
        match error {
            Some(message) => {
                page.error(&message);
                page.finish(false)
            }
            None => page.finish(true),
        }
    }

    fn edit(&self, page: &mut html::Page<'_>) -> Result<(), EditFormError> {
        match (self.selected_view().ok_or(EditFormError)?, self.selected) {
            (WorkerView::Lb(lb), Some(Selected::Lb { sub_worker, .. })) => {
                if *sub_worker {
                    let member = lb.members.first().ok_or(EditFormError)?;
                    page.edit_member(&lb.name, Some(member), &member.conf);
                } else if let Some(attribute) = self.params.get("att") {
                    page.edit_attribute(&lb, attribute);
                } else {
                    page.edit_lb(&lb);
                }
                Ok(())
            }
            (WorkerView::Ajp(ajp), _) => {
                page.edit_member(&ajp.name, None, &ajp.conf);
                Ok(())
            }
            _ => Err(EditFormError),
        }
    }
}
