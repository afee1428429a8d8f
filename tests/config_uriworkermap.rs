//! uriworkermap.properties: patterns, precedence, exclusions, extensions, normalisation
//! (spec §6).
#![cfg(feature = "proxy")]

use std::time::Duration;

use jkgate::config::uriworkermap::{is_unsafe_path, wildcard_match};
use jkgate::config::{
    Activation, MatchKind, MountSource, MountTable, NormalizeError, normalize_path,
};

fn no_env(_: &str) -> Option<String> {
    None
}

fn table(text: &str) -> MountTable {
    let mut table = MountTable::new();
    table
        .read_uriworkermap(text.as_bytes(), "uriworkermap.properties", &no_env)
        .expect("reads");
    table
}

fn worker_for<'a>(table: &'a MountTable, path: &str) -> Option<&'a str> {
    table.find_str(path).map(|m| m.worker.as_str())
}

#[test]
fn exact_rule_matches_the_whole_path_only() {
    let t = table("/app=w\n");
    assert_eq!(worker_for(&t, "/app"), Some("w"));
    assert_eq!(worker_for(&t, "/app/"), None);
    assert_eq!(worker_for(&t, "/application"), None);
    assert_eq!(t.rules()[0].kind, MatchKind::Exact);
}

#[test]
fn star_crosses_slashes_and_matches_empty() {
    let t = table("/*.jsp=jsp\n/app/*=app\n");
    assert_eq!(worker_for(&t, "/a/b/c.jsp"), Some("jsp"));
    assert_eq!(worker_for(&t, "/app/"), Some("app"));
    assert_eq!(worker_for(&t, "/app"), None);
    assert_eq!(t.rules()[0].kind, MatchKind::Wildcard);
}

#[test]
fn question_mark_matches_exactly_one_byte() {
    let t = table("/v?/api=w\n");
    assert_eq!(worker_for(&t, "/v1/api"), Some("w"));
    assert_eq!(worker_for(&t, "/v/api"), None);
    assert_eq!(worker_for(&t, "/v12/api"), None);
}

#[test]
fn matching_is_case_sensitive() {
    let t = table("/App/*=w\n");
    assert_eq!(worker_for(&t, "/app/x"), None);
    assert_eq!(worker_for(&t, "/App/x"), Some("w"));
}

#[test]
fn pipe_form_makes_two_rules() {
    let t = table("/app|/*=w\n");
    assert_eq!(t.rules().len(), 2);
    assert_eq!(worker_for(&t, "/app"), Some("w"));
    assert_eq!(worker_for(&t, "/app/x/y"), Some("w"));
    assert_eq!(worker_for(&t, "/apple"), None);
}

#[test]
fn worker_mount_keeps_the_pipe_literally() {
    let mut t = MountTable::new();
    t.add_worker_mounts("w", &["/app|/*".to_owned()], None);
    assert_eq!(t.rules().len(), 1);
    assert_eq!(t.rules()[0].pattern, "/app|/*");
    assert_eq!(worker_for(&t, "/app"), None);
}

#[test]
fn more_slashes_win_over_longer_patterns() {
    let t = table("/app/*=general\n/app/a/*=special\n/applicationxyz*=long\n");
    assert_eq!(worker_for(&t, "/app/a/b"), Some("special"));
    assert_eq!(worker_for(&t, "/app/b"), Some("general"));
}

#[test]
fn equal_slashes_longer_pattern_wins() {
    let t = table("/a*=short\n/abc*=long\n");
    assert_eq!(worker_for(&t, "/abcd"), Some("long"));
    assert_eq!(worker_for(&t, "/ab"), Some("short"));
}

#[test]
fn equal_length_file_rule_beats_jkmount_beats_worker_mount() {
    let mut t = table("/x/*=from_file\n");
    t.add_jk_mount("/x/*", "from_jkmount", None).unwrap();
    t.add_worker_mounts("from_worker", &["/x/*".to_owned()], None);
    assert_eq!(worker_for(&t, "/x/1"), Some("from_file"));
    let sources: Vec<MountSource> = t.rules().iter().map(|r| r.source).collect();
    assert_eq!(
        sources,
        vec![
            MountSource::UriWorkerMap,
            MountSource::JkMount,
            MountSource::WorkerDefinition
        ]
    );
    let mut t = MountTable::new();
    t.add_worker_mounts("from_worker", &["/x/*".to_owned()], None);
    t.add_jk_mount("/x/*", "from_jkmount", None).unwrap();
    assert_eq!(worker_for(&t, "/x/1"), Some("from_jkmount"));
}

#[test]
fn exclusion_vetoes_regardless_of_specificity() {
    let t = table("/app/static/deep/*=w\n!/*.png=w\n");
    assert_eq!(worker_for(&t, "/app/static/deep/x.png"), None);
    assert_eq!(worker_for(&t, "/app/static/deep/x.jsp"), Some("w"));
}

#[test]
fn exclusion_only_applies_to_its_worker_or_star() {
    let t = table("/a/*=one\n/b/*=two\n!/*.gif=two\n!/*.css=*\n");
    assert_eq!(worker_for(&t, "/a/x.gif"), Some("one"));
    assert_eq!(worker_for(&t, "/b/x.gif"), None);
    assert_eq!(worker_for(&t, "/a/x.css"), None);
}

#[test]
fn no_fallback_to_the_next_positive_rule_after_a_veto() {
    let t = table("/app/x/*=special\n/app/*=general\n!/app/x/*=special\n");
    assert_eq!(worker_for(&t, "/app/x/1"), None);
}

#[test]
fn exact_exclusion_needs_the_whole_path() {
    let t = table("/app/*=w\n!/app/login=w\n");
    assert_eq!(worker_for(&t, "/app/login"), None);
    assert_eq!(worker_for(&t, "/app/login2"), Some("w"));
}

#[test]
fn disabled_rules_are_ignored_both_kinds() {
    let t = table("-/app/*=w\n/other/*=w\n-!/other/*.png=w\n");
    assert_eq!(worker_for(&t, "/app/x"), None);
    assert_eq!(worker_for(&t, "/other/x.png"), Some("w"));
    let statuses: Vec<String> = t.rules().iter().map(|r| r.status_type()).collect();
    assert!(statuses.contains(&"Disabled Wildchar".to_owned()));
    assert!(statuses.contains(&"Disabled Unmount Wildchar".to_owned()));
}

#[test]
fn patterns_must_start_with_a_slash_and_bad_lines_are_skipped() {
    let t = table("*.jsp=w\n/ok/*=w\n!x=w\n");
    assert_eq!(t.rules().len(), 1);
    assert_eq!(worker_for(&t, "/ok/1"), Some("w"));
    let warning = t
        .warnings
        .iter()
        .find(|w| w.key == "*.jsp")
        .expect("warning for *.jsp");
    let text = warning.to_string();
    assert!(text.contains("uriworkermap.properties:1"), "{text}");
    assert!(text.contains("must begin with `/`"), "{text}");
}

#[test]
fn same_pattern_twice_in_the_file_last_wins_with_a_warning() {
    let t = table("/app/*=old\n/app/*=new\n");
    assert_eq!(t.rules().len(), 1);
    assert_eq!(worker_for(&t, "/app/1"), Some("new"));
    assert!(t.warnings.iter().any(|w| w.message.contains("overwritten")));
}

#[test]
fn jkmount_same_pattern_twice_last_wins() {
    let mut t = MountTable::new();
    t.add_jk_mount("/a/*", "one", None).unwrap();
    t.add_jk_mount("/a/*", "two", None).unwrap();
    assert_eq!(t.rules().len(), 1);
    assert_eq!(worker_for(&t, "/a/b"), Some("two"));
}

#[test]
fn jkmount_lines_and_errors() {
    let mut t = MountTable::new();
    t.add_jk_mount_line("/app|/*=lb;reply_timeout=100", None)
        .unwrap();
    assert_eq!(worker_for(&t, "/app/x"), Some("lb"));
    assert!(t.add_jk_mount_line("app/*=lb", None).is_err());
    assert!(t.add_jk_mount_line("/app/*", None).is_err());
    assert!(
        t.add_jk_mount_line("/app/*=*", None).is_err(),
        "worker * only on exclusions"
    );
    t.add_jk_mount_line("!/app/*.gif=*", None).unwrap();
    assert_eq!(worker_for(&t, "/app/a.gif"), None);
}

#[test]
fn comments_and_substitution_work_in_the_mount_file() {
    let env = |n: &str| (n == "LB").then(|| "balancer".to_owned());
    let mut t = MountTable::new();
    t.read_uriworkermap(b"# mounts\n/app/*=$(LB) # trailing\n", "m", &env)
        .unwrap();
    assert_eq!(worker_for(&t, "/app/1"), Some("balancer"));
}

#[test]
fn extensions_are_parsed() {
    let t = table(
        "/a/*=lb;reply_timeout=5000;sticky_ignore=1;stateless=1;active=m1;disabled=m2,m3;stopped=m4;\
         fail_on_status=500,-503;use_server_errors=400;session_cookie=SID;session_path=;sid;\
         set_session_cookie=1;session_cookie_path=/a\n",
    );
    let e = &t.rules()[0].extensions;
    assert_eq!(e.reply_timeout, Some(Duration::from_millis(5000)));
    assert!(e.sticky_ignore);
    assert!(e.stateless);
    assert_eq!(e.active, vec!["m1"]);
    assert_eq!(e.disabled, vec!["m2", "m3"]);
    assert_eq!(e.stopped, vec!["m4"]);
    assert_eq!(e.fail_on_status.as_ref().unwrap().0, vec![500, -503]);
    assert_eq!(e.use_server_errors, 400);
    assert_eq!(e.session_cookie.as_deref(), Some("SID"));
    assert_eq!(
        e.session_path.as_deref(),
        Some("sid"),
        "empty session_path= takes the next token without its `;`"
    );
    assert!(e.set_session_cookie);
    assert_eq!(e.session_cookie_path.as_deref(), Some("/a"));
    assert_eq!(t.rules()[0].worker, "lb");
}

#[test]
fn reply_timeout_extension_zero_means_none_and_negative_means_unset() {
    let t = table("/a=w;reply_timeout=0\n/b=w;reply_timeout=-1\n");
    let a = t.find_str("/a").unwrap();
    let b = t.find_str("/b").unwrap();
    assert_eq!(a.extensions.reply_timeout, Some(Duration::ZERO));
    assert_eq!(b.extensions.reply_timeout, None);
}

#[test]
fn activation_override_precedence_stopped_disabled_active() {
    let t = table("/a=lb;active=m1,m2;disabled=m2,m3;stopped=m3\n");
    let e = &t.rules()[0].extensions;
    assert_eq!(e.activation_override("m1"), Some(Activation::Active));
    assert_eq!(e.activation_override("m2"), Some(Activation::Disabled));
    assert_eq!(e.activation_override("m3"), Some(Activation::Stopped));
    assert_eq!(e.activation_override("m9"), None);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.message.contains("stopped > disabled > active"))
    );
}

#[test]
fn unknown_extension_warns_and_is_ignored() {
    let t = table("/a=w;bogus=1;stateless\n");
    assert_eq!(worker_for(&t, "/a"), Some("w"));
    assert_eq!(
        t.warnings
            .iter()
            .filter(|w| w.message.contains("unknown rule extension"))
            .count(),
        2
    );
    assert!(!t.rules()[0].extensions.stateless);
}

#[test]
fn activation_keys_only_once_per_rule() {
    let t = table("/a=lb;active=m1;active=m2\n");
    assert_eq!(t.rules()[0].extensions.active, vec!["m1"]);
}

#[test]
fn paths_longer_than_4095_bytes_are_never_mapped() {
    let t = table("/*=w\n");
    let long = format!("/{}", "a".repeat(4095));
    assert_eq!(worker_for(&t, &long), None);
    let ok = format!("/{}", "a".repeat(4094));
    assert_eq!(worker_for(&t, &ok), Some("w"));
}

#[test]
fn normalisation_strips_params_collapses_slashes_and_resolves_dots() {
    let n =
        |p: &str| String::from_utf8(normalize_path(p.as_bytes()).unwrap().into_owned()).unwrap();
    assert_eq!(n("/app;jsessionid=X/a.jsp"), "/app/a.jsp");
    assert_eq!(n("/a.jsp;jsessionid=ABC.node1"), "/a.jsp");
    assert_eq!(n("//a///b"), "/a/b");
    assert_eq!(n("/a/./b/."), "/a/b/");
    assert_eq!(n("/a/b/../c"), "/a/c");
    assert_eq!(n("/a/b/.."), "/a/");
    assert_eq!(n("/a/"), "/a/");
    assert_eq!(n("/"), "/");
    assert_eq!(normalize_path(b"/../etc"), Err(NormalizeError::AboveRoot));
    assert_eq!(normalize_path(b"/a/../.."), Err(NormalizeError::AboveRoot));
    assert_eq!(normalize_path(b"a/b"), Err(NormalizeError::NotAbsolute));
    assert_eq!(normalize_path(b"*"), Err(NormalizeError::NotAbsolute));
}

#[test]
fn normalised_path_defeats_dot_segment_tricks_against_exclusions() {
    let t = table("/app/*=w\n!/app/admin/*=w\n");
    let path = normalize_path(b"/app/public/..;x=y/admin/secret").unwrap();
    assert_eq!(path.as_ref(), b"/app/admin/secret");
    assert_eq!(t.find(&path), None);
}

#[test]
fn unsafe_uri_check() {
    assert!(is_unsafe_path(b"/a%2e"));
    assert!(is_unsafe_path(b"/a\\b"));
    assert!(!is_unsafe_path(b"/a/b"));
}

#[test]
fn wildcard_matcher_edge_cases() {
    assert!(wildcard_match(b"/*", b"/"));
    assert!(wildcard_match(b"/**", b"/x"));
    assert!(wildcard_match(b"/a*b*c", b"/aXXbYYc"));
    assert!(!wildcard_match(b"/a*b*c", b"/aXXbYY"));
    assert!(wildcard_match(b"/?*", b"/x"));
    assert!(!wildcard_match(b"/?*", b"/"));
}

#[test]
fn rules_for_lists_worker_and_star_rules() {
    let t = table("/a/*=w\n/b/*=v\n!/*.css=*\n");
    let patterns: Vec<&str> = t.rules_for("w").map(|r| r.pattern.as_str()).collect();
    assert_eq!(patterns, vec!["/a/*", "/*.css"]);
}
