//! Shared code of the fuzz targets. `structured.rs` is also compiled into
//! `tests/fuzz_replay.rs` of the main crate, so corpus replays run the same builder.

mod structured;

pub use structured::round_trip;
