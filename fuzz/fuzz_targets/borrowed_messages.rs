//! Raw bytes into `jkgate::ajp::fuzzing::borrowed_messages`: the borrowed and owned
//! decoders must accept and refuse the same frames and agree on every field.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jkgate::ajp::fuzzing::borrowed_messages(data);
});
