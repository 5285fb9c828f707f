//! Fuzz target: an arbitrary sequence of inputs into one `Router`, checking its invariants
//! after every step. The body lives in `src/lib.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_core_fuzz::{router_sequence, SequenceInput};

fuzz_target!(|input: SequenceInput| {
    router_sequence(&input);
});
