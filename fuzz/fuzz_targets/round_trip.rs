//! Structure-aware: `arbitrary` builds AJP messages of both directions, which must
//! survive encode → decode unchanged (see `jkgate_fuzz::round_trip`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jkgate_fuzz::round_trip(data);
});
