//! Close payload parsing: never panics; whatever parses builds back to the
//! same payload.
#![no_main]

use ferrobahn_core::close::{build_close_payload, parse_close_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    if let Ok(Some((code, reason))) = parse_close_payload(payload) {
        if payload.len() <= 125 {
            assert_eq!(build_close_payload(Some(code), reason), payload);
        }
    }
});
