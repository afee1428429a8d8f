//! What the three machine formats (`txt`, `prop`, `xml`) have in common: the order of the
//! records (mod_jk.md §5.5, §5.7). Each format writes the same records with its own
//! syntax and key quirks; [`write_listing`] and friends drive them.

use super::model::{AjpView, Header, LbView, MapView, MemberView, RouteView, WorkerView};
use super::query::{OPT_NO_AJP, OPT_NO_LB, OPT_NO_MAPS, OPT_NO_MEMBERS};

/// One machine-readable output format.
pub trait Format {
    /// Starts the document.
    fn begin(&mut self);
    /// The server record (always written unless the command is an action).
    fn server(&mut self, header: &Header);
    /// The time and software records.
    fn head(&mut self, header: &Header);
    /// Starts the list of `count` lb workers.
    fn lb_list_start(&mut self, count: usize);
    /// Ends the list of lb workers.
    fn lb_list_end(&mut self);
    /// Starts one lb worker.
    fn lb_start(&mut self, lb: &LbView);
    /// One member of `lb`.
    fn member(&mut self, lb: &LbView, member: &MemberView);
    /// Ends one lb worker.
    fn lb_end(&mut self, lb: &LbView);
    /// Starts the list of `count` ajp workers.
    fn ajp_list_start(&mut self, count: usize);
    /// Ends the list of ajp workers.
    fn ajp_list_end(&mut self);
    /// One ajp worker.
    fn ajp(&mut self, ajp: &AjpView);
    /// One mount rule of `worker`.
    fn map(&mut self, worker: &str, map: &MapView);
    /// The configuration dump.
    fn dump(&mut self, pairs: &[(String, String)]);
    /// Where a session id would go now on one lb (`cmd=route`, jkgate's own).
    fn route(&mut self, route: &RouteView);
    /// The result record: `None` for OK, else the error message.
    fn result(&mut self, error: Option<&str>);
    /// Ends the document and returns it.
    fn finish(self: Box<Self>) -> String;
}

/// Writes one worker (`show`, or an entry of `list`).
pub fn write_worker(out: &mut dyn Format, worker: &WorkerView, opt: u32) {
    match worker {
        WorkerView::Lb(lb) => {
            out.lb_start(lb);
            if opt & OPT_NO_MEMBERS == 0 {
                for member in &lb.members {
                    out.member(lb, member);
                }
            }
            if opt & OPT_NO_MAPS == 0 {
                for map in &lb.maps {
                    out.map(&lb.name, map);
                }
            }
            out.lb_end(lb);
        }
        WorkerView::Ajp(ajp) => {
            out.ajp(ajp);
            if opt & OPT_NO_MAPS == 0 {
                for map in &ajp.maps {
                    out.map(&ajp.name, map);
                }
            }
        }
    }
}

/// The `Result` record of an answer: type `OK` with mod_jk's "Action finished", or type
/// `ERROR` with the message.
pub fn result_of(error: Option<&str>) -> (&'static str, &str) {
    match error {
        None => ("OK", "Action finished"),
        Some(message) => ("ERROR", message),
    }
}

/// The workers split into lb workers and ajp13 workers, each in `worker.list` order.
pub fn lb_and_ajp_workers(workers: &[WorkerView]) -> (Vec<&WorkerView>, Vec<&WorkerView>) {
    workers.iter().partition(|w| matches!(w, WorkerView::Lb(_)))
}

/// Writes the `list` command's body: lb workers, then ajp workers, each group only when
/// it is not empty and not hidden by `opt`.
pub fn write_listing(out: &mut dyn Format, workers: &[WorkerView], opt: u32) {
    let (lbs, ajps) = lb_and_ajp_workers(workers);
    if !lbs.is_empty() && opt & OPT_NO_LB == 0 {
        out.lb_list_start(lbs.len());
        for worker in lbs {
            write_worker(out, worker, opt);
        }
        out.lb_list_end();
    }
    if !ajps.is_empty() && opt & OPT_NO_AJP == 0 {
        out.ajp_list_start(ajps.len());
        for worker in ajps {
            write_worker(out, worker, opt);
        }
        out.ajp_list_end();
    }
}

/// `True`/`False`.
pub fn boolean(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}
