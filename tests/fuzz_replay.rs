//! Replays every committed fuzz input — `fuzz/corpus/<target>/*` and
//! `fuzz/regressions/<target>/*` — through the same function the cargo-fuzz target
//! runs, on the stable toolchain. A directory whose target has no entry in [`TARGETS`]
//! fails the test, so a new fuzz target cannot be forgotten here: add one line.

use std::path::{Path, PathBuf};

/// The logic one fuzz target runs on one input.
type FuzzLogic = fn(&[u8]);

/// Fuzz target name → the logic its `fuzz_targets/<name>.rs` calls.
const TARGETS: &[(&str, FuzzLogic)] = &[
    (
        "container_messages",
        jkgate::ajp::fuzzing::container_messages,
    ),
    (
        "proxy_messages_awaiting_request",
        jkgate::ajp::fuzzing::proxy_messages_awaiting_request,
    ),
    (
        "proxy_messages_awaiting_body",
        jkgate::ajp::fuzzing::proxy_messages_awaiting_body,
    ),
    ("body_payload", jkgate::ajp::fuzzing::body_payload),
    ("borrowed_messages", jkgate::ajp::fuzzing::borrowed_messages),
    #[cfg(feature = "ajp-fuzz")]
    ("round_trip", jkgate::ajp::structured::round_trip),
    #[cfg(feature = "proxy")]
    (
        "workers_properties",
        jkgate::config::fuzzing::workers_properties,
    ),
    #[cfg(feature = "proxy")]
    ("uriworkermap", jkgate::config::fuzzing::uriworkermap),
    #[cfg(feature = "proxy")]
    ("status_requests", jkgate::app::fuzzing::status_requests),
    #[cfg(feature = "proxy")]
    ("jkgate_ini", jkgate::config::fuzzing::jkgate_ini),
    #[cfg(feature = "proxy")]
    ("request_parsers", jkgate::server::fuzzing::request_parsers),
    #[cfg(feature = "proxy")]
    ("proxy_header", jkgate::server::fuzzing::proxy_header),
];

/// Targets whose logic lives behind a feature (`jkgate::config` and `jkgate::status` in
/// the proxy build, the structured generator behind `ajp-fuzz`): a codec-only build
/// (`--no-default-features`) has no replay function for them and passes over their inputs.
const PROXY_ONLY_TARGETS: &[&str] = &[
    "round_trip",
    "workers_properties",
    "uriworkermap",
    "status_requests",
    "jkgate_ini",
    "request_parsers",
    "proxy_header",
];

fn target_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable fuzz directory").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Replays every file under `fuzz/<kind>/<target>/`; panics when `fuzz/<kind>` has no
/// target folder or a target folder has no file (an emptied corpus or regression folder
/// would otherwise pass without testing anything).
fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut replayed = 0;
    let dirs = target_dirs(&root);
    assert!(
        !dirs.is_empty(),
        "{} has no target folder: the committed fuzz inputs are gone",
        root.display()
    );
    for dir in dirs {
        let target = dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("UTF-8 target name");
        let Some((_, run)) = TARGETS.iter().find(|(name, _)| *name == target) else {
            if !cfg!(feature = "proxy") && PROXY_ONLY_TARGETS.contains(&target) {
                eprintln!("fuzz/{kind}/{target}: proxy-only target, not in this build");
                continue;
            }
            panic!(
                "fuzz/{kind}/{target} has no replay function: add it to TARGETS in tests/fuzz_replay.rs"
            );
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("readable target directory")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "{} is empty: commit its inputs (or remove the folder with its target)",
            dir.display()
        );
        for file in files {
            let data = std::fs::read(&file).expect("readable corpus file");
            eprintln!("replaying {}", file.display());
            run(&data);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn corpus_replays_cleanly() {
    // Every target has seeds: a target without a corpus folder is a forgotten one.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, _) in TARGETS {
        assert!(
            corpus.join(name).is_dir(),
            "fuzz target {name} has no fuzz/corpus/{name}/ folder"
        );
    }
    let replayed = replay("corpus");
    assert!(
        replayed >= 30,
        "the seed corpus has gone missing ({replayed} files)"
    );
}

#[test]
fn regressions_replay_cleanly() {
    // Every fuzz finding is committed under fuzz/regressions/<target>/.
    replay("regressions");
}
