//! Raw bytes into `jkgate::ajp::fuzzing::proxy_messages_awaiting_request` (see that function for the invariants).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jkgate::ajp::fuzzing::proxy_messages_awaiting_request(data);
});
