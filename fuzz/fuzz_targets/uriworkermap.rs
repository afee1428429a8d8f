//! Fuzz target: any bytes as uriworkermap.properties (and as request paths); must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::config::fuzzing::uriworkermap(data);
});
