//! Shared code of the fuzz targets. The structure-aware generator lives in the main
//! crate (`jkgate::ajp::structured`, feature `ajp-fuzz`), where `jkgate ajp fuzz` and
//! `tests/fuzz_replay.rs` use the same builder.

pub use jkgate::ajp::structured::round_trip;
