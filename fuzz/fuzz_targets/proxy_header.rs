//! Fuzz target: any bytes as the start of a connection on a PROXY protocol listener
//! (jkgate's framing, then the `ppp` parser); must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::server::fuzzing::proxy_header(data);
});
