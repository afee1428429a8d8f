//! Fuzz target: any bytes as workers.properties; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::config::fuzzing::workers_properties(data);
});
