//! Fuzz target: any bytes as status worker query strings and Authorization headers (one
//! request per line); must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::app::fuzzing::status_requests(data);
});
