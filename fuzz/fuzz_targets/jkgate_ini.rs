//! Fuzz target: any bytes as jkgate.ini, every value through its setting's parser; must
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jkgate::config::fuzzing::jkgate_ini(data);
});
