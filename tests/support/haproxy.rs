//! HAProxy (Debian's `haproxy` package) in front of jkgate: one process with a frontend per
//! [`Frontend`], each on its own free loopback port, started by the test and killed by PID
//! when dropped.
//!
//! ```rust
//! let haproxy = haproxy::Haproxy::start("pp", &[
//!     haproxy::Frontend::tcp("v1", gate_addr, "send-proxy"),
//!     haproxy::Frontend::tcp("v2", gate_addr, "send-proxy-v2"),
//!     haproxy::Frontend::http("xff", gate_addr, "option forwardfor"),
//! ]);
//! let port = haproxy.port("v2");
//! ```
//!
//! Stands alone (no other support file needed).
#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One frontend and the backend it forwards to.
#[derive(Clone, Debug)]
pub struct Frontend {
    /// Its name (the port is looked up by it).
    pub name: String,
    /// `tcp` or `http`.
    pub mode: &'static str,
    /// Where its one server is.
    pub server: SocketAddr,
    /// Options of the `server` line (`send-proxy`, `send-proxy-v2`, ...).
    pub server_options: String,
    /// Lines added to the frontend (`option forwardfor`, ...).
    pub frontend_lines: String,
}

impl Frontend {
    /// A TCP frontend whose server line has `server_options`.
    pub fn tcp(name: &str, server: SocketAddr, server_options: &str) -> Frontend {
        Frontend {
            name: name.to_owned(),
            mode: "tcp",
            server,
            server_options: server_options.to_owned(),
            frontend_lines: String::new(),
        }
    }

    /// An HTTP frontend with `frontend_lines`.
    pub fn http(name: &str, server: SocketAddr, frontend_lines: &str) -> Frontend {
        Frontend {
            name: name.to_owned(),
            mode: "http",
            server,
            server_options: String::new(),
            frontend_lines: frontend_lines.to_owned(),
        }
    }
}

/// A running HAProxy.
pub struct Haproxy {
    child: Child,
    /// Its directory (configuration, output).
    pub dir: PathBuf,
    ports: Vec<(String, u16)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Haproxy {
    /// Writes the configuration, starts `haproxy -db` (foreground) and waits until every
    /// frontend accepts connections (20 s at most); panics with HAProxy's output otherwise.
    pub fn start(label: &str, frontends: &[Frontend]) -> Haproxy {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jkgate-haproxy-{}-{}-{label}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the HAProxy directory");
        let ports: Vec<(String, u16)> = frontends
            .iter()
            .map(|f| (f.name.clone(), free_port()))
            .collect();
        let mut config = String::from(
            "global\n    maxconn 256\n\ndefaults\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n",
        );
        for (frontend, (_, port)) in frontends.iter().zip(&ports) {
            let name = &frontend.name;
            config.push_str(&format!(
                "\nfrontend fe_{name}\n    mode {mode}\n    bind 127.0.0.1:{port}\n{lines}    default_backend be_{name}\n\nbackend be_{name}\n    mode {mode}\n    server s1 {server} {options}\n",
                mode = frontend.mode,
                lines = frontend
                    .frontend_lines
                    .lines()
                    .map(|l| format!("    {l}\n"))
                    .collect::<String>(),
                server = frontend.server,
                options = frontend.server_options,
            ));
        }
        let config_path = dir.join("haproxy.cfg");
        fs::write(&config_path, &config).expect("write haproxy.cfg");
        let output = fs::File::create(dir.join("haproxy.out")).expect("create haproxy.out");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("clone the output file"))
            .stderr(output)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("haproxy does not start ({e}); it comes with Debian's haproxy package")
            });
        let mut haproxy = Haproxy { child, dir, ports };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if haproxy
                .ports
                .iter()
                .all(|(_, p)| TcpStream::connect(("127.0.0.1", *p)).is_ok())
            {
                return haproxy;
            }
            if let Ok(Some(status)) = haproxy.child.try_wait() {
                panic!(
                    "haproxy exited at start ({status}):\n{}\nconfiguration:\n{config}",
                    haproxy.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen within 20 s:\n{}",
                haproxy.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port of the frontend called `name`.
    pub fn port(&self, name: &str) -> u16 {
        self.ports
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no frontend {name}"))
            .1
    }

    /// What HAProxy wrote.
    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.join("haproxy.out")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "haproxy directory kept: {}\n{}",
                self.dir.display(),
                self.output()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
