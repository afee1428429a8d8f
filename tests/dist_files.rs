//! The files shipped in `dist/` for running jkgate as a service, checked by the tools that
//! read them: `systemd-analyze verify` for the unit, `logrotate -d` (dry run) for the
//! rotation snippet. Both tools are Debian packages (`systemd`, `logrotate`) that
//! `scripts/test` installs, hence the `interop` feature: without them these tests fail.
#![cfg(feature = "interop")]

#[path = "support/process.rs"]
mod process;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use process::{TestDir, run_within};

fn dist(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = dist("systemd/jkgate.service");
    for line in [
        "Type=notify",
        "ExecStart=/usr/local/bin/jkgate run --config /etc/jkgate/jkgate.ini",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l == line), "no `{line}` in the unit");
    }
    let dir = TestDir::new("unit");
    // verify checks that ExecStart names an executable: the one just built stands in for
    // the installed /usr/local/bin/jkgate.
    let path = dir.write(
        "jkgate.service",
        &unit.replace("/usr/local/bin/jkgate", env!("CARGO_BIN_EXE_jkgate")),
    );
    let finished = run_within(
        Command::new("systemd-analyze").arg("verify").arg(&path),
        &dir.path,
        "verify",
        Duration::from_secs(60),
    );
    // verify exits 0 on some problems (an unknown key, a bad value) and only prints them;
    // any line about the unit is a finding.
    let findings: Vec<&str> = finished
        .stderr
        .lines()
        .chain(finished.stdout.lines())
        .filter(|l| l.contains("jkgate.service"))
        .collect();
    assert!(
        finished.status.success() && findings.is_empty(),
        "systemd-analyze verify: {}\n{}{}",
        finished.status,
        finished.stdout,
        finished.stderr
    );
}

#[test]
fn the_logrotate_snippet_rotates_every_log_and_signals_once() {
    let snippet = dist("logrotate/jkgate");
    assert!(
        snippet.contains("/var/log/jkgate/*.log {"),
        "the snippet rotates /var/log/jkgate/*.log:\n{snippet}"
    );
    let dir = TestDir::new("logrotate");
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("access.log"), "a request\n").unwrap();
    std::fs::write(logs.join("error.log"), "an error\n").unwrap();
    std::fs::write(logs.join("quiet.log"), "").unwrap();
    let config = dir.write(
        "jkgate",
        &snippet.replace("/var/log/jkgate/", &format!("{}/", logs.display())),
    );
    // -d: a dry run that only says what it would do; -f: rotate now, whatever the state.
    let finished = run_within(
        Command::new("logrotate")
            .arg("-d")
            .arg("-f")
            .arg("-s")
            .arg(dir.join("state"))
            .arg(&config),
        &dir.path,
        "logrotate",
        Duration::from_secs(60),
    );
    let output = format!("{}{}", finished.stdout, finished.stderr);
    assert!(finished.status.success(), "{}\n{output}", finished.status);
    assert!(!output.contains("error:"), "{output}");
    for log in ["access.log", "error.log"] {
        let renamed = format!(
            "renaming {} to {}.1",
            logs.join(log).display(),
            logs.join(log).display()
        );
        assert!(output.contains(&renamed), "no `{renamed}` in:\n{output}");
    }
    // notifempty: an empty log stays as it is.
    assert!(
        output.contains("log does not need rotating (log is empty)"),
        "{output}"
    );
    // sharedscripts: one USR1 for all the files, sent the systemd way first.
    assert_eq!(
        output.matches("running postrotate script").count(),
        1,
        "{output}"
    );
    assert!(
        output.contains("systemctl kill -s USR1 jkgate.service"),
        "{output}"
    );
    assert!(!output.contains("systemctl reload"), "{output}");
    // A dry run renames nothing.
    assert!(logs.join("access.log").exists() && !logs.join("access.log.1").exists());
}
