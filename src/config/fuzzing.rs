//! Entry points for the fuzz targets (and their regression tests): bytes in, never a panic.

use super::properties::{DuplicateMode, PropertyMap};
use super::reader::read_workers_properties;
use super::uriworkermap::{MountTable, normalize_path};

fn no_env(_: &str) -> Option<String> {
    None
}

/// Reads `data` as workers.properties; on success, checks invariants of the result.
pub fn workers_properties(data: &[u8]) {
    match read_workers_properties(data, "fuzz.properties", &no_env) {
        Ok(file) => {
            for worker in &file.config.workers {
                assert!(file.config.list.contains(&worker.name));
                if let super::workers::WorkerKind::Lb(lb) = &worker.kind {
                    assert!(!lb.members.is_empty());
                    for member in &lb.members {
                        assert!(member.member.lbfactor >= 1);
                        assert!(
                            member.ajp.max_packet_size >= 8192
                                && member.ajp.max_packet_size <= 65536
                        );
                        assert_eq!(member.ajp.max_packet_size % 1024, 0);
                        assert!(member.ajp.retries >= 1);
                    }
                }
            }
        }
        Err(error) => {
            // Every error renders to a message.
            assert!(!error.to_string().is_empty());
        }
    }
    // The map alone (no reference resolution) never fails on anything but a directive.
    let mut map = PropertyMap::new();
    let _ = map.read(data, "fuzz.properties", DuplicateMode::Merge, &no_env);
}

/// Reads `data` as uriworkermap.properties and matches a few paths derived from it.
pub fn uriworkermap(data: &[u8]) {
    let mut table = MountTable::new();
    let _ = table.read_uriworkermap(data, "fuzz.map", &no_env);
    for window in data.split(|&b| b == b'\n').take(8) {
        if let Ok(path) = normalize_path(window) {
            let _ = table.find(&path);
            assert!(path.starts_with(b"/"));
        }
        let _ = table.find(window);
    }
    for rule in table.rules() {
        assert!(rule.pattern.starts_with('/'));
        let _ = table.find(rule.pattern.as_bytes());
    }
}
