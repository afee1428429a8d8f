//! What finding the client costs per request: the `RemoteIPHeader` walk over a
//! three-proxy `X-Forwarded-For` (header rewritten, proxies header set), the same for
//! `Forwarded`, and the `[access]` check of a path against six rules (a location prefix, a
//! wildcard, a worker rule), for a granted and a refused client.
//! Run: `cargo bench --bench client_address -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use jkgate::config::Origin;
use jkgate::config::access::AccessRules;
use jkgate::config::iprange::IpRange;
use jkgate::config::remoteip::{ClientHeader, RemoteIpSettings, TrustedProxy};
use jkgate::server::remoteip::RemoteIp;

fn walker(header: &str) -> RemoteIp {
    let proxy = |text: &str, internal| TrustedProxy {
        range: IpRange::parse(text).expect("a range"),
        internal,
    };
    RemoteIp::new(&RemoteIpSettings {
        header: Some(ClientHeader {
            name: header.to_owned(),
            forwarded: header == "Forwarded",
        }),
        proxies: vec![
            proxy("10.0.0.0/8", true),
            proxy("203.0.113.7", false),
            proxy("198.51.100.0/24", false),
        ],
        proxies_header: Some("X-Forwarded-By".to_owned()),
        proxy_protocol: Vec::new(),
    })
    .expect("a header")
}

fn bench(c: &mut Criterion) {
    let peer: IpAddr = "10.0.0.5".parse().expect("an address");
    for (header, value) in [
        ("X-Forwarded-For", "192.0.2.44, 198.51.100.3, 203.0.113.7"),
        (
            "Forwarded",
            "for=192.0.2.44;proto=https, for=198.51.100.3, for=\"203.0.113.7:443\"",
        ),
    ] {
        let walker = walker(header);
        let mut template = HeaderMap::new();
        template.insert("host", HeaderValue::from_static("www.example.com"));
        template.insert(header, HeaderValue::from_static(value));
        c.bench_function(&format!("remoteip/{header}/three_proxies"), |b| {
            b.iter(|| {
                let mut headers = template.clone();
                black_box(walker.apply(black_box(peer), &mut headers))
            })
        });
    }
    let lines = [
        ("/jkstatus", "Require ip 10.0.0.0/8 192.168.1"),
        ("/jkstatus", "Require not ip 10.0.0.66"),
        ("/app/admin", "Require all denied"),
        ("/app/*/private", "Require local"),
        ("/shop", "Require not ip 198.18.0.0/15"),
        ("worker:jkstatus", "Require local"),
    ];
    let pairs: Vec<(String, String)> = lines
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let origins: Vec<Origin> = (1..=6).map(|l| Origin::new("jkgate.ini", l)).collect();
    let mut errors = Vec::new();
    let rules = AccessRules::parse(&pairs, &origins, &mut errors);
    assert!(errors.is_empty());
    let local: IpAddr = "127.0.0.1".parse().expect("an address");
    for (name, client) in [("granted", "192.0.2.44"), ("refused", "198.18.0.9")] {
        let client: IpAddr = client.parse().expect("an address");
        c.bench_function(&format!("access/six_rules/{name}"), |b| {
            b.iter(|| {
                black_box(rules.refusing(
                    black_box(b"/shop/catalog/item.jsp"),
                    Some("lb"),
                    black_box(client),
                    local,
                ))
                .is_some()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
