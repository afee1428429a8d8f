//! `jkgate ajp replay FILE [URL]`: sends a reproducer file's conversation again, write
//! by write, prints every packet that comes back decoded, and judges the outcome the
//! way the fuzzer did.

use std::path::PathBuf;
use std::time::Duration;

use super::error::ToolError;
use super::judge::{self, End, Limits};
use super::reproducer::Reproducer;
use super::target::AjpUrl;
use super::trace::Trace;

/// The options of `jkgate ajp replay`.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The reproducer file.
    pub file: PathBuf,
    /// `ajp://host:port`: the target, instead of the file's `target`.
    pub url: Option<String>,
    /// `--timeout`: instead of the file's `timeout-ms` (default 5 s).
    pub timeout: Option<Duration>,
    /// `--packet-size`: the connector's packetSize (for working out what is owed).
    pub packet_size: u32,
    /// `--allow-remote`: send to a non-loopback address.
    pub allow_remote: bool,
}

/// Whether the recorded finding came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replayed {
    /// The same kind of finding (or, for a file without one, again none).
    Reproduced,
    /// Something else.
    Different,
}

/// Runs `jkgate ajp replay`.
pub(crate) async fn run(options: ReplayOptions) -> Result<Replayed, ToolError> {
    let reproducer = Reproducer::read(&options.file)?;
    let target = match (&options.url, &reproducer.target) {
        (Some(url), _) => url.clone(),
        (None, Some(target)) => format!("ajp://{target}/"),
        (None, None) => {
            return Err(ToolError::Option {
                option: "URL",
                why: format!(
                    "{} has no `target` line: give the container's ajp:// URL",
                    options.file.display()
                ),
            });
        }
    };
    let url = AjpUrl::parse(&target)?;
    let addr = url.resolve_guarded(options.allow_remote)?;
    let packet_size = super::packet_size(options.packet_size)?;
    let timeout = options
        .timeout
        .or(reproducer.timeout)
        .unwrap_or(Duration::from_secs(5));
    let owed = judge::owed_by_steps(&reproducer.steps, packet_size);
    say!(
        "replaying {} to {addr}: {} bytes in {} writes; the container owes {} answer(s){}",
        options.file.display(),
        reproducer.bytes().len(),
        reproducer
            .steps
            .iter()
            .filter(|s| matches!(s, super::reproducer::Step::Write(_)))
            .count(),
        owed.answers,
        if owed.complete {
            ""
        } else {
            " (the bytes do not decode cleanly to the end: nothing is owed for certain)"
        }
    );
    // Every packet both ways, on standard error like -v.
    let observed = judge::play(
        addr,
        &reproducer.steps,
        owed,
        Limits {
            timeout,
            grace: Duration::from_millis(500),
        },
        Trace::new(true),
    )
    .await?;
    let end = match &observed.end {
        End::Done => "everything owed arrived".to_owned(),
        End::Closed => "the container closed the connection".to_owned(),
        End::Reset(cause) => format!("reset: {cause}"),
        End::Waiting => "the container waits for more".to_owned(),
        End::Silent(limit) => format!("silent for {limit:?}"),
        End::Invalid(detail) => format!("invalid AJP13: {detail}"),
    };
    say!(
        "outcome: statuses {:?}, {} answer(s), {end}{}",
        observed.statuses,
        observed.answers,
        observed
            .send_error
            .as_ref()
            .map_or_else(String::new, |e| format!("; a write failed: {e}"))
    );
    let mut now = judge::judge(owed, &observed);
    if now.is_none()
        && let Err(cause) = judge::cping_alive(addr, timeout).await
    {
        now = Some(super::reproducer::Finding {
            kind: super::reproducer::FindingKind::CpingLost,
            detail: format!("no CPONG on a new connection after the conversation: {cause}"),
        });
    }
    match &now {
        Some(finding) => say!("finding: {} {}", finding.kind.word(), finding.detail),
        None => say!("finding: none"),
    }
    let recorded = reproducer.finding.as_ref().map(|f| f.kind);
    let result = if recorded == now.as_ref().map(|f| f.kind) {
        Replayed::Reproduced
    } else {
        Replayed::Different
    };
    say!(
        "recorded: {}; {}",
        recorded.map_or("none", |k| k.word()),
        match result {
            Replayed::Reproduced => "reproduced",
            Replayed::Different => "NOT reproduced",
        }
    );
    Ok(result)
}
