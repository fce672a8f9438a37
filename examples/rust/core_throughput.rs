//! Throughput of the core's hot loops without Python in the way: masking,
//! UTF-8 validation and the frame parser on 1 MiB, and the parser on 64-byte
//! frames in a 256 KiB read, each as GB/s and as a ratio to a plain memory
//! copy of the same number of bytes, all measured in one run. The Python-level
//! counterpart is `benchmarks/test_core_throughput.py`.
//!
//! ```text
//! cargo run --release --example core_throughput [-- ROUNDS]
//! ```
//!
//! Every operation is timed `ROUNDS` times (default 30), interleaved so that a
//! busy machine slows all of them alike; the best round counts. A round runs
//! the operation enough times to last about 2 ms.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use ferrobahn_core::frame::{self, Opcode};
use ferrobahn_core::mask;
use ferrobahn_core::parser::{Event, Parser, ParserConfig, VecAlloc};
use ferrobahn_core::utf8::{self, Utf8Validator};

const MIB: usize = 1 << 20;
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Exactly `len` bytes of valid UTF-8 mixing ASCII with 2-, 3- and 4-byte
/// sequences (the same text `benchmarks/test_core_throughput.py` uses).
fn mixed_text(len: usize) -> Vec<u8> {
    let pattern = "Hello, wörld! Grüße aus Köln. Привет, мир! 你好，世界。 🎉🚀 ";
    let mut text = pattern.repeat(len / pattern.len() + 1);
    let mut cut = len;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&" ".repeat(len - cut));
    text.into_bytes()
}

/// One masked text frame, as a client sends it.
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    frame::encode_frame(true, 0, Opcode::Text as u8, payload, Some(KEY))
}

/// One timed operation: its name, the bytes (and frames) it handles per
/// call, the calls per round, and the best round so far.
struct Bench<'a> {
    name: &'static str,
    bytes: usize,
    frames: usize,
    calls: u32,
    best: Duration,
    op: Box<dyn FnMut() + 'a>,
}

impl<'a> Bench<'a> {
    fn new(name: &'static str, bytes: usize, op: impl FnMut() + 'a) -> Self {
        Bench {
            name,
            bytes,
            frames: 0,
            calls: 1,
            best: Duration::MAX,
            op: Box::new(op),
        }
    }

    /// Pick a call count that makes one round last about 2 ms.
    fn calibrate(&mut self) {
        loop {
            let t = self.round();
            if t >= Duration::from_millis(2) || self.calls >= 1 << 20 {
                return;
            }
            self.calls *= 2;
        }
    }

    fn round(&mut self) -> Duration {
        let t = Instant::now();
        for _ in 0..self.calls {
            (self.op)();
        }
        t.elapsed()
    }

    fn frames(self, frames: usize) -> Self {
        Bench { frames, ..self }
    }

    fn per_call(&self) -> f64 {
        self.best.as_secs_f64() / f64::from(self.calls)
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(30, |a| a.parse().expect("ROUNDS is a number"));

    // Borrowed by the `move` closures below, which own only their outputs.
    let text = &mixed_text(MIB)[..];
    let frame_1m = &masked_frame(text)[..];
    // 64-byte text frames back to back, 256 KiB of them in one read.
    let small = masked_frame(&mixed_text(64));
    let frames_per_read = 256 * 1024 / small.len();
    let read_256k = &small.repeat(frames_per_read)[..];

    let mut dst = vec![0u8; MIB];
    let mut benches = vec![
        Bench::new("memcpy, 1 MiB (copy_from_slice)", MIB, || {
            dst.copy_from_slice(black_box(text));
            black_box(&mut dst);
        }),
        Bench::new("alloc + copy, 1 MiB (to_vec)", MIB, || {
            black_box(black_box(text).to_vec());
        }),
        Bench::new("mask::mask_into", MIB, {
            let mut out = vec![MaybeUninit::new(0u8); MIB];
            move || {
                black_box(mask::mask_into(black_box(text), &mut out, KEY, 0));
            }
        }),
        Bench::new("utf8::Utf8Validator::feed", MIB, || {
            let mut v = Utf8Validator::new();
            assert!(v.feed(black_box(text)).is_ok() && v.is_complete());
        }),
        Bench::new("utf8::is_valid", MIB, || {
            assert!(utf8::is_valid(black_box(text)));
        }),
        Bench::new("Parser::feed, one 1 MiB frame", MIB, {
            let mut parser = Parser::new(ParserConfig::for_server());
            let mut events = Vec::with_capacity(1);
            move || {
                events.clear();
                parser.feed(black_box(frame_1m), &mut VecAlloc, &mut events);
                assert!(
                    matches!(&events[..], [Event::Message { payload, .. }] if payload.len() == MIB)
                );
            }
        }),
        Bench::new("memcpy, 256 KiB", read_256k.len(), {
            let mut out = vec![0u8; read_256k.len()];
            move || {
                out.copy_from_slice(black_box(read_256k));
                black_box(&mut out);
            }
        }),
        Bench::new("Parser::feed, 64 B frames in 256 KiB", read_256k.len(), {
            let mut parser = Parser::new(ParserConfig::for_server());
            let mut events = Vec::with_capacity(frames_per_read);
            move || {
                events.clear();
                parser.feed(black_box(read_256k), &mut VecAlloc, &mut events);
                assert_eq!(events.len(), frames_per_read);
            }
        })
        .frames(frames_per_read),
    ];

    for b in &mut benches {
        b.calibrate();
    }
    for _ in 0..rounds {
        for b in &mut benches {
            let t = b.round();
            b.best = b.best.min(t);
        }
    }

    println!("best of {rounds} rounds; 1 MiB = {MIB} bytes; GB/s = 1e9 bytes/s");
    println!("ratio = time / time of a memcpy of the same size");
    println!(
        "{:<40} {:>10} {:>9} {:>8}",
        "operation", "time", "GB/s", "ratio"
    );
    let memcpy = |bytes: usize| {
        benches
            .iter()
            .find(|b| b.bytes == bytes && b.name.starts_with("memcpy"))
            .map(Bench::per_call)
    };
    for b in &benches {
        let t = b.per_call();
        let ratio = memcpy(b.bytes).map_or(String::from("-"), |m| format!("{:.2}", t / m));
        print!(
            "{:<40} {:>8.1}us {:>9.2} {:>8}",
            b.name,
            t * 1e6,
            b.bytes as f64 / t / 1e9,
            ratio,
        );
        if b.frames > 0 {
            let per_frame = t / b.frames as f64;
            print!(
                "  {:.1} M frames/s, {:.1} ns/frame",
                1e-6 / per_frame,
                per_frame * 1e9
            );
        }
        println!();
    }
}
