//! `jkgate ajp probe URL`: a read-only report on a container. Every check is one
//! ordinary request on a fresh connection to a path that cannot exist, varied in one
//! field, and reads only the status: nothing is written, no file is read.
//!
//! What Tomcat does that the checks rely on (`org.apache.coyote.ajp.AjpProcessor`):
//! a missing or wrong `secret` when one is configured is answered 403; a
//! `req_attribute` that is neither known nor matched by `allowedRequestAttributesPattern`
//! is answered 403; a FORWARD_REQUEST longer than `packetSize` is refused (Tomcat 10.1
//! answers 500, from an IllegalArgumentException), so the packet size check compares each
//! answer with the baseline's status. A `*.servlet.include.*` attribute the container honours makes
//! the DefaultServlet look the included path up, and an included path that does not
//! exist is an error (500), where an ignored one leaves the ordinary 404.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::build::{RequestSpec, encoded_len, forward_request, pad_to};
use super::client::{Client, Collected, NoBody};
use super::error::ToolError;
use super::target::AjpUrl;
use super::trace::Trace;
use crate::ajp::{ForwardRequest, KnownMethod, PacketSize, ProxyMessage, encode_forward_request};

/// The options of `jkgate ajp probe`.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `ajp://host:port/context/`: the path should be a context root (`/` for ROOT), so
    /// the probe paths below it reach the DefaultServlet.
    pub url: String,
    /// `--secret`: the secret to test (a wrong one is tested too).
    pub secret: Option<String>,
    /// Bound on connecting and on every answer.
    pub timeout: Duration,
    /// `-v`: trace every packet.
    pub verbose: bool,
}

/// What one probe request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A response with this status (and `Allow` header, if any).
    Status {
        /// HTTP status.
        status: u16,
        /// The `Allow` header.
        allow: Option<String>,
    },
    /// No response: closed, reset, timed out, invalid.
    Nothing(String),
}

impl Seen {
    fn status(&self) -> Option<u16> {
        match self {
            Seen::Status { status, .. } => Some(*status),
            Seen::Nothing(_) => None,
        }
    }
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seen::Status { status, .. } => write!(f, "{status}"),
            Seen::Nothing(why) => write!(f, "no answer ({why})"),
        }
    }
}

struct Prober {
    addr: SocketAddr,
    timeout: Duration,
    trace: Trace,
}

impl Prober {
    async fn send(&self, request: &ForwardRequest) -> Seen {
        self.send_frame(ProxyMessage::ForwardRequest(request.clone()), None)
            .await
    }

    /// One request on a fresh connection: the typed message, or (`raw`) bytes made by
    /// editing the codec's encoding of it.
    async fn send_frame(&self, message: ProxyMessage, raw: Option<Vec<u8>>) -> Seen {
        let mut sink = Collected::default();
        let result = async {
            let mut client =
                Client::connect(self.addr, PacketSize::MAX, self.timeout, self.trace).await?;
            match raw {
                Some(bytes) => {
                    client.send_raw(&bytes, "sending FORWARD_REQUEST").await?;
                    client.finish(&mut NoBody, &mut sink).await?;
                }
                None => {
                    client.exchange(&message, &mut NoBody, &mut sink).await?;
                }
            }
            Ok::<_, ToolError>(())
        }
        .await;
        // A status counts even when the connection closed before END_RESPONSE: Tomcat
        // closes after the error statuses the checks look for.
        match (sink.head, result) {
            (Some(head), _) => Seen::Status {
                status: head.status,
                allow: head
                    .header_values(b"allow")
                    .flatten()
                    .next()
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            },
            (None, Ok(())) => Seen::Nothing("no SEND_HEADERS".to_owned()),
            (None, Err(err)) => Seen::Nothing(err.to_string()),
        }
    }
}

/// The report `jkgate ajp probe` prints.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// `host:port (addr)`.
    pub target: String,
    /// The CPING round trip.
    pub cping: Duration,
    /// The path the checks derive from.
    pub probe_path: String,
    /// The baseline: a request for a path that cannot exist, with the secret if given.
    pub baseline: Seen,
    /// The same without any secret.
    pub no_secret: Seen,
    /// The same with a wrong secret.
    pub wrong_secret: Seen,
    /// Whether a secret was given.
    pub secret_given: bool,
    /// The baseline plus an arbitrary `req_attribute`.
    pub arbitrary_attribute: Seen,
    /// The baseline plus the three `javax.servlet.include.*` attributes.
    pub include_javax: Seen,
    /// The baseline plus the three `jakarta.servlet.include.*` attributes.
    pub include_jakarta: Seen,
    /// The largest FORWARD_REQUEST frame answered like the baseline, and the smallest
    /// refused one (`None`: none refused up to AJP's maximum).
    pub packet: Option<(usize, Option<usize>)>,
    /// The URL's path requested with every AJP method code.
    pub methods: Vec<(KnownMethod, Seen)>,
    /// The same with an uncoded method (0xFF + stored_method `PATCH`).
    pub stored_method: Seen,
    /// The same with method byte 28, which AJP does not define.
    pub undefined_method: Seen,
    /// OPTIONS on the URL's path (what nmap's ajp-methods reads).
    pub options: Seen,
}

/// What a status means next to the baseline's.
fn verdict_secret(report: &Report) -> String {
    match (report.no_secret.status(), report.baseline.status()) {
        (Some(403), Some(b)) if report.secret_given && b != 403 => {
            "yes (403 without it; the given secret is accepted)".to_owned()
        }
        (Some(403), _) if report.secret_given => {
            "yes, and the given secret is refused too (403 with it)".to_owned()
        }
        (Some(403), _) => "yes (403 without a secret; give --secret to test one)".to_owned(),
        (Some(status), _) => format!("no (answered {status} without a secret)"),
        (None, _) => format!("unknown ({})", report.no_secret),
    }
}

fn verdict_wrong_secret(report: &Report) -> String {
    match report.wrong_secret.status() {
        Some(403) => "yes (403)".to_owned(),
        Some(status) => format!("no (answered {status}: a wrong secret is ignored)"),
        None => format!("unknown ({})", report.wrong_secret),
    }
}

fn verdict_attributes(report: &Report) -> String {
    match (
        report.baseline.status(),
        report.arbitrary_attribute.status(),
    ) {
        (Some(403), _) | (None, _) => {
            format!("unknown (the baseline request got {})", report.baseline)
        }
        (Some(_), Some(403)) => {
            "allow-list only (an unknown attribute name is refused with 403)".to_owned()
        }
        (Some(b), Some(a)) if a == b => format!("any (an unknown attribute name is accepted: {a})"),
        (Some(b), _) => format!(
            "unclear ({} with an unknown attribute, {b} without)",
            report.arbitrary_attribute
        ),
    }
}

fn verdict_include(report: &Report, seen: &Seen) -> String {
    match (report.baseline.status(), seen.status()) {
        (Some(403), _) | (None, _) => {
            format!("unknown (the baseline request got {})", report.baseline)
        }
        (Some(_), Some(403)) => "refused (403)".to_owned(),
        (Some(b), Some(s)) if s == b => format!("accepted but not honoured ({s}, as without them)"),
        (Some(b), Some(s)) if s >= 500 => format!(
            "HONOURED: the container looked the included path up ({s} for a missing include, {b} without); a Ghostcat-style file read works"
        ),
        (Some(b), _) => format!("unclear ({seen} with them, {b} without)"),
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "target: {}", self.target)?;
        writeln!(
            f,
            "cping: answered in {:.3} ms",
            self.cping.as_secs_f64() * 1000.0
        )?;
        writeln!(
            f,
            "probe path: {} (answered {})",
            self.probe_path, self.baseline
        )?;
        writeln!(f, "secret required: {}", verdict_secret(self))?;
        writeln!(f, "wrong secret refused: {}", verdict_wrong_secret(self))?;
        writeln!(f, "request attributes: {}", verdict_attributes(self))?;
        writeln!(
            f,
            "javax.servlet.include.* attributes: {}",
            verdict_include(self, &self.include_javax)
        )?;
        writeln!(
            f,
            "jakarta.servlet.include.* attributes: {}",
            verdict_include(self, &self.include_jakarta)
        )?;
        match self.packet {
            Some((largest, Some(refused))) => writeln!(
                f,
                "largest packet accepted: {largest} bytes ({refused} refused)"
            )?,
            Some((largest, None)) => writeln!(
                f,
                "largest packet accepted: {largest} bytes (AJP's maximum)"
            )?,
            None => writeln!(
                f,
                "largest packet accepted: unknown (the baseline request got {})",
                self.baseline
            )?,
        }
        let decoded: Vec<&str> = self
            .methods
            .iter()
            .filter(|(_, seen)| seen.status().is_some_and(|s| s != 400 && s != 403))
            .map(|(method, _)| method.name())
            .collect();
        writeln!(
            f,
            "method codes decoded: {} of {}",
            decoded.len(),
            self.methods.len()
        )?;
        let mut answers = String::new();
        for (method, seen) in &self.methods {
            let _ = write!(answers, " {}={seen}", method.name());
        }
        writeln!(f, "method answers:{answers}")?;
        writeln!(f, "stored method (0xFF PATCH): {}", self.stored_method)?;
        writeln!(f, "undefined method code 28: {}", self.undefined_method)?;
        match &self.options {
            Seen::Status {
                status,
                allow: Some(allow),
            } => writeln!(f, "OPTIONS {status}, Allow: {allow}"),
            other => writeln!(f, "OPTIONS {other}, no Allow header"),
        }
    }
}

/// Runs `jkgate ajp probe` and prints the report.
pub(crate) async fn run(options: ProbeOptions) -> Result<(), ToolError> {
    let report = probe(options).await?;
    use std::io::Write as _;
    let _ = write!(std::io::stdout().lock(), "{report}");
    Ok(())
}

/// A token no path or attribute of the container can already use.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}", nanos, std::process::id())
}

async fn probe(options: ProbeOptions) -> Result<Report, ToolError> {
    let url = AjpUrl::parse(&options.url)?;
    let addr = url.resolve()?;
    let trace = Trace::new(options.verbose);
    let mut client = Client::connect(addr, PacketSize::DEFAULT, options.timeout, trace).await?;
    let cping = client.cping().await?;
    drop(client);
    let prober = Prober {
        addr,
        timeout: options.timeout,
        trace,
    };
    let nonce = nonce();
    let base = url.path.trim_end_matches('/');
    let probe_path = format!("{base}/jkgate-probe-{nonce}.txt");
    let probe_url = AjpUrl {
        path: probe_path.clone(),
        query: None,
        ..url.clone()
    };
    let secret = options.secret.as_ref().map(|s| Bytes::from(s.clone()));
    let spec = RequestSpec {
        method: "GET".to_owned(),
        secret: secret.clone(),
        ..RequestSpec::default()
    };
    let baseline_request = forward_request(&probe_url, &spec);
    let baseline = prober.send(&baseline_request).await;
    let no_secret = prober
        .send(&forward_request(
            &probe_url,
            &RequestSpec {
                secret: None,
                ..spec.clone()
            },
        ))
        .await;
    let wrong_secret = prober
        .send(&forward_request(
            &probe_url,
            &RequestSpec {
                secret: Some(Bytes::from(format!("jkgate-probe-wrong-{nonce}"))),
                ..spec.clone()
            },
        ))
        .await;
    let with_attributes = |attributes: Vec<(String, String)>| {
        forward_request(
            &probe_url,
            &RequestSpec {
                attributes: attributes
                    .into_iter()
                    .map(|(n, v)| (Bytes::from(n), Bytes::from(v)))
                    .collect(),
                ..spec.clone()
            },
        )
    };
    let arbitrary_attribute = prober
        .send(&with_attributes(vec![(
            format!("jkgate_probe_{nonce}"),
            "1".to_owned(),
        )]))
        .await;
    let include = |prefix: &str| {
        with_attributes(vec![
            (format!("{prefix}.request_uri"), "/".to_owned()),
            (
                format!("{prefix}.path_info"),
                format!("/jkgate-probe-{nonce}-does-not-exist"),
            ),
            (format!("{prefix}.servlet_path"), "/".to_owned()),
        ])
    };
    let include_javax = prober.send(&include("javax.servlet.include")).await;
    let include_jakarta = prober.send(&include("jakarta.servlet.include")).await;
    let packet = largest_packet(&prober, &baseline_request, &baseline).await;

    let method_spec = |method: &str| RequestSpec {
        method: method.to_owned(),
        ..spec.clone()
    };
    let mut methods = Vec::with_capacity(KnownMethod::ALL.len());
    for method in KnownMethod::ALL {
        let seen = prober
            .send(&forward_request(&url, &method_spec(method.name())))
            .await;
        methods.push((*method, seen));
    }
    let stored_method = prober
        .send(&forward_request(&url, &method_spec("PATCH")))
        .await;
    let get = forward_request(&url, &method_spec("GET"));
    let mut frame = BytesMut::new();
    encode_forward_request(&get, PacketSize::MAX, &mut frame).map_err(|cause| {
        ToolError::Encode {
            phase: "probe request",
            cause,
        }
    })?;
    // Header (4 bytes), prefix code, then the method byte.
    let mut undefined = frame.to_vec();
    undefined[5] = 28;
    let undefined_method = prober
        .send_frame(ProxyMessage::ForwardRequest(get), Some(undefined))
        .await;
    let options_seen = prober
        .send(&forward_request(&url, &method_spec("OPTIONS")))
        .await;
    Ok(Report {
        target: format!("{} ({addr})", url.authority()),
        cping,
        probe_path,
        baseline,
        no_secret,
        wrong_secret,
        secret_given: secret.is_some(),
        arbitrary_attribute,
        include_javax,
        include_jakarta,
        packet,
        methods,
        stored_method,
        undefined_method,
        options: options_seen,
    })
}

/// Binary search for the largest FORWARD_REQUEST frame answered like the baseline,
/// between AJP's smallest packet size (every container takes it) and its largest.
async fn largest_packet(
    prober: &Prober,
    baseline_request: &ForwardRequest,
    baseline: &Seen,
) -> Option<(usize, Option<usize>)> {
    let expected = baseline.status()?;
    let accepted = |len: usize| async move {
        let padded = pad_to(baseline_request, len)?;
        Some(prober.send(&padded).await.status() == Some(expected))
    };
    let min = PacketSize::MIN.get();
    let max = PacketSize::MAX.get();
    encoded_len(baseline_request).filter(|len| *len <= min)?;
    if !accepted(min).await? {
        return Some((encoded_len(baseline_request)?, Some(min)));
    }
    if accepted(max).await? {
        return Some((max, None));
    }
    let (mut good, mut bad) = (min, max);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        if accepted(mid).await? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Some((good, Some(bad)))
}
