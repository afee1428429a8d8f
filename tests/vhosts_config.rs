//! `[vhost NAME]` sections of jkgate.ini resolved: mod_jk's `JkMountCopy` rules (own
//! mounts, copies, sharing, nothing), the top-level `JkMountCopy = All`, each vhost's mount
//! file, errors with file:line, and what `jkgate check` prints.
#![cfg(feature = "proxy")]

use std::path::PathBuf;

use jkgate::config::describe::describe;
use jkgate::config::{MountSource, RunSettings, Sources, resolve_settings};

const WORKERS: &str = "worker.list=a,b,st\nworker.a.port=1\nworker.b.port=2\nworker.st.type=status\n\
                       worker.a.mount=/fromdef/*\n";

fn dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "jkgate-vhosts-config-{}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test dir");
    std::fs::write(dir.join("workers.properties"), WORKERS).expect("workers");
    dir
}

fn resolve(label: &str, ini: &str, files: &[(&str, &str)]) -> Result<RunSettings, String> {
    let dir = dir(label);
    std::fs::write(dir.join("jkgate.ini"), ini).expect("ini");
    for (name, content) in files {
        std::fs::write(dir.join(name), content).expect("file");
    }
    resolve_settings(&Sources {
        config: Some(dir.join("jkgate.ini")),
        ..Sources::default()
    })
    .map_err(|e| e.to_string())
}

/// The (pattern, worker, source) of every rule of a table, sorted for comparison.
fn rules(table: &jkgate::config::MountTable) -> Vec<(String, String, MountSource)> {
    let mut out: Vec<_> = table
        .rules()
        .iter()
        .map(|r| {
            (
                format!("{}{}", if r.exclusion { "!" } else { "" }, r.pattern),
                r.worker.clone(),
                r.source,
            )
        })
        .collect();
    out.sort();
    out
}

fn r(p: &str, w: &str, s: MountSource) -> (String, String, MountSource) {
    (p.to_owned(), w.to_owned(), s)
}

#[test]
fn mount_copy_follows_mod_jk() {
    use MountSource::{JkMount, UriWorkerMap, WorkerDefinition};
    let settings = resolve(
        "copy",
        "JkMountFile = main.map\n[mounts]\n/main/* = a\n/shared = a\n\
         [vhost own]\n/own/* = b\n/shared = b\n\
         [vhost own-copy]\nJkMountCopy = On\n/own/* = b\n/shared = b\n\
         [vhost share]\nJkMountCopy = on\n\
         [vhost none]\nServerAlias = x\n\
         [vhost own-file]\nJkMountCopy = On\nJkMountFile = own.map\n",
        &[("main.map", "/file/*=a\n"), ("own.map", "/ownfile/*=b\n")],
    )
    .expect("valid");
    let by = |label: &str| {
        settings
            .vhosts
            .iter()
            .find(|v| v.label == label)
            .unwrap_or_else(|| panic!("vhost {label}"))
    };
    assert_eq!(
        rules(&by("own").mounts),
        vec![r("/own/*", "b", JkMount), r("/shared", "b", JkMount)]
    );
    // Copied: the top-level JkMounts it does not write itself, and the top-level file; not
    // the worker definitions (mod_jk copies `uri_to_context`, not the worker mounts).
    assert_eq!(
        rules(&by("own-copy").mounts),
        vec![
            r("/file/*", "a", UriWorkerMap),
            r("/main/*", "a", JkMount),
            r("/own/*", "b", JkMount),
            r("/shared", "b", JkMount),
        ]
    );
    assert!(by("own-copy").mount_file.is_some());
    // No mounts of its own, JkMountCopy: the top-level table itself, worker mounts included.
    assert_eq!(
        rules(&by("share").mounts),
        vec![
            r("/file/*", "a", UriWorkerMap),
            r("/fromdef/*", "a", WorkerDefinition),
            r("/main/*", "a", JkMount),
            r("/shared", "a", JkMount),
        ]
    );
    assert!(by("none").mounts.rules().is_empty());
    assert!(
        settings
            .warnings
            .iter()
            .any(|w| w.key == "[vhost none]" && w.message.contains("maps nothing")),
        "{:?}",
        settings.warnings
    );
    // Its own file replaces the top-level one.
    assert_eq!(
        rules(&by("own-file").mounts),
        vec![
            r("/main/*", "a", JkMount),
            r("/ownfile/*", "b", UriWorkerMap),
            r("/shared", "a", JkMount),
        ]
    );
    assert!(
        by("own-file")
            .mount_file
            .as_ref()
            .unwrap()
            .ends_with("own.map")
    );
}

#[test]
fn top_level_all_copies_unless_a_vhost_says_off() {
    let settings = resolve(
        "all",
        "JkMountCopy = All\n[mounts]\n/main = a\n[vhost one]\n/x = b\n[vhost two]\nJkMountCopy = Off\n/y = b\n",
        &[],
    )
    .expect("valid");
    assert_eq!(settings.vhosts[0].mounts.rules().len(), 2);
    assert!(settings.vhosts[0].mount_copy);
    assert_eq!(settings.vhosts[1].mounts.rules().len(), 1);
    let on = resolve("on", "JkMountCopy = On\n[vhost one]\n/x = b\n", &[]).expect("valid");
    assert!(
        !on.vhosts[0].mount_copy,
        "`On` at the top level does nothing, as in mod_jk"
    );
    assert!(on.warnings.iter().any(|w| w.key == "JkMountCopy"));
}

#[test]
fn errors_name_the_line_and_the_vhost() {
    let cases: &[(&str, &str)] = &[
        ("[vhost a]\n/x = nosuch\n", "jkgate.ini:2: mount `/x`"),
        (
            "[vhost a]\nJkMountCopy = All\n",
            "jkgate.ini:2: JkMountCopy",
        ),
        ("JkMountCopy = Some\n", "jkgate.ini:1: JkMountCopy"),
        (
            "[vhost a]\nVirtualHost = www.example.com:80\n",
            "jkgate.ini:2: VirtualHost",
        ),
        (
            "[vhost a]\nCertificate = a.pem\n",
            "jkgate.ini:2: Certificate",
        ),
        (
            "[vhost a]\nJkMountFile = missing.map\n/x = a\n",
            "cannot read mount file",
        ),
    ];
    for (index, (ini, expected)) in cases.iter().enumerate() {
        let error = resolve(&format!("err{index}"), ini, &[]).expect_err(ini);
        assert!(
            error.contains(expected),
            "{ini:?}: `{expected}` not in: {error}"
        );
    }
}

#[test]
fn a_vhost_on_a_port_nobody_listens_on_is_warned_about() {
    let settings = resolve(
        "ports",
        "Listen = 127.0.0.1:8080\n[vhost a]\nVirtualHost = *:8080 *:9090\n/x = a\n",
        &[],
    )
    .expect("valid");
    let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(
            |w| w.contains("jkgate.ini:3: [vhost a] VirtualHost: nothing listens on port 9090")
        ),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("port 8080")),
        "{warnings:?}"
    );
}

#[test]
fn check_prints_every_vhost_with_its_mounts() {
    let settings = resolve(
        "describe",
        "ServerName = gate.example.com\n[vhost www]\nServerName = www.example.com:8080\n\
         ServerAlias = example.com *.example.com\nVirtualHost = *:80 10.0.0.1:443\n/app/* = a\n",
        &[],
    )
    .expect("valid");
    let text = describe(&settings);
    assert!(text.contains("ServerName gate.example.com"), "{text}");
    assert!(
        text.contains(
            "vhost [www] ServerName=www.example.com:8080 ServerAlias=example.com,*.example.com VirtualHost=*:80,10.0.0.1:443 certificate=([tls]) JkMountCopy=Off JkMountFile=-"
        ),
        "{text}"
    );
    assert!(
        text.contains("  mount /app/* -> a (Wildchar, JkMount)"),
        "{text}"
    );
}
