//! The shipped `workers.properties.example` parses into the cluster it describes.
#![cfg(feature = "proxy")]

use std::path::Path;
use std::time::Duration;

use jkgate::config::{Activation, LbMethod, WorkerKind, load_workers_properties};

#[test]
fn example_file_is_a_three_node_sticky_cluster_with_a_status_worker() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workers.properties.example");
    let file = load_workers_properties(&path).expect("the example parses");
    let config = &file.config;
    assert_eq!(config.list, vec!["cluster", "jkstatus"]);
    assert_eq!(config.maintain, Duration::from_secs(60));
    let cluster = config.get("cluster").expect("cluster");
    assert_eq!(cluster.mounts, vec!["/app", "/app/*"]);
    let WorkerKind::Lb(lb) = &cluster.kind else {
        panic!("cluster is an lb")
    };
    assert!(lb.settings.sticky_session);
    assert_eq!(lb.settings.method, LbMethod::Request);
    assert_eq!(lb.settings.max_reply_timeouts, 2);
    let names: Vec<&str> = lb.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, vec!["node1", "node2", "node3"]);
    for (member, port) in lb.members.iter().zip([8109, 8209, 8309]) {
        assert_eq!(
            member.ajp.host, "127.0.0.1",
            "template host via $(tomcat_host)"
        );
        assert_eq!(member.ajp.port, port);
        assert_eq!(
            member.ajp.secret.as_deref(),
            Some("change-me-to-the-connector-secret")
        );
        assert_eq!(
            member.ajp.connect_timeout,
            Duration::from_millis(5000),
            "ping_mode A fills it"
        );
        assert_eq!(
            member.ajp.socket_connect_timeout,
            Duration::from_millis(2000)
        );
        assert_eq!(member.ajp.connection_pool_timeout, Duration::from_secs(600));
        assert_eq!(member.ajp.reply_timeout, Duration::from_secs(120));
        assert_eq!(member.ajp.recovery_options.0, 3);
        assert_eq!(member.ajp.fail_on_status.0, vec![-503]);
        assert_eq!(member.member.route, member.name);
        assert_eq!(member.member.activation, Activation::Active);
    }
    assert_eq!(lb.members[2].member.lbfactor, 2);
    assert_eq!(lb.members[2].member.redirect, "node1");
    let status = config.get("jkstatus").expect("status worker");
    let WorkerKind::Status(st) = &status.kind else {
        panic!("jkstatus is a status worker")
    };
    assert!(st.read_only);
    assert!(
        file.warnings.is_empty(),
        "the example is warning-free: {:?}",
        file.warnings
    );
}
