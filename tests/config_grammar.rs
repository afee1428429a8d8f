//! The workers.properties line grammar, one test per rule of mod_jk's `jk_map.c`
//! (spec §1.1–§1.5, §1.8).
#![cfg(feature = "proxy")]

use jkgate::config::error::ConfigError;
use jkgate::config::properties::{DuplicateMode, PropertyMap};
use jkgate::config::{WorkerKind, WorkersFile, read_workers_properties};

fn no_env(_: &str) -> Option<String> {
    None
}

fn map_of(text: &str) -> PropertyMap {
    let mut map = PropertyMap::new();
    map.read(
        text.as_bytes(),
        "t.properties",
        DuplicateMode::Merge,
        &no_env,
    )
    .expect("reads");
    map
}

fn workers(text: &str) -> WorkersFile {
    read_workers_properties(text.as_bytes(), "t.properties", &no_env)
        .expect("valid workers.properties")
}

fn ajp_host(file: &WorkersFile, name: &str) -> String {
    match &file.config.get(name).expect("worker").kind {
        WorkerKind::Ajp13(ajp) => ajp.host.clone(),
        other => panic!("not ajp13: {other:?}"),
    }
}

#[test]
fn hash_starts_a_comment_anywhere_in_the_line() {
    let map = map_of("worker.a.secret=abc#def\n# whole line\nx=1 # trailing\n");
    assert_eq!(map.value("worker.a.secret"), Some("abc"));
    assert_eq!(map.value("x"), Some("1"));
    assert_eq!(map.len(), 2);
}

#[test]
fn hash_before_the_equals_sign_drops_the_line() {
    let map = map_of("#worker.a.port=1\nworker#.b.port=2\n");
    assert!(map.is_empty());
}

#[test]
fn split_at_the_first_equals_sign() {
    let map = map_of("worker.a.secret=x=y==z\n");
    assert_eq!(map.value("worker.a.secret"), Some("x=y==z"));
}

#[test]
fn key_and_value_are_trimmed_of_c_whitespace() {
    let map = map_of(" \t worker.a.host \t=\x0b  tomcat1 \x0c \r\n");
    assert_eq!(map.value("worker.a.host"), Some("tomcat1"));
}

#[test]
fn crlf_line_endings_work() {
    let map = map_of("worker.list=a\r\nworker.a.port=8010\r\n");
    assert_eq!(map.value("worker.list"), Some("a"));
    assert_eq!(map.value("worker.a.port"), Some("8010"));
}

#[test]
fn lines_without_equals_are_ignored_silently() {
    let map = map_of("worker.a.port 8010\njust words\n\n   \n");
    assert!(map.is_empty());
    assert!(map.warnings.is_empty());
}

#[test]
fn empty_key_or_empty_value_is_ignored() {
    let map = map_of("=value\nworker.a.port=\nworker.a.host=   \n");
    assert!(map.is_empty());
}

#[test]
fn empty_value_does_not_reset_an_earlier_one() {
    let map = map_of("worker.a.port=8010\nworker.a.port=\n");
    assert_eq!(map.value("worker.a.port"), Some("8010"));
}

#[test]
fn no_continuation_lines_backslash_is_data() {
    let map = map_of("worker.a.secret=abc\\\nworker.a.host=h\n");
    assert_eq!(map.value("worker.a.secret"), Some("abc\\"));
    assert_eq!(map.value("worker.a.host"), Some("h"));
}

#[test]
fn keys_are_case_sensitive_and_invalid_case_is_fatal() {
    let mut map = PropertyMap::new();
    let err = map
        .read(
            b"worker.a.Port=8010\n",
            "t.properties",
            DuplicateMode::Merge,
            &no_env,
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("t.properties:1"), "{text}");
    assert!(text.contains("worker.a.Port"), "{text}");
    assert!(text.contains("did you mean `port`"), "{text}");
}

#[test]
fn unknown_worker_directive_is_fatal_and_names_file_line_key_and_valid_names() {
    let err = read_workers_properties(
        b"worker.list=a\n\nworker.a.prot=8010\n",
        "conf/workers.properties",
        &no_env,
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::UnknownDirective { .. }));
    let text = err.to_string();
    assert!(
        text.starts_with("conf/workers.properties:3: `worker.a.prot`"),
        "{text}"
    );
    assert!(text.contains("did you mean `port`"), "{text}");
    assert!(
        text.contains("connection_pool_timeout"),
        "lists valid names: {text}"
    );
}

#[test]
fn reading_stops_at_the_first_invalid_directive() {
    let mut map = PropertyMap::new();
    let result = map.read(
        b"a=1\nworker.x.bogus=2\nb=3\n",
        "t",
        DuplicateMode::Merge,
        &no_env,
    );
    assert!(result.is_err());
    assert_eq!(map.value("a"), Some("1"));
    assert_eq!(map.value("b"), None);
}

#[test]
fn only_the_suffix_of_worker_keys_is_validated() {
    let map = map_of("worker.a.b.c.port=1\nworker.foo.list=x\n");
    assert_eq!(map.value("worker.a.b.c.port"), Some("1"));
    assert_eq!(map.value("worker.foo.list"), Some("x"));
}

#[test]
fn non_worker_keys_are_variables_and_accepted_silently() {
    let map = map_of("workers.tomcat_home=/opt/tc\nWorker.x.bogus=1\nps=/\n");
    assert_eq!(map.len(), 3);
    assert!(map.warnings.is_empty());
}

#[test]
fn substitution_uses_earlier_keys() {
    let map = map_of("tc_host=tomcat1\nworker.a.host=$(tc_host)\n");
    assert_eq!(map.value("worker.a.host"), Some("tomcat1"));
}

#[test]
fn substitution_sees_worker_keys_too() {
    let map = map_of("worker.a.port=8010\nworker.b.port=$(worker.a.port)\n");
    assert_eq!(map.value("worker.b.port"), Some("8010"));
}

#[test]
fn substitution_falls_back_to_the_environment() {
    let env = |name: &str| (name == "TC_PORT").then(|| "9009".to_owned());
    let mut map = PropertyMap::new();
    map.read(
        b"worker.a.port=$(TC_PORT)\n",
        "t",
        DuplicateMode::Merge,
        &env,
    )
    .unwrap();
    assert_eq!(map.value("worker.a.port"), Some("9009"));
}

#[test]
fn earlier_keys_beat_the_environment() {
    let env = |_: &str| Some("from-env".to_owned());
    let mut map = PropertyMap::new();
    map.read(
        b"h=from-file\nworker.a.host=$(h)\n",
        "t",
        DuplicateMode::Merge,
        &env,
    )
    .unwrap();
    assert_eq!(map.value("worker.a.host"), Some("from-file"));
}

#[test]
fn no_forward_references_unresolved_stays_literal() {
    let map = map_of("worker.a.host=$(later)\nlater=x\n");
    assert_eq!(map.value("worker.a.host"), Some("$(later)"));
}

#[test]
fn substituted_text_is_not_rescanned() {
    let map = map_of("a=$$(b)\nb=(c)\nc=no\nworker.x.host=$(a)\n");
    // a = "$" + "$(b)" unresolved? b is later → a stays "$$(b)"; x gets a's text verbatim.
    assert_eq!(map.value("a"), Some("$$(b)"));
    assert_eq!(map.value("worker.x.host"), Some("$$(b)"));
    let map = map_of("inner=$(z)\nz=1\nworker.x.host=[$(inner)]\n");
    assert_eq!(map.value("worker.x.host"), Some("[$(z)]"));
}

#[test]
fn unterminated_substitution_stops_scanning() {
    let map = map_of("a=1\nworker.x.host=$(a)$(a\n");
    assert_eq!(map.value("worker.x.host"), Some("1$(a"));
}

#[test]
fn at_most_twenty_one_substitutions_per_value() {
    let refs = "$(v)".repeat(25);
    let map = map_of(&format!("v=x\nworker.x.secret={refs}\n"));
    let expected = format!("{}{}", "x".repeat(21), "$(v)".repeat(4));
    assert_eq!(map.value("worker.x.secret"), Some(expected.as_str()));
}

#[test]
fn list_keys_accumulate_with_commas() {
    let map = map_of(
        "worker.list=a\nworker.list=b,c\nworker.lb.balance_workers=n1\nworker.lb.balance_workers=n2\n",
    );
    assert_eq!(map.value("worker.list"), Some("a,b,c"));
    assert_eq!(map.value("worker.lb.balance_workers"), Some("n1,n2"));
}

#[test]
fn unique_keys_last_wins_with_a_warning_naming_both_lines() {
    let map = map_of("worker.a.port=8010\n\nworker.a.port=8020\n");
    assert_eq!(map.value("worker.a.port"), Some("8020"));
    let warning = map
        .warnings
        .iter()
        .find(|w| w.key == "worker.a.port")
        .expect("warning");
    let text = warning.to_string();
    assert!(text.contains("t.properties:3"), "{text}");
    assert!(text.contains("first at line 1"), "{text}");
}

#[test]
fn other_repeated_keys_are_glued_with_a_star() {
    let map = map_of(
        "x=1\nx=2\nworker.n.distance=0\nworker.n.distance=1\nworker.maintain=60\nworker.maintain=30\n",
    );
    assert_eq!(map.value("x"), Some("1*2"));
    assert_eq!(map.value("worker.n.distance"), Some("0*1"));
    assert_eq!(map.value("worker.maintain"), Some("60*30"));
}

#[test]
fn repeated_maintain_means_the_first_value_wins() {
    let file = workers("worker.list=a\nworker.maintain=60\nworker.maintain=30\n");
    assert_eq!(file.config.maintain.as_secs(), 60);
}

#[test]
fn repeated_path_keys_join_with_colon_and_cmd_line_with_space() {
    let map = map_of("my_path=/a\nmy_path=/b\nworker.j.cmd_line=-x\nworker.j.cmd_line=-y\n");
    assert_eq!(map.value("my_path"), Some("/a:/b"));
    assert_eq!(map.value("worker.j.cmd_line"), Some("-x -y"));
}

#[test]
fn repeated_deprecated_balanced_workers_glue_into_one_member_name() {
    let file = workers(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balanced_workers=a\nworker.lb.balanced_workers=b\n",
    );
    let WorkerKind::Lb(lb) = &file.config.get("lb").unwrap().kind else {
        panic!()
    };
    let names: Vec<&str> = lb.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, vec!["a*b"]);
}

#[test]
fn physical_lines_longer_than_8191_bytes_are_split() {
    let long_value = "v".repeat(8191 - "x=".len());
    let text = format!("x={long_value}worker.a.port=8010\n");
    let map = map_of(&text);
    assert_eq!(map.value("x").map(str::len), Some(long_value.len()));
    assert_eq!(map.value("worker.a.port"), Some("8010"));
}

#[test]
fn reference_copies_missing_keys_and_explicit_keys_win() {
    let file = workers(
        "worker.list=n1\nworker.tpl.host=tomcat\nworker.tpl.port=9000\nworker.n1.reference=worker.tpl\nworker.n1.port=9001\n",
    );
    let WorkerKind::Ajp13(ajp) = &file.config.get("n1").unwrap().kind else {
        panic!()
    };
    assert_eq!(ajp.host, "tomcat");
    assert_eq!(ajp.port, 9001);
}

#[test]
fn reference_is_resolved_after_the_whole_file() {
    let file = workers("worker.list=n1\nworker.n1.reference=worker.tpl\nworker.tpl.host=late\n");
    assert_eq!(ajp_host(&file, "n1"), "late");
}

#[test]
fn reference_chains_are_followed() {
    let file = workers(
        "worker.list=n1\nworker.base.host=deep\nworker.mid.reference=worker.base\nworker.mid.port=1\nworker.n1.reference=worker.mid\n",
    );
    assert_eq!(ajp_host(&file, "n1"), "deep");
}

#[test]
fn reference_without_the_worker_prefix_is_an_error_with_a_hint() {
    let err = read_workers_properties(
        b"worker.list=n1\nworker.tpl.host=x\nworker.n1.reference=tpl\n",
        "w.properties",
        &no_env,
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::ReferenceNotFound { .. }));
    let text = err.to_string();
    assert!(text.contains("w.properties:3"), "{text}");
    assert!(text.contains("worker.tpl"), "{text}");
}

#[test]
fn reference_loop_hits_the_depth_limit() {
    let err = read_workers_properties(
        b"worker.list=a\nworker.a.reference=worker.b\nworker.b.reference=worker.a\nworker.a.port=1\nworker.b.port=2\n",
        "w",
        &no_env,
    )
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::ReferenceTooDeep { limit: 20, .. }),
        "{err}"
    );
}

/// Fuzz finding `fuzz/regressions/workers_properties/oom-reference-key-growth`: a worker
/// named inside its own template made every copy a new reference to copy again (mod_jk
/// loops until memory runs out). It is an error naming the file, line and both prefixes.
#[test]
fn worker_inside_its_own_template_is_an_error_not_endless_growth() {
    let err = read_workers_properties(
        b"worker.list=t.x\nworker.t.port=8009\nworker.t.x.reference=worker.t\n",
        "w.properties",
        &no_env,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::ReferenceIntoItself { worker, .. } if worker == "worker.t.x"),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("w.properties:3"), "{text}");
}

#[test]
fn template_mount_keys_are_copied_too() {
    let file = workers("worker.list=n1\nworker.tpl.mount=/app/*\nworker.n1.reference=worker.tpl\n");
    assert_eq!(file.config.get("n1").unwrap().mounts, vec!["/app/*"]);
}

#[test]
fn missing_worker_list_means_a_worker_called_ajp13() {
    let file = workers("worker.ajp13.port=8010\n");
    assert_eq!(file.config.list, vec!["ajp13"]);
    assert!(file.warnings.iter().any(|w| w.key == "worker.list"));
}

#[test]
fn listed_name_without_properties_is_an_implicit_localhost_8009_worker() {
    let file = workers("worker.list=typo\n");
    let worker = file.config.get("typo").unwrap();
    assert!(worker.implicit);
    let WorkerKind::Ajp13(ajp) = &worker.kind else {
        panic!()
    };
    assert_eq!((ajp.host.as_str(), ajp.port), ("localhost", 8009));
    assert!(file.warnings.iter().any(|w| w.message.contains("typo")));
}

#[test]
fn undefined_member_becomes_an_implicit_localhost_8009_member() {
    let file = workers("worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=nodeX\n");
    let WorkerKind::Lb(lb) = &file.config.get("lb").unwrap().kind else {
        panic!()
    };
    assert!(lb.members[0].implicit);
    assert_eq!(lb.members[0].ajp.port, 8009);
}

#[test]
fn deprecated_directives_warn_and_map_to_their_successors() {
    let file = workers(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balanced_workers=n1\n\
         worker.n1.jvm_route=r1\nworker.n1.cachesize=7\nworker.n1.cache_timeout=30\n\
         worker.n1.disabled=true\nworker.n1.recycle_timeout=5\nworker.n1.local_worker=1\n",
    );
    let WorkerKind::Lb(lb) = &file.config.get("lb").unwrap().kind else {
        panic!()
    };
    let member = &lb.members[0];
    assert_eq!(member.member.route, "r1");
    assert_eq!(member.ajp.connection_pool_size, 7);
    assert_eq!(member.ajp.connection_pool_timeout.as_secs(), 30);
    assert_eq!(
        member.member.activation,
        jkgate::config::Activation::Disabled
    );
    for key in [
        "balanced_workers",
        "jvm_route",
        "cachesize",
        "cache_timeout",
        "disabled",
        "recycle_timeout",
        "local_worker",
    ] {
        assert!(
            file.warnings
                .iter()
                .any(|w| w.key.ends_with(&format!(".{key}")) && w.message.contains("deprecated")),
            "no deprecation warning for {key}"
        );
    }
}

#[test]
fn successors_beat_deprecated_aliases() {
    let file = workers(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1\nworker.lb.balanced_workers=zzz\n\
         worker.n1.route=new\nworker.n1.jvm_route=old\nworker.n1.connection_pool_size=3\nworker.n1.cachesize=9\n\
         worker.n1.activation=A\nworker.n1.stopped=true\n",
    );
    let WorkerKind::Lb(lb) = &file.config.get("lb").unwrap().kind else {
        panic!()
    };
    assert_eq!(lb.members.len(), 1);
    assert_eq!(lb.members[0].name, "n1");
    assert_eq!(lb.members[0].member.route, "new");
    assert_eq!(lb.members[0].ajp.connection_pool_size, 3);
    assert_eq!(
        lb.members[0].member.activation,
        jkgate::config::Activation::Active
    );
}

#[test]
fn negative_connection_pool_size_falls_back_to_cachesize() {
    let file = workers("worker.list=a\nworker.a.connection_pool_size=-1\nworker.a.cachesize=4\n");
    let WorkerKind::Ajp13(ajp) = &file.config.get("a").unwrap().kind else {
        panic!()
    };
    assert_eq!(ajp.connection_pool_size, 4);
}

#[test]
fn non_utf8_bytes_in_comments_are_fine_elsewhere_an_error() {
    let map = map_of("worker.a.host=h # caf\u{e9}\n");
    assert_eq!(map.value("worker.a.host"), Some("h"));
    let mut bytes = b"x=1 # ".to_vec();
    bytes.push(0xe9);
    bytes.extend_from_slice(b"\n");
    let mut map = PropertyMap::new();
    map.read(&bytes, "t", DuplicateMode::Merge, &no_env)
        .unwrap();
    let mut bad = b"worker.a.host=caf".to_vec();
    bad.push(0xe9);
    let mut map = PropertyMap::new();
    let err = map
        .read(&bad, "t", DuplicateMode::Merge, &no_env)
        .unwrap_err();
    assert!(err.to_string().contains("t:1"));
}

fn refusal(text: &str) -> ConfigError {
    read_workers_properties(text.as_bytes(), "t.properties", &no_env).expect_err("refused")
}

#[test]
fn unexpanded_variable_in_a_worker_setting_is_refused_naming_file_line_and_variable() {
    let error = refusal("worker.list=w\nworker.w.port=8009\nworker.w.host=$(TC_HOST)\n");
    let ConfigError::UnexpandedVariable {
        origin,
        key,
        value,
        name,
    } = &error
    else {
        panic!("not an unexpanded variable: {error}");
    };
    assert_eq!(origin.to_string(), "t.properties:3");
    assert_eq!(key, "worker.w.host");
    assert_eq!(value, "$(TC_HOST)");
    assert_eq!(name, "TC_HOST");
    let message = error.to_string();
    assert!(
        message
            .starts_with("t.properties:3: `worker.w.host=$(TC_HOST)`: `$(TC_HOST)` is not defined"),
        "{message}"
    );
    assert!(
        message.contains("mod_jk would silently keep the text `$(TC_HOST)`"),
        "{message}"
    );
    assert!(
        message.contains("define `TC_HOST=...` on a line above"),
        "{message}"
    );
}

#[test]
fn a_variable_defined_only_later_is_unexpanded_too() {
    // mod_jk has no forward references: the value stays `x$(later)` (see above).
    let message = refusal("worker.list=w\nworker.w.secret=x$(later)\nlater=s\n").to_string();
    assert!(
        message.starts_with("t.properties:2: `worker.w.secret=x$(later)`"),
        "{message}"
    );
}

#[test]
fn an_unexpanded_variable_in_a_template_is_reported_at_the_template_line() {
    let error = refusal(
        "worker.list=lb\nworker.tpl.host=$(TC_HOST)\nworker.lb.type=lb\nworker.lb.balance_workers=n1\n\
         worker.n1.reference=worker.tpl\n",
    );
    let lines: Vec<String> = error.errors().iter().map(|e| e.to_string()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.properties:2: `worker.tpl.host=$(TC_HOST)`")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| l.contains("$(TC_HOST)")), "{lines:?}");
}

#[test]
fn variables_that_resolve_and_unused_free_variables_are_accepted() {
    let env = |name: &str| (name == "TC_HOST").then(|| "tomcat1".to_owned());
    let file = read_workers_properties(
        b"unused=$(NOWHERE)\nworker.list=w\nworker.w.host=$(TC_HOST)\n",
        "t.properties",
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ajp_host(&file, "w"), "tomcat1");
    // `$(` without `)` is no reference in mod_jk's syntax: kept, and not refused.
    let file = workers("worker.list=w\nworker.w.secret=a$(b\n");
    assert_eq!(file.properties.value("worker.w.secret"), Some("a$(b"));
}

/// Fuzz finding (fuzz/regressions/workers_properties/*-self-referencing-variable-doubles):
/// `v=$(v)$(v)` doubles `v` on every line, and joining a repeated key doubles it again, so a
/// file of a few KiB asked for gigabytes and minutes. Both stop at the limit, with the line.
#[test]
fn a_value_that_doubles_itself_stops_at_the_length_limit() {
    use jkgate::config::properties::VALUE_LENGTH_LIMIT;
    // 16 bytes doubled (`$(v)$(v)`: 16 * 2^(n-1)) pass 64 KiB on line 14; doubled plus the
    // `*` that joins a repeated key (2n + 1), on line 13.
    for (case, mode, line, stops_at) in [
        ("substitution", DuplicateMode::Overwrite, "v=$(v)$(v)\n", 14),
        ("joined repeats", DuplicateMode::Merge, "v=$(v)\n", 13),
    ] {
        let text = format!("v=0123456789abcdef\n{}", line.repeat(20));
        let mut map = PropertyMap::new();
        let err = map
            .read(text.as_bytes(), "t.properties", mode, &no_env)
            .expect_err(case);
        let ConfigError::ValueTooLong {
            origin,
            key,
            length,
            limit,
        } = &err
        else {
            panic!("{case}: {err}");
        };
        assert_eq!((key.as_str(), *limit), ("v", VALUE_LENGTH_LIMIT), "{case}");
        assert!(*length > VALUE_LENGTH_LIMIT, "{case}");
        assert_eq!(origin.line, stops_at, "{case}: {err}");
        assert!(
            err.to_string()
                .contains(&format!("t.properties:{stops_at}")),
            "{err}"
        );
        assert!(
            map.value("v").unwrap().len() <= VALUE_LENGTH_LIMIT,
            "{case}"
        );
    }
}
