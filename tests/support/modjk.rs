//! A private Apache httpd + mod_jk instance for differential tests.
//!
//! Include it from a test file with `#[path = "support/modjk.rs"] mod modjk;`.
//! [`ModJk::start`] writes an httpd.conf of its own into a fresh temporary directory
//! (ServerRoot, PidFile, JkShmFile, JkLogFile, logs all inside it), listens on a free
//! loopback port, mounts a status worker at `/jkstatus` when asked, and stops httpd by the
//! PID in its PID file when dropped (never by process name).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The httpd binary.
pub const HTTPD: &str = "/usr/sbin/apache2";
/// httpd's module directory.
pub const MODULES: &str = "/usr/lib/apache2/modules";

/// What to start.
#[derive(Clone, Debug, Default)]
pub struct ModJkSetup {
    /// workers.properties content, written verbatim to `JkWorkersFile`.
    pub workers_properties: String,
    /// Name of a status worker (defined in `workers_properties`) to mount at `/jkstatus`.
    pub status_worker: Option<String>,
    /// `JkMount` lines: (pattern, worker[;ext]).
    pub mounts: Vec<(String, String)>,
    /// uriworkermap.properties content for `JkMountFile`.
    pub mount_file: Option<String>,
    /// Extra environment variables for httpd (visible to `$(name)` substitution).
    pub env: Vec<(String, String)>,
    /// Extra httpd.conf lines (e.g. `JkOptions`, `JkWatchdogInterval`).
    pub extra_conf: Vec<String>,
}

/// A running httpd + mod_jk.
pub struct ModJk {
    /// The loopback port httpd listens on.
    pub port: u16,
    /// The private ServerRoot.
    pub dir: PathBuf,
    pid: u32,
}

/// Why httpd did not come up: its own words.
#[derive(Debug)]
pub struct StartFailure {
    /// Exit status and output of `apache2 -k start`.
    pub output: String,
    /// The error log.
    pub error_log: String,
    /// The mod_jk log.
    pub jk_log: String,
}

impl StartFailure {
    /// Everything httpd and mod_jk said.
    pub fn all_text(&self) -> String {
        format!("{}\n{}\n{}", self.output, self.error_log, self.jk_log)
    }
}

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "jkgate-modjk-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ))
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !read_or_empty(Path::new(&format!("/proc/{pid}/stat"))).contains(") Z ")
}

impl ModJk {
    /// Checks that httpd and mod_jk are installed (these tests fail, never skip, without).
    pub fn require_installed() {
        assert!(
            Path::new(HTTPD).exists(),
            "{HTTPD} is missing: install apache2 (scripts/test does)"
        );
        assert!(
            Path::new(MODULES).join("mod_jk.so").exists(),
            "{MODULES}/mod_jk.so is missing: install libapache2-mod-jk (scripts/test does)"
        );
    }

    /// Starts httpd with `workers_properties`, a status worker called `status_worker` at
    /// `/jkstatus` and the given JkMount lines.
    pub fn start(
        workers_properties: &str,
        status_worker: Option<&str>,
        mounts: &[(&str, &str)],
    ) -> Result<ModJk, StartFailure> {
        ModJk::start_setup(ModJkSetup {
            workers_properties: workers_properties.to_owned(),
            status_worker: status_worker.map(str::to_owned),
            mounts: mounts
                .iter()
                .map(|(p, w)| ((*p).to_owned(), (*w).to_owned()))
                .collect(),
            ..ModJkSetup::default()
        })
    }

    /// Starts httpd as described by `setup`. Retries on a port race a few times.
    pub fn start_setup(setup: ModJkSetup) -> Result<ModJk, StartFailure> {
        ModJk::require_installed();
        let mut last = None;
        for _ in 0..3 {
            match ModJk::try_start(&setup) {
                Ok(running) => return Ok(running),
                Err(failure) => {
                    let port_race = failure.error_log.contains("Address already in use");
                    last = Some(failure);
                    if !port_race {
                        break;
                    }
                }
            }
        }
        Err(last.expect("at least one attempt"))
    }

    fn try_start(setup: &ModJkSetup) -> Result<ModJk, StartFailure> {
        let dir = unique_dir();
        for sub in ["run", "logs", "htdocs"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create temp dirs");
        }
        let port = free_port();
        std::fs::write(dir.join("workers.properties"), &setup.workers_properties)
            .expect("write workers.properties");
        let mut conf = format!(
            "ServerRoot \"{d}\"\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile {d}/run/httpd.pid\n\
             DefaultRuntimeDir {d}/run\nMutex file:{d}/run default\nScoreBoardFile {d}/run/scoreboard\n\
             ErrorLog {d}/logs/error.log\nLogLevel info\n\
             LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule jk_module {m}/mod_jk.so\n\
             StartServers 1\nServerLimit 1\nThreadsPerChild 25\nMaxRequestWorkers 25\n\
             DocumentRoot \"{d}/htdocs\"\n\
             JkWorkersFile {d}/workers.properties\nJkShmFile {d}/run/jk.shm\nJkLogFile {d}/logs/mod_jk.log\nJkLogLevel info\n",
            d = dir.display(),
            m = MODULES,
        );
        if is_root() {
            conf.push_str("User www-data\nGroup www-data\n");
        }
        if let Some(content) = &setup.mount_file {
            std::fs::write(dir.join("uriworkermap.properties"), content).expect("write mount file");
            conf.push_str(&format!(
                "JkMountFile {}/uriworkermap.properties\n",
                dir.display()
            ));
        }
        for (pattern, worker) in &setup.mounts {
            conf.push_str(&format!("JkMount {pattern} {worker}\n"));
        }
        if let Some(status) = &setup.status_worker {
            conf.push_str(&format!("JkMount /jkstatus {status}\n"));
        }
        for line in &setup.extra_conf {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = dir.join("httpd.conf");
        std::fs::write(&conf_path, conf).expect("write httpd.conf");
        let output = Command::new(HTTPD)
            .arg("-f")
            .arg(&conf_path)
            .arg("-k")
            .arg("start")
            .envs(setup.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run apache2");
        let failure = |dir: &Path, text: String| StartFailure {
            output: text,
            error_log: read_or_empty(&dir.join("logs/error.log")),
            jk_log: read_or_empty(&dir.join("logs/mod_jk.log")),
        };
        let said = format!(
            "{}{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            return Err(failure(&dir, said));
        }
        // httpd forks; mod_jk's fatal errors make the parent exit after the fork, so wait
        // for the port (or for the PID file to vanish / the process to end).
        let deadline = Instant::now() + Duration::from_secs(15);
        let pid_file = dir.join("run/httpd.pid");
        loop {
            let pid = read_or_empty(&pid_file).trim().parse::<u32>().ok();
            if let Some(pid) = pid
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                // Give a failing post-config a moment to take the server down.
                std::thread::sleep(Duration::from_millis(200));
                if process_alive(pid) {
                    return Ok(ModJk { port, dir, pid });
                }
            }
            if let Some(pid) = pid
                && !process_alive(pid)
            {
                return Err(failure(&dir, format!("{said}\nhttpd (pid {pid}) exited")));
            }
            if Instant::now() > deadline {
                if let Some(pid) = pid {
                    stop_pid(pid);
                }
                return Err(failure(
                    &dir,
                    format!("{said}\nhttpd did not listen on {port} within 15 s"),
                ));
            }
            let error_log = read_or_empty(&dir.join("logs/error.log"));
            if pid.is_none()
                && (error_log.contains("AH00016") || error_log.contains("Configuration Failed"))
            {
                return Err(failure(&dir, said));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A plain HTTP/1.0 GET: (status, headers, body).
    pub fn get(&self, path: &str) -> (u16, String, String) {
        http_get(self.port, path)
    }

    /// `GET /jkstatus?mime=prop&cmd=list` (plus `extra` query parameters), parsed.
    pub fn status_prop(&self, extra: &str) -> StatusProps {
        let (status, _, body) = self.get(&format!("/jkstatus?mime=prop&cmd=list{extra}"));
        assert_eq!(status, 200, "status worker answered {status}: {body}");
        StatusProps::parse(&body)
    }

    /// The mod_jk log so far.
    pub fn jk_log(&self) -> String {
        read_or_empty(&self.dir.join("logs/mod_jk.log"))
    }

    /// httpd's error log so far.
    pub fn error_log(&self) -> String {
        read_or_empty(&self.dir.join("logs/error.log"))
    }

    /// The PID of the httpd parent.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

fn is_root() -> bool {
    read_or_empty(Path::new("/proc/self/status"))
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

fn stop_pid(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for ModJk {
    fn drop(&mut self) {
        stop_pid(self.pid);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A minimal HTTP/1.0 GET against 127.0.0.1:`port`.
pub fn http_get(port: u16, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to httpd");
    stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// The `mime=prop` output of the status worker: `key=value` lines in order (keys repeat).
#[derive(Clone, Debug, Default)]
pub struct StatusProps(pub Vec<(String, String)>);

impl StatusProps {
    /// Parses the body.
    pub fn parse(body: &str) -> StatusProps {
        StatusProps(
            body.lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `<prefix>.<worker>.<key>` with the default prefix `worker`.
    pub fn worker(&self, worker: &str, key: &str) -> Option<&str> {
        self.get(&format!("worker.{worker}.{key}"))
    }

    /// The members of lb `lb`, in order (from the repeated `balance_workers` keys).
    pub fn members(&self, lb: &str) -> Vec<&str> {
        self.all(&format!("worker.{lb}.balance_workers"))
    }
}
