//! Fuzz target: random bytes parsed as an advert with an `auth_hmac` trailer and verified;
//! the advert signed, verified, replayed and bit-flipped. The body lives in `src/lib.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_core_fuzz::{authenticate, AuthInput};

fuzz_target!(|input: AuthInput| {
    authenticate(&input);
});
