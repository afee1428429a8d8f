//! Replays the config fuzz corpora and named hostile inputs (configuration files, status
//! worker requests) through the fuzz entry points on stable, so every `cargo test` checks
//! them.
#![cfg(feature = "proxy")]

use std::path::Path;

use jkgate::config::fuzzing;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    count
}

#[test]
fn workers_properties_corpus_never_panics() {
    assert!(replay("workers_properties", fuzzing::workers_properties) >= 3);
}

#[test]
fn uriworkermap_corpus_never_panics() {
    assert!(replay("uriworkermap", fuzzing::uriworkermap) >= 2);
}

#[test]
fn hostile_status_requests_never_panic() {
    let inputs: &[&[u8]] = &[
        b"",
        b"\t",
        b"cmd=update&w=lb&sw=*&vwa=S&vaprt=99999&vamps=-1\tBasic YWxpY2U6c2VjcmV0",
        b"cmd=update&w=lb&att=vart&val99=1&val0=%\tBasic YWxpY2U6c2VjcmV0",
        b"cmd=show&w=%00&sw=\xff\xfe&mime=xml\tBasic ===",
        b"cmd=edit&w=lb&sw=node2&att=vwn&from=list&opt=-1\tBasic YWxpY2U6c2VjcmV0",
        b"cmd=update&w=solo&vart=2147483648&var=-2147483649&vari=1e9\tBasic YWxpY2U6c2VjcmV0",
        b"cmd=list&re=-1&opt=4294967296&mime=html\tBasic Ym9iOmJ1aWxkZXI=",
    ];
    for input in inputs {
        jkgate::app::fuzzing::status_requests(input);
    }
}

#[test]
fn hostile_inputs_never_panic() {
    let inputs: &[&[u8]] = &[
        b"",
        b"=",
        b"worker.=1",
        b"worker..port=1",
        b"worker.list=\xff",
        b"x=$(",
        b"x=$()",
        b"x=$(x)$(x)$(x)",
        b"worker.a.reference=worker.a\nworker.a.port=1",
        b"worker.list=a\nworker.a.type=lb\nworker.a.balance_workers=a",
        b"worker.list=a\nworker.a.port=99999999999999",
        b"worker.list=a\nworker.a.max_packet_size=-2147483648",
        b"worker.list=a\nworker.a.socket_timeout=2147483647\n",
        b"/\xff=w",
        b"/a|=w;session_path=",
        b"-!/=*",
        b"/..=w\n/../..\n",
    ];
    for input in inputs {
        fuzzing::workers_properties(input);
        fuzzing::uriworkermap(input);
    }
}

#[test]
fn the_jkgate_ini_seeds_parse_so_the_fuzzer_starts_past_the_reader() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/jkgate_ini");
    for name in ["full", "options", "mounts", "vhosts", "remoteip_access"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let ini = jkgate::config::ini::parse_ini(&text, name)
            .unwrap_or_else(|e| panic!("seed {name}: {e}"));
        if name == "full" {
            let format = ini.request_log_format.expect("a log format");
            jkgate::config::ini::RequestLogFormat::parse(&format).expect("a valid format");
            assert_eq!(ini.mounts.expect("mounts").0.len(), 2);
        }
        if name == "vhosts" {
            assert_eq!(ini.vhosts.len(), 2);
            jkgate::config::fuzzing::jkgate_ini(text.as_bytes());
        }
        if name == "remoteip_access" {
            assert_eq!(ini.access.expect("[access]").0.len(), 4);
            assert!(
                ini.remote_ip_trusted_proxy
                    .expect("joined")
                    .contains("2001:db8::/32")
            );
        }
    }
}
