//! The HTTP head reader and both head parsers: never panic; the reader gives
//! the same outcome whatever the split; a head that validates builds an
//! answer that parses back.
#![no_main]

use ferrobahn_core::handshake::{accept_key, build_accept_response, validate_request};
use ferrobahn_core::http::{parse_request, parse_response, HeadLimits, HeadReader};
use libfuzzer_sys::fuzz_target;

fn read(data: &[u8], step: usize) -> Result<Option<(Vec<u8>, usize)>, u16> {
    let mut reader = HeadReader::new(HeadLimits::default());
    let mut fed = 0;
    for chunk in data.chunks(step) {
        match reader.feed(chunk) {
            Err(e) => return Err(e.status),
            Ok(Some(n)) => return Ok(Some((reader.head().to_vec(), fed + n))),
            Ok(None) => fed += chunk.len(),
        }
    }
    Ok(None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else {
        return;
    };
    let whole = read(data, data.len().max(1));
    assert_eq!(whole, read(data, usize::from(step % 13) + 1));
    let _ = parse_response(data);
    if let Ok(Some((head, _))) = whole {
        if let Ok(request) = parse_request(&head) {
            if let Ok(upgrade) = validate_request(&request) {
                let answer = build_accept_response(&upgrade.key, None, None, None, &[]).unwrap();
                let response = parse_response(&answer).unwrap();
                assert_eq!(response.status, 101);
                assert_eq!(
                    response.header("Sec-WebSocket-Accept"),
                    Some(accept_key(&upgrade.key).as_str())
                );
            }
        }
    }
});
