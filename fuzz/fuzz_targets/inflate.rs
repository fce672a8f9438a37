//! The parser with permessage-deflate on: random window bits, context
//! takeover, limits and delivery mode, fed at random split points.
//!
//! The input is a list of records, each one message or raw bytes:
//! - messages we compress (so the inflater reaches deep into valid streams),
//!   cut into fragments at a fuzzed point;
//! - fuzzer-made "compressed" payloads with RSV1 (arbitrary DEFLATE data,
//!   bombs included);
//! - uncompressed messages, and raw bytes (any frames, or garbage).
//!
//! Checks beyond "no panic": at most one error, and it is the last event; the
//! same events whole or split; both delivery modes agree on the error; no
//! message (or streamed data of one message) larger than the limit; messages
//! we compressed come back intact when nothing broke the stream.
#![no_main]

use ferrobahn_core::deflate::{Compressor, DeflateParams};
use ferrobahn_core::frame::{encode_frame, RSV1};
use ferrobahn_core::parser::{Delivery, Event, MaskPolicy, Parser, ParserConfig, VecAlloc};
use libfuzzer_sys::fuzz_target;

type Ev = Event<Vec<u8>>;

fn run(config: ParserConfig, data: &[u8], splits: &[u8]) -> Vec<Ev> {
    let mut parser = Parser::new(config);
    let mut events = Vec::new();
    let mut rest = data;
    for &s in splits {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((s as usize * 37 % 4096 + 1).min(rest.len()));
        parser.feed(chunk, &mut VecAlloc, &mut events);
        rest = tail;
    }
    parser.feed(rest, &mut VecAlloc, &mut events);
    events
}

/// Stream events with each frame's pieces merged, and the partial piece a
/// failing frame delivered (which depends on the read boundaries) left out.
fn merged(events: &[Ev]) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(Event::FrameData(acc)), Event::FrameData(more)) => acc.extend(more),
            (_, event) => out.push(event.clone()),
        }
    }
    if let [.., Event::FrameData(_), Event::Error { .. }] = out.as_slice() {
        out.remove(out.len() - 2);
    }
    out
}

fn error(events: &[Ev]) -> Option<u16> {
    match events.last() {
        Some(Event::Error { code, .. }) => Some(*code),
        _ => None,
    }
}

/// Message payload sizes delivered, in either mode.
fn message_sizes(events: &[Ev]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut current = 0;
    for event in events {
        match event {
            Event::Message { payload, .. } => sizes.push(payload.len()),
            Event::MessageBegin { .. } => current = 0,
            Event::FrameData(piece) => current += piece.len(),
            Event::MessageEnd => sizes.push(current),
            _ => {}
        }
    }
    // A message cut short by an error delivered part of its data.
    if current > 0 && !matches!(events.last(), Some(Event::MessageEnd)) {
        sizes.push(current);
    }
    sizes
}

fuzz_target!(|input: &[u8]| {
    let [flags, bits, level, limit_frame, limit_message, n_splits, rest @ ..] = input else {
        return;
    };
    let params = DeflateParams::new(8 + bits % 8, flags & 1 != 0).expect("8 to 15");
    let mut compressor = Compressor::new(
        params,
        i32::from(level % 11) - 1,
        i32::from(level / 11 % 9) + 1,
    )
    .expect("valid level and memory level");
    let key = (flags & 2 != 0).then_some([*flags, *bits, *level, 0x5a]);
    let (splits, mut body) = rest.split_at((*n_splits as usize).min(rest.len()));

    // Build the wire from records: [kind, len, cut, data[len]].
    let mut wire = Vec::new();
    let mut ours = Vec::new();
    let mut only_ours = true;
    while let [kind, len, cut, tail @ ..] = body {
        let (data, next) = tail.split_at((*len as usize * 16).min(tail.len()));
        body = next;
        let opcode = if kind & 4 != 0 { 2 } else { 1 };
        match kind % 4 {
            0 | 1 => {
                // Compressed by us, in two fragments cut at `cut`.
                let mut payload = Vec::new();
                if kind % 4 == 0 {
                    compressor
                        .compress(data, &mut payload)
                        .expect("no message in progress");
                } else {
                    // In two pieces: zlib holds data back until the final flush.
                    compressor.compress_chunk(data, false, &mut payload);
                    compressor.compress_chunk(b"", true, &mut payload);
                }
                let at = (*cut as usize * payload.len() / 255).min(payload.len());
                wire.extend(encode_frame(false, RSV1, opcode, &payload[..at], key));
                wire.extend(encode_frame(true, 0, 0, &payload[at..], key));
                ours.push(data.to_vec());
            }
            2 => {
                // Fuzzer-made DEFLATE data.
                let at = (*cut as usize).min(data.len());
                wire.extend(encode_frame(false, RSV1, 2, &data[..at], key));
                wire.extend(encode_frame(true, 0, 0, &data[at..], key));
                only_ours = false;
            }
            _ if kind & 8 != 0 => {
                // Raw bytes: any frames, or garbage.
                wire.extend_from_slice(data);
                only_ours = false;
            }
            _ => {
                wire.extend(encode_frame(true, 0, 2, data, key));
                only_ours = false;
            }
        }
    }

    let frame_limit = u64::from(*limit_frame) * 64;
    let message_limit = u64::from(*limit_message) * 256;
    let config = ParserConfig {
        mask: MaskPolicy::Optional,
        max_frame_payload: frame_limit,
        max_message_payload: message_limit,
        validate_utf8: flags & 4 == 0,
        deflate: Some(params),
        ..ParserConfig::for_server()
    };

    let whole = run(config, &wire, &[]);
    let split = run(config, &wire, splits);
    assert_eq!(whole, split);
    let errors = whole
        .iter()
        .filter(|e| matches!(e, Event::Error { .. }))
        .count();
    assert!(errors <= 1);
    if errors == 1 {
        assert!(error(&whole).is_some());
    }
    if message_limit != 0 {
        assert!(message_sizes(&whole)
            .iter()
            .all(|&n| n as u64 <= message_limit));
    }

    let stream_config = ParserConfig {
        delivery: Delivery::Stream,
        ..config
    };
    let stream_whole = run(stream_config, &wire, &[]);
    let stream_split = run(stream_config, &wire, splits);
    assert_eq!(merged(&stream_whole), merged(&stream_split));
    assert_eq!(error(&stream_whole), error(&whole));
    if message_limit != 0 {
        assert!(message_sizes(&stream_split)
            .iter()
            .all(|&n| n as u64 <= message_limit));
    }

    // Only our messages, all delivered: they are what was compressed.
    if only_ours && error(&whole).is_none() && frame_limit == 0 && message_limit == 0 {
        let got: Vec<Vec<u8>> = whole
            .iter()
            .filter_map(|e| match e {
                Event::Message { payload, .. } => Some(payload.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(got, ours);
    }
});
