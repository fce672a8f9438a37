//! The incremental validator, fed in random pieces, agrees with std.
#![no_main]

use ferrobahn_core::utf8::Utf8Validator;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else {
        return;
    };
    let step = usize::from(step % 17) + 1;
    let mut validator = Utf8Validator::new();
    let ok = data.chunks(step).all(|chunk| validator.feed(chunk).is_ok());
    assert_eq!(
        ok && validator.is_complete(),
        std::str::from_utf8(data).is_ok()
    );
});
