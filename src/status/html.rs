//! `mime=html` (the default): the page mod_jk's status worker draws — header, format and
//! refresh controls, one section per worker with its configuration, summary, members and
//! URI mappings, the legend — plus the edit forms and the redirect page after an action.
//! The markup follows mod_jk 1.2.48's; links carry only `opt` and `re` along.

use std::fmt::Write as _;

use super::clock::html_time;
use super::format::boolean;
use super::model::{AjpConf, AjpView, Header, LbView, MapView, MemberView, WorkerView};
use super::query::{
    Command, OPT_NO_AJP, OPT_NO_AJP_CONF, OPT_NO_LB, OPT_NO_LB_CONF, OPT_NO_LB_SUMMARY,
    OPT_NO_LEGEND, OPT_NO_MAPS, OPT_NO_MEMBERS, OPT_READ_ONLY, Params, encode,
};
use super::xml::escape;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \
\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\
<head><title>JK Status Manager</title>";

const FOOTER: &str = "Copyright &#169; 1999-2020, The Apache Software Foundation<br />\
Licensed under the <a href=\"http://www.apache.org/licenses/LICENSE-2.0\">Apache License, \
Version 2.0</a>.";

/// Member attributes that an "edit this attribute for all members" form can change.
const ATTRIBUTES: [(&str, &str); 17] = [
    ("vwa", "Activation"),
    ("vwf", "LB Factor"),
    ("vwn", "Route"),
    ("vwr", "Redirect Route"),
    ("vwc", "Cluster Domain"),
    ("vwd", "Distance"),
    ("vacpt", "Connection Pool Timeout"),
    ("vapng", "Ping Timeout"),
    ("vact", "Connect Timeout"),
    ("vapt", "Prepost Timeout"),
    ("vart", "Reply Timeout"),
    ("var", "Retries"),
    ("vari", "Retry Interval"),
    ("vacpi", "Connection Ping Interval"),
    ("varo", "Recovery Options"),
    ("vabl", "Busy Limit"),
    ("vamps", "Max Packet Size"),
];

/// What every part of a page needs to know about the request.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The request path (already sanitized), for links and forms.
    pub path: String,
    /// The request parameters.
    pub params: &'a Params,
    /// The command being answered.
    pub cmd: Command,
    /// Read-only for this request (worker setting or `opt`).
    pub read_only: bool,
    /// The worker itself is `read_only` (no switch offered).
    pub worker_read_only: bool,
    /// The `opt` bits.
    pub opt: u32,
    /// The status worker's `css`.
    pub css: Option<String>,
    out: String,
}

/// The value of `link` parameters: `(key, value)` pairs.
type Query<'q> = [(&'q str, &'q str)];

impl<'a> Page<'a> {
    /// An empty page.
    pub fn new(
        path: &str,
        params: &'a Params,
        cmd: Command,
        read_only: bool,
        worker_read_only: bool,
        css: Option<String>,
    ) -> Self {
        Page {
            path: escape(path),
            params,
            cmd,
            read_only,
            worker_read_only,
            opt: params.options(),
            css,
            out: String::new(),
        }
    }

    /// A URL to this status worker with `query`, then `re` and `opt` (with `add` bits set
    /// and `remove` bits cleared) carried along.
    fn url(&self, query: &Query<'_>, add: u32, remove: u32) -> String {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", escape(&encode(v))))
            .collect();
        if let Some(re) = self.params.get("re").filter(|re| !re.is_empty()) {
            pairs.push(format!("re={}", escape(&encode(re))));
        }
        let opt = (self.opt | add) & !remove;
        if opt != 0 {
            pairs.push(format!("opt={opt}"));
        }
        if pairs.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, pairs.join("&amp;"))
        }
    }

    fn link(&mut self, text: &str, query: &Query<'_>, add: u32, remove: u32) {
        let url = self.url(query, add, remove);
        let _ = write!(self.out, "<a href=\"{url}\">{text}</a>");
    }

    /// Starts the document; `refresh` adds the auto-refresh meta tag.
    pub fn begin(&mut self, refresh: Option<(i64, String)>) {
        self.out.push_str(HEAD);
        if let Some((seconds, query)) = refresh {
            let _ = write!(
                self.out,
                "\n<meta http-equiv=\"Refresh\" content=\"{seconds};url={}?{}\">",
                self.path,
                escape(&query)
            );
        }
        if let Some(css) = &self.css {
            let _ = write!(
                self.out,
                "\n<link rel=\"stylesheet\" type=\"text/css\" href=\"{}\" />\n",
                escape(css)
            );
        }
        self.out.push_str("</head>\n<body>\n");
    }

    /// The title, header table and the control bars.
    pub fn top(&mut self, header: &Header) {
        let _ = write!(
            self.out,
            "<h1>JK Status Manager for {}:{}{}</h1>\n\n",
            escape(&header.server_name),
            header.server_port,
            if self.read_only { " (read only)" } else { "" }
        );
        if self.cmd.has_head() {
            let _ = write!(
                self.out,
                "<table><tr><td>Server Version:</td><td>{}</td><td>&nbsp;&nbsp;&nbsp;</td>\
                 <td>Server Time:</td><td>{}</td></tr>\n<tr><td>JK Version:</td><td>{}</td>\
                 <td></td><td>Unix Seconds:</td><td>{}</td></tr></table>\n<hr/>\n",
                escape(&header.web_server),
                html_time(header.now),
                escape(&header.jk_version),
                header.now
            );
            let _ = write!(
                self.out,
                "<table><tr><td>Configuration:</td><td>generation {}, loaded {}</td></tr>\n\
                 <tr><td>Last reload:</td><td>{}</td></tr></table>\n<hr/>\n",
                header.config_generation,
                html_time(header.config_loaded),
                match &header.reload_error {
                    None => "OK".to_owned(),
                    Some(error) => format!("<b>failed</b>: {}", escape(error)),
                }
            );
        }
        self.out
            .push_str("<table><tbody valign=\"baseline\"><tr>\n");
        if matches!(self.cmd, Command::List | Command::Show) {
            self.out.push_str("<td>");
            let refresh = self.params.int("re", 0);
            if refresh > 0 {
                self.out.push('[');
                let query = self.kept_query(&["re"]);
                let pairs: Vec<(&str, &str)> = query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let url = self.url_exact(&pairs);
                let _ = write!(self.out, "<a href=\"{url}\">Stop auto refresh</a>]");
            } else {
                self.form_start(None, &["re"]);
                self.out.push_str(
                    "<input type=\"submit\" value=\"Start auto refresh\"/>\n(every <input \
                     name=\"re\" type=\"text\" size=\"3\" value=\"10\"/> seconds)</form>\n",
                );
            }
            self.out
                .push_str("</td><td>&nbsp;&nbsp;|&nbsp;&nbsp;</td>\n");
        }
        if self.cmd.has_head() {
            self.out.push_str("<td>\n");
            self.form_start(None, &["mime"]);
            self.out.push_str(
                "<input type=\"submit\" value=\"Change format\"/>\n<select name=\"mime\" \
                 size=\"1\"><option value=\"xml\">XML</option><option value=\"prop\">\
                 Properties</option><option value=\"txt\">Text</option></select></form>\n</td>\n",
            );
        }
        self.out.push_str("</tr></tbody></table>\n");
        self.out
            .push_str("<table><tbody valign=\"baseline\"><tr>\n");
        if matches!(
            self.cmd,
            Command::Show | Command::Edit | Command::Version | Command::Dump
        ) {
            self.out.push_str("<td>\n[");
            let from_list = self.params.get("from") == Some("list");
            if self.cmd != Command::Edit || from_list {
                self.link("Back to worker list", &[("cmd", "list")], 0, 0);
            } else {
                let w = self.params.get("w").unwrap_or_default().to_owned();
                let sw = self.params.get("psw").unwrap_or_default().to_owned();
                self.link(
                    "Back to worker view",
                    &[("cmd", "show"), ("w", &w), ("sw", &sw)],
                    0,
                    0,
                );
            }
            self.out.push_str("]&nbsp;&nbsp;</td>\n");
        }
        if matches!(self.cmd, Command::List | Command::Show) {
            self.out.push_str("<td>\n");
            if !self.worker_read_only {
                self.out.push('[');
                let (text, add, remove) = if self.read_only {
                    ("Read/Write", 0, OPT_READ_ONLY)
                } else {
                    ("Read Only", OPT_READ_ONLY, 0)
                };
                let query = self.current_view();
                let pairs: Vec<(&str, &str)> =
                    query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.link(text, &pairs, add, remove);
                self.out.push_str("]&nbsp;&nbsp;\n");
            }
            self.out.push_str("</td>\n");
        }
        if matches!(self.cmd, Command::List | Command::Show | Command::Version) {
            self.out.push_str("<td>\n[");
            self.link("Dump", &[("cmd", "dump")], 0, 0);
            self.out.push_str("]&nbsp;&nbsp;\n</td>\n");
        }
        if matches!(self.cmd, Command::List | Command::Show)
            && (self.cmd == Command::List || !self.read_only)
        {
            self.out.push_str("<td>\n[");
            if self.cmd == Command::List {
                self.out.push_str("<b>S</b>=Show only this worker, ");
            }
            self.out.push_str(
                "<b>E</b>=Edit worker, <b>R</b>=Reset worker state, <b>T</b>=Try worker \
                 recovery]<br/>\n</td>\n",
            );
        }
        self.out.push_str("</tr></tbody></table>\n");
    }

    /// `cmd`, `w`, `sw` of the page being shown (for links that keep the view).
    fn current_view(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("cmd", self.cmd.name().to_owned())];
        for key in ["w", "sw"] {
            if let Some(v) = self.params.get(key) {
                query.push((key, v.to_owned()));
            }
        }
        query
    }

    /// The current parameters except `skip`, as pairs.
    fn kept_query(&self, skip: &[&str]) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// A URL with exactly `query` (nothing carried along).
    fn url_exact(&self, query: &Query<'_>) -> String {
        if query.is_empty() {
            return self.path.clone();
        }
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", escape(&encode(k)), escape(&encode(v))))
            .collect();
        format!("{}?{}", self.path, pairs.join("&amp;"))
    }

    /// `<form method="get">` with the current parameters as hidden fields, except `skip`,
    /// and with `cmd` replaced by `cmd` when given.
    fn form_start(&mut self, cmd: Option<Command>, skip: &[&str]) {
        let _ = writeln!(self.out, "<form method=\"get\" action=\"{}\">", self.path);
        if let Some(cmd) = cmd {
            self.hidden("cmd", cmd.name());
        }
        for (key, value) in self.kept_query(skip) {
            if cmd.is_some() && key == "cmd" {
                continue;
            }
            self.hidden(&key, &value);
        }
    }

    fn hidden(&mut self, name: &str, value: &str) {
        let _ = writeln!(
            self.out,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
            escape(name),
            escape(value)
        );
    }

    /// The `list` body.
    pub fn listing(&mut self, workers: &[WorkerView]) {
        let (lbs, ajps) = super::format::lb_and_ajp_workers(workers);
        for (group, bit, title, show) in [
            (
                lbs,
                OPT_NO_LB,
                "Load Balancing Worker",
                "Show Load Balancing Workers",
            ),
            (ajps, OPT_NO_AJP, "AJP Worker", "Show AJP Workers"),
        ] {
            if group.is_empty() {
                continue;
            }
            if self.opt & bit != 0 {
                self.out.push_str("<p>\n");
                self.link(show, &[], 0, bit);
                self.out.push_str("</p>\n");
                continue;
            }
            let plural = if group.len() > 1 { "s" } else { "" };
            let _ = write!(
                self.out,
                "<hr/><h2>Listing {title}{plural} ({} Worker{plural}) [",
                group.len()
            );
            self.link("Hide", &[], bit, 0);
            self.out.push_str("]</h2>\n");
            for worker in group {
                self.worker(worker, None);
            }
        }
    }

    /// One worker's section; `sub_worker` is the `sw` of a `show`.
    pub fn worker(&mut self, worker: &WorkerView, sub_worker: Option<&str>) {
        match worker {
            WorkerView::Lb(lb) => self.lb(lb, sub_worker),
            WorkerView::Ajp(ajp) => self.ajp(ajp),
        }
    }

    fn title_links(&mut self, name: &str) {
        self.out.push_str("<hr/><h3>[");
        if self.cmd == Command::Show {
            self.out.push('S');
        } else {
            self.link("S", &[("cmd", "show"), ("w", name)], 0, 0);
        }
        if !self.read_only {
            let from = self.cmd.name();
            self.out.push('|');
            self.link("E", &[("cmd", "edit"), ("from", from), ("w", name)], 0, 0);
            self.out.push('|');
            self.link("R", &[("cmd", "reset"), ("from", from), ("w", name)], 0, 0);
        }
        let _ = writeln!(
            self.out,
            "]&nbsp;&nbsp;Worker Status for {}</h3>",
            escape(name)
        );
    }

    fn lb(&mut self, lb: &LbView, sub_worker: Option<&str>) {
        self.title_links(&lb.name);
        let view = self.current_view();
        let view: Vec<(&str, &str)> = view.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if self.opt & OPT_NO_LB_CONF == 0 {
            self.out.push_str(
                "<table><tr valign=\"bottom\"><th>Type</th><th>Sticky<br/>Sessions</th>\
                 <th>Force Sticky<br/>Sessions</th><th>Retries</th><th>LB<br/>Method</th>\
                 <th>Locking</th><th>Recover<br/>Wait Time</th><th>Error<br/>Escalation Time</th>\
                 <th>Max Reply<br/>Timeouts</th><th>\n[",
            );
            self.link("Hide", &view, OPT_NO_LB_CONF, 0);
            let _ = write!(
                self.out,
                "]</th></tr><tr><td>lb</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td></tr>\n</table>\n<br/>\n",
                boolean(lb.sticky_session),
                boolean(lb.sticky_session_force),
                lb.retries,
                lb.method.status_name(),
                lb.lock.status_name(),
                lb.recover_time,
                lb.error_escalation_time,
                lb.max_reply_timeouts
            );
        } else {
            self.out.push_str("<p>\n");
            self.link("Show LB Configuration", &view, 0, OPT_NO_LB_CONF);
            self.out.push_str("</p>\n");
        }
        if self.opt & OPT_NO_LB_SUMMARY == 0 {
            self.out.push_str(
                "<table><tr><th>Good</th><th>Degraded</th><th>Bad/Stopped</th><th>Busy</th>\
                 <th>Max Busy</th><th>Next Maintenance</th><th>Last Reset</th><th>[",
            );
            self.link("Hide", &view, OPT_NO_LB_SUMMARY, 0);
            let _ = write!(
                self.out,
                "]</th></tr>\n<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}/{}</td><td>{}</td><td></td></tr>\n</table>\n\n",
                lb.good,
                lb.degraded,
                lb.bad,
                lb.busy,
                lb.max_busy,
                lb.time_to_maintenance_min,
                lb.time_to_maintenance_max,
                lb.last_reset_ago
            );
        } else {
            self.out.push_str("<p>\n");
            self.link("Show LB Summary", &view, 0, OPT_NO_LB_SUMMARY);
            self.out.push_str("</p>\n");
        }
        if self.opt & OPT_NO_MEMBERS != 0 {
            self.out.push_str("<p>\n");
            self.link("Show Balancer Members", &view, 0, OPT_NO_MEMBERS);
            self.out.push_str("</p>\n");
        } else {
            self.out.push_str("<h4>Balancer Members [");
            if sub_worker.is_some() {
                self.link(
                    "Show All Members",
                    &[("cmd", "show"), ("w", &lb.name)],
                    0,
                    0,
                );
                self.out.push_str("]&nbsp;&nbsp;[");
            }
            self.link("Hide", &view, OPT_NO_MEMBERS, 0);
            self.out.push_str("]</h4>\n");
            if self.opt & OPT_NO_AJP_CONF == 0 {
                self.out.push_str("<table>");
                self.conf_head(true, &view);
                for member in &lb.members {
                    self.conf_row(Some(&member.name), &member.conf);
                }
                self.out.push_str("</table>\n<br/>\n");
            } else {
                self.out.push_str("<p>\n");
                self.link("Show AJP Configuration", &view, 0, OPT_NO_AJP_CONF);
                self.out.push_str("</p>\n");
            }
            self.out.push_str(
                "<table><tr valign=\"bottom\"><th>&nbsp;</th><th>Name</th><th>Act</th>\
                 <th>State</th><th>D</th><th>F</th><th>M</th><th>V</th><th>Acc</th><th>Sess</th>\
                 <th>Err</th><th>CE</th><th>RE</th><th>Wr</th><th>Rd</th><th>Busy</th>\
                 <th>MaxBusy</th><th>Con</th><th>MaxCon</th><th>Route</th><th>RR</th><th>Cd</th>\
                 <th>Rs</th><th>LR</th><th>LE</th></tr>\n",
            );
            for member in &lb.members {
                self.member_row(lb, member);
            }
            self.out.push_str("</table><br/>\n");
            if !self.read_only {
                self.form_start(Some(Command::Edit), &["cmd", "w", "sw", "att", "opt"]);
                self.hidden("w", &lb.name);
                self.out.push_str(
                    "<table><tr><td><b>E</b>dit this attribute for all members:</td><td>\
                     <select name=\"att\" size=\"1\">\n",
                );
                for (value, text) in ATTRIBUTES {
                    let _ = writeln!(self.out, "<option value=\"{value}\">{text}</option>");
                }
                self.out.push_str(
                    "</select></td><td><input type=\"submit\" value=\"Go\"/></td></tr></table>\
                     </form>\n",
                );
            }
        }
        self.maps(&lb.name, &lb.maps);
    }

    fn conf_head(&mut self, member: bool, view: &Query<'_>) {
        self.out.push_str("<tr valign=\"bottom\">");
        if member {
            self.out.push_str("<th>Name</th>");
        }
        self.out.push_str(
            "<th>Type</th><th>Hostname</th><th>Address:Port</th><th>Source</th>\
             <th>Connection<br/>Pool Timeout</th><th>Connect<br/>Timeout</th><th>Prepost<br/>\
             Timeout</th><th>Reply<br/>Timeout</th><th>Retries</th><th>Recovery<br/>Options</th>\
             <th>Busy<br/>Limit</th><th>Max Packet<br/>Size</th><th>\n[",
        );
        self.link("Hide", view, OPT_NO_AJP_CONF, 0);
        self.out.push_str("]</th></tr>");
    }

    fn conf_row(&mut self, name: Option<&str>, c: &AjpConf) {
        self.out.push_str("<tr>");
        if let Some(name) = name {
            let _ = write!(self.out, "<td>{}</td>", escape(name));
        }
        let _ = writeln!(
            self.out,
            "<td>ajp13</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td></tr>",
            escape(&c.host),
            escape(&c.address),
            escape(&c.source),
            c.connection_pool_timeout,
            c.connect_timeout,
            c.prepost_timeout,
            c.reply_timeout,
            c.retries,
            c.recovery_options,
            c.busy_limit,
            c.max_packet_size
        );
    }

    fn member_row(&mut self, lb: &LbView, m: &MemberView) {
        self.out.push_str("<tr>\n<td>[");
        let from = self.cmd.name();
        if self.cmd == Command::Show {
            self.out.push('S');
        } else {
            self.link(
                "S",
                &[("cmd", "show"), ("w", &lb.name), ("sw", &m.name)],
                0,
                0,
            );
        }
        if !self.read_only {
            for (text, cmd) in [("E", "edit"), ("R", "reset")] {
                self.out.push('|');
                self.link(
                    text,
                    &[
                        ("cmd", cmd),
                        ("from", from),
                        ("w", &lb.name),
                        ("sw", &m.name),
                    ],
                    0,
                    0,
                );
            }
            if m.state == crate::balancer::MemberState::Error {
                self.out.push('|');
                self.link(
                    "T",
                    &[
                        ("cmd", "recover"),
                        ("from", from),
                        ("w", &lb.name),
                        ("sw", &m.name),
                    ],
                    0,
                    0,
                );
            }
        }
        let rate = |n: u64| {
            n.checked_div(m.last_reset_ago)
                .map_or_else(|| "-1".to_owned(), |r| r.to_string())
        };
        let t = &m.traffic;
        let last_error = m
            .error
            .map_or_else(|| "&nbsp;".to_owned(), |e| html_time(e.at));
        let _ = writeln!(
            self.out,
            "]&nbsp;</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{} ({}/sec)</td><td>{} ({}/sec)</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{} ({}/sec)</td><td>{} ({}/sec)</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.name),
            m.activation.status_name(),
            match m.health {
                crate::balancer::Health::Unchecked => m.state.status_name().to_owned(),
                health => format!("{} health {}", m.state.status_name(), health.status_name()),
            },
            m.distance,
            m.lbfactor,
            m.lb_mult,
            m.lb_value,
            m.elected,
            rate(m.elected),
            m.sessions,
            rate(m.sessions),
            m.errors,
            t.client_errors,
            t.reply_timeouts,
            size(t.transferred),
            per_second(t.transferred, m.last_reset_ago),
            size(t.read),
            per_second(t.read, m.last_reset_ago),
            t.busy,
            t.max_busy,
            t.connected,
            t.max_connected,
            escape(&m.route),
            or_nbsp(&m.redirect),
            or_nbsp(&m.domain),
            m.time_to_recover_min,
            m.time_to_recover_max,
            m.last_reset_ago,
            last_error
        );
    }

    fn ajp(&mut self, a: &AjpView) {
        self.title_links(&a.name);
        let view = self.current_view();
        let view: Vec<(&str, &str)> = view.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if self.opt & OPT_NO_AJP_CONF == 0 {
            self.out.push_str("<table>");
            self.conf_head(false, &view);
            self.conf_row(None, &a.conf);
            self.out.push_str("</table>\n<br/>\n");
        } else {
            self.out.push_str("<p>\n");
            self.link("Show AJP Configuration", &view, 0, OPT_NO_AJP_CONF);
            self.out.push_str("</p>\n");
        }
        let rate = |n: u64| {
            n.checked_div(a.last_reset_ago)
                .map_or_else(|| "-1".to_owned(), |r| r.to_string())
        };
        let t = &a.traffic;
        let last_error = a
            .error
            .map_or_else(|| "&nbsp;".to_owned(), |e| html_time(e.at));
        let _ = writeln!(
            self.out,
            "<table><tr valign=\"bottom\"><th>State</th><th>Acc</th><th>Err</th><th>CE</th>\
             <th>RE</th><th>Wr</th><th>Rd</th><th>Busy</th><th>MaxBusy</th><th>Con</th>\
             <th>MaxCon</th><th>LR</th><th>LE</th></tr>\n<tr><td>{}</td><td>{} ({}/sec)</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{} ({}/sec)</td><td>{} ({}/sec)</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>",
            a.state,
            a.used,
            rate(a.used),
            a.errors,
            t.client_errors,
            t.reply_timeouts,
            size(t.transferred),
            per_second(t.transferred, a.last_reset_ago),
            size(t.read),
            per_second(t.read, a.last_reset_ago),
            t.busy,
            t.max_busy,
            t.connected,
            t.max_connected,
            a.last_reset_ago,
            last_error
        );
        self.maps(&a.name, &a.maps);
    }

    fn maps(&mut self, worker: &str, maps: &[MapView]) {
        if self.opt & OPT_NO_MAPS != 0 {
            if !maps.is_empty() {
                self.out.push_str("<p>\n");
                self.link("Show URI Mappings", &[], 0, OPT_NO_MAPS);
                self.out.push_str("</p>\n");
            }
            return;
        }
        if maps.is_empty() {
            let _ = writeln!(
                self.out,
                "<hr/><h3>Warning: No URI Mappings defined for {} !</h3>",
                escape(worker)
            );
            return;
        }
        let _ = write!(
            self.out,
            "<hr/><h3>URI Mappings for {} ({} maps) [",
            escape(worker),
            maps.len()
        );
        self.link("Hide", &[], OPT_NO_MAPS, 0);
        self.out.push_str(
            "]</h3><table>\n<tr valign=\"bottom\"><th>Server</th><th>URI</th><th>Match<br/>\
             Type</th><th>Source</th><th>Reply<br/>Timeout</th><th>Sticky<br/>Ignore</th>\
             <th>Stateless</th><th>Fail on<br/>Status</th><th>Active</th><th>Disabled</th>\
             <th>Stopped</th><th>Use Server<br/>Errors</th></tr>\n",
        );
        for m in maps {
            let _ = writeln!(
                self.out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.server),
                escape(&m.uri),
                m.kind,
                m.source,
                m.reply_timeout,
                u8::from(m.sticky_ignore),
                u8::from(m.stateless),
                or_dash(&m.fail_on_status),
                or_dash(&m.active),
                or_dash(&m.disabled),
                or_dash(&m.stopped),
                m.use_server_errors
            );
        }
        self.out.push_str("</table>\n");
    }

    /// The edit form of an lb's own settings.
    pub fn edit_lb(&mut self, lb: &LbView) {
        let _ = writeln!(
            self.out,
            "<hr/><h3>Edit load balancer settings for {}</h3>",
            escape(&lb.name)
        );
        self.update_form_start(&lb.name, None, None);
        self.out.push_str("<table>\n");
        for (label, name, value) in [
            ("Retries", "vlr", u64::from(lb.retries)),
            ("Retry Interval", "vlri", lb.retry_interval),
            ("Recover Wait Time", "vlt", lb.recover_time),
            ("Error Escalation Time", "vlee", lb.error_escalation_time),
            ("Max Reply Timeouts", "vlx", lb.max_reply_timeouts),
        ] {
            self.text_field(label, name, &value.to_string(), false);
        }
        for (label, name, on) in [
            ("Sticky Sessions", "vls", lb.sticky_session),
            ("Force Sticky Sessions", "vlf", lb.sticky_session_force),
        ] {
            // A hidden "0" first: an unchecked box sends nothing, a checked one then
            // overrides it (the last repeated key wins).
            let _ = writeln!(
                self.out,
                "<tr><td>{label}:</td><td><input name=\"{name}\" type=\"hidden\" value=\"0\"/>\
                 <input name=\"{name}\" type=\"checkbox\" value=\"1\"{}/></td></tr>",
                checked(on)
            );
        }
        self.out.push_str("<tr><td>LB Method:</td><td></td></tr>\n");
        for (i, text) in ["Requests", "Traffic", "Busyness", "Sessions", "Next"]
            .iter()
            .enumerate()
        {
            let on = lb.method.status_name().starts_with(&text[..4]);
            self.radio(text, "vlm", i, on);
        }
        self.out.push_str("<tr><td>Locking:</td><td></td></tr>\n");
        for (i, text) in ["Optimistic", "Pessimistic"].iter().enumerate() {
            self.radio(text, "vll", i, lb.lock.status_name() == *text);
        }
        self.out
            .push_str("</table>\n<br/><input type=\"submit\" value=\"Update Balancer\"/></form>\n");
    }

    /// The edit form of one member (`lb` given) or plain ajp worker.
    pub fn edit_member(&mut self, worker: &str, member: Option<&MemberView>, conf: &AjpConf) {
        let name = member.map_or(worker, |m| m.name.as_str());
        let _ = writeln!(
            self.out,
            "<hr/><h3>Edit worker settings for {}</h3>",
            escape(name)
        );
        self.update_form_start(worker, member.map(|m| m.name.as_str()), None);
        if let Some(m) = member {
            self.out.push_str(
                "<table><tbody valign=\"baseline\"><tr><th>Balancing related settings</th>\n\
                 <th>&nbsp;&nbsp;</th><th>AJP settings</th>\n</tr>\n<tr><td><table>\n\
                 <tr><td>Activation:</td><td></td></tr>\n",
            );
            for (i, (text, code)) in [("Active", "ACT"), ("Disabled", "DIS"), ("Stopped", "STP")]
                .iter()
                .enumerate()
            {
                self.radio(text, "vwa", i, m.activation.status_name() == *code);
            }
            self.text_field("LB Factor", "vwf", &m.lbfactor.to_string(), false);
            self.text_field("Route", "vwn", &m.route, true);
            self.text_field("Redirect Route", "vwr", &m.redirect, true);
            self.text_field("Cluster Domain", "vwc", &m.domain, true);
            self.text_field("Distance", "vwd", &m.distance.to_string(), false);
            self.out.push_str("</table>\n</td><td></td><td>\n");
        }
        self.out.push_str("<table>\n");
        self.text_field("Hostname", "vahst", &conf.host, true);
        for (label, param, value) in [
            ("Port", "vaprt", u64::from(conf.port)),
            (
                "Connection Pool Timeout",
                "vacpt",
                conf.connection_pool_timeout,
            ),
            ("Ping Timeout", "vapng", conf.ping_timeout),
            ("Connect Timeout", "vact", conf.connect_timeout),
            ("Prepost Timeout", "vapt", conf.prepost_timeout),
            ("Reply Timeout", "vart", conf.reply_timeout),
            ("Retries", "var", u64::from(conf.retries)),
            ("Retry Interval", "vari", conf.retry_interval),
            (
                "Connection Ping Interval",
                "vacpi",
                conf.connection_ping_interval,
            ),
            ("Recovery Options", "varo", u64::from(conf.recovery_options)),
            ("Busy Limit", "vabl", u64::from(conf.busy_limit)),
            ("Max Packet Size", "vamps", u64::from(conf.max_packet_size)),
        ] {
            self.text_field(label, param, &value.to_string(), false);
        }
        self.out.push_str("</table>\n");
        if member.is_some() {
            self.out.push_str("</td></tr></tbody></table>\n");
        }
        self.out
            .push_str("<br/><input type=\"submit\" value=\"Update Worker\"/>\n</form>\n");
    }

    /// The "one attribute for all members" form.
    pub fn edit_attribute(&mut self, lb: &LbView, attribute: &str) {
        let Some((_, label)) = ATTRIBUTES.iter().find(|(a, _)| *a == attribute) else {
            let _ = writeln!(
                self.out,
                "<hr/><h3>Unknown attribute '{}' for the members of load balancer {}</h3>",
                escape(attribute),
                escape(&lb.name)
            );
            return;
        };
        let _ = writeln!(
            self.out,
            "<hr/><h3>Edit attribute '{label}' for all members of load balancer {}</h3>",
            escape(&lb.name)
        );
        self.update_form_start(&lb.name, None, Some(attribute));
        let _ = write!(
            self.out,
            "<table><tr><th>Balanced Worker</th><th>{label}</th></tr>"
        );
        for m in &lb.members {
            let field = format!("val{}", m.index);
            let _ = writeln!(self.out, "<tr><td>{}</td><td>", escape(&m.name));
            let c = &m.conf;
            let value = match attribute {
                "vwa" => {
                    let parts: Vec<String> = [
                        ("Active", "ACT"),
                        ("Disabled", "DIS"),
                        ("Stopped", "STP"),
                    ]
                    .iter()
                    .enumerate()
                    .map(|(i, (text, code))| {
                        format!(
                            "{text}:&nbsp;<input name=\"{field}\" type=\"radio\" value=\"{i}\"{}/>",
                            checked(m.activation.status_name() == *code)
                        )
                    })
                    .collect();
                    let _ = writeln!(self.out, "{}\n</td></tr>", parts.join("&nbsp;|&nbsp;\n"));
                    continue;
                }
                "vwf" => m.lbfactor.to_string(),
                "vwn" => m.route.clone(),
                "vwr" => m.redirect.clone(),
                "vwc" => m.domain.clone(),
                "vwd" => m.distance.to_string(),
                "vacpt" => c.connection_pool_timeout.to_string(),
                "vapng" => c.ping_timeout.to_string(),
                "vact" => c.connect_timeout.to_string(),
                "vapt" => c.prepost_timeout.to_string(),
                "vart" => c.reply_timeout.to_string(),
                "var" => c.retries.to_string(),
                "vari" => c.retry_interval.to_string(),
                "vacpi" => c.connection_ping_interval.to_string(),
                "varo" => c.recovery_options.to_string(),
                "vabl" => c.busy_limit.to_string(),
                _ => c.max_packet_size.to_string(),
            };
            let _ = writeln!(
                self.out,
                "<input name=\"{field}\" type=\"text\" value=\"{}\"/>\n</td></tr>",
                escape(&value)
            );
        }
        self.out
            .push_str("</table>\n<br/><input type=\"submit\" value=\"Update Balancer\"/></form>\n");
    }

    fn update_form_start(&mut self, worker: &str, sub_worker: Option<&str>, att: Option<&str>) {
        let _ = writeln!(self.out, "<form method=\"get\" action=\"{}\">", self.path);
        self.hidden("cmd", "update");
        self.hidden("w", worker);
        if let Some(sw) = sub_worker {
            self.hidden("sw", sw);
        }
        if let Some(att) = att {
            self.hidden("att", att);
        }
        if let Some(from) = self.params.get("from") {
            let from = from.to_owned();
            self.hidden("from", &from);
        }
        if self.opt != 0 {
            let opt = self.opt.to_string();
            self.hidden("opt", &opt);
        }
    }

    fn text_field(&mut self, label: &str, name: &str, value: &str, limited: bool) {
        let _ = writeln!(
            self.out,
            "<tr><td>{label}:</td><td><input name=\"{name}\" type=\"text\" value=\"{}\"{}/></td></tr>",
            escape(value),
            if limited { " maxlength=\"60\"" } else { "" }
        );
    }

    fn radio(&mut self, text: &str, name: &str, value: usize, on: bool) {
        let _ = writeln!(
            self.out,
            "<tr><td>&nbsp;&nbsp;{text}</td><td><input name=\"{name}\" type=\"radio\" \
             value=\"{value}\"{}/></td></tr>",
            checked(on)
        );
    }

    /// The configuration dump.
    pub fn dump(&mut self, pairs: &[(String, String)]) {
        self.out.push_str(
            "<hr/><h2>Configuration Data</h2><hr/>\nThis dump does not include any changes \
             applied by the status worker\nto the configuration after the initial startup\n<PRE>\n",
        );
        for (key, value) in pairs {
            let _ = writeln!(self.out, "{}={}", escape(key), escape(value));
        }
        self.out.push_str("</PRE>\n");
    }

    /// `cmd=route`: one table row per lb (jkgate's own command).
    pub fn routes(&mut self, routes: &[super::model::RouteView]) {
        self.out.push_str(
            "<hr/><h2>Session Routing</h2>\n<table><tr><th>Balancer</th><th>Session ID</th>\
             <th>Session Route</th><th>Member</th><th>Route</th><th>Sent Route</th><th>Act</th>\
             <th>State</th><th>Health</th><th>Sticky</th><th>Reason</th><th>Why</th></tr>\n",
        );
        for r in routes {
            let _ = writeln!(
                self.out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.lb),
                escape(&r.session_id),
                or_nbsp(&r.session_route),
                or_dash(&r.member),
                or_nbsp(&r.route),
                or_nbsp(&r.sent_route),
                or_nbsp(&r.activation),
                or_nbsp(&r.state),
                or_nbsp(&r.health),
                super::format::boolean(r.sticky),
                escape(&r.reason),
                escape(&r.why)
            );
        }
        self.out.push_str("</table>\n");
    }

    /// The legend (list and show), unless hidden.
    pub fn legend(&mut self) {
        if self.opt & OPT_NO_LEGEND != 0 {
            self.out.push_str("<p>\n");
            self.link("Show Legend", &[], 0, OPT_NO_LEGEND);
            self.out.push_str("</p>\n");
            return;
        }
        self.out.push_str("<h2>Legend [");
        self.link("Hide", &[], OPT_NO_LEGEND, 0);
        self.out
            .push_str("]</h2>\n<table>\n<tbody valign=\"baseline\">\n");
        for (name, text) in [
            ("Name", "Worker name"),
            ("Type", "Worker type"),
            ("Route", "Worker route"),
            (
                "Act",
                "Worker activation configuration<br/>\nACT=Active, DIS=Disabled, STP=Stopped",
            ),
            (
                "State",
                "Worker error status<br/>\nOK=OK, ERR=Error with substates<br/>\nIDLE=No \
                 requests handled, BUSY=All connections busy,<br/>\nREC=Recovering, \
                 PRB=Probing, FRC=Forced Recovery",
            ),
            ("D", "Worker distance"),
            ("F", "Load Balancer factor"),
            ("M", "Load Balancer multiplicity"),
            ("V", "Load Balancer value"),
            ("Acc", "Number of requests"),
            ("Sess", "Number of sessions created"),
            ("Err", "Number of failed requests"),
            ("CE", "Number of client errors"),
            ("RE", "Number of reply timeouts (decayed)"),
            ("Wr", "Number of bytes transferred"),
            ("Rd", "Number of bytes read"),
            ("Busy", "Current number of busy connections"),
            ("MaxBusy", "Maximum number of busy connections"),
            ("Con", "Current number of backend connections"),
            ("MaxCon", "Maximum number of backend connections"),
            ("RR", "Route redirect"),
            ("Cd", "Cluster domain"),
            ("Rs", "Recovery scheduled in app. min/max seconds"),
            ("LR", "Seconds since last reset of statistics counters"),
            ("LE", "Timestamp of the last error"),
        ] {
            let _ = writeln!(self.out, "<tr><th>{name}</th><td>{text}</td></tr>");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    /// The page after a successful action: redirect back in 3 seconds.
    pub fn redirect(&mut self) {
        let from = match self.params.get("from") {
            Some("show") => "show",
            _ => "list",
        };
        let w = self.params.get("w").unwrap_or_default().to_owned();
        let mut query = vec![("cmd", from), ("w", w.as_str())];
        let psw = self.params.get("psw").unwrap_or_default().to_owned();
        if from == "show" {
            query.push(("sw", psw.as_str()));
        }
        let url = self.url(&query, 0, 0);
        self.out.push_str(HEAD);
        let _ = write!(
            self.out,
            "\n<meta http-equiv=\"Refresh\" content=\"3;url={url}\"></head>\n<body>\n\
             <p><b>Result: OK - You will be redirected in 3 seconds.</b><p/>"
        );
    }

    /// An error result (after whatever was written).
    pub fn error(&mut self, message: &str) {
        if !self.out.contains("<body>") {
            self.out.push_str(HEAD);
            self.out.push_str("</head>\n<body>\n");
        }
        let _ = write!(
            self.out,
            "<p><b>Result: ERROR - {}</b><br/><a href=\"{}\">JK Status Manager Start Page</a></p>",
            escape(message),
            self.path
        );
    }

    /// The start-page link, the footer, and the end of the document.
    pub fn finish(mut self, ok: bool) -> String {
        if ok {
            let _ = write!(
                self.out,
                "<p><a href=\"{}\">JK Status Manager Start Page</a></p>",
                self.path
            );
        }
        if self.css.is_some() {
            let _ = writeln!(self.out, "<hr/><div class=\"footer\">{FOOTER}</div>");
        } else {
            let _ = writeln!(
                self.out,
                "<hr/><p align=\"center\"><small>{FOOTER}</small></p>"
            );
        }
        self.out.push_str("</body>\n</html>\n");
        self.out
    }
}

fn checked(on: bool) -> &'static str {
    if on { " checked=\"checked\"" } else { "" }
}

fn or_nbsp(text: &str) -> String {
    if text.is_empty() {
        "&nbsp;".to_owned()
    } else {
        escape(text)
    }
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        escape(text)
    }
}

fn per_second(total: u64, seconds: u64) -> String {
    total
        .checked_div(seconds)
        .map_or_else(|| "-".to_owned(), size)
}

/// A byte count as APR's `apr_strfsize` prints it (`973 `, `1.2K`, `35M`).
pub fn size(bytes: u64) -> String {
    const UNITS: &[u8] = b"KMGTPE";
    if bytes < 973 {
        return format!("{bytes} ");
    }
    let mut size = bytes;
    let mut unit = 0;
    loop {
        let remain = size & 0x3FF;
        size >>= 10;
        if size >= 973 {
            unit += 1;
            continue;
        }
        let letter = char::from(UNITS[unit.min(UNITS.len() - 1)]);
        if size < 9 || (size == 9 && remain < 973) {
            let mut tenth = (remain * 5 + 256) / 512;
            let mut whole = size;
            if tenth >= 10 {
                whole += 1;
                tenth = 0;
            }
            return format!("{whole}.{tenth}{letter}");
        }
        let whole = if remain >= 512 { size + 1 } else { size };
        return format!("{whole}{letter}");
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_like_apr() {
        assert_eq!(size(0), "0 ");
        assert_eq!(size(972), "972 ");
        assert_eq!(size(1024), "1.0K");
        assert_eq!(size(1536), "1.5K");
        assert_eq!(size(20 * 1024), "20K");
        assert_eq!(size(3 * 1024 * 1024), "3.0M");
        assert_eq!(size(u64::MAX), "16E");
    }
}
