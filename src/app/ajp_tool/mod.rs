//! `jkgate ajp ...`: an AJP toolkit for operators and testers, built on the crate's codec
//! and the backend's connection code (no second implementation of the protocol):
//!
//! * [`request`]: curl for AJP (`jkgate ajp request URL`);
//! * [`ping`]: CPING/CPONG with timing, repeated like `ping`;
//! * [`probe`]: a read-only report on a container (secret, request attributes, the
//!   Ghostcat include attributes, packet size, methods);
//! * [`fuzz`]: mutated conversations against a live container, findings written as
//!   reproducer files (`reproducer`) that [`replay`] sends again.
//!
//! Exit codes follow curl's (`error::exit`); `fuzz` exits 1 when it found something,
//! `replay` 1 when the recorded finding did not come back.

/// Prints a line on standard output. A reader that went away (`| head`) is not an
/// error worth a panic: the line is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod build;
mod client;
mod conversation;
mod error;
pub mod fuzz;
mod judge;
pub mod ping;
pub mod probe;
pub mod replay;
mod reproducer;
pub mod request;
mod target;
mod trace;

use std::process::ExitCode;

pub use fuzz::FuzzOptions;
pub use ping::PingOptions;
pub use probe::ProbeOptions;
pub use replay::ReplayOptions;
pub use request::{BodyArg, RequestOptions};

use crate::ajp::PacketSize;
use error::{ToolError, exit};

/// One `jkgate ajp` command with its options.
#[derive(Debug, Clone)]
pub enum AjpCommand {
    /// `jkgate ajp request`.
    Request(RequestOptions),
    /// `jkgate ajp ping`.
    Ping(PingOptions),
    /// `jkgate ajp probe`.
    Probe(ProbeOptions),
    /// `jkgate ajp fuzz`.
    Fuzz(FuzzOptions),
    /// `jkgate ajp replay`.
    Replay(ReplayOptions),
}

/// Runs one `jkgate ajp` command to its end; errors go to standard error as
/// `jkgate ajp: ...` and become curl's exit code.
pub fn run(command: AjpCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return failed(&ToolError::Runtime(e)),
    };
    let result = runtime.block_on(async move {
        match command {
            AjpCommand::Request(options) => request::run(options).await.map(|()| exit::OK),
            AjpCommand::Ping(options) => ping::run(options).await.map(|()| exit::OK),
            AjpCommand::Probe(options) => probe::run(options).await.map(|()| exit::OK),
            AjpCommand::Fuzz(options) => fuzz::run(options)
                .await
                .map(|summary| u8::from(summary.findings > 0)),
            AjpCommand::Replay(options) => replay::run(options)
                .await
                .map(|replayed| u8::from(replayed != replay::Replayed::Reproduced)),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => failed(&err),
    }
}

fn failed(err: &ToolError) -> ExitCode {
    eprintln!("jkgate ajp: {err}");
    ExitCode::from(err.exit_code())
}

/// `--packet-size` as the codec's type.
fn packet_size(size: u32) -> Result<PacketSize, ToolError> {
    PacketSize::new(size).map_err(|_| ToolError::Option {
        option: "--packet-size",
        why: format!("{size} is outside AJP's 8192..=65536"),
    })
}
