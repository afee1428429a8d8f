//! Fuzz target: any bytes as a client request's target, Host and Cookie headers, through
//! every parser jkgate runs on them before a member sees the request; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::server::fuzzing::request_parsers(data);
});
