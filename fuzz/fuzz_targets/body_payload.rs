//! Raw bytes into `jkgate::ajp::fuzzing::body_payload` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jkgate::ajp::fuzzing::body_payload(data);
});
