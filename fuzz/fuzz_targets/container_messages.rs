//! Raw bytes into `jkgate::ajp::fuzzing::container_messages` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jkgate::ajp::fuzzing::container_messages(data);
});
