//! Test fixture: real Tomcat 10.1 nodes (Debian `tomcat10`) serving the test webapp at `/app`.
//!
//! Include it from an integration test with
//! `#[path = "support/tomcat.rs"] mod tomcat;` (see `tests/support/README.md`).
//!
//! Every node gets a private `CATALINA_BASE` under Cargo's target tmp dir, dynamically allocated
//! loopback ports, and its own JVM started with `catalina.sh run` (the JVM is our child process,
//! so we know its PID). A watchdog shell per node kills the JVM with SIGKILL if the test process
//! dies without running `Drop`, so no JVM outlives the tests. Missing Tomcat or Java is a panic
//! with a clear message: interop tests fail, they never skip.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Where the Debian `tomcat10` package installs Tomcat.
pub const CATALINA_HOME: &str = "/usr/share/tomcat10";
/// The Servlet API jar the test webapp is compiled against.
pub const SERVLET_API_JAR: &str = "/usr/share/tomcat10/lib/servlet-api.jar";
/// Context path of the test webapp.
pub const APP_CONTEXT: &str = "/app";
/// Static files of the test webapp (path below `/app/`, size); content is [`pattern_bytes`].
pub const STATIC_FILES: &[(&str, usize)] = &[
    ("static/1k.bin", 1024),
    ("static/100k.bin", 102_400),
    ("static/1m.bin", 1_048_576),
];
/// The 64-byte line repeated in static files and in `echo?gen=N` output.
pub const PATTERN: &[u8; 64] = b"jkgate-test-data-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH\n";

/// Environment variable overriding the start timeout (seconds, default 600: a loaded 2-core
/// machine running several test binaries can take minutes to boot a JVM).
pub const START_TIMEOUT_ENV: &str = "JKGATE_TOMCAT_START_TIMEOUT_SECS";

/// Small heap, serial GC, C1 only and no bytecode verification of Tomcat's own jars: a node
/// boots on little CPU, which matters on a 2-core machine running several test binaries.
const JVM_FLAGS: &str = "-Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
     -XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote -Xshare:auto -Djava.awt.headless=true";

/// The first `len` bytes of the endless repetition of [`PATTERN`].
pub fn pattern_bytes(len: usize) -> Vec<u8> {
    PATTERN.iter().copied().cycle().take(len).collect()
}

/// Lower-case hex SHA-256 of `data`, as the webapp reports `bodySha256`.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Session replication mode of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClusterMode {
    /// Independent node; sessions live only on it and do not survive a restart.
    #[default]
    None,
    /// `SimpleTcpCluster` + `DeltaManager` (synchronous replication over Tribes, static
    /// membership on loopback) across the nodes of a [`TomcatCluster`].
    Delta,
    /// `SimpleTcpCluster` + `BackupManager`: each session has one backup copy on another
    /// member (of its membership domain, see [`TomcatCluster::start_in_domains`]).
    Backup,
}

/// How to configure one Tomcat node.
#[derive(Clone, Debug)]
pub struct TomcatOptions {
    /// Engine `jvmRoute`; session ids end in `.jvm_route`. Also the node's name.
    pub jvm_route: String,
    /// `Some(s)`: the AJP connector has `secretRequired="true" secret="s"`;
    /// `None`: `secretRequired="false"`.
    pub secret: Option<String>,
    /// AJP connector `packetSize` (Tomcat keeps at least 8192).
    pub packet_size: Option<u32>,
    /// AJP connector `maxHeaderCount`.
    pub max_header_count: Option<u32>,
    /// AJP connector `allowedRequestAttributesPattern` (regex for extra req_attributes).
    pub allowed_request_attributes_pattern: Option<String>,
    /// Further AJP connector attributes, written verbatim (e.g. `("maxThreads", "4")`).
    pub ajp_attributes: Vec<(String, String)>,
    /// Session replication; a mode other than `None` needs [`TomcatCluster::start`].
    pub cluster: ClusterMode,
    /// Membership domain of the node (`StaticMember domain`): it replicates only with the
    /// members of its own domain. Set by [`TomcatCluster::start_in_domains`].
    pub domain: Option<String>,
}

impl Default for TomcatOptions {
    fn default() -> Self {
        TomcatOptions {
            jvm_route: "node1".to_owned(),
            secret: None,
            packet_size: None,
            max_header_count: None,
            allowed_request_attributes_pattern: None,
            ajp_attributes: Vec::new(),
            cluster: ClusterMode::None,
            domain: None,
        }
    }
}

impl TomcatOptions {
    /// Default options with the given jvmRoute.
    pub fn with_route(jvm_route: &str) -> Self {
        TomcatOptions {
            jvm_route: jvm_route.to_owned(),
            ..TomcatOptions::default()
        }
    }
}

/// Loopback ports of one node.
#[derive(Clone, Copy, Debug)]
struct Ports {
    http: u16,
    ajp: u16,
    /// Tribes receiver, cluster mode only.
    tribes: Option<u16>,
}

impl Ports {
    fn allocate(cluster: bool) -> Ports {
        Ports {
            http: free_port(),
            ajp: free_port(),
            tribes: cluster.then(free_port),
        }
    }
}

/// One Tomcat JVM with the test webapp. Dropping it kills the JVM.
pub struct TomcatNode {
    options: TomcatOptions,
    base: PathBuf,
    ports: Ports,
    /// `(jvmRoute, tribes port)` of every member this node replicates with, itself
    /// included; empty without cluster.
    members: Vec<(String, u16)>,
    jvm: Option<Child>,
    watchdog: Option<Child>,
    launched_at: Instant,
    startup_time: Duration,
}

impl TomcatNode {
    /// Starts a node and waits until `/app` answers over HTTP and the AJP port answers CPING.
    /// Panics with the tail of `catalina.out` if it does not come up.
    pub fn start(options: TomcatOptions) -> TomcatNode {
        assert!(
            options.cluster == ClusterMode::None,
            "a cluster mode needs the other members' ports: use TomcatCluster::start"
        );
        let mut node = TomcatNode::launch(options, Ports::allocate(false), Vec::new());
        node.wait_ready();
        node
    }

    /// Writes the node's CATALINA_BASE and spawns the JVM without waiting for it.
    fn launch(options: TomcatOptions, ports: Ports, members: Vec<(String, u16)>) -> TomcatNode {
        check_prerequisites();
        let webapp = webapp_dir();
        let base = new_base_dir(&options.jvm_route);
        let mut node = TomcatNode {
            options,
            base,
            ports,
            members,
            jvm: None,
            watchdog: None,
            launched_at: Instant::now(),
            startup_time: Duration::ZERO,
        };
        node.write_base(webapp);
        node.spawn();
        node
    }

    /// Engine jvmRoute of this node.
    pub fn route(&self) -> &str {
        &self.options.jvm_route
    }

    /// Options the node was started with.
    pub fn options(&self) -> &TomcatOptions {
        &self.options
    }

    /// Port of the AJP/1.3 connector on 127.0.0.1.
    pub fn ajp_port(&self) -> u16 {
        self.ports.ajp
    }

    /// Port of the HTTP/1.1 connector on 127.0.0.1 (direct checks, bypassing any proxy).
    pub fn http_port(&self) -> u16 {
        self.ports.http
    }

    /// `127.0.0.1:ajp_port`.
    pub fn ajp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.ajp))
    }

    /// The node's private CATALINA_BASE.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// PID of the JVM while it runs.
    pub fn pid(&mut self) -> Option<u32> {
        if self.is_running() {
            self.jvm.as_ref().map(Child::id)
        } else {
            None
        }
    }

    /// Whether the JVM process is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.jvm.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Time from spawning the JVM to ready (HTTP 200 and CPONG) at the last (re)start.
    pub fn startup_time(&self) -> Duration {
        self.startup_time
    }

    /// The whole `logs/catalina.out` (stdout and stderr of the JVM).
    pub fn catalina_out(&self) -> String {
        fs::read_to_string(self.base.join("logs/catalina.out")).unwrap_or_default()
    }

    /// The last `lines` lines of `catalina.out`.
    pub fn log_tail(&self, lines: usize) -> String {
        let all = self.catalina_out();
        let v: Vec<&str> = all.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL the JVM (a crash, for failover tests) and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.jvm.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stop_watchdog();
    }

    /// Graceful stop: SIGTERM, then SIGKILL if the JVM has not exited within 20 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.jvm.take() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        self.stop_watchdog();
    }

    /// Stops the node if it runs and starts it again on the same ports, then waits until ready.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
        self.wait_ready();
    }

    /// Starts a stopped or killed node again on the same ports without waiting.
    fn spawn(&mut self) {
        let log_path = self.base.join("logs/catalina.out");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log_path.display()));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot dup {}: {e}", log_path.display()));
        let java_opts = format!(
            "{JVM_FLAGS} -Djava.security.egd=file:/dev/./urandom \
             -Dorg.apache.catalina.startup.EXIT_ON_INIT_FAILURE=true \
             -Djkgate.node={route} -Djkgate.jvmRoute={route}",
            route = self.options.jvm_route
        );
        let child = Command::new(Path::new(CATALINA_HOME).join("bin/catalina.sh"))
            .arg("run")
            .current_dir(&self.base)
            .env("CATALINA_HOME", CATALINA_HOME)
            .env("CATALINA_BASE", &self.base)
            .env("CATALINA_TMPDIR", self.base.join("temp"))
            .env("JAVA_OPTS", java_opts)
            .env("CATALINA_OPTS", "")
            .env_remove("CATALINA_PID")
            .env_remove("JPDA_OPTS")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {CATALINA_HOME}/bin/catalina.sh: {e}"));
        let watchdog = spawn_watchdog(child.id(), &self.base);
        self.jvm = Some(child);
        self.watchdog = watchdog;
        self.launched_at = Instant::now();
    }

    fn stop_watchdog(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }

    /// Waits until `/app/static/1k.bin` answers 200 over HTTP and the AJP port answers CPING.
    /// A port taken by someone else between allocation and bind gets new ports (first start only).
    fn wait_ready(&mut self) {
        let timeout = start_timeout();
        let mut attempts = 0;
        loop {
            let deadline = self.launched_at + timeout;
            match self.poll_ready(deadline) {
                Ok(()) => {
                    self.startup_time = self.launched_at.elapsed();
                    return;
                }
                Err(reason) => {
                    let log = self.catalina_out();
                    let port_clash = log.contains("Address already in use");
                    if port_clash && attempts < 3 && self.startup_time == Duration::ZERO {
                        attempts += 1;
                        self.kill();
                        self.ports = Ports::allocate(self.ports.tribes.is_some());
                        let webapp = webapp_dir();
                        self.write_base(webapp);
                        let _ = fs::write(self.base.join("logs/catalina.out"), b"");
                        self.spawn();
                        continue;
                    }
                    self.kill();
                    panic!(
                        "Tomcat node {} failed to start: {reason}\n  CATALINA_BASE: {}\n  http port {}, ajp port {}\n  --- tail of catalina.out ---\n{}",
                        self.route(),
                        self.base.display(),
                        self.ports.http,
                        self.ports.ajp,
                        self.log_tail(60)
                    );
                }
            }
        }
    }

    fn poll_ready(&mut self, deadline: Instant) -> Result<(), String> {
        let probe = format!("{APP_CONTEXT}/{}", STATIC_FILES[0].0);
        let mut http_ok = false;
        loop {
            if let Some(child) = self.jvm.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the JVM exited ({status})"));
                }
            } else {
                return Err("the JVM is not running".to_owned());
            }
            let log = self.catalina_out();
            if log.contains("Context [/app] startup failed")
                || log.contains("One or more listeners failed to start")
            {
                return Err("the webapp /app failed to deploy".to_owned());
            }
            if log.contains("Failed to initialize connector")
                || log.contains("Address already in use")
            {
                return Err("a connector failed to bind its port".to_owned());
            }
            if !http_ok {
                http_ok = matches!(
                    http_request(self.ports.http, "GET", &probe, &[], b""),
                    Ok(reply) if reply.status == 200
                );
            }
            if http_ok && ajp_cping(self.ports.ajp, Duration::from_secs(5)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not ready within {:?} (HTTP {probe} answered 200: {http_ok}; AJP CPING failed)",
                    start_timeout()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GET `target` (e.g. `/app/echo?x=1`) directly on the node's HTTP connector.
    pub fn http_get(&self, target: &str) -> HttpReply {
        http_request(self.ports.http, "GET", target, &[], b"").unwrap_or_else(|e| {
            panic!(
                "GET {target} on node {} (http port {}): {e}",
                self.route(),
                self.ports.http
            )
        })
    }

    /// The `mark=` values this node's echo servlet received since its JVM started, in
    /// arrival order (`/app/marks`, read directly over HTTP).
    pub fn marks(&self) -> Vec<String> {
        let reply = self.http_get("/app/marks");
        assert_eq!(
            reply.status,
            200,
            "/app/marks on {}: {}",
            self.route(),
            reply.text()
        );
        reply
            .kv()
            .lines
            .into_iter()
            .filter(|(k, _)| k == "mark")
            .map(|(_, v)| v)
            .collect()
    }

    fn write_base(&self, webapp: &Path) {
        let b = &self.base;
        for d in ["conf/Catalina/localhost", "logs", "temp", "work", "webapps"] {
            fs::create_dir_all(b.join(d))
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", b.join(d).display()));
        }
        for f in ["web.xml", "catalina.properties"] {
            let from = Path::new(CATALINA_HOME).join("etc").join(f);
            fs::copy(&from, b.join("conf").join(f))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
        }
        write_file(&b.join("conf/logging.properties"), LOGGING_PROPERTIES);
        write_file(&b.join("conf/server.xml"), &self.server_xml());
        write_file(&b.join("conf/context.xml"), GLOBAL_CONTEXT_XML);
        // Session persistence across restarts is off unless the cluster replicates sessions
        // (its DeltaManager must then be the context's manager).
        let manager = if self.options.cluster == ClusterMode::None {
            "\n  <Manager pathname=\"\"/>"
        } else {
            ""
        };
        let app_xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Context docBase=\"{}\" reloadable=\"false\">{manager}\n  \
             <JarScanner scanClassPath=\"false\" scanManifest=\"false\"/>\n</Context>\n",
            xml_escape(&webapp.display().to_string())
        );
        write_file(&b.join("conf/Catalina/localhost/app.xml"), &app_xml);
    }

    fn server_xml(&self) -> String {
        let o = &self.options;
        let mut ajp = String::new();
        match &o.secret {
            Some(s) => {
                let _ = write!(ajp, " secretRequired=\"true\" secret=\"{}\"", xml_escape(s));
            }
            None => ajp.push_str(" secretRequired=\"false\""),
        }
        if let Some(p) = o.packet_size {
            let _ = write!(ajp, " packetSize=\"{p}\"");
        }
        if let Some(n) = o.max_header_count {
            let _ = write!(ajp, " maxHeaderCount=\"{n}\"");
        }
        if let Some(p) = &o.allowed_request_attributes_pattern {
            let _ = write!(
                ajp,
                " allowedRequestAttributesPattern=\"{}\"",
                xml_escape(p)
            );
        }
        for (k, v) in &o.ajp_attributes {
            let _ = write!(ajp, " {k}=\"{}\"", xml_escape(v));
        }
        let cluster = match (o.cluster, self.ports.tribes) {
            (ClusterMode::None, _) | (_, None) => String::new(),
            (mode, Some(port)) => cluster_xml(mode, port, o.domain.as_deref(), &self.members),
        };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by the jkgate test fixture (tests/support/tomcat.rs) for node {route}. -->
<Server port="-1" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener"/>
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
  <Service name="Catalina">
    <Connector protocol="HTTP/1.1" address="127.0.0.1" port="{http}"
               connectionTimeout="20000" maxParameterCount="1000"/>
    <Connector protocol="AJP/1.3" address="127.0.0.1" port="{ajp_port}"
               maxParameterCount="1000"{ajp}/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="{route}">
{cluster}      <Host name="localhost" appBase="webapps" unpackWARs="false"
            autoDeploy="false" deployOnStartup="true"/>
    </Engine>
  </Service>
</Server>
"#,
            route = xml_escape(&o.jvm_route),
            http = self.ports.http,
            ajp_port = self.ports.ajp,
        )
    }
}

impl Drop for TomcatNode {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "Tomcat node {} kept for inspection: {}",
                self.route(),
                self.base.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.base);
        }
    }
}

/// Several nodes `node1..nodeN` with distinct jvmRoutes.
pub struct TomcatCluster {
    nodes: Vec<TomcatNode>,
}

impl TomcatCluster {
    /// Starts `n` nodes named `node1..nodeN` (the `jvm_route` of `options` is replaced).
    /// Without replication all JVMs boot at the same time; with [`ClusterMode::Delta`] they
    /// start one after another (a node joining while a peer's manager is not registered yet
    /// waits for its state-transfer timeout) and this returns once sessions replicate
    /// between every pair.
    pub fn start(n: usize, options: TomcatOptions) -> TomcatCluster {
        TomcatCluster::start_nodes(&vec![None; n], options)
    }

    /// Starts one node per entry of `domains` (`node1..nodeN`), node i in membership
    /// domain `domains[i]`: it replicates only with the nodes of its domain (static
    /// membership lists only those, each `StaticMember` carries the `domain`), and
    /// [`TomcatCluster::workers_properties`] writes each member's `domain`.
    pub fn start_in_domains(domains: &[&str], options: TomcatOptions) -> TomcatCluster {
        let domains: Vec<Option<String>> = domains.iter().map(|d| Some((*d).to_owned())).collect();
        TomcatCluster::start_nodes(&domains, options)
    }

    fn start_nodes(domains: &[Option<String>], options: TomcatOptions) -> TomcatCluster {
        let n = domains.len();
        assert!(n >= 1, "a cluster needs at least one node");
        let cluster = options.cluster != ClusterMode::None;
        let ports: Vec<Ports> = (0..n).map(|_| Ports::allocate(cluster)).collect();
        let mut nodes = Vec::with_capacity(n);
        for (i, p) in ports.iter().enumerate() {
            let members: Vec<(String, u16)> = if cluster {
                ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| domains[*j] == domains[i])
                    .map(|(j, p)| (format!("node{}", j + 1), p.tribes.unwrap_or_default()))
                    .collect()
            } else {
                Vec::new()
            };
            let mut o = options.clone();
            o.jvm_route = format!("node{}", i + 1);
            o.domain = domains[i].clone();
            let mut node = TomcatNode::launch(o, *p, members);
            if cluster {
                node.wait_ready();
            }
            nodes.push(node);
        }
        if !cluster {
            for node in &mut nodes {
                node.wait_ready();
            }
        }
        let c = TomcatCluster { nodes };
        if cluster {
            c.wait_replication(Duration::from_secs(60));
        }
        c
    }

    /// All nodes, in order node1..nodeN.
    pub fn nodes(&self) -> &[TomcatNode] {
        &self.nodes
    }

    /// All nodes, mutable (to kill, stop or restart one).
    pub fn nodes_mut(&mut self) -> &mut [TomcatNode] {
        &mut self.nodes
    }

    /// The node with this jvmRoute; panics if there is none.
    pub fn node(&self, route: &str) -> &TomcatNode {
        self.nodes
            .iter()
            .find(|n| n.route() == route)
            .unwrap_or_else(|| panic!("no node with route {route}"))
    }

    /// The node with this jvmRoute, mutable; panics if there is none.
    pub fn node_mut(&mut self, route: &str) -> &mut TomcatNode {
        self.nodes
            .iter_mut()
            .find(|n| n.route() == route)
            .unwrap_or_else(|| panic!("no node with route {route}"))
    }

    /// Restarts one node; in cluster mode also waits until it replicates with the others again.
    pub fn restart_node(&mut self, route: &str) {
        self.node_mut(route).restart();
        if self.nodes[0].options.cluster != ClusterMode::None {
            self.wait_replication(Duration::from_secs(60));
        }
    }

    /// A mod_jk `workers.properties` with an lb worker `lb_name` (sticky sessions) over every
    /// node as an ajp13 member named after its route (with the AJP secret when one is set).
    pub fn workers_properties(&self, lb_name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# jkgate test fixture: {} Tomcat nodes",
            self.nodes.len()
        );
        let _ = writeln!(s, "worker.list={lb_name}");
        let mut names = Vec::new();
        for n in &self.nodes {
            let r = n.route();
            let _ = writeln!(s, "worker.{r}.type=ajp13");
            let _ = writeln!(s, "worker.{r}.host=127.0.0.1");
            let _ = writeln!(s, "worker.{r}.port={}", n.ajp_port());
            let _ = writeln!(s, "worker.{r}.route={r}");
            if let Some(domain) = &n.options.domain {
                let _ = writeln!(s, "worker.{r}.domain={domain}");
            }
            if let Some(secret) = &n.options.secret {
                let _ = writeln!(s, "worker.{r}.secret={secret}");
            }
            names.push(r.to_owned());
        }
        let _ = writeln!(s, "worker.{lb_name}.type=lb");
        let _ = writeln!(s, "worker.{lb_name}.balance_workers={}", names.join(","));
        let _ = writeln!(s, "worker.{lb_name}.sticky_session=true");
        s
    }

    /// Waits until a session created on each running node is readable on every other running
    /// node of its domain (cluster mode). Panics after `timeout`.
    pub fn wait_replication(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for a in &self.nodes {
            for b in &self.nodes {
                if a.route() == b.route() || a.options.domain != b.options.domain {
                    continue;
                }
                loop {
                    if replicates(a, b) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "sessions created on {} are not readable on {} after {timeout:?}\n--- {} ---\n{}\n--- {} ---\n{}",
                        a.route(),
                        b.route(),
                        a.route(),
                        a.log_tail(30),
                        b.route(),
                        b.log_tail(30)
                    );
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
    }
}

/// A session created on `a` has counter 2 when read on `b`. The probe session is invalidated.
fn replicates(a: &TomcatNode, b: &TomcatNode) -> bool {
    let Ok(first) = http_request(a.http_port(), "GET", "/app/session", &[], b"") else {
        return false;
    };
    let Some(id) = first.kv().get("sessionId").map(str::to_owned) else {
        return false;
    };
    let cookie = format!("JSESSIONID={id}");
    let second = http_request(
        b.http_port(),
        "GET",
        "/app/session",
        &[("Cookie", &cookie)],
        b"",
    );
    let ok = matches!(&second, Ok(r) if r.kv().get("counter") == Some("2"));
    let _ = http_request(
        b.http_port(),
        "GET",
        "/app/session?invalidate=1",
        &[("Cookie", &cookie)],
        b"",
    );
    ok
}

fn cluster_xml(
    mode: ClusterMode,
    own_port: u16,
    domain: Option<&str>,
    members: &[(String, u16)],
) -> String {
    // The unique id's last byte is the node's number (`node7` → 7).
    let number = |route: &str| route.trim_start_matches("node").parse::<u8>().unwrap_or(0);
    let domain = domain
        .map(|d| format!(" domain=\"{}\"", xml_escape(d)))
        .unwrap_or_default();
    let mut m = String::new();
    let mut own_index = 0;
    for (route, port) in members {
        if *port == own_port {
            own_index = number(route);
            continue;
        }
        let _ = writeln!(
            m,
            "            <Member className=\"org.apache.catalina.tribes.membership.StaticMember\" \
             host=\"127.0.0.1\" port=\"{port}\"{domain} uniqueId=\"{{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,{}}}\"/>",
            number(route)
        );
    }
    let manager = match mode {
        ClusterMode::Backup => {
            r#"<Manager className="org.apache.catalina.ha.session.BackupManager"
                 notifyListenersOnReplication="true" mapSendOptions="6" rpcTimeout="5000"/>"#
        }
        _ => {
            r#"<Manager className="org.apache.catalina.ha.session.DeltaManager"
                 expireSessionsOnShutdown="false" notifyListenersOnReplication="true"
                 stateTransferTimeout="10"/>"#
        }
    };
    format!(
        r#"      <Cluster className="org.apache.catalina.ha.tcp.SimpleTcpCluster" channelSendOptions="6">
        {manager}
        <Channel className="org.apache.catalina.tribes.group.GroupChannel">
          <Membership className="org.apache.catalina.tribes.membership.StaticMembershipService"
                      connectTimeout="500" expirationTime="3000" pingInterval="1000">
            <LocalMember className="org.apache.catalina.tribes.membership.StaticMember"{domain}
                         uniqueId="{{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,{own_index}}}"/>
{m}          </Membership>
          <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver"
                    address="127.0.0.1" port="{own_port}" autoBind="0" maxThreads="6"/>
          <Sender className="org.apache.catalina.tribes.transport.ReplicationTransmitter">
            <Transport className="org.apache.catalina.tribes.transport.nio.PooledParallelSender"/>
          </Sender>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpPingInterceptor" staticOnly="true"/>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"/>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.MessageDispatchInterceptor"/>
        </Channel>
        <Valve className="org.apache.catalina.ha.tcp.ReplicationValve" filter=".*\.bin"/>
        <Valve className="org.apache.catalina.ha.session.JvmRouteBinderValve"/>
        <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
      </Cluster>
"#
    )
}

const LOGGING_PROPERTIES: &str = "\
handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = INFO
java.util.logging.ConsoleHandler.level = ALL
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
";

const GLOBAL_CONTEXT_XML: &str = "\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
</Context>
";

/// Panics with an actionable message when Tomcat or a JDK is missing.
fn check_prerequisites() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let catalina = Path::new(CATALINA_HOME).join("bin/catalina.sh");
        assert!(
            catalina.is_file() && Path::new(SERVLET_API_JAR).is_file(),
            "Tomcat 10.1 is missing: {} or {SERVLET_API_JAR} not found. Install the Debian \
             package tomcat10 (scripts/test does this); interop tests never skip.",
            catalina.display()
        );
        for tool in ["java", "javac"] {
            let ok = Command::new(tool)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "`{tool}` is missing or broken: install a JDK 17 (Debian openjdk-17-jdk-headless; \
                 scripts/test does this); interop tests never skip."
            );
        }
    });
}

/// The test webapp compiled and laid out, cached by the hash of its sources.
/// Compiled once per process; concurrent test processes each build into a private
/// directory and rename it into place, so they never see a half-built webapp.
pub fn webapp_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(build_webapp)
}

fn webapp_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webapp")
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            list_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn build_webapp() -> PathBuf {
    check_prerequisites();
    let src = webapp_sources();
    let mut files = Vec::new();
    list_files(&src, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for f in &files {
        hasher.update(
            f.strip_prefix(&src)
                .expect("below src")
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update([0]);
        hasher.update(fs::read(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display())));
        hasher.update([0]);
    }
    for (name, len) in STATIC_FILES {
        hasher.update(format!("{name}={len}").as_bytes());
    }
    hasher.update(PATTERN);
    let servlet_api_len = fs::metadata(SERVLET_API_JAR).map(|m| m.len()).unwrap_or(0);
    hasher.update(servlet_api_len.to_le_bytes());
    let key: String = sha256_hex_of(hasher)[..16].to_owned();

    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jkgate-webapp");
    let dir = root.join(&key);
    if dir.join("WEB-INF/classes/.complete").is_file() {
        return dir;
    }
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    let tmp = root.join(format!("{key}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let classes = tmp.join("WEB-INF/classes");
    fs::create_dir_all(&classes).expect("create webapp build dir");
    let web_xml = src.join("WEB-INF/web.xml");
    fs::copy(&web_xml, tmp.join("WEB-INF/web.xml"))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", web_xml.display()));
    let java: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "java"))
        .collect();
    let out = Command::new("javac")
        .args(["-nowarn", "-encoding", "UTF-8", "--release", "17", "-cp"])
        .arg(SERVLET_API_JAR)
        .arg("-d")
        .arg(&classes)
        .args(&java)
        .output()
        .unwrap_or_else(|e| panic!("cannot run javac: {e}"));
    assert!(
        out.status.success(),
        "javac failed on the test webapp ({}):\n{}{}",
        src.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, len) in STATIC_FILES {
        let p = tmp.join(name);
        fs::create_dir_all(p.parent().expect("static parent")).expect("create static dir");
        fs::write(&p, pattern_bytes(*len))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
    }
    fs::write(classes.join(".complete"), key.as_bytes()).expect("mark webapp complete");
    if fs::rename(&tmp, &dir).is_err() {
        // Another test process won the race; its copy is identical.
        let _ = fs::remove_dir_all(&tmp);
        assert!(
            dir.join("WEB-INF/classes/.complete").is_file(),
            "webapp build dir {} is incomplete",
            dir.display()
        );
    }
    dir
}

fn sha256_hex_of(hasher: Sha256) -> String {
    let mut out = String::with_capacity(64);
    for b in hasher.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

static BASE_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh CATALINA_BASE below the target tmp dir. Bases left behind by dead test processes
/// (killed before Drop ran) are removed on first use.
fn new_base_dir(route: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jkgate-tomcat");
    static CLEANED: OnceLock<()> = OnceLock::new();
    CLEANED.get_or_init(|| remove_stale_bases(&root));
    let seq = BASE_SEQ.fetch_add(1, Ordering::Relaxed);
    let safe: String = route
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(24)
        .collect();
    let dir = root.join(format!("p{}-{seq}-{safe}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn remove_stale_bases(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix('p')
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// A shell that SIGKILLs the JVM if this test process disappears without running `Drop`
/// (e.g. killed by a timeout). It checks the JVM's command line before killing, and exits
/// by itself when the JVM is gone.
fn spawn_watchdog(jvm_pid: u32, base: &Path) -> Option<Child> {
    const SCRIPT: &str = r#"
owner=$1 jvm=$2 base=$3
while kill -0 "$owner" 2>/dev/null; do
    kill -0 "$jvm" 2>/dev/null || exit 0
    sleep 1
done
if tr '\0' '\n' <"/proc/$jvm/cmdline" 2>/dev/null | grep -qxF -- "-Dcatalina.base=$base"; then
    kill -KILL "$jvm"
fi
"#;
    Command::new("sh")
        .args(["-c", SCRIPT, "jkgate-tomcat-watchdog"])
        .arg(std::process::id().to_string())
        .arg(jvm_pid.to_string())
        .arg(base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn start_timeout() -> Duration {
    let secs = std::env::var(START_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A loopback port that was free a moment ago (bind 127.0.0.1:0, read the port, close).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Sends an AJP13 CPING (`12 34 00 01 0A`) on a new connection and expects CPONG
/// (`41 42 00 01 09`).
pub fn ajp_cping(port: u16, timeout: Duration) -> io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(&[0x12, 0x34, 0x00, 0x01, 0x0A])?;
    let mut reply = [0u8; 5];
    s.read_exact(&mut reply)?;
    if reply == [0x41, 0x42, 0x00, 0x01, 0x09] {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected CPONG 41 42 00 01 09, got {reply:02X?}"),
        ))
    }
}

/// A complete HTTP response read by [`http_request`].
#[derive(Clone, Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Header fields in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as the webapp's `key=value` reply.
    pub fn kv(&self) -> KvReply {
        KvReply::parse(&self.body)
    }
}

/// A minimal blocking HTTP/1.1 client for loopback checks: one request per connection
/// (`Connection: close`), reads the reply to the end, decodes chunked bodies. A
/// `Content-Length` is added when `body` is not empty and `headers` set neither
/// `Content-Length` nor `Transfer-Encoding`. Times out after 60 s.
pub fn http_request(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpReply> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("host") {
        let _ = write!(head, "Host: 127.0.0.1:{port}\r\n");
    }
    if !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    if !body.is_empty() && !has("content-length") && !has("transfer-encoding") {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let _ = s.shutdown(Shutdown::Write);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_http_reply(&raw, method.eq_ignore_ascii_case("HEAD"))
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn parse_http_reply(raw: &[u8], head_request: bool) -> io::Result<HttpReply> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid(format!("no end of headers in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let rest = &raw[end + 4..];
    let mut reply = HttpReply {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(reply);
    }
    let chunked = reply
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        reply.body = dechunk(rest)?;
    } else if let Some(len) = reply.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {len:?}")))?;
        if rest.len() < len {
            return Err(invalid(format!(
                "body cut short: {} of {len} bytes",
                rest.len()
            )));
        }
        reply.body = rest[..len].to_vec();
    } else {
        reply.body = rest.to_vec();
    }
    Ok(reply)
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("chunk size line without CRLF"))?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_hex:?}")))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(invalid("chunk cut short"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The webapp's reply format: one `key=value` line per fact, values escaped (`\\`, `\n`,
/// `\r`, `\xHH`, `\u{HHHH}`). Null values are absent. Request headers are repeated
/// `header=Name: value` lines in arrival order.
#[derive(Clone, Debug, Default)]
pub struct KvReply {
    /// Every line as (key, unescaped value), in order.
    pub lines: Vec<(String, String)>,
}

impl KvReply {
    /// Parses a reply body; lines without `=` are ignored.
    pub fn parse(body: &[u8]) -> KvReply {
        let text = String::from_utf8_lossy(body);
        let lines = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), unescape(v)))
            .collect();
        KvReply { lines }
    }

    /// Value of the first line with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Value of `key`; panics with the whole reply if it is absent.
    pub fn req(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("key {key:?} missing in reply {:#?}", self.lines))
    }

    /// Request headers as the webapp saw them, in order, duplicates kept.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        self.lines
            .iter()
            .filter(|(k, _)| k == "header")
            .filter_map(|(_, v)| v.split_once(": "))
            .collect()
    }

    /// Every value the webapp saw for a request header (case-insensitive name).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect()
    }

    /// A request attribute as reported by the echo servlet (`attr.NAME`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.get(&format!("attr.{name}"))
    }
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('x') => {
                let hex: String = it.by_ref().take(2).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\x");
                        out.push_str(&hex);
                    }
                }
            }
            Some('u') if it.peek() == Some(&'{') => {
                it.next();
                let hex: String = it.by_ref().take_while(|&c| c != '}').collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u{");
                        out.push_str(&hex);
                        out.push('}');
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
