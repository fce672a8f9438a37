//! Incremental, fail-fast UTF-8 validation for WebSocket text messages.
//!
//! RFC 6455 §8.1 requires an endpoint to fail the connection (close code 1007)
//! when a text message is not valid UTF-8, and the Autobahn testsuite (cases
//! 6.4.x) checks that this happens *as soon as* the invalid byte arrives, even
//! in the middle of a frame and long before the message ends. So validation
//! cannot wait for the whole message: it runs over each chunk as it arrives and
//! reports the first byte after which no continuation could make the text
//! valid.
//!
//! Two pieces do the work:
//!
//! * a tiny scalar state machine ([`Utf8Validator::step`]) holding the one
//!   partial code point that may straddle a chunk boundary. It encodes the
//!   RFC 3629 §4 table of well-formed sequences and is the only place that
//!   table lives;
//! * [`simdutf8::compat::from_utf8`] (SIMD, CPU features detected at run time)
//!   for the bulk of each chunk. Its `valid_up_to`/`error_len` tell us whether
//!   the chunk merely ends in an incomplete code point (carry it over) or holds
//!   a real error (pinpoint it with the scalar machine, at most 4 bytes).

/// Where validation failed: the offset, within the chunk just fed, of the first
/// byte at which the text can no longer be valid UTF-8.
///
/// That is the byte that makes the text *impossible*, not the start of the bad
/// sequence: for `F4 90` the offset is 1 (`F4` alone could still start
/// U+10xxxx, `F4 90` would be above U+10FFFF); for `ED A0` it is 1 (a
/// surrogate); for `E0 80` it is 1 (overlong); for a lone `FF`, or for `C0`/`C1`
/// (which can only start overlong forms), it is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    pub offset: usize,
}

/// Validates one text message fed in arbitrary chunks.
///
/// The state is just the pending partial code point (how many continuation
/// bytes are still owed and the range the next one must fall in) plus a sticky
/// failure flag: four bytes, no heap, so one can live in every connection.
/// `Default` is the state at a code point boundary, the same as [`new`].
///
/// [`new`]: Utf8Validator::new
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// Continuation bytes still needed to finish the current code point
    /// (0 at a code point boundary).
    need: u8,
    /// Inclusive range allowed for the next byte while `need > 0`. Only the
    /// byte right after the lead is ever narrower than `80..=BF` (RFC 3629).
    lo: u8,
    hi: u8,
    /// Set by the first error; the message is lost, so every later `feed`
    /// fails too until [`Utf8Validator::reset`].
    failed: bool,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validate the next chunk of a message.
    ///
    /// An incomplete code point at the end of `chunk` is carried to the next
    /// call, so chunk (frame, read) boundaries may fall anywhere. On error the
    /// offset is relative to this `chunk`. After an error, every call returns
    /// `Err(Utf8Error { offset: 0 })` until [`reset`](Self::reset), because the
    /// message can never become valid again.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        if self.failed {
            return Err(Utf8Error { offset: 0 });
        }
        // Finish the code point left over from the previous chunk (at most
        // 3 bytes) so that the SIMD pass starts on a code point boundary.
        let mut start = 0;
        while self.need > 0 {
            let Some(&byte) = chunk.get(start) else {
                return Ok(()); // still incomplete; wait for more
            };
            if !self.step(byte) {
                return self.fail(start);
            }
            start += 1;
        }
        let err = match simdutf8::compat::from_utf8(&chunk[start..]) {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        // Everything before `valid_up_to` is whole code points, so the scalar
        // machine starts fresh there. Either the rest is a valid but
        // incomplete prefix (`error_len() == None`, at most 3 bytes: it becomes
        // the pending state) or it holds an error within its first 4 bytes,
        // which the scalar machine locates exactly. `error_len` alone cannot
        // give the offset: it is 1 both for `FF` (bad at 0) and `F4 90` (bad
        // at 1).
        let tail_start = start + err.valid_up_to();
        for (i, &byte) in chunk[tail_start..].iter().enumerate() {
            if !self.step(byte) {
                return self.fail(tail_start + i);
            }
        }
        if err.error_len().is_some() {
            // simdutf8 and the RFC 3629 table agree, so this is unreachable;
            // if they ever did not, rejecting is the safe answer.
            debug_assert!(false, "simdutf8 rejected what the scalar table accepts");
            return self.fail(tail_start);
        }
        Ok(())
    }

    /// True if everything fed so far ends on a code point boundary, i.e. the
    /// message may end here. False after an error.
    pub fn is_complete(&self) -> bool {
        !self.failed && self.need == 0
    }

    /// Forget all state, ready for the next message.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Advance the scalar state machine by one byte; false if `byte` makes
    /// the text impossible. This is the RFC 3629 §4 syntax (also Table 3-7 of
    /// the Unicode Standard): the second byte's range depends on the lead byte,
    /// which is what excludes overlong forms (`E0`, `F0`), surrogates (`ED`)
    /// and code points above U+10FFFF (`F4`). `C0`, `C1` and `F5..=FF` never
    /// appear in valid UTF-8.
    #[inline]
    fn step(&mut self, byte: u8) -> bool {
        if self.need > 0 {
            if byte < self.lo || byte > self.hi {
                return false;
            }
            self.need -= 1;
            (self.lo, self.hi) = (0x80, 0xBF);
            return true;
        }
        let (need, lo, hi) = match byte {
            0x00..=0x7F => return true,
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            // 80..=BF (continuation without a lead), C0, C1, F5..=FF.
            _ => return false,
        };
        (self.need, self.lo, self.hi) = (need, lo, hi);
        true
    }

    #[cold]
    fn fail(&mut self, offset: usize) -> Result<(), Utf8Error> {
        *self = Self {
            failed: true,
            ..Self::default()
        };
        Err(Utf8Error { offset })
    }
}

/// Whole-buffer check (SIMD), for payloads that arrive in one piece.
///
/// Uses simdutf8's `basic` flavour, the fastest on valid input since it does
/// not track where an error is.
pub fn is_valid(bytes: &[u8]) -> bool {
    simdutf8::basic::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// The reference answer, derived with std only: the smallest `k` such that
    /// `b[..=k]` is not a prefix of any valid UTF-8 (std reports a prefix that
    /// merely stops early as `error_len() == None`).
    fn first_impossible(b: &[u8]) -> Option<usize> {
        (0..b.len())
            .find(|&k| matches!(std::str::from_utf8(&b[..=k]), Err(e) if e.error_len().is_some()))
    }

    /// Feed `chunks` in order. Returns the absolute position of the first error
    /// (checking that later feeds keep failing with offset 0), or `None` plus
    /// the final `is_complete`.
    fn run_chunks(chunks: &[&[u8]]) -> (Option<usize>, bool) {
        let mut v = Utf8Validator::new();
        let mut base = 0;
        let mut error = None;
        for chunk in chunks {
            match (error, v.feed(chunk)) {
                (None, Ok(())) => {}
                (None, Err(e)) => {
                    assert!(e.offset < chunk.len(), "offset {} out of chunk", e.offset);
                    error = Some(base + e.offset);
                    assert!(!v.is_complete());
                }
                (Some(_), r) => assert_eq!(r, Err(Utf8Error { offset: 0 }), "error not sticky"),
            }
            base += chunk.len();
        }
        (error, v.is_complete())
    }

    /// Check `bytes` against the expected first impossible position, whole,
    /// byte by byte, and against the std-derived reference.
    fn check(bytes: &[u8], expected: Option<usize>) {
        assert_eq!(
            first_impossible(bytes),
            expected,
            "reference disagrees: {bytes:02X?}"
        );
        let valid = std::str::from_utf8(bytes).is_ok();
        assert_eq!(is_valid(bytes), valid, "is_valid: {bytes:02X?}");
        let (err, complete) = run_chunks(&[bytes]);
        assert_eq!(err, expected, "whole: {bytes:02X?}");
        assert_eq!(
            err.is_none() && complete,
            valid,
            "whole complete: {bytes:02X?}"
        );
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        let (err, complete) = run_chunks(&single);
        assert_eq!(err, expected, "byte by byte: {bytes:02X?}");
        assert_eq!(
            err.is_none() && complete,
            valid,
            "bytewise complete: {bytes:02X?}"
        );
    }

    fn valid(bytes: &[u8]) {
        assert!(std::str::from_utf8(bytes).is_ok());
        check(bytes, None);
    }

    #[test]
    fn utf8_every_scalar_value_is_valid() {
        let mut buf = [0u8; 4];
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(bytes), Ok(()), "U+{:04X}", c as u32);
            assert!(v.is_complete(), "U+{:04X}", c as u32);
            assert!(is_valid(bytes));
            // Byte by byte: incomplete until the last byte, then complete.
            let mut v = Utf8Validator::new();
            for (i, &b) in bytes.iter().enumerate() {
                assert_eq!(v.feed(&[b]), Ok(()), "U+{:04X} byte {i}", c as u32);
                assert_eq!(v.is_complete(), i + 1 == bytes.len(), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn utf8_all_scalars_in_one_buffer() {
        let s: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
        assert!(is_valid(s.as_bytes()));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(s.as_bytes()), Ok(()));
        assert!(v.is_complete());
        // Odd chunk sizes put chunk boundaries inside code points all the time.
        for size in [1, 2, 3, 5, 7, 63, 64, 65, 4093] {
            let mut v = Utf8Validator::new();
            for chunk in s.as_bytes().chunks(size) {
                assert_eq!(v.feed(chunk), Ok(()), "chunk size {size}");
            }
            assert!(v.is_complete());
        }
    }

    #[test]
    fn utf8_every_surrogate_is_invalid_at_offset_1() {
        for hi in 0xA0..=0xBF {
            for lo in 0x80..=0xBF {
                check(&[0xED, hi, lo], Some(1));
            }
        }
        // Paired surrogates (CESU-8 style) are just as invalid.
        check(&[0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80], Some(1));
        check(&[0xED, 0xAF, 0xBF, 0xED, 0xBF, 0xBF], Some(1));
        // After valid text, the offset moves with it.
        check(b"ok \xED\xA0\x80", Some(4));
    }

    #[test]
    fn utf8_overlongs_and_out_of_range() {
        // Overlong '/' and NUL.
        check(&[0xC0, 0xAF], Some(0));
        check(&[0xE0, 0x80, 0xAF], Some(1));
        check(&[0xF0, 0x80, 0x80, 0xAF], Some(1));
        check(&[0xC0, 0x80], Some(0));
        check(&[0xE0, 0x80, 0x80], Some(1));
        check(&[0xF0, 0x80, 0x80, 0x80], Some(1));
        check(&[0xC1, 0xBF], Some(0));
        check(&[0xE0, 0x9F, 0xBF], Some(1));
        check(&[0xF0, 0x8F, 0xBF, 0xBF], Some(1));
        // 5- and 6-byte forms.
        check(&[0xF8, 0x88, 0x80, 0x80, 0x80], Some(0));
        check(&[0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], Some(0));
        check(&[0xF8, 0x80, 0x80, 0x80, 0xAF], Some(0));
        check(&[0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF], Some(0));
        // FE, FF.
        check(&[0xFE], Some(0));
        check(&[0xFF], Some(0));
        // Above U+10FFFF.
        check(&[0xF4, 0x90, 0x80, 0x80], Some(1));
        check(&[0xF4, 0x90], Some(1));
        check(&[0xF5, 0x80, 0x80, 0x80], Some(0));
        check(&[0xF7, 0xBF, 0xBF, 0xBF], Some(0));
    }

    #[test]
    fn utf8_offsets_from_api_doc() {
        let cases: &[(&[u8], usize)] = &[
            (&[0xF4, 0x90], 1),
            (&[0xED, 0xA0], 1),
            (&[0xFF], 0),
            (&[0xC0], 0),
            (&[0xE0, 0x80], 1),
        ];
        for &(bytes, offset) in cases {
            assert_eq!(
                Utf8Validator::new().feed(bytes),
                Err(Utf8Error { offset }),
                "{bytes:02X?}"
            );
        }
    }

    #[test]
    fn utf8_offset_is_relative_to_current_chunk() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xE2]), Ok(()));
        assert!(!v.is_complete());
        // The pending E2 is completed by 82 AC, then FF is bad at offset 2.
        assert_eq!(v.feed(&[0x82, 0xAC, 0xFF]), Err(Utf8Error { offset: 2 }));
        // Sticky until reset.
        assert_eq!(v.feed(b"fine"), Err(Utf8Error { offset: 0 }));
        assert_eq!(v.feed(b""), Err(Utf8Error { offset: 0 }));
        assert!(!v.is_complete());
        v.reset();
        assert!(v.is_complete());
        assert_eq!(v.feed(b"fine"), Ok(()));

        // Failure inside the pending code point.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(Utf8Error { offset: 0 }));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xF0, 0x9F]), Ok(()));
        assert_eq!(v.feed(&[0x98]), Ok(()));
        assert_eq!(v.feed(&[0x80, 0x41, 0xC0]), Err(Utf8Error { offset: 2 }));
        // A long valid run before the error exercises the SIMD path.
        let mut buf = "é€😀 ascii ".repeat(50).into_bytes();
        let at = buf.len();
        buf.extend_from_slice(&[0xE0, 0x9F, 0x80]);
        assert_eq!(
            Utf8Validator::new().feed(&buf),
            Err(Utf8Error { offset: at + 1 })
        );
    }

    #[test]
    fn utf8_is_complete_tracks_code_point_boundaries() {
        let mut v = Utf8Validator::new();
        assert!(v.is_complete());
        assert_eq!(v.feed(&[0xE2, 0x82]), Ok(()));
        assert!(!v.is_complete());
        assert_eq!(v.feed(&[]), Ok(()));
        assert!(!v.is_complete());
        assert_eq!(v.feed(&[0xAC]), Ok(()));
        assert!(v.is_complete());
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xE2, 0x82, 0xAC]), Ok(()));
        assert!(v.is_complete());
        let mut v = Utf8Validator::new();
        assert_eq!(
            v.feed("x€".repeat(40).as_bytes().split_last().unwrap().1),
            Ok(())
        );
        assert!(!v.is_complete());
        assert_eq!(v.feed(&[0xAC]), Ok(()));
        assert!(v.is_complete());
        assert_eq!(std::mem::size_of::<Utf8Validator>(), 4);
    }

    /// Markus Kuhn's "UTF-8 decoder capability and stress test", section by
    /// section. The expected value is the first impossible byte (None: valid).
    #[test]
    fn utf8_kuhn_stress_test() {
        // 1: some correct UTF-8 text ("κόσμε").
        valid(&[
            0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5,
        ]);

        // 2.1: first possible sequence of each length.
        valid(&[0x00]);
        valid(&[0xC2, 0x80]);
        valid(&[0xE0, 0xA0, 0x80]);
        valid(&[0xF0, 0x90, 0x80, 0x80]);
        check(&[0xF8, 0x88, 0x80, 0x80, 0x80], Some(0));
        check(&[0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], Some(0));
        // 2.2: last possible sequence of each length.
        valid(&[0x7F]);
        valid(&[0xDF, 0xBF]);
        valid(&[0xEF, 0xBF, 0xBF]);
        check(&[0xF7, 0xBF, 0xBF, 0xBF], Some(0));
        check(&[0xFB, 0xBF, 0xBF, 0xBF, 0xBF], Some(0));
        check(&[0xFD, 0xBF, 0xBF, 0xBF, 0xBF, 0xBF], Some(0));
        // 2.3: other boundaries.
        valid(&[0xED, 0x9F, 0xBF]); // U+D7FF
        valid(&[0xEE, 0x80, 0x80]); // U+E000
        valid(&[0xEF, 0xBF, 0xBD]); // U+FFFD
        valid(&[0xF4, 0x8F, 0xBF, 0xBF]); // U+10FFFF
        check(&[0xF4, 0x90, 0x80, 0x80], Some(1)); // U+110000

        // 3.1: unexpected continuation bytes, alone, in runs, and after text.
        for b in 0x80..=0xBF {
            check(&[b], Some(0));
            check(&[b'a', b], Some(1));
        }
        check(&[0x80, 0xBF], Some(0));
        check(&[0x80, 0xBF, 0x80], Some(0));
        check(&[0x80, 0xBF, 0x80, 0xBF, 0x80, 0xBF, 0x80], Some(0));
        let all_continuations: Vec<u8> = (0x80..=0xBF).collect();
        check(&all_continuations, Some(0));

        // 3.2: lonely start bytes, each followed by a space. The space is the
        // impossible byte, unless the start byte can never be valid at all.
        for b in 0xC0..=0xFD {
            let expected = match b {
                0xC0 | 0xC1 | 0xF5..=0xFD => 0,
                _ => 1,
            };
            check(&[b, b' '], Some(expected));
        }

        // 3.3: sequences with the last continuation byte missing. The U+0000
        // forms are overlong (impossible before the end); the U+..FFFF forms
        // are valid prefixes where possible, so they only fail when the
        // message ends (not complete) or when the next byte arrives.
        check(&[0xC0], Some(0));
        check(&[0xE0, 0x80], Some(1));
        check(&[0xF0, 0x80, 0x80], Some(1));
        check(&[0xF8, 0x80, 0x80, 0x80], Some(0));
        check(&[0xFC, 0x80, 0x80, 0x80, 0x80], Some(0));
        check(&[0xDF], None);
        check(&[0xEF, 0xBF], None);
        check(&[0xF7, 0xBF, 0xBF], Some(0));
        check(&[0xFB, 0xBF, 0xBF, 0xBF], Some(0));
        check(&[0xFD, 0xBF, 0xBF, 0xBF, 0xBF], Some(0));
        check(&[0xDF, b' '], Some(1));
        check(&[0xEF, 0xBF, b' '], Some(2));
        check(&[0xF4, 0x8F, 0xBF, b' '], Some(3));
        for prefix in [
            &[0xDF][..],
            &[0xEF, 0xBF],
            &[0xF0, 0x90, 0x80],
            &[0xF4, 0x8F, 0xBF],
        ] {
            let mut v = Utf8Validator::new();
            assert_eq!(v.feed(prefix), Ok(()));
            assert!(!v.is_complete(), "{prefix:02X?} must not end a message");
        }

        // 3.4: concatenation of the 3.3 sequences.
        let concat: Vec<u8> = [
            &[0xC0][..],
            &[0xE0, 0x80],
            &[0xF0, 0x80, 0x80],
            &[0xF8, 0x80, 0x80, 0x80],
            &[0xFC, 0x80, 0x80, 0x80, 0x80],
            &[0xDF],
            &[0xEF, 0xBF],
            &[0xF7, 0xBF, 0xBF],
            &[0xFB, 0xBF, 0xBF, 0xBF],
            &[0xFD, 0xBF, 0xBF, 0xBF, 0xBF],
        ]
        .concat();
        check(&concat, Some(0));
        check(&[b"abc".as_slice(), &concat[1..]].concat(), Some(4)); // from E0 80

        // 3.5: impossible bytes.
        check(&[0xFE], Some(0));
        check(&[0xFF], Some(0));
        check(&[0xFE, 0xFE, 0xFF, 0xFF], Some(0));

        // 4.1: overlong ASCII '/'.
        check(&[0xC0, 0xAF], Some(0));
        check(&[0xE0, 0x80, 0xAF], Some(1));
        check(&[0xF0, 0x80, 0x80, 0xAF], Some(1));
        check(&[0xF8, 0x80, 0x80, 0x80, 0xAF], Some(0));
        check(&[0xFC, 0x80, 0x80, 0x80, 0x80, 0xAF], Some(0));
        // 4.2: maximum overlong sequences.
        check(&[0xC1, 0xBF], Some(0));
        check(&[0xE0, 0x9F, 0xBF], Some(1));
        check(&[0xF0, 0x8F, 0xBF, 0xBF], Some(1));
        check(&[0xF8, 0x87, 0xBF, 0xBF, 0xBF], Some(0));
        check(&[0xFC, 0x83, 0xBF, 0xBF, 0xBF, 0xBF], Some(0));
        // 4.3: overlong NUL.
        check(&[0xC0, 0x80], Some(0));
        check(&[0xE0, 0x80, 0x80], Some(1));
        check(&[0xF0, 0x80, 0x80, 0x80], Some(1));
        check(&[0xF8, 0x80, 0x80, 0x80, 0x80], Some(0));
        check(&[0xFC, 0x80, 0x80, 0x80, 0x80, 0x80], Some(0));

        // 5.1: single UTF-16 surrogates.
        for s in [
            [0xED, 0xA0, 0x80],
            [0xED, 0xAD, 0xBF],
            [0xED, 0xAE, 0x80],
            [0xED, 0xAF, 0xBF],
        ] {
            check(&s, Some(1));
        }
        for s in [[0xED, 0xB0, 0x80], [0xED, 0xBE, 0x80], [0xED, 0xBF, 0xBF]] {
            check(&s, Some(1));
        }
        // 5.2: paired UTF-16 surrogates.
        for hi in [
            [0xED, 0xA0, 0x80],
            [0xED, 0xAD, 0xBF],
            [0xED, 0xAE, 0x80],
            [0xED, 0xAF, 0xBF],
        ] {
            for lo in [[0xED, 0xB0, 0x80], [0xED, 0xBF, 0xBF]] {
                check(&[hi, lo].concat(), Some(1));
            }
        }
        // 5.3: noncharacters are valid scalar values, so valid UTF-8.
        valid(&[0xEF, 0xBF, 0xBE]); // U+FFFE
        valid(&[0xEF, 0xBF, 0xBF]); // U+FFFF
        for c in
            (0xFDD0..=0xFDEF).chain((0..=0x10).flat_map(|p| [p << 16 | 0xFFFE, p << 16 | 0xFFFF]))
        {
            let c = char::from_u32(c).unwrap();
            valid(c.to_string().as_bytes());
        }
    }

    /// Bytes biased toward the interesting ones: lead bytes with special
    /// second-byte ranges, continuations, and never-valid bytes.
    fn interesting_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            3 => 0x00u8..0x80,
            3 => 0x80u8..=0xBF,
            2 => 0xC0u8..=0xFF,
            1 => prop::sample::select(vec![0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]),
            1 => any::<u8>(),
        ]
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Set(Index, u8),
        Insert(Index, u8),
        Remove(Index),
        Truncate(Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Edit::Set(i, b)),
            (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
            any::<Index>().prop_map(Edit::Remove),
            any::<Index>().prop_map(Edit::Truncate),
        ]
    }

    /// Valid text (arbitrary chars, which proptest biases toward edge cases)
    /// with a few random corruptions.
    fn corrupted_text() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(any::<char>(), 0..40),
            prop::collection::vec(edit(), 0..3),
        )
            .prop_map(|(chars, edits)| {
                let mut b = chars.into_iter().collect::<String>().into_bytes();
                for e in edits {
                    let n = b.len();
                    match e {
                        Edit::Set(i, v) if n > 0 => b[i.index(n)] = v,
                        Edit::Insert(i, v) => b.insert(i.index(n + 1), v),
                        Edit::Remove(i) if n > 0 => {
                            b.remove(i.index(n));
                        }
                        Edit::Truncate(i) => b.truncate(i.index(n + 1)),
                        _ => {}
                    }
                }
                b
            })
    }

    fn input() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(interesting_byte(), 0..24),
            prop::collection::vec(any::<u8>(), 0..24),
            corrupted_text(),
            // Long enough that simdutf8 takes its SIMD path (>= 64 bytes).
            (corrupted_text(), 64usize..200).prop_map(|(b, pad)| {
                let mut v = "aé€😀".repeat(pad / 10).into_bytes();
                v.extend(b);
                v
            }),
        ]
    }

    /// Check one way of chunking `bytes` against the reference.
    fn agree(
        bytes: &[u8],
        chunks: &[&[u8]],
        expected: Option<usize>,
        valid: bool,
    ) -> Result<(), TestCaseError> {
        let (err, complete) = run_chunks(chunks);
        prop_assert_eq!(err, expected, "chunks {:02X?}", chunks);
        prop_assert_eq!(
            err.is_none() && complete,
            valid,
            "complete, chunks {:02X?}",
            chunks
        );
        prop_assert_eq!(bytes.len(), chunks.iter().map(|c| c.len()).sum::<usize>());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn utf8_agrees_with_std_for_every_two_chunk_split(bytes in input()) {
            let expected = first_impossible(&bytes);
            let valid = std::str::from_utf8(&bytes).is_ok();
            prop_assert_eq!(is_valid(&bytes), valid);
            // Valid iff no impossible byte and the end is a boundary.
            prop_assert!(!valid || expected.is_none());
            for split in 0..=bytes.len() {
                let (a, b) = bytes.split_at(split);
                agree(&bytes, &[a, b], expected, valid)?;
            }
        }

        #[test]
        fn utf8_agrees_with_std_for_random_multi_chunk_splits(
            bytes in input(),
            cuts in prop::collection::vec(any::<Index>(), 0..10),
        ) {
            let expected = first_impossible(&bytes);
            let valid = std::str::from_utf8(&bytes).is_ok();
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for cut in cuts {
                chunks.push(&bytes[prev..cut]); // may be empty, which must be harmless
                prev = cut;
            }
            chunks.push(&bytes[prev..]);
            agree(&bytes, &chunks, expected, valid)?;
        }
    }
}
