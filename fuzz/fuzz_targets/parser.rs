//! The frame parser in either role, with random limits and delivery mode,
//! fed at random split points. Checks beyond "no panic": at most one error,
//! and it is the last event; the same input fed whole gives the same
//! messages and control events.
#![no_main]

use ferrobahn_core::parser::{Delivery, Event, MaskPolicy, Parser, ParserConfig, VecAlloc};
use libfuzzer_sys::fuzz_target;

fn run(config: ParserConfig, data: &[u8], splits: &[u8]) -> Vec<Event<Vec<u8>>> {
    let mut parser = Parser::new(config);
    let mut events = Vec::new();
    let mut rest = data;
    for &s in splits {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((s as usize % 32 + 1).min(rest.len()));
        parser.feed(chunk, &mut VecAlloc, &mut events);
        rest = tail;
    }
    parser.feed(rest, &mut VecAlloc, &mut events);
    events
}

fuzz_target!(|input: &[u8]| {
    let [flags, limit_frame, limit_message, n_splits, rest @ ..] = input else {
        return;
    };
    let (splits, data) = rest.split_at((*n_splits as usize).min(rest.len()));
    let config = ParserConfig {
        mask: match flags % 3 {
            0 => MaskPolicy::Required,
            1 => MaskPolicy::Forbidden,
            _ => MaskPolicy::Optional,
        },
        allowed_rsv: (flags >> 2) & 7,
        max_frame_payload: u64::from(*limit_frame) * 16,
        max_message_payload: u64::from(*limit_message) * 32,
        delivery: Delivery::Messages,
        validate_utf8: flags & 0x20 == 0,
        deflate: None,
    };
    let whole = run(config, data, &[]);
    let split = run(config, data, splits);
    assert_eq!(whole, split);
    let errors = whole
        .iter()
        .filter(|e| matches!(e, Event::Error { .. }))
        .count();
    assert!(errors <= 1);
    if errors == 1 {
        assert!(matches!(whole.last(), Some(Event::Error { .. })));
    }
    let stream = run(
        ParserConfig {
            delivery: Delivery::Stream,
            ..config
        },
        data,
        splits,
    );
    let stream_errors = stream
        .iter()
        .filter(|e| matches!(e, Event::Error { .. }))
        .count();
    assert_eq!(errors, stream_errors);
});
