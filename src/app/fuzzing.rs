//! Entry point for the status worker's fuzz target (and its corpus replay): any bytes as
//! the query strings and `Authorization` headers of status requests; never a panic.
//!
//! Each input gets a fresh gateway, assembled as `jkgate run` assembles one, so the state
//! its `update`, `reset` and `recover` commands change never leaks into the next input and
//! every finding replays alone.

use std::net::{Ipv4Addr, SocketAddr};

use super::assemble;
use crate::config::RunSettings;
use crate::server::status_page::into_response;
use crate::status::query::Params;
use crate::status::{Generation, StatusReply, StatusRequest};

/// The workers every input talks to: an lb with three members (one stopped, one with a
/// route that names a domain), a plain ajp13 worker, and a status worker with users.
const WORKERS: &str = "worker.list=jkstatus,lb,solo\n\
    worker.jkstatus.type=status\n\
    worker.jkstatus.user=alice,bob\n\
    worker.jkstatus.user_case_insensitive=true\n\
    worker.jkstatus.good=a*,r\n\
    worker.jkstatus.bad=e*\n\
    worker.lb.type=lb\n\
    worker.lb.balance_workers=node1,node2,node3\n\
    worker.node1.host=127.0.0.1\n\
    worker.node1.port=1\n\
    worker.node2.host=127.0.0.1\n\
    worker.node2.port=2\n\
    worker.node2.route=n2.east\n\
    worker.node3.host=127.0.0.1\n\
    worker.node3.port=3\n\
    worker.node3.activation=S\n\
    worker.solo.host=127.0.0.1\n\
    worker.solo.port=4\n";

/// Mount rules shown by the status pages.
const MOUNTS: [&str; 3] = ["/jkstatus=jkstatus", "/app/*=lb", "/solo|/*=solo"];

/// Answers up to eight status requests, one per line of `data`: the query string, then
/// optionally a tab and the `Authorization` header value.
pub fn status_requests(data: &[u8]) {
    for reply in answer(data) {
        assert!(reply.content_type.starts_with("text/"));
        assert!(reply.challenge.is_some() || !reply.body.is_empty());
        let response = into_response(reply);
        assert!(matches!(response.status().as_u16(), 200 | 401));
    }
}

/// The replies to the requests of `data` (see [`status_requests`]), in order.
fn answer(data: &[u8]) -> Vec<StatusReply> {
    let unused = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut settings = RunSettings::from_workers_text("fuzz.properties", WORKERS, &MOUNTS, unused)
        .expect("the fixed workers.properties and mounts are valid");
    settings.status_users = [("alice", "secret"), ("bob", "builder")]
        .into_iter()
        .map(|(name, password)| crate::config::htpasswd::StatusUser {
            name: name.to_owned(),
            credential: crate::config::htpasswd::Credential::Plain(password.to_owned()),
            origin: None,
        })
        .collect();
    let gateway = assemble(&settings, Generation::first(), None)
        .expect("the fixed workers build")
        .commit();
    let worker = gateway
        .status
        .get("jkstatus")
        .expect("the status worker exists");
    let mounts = gateway.mounts.load();
    let mut replies = Vec::new();
    for line in data.split(|&b| b == b'\n').take(8) {
        let (query, authorization) = match line.iter().position(|&b| b == b'\t') {
            Some(tab) => (&line[..tab], Some(&line[tab + 1..])),
            None => (line, None),
        };
        let query = String::from_utf8_lossy(query);
        // A new host is resolved at once; the fuzzer must not drive the system resolver.
        if Params::parse(Some(&query)).get("vahst").is_some() {
            continue;
        }
        let request = StatusRequest {
            path: "/jkstatus",
            query: Some(&query),
            host: Some("fuzz.test:8080"),
            local_ip: "127.0.0.1",
            local_port: 8080,
            authorization,
        };
        replies.push(worker.handle(
            &crate::status::ServerMap::main(&mounts),
            &gateway.workers,
            &request,
        ));
    }
    replies
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn the_fixture_lets_alice_change_what_later_requests_of_one_input_see() {
        let replies = answer(
            b"cmd=update&w=lb&sw=node1&vwf=7&vart=500&mime=txt\tBasic YWxpY2U6c2VjcmV0\n\
              cmd=show&w=lb&sw=node1&mime=prop\tBasic YWxpY2U6c2VjcmV0\n\
              cmd=list\n\
              cmd=update&w=lb&sw=node1&vahst=elsewhere.test\tBasic YWxpY2U6c2VjcmV0",
        );
        assert_eq!(replies.len(), 3, "the vahst request is skipped");
        assert!(replies[0].body.contains("type=OK"), "{}", replies[0].body);
        assert!(replies[1].body.contains("worker.node1.lbfactor=7"));
        assert!(replies[1].body.contains("worker.node1.reply_timeout=500"));
        assert!(replies[2].challenge.is_some());
        // A fresh input starts from the file's settings again.
        let again = answer(b"cmd=show&w=lb&sw=node1&mime=prop\tBasic YWxpY2U6c2VjcmV0");
        assert!(again[0].body.contains("worker.node1.lbfactor=1"));
    }
}
