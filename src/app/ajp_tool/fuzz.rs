//! `jkgate ajp fuzz URL`: mutated AJP conversations (see `conversation`) sent to
//! a live container for a bounded count or time, each on its own connection and
//! followed by a CPING on a fresh one. Every finding (see `judge`) is written as
//! a reproducer file (see `reproducer`) that `jkgate ajp replay` sends again.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::build::{RequestSpec, forward_request};
use super::client::{Client, Collected, NoBody};
use super::conversation::{Conversation, Generator};
use super::error::ToolError;
use super::judge::{self, Limits, Observed};
use super::reproducer::{Finding, FindingKind, Reproducer};
use super::target::AjpUrl;
use super::trace::Trace;
use crate::ajp::{PacketSize, ProxyMessage};

/// The options of `jkgate ajp fuzz`.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// `ajp://host:port/path`: the valid request conversations start from.
    pub url: String,
    /// `--count`: stop after this many conversations.
    pub count: Option<u64>,
    /// `--duration`: stop after this long.
    pub duration: Option<Duration>,
    /// `--seed`: the same seed sends the same conversations.
    pub seed: Option<u64>,
    /// `--out`: where reproducer files go.
    pub out: PathBuf,
    /// `--keep`: reproducer files kept per kind of finding and mutation.
    pub keep: usize,
    /// `--timeout`: silence this long while an answer is owed is a hang.
    pub timeout: Duration,
    /// `--secret`: the connector's secret, put into the valid request.
    pub secret: Option<String>,
    /// `--packet-size`: the connector's packetSize.
    pub packet_size: u32,
    /// `--concurrency`: conversations in flight at once.
    pub concurrency: usize,
    /// `--allow-remote`: send to a non-loopback address.
    pub allow_remote: bool,
    /// `-v`: trace every packet.
    pub verbose: bool,
}

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Conversations sent.
    pub conversations: u64,
    /// Findings, all of them.
    pub findings: u64,
}

/// Without `--count` or `--duration`: this many conversations.
pub(crate) const DEFAULT_COUNT: u64 = 1000;
/// How long to wait for anything more when nothing is owed.
const GRACE: Duration = Duration::from_millis(150);

struct Shared {
    addr: SocketAddr,
    generator: Generator,
    seed: u64,
    packet_size: PacketSize,
    limits: Limits,
    trace: Trace,
}

/// One conversation's result.
struct Played {
    index: u64,
    conversation: Conversation,
    outcome: Result<Observed, ToolError>,
    finding: Option<Finding>,
}

async fn play_one(shared: Arc<Shared>, index: u64) -> Played {
    let conversation = shared.generator.conversation(shared.seed, index);
    let owed = judge::owed_by_steps(&conversation.steps, shared.packet_size);
    let outcome = judge::play(
        shared.addr,
        &conversation.steps,
        owed,
        shared.limits,
        shared.trace,
    )
    .await;
    let mut finding = match &outcome {
        Ok(observed) => judge::judge(owed, observed),
        Err(_) => None,
    };
    if finding.is_none()
        && let Err(cause) = judge::cping_alive(shared.addr, shared.limits.timeout).await
    {
        finding = Some(Finding {
            kind: FindingKind::CpingLost,
            detail: format!("no CPONG on a new connection after this conversation: {cause}"),
        });
    }
    Played {
        index,
        conversation,
        outcome,
        finding,
    }
}

/// Runs `jkgate ajp fuzz`.
pub(crate) async fn run(options: FuzzOptions) -> Result<Summary, ToolError> {
    let url = AjpUrl::parse(&options.url)?;
    let packet_size = super::packet_size(options.packet_size)?;
    let addr = url.resolve_guarded(options.allow_remote)?;
    if options.concurrency == 0 {
        return Err(ToolError::Option {
            option: "--concurrency",
            why: "must be at least 1".to_owned(),
        });
    }
    let seed = options.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let spec = RequestSpec {
        method: "GET".to_owned(),
        secret: options.secret.as_ref().map(|s| Bytes::from(s.clone())),
        ..RequestSpec::default()
    };
    let base = forward_request(&url, &spec);
    let trace = Trace::new(options.verbose);
    // The valid request first: a target that does not answer it is not worth fuzzing,
    // and the status is what the mutated ones are compared with.
    let mut client = Client::connect(addr, packet_size, options.timeout, trace).await?;
    client.cping().await?;
    let mut collected = Collected::default();
    client
        .exchange(
            &ProxyMessage::ForwardRequest(base.clone()),
            &mut NoBody,
            &mut collected,
        )
        .await?;
    drop(client);
    let base_status = collected.head.map_or(0, |head| head.status);
    std::fs::create_dir_all(&options.out).map_err(|cause| ToolError::Findings {
        path: options.out.clone(),
        cause,
    })?;
    let count = match (options.count, options.duration) {
        (None, None) => Some(DEFAULT_COUNT),
        (count, _) => count,
    };
    let deadline = options.duration.map(|d| Instant::now() + d);
    say!(
        "fuzzing {} ({addr}) with seed {seed}: the valid request answers {base_status}; {}{}; findings go to {}",
        url.authority(),
        count.map_or_else(String::new, |c| format!("up to {c} conversations")),
        options
            .duration
            .map_or_else(String::new, |d| format!(" for up to {}s", d.as_secs())),
        options.out.display()
    );
    let shared = Arc::new(Shared {
        addr,
        generator: Generator::new(base, packet_size),
        seed,
        packet_size,
        limits: Limits {
            timeout: options.timeout,
            grace: GRACE,
        },
        trace,
    });
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_signature: HashMap<(FindingKind, String), u64> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut next = 0u64;
    let mut stop = false;
    loop {
        while !stop && tasks.len() < options.concurrency {
            let more =
                count.is_none_or(|c| next < c) && deadline.is_none_or(|d| Instant::now() < d);
            if !more {
                break;
            }
            tasks.spawn(play_one(shared.clone(), next));
            next += 1;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok(played) = joined else {
            continue;
        };
        summary.conversations += 1;
        let label = match &played.outcome {
            Ok(observed) => observed.label(),
            Err(err) => format!("error: {}", first_words(&err.to_string())),
        };
        *outcomes.entry(label).or_default() += 1;
        if let Some(finding) = &played.finding {
            summary.findings += 1;
            let mutation = played.conversation.mutation.clone();
            let seen = per_signature
                .entry((finding.kind, mutation.clone()))
                .or_default();
            *seen += 1;
            // Each finding past `--keep` of its kind and mutation is only counted: a
            // container that answers one malformation badly answers thousands alike.
            let lost_cping = finding.kind == FindingKind::CpingLost;
            if *seen <= options.keep as u64 || lost_cping {
                let path = options.out.join(format!(
                    "{}-seed{seed}-n{}.ajp",
                    finding.kind.word(),
                    played.index
                ));
                let reproducer = Reproducer {
                    target: Some(format!("{addr}")),
                    seed: Some(seed),
                    conversation: Some(played.index),
                    mutation: Some(mutation),
                    finding: Some(finding.clone()),
                    timeout: Some(options.timeout),
                    steps: played.conversation.steps.clone(),
                };
                std::fs::write(&path, reproducer.to_text()).map_err(|cause| {
                    ToolError::Findings {
                        path: path.clone(),
                        cause,
                    }
                })?;
                say!(
                    "finding: conversation {} ({}): {} {} -> {}",
                    played.index,
                    played.conversation.mutation,
                    finding.kind.word(),
                    finding.detail,
                    path.display()
                );
            }
            if lost_cping {
                say!("the container stopped answering CPING: stopping");
                stop = true;
            }
        }
        if summary.conversations % 1000 == 0 {
            say!(
                "{} conversations, {} findings, {:.0}/s",
                summary.conversations,
                summary.findings,
                summary.conversations as f64 / started.elapsed().as_secs_f64().max(0.001)
            );
        }
    }
    let elapsed = started.elapsed();
    say!(
        "done: {} conversations in {:.1}s ({:.0}/s), seed {seed}, {} findings",
        summary.conversations,
        elapsed.as_secs_f64(),
        summary.conversations as f64 / elapsed.as_secs_f64().max(0.001),
        summary.findings
    );
    say!("outcomes:");
    for (label, n) in &outcomes {
        say!("  {n:>7}  {label}");
    }
    if !per_signature.is_empty() {
        say!("findings by kind and mutation:");
        let mut sorted: Vec<_> = per_signature.into_iter().collect();
        sorted.sort();
        for ((kind, mutation), n) in sorted {
            say!("  {n:>7}  {} ({mutation})", kind.word());
        }
    }
    Ok(summary)
}

/// The start of an error message, for the outcome tally (addresses and numbers vary).
fn first_words(text: &str) -> String {
    text.split(':').next().unwrap_or(text).to_owned()
}
