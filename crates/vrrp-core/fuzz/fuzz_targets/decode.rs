//! Fuzz target: `packet::parse` never panics, and whatever parses survives a
//! `packet::build` round trip. The body lives in `src/lib.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_core_fuzz::{decode, DecodeInput};

fuzz_target!(|input: DecodeInput| {
    decode(&input);
});
