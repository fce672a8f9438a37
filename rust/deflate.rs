//! permessage-deflate (RFC 7692 §7): the raw DEFLATE streams of one connection.
//!
//! [`Compressor`] turns outgoing messages (whole, or piece by piece for
//! streaming sends) into the payload of a compressed message: raw DEFLATE,
//! sync-flushed at the end of the message, with the trailing `00 00 ff ff`
//! removed (§7.2.1). [`Inflater`] does the reverse for incoming messages: the
//! parser feeds it the payload as it arrives and the tail at the end of the
//! message (§7.2.2).
//!
//! **Inflation is bounded.** [`Inflater::inflate`] produces output in pieces of
//! at most [`PIECE`] bytes, counts them against a budget and fails with
//! [`InflateError::TooBig`] as soon as one byte more than the budget has come
//! out, without inflating the rest of its input. Its output buffer grows with
//! the bytes produced, never past the budget: nothing is reserved for what the
//! peer declared or what its data could inflate to (decompression bombs,
//! CVE-2018-1000518 and its many siblings).
//!
//! ## Backend: zlib-rs
//!
//! The `zlib-rs` crate is zlib (and zlib-ng's fast paths) rewritten in Rust:
//! the speed of zlib-ng, no C compiler and no system library, and the whole
//! zlib parameter space, which permessage-deflate needs:
//! - window bits 9-15 when compressing (`server_max_window_bits` /
//!   `client_max_window_bits`); `miniz_oxide`, flate2's default backend, can
//!   only compress with a 32 KiB window, which a peer that asked for a smaller
//!   one cannot inflate;
//! - the memory level (AutobahnPython's `mem_level`, websockets' `memLevel`),
//!   which flate2 does not expose: that is why this module uses zlib-rs
//!   directly rather than through flate2, whose zlib-rs backend is a thin
//!   wrapper over the same calls.
//!
//! ## Window bits 8
//!
//! RFC 7692 allows 8, zlib does not for raw DEFLATE: its compressor has always
//! turned 8 into 9 (a "256-byte window bug"), and zlib ≥ 1.2.9 and zlib-rs
//! reject 8 outright. [`DeflateParams::new`] therefore maps 8 to 9 in both
//! directions. Compressing with 9 when the peer asked for 8 is safe: zlib
//! (and zlib-rs, `State::max_dist`) never emits a back-reference further than
//! the window minus its 262-byte lookahead, 2^9 - 262 = 250 bytes, which the
//! peer's 256-byte window holds. Inflating with 9 what a peer compressed with 8
//! is always safe: a larger window reads every stream a smaller one wrote,
//! since back-references only reach less far.
//!
//! Speed (release build, 1 MiB of JSON-like text, one core of the development
//! machine): compression 116 MB/s at level 6 (to 16%), 485 MB/s at level 1
//! (to 25%); inflation about 1.4 GB/s. CPython's zlib 1.2.13 on the same data:
//! 67 and 240 MB/s, and 480 MB/s inflating.
//!
//! ## Memory (measured with a counting allocator; `state_sizes` test)
//!
//! Window bits 15, memory level 8: the compressor holds 371 KiB (380,032 B): a
//! 64 KiB window (twice 2^wbits), a 64 KiB `prev` chain, a 128 KiB hash head
//! (fixed in zlib-rs, as in zlib-ng), and 112 KiB of literal buffers
//! (7 << (mem_level + 6) bytes). Memory level 5 takes the last to 14 KiB (273 KiB
//! in all); window bits 9 with memory level 1 is the floor, 134 KiB. The
//! inflater holds 46 KiB (47,552 B) whatever the window bits: zlib-rs always
//! allocates a 32 KiB window, plus its state and tables. A connection
//! compressing both ways at 15 bits thus holds about 417 KiB of zlib state.
//!
//! Both are created on first use, and with no context takeover they are
//! dropped at the end of each message, so a connection whose messages are not
//! compressed, or that is idle with no context takeover, holds none. Dropping
//! costs little more than resetting, which zlib-rs also pays for by clearing
//! the hash head: compressing a 200-byte message takes 1.6 µs with context
//! takeover, 7.4 µs with a reset and 9.6 µs with a fresh state.

use std::fmt;

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

/// What §7.2.1 removes from the end of a compressed message and §7.2.2 puts back.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Largest piece of output one inflate step produces.
pub const PIECE: usize = 64 * 1024;

/// zlib's default compression level (6).
pub const DEFAULT_LEVEL: i32 = -1;

/// zlib's default memory level.
pub const DEFAULT_MEM_LEVEL: i32 = 8;

/// The longest compressed payload that `limit` inflated bytes may take.
///
/// Incompressible data is sent in stored blocks, 5 bytes of header each; zlib
/// makes them at least about 500 bytes long even at memory level 1, so 1/64 of
/// the size plus a constant covers any sane compressor. The parser refuses a
/// compressed frame or message declared longer than this at its header, before
/// reading it; the inflated size is what the limit is really checked against.
pub fn wire_bound(limit: u64) -> u64 {
    limit.saturating_add(limit / 64).saturating_add(1024)
}

/// A parameter zlib cannot take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamError(pub &'static str);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The agreed parameters of one direction of a permessage-deflate connection:
/// the LZ77 window of the compressor and whether it keeps its context from
/// one message to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    window_bits: u8,
    no_context_takeover: bool,
}

impl DeflateParams {
    /// `window_bits` as negotiated, 8 to 15; 8 becomes 9 (see the module doc).
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Result<Self, ParamError> {
        let window_bits = match window_bits {
            8 => 9,
            9..=15 => window_bits,
            _ => return Err(ParamError("window bits must be between 8 and 15")),
        };
        Ok(DeflateParams {
            window_bits,
            no_context_takeover,
        })
    }

    /// The window bits zlib really uses (9 to 15).
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    pub fn no_context_takeover(&self) -> bool {
        self.no_context_takeover
    }
}

impl Default for DeflateParams {
    /// A 32 KiB window with context takeover: what an offer without parameters agrees to.
    fn default() -> Self {
        DeflateParams {
            window_bits: 15,
            no_context_takeover: false,
        }
    }
}

/// Why inflation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError<E> {
    /// More bytes came out than the budget allowed.
    TooBig,
    /// The input is not valid DEFLATE data; zlib's message.
    Corrupt(&'static str),
    /// The caller's sink refused a piece.
    Sink(E),
}

/// Grow `out` so that `room` more bytes fit, never beyond `ceiling` bytes of
/// capacity unless `room` itself needs it: amortized doubling, capped by the
/// most that may still come.
fn reserve_capped(out: &mut Vec<u8>, room: usize, ceiling: usize) {
    let need = out.len().saturating_add(room);
    if need > out.capacity() {
        let target = need.max(out.capacity().saturating_mul(2).min(ceiling));
        out.reserve_exact(target - out.len());
    }
}

/// The decompressor of the messages one peer sends.
pub struct Inflater {
    params: DeflateParams,
    /// Created at the first compressed message; dropped after each message
    /// when the peer does not keep its context.
    state: Option<Inflate>,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("params", &self.params)
            .field("allocated", &self.state.is_some())
            .finish()
    }
}

impl Inflater {
    pub fn new(params: DeflateParams) -> Self {
        Inflater {
            params,
            state: None,
        }
    }

    pub fn params(&self) -> DeflateParams {
        self.params
    }

    /// Whether zlib state is allocated (for tests and memory accounting).
    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    fn fresh_state(&self) -> Inflate {
        Inflate::new(false, self.params.window_bits)
    }

    /// Inflate all of `input`, appending the output to `out` in pieces of at
    /// most [`PIECE`] bytes and calling `sink(out, start)` after each piece
    /// (`out[start..]` is the new piece; the sink may validate it, or hand it
    /// on and clear `out`). At most `budget` bytes may come out of this call:
    /// the byte after them fails with [`InflateError::TooBig`] at once, and
    /// `out` never grows past what the budget lets in.
    ///
    /// Returns the number of bytes produced.
    pub fn inflate<E>(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        budget: u64,
        mut sink: impl FnMut(&mut Vec<u8>, usize) -> Result<(), E>,
    ) -> Result<u64, InflateError<E>> {
        let mut produced: u64 = 0;
        loop {
            // One byte over the budget is enough to know it was crossed.
            let allowed = budget.saturating_sub(produced).saturating_add(1);
            let room = usize::try_from(allowed).map_or(PIECE, |a| a.min(PIECE));
            let ceiling = usize::try_from(allowed)
                .ok()
                .and_then(|a| a.checked_add(out.len()))
                .unwrap_or(usize::MAX);
            reserve_capped(out, room, ceiling);
            let start = out.len();
            let spare = &mut out.spare_capacity_mut()[..room];
            let state = self
                .state
                .get_or_insert_with(|| Inflate::new(false, self.params.window_bits));
            let (in_before, out_before) = (state.total_in(), state.total_out());
            let status = state.decompress_uninit(input, spare, InflateFlush::SyncFlush);
            let consumed = (state.total_in() - in_before) as usize;
            let written = (state.total_out() - out_before) as usize;
            debug_assert!(written <= room && consumed <= input.len());
            // SAFETY: zlib-rs wrote (initialized) exactly `written` bytes at
            // the start of the spare capacity, which held `room` >= `written`.
            unsafe { out.set_len(start + written) };
            input = &input[consumed..];
            let status = match status {
                Ok(status) => status,
                Err(_) => {
                    let reason = state.error_message().unwrap_or("invalid compressed data");
                    return Err(InflateError::Corrupt(reason));
                }
            };
            produced += written as u64;
            if produced > budget {
                // The bytes within the budget still go to the sink first, so
                // that an error in them (invalid UTF-8) is reported as it would
                // be had they come out in a piece of their own: the result
                // does not depend on how the input was cut.
                let over = (produced - budget) as usize;
                out.truncate(start + written - over);
                if written > over {
                    sink(out, start).map_err(InflateError::Sink)?;
                }
                return Err(InflateError::TooBig);
            }
            if written > 0 {
                sink(out, start).map_err(InflateError::Sink)?;
            }
            match status {
                // A block with BFINAL set ended the DEFLATE stream (§7.2.3.3):
                // whatever follows in the message starts a new one.
                Status::StreamEnd => self.state = Some(self.fresh_state()),
                // zlib stops when the input is used up or the output is full:
                // with room left, everything this input holds has come out.
                Status::Ok | Status::BufError if written < room && input.is_empty() => {
                    return Ok(produced)
                }
                Status::Ok | Status::BufError if written == 0 && consumed == 0 => {
                    // No progress with room and input: cannot happen with
                    // zlib; fail rather than spin.
                    return Err(InflateError::Corrupt("inflate made no progress"));
                }
                Status::Ok | Status::BufError => {}
            }
        }
    }

    /// The message is complete (its tail inflated): forget the context if
    /// the peer does not keep it.
    pub fn end_message(&mut self) {
        if self.params.no_context_takeover {
            self.state = None;
        }
    }

    /// Free the zlib state (the connection failed, or is going idle).
    pub fn release(&mut self) {
        self.state = None;
    }
}

/// The compressor of the messages this endpoint sends.
pub struct Compressor {
    params: DeflateParams,
    config: DeflateConfig,
    /// Created at the first message; dropped after each message with no
    /// context takeover.
    state: Option<Deflate>,
    /// A message sent in pieces (`compress_chunk`) has begun and not ended.
    in_message: bool,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("params", &self.params)
            .field("level", &self.config.level)
            .field("mem_level", &self.config.mem_level)
            .field("allocated", &self.state.is_some())
            .field("in_message", &self.in_message)
            .finish()
    }
}

/// `compress` called while a message sent in pieces is unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInProgress;

impl Compressor {
    /// `level` is zlib's: -1 (default, 6) or 0 to 9; `mem_level` 1 to 9.
    pub fn new(params: DeflateParams, level: i32, mem_level: i32) -> Result<Self, ParamError> {
        if !(-1..=9).contains(&level) {
            return Err(ParamError("compression level must be between -1 and 9"));
        }
        if !(1..=9).contains(&mem_level) {
            return Err(ParamError("memory level must be between 1 and 9"));
        }
        let config = DeflateConfig {
            level,
            window_bits: -i32::from(params.window_bits),
            mem_level,
            ..DeflateConfig::default()
        };
        Ok(Compressor {
            params,
            config,
            state: None,
            in_message: false,
        })
    }

    pub fn params(&self) -> DeflateParams {
        self.params
    }

    /// Whether zlib state is allocated (for tests and memory accounting).
    pub fn is_allocated(&self) -> bool {
        self.state.is_some()
    }

    /// True between a non-final `compress_chunk` and the final one.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Compress a whole message, appending its payload to `out`.
    pub fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), MessageInProgress> {
        if self.in_message {
            return Err(MessageInProgress);
        }
        self.compress_chunk(data, true, out);
        Ok(())
    }

    /// Compress the next piece of a message, appending compressed bytes to
    /// `out`. Non-final pieces may append nothing (zlib keeps what it has not
    /// yet encoded); the final one (`fin`) flushes everything and ends the
    /// message. Each call's output is the payload of one frame.
    pub fn compress_chunk(&mut self, data: &[u8], fin: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let flush = if fin {
            DeflateFlush::SyncFlush
        } else {
            DeflateFlush::NoFlush
        };
        self.run(data, flush, out);
        if fin {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if out.len() == start {
                // zlib had nothing to flush (an empty message right after a
                // flush). An empty payload would not inflate with the tail
                // put back: send the header byte of an empty stored block,
                // which with the tail is one (§7.2.3.6).
                out.push(0x00);
            }
            self.in_message = false;
            if self.params.no_context_takeover {
                self.state = None;
            }
        } else {
            self.in_message = true;
        }
    }

    fn run(&mut self, mut input: &[u8], flush: DeflateFlush, out: &mut Vec<u8>) {
        let config = self.config;
        let state = self
            .state
            .get_or_insert_with(|| Deflate::new_with_config(config));
        // A flush needs a few bytes of room beyond the data (zlib: "more than six").
        let mut room = zlib_rs::compress_bound(input.len()).max(64);
        loop {
            out.reserve(room);
            let start = out.len();
            let spare = &mut out.spare_capacity_mut()[..room];
            let (in_before, out_before) = (state.total_in(), state.total_out());
            let status = state.compress_uninit(input, spare, flush);
            let consumed = (state.total_in() - in_before) as usize;
            let written = (state.total_out() - out_before) as usize;
            debug_assert!(written <= room && consumed <= input.len());
            // SAFETY: zlib-rs wrote (initialized) exactly `written` bytes at
            // the start of the spare capacity, which held `room` >= `written`.
            unsafe { out.set_len(start + written) };
            input = &input[consumed..];
            // Only a stream error is possible, and only with a bad
            // configuration, which `new` rules out.
            status.expect("deflate with a valid configuration");
            if input.is_empty() && written < room {
                return;
            }
            room = room.max(4096);
        }
    }
}

// The Python objects that own these must be `Send`.
const _: () = {
    const fn is_send<T: Send>() {}
    is_send::<Inflater>();
    is_send::<Compressor>();
};

#[cfg(test)]
pub(crate) mod test_alloc {
    //! A counting global allocator for the unit tests: each thread sees the
    //! bytes it allocated and frees, so parallel tests do not disturb one
    //! another's figures.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static CURRENT: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        let _ = CURRENT.try_with(|c| {
            let now = c.get() + n;
            c.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            System.alloc(layout)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            System.dealloc(ptr, layout)
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            System.alloc_zeroed(layout)
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            System.realloc(ptr, layout, new_size)
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Bytes allocated by this thread and not yet freed.
    pub fn current() -> isize {
        CURRENT.with(Cell::get)
    }

    /// Start a peak measurement: returns the baseline.
    pub fn reset_peak() -> isize {
        let now = current();
        PEAK.with(|p| p.set(now));
        now
    }

    /// Highest `current()` since `reset_peak`.
    pub fn peak() -> isize {
        PEAK.with(Cell::get)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::test_alloc;
    use super::*;
    use proptest::prelude::*;

    fn params(bits: u8, nct: bool) -> DeflateParams {
        DeflateParams::new(bits, nct).unwrap()
    }

    fn compress(c: &mut Compressor, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(data, &mut out).unwrap();
        out
    }

    /// Inflate one message's payload (given in pieces) with no limit.
    fn inflate_message(i: &mut Inflater, pieces: &[&[u8]]) -> Result<Vec<u8>, InflateError<()>> {
        let mut out = Vec::new();
        for piece in pieces.iter().copied().chain([&TAIL[..]]) {
            i.inflate(piece, &mut out, u64::MAX, |_, _| Ok(()))?;
        }
        i.end_message();
        Ok(out)
    }

    fn json_like(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 100);
        let mut i = 0u64;
        while out.len() < n {
            out.extend_from_slice(
                format!(
                    r#"{{"id":{i},"name":"user{}","active":{},"score":{}.{},"tags":["a","b{}"]}},"#,
                    i * 7919 % 1000,
                    i % 3 == 0,
                    i * 31 % 977,
                    i % 10,
                    i % 13
                )
                .as_bytes(),
            );
            i += 1;
        }
        out.truncate(n);
        out
    }

    #[test]
    fn window_bits_8_is_9_and_out_of_range_is_refused() {
        assert_eq!(params(8, false).window_bits(), 9);
        assert_eq!(params(9, false).window_bits(), 9);
        assert_eq!(params(15, true).window_bits(), 15);
        assert!(DeflateParams::new(7, false).is_err());
        assert!(DeflateParams::new(16, false).is_err());
        assert!(Compressor::new(params(15, false), 10, 8).is_err());
        assert!(Compressor::new(params(15, false), 6, 0).is_err());
        assert!(Compressor::new(params(15, false), 6, 10).is_err());
    }

    #[test]
    fn rfc_7692_examples() {
        // §7.2.3.1: "Hello" compressed, one message.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut i = Inflater::new(DeflateParams::default());
        assert_eq!(inflate_message(&mut i, &[&hello]).unwrap(), b"Hello");
        // §7.2.3.2: the second "Hello" with context takeover is a back-reference.
        assert_eq!(
            inflate_message(&mut i, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap(),
            b"Hello"
        );
        // §7.2.3.3: a block with BFINAL set, then more messages.
        let mut i = Inflater::new(DeflateParams::default());
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_message(&mut i, &[&bfinal]).unwrap(), b"Hello");
        assert_eq!(inflate_message(&mut i, &[&hello]).unwrap(), b"Hello");
        // §7.2.3.4: two DEFLATE blocks in one message.
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        let mut i = Inflater::new(DeflateParams::default());
        assert_eq!(inflate_message(&mut i, &[&two]).unwrap(), b"Hello");
        // §7.2.3.5: a stored (uncompressed) block.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate_message(&mut i, &[&stored]).unwrap(), b"Hello");
        // §7.2.3.6: an empty message is the single byte 0x00.
        let mut c = Compressor::new(DeflateParams::default(), DEFAULT_LEVEL, 8).unwrap();
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(inflate_message(&mut i, &[&[0x00]]).unwrap(), b"");
        // Our compressor writes the §7.2.3.1 bytes, and the second "Hello"
        // of §7.2.3.2 as a back-reference.
        assert_eq!(compress(&mut c, b"Hello"), hello);
        assert_eq!(compress(&mut c, b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        // An empty message right after a flush still gets its byte.
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(compress(&mut c, b""), [0x00]);
    }

    #[test]
    fn context_takeover_off_resets_and_frees_per_message() {
        let p = params(15, true);
        let mut c = Compressor::new(p, DEFAULT_LEVEL, 8).unwrap();
        let first = compress(&mut c, b"Hello");
        assert!(!c.is_allocated());
        // No back-reference to the previous message: the same bytes again.
        assert_eq!(compress(&mut c, b"Hello"), first);
        let mut i = Inflater::new(p);
        assert_eq!(inflate_message(&mut i, &[&first]).unwrap(), b"Hello");
        assert!(!i.is_allocated());
        assert_eq!(inflate_message(&mut i, &[&first]).unwrap(), b"Hello");
        // With takeover, the state lives on between messages.
        let mut i = Inflater::new(params(15, false));
        inflate_message(&mut i, &[&first]).unwrap();
        assert!(i.is_allocated());
    }

    #[test]
    fn chunked_compression_equals_whole_message() {
        let data = json_like(200_000);
        for bits in 9..=15 {
            let p = params(bits, false);
            let mut c = Compressor::new(p, DEFAULT_LEVEL, 8).unwrap();
            let mut i = Inflater::new(p);
            for round in 0..3 {
                let mut frames = Vec::new();
                let pieces: Vec<&[u8]> = data.chunks(30_000 + round * 7).collect();
                for (n, piece) in pieces.iter().enumerate() {
                    let mut out = Vec::new();
                    c.compress_chunk(piece, n + 1 == pieces.len(), &mut out);
                    frames.push(out);
                }
                assert!(!c.in_message());
                let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
                assert_eq!(inflate_message(&mut i, &refs).unwrap(), data, "bits {bits}");
            }
        }
    }

    #[test]
    fn compress_refused_inside_a_chunked_message() {
        let mut c = Compressor::new(DeflateParams::default(), DEFAULT_LEVEL, 8).unwrap();
        let mut out = Vec::new();
        c.compress_chunk(b"abc", false, &mut out);
        assert_eq!(c.compress(b"x", &mut out), Err(MessageInProgress));
        c.compress_chunk(b"", true, &mut out);
        let mut i = Inflater::new(DeflateParams::default());
        assert_eq!(inflate_message(&mut i, &[&out]).unwrap(), b"abc");
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut i = Inflater::new(DeflateParams::default());
        // BTYPE 11 is reserved.
        assert!(matches!(
            inflate_message(&mut i, &[&[0xff, 0xff]]),
            Err(InflateError::Corrupt(_))
        ));
        // A back-reference before the start of the data.
        let mut i = Inflater::new(DeflateParams::default());
        assert!(matches!(
            inflate_message(&mut i, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]),
            Err(InflateError::Corrupt(_))
        ));
    }

    /// `units` MiB of zeros deflated (about 1 KiB each): 1 MiB units, each
    /// sync-flushed, so the stream is one unit repeated (the last without its
    /// tail), cheap to build.
    pub(crate) fn zero_bomb(units: usize) -> Vec<u8> {
        let mut c = Compressor::new(params(15, true), 9, 9).unwrap();
        let mut unit = Vec::new();
        c.compress(&vec![0; 1 << 20], &mut unit).unwrap();
        let mut bomb = Vec::with_capacity(units * (unit.len() + 4));
        for _ in 1..units {
            bomb.extend_from_slice(&unit);
            bomb.extend_from_slice(&TAIL);
        }
        bomb.extend_from_slice(&unit);
        bomb
    }

    #[test]
    fn bomb_stops_at_the_budget_with_bounded_memory() {
        let bomb = zero_bomb(1024);
        assert!(bomb.len() < 1100 * 1024, "{}", bomb.len());
        let limit: u64 = 1 << 20;
        let mut i = Inflater::new(DeflateParams::default());
        let mut out = Vec::new();
        let base = test_alloc::reset_peak();
        let result = i.inflate(&bomb, &mut out, limit, |_, _| Ok::<(), ()>(()));
        assert_eq!(result, Err(InflateError::TooBig));
        assert_eq!(out.len() as u64, limit);
        assert!(out.capacity() as u64 <= limit + 1, "{}", out.capacity());
        // The output plus the zlib state (about 47 KiB) and nothing else.
        let growth = test_alloc::peak() - base;
        assert!(growth < (limit as isize) + 64 * 1024, "grew {growth}");
    }

    #[test]
    fn exact_budget_boundary_including_the_final_flush() {
        // Sent in two pieces: zlib holds the data back until the final flush,
        // so the last bytes only come out of the last piece.
        let data = json_like(300_000);
        let mut c = Compressor::new(DeflateParams::default(), DEFAULT_LEVEL, 8).unwrap();
        let (mut first, mut last) = (Vec::new(), Vec::new());
        c.compress_chunk(&data, false, &mut first);
        c.compress_chunk(b"", true, &mut last);
        let n = data.len() as u64;
        let run = |budget: u64| {
            let mut i = Inflater::new(DeflateParams::default());
            let mut out = Vec::new();
            let mut used = 0;
            for piece in [&first[..], &last[..], &TAIL[..]] {
                used += i.inflate(piece, &mut out, budget - used, |_, _| Ok::<(), ()>(()))?;
            }
            Ok::<_, InflateError<()>>(out)
        };
        assert_eq!(run(n).unwrap(), data);
        assert_eq!(run(n - 1), Err(InflateError::TooBig));
        let mut i = Inflater::new(DeflateParams::default());
        let mut out = Vec::new();
        let before = i
            .inflate(&first, &mut out, u64::MAX, |_, _| Ok::<(), ()>(()))
            .unwrap();
        assert!(before < n);
        assert_eq!(run(before).unwrap_err(), InflateError::TooBig);
        // Exact output sizes of every kind: the budget is never off by one.
        let mut c = Compressor::new(params(15, true), DEFAULT_LEVEL, 8).unwrap();
        for size in [0usize, 1, 2, 100, 65_535, 65_536, 65_537, 131_072] {
            let data = json_like(size);
            let wire = compress(&mut c, &data);
            for (budget, ok) in [(size as u64, true), ((size as u64).wrapping_sub(1), false)] {
                if size == 0 && !ok {
                    continue;
                }
                let mut i = Inflater::new(DeflateParams::default());
                let mut out = Vec::new();
                let r = i
                    .inflate(&wire, &mut out, budget, |_, _| Ok::<(), ()>(()))
                    .and_then(|u| i.inflate(&TAIL, &mut out, budget - u, |_, _| Ok(())));
                assert_eq!(r.is_ok(), ok, "size {size} budget {budget}");
            }
        }
    }

    #[test]
    fn sink_sees_every_piece_once() {
        let data = json_like(500_000);
        let mut c = Compressor::new(DeflateParams::default(), 1, 8).unwrap();
        let wire = compress(&mut c, &data);
        let mut i = Inflater::new(DeflateParams::default());
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for piece in [&wire[..], &TAIL[..]] {
            i.inflate(piece, &mut out, u64::MAX, |buf: &mut Vec<u8>, start| {
                assert!(buf.len() - start <= PIECE);
                seen.extend_from_slice(&buf[start..]);
                buf.clear();
                Ok::<(), ()>(())
            })
            .unwrap();
        }
        assert_eq!(seen, data);
        assert!(out.capacity() <= PIECE + 1);
        // A sink error stops inflation and comes back as is.
        let mut i = Inflater::new(DeflateParams::default());
        let r = i.inflate(&wire, &mut Vec::new(), u64::MAX, |_, _| Err("stop"));
        assert_eq!(r, Err(InflateError::Sink("stop")));
    }

    #[test]
    fn state_sizes() {
        // The figures quoted in the module documentation.
        let measure = |f: &dyn Fn() -> Box<dyn std::any::Any>| {
            let base = test_alloc::current();
            let keep = f();
            let size = test_alloc::current() - base;
            drop(keep);
            size
        };
        let deflate15 = measure(&|| {
            let mut c = Compressor::new(DeflateParams::default(), DEFAULT_LEVEL, 8).unwrap();
            c.compress(b"x", &mut Vec::new()).unwrap();
            Box::new(c)
        });
        let deflate15_mem5 = measure(&|| {
            let mut c = Compressor::new(DeflateParams::default(), DEFAULT_LEVEL, 5).unwrap();
            c.compress(b"x", &mut Vec::new()).unwrap();
            Box::new(c)
        });
        let inflate15 = measure(&|| {
            let mut i = Inflater::new(DeflateParams::default());
            inflate_message(&mut i, &[&[0x00]]).unwrap();
            Box::new(i)
        });
        eprintln!(
            "deflate 15/8: {deflate15} B, 15/5: {deflate15_mem5} B, inflate 15: {inflate15} B"
        );
        assert!((300_000..420_000).contains(&deflate15), "{deflate15}");
        assert!(deflate15_mem5 < 300_000, "{deflate15_mem5}");
        assert!((32_768..64_000).contains(&inflate15), "{inflate15}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn compress_then_inflate_is_identity(
            messages in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..3000),
                    (0usize..20_000).prop_map(json_like),
                    (0usize..5000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
                ],
                1..5,
            ),
            bits in 8u8..=15,
            nct: bool,
            level in -1i32..=9,
            mem_level in 1i32..=9,
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let p = params(bits, nct);
            let mut c = Compressor::new(p, level, mem_level).unwrap();
            let mut i = Inflater::new(p);
            for message in &messages {
                let wire = compress(&mut c, message);
                // Split the compressed payload at random points.
                let mut points: Vec<usize> = cuts.iter().map(|ix| ix.index(wire.len() + 1)).collect();
                points.sort_unstable();
                let mut pieces = Vec::new();
                let mut last = 0;
                for point in points {
                    pieces.push(&wire[last..point]);
                    last = point;
                }
                pieces.push(&wire[last..]);
                prop_assert_eq!(&inflate_message(&mut i, &pieces).unwrap(), message);
            }
        }

        #[test]
        fn arbitrary_input_never_panics(
            pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..4),
            bits in 8u8..=15,
            budget in 0u64..100_000,
        ) {
            let mut i = Inflater::new(params(bits, false));
            let mut out = Vec::new();
            let mut used = 0;
            for piece in pieces.iter().map(Vec::as_slice).chain([&TAIL[..]]) {
                match i.inflate(piece, &mut out, budget - used, |_, _| Ok::<(), ()>(())) {
                    Ok(n) => used += n,
                    Err(_) => break,
                }
            }
            prop_assert!(out.len() as u64 <= budget + 1);
        }
    }
}
