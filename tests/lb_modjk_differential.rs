//! Differential test of the lb decisions: the same workers.properties and the same request
//! sequence (cookies and `;jsessionid=` included) sent to real Apache httpd + mod_jk 1.2.48
//! and to the `jkgate` binary, both in front of the same three Tomcat nodes (jvmRoute
//! node1..node3), must reach the same member for every request.
//!
//! The serving member is read from the page (`/app/echo` prints the node's jvmRoute). One
//! httpd + mod_jk and one jkgate per lb configuration (methods Request, Session, Next,
//! Busyness, and Request with unequal `lbfactor`s), each pair fed the same sequence one
//! request at a time. httpd runs a single child process (the fixture's `ServerLimit 1`),
//! so mod_jk's lb state (shm counters, the per-process rotation offset) evolves as
//! deterministically as jkgate's. `worker.maintain` is set far beyond the test's length so
//! that no load decay happens at different moments in the two proxies.
//!
//! Phase 1 has every node up; then node2 is killed (SIGKILL) and phase 2 compares the
//! fail-over choices: sticky requests for node2's sessions, cookie-less requests after
//! node2's error, several-cookie requests whose first route is dead. The routing cookies
//! (`set_session_cookie`) are compared too.
//!
//! Last, requests cut off by their member's death (killed while Tomcat works on them):
//! a POST with a body is replayed by neither; a bodiless GET is sent to another member by
//! both (jkgate's `Replay safe` re-sends idempotent requests without a body, as mod_jk's
//! default `recovery_options=0` does).
//!
//! Differences this test found and jkgate now follows (mod_jk 1.2.48 wins): a fail-over
//! attempt within one request considers only the first session id candidate; a request
//! whose session member is unusable is no longer sticky (it gets the routing cookie).
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/modjk.rs"]
mod modjk;

use std::fmt::Write as _;

use gate::Gate;
use modjk::{ModJk, ModJkSetup};
use tomcat::{TomcatCluster, TomcatOptions, http_request};

/// One request of the sequence.
#[derive(Clone, Debug)]
enum Req {
    /// No session id at all.
    Plain,
    /// `Cookie: JSESSIONID=<id>`.
    Cookie(String),
    /// `/app/echo;jsessionid=<id>`, no cookie.
    Path(String),
    /// `/app/echo;jsessionid=<path id>` with `Cookie: JSESSIONID=<cookie id>`.
    PathAndCookie(String, String),
    /// A raw `Cookie` header (several session cookies).
    RawCookie(String),
}

impl Req {
    fn target(&self) -> String {
        match self {
            Req::Path(id) | Req::PathAndCookie(id, _) => format!("/app/echo;jsessionid={id}"),
            _ => "/app/echo".to_owned(),
        }
    }

    fn cookie(&self) -> Option<String> {
        match self {
            Req::Cookie(id) | Req::PathAndCookie(_, id) => Some(format!("JSESSIONID={id}")),
            Req::RawCookie(raw) => Some(raw.clone()),
            _ => None,
        }
    }

    fn label(&self) -> String {
        match self {
            Req::Plain => "no session".to_owned(),
            Req::Cookie(id) => format!("cookie {id}"),
            Req::Path(id) => format!(";jsessionid={id}"),
            Req::PathAndCookie(p, c) => format!(";jsessionid={p} + cookie {c}"),
            Req::RawCookie(raw) => format!("Cookie: {raw}"),
        }
    }
}

/// The member (jvmRoute) that answered `req` on `port`, or `status N` if it was no 200,
/// followed by the routing cookies the lb added (`set_session_cookie`; the echo page sets
/// none itself).
fn member(port: u16, req: &Req) -> String {
    let cookie = req.cookie();
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    let reply = http_request(port, "GET", &req.target(), &headers, b"")
        .unwrap_or_else(|e| panic!("{} on port {port}: {e}", req.label()));
    let mut answer = if reply.status == 200 {
        reply.kv().req("jvmRoute").to_owned()
    } else {
        format!("status {}", reply.status)
    };
    for cookie in reply.header_values("Set-Cookie") {
        answer.push_str(" +");
        answer.push_str(cookie);
    }
    answer
}

/// One lb configuration in front of the cluster, as mod_jk and as jkgate.
struct Pair {
    name: &'static str,
    modjk: ModJk,
    gate: Gate,
}

impl Pair {
    fn start(name: &'static str, workers: String) -> Pair {
        let modjk = ModJk::start_setup(ModJkSetup {
            workers_properties: workers.clone(),
            mounts: vec![("/app/*".to_owned(), "lb".to_owned())],
            ..ModJkSetup::default()
        })
        .unwrap_or_else(|f| panic!("httpd + mod_jk ({name}) did not start:\n{}", f.all_text()));
        let gate = Gate::start(name, &workers);
        Pair { name, modjk, gate }
    }

    /// Sends `sequence` to both, one request at a time; panics with a table of every
    /// request if any member differs.
    fn compare(&self, phase: &str, sequence: &[Req]) {
        let mut rows = Vec::new();
        let mut differ = false;
        for req in sequence {
            let theirs = member(self.modjk.port, req);
            let ours = member(self.gate.port, req);
            differ |= theirs != ours;
            rows.push((req.label(), theirs, ours));
        }
        let mut table = String::new();
        for (i, (label, theirs, ours)) in rows.iter().enumerate() {
            let mark = if theirs == ours { "" } else { "   <-- differs" };
            let _ = writeln!(
                table,
                "{:>3}  {label:<60} mod_jk {theirs:<8} jkgate {ours:<8}{mark}",
                i + 1
            );
        }
        eprintln!("lb '{}', {phase}:\n{table}", self.name);
        if differ {
            panic!(
                "lb '{}', {phase}: jkgate chose other members than mod_jk\n{table}\n\
                 --- mod_jk log tail ---\n{}\n--- jkgate log tail ---\n{}",
                self.name,
                gate::tail(&self.modjk.jk_log(), 30),
                gate::tail(&self.gate.error_log(), 30)
            );
        }
    }
}

/// A session id created directly on `route` (Tomcat's HTTP connector).
fn session_on(cluster: &TomcatCluster, route: &str) -> String {
    let reply = cluster.node(route).http_get("/app/session");
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.kv().req("sessionId").to_owned()
}

#[test]
fn lb_choices_and_replays_of_cut_requests_match_mod_jk() {
    let mut cluster = TomcatCluster::start(3, TomcatOptions::default());
    let s1 = session_on(&cluster, "node1");
    let s2 = session_on(&cluster, "node2");
    let s3 = session_on(&cluster, "node3");
    let base = format!("{}worker.maintain=3600\n", cluster.workers_properties("lb"));
    let configs: [(&'static str, &str); 14] = [
        ("request", "worker.lb.method=R\n"),
        ("session", "worker.lb.method=S\n"),
        ("next", "worker.lb.method=N\n"),
        ("busyness", "worker.lb.method=B\n"),
        (
            "request-factors",
            "worker.lb.method=R\nworker.node1.lbfactor=1\nworker.node2.lbfactor=2\n\
             worker.node3.lbfactor=3\n",
        ),
        ("node2-disabled", "worker.node2.activation=D\n"),
        ("node2-stopped", "worker.node2.activation=S\n"),
        ("node2-redirect", "worker.node2.redirect=node3\n"),
        (
            "domains",
            "worker.node1.domain=dA\nworker.node2.domain=dA\nworker.node3.domain=dB\n",
        ),
        ("node1-distance", "worker.node1.distance=1\n"),
        ("sticky-force", "worker.lb.sticky_session_force=true\n"),
        ("routing-cookie", "worker.lb.set_session_cookie=true\n"),
        (
            "redirect-cookie",
            "worker.lb.set_session_cookie=true\nworker.node2.redirect=node3\n",
        ),
        (
            "domains-cookie",
            "worker.lb.set_session_cookie=true\nworker.node1.domain=dA\n\
             worker.node2.domain=dA\nworker.node3.domain=dB\n",
        ),
    ];
    let pairs: Vec<Pair> = configs
        .iter()
        .map(|(name, extra)| Pair::start(name, format!("{base}{extra}")))
        .collect();

    use Req::*;
    let unknown = "0123456789ABCDEF.node9".to_owned();
    let no_route = "0123456789ABCDEF".to_owned();
    let phase1 = vec![
        Plain,
        Plain,
        Cookie(s2.clone()),
        Plain,
        Path(s3.clone()),
        Plain,
        Cookie(unknown.clone()),
        Plain,
        Cookie(s2.clone()),
        Cookie(s2.clone()),
        Plain,
        Cookie(no_route.clone()),
        Plain,
        Path(s3.clone()),
        RawCookie(format!("JSESSIONID={unknown}; JSESSIONID={s1}")),
        Plain,
        Plain,
        Cookie(s2.clone()),
        Path("ABC.node9".to_owned()),
        Plain,
        PathAndCookie(s3.clone(), s2.clone()),
        Plain,
        Plain,
        Cookie(no_route.clone()),
        Cookie(s1.clone()),
        Plain,
        RawCookie(format!("JSESSIONID={no_route}; JSESSIONID={s3}")),
        Plain,
        Plain,
        Plain,
        Cookie(s2.clone()),
        Plain,
    ];
    for pair in &pairs {
        pair.compare("all nodes up", &phase1);
    }

    cluster.node_mut("node2").kill();
    let phase2 = vec![
        Cookie(s2.clone()),
        Plain,
        Plain,
        Path(s3.clone()),
        Plain,
        Cookie(s2.clone()),
        Plain,
        Cookie(unknown.clone()),
        Plain,
        Plain,
        RawCookie(format!("JSESSIONID={s2}; JSESSIONID={s3}")),
        Plain,
        Cookie(s1.clone()),
        Plain,
        Path(s2.clone()),
        Plain,
        Plain,
        Cookie(s2.clone()),
        Cookie(no_route.clone()),
        Plain,
        Plain,
        PathAndCookie(s2.clone(), s1.clone()),
        Plain,
    ];
    for pair in &pairs {
        pair.compare("node2 killed", &phase2);
    }
    drop(pairs);

    cluster.restart_node("node2");
    cut_requests(&mut cluster, &base, &s1);
}

/// A request cut off by the death of its member while Tomcat works on it (mod_jk.md §4.7).
///
/// Observed with mod_jk 1.2.48 and `recovery_options=0`: a request whose body mod_jk sent
/// (POST, 2000 bytes) is "unrecoverable": 502, no other member sees it. A bodiless GET is
/// sent again to another member, which executes it a second time: 200. jkgate (`Replay
/// safe`, the default) does the same for both: a GET without a body is idempotent (RFC 9110
/// section 9.2.2), a POST is not and is never sent to a second member.
fn cut_requests(cluster: &mut TomcatCluster, workers: &str, s1: &str) {
    let body = tomcat::pattern_bytes(2000);
    let cases: [(&str, &[u8], bool); 2] = [("POST", &body, false), ("GET", b"", true)];
    for (method, body, replayed) in cases {
        // mod_jk
        let modjk = ModJk::start_setup(ModJkSetup {
            workers_properties: workers.to_owned(),
            mounts: vec![("/app/*".to_owned(), "lb".to_owned())],
            ..ModJkSetup::default()
        })
        .unwrap_or_else(|f| panic!("httpd + mod_jk did not start:\n{}", f.all_text()));
        let mark = format!("{method}-cut-under-modjk");
        let cut = gate::cut_by_kill(modjk.port, cluster, "node1", s1, (method, body), &mark);
        let replayed_on = others_that_saw(cluster, &mark);
        if replayed {
            assert_eq!(
                cut.reply.status,
                200,
                "mod_jk replays the cut {method}: {}\n{}",
                cut.reply.text(),
                gate::tail(&modjk.jk_log(), 20)
            );
            let kv = cut.reply.kv();
            assert_eq!(kv.req("method"), method);
            assert_eq!(replayed_on, vec![kv.req("jvmRoute").to_owned()]);
        } else {
            assert_eq!(
                (cut.reply.status, replayed_on.as_slice()),
                (502, &[][..]),
                "mod_jk does not replay a cut {method} whose body it sent: {}\n{}",
                cut.reply.text(),
                gate::tail(&modjk.jk_log(), 20)
            );
        }
        drop(modjk);
        cluster.restart_node("node1");

        // jkgate, started after the restart (no pooled connection to the old node1).
        let jkgate = Gate::start("cut", workers);
        let mark = format!("{method}-cut-under-jkgate");
        let cut = gate::cut_by_kill(jkgate.port, cluster, "node1", s1, (method, body), &mark);
        let replayed_on = others_that_saw(cluster, &mark);
        if replayed {
            assert_eq!(
                cut.reply.status,
                200,
                "jkgate replays the cut {method}, as mod_jk does: {}\n{}",
                cut.reply.text(),
                gate::tail(&jkgate.error_log(), 20)
            );
            let kv = cut.reply.kv();
            assert_eq!(kv.req("method"), method);
            assert_eq!(replayed_on, vec![kv.req("jvmRoute").to_owned()]);
        } else {
            assert_eq!(
                (cut.reply.status, replayed_on.as_slice()),
                (502, &[][..]),
                "jkgate never sends a {method} with a body to a second member: {}\n{}",
                cut.reply.text(),
                gate::tail(&jkgate.error_log(), 20)
            );
        }
        drop(jkgate);
        cluster.restart_node("node1");
    }
}

/// The running nodes other than node1 whose echo servlet recorded `mark`.
fn others_that_saw(cluster: &TomcatCluster, mark: &str) -> Vec<String> {
    ["node2", "node3"]
        .into_iter()
        .filter(|n| cluster.node(n).marks().iter().any(|m| m == mark))
        .map(str::to_owned)
        .collect()
}
