//! The client's real address, access rules and Upgrade requests on real parts: the `jkgate`
//! binary (`jkgate run --config DIR/jkgate.ini`) in front of a real Tomcat 10.1 node, with
//! curl (from 127.0.0.1 or 127.0.0.2, with headers, `--haproxy-protocol`, `--http2`) and
//! Debian's HAProxy in front (`send-proxy`, `send-proxy-v2`, `option forwardfor`).
//!
//! What Tomcat sees is the echo servlet's `request.getRemoteAddr()` / `getRemoteHost()` /
//! `getRemotePort()`, and the headers it received.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/reload.rs"]
mod reload;

#[path = "support/haproxy.rs"]
mod haproxy;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use haproxy::{Frontend, Haproxy};
use reload::ConfGate;
use tomcat::{KvReply, TomcatNode, TomcatOptions};

/// What curl got.
struct Curl {
    /// curl's exit code (0: a whole reply).
    code: i32,
    status: u16,
    body: Vec<u8>,
    stderr: String,
}

impl Curl {
    fn kv(&self) -> KvReply {
        KvReply::parse(&self.body)
    }
}

/// Runs `curl -s -S -i --max-time 20 ARGS...` and splits its reply.
fn curl(args: &[&str]) -> Curl {
    let output = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs (Debian's curl package)");
    let stdout = output.stdout;
    // The last head (after any 1xx) ends at the first blank line that starts a body.
    let mut rest = &stdout[..];
    let mut status = 0;
    while rest.starts_with(b"HTTP/") {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(rest.len(), |p| p + 4);
        let line = String::from_utf8_lossy(&rest[..end]);
        status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        rest = &rest[end..];
        if status >= 200 {
            break;
        }
    }
    Curl {
        code: output.status.code().unwrap_or(-1),
        status,
        body: rest.to_vec(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// GET `url` from the source address `from`, with headers; expects 200 from the webapp.
fn echo(from: &str, url: &str, headers: &[&str]) -> KvReply {
    let mut args = vec!["--interface", from];
    for header in headers {
        args.extend(["-H", header]);
    }
    args.push(url);
    let reply = curl(&args);
    assert_eq!(
        (reply.code, reply.status),
        (0, 200),
        "curl {args:?}: {}{}",
        reply.stderr,
        String::from_utf8_lossy(&reply.body)
    );
    reply.kv()
}

/// Sends `bytes` on a new connection to `addr` and reads until the server closes.
/// Waits (10 s at most) until the access log has a line ending in `Z {tail}` for every tail
/// (jkgate writes its lines off the request path, a few milliseconds later), and returns it.
fn access_log_with(dir: &std::path::Path, tails: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(dir.join("access.log")).unwrap_or_default();
        let all = tails
            .iter()
            .all(|tail| log.lines().any(|l| l.ends_with(&format!("Z {tail}"))));
        if all || std::time::Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(bytes).expect("send");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

fn workers(node: &TomcatNode) -> String {
    format!(
        "worker.list=node1,jkstatus\nworker.node1.type=ajp13\nworker.node1.host=127.0.0.1\n\
         worker.node1.port={}\nworker.jkstatus.type=status\n",
        node.ajp_port()
    )
}

/// The jkgate.ini of this test: `internal` is `RemoteIPInternalProxy`, `access` the
/// `[access]` section's lines.
fn ini(port: u16, pp_port: u16, internal: &str, access: &str) -> String {
    format!(
        "Listen = 127.0.0.1:{port}\nListen = 127.0.0.1:{pp_port}\n\
         RemoteIPProxyProtocol = 127.0.0.1:{pp_port}\n\
         RemoteIPHeader = X-Forwarded-For\nRemoteIPInternalProxy = {internal}\n\
         RemoteIPTrustedProxy = 203.0.113.7\nRemoteIPProxiesHeader = X-Forwarded-By\n\
         AccessLog = access.log\nJkRequestLogFormat = %a %U %s\n\
         JkWorkersFile = workers.properties\n\
         [mounts]\n/app/* = node1\n/jkstatus = jkstatus\n\
         [access]\n{access}"
    )
}

const ACCESS: &str = "/app/echo/admin = Require not ip 198.18.0.0/24\n\
                      /jkstatus = Require ip 127.0.0.1\n\
                      /jkstatus = Require not ip 127.0.0.2\n";

#[test]
fn client_address_access_rules_and_upgrades_on_tomcat() {
    let node = TomcatNode::start(TomcatOptions::with_route("node1"));
    let pp_port = tomcat::free_port();
    let mut gate = ConfGate::start("remoteip", false, |g| {
        g.write("workers.properties", workers(&node));
        g.write("jkgate.ini", ini(g.port, pp_port, "127.0.0.1", ACCESS));
    });
    let plain = format!("http://127.0.0.1:{}", gate.port);
    let proxied = format!("http://127.0.0.1:{pp_port}");
    let echo_url = format!("{plain}/app/echo");

    // (1) X-Forwarded-For from an internal proxy: Tomcat sees the client, the header is
    // consumed.
    let kv = echo("127.0.0.1", &echo_url, &["X-Forwarded-For: 198.18.0.9"]);
    assert_eq!(kv.req("remoteAddr"), "198.18.0.9");
    assert_eq!(kv.req("remoteHost"), "198.18.0.9");
    assert!(
        kv.header_values("x-forwarded-for").is_empty(),
        "{:?}",
        kv.headers()
    );

    // (2) A chain: internal 127.0.0.1, trusted 203.0.113.7, then the client; the walk
    // stops at the client, the rest stays for Tomcat, the trusted proxy is listed.
    let kv = echo(
        "127.0.0.1",
        &echo_url,
        &["X-Forwarded-For: 9.9.9.9, 198.18.0.7, 203.0.113.7"],
    );
    assert_eq!(kv.req("remoteAddr"), "198.18.0.7");
    assert_eq!(kv.header_values("x-forwarded-for"), ["9.9.9.9"]);
    assert_eq!(kv.header_values("x-forwarded-by"), ["203.0.113.7"]);

    // (3) The same header from an untrusted peer changes nothing.
    let kv = echo("127.0.0.2", &echo_url, &["X-Forwarded-For: 198.18.0.9"]);
    assert_eq!(kv.req("remoteAddr"), "127.0.0.2");
    assert_eq!(kv.header_values("x-forwarded-for"), ["198.18.0.9"]);

    // (4) A trusted (not internal) proxy may not present a private address.
    let kv = echo(
        "127.0.0.1",
        &echo_url,
        &["X-Forwarded-For: 10.1.1.1, 203.0.113.7"],
    );
    assert_eq!(kv.req("remoteAddr"), "203.0.113.7");
    assert_eq!(kv.header_values("x-forwarded-for"), ["10.1.1.1"]);

    // (5) Access rules on the real client: 198.18.0.9 behind the proxy is refused the
    // admin path, 127.0.0.2 (no header) is let through to Tomcat; the status worker only
    // for 127.0.0.1, also under `;params` and %-escapes.
    let admin = format!("{plain}/app/echo/admin?mark=denied1");
    let denied = curl(&[
        "--interface",
        "127.0.0.1",
        "-H",
        "X-Forwarded-For: 198.18.0.9",
        &admin,
    ]);
    assert_eq!(
        denied.status,
        403,
        "{}",
        String::from_utf8_lossy(&denied.body)
    );
    let kv = echo(
        "127.0.0.2",
        &format!("{plain}/app/echo/admin?mark=allowed1"),
        &[],
    );
    assert_eq!(kv.req("remoteAddr"), "127.0.0.2");
    let marks = node.marks();
    assert!(
        marks.contains(&"allowed1".to_owned()) && !marks.contains(&"denied1".to_owned()),
        "{marks:?}"
    );
    for path in ["/jkstatus", "/jkstatus;x=1", "/jk%73tatus", "//jkstatus/"] {
        let url = format!("{plain}{path}?mime=prop");
        assert_eq!(
            curl(&["--interface", "127.0.0.2", "--path-as-is", &url]).status,
            403,
            "{path}"
        );
    }
    assert_eq!(
        curl(&[
            "--interface",
            "127.0.0.1",
            &format!("{plain}/jkstatus?mime=prop")
        ])
        .status,
        200
    );
    gate.wait_for_log(
        "client denied by server configuration",
        Duration::from_secs(10),
    );

    // (6) The access log writes the client (`%a`), after the line's time stamp.
    let expected = [
        "198.18.0.9 /app/echo 200",
        "198.18.0.9 /app/echo/admin 403",
        "127.0.0.2 /jkstatus 403",
    ];
    let access_log = access_log_with(&gate.dir, &expected);
    for line in expected {
        assert!(
            access_log
                .lines()
                .any(|l| l.ends_with(&format!("Z {line}"))),
            "{line:?} not in\n{access_log}"
        );
    }

    // (7) The PROXY protocol listener: curl's v1 header is read; a connection without a
    // header is closed unanswered; a header naming another source is believed.
    let with_header = curl(&["--haproxy-protocol", &format!("{proxied}/app/echo")]);
    assert_eq!(
        (with_header.code, with_header.status),
        (0, 200),
        "{}",
        with_header.stderr
    );
    let without = curl(&[&format!("{proxied}/app/echo?mark=noheader")]);
    assert_ne!(
        without.code, 0,
        "a request without a PROXY header must not be answered"
    );
    gate.wait_for_log(
        "did not start with a PROXY protocol header",
        Duration::from_secs(10),
    );
    let reply = raw(
        SocketAddr::from(([127, 0, 0, 1], pp_port)),
        format!(
            "PROXY TCP4 198.51.100.7 127.0.0.1 40000 {pp_port}\r\nGET /app/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("remoteAddr=198.51.100.7\n"), "{reply}");
    assert!(reply.contains("remotePort=40000\n"), "{reply}");

    // (8) HAProxy in front, the client on 127.0.0.2, HAProxy connecting from 127.0.0.1:
    // PROXY v1, PROXY v2 and X-Forwarded-For all bring Tomcat the client's address.
    let gate_plain = SocketAddr::from(([127, 0, 0, 1], gate.port));
    let gate_pp = SocketAddr::from(([127, 0, 0, 1], pp_port));
    let haproxy = Haproxy::start(
        "remoteip",
        &[
            Frontend::tcp("v1", gate_pp, "send-proxy"),
            Frontend::tcp("v2", gate_pp, "send-proxy-v2"),
            Frontend::http("xff", gate_plain, "option forwardfor"),
        ],
    );
    for frontend in ["v1", "v2", "xff"] {
        let url = format!("http://127.0.0.1:{}/app/echo", haproxy.port(frontend));
        let kv = echo("127.0.0.2", &url, &[]);
        assert_eq!(
            kv.req("remoteAddr"),
            "127.0.0.2",
            "through HAProxy {frontend}"
        );
        assert_eq!(kv.req("node"), "node1");
    }
    // Behind PROXY v2 the client itself is the peer: its own X-Forwarded-For is not
    // believed (127.0.0.2 is no proxy).
    let url = format!("http://127.0.0.1:{}/app/echo", haproxy.port("v2"));
    let kv = echo("127.0.0.2", &url, &["X-Forwarded-For: 198.18.0.1"]);
    assert_eq!(kv.req("remoteAddr"), "127.0.0.2");
    assert_eq!(kv.header_values("x-forwarded-for"), ["198.18.0.1"]);

    // (9) WebSocket: answered 501 by jkgate, never relayed; an h2c upgrade offer is
    // ignored and the request relayed.
    let ws = curl(&[
        "-H",
        "Connection: Upgrade",
        "-H",
        "Upgrade: websocket",
        "-H",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "-H",
        "Sec-WebSocket-Version: 13",
        &format!("{plain}/app/echo?mark=ws1"),
    ]);
    assert_eq!(ws.status, 501, "{}", String::from_utf8_lossy(&ws.body));
    let reply = raw(
        gate_plain,
        b"GET /app/echo?mark=ws2 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 501 Not Implemented"), "{reply}");
    let h2c = curl(&["--http2", &format!("{plain}/app/echo?mark=h2c")]);
    assert_eq!((h2c.code, h2c.status), (0, 200), "{}", h2c.stderr);
    let marks = node.marks();
    assert!(marks.contains(&"h2c".to_owned()), "{marks:?}");
    assert!(
        !marks
            .iter()
            .any(|m| m == "ws1" || m == "ws2" || m == "noheader"),
        "{marks:?}"
    );
    let log = gate.wait_for_log("Upgrade request answered 501", Duration::from_secs(10));
    assert!(log.contains("upgrade=websocket"), "{log}");

    // (10) SIGHUP: 127.0.0.1 no longer internal, the status rules gone, the second
    // listener no longer reads PROXY headers.
    gate.write(
        "jkgate.ini",
        ini(
            gate.port,
            pp_port,
            "192.0.2.1",
            "/app/echo/admin = Require all denied\n",
        )
        .replace(
            &format!("RemoteIPProxyProtocol = 127.0.0.1:{pp_port}\n"),
            "",
        ),
    );
    gate.hup_expect_reloaded();
    let kv = echo("127.0.0.1", &echo_url, &["X-Forwarded-For: 198.18.0.9"]);
    assert_eq!(kv.req("remoteAddr"), "127.0.0.1");
    assert_eq!(
        curl(&[
            "--interface",
            "127.0.0.2",
            &format!("{plain}/jkstatus?mime=prop")
        ])
        .status,
        200
    );
    assert_eq!(curl(&[&format!("{plain}/app/echo/admin")]).status, 403);
    let kv = echo("127.0.0.2", &format!("{proxied}/app/echo"), &[]);
    assert_eq!(kv.req("remoteAddr"), "127.0.0.2");

    // (11) SIGHUP to `Forwarded` (RFC 7239): the `for=` nodes are walked the same way.
    let forwarded = ini(gate.port, pp_port, "127.0.0.1", "").replace(
        "RemoteIPHeader = X-Forwarded-For",
        "RemoteIPHeader = Forwarded",
    );
    gate.write("jkgate.ini", &forwarded);
    gate.hup_expect_reloaded();
    let kv = echo(
        "127.0.0.1",
        &echo_url,
        &["Forwarded: for=\"[2001:db8::17]:4711\";proto=https, for=203.0.113.7"],
    );
    assert_eq!(kv.req("remoteAddr"), "2001:db8::17");
    assert!(
        kv.header_values("forwarded").is_empty(),
        "{:?}",
        kv.headers()
    );
    assert_eq!(kv.header_values("x-forwarded-by"), ["203.0.113.7"]);

    // (12) `JkOptions +ForwardPhysicalAddress`: Tomcat gets the peer; the log keeps the
    // client.
    gate.write(
        "jkgate.ini",
        forwarded.replace(
            "AccessLog = access.log\n",
            "AccessLog = access.log\nJkOptions = +ForwardPhysicalAddress\n",
        ),
    );
    gate.hup_expect_reloaded();
    let kv = echo(
        "127.0.0.1",
        &format!("{echo_url}?physical=1"),
        &["Forwarded: for=198.18.0.77"],
    );
    assert_eq!(kv.req("remoteAddr"), "127.0.0.1");
    let access_log = access_log_with(&gate.dir, &["198.18.0.77 /app/echo 200"]);
    assert!(
        access_log
            .lines()
            .any(|l| l.ends_with("Z 198.18.0.77 /app/echo 200")),
        "{access_log}"
    );
    drop(haproxy);
}

/// `htpasswd` from apache2-utils writes one user per scheme it has.
fn htpasswd(file: &std::path::Path, flags: &str, user: &str, password: &str) {
    let mut args = vec![];
    if !file.exists() {
        args.push("-c".to_owned());
    }
    args.push(format!("-b{flags}"));
    let status = Command::new("htpasswd")
        .args(&args)
        .arg(file)
        .args([user, password])
        .status()
        .expect("htpasswd runs (Debian's apache2-utils)");
    assert!(status.success(), "htpasswd {args:?} {user}");
}

#[test]
fn status_users_from_an_htpasswd_file_in_every_scheme_htpasswd_writes() {
    // (flag, user): bcrypt, MD5 (apr1), SHA-256 crypt, SHA-512 crypt, SHA-1, DES crypt.
    let schemes = [
        ("B", "u_bcrypt"),
        ("m", "u_apr1"),
        ("2", "u_sha256"),
        ("5", "u_sha512"),
        ("s", "u_sha1"),
        ("d", "u_crypt"),
    ];
    let mut names: Vec<&str> = schemes.iter().map(|(_, u)| *u).collect();
    names.extend(["u_plainfile", "u_ini", "u_later"]);
    let users = names.join(",");
    let mut gate = ConfGate::start("htpasswd", false, |g| {
        let file = g.dir.join("htpasswd");
        for (flag, user) in schemes {
            htpasswd(&file, flag, user, &format!("pw-{user}"));
        }
        htpasswd(&file, "p", "u_plainfile", "pw-u_plainfile");
        g.write(
            "workers.properties",
            format!(
                "worker.list=jkstatus\nworker.jkstatus.type=status\nworker.jkstatus.user={users}\n"
            ),
        );
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{}\nJkWorkersFile = workers.properties\nAuthUserFile = htpasswd\n\
                 [mounts]\n/jkstatus = jkstatus\n[status_users]\nu_ini = pw-u_ini\n",
                g.port
            ),
        );
    });
    let file = std::fs::read_to_string(gate.dir.join("htpasswd")).unwrap();
    for prefix in [
        "u_bcrypt:$2y$",
        "u_apr1:$apr1$",
        "u_sha256:$5$",
        "u_sha512:$6$",
        "u_sha1:{SHA}",
        "u_plainfile:pw-",
    ] {
        assert!(file.contains(prefix), "htpasswd wrote no {prefix}:\n{file}");
    }
    let url = format!("http://127.0.0.1:{}/jkstatus?mime=prop", gate.port);
    let ask =
        |user: &str, password: &str| curl(&["-u", &format!("{user}:{password}"), &url]).status;
    for (_, user) in schemes {
        assert_eq!(ask(user, &format!("pw-{user}")), 200, "{user}");
        // DES crypt reads 8 characters: the wrong password differs in the first.
        assert_eq!(
            ask(user, &format!("Pw-{user}")),
            401,
            "{user} with a wrong password"
        );
    }
    assert_eq!(ask("u_ini", "pw-u_ini"), 200);
    // `htpasswd -p` stores the password as it is: httpd refuses it on Unix, so does jkgate.
    assert_eq!(ask("u_plainfile", "pw-u_plainfile"), 401);
    let log = gate.error_log();
    assert!(
        log.contains("user `u_plainfile`: the password is in no hash scheme"),
        "{log}"
    );
    assert!(log.contains("in plain text in jkgate.ini"), "{log}");
    // The file is read again on SIGHUP.
    assert_eq!(ask("u_later", "pw-later"), 401);
    htpasswd(&gate.dir.join("htpasswd"), "B", "u_later", "pw-later");
    gate.hup_expect_reloaded();
    assert_eq!(ask("u_later", "pw-later"), 200);
}

#[test]
fn a_status_worker_anyone_may_change_is_warned_about_by_check_and_at_start() {
    let dir = std::env::temp_dir().join(format!("jkgate-open-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        "worker.list=jkstatus\nworker.jkstatus.type=status\n",
    )
    .unwrap();
    let check = |access: &str| {
        std::fs::write(
            dir.join("jkgate.ini"),
            format!("Listen = 127.0.0.1:0\nJkWorkersFile = workers.properties\n[mounts]\n/jkstatus = jkstatus\n{access}"),
        )
        .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .args(["check", "--config"])
            .arg(dir.join("jkgate.ini"))
            .output()
            .expect("jkgate check");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The description on standard output names the rules.
        let described = String::from_utf8_lossy(&output.stdout).into_owned();
        if let Some(rule) = access.lines().nth(1) {
            let (scope, require) = rule.split_once(" = ").expect("KEY = VALUE");
            assert!(
                described.contains(&format!("access {scope}: {require}")),
                "{described}"
            );
        }
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let open = check("");
    assert!(
        open.contains("status worker `jkstatus` lets anyone change workers"),
        "{open}"
    );
    assert!(!check("[access]\n/jkstatus = Require ip 10.0.0.0/8\n").contains("lets anyone"));
    assert!(!check("[access]\nworker:jkstatus = Require local\n").contains("lets anyone"));
    // Open to all by rule: still warned.
    assert!(check("[access]\n/jkstatus = Require all granted\n").contains("lets anyone"));
    // At start, the same warning goes to the error log.
    let gate = ConfGate::start("open-status", false, |g| {
        g.write(
            "workers.properties",
            "worker.list=jkstatus\nworker.jkstatus.type=status\n",
        );
        g.write("jkgate.ini", format!("Listen = 127.0.0.1:{}\nJkWorkersFile = workers.properties\n[mounts]\n/jkstatus = jkstatus\n", g.port));
    });
    assert!(
        gate.error_log().contains("lets anyone change workers"),
        "{}",
        gate.error_log()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_proxy_protocol_listener_closes_a_connection_whose_header_does_not_come() {
    let mut gate = ConfGate::start("proxy-timeout", false, |g| {
        g.write(
            "workers.properties",
            "worker.list=jkstatus\nworker.jkstatus.type=status\nworker.jkstatus.read_only=true\n",
        );
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{0}\nRemoteIPProxyProtocol = 127.0.0.1:{0}\n\
                 RequestReadTimeout = header=2\nJkWorkersFile = workers.properties\n\
                 [mounts]\n/jkstatus = jkstatus\n",
                g.port
            ),
        );
    });
    let url = format!("http://127.0.0.1:{}/jkstatus?mime=prop", gate.port);
    let with_header = curl(&["--haproxy-protocol", &url]);
    assert_eq!(
        (with_header.code, with_header.status),
        (0, 200),
        "{}",
        with_header.stderr
    );
    // Half a header, then nothing: closed, unanswered, after the header time.
    let mut stream = TcpStream::connect(("127.0.0.1", gate.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    stream.write_all(b"PROXY TCP4 192.0").expect("send");
    let started = std::time::Instant::now();
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);
    let waited = started.elapsed();
    assert!(
        read.is_ok() && reply.is_empty(),
        "{read:?} {:?}",
        String::from_utf8_lossy(&reply)
    );
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "closed after {waited:?}"
    );
    // A plain HTTP client gets no answer either.
    let plain = curl(&[&url]);
    assert_ne!(
        plain.code, 0,
        "answered without a PROXY header: {}",
        plain.status
    );
    gate.wait_for_log(
        "did not start with a PROXY protocol header (it began with `GET /jkstatu`",
        Duration::from_secs(10),
    );
}
