//! The incremental receive path: bytes from the transport in, events out.
//!
//! One `feed` call takes whatever one TCP read returned (any size, one byte
//! works) and appends every event it completes. Payloads are unmasked and
//! UTF-8 checked on their way into the buffers that the caller receives, which
//! the caller allocates through [`PayloadAlloc`] so that the Python bindings can
//! hand out the very `bytes` object the data was unmasked into.
//!
//! Memory grows only with bytes that have arrived: a frame header may declare
//! 2^63 bytes, but nothing is reserved for them before they come.
//!
//! With permessage-deflate negotiated (`ParserConfig::deflate`), a message whose
//! first frame has RSV1 set is inflated as its frames arrive, in both delivery
//! modes; the size limits then count inflated bytes, and inflation stops at the
//! first byte over a limit (see `deflate`). Messages without RSV1 take the same
//! path as on a connection without the extension.

use std::convert::Infallible;
use std::mem::MaybeUninit;

use crate::close;
use crate::deflate::{self, DeflateParams, InflateError, Inflater};
use crate::frame::{self, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask;
use crate::uninit;
use crate::utf8::Utf8Validator;

/// Whether incoming frames must, must not, or may be masked (§5.1: a server
/// requires masked client frames, a client rejects masked server frames;
/// AutobahnPython's `requireMaskedClientFrames` and `acceptMaskedServerFrames`
/// relax this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskPolicy {
    Required,
    Forbidden,
    Optional,
}

/// How data frames reach the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Whole messages, fragments assembled (`onMessage`).
    Messages,
    /// Message and frame boundaries plus payload pieces as they arrive
    /// (`onMessageBegin`, `onMessageFrameBegin`, `onMessageFrameData`, ...).
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserConfig {
    pub mask: MaskPolicy,
    /// RSV bits that other negotiated extensions allow. permessage-deflate
    /// does not need RSV1 here: `deflate` allows it.
    pub allowed_rsv: u8,
    /// Largest frame payload accepted, 0 for no limit. For compressed
    /// messages: inflated bytes (and the compressed length may not exceed
    /// `deflate::wire_bound` of it).
    pub max_frame_payload: u64,
    /// Largest message payload accepted, 0 for no limit; inflated bytes for
    /// compressed messages, as for frames.
    pub max_message_payload: u64,
    pub delivery: Delivery,
    /// Check text messages for valid UTF-8 (AutobahnPython's
    /// `utf8validateIncoming`, on unless an application turns it off).
    pub validate_utf8: bool,
    /// permessage-deflate, negotiated: the parameters of the peer's
    /// compressor (for a server, `client_max_window_bits` and
    /// `client_no_context_takeover`). RSV1 then marks a compressed message.
    pub deflate: Option<DeflateParams>,
}

impl ParserConfig {
    /// The RFC's defaults for a role; no size limits.
    pub fn for_server() -> Self {
        ParserConfig {
            mask: MaskPolicy::Required,
            allowed_rsv: 0,
            max_frame_payload: 0,
            max_message_payload: 0,
            delivery: Delivery::Messages,
            validate_utf8: true,
            deflate: None,
        }
    }

    pub fn for_client() -> Self {
        ParserConfig {
            mask: MaskPolicy::Forbidden,
            ..Self::for_server()
        }
    }
}

/// Allocates the buffers that payloads are delivered in; the bindings
/// implement this with Python `bytes` objects.
pub trait PayloadAlloc {
    type Buf;

    /// A new buffer of `len` bytes, uninitialised, that `fill` writes and
    /// returns whole (see `uninit`). If `fill` fails the buffer is dropped
    /// unread.
    fn alloc<E>(
        &mut self,
        len: usize,
        fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
    ) -> Result<Self::Buf, E>;

    /// A new buffer holding a copy of `bytes`.
    fn copy(&mut self, bytes: &[u8]) -> Self::Buf {
        let Ok(buf) = self.alloc(bytes.len(), |out| {
            Ok::<_, Infallible>(uninit::write_copy(out, bytes))
        });
        buf
    }
}

/// Plain vectors, for Rust callers and tests.
pub struct VecAlloc;

impl PayloadAlloc for VecAlloc {
    type Buf = Vec<u8>;
    fn alloc<E>(
        &mut self,
        len: usize,
        fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
    ) -> Result<Vec<u8>, E> {
        let mut buf = Vec::with_capacity(len);
        uninit::extend_with(&mut buf, len, fill)?;
        Ok(buf)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<B> {
    /// A whole data message (`Delivery::Messages`).
    Message {
        binary: bool,
        payload: B,
    },
    /// First frame of a data message begins (`Delivery::Stream`).
    MessageBegin {
        binary: bool,
    },
    /// A data frame begins (`Delivery::Stream`); `length` is as declared on
    /// the wire (compressed, for a compressed message).
    FrameBegin {
        length: u64,
        rsv: u8,
        fin: bool,
    },
    /// The next piece of the current frame's payload (`Delivery::Stream`),
    /// inflated for a compressed message.
    FrameData(B),
    FrameEnd,
    MessageEnd,
    Ping(B),
    Pong(B),
    /// The peer's close frame. `code` is `None` when the payload was empty.
    /// The parser ignores everything after it.
    Close {
        code: Option<u16>,
        reason: String,
    },
    /// The peer broke the protocol: fail the connection with `code`. Always
    /// the last event; the parser ignores everything after it.
    Error {
        code: u16,
        reason: &'static str,
    },
}

/// Where in the frame stream the parser stands.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between frames; `header_buf[..header_len]` holds a partial header.
    Header,
    /// Inside a data frame's payload.
    Data(Payload),
    /// Inside a control frame's payload, collected in `control_buf`.
    Control(Payload, Opcode),
    /// A close frame arrived or the connection failed: input is ignored.
    Done,
}

/// The frame whose payload is being read.
#[derive(Debug, Clone, Copy)]
struct Payload {
    remaining: u64,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes seen so far mod 4: where in the mask key the next byte falls.
    mask_offset: usize,
}

impl Payload {
    /// Account for `n` payload bytes read; true when the payload is complete.
    fn advance(&mut self, n: usize) -> bool {
        self.remaining -= n as u64;
        self.mask_offset = (self.mask_offset + n) % 4;
        self.remaining == 0
    }
}

/// The data message being received.
#[derive(Debug, Default)]
struct Message {
    binary: bool,
    /// A text message on a connection that validates UTF-8.
    check_utf8: bool,
    /// Payload bytes declared so far, for the message size limit.
    declared: u64,
    utf8: Utf8Validator,
    /// RSV1 was set on the first frame (permessage-deflate).
    compressed: bool,
    /// Inflated bytes of the message so far (compressed messages).
    inflated: u64,
    /// Inflated bytes of the current frame so far (compressed messages).
    frame_inflated: u64,
}

/// Assembly buffers above this capacity are released after their message, so
/// one big message does not pin memory on an idle connection.
const KEEP_ASSEMBLY_CAPACITY: usize = 64 * 1024;

/// Streamed payload (`FrameData`) is handed out in pieces of at most this
/// size, whatever the size of the read. Measured: with pieces as large as a
/// read (256 KiB on uvloop), two such buffers live at once and glibc trims
/// the heap each time both are freed, so every streamed byte landed on a
/// fresh page (337 page faults per MiB, the server at 2.5x the CPU of a plain
/// TCP receive). Pieces below glibc's 128 KiB mmap threshold are reused.
const STREAM_PIECE: usize = 64 * 1024;

/// Unmasking and UTF-8 checking run over blocks of this size, so a block is
/// still in cache when it is validated.
const BLOCK: usize = 64 * 1024;

/// Masked compressed data is unmasked in blocks of this size (on the stack)
/// on its way to the inflater.
const INFLATE_BLOCK: usize = 16 * 1024;

/// Why the connection must fail: close code and reason.
type Failure = (u16, &'static str);

fn protocol_error(reason: &'static str) -> Failure {
    (close::PROTOCOL_ERROR, reason)
}

const INVALID_UTF8: Failure = (close::INVALID_PAYLOAD, "invalid UTF-8 in text message");

/// The extension was switched off (`set_config`) in the middle of a
/// compressed message.
const NO_INFLATER: Failure = (
    close::PROTOCOL_ERROR,
    "compressed message without permessage-deflate",
);

const TOO_BIG_INFLATED: Failure = (
    close::MESSAGE_TOO_BIG,
    "decompressed payload exceeds the limit",
);

/// Copy `src` into `dst` (of the same length), unmasking on the way, and run
/// the UTF-8 check (text messages) over what was written; returns `dst`,
/// written.
fn unmask_checked<'a>(
    src: &[u8],
    dst: &'a mut [MaybeUninit<u8>],
    payload: &Payload,
    mut utf8: Option<&mut Utf8Validator>,
) -> Result<&'a mut [u8], Failure> {
    assert_eq!(src.len(), dst.len(), "unmask_checked: lengths differ");
    let mut offset = payload.mask_offset;
    for (s, d) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        let written = match payload.mask {
            Some(key) => mask::mask_into(s, d, key, offset),
            None => uninit::write_copy(d, s),
        };
        offset += s.len();
        if let Some(v) = utf8.as_deref_mut() {
            v.feed(written).map_err(|_| INVALID_UTF8)?;
        }
    }
    // SAFETY: the chunks of `dst`, each written above, cover it (same length
    // as `src`).
    Ok(unsafe { uninit::assume_init(dst) })
}

/// Allocate a caller buffer holding `src` unmasked and UTF-8 checked.
fn alloc_checked<A: PayloadAlloc>(
    alloc: &mut A,
    src: &[u8],
    payload: &Payload,
    utf8: Option<&mut Utf8Validator>,
) -> Result<A::Buf, Failure> {
    alloc.alloc(src.len(), |out| unmask_checked(src, out, payload, utf8))
}

#[derive(Debug)]
pub struct Parser {
    config: ParserConfig,
    state: State,
    header_buf: [u8; MAX_HEADER_LEN],
    header_len: usize,
    /// Payload of the control frame being read (at most 125 bytes).
    control_buf: Vec<u8>,
    message: Option<Message>,
    /// Payload of a message that spans frames or reads (`Delivery::Messages`);
    /// grows only with bytes that arrived. With `Delivery::Stream`, the piece
    /// of inflated data being handed out.
    assembled: Vec<u8>,
    /// permessage-deflate state, present when `config.deflate` is.
    inflater: Option<Inflater>,
}

impl Parser {
    pub fn new(config: ParserConfig) -> Self {
        Parser {
            config,
            state: State::Header,
            header_buf: [0; MAX_HEADER_LEN],
            header_len: 0,
            control_buf: Vec::new(),
            message: None,
            assembled: Vec::new(),
            inflater: config.deflate.map(Inflater::new),
        }
    }

    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Change the configuration between reads (extensions negotiated, limits
    /// set by the application, delivery mode chosen by the protocol class).
    ///
    /// New deflate parameters start a new inflater (a new DEFLATE context).
    pub fn set_config(&mut self, config: ParserConfig) {
        if config.deflate != self.config.deflate {
            self.inflater = config.deflate.map(Inflater::new);
        }
        self.config = config;
    }

    /// Whether zlib state is held for inflation (memory accounting, tests).
    pub fn inflater_allocated(&self) -> bool {
        self.inflater.as_ref().is_some_and(Inflater::is_allocated)
    }

    /// Capacity of the assembly buffer (memory accounting, tests).
    pub fn assembly_capacity(&self) -> usize {
        self.assembled.capacity()
    }

    /// True once a close frame or a protocol error ended the input.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Parse `data`, appending the events it completes to `events`. Events
    /// completed before a protocol error are delivered ahead of the error.
    pub fn feed<A: PayloadAlloc>(
        &mut self,
        data: &[u8],
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) {
        if let Err((code, reason)) = self.feed_inner(data, alloc, events) {
            self.state = State::Done;
            self.message = None;
            self.assembled = Vec::new();
            if let Some(inflater) = self.inflater.as_mut() {
                inflater.release();
            }
            events.push(Event::Error { code, reason });
        }
    }

    fn feed_inner<A: PayloadAlloc>(
        &mut self,
        mut data: &[u8],
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<(), Failure> {
        while !data.is_empty() {
            data = match self.state {
                State::Done => return Ok(()),
                State::Header => self.read_header(data, alloc, events)?,
                State::Data(payload) => self.read_data(data, payload, alloc, events)?,
                State::Control(payload, opcode) => {
                    self.read_control(data, payload, opcode, alloc, events)?
                }
            };
        }
        Ok(())
    }

    /// Consume header bytes; returns the unconsumed rest of `data`.
    fn read_header<'d, A: PayloadAlloc>(
        &mut self,
        data: &'d [u8],
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<&'d [u8], Failure> {
        let mut rsv = self.config.allowed_rsv;
        if self.config.deflate.is_some() {
            rsv |= frame::RSV1;
        }
        let decoded = if self.header_len == 0 {
            // Usual case: the whole header is in this read; decode in place.
            frame::decode_header(data, rsv).map(|d| d.map(|(h, n)| (h, &data[n..])))
        } else {
            let old = self.header_len;
            let take = (MAX_HEADER_LEN - old).min(data.len());
            self.header_buf[old..old + take].copy_from_slice(&data[..take]);
            self.header_len += take;
            match frame::decode_header(&self.header_buf[..self.header_len], rsv) {
                Ok(None) => return Ok(&data[take..]),
                other => other.map(|d| d.map(|(h, n)| (h, &data[n - old..]))),
            }
        };
        match decoded {
            Err(e) => Err(protocol_error(e.reason())),
            Ok(None) => {
                // A partial header ends this read: keep it for the next one.
                self.header_buf[..data.len()].copy_from_slice(data);
                self.header_len = data.len();
                Ok(&[])
            }
            Ok(Some((header, rest))) => {
                self.header_len = 0;
                self.begin_frame(header, rest, alloc, events)
            }
        }
    }

    /// Check a complete header against the connection's state and enter its
    /// payload. Returns the unconsumed rest of `data`.
    fn begin_frame<'d, A: PayloadAlloc>(
        &mut self,
        header: FrameHeader,
        data: &'d [u8],
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<&'d [u8], Failure> {
        match (self.config.mask, header.mask) {
            (MaskPolicy::Required, None) => return Err(protocol_error("unmasked client frame")),
            (MaskPolicy::Forbidden, Some(_)) => return Err(protocol_error("masked server frame")),
            _ => {}
        }
        let payload = Payload {
            remaining: header.payload_len,
            fin: header.fin,
            mask: header.mask,
            mask_offset: 0,
        };
        // RFC 7692 §6: RSV1 marks the first frame of a compressed data message.
        let rsv1 = self.config.deflate.is_some() && header.rsv & frame::RSV1 != 0;
        if header.opcode.is_control() {
            if rsv1 {
                return Err(protocol_error("RSV1 set on a control frame"));
            }
            self.control_buf.clear();
            if header.payload_len == 0 {
                self.end_control(header.opcode, alloc, events)?;
            } else {
                self.state = State::Control(payload, header.opcode);
            }
            return Ok(data);
        }

        let compressed = match header.opcode {
            Opcode::Continuation if rsv1 => {
                return Err(protocol_error("RSV1 set on a continuation frame"))
            }
            Opcode::Continuation => self.message.as_ref().is_some_and(|m| m.compressed),
            _ => rsv1,
        };
        // The limits count inflated bytes of a compressed message; its
        // compressed length is held to the most that many bytes can deflate to.
        let wire_limit = |limit: u64| {
            if compressed {
                deflate::wire_bound(limit)
            } else {
                limit
            }
        };
        let frame_limit = self.config.max_frame_payload;
        if frame_limit != 0 && header.payload_len > wire_limit(frame_limit) {
            return Err((close::MESSAGE_TOO_BIG, "frame payload exceeds the limit"));
        }
        let first = match (header.opcode, &self.message) {
            (Opcode::Continuation, None) => {
                return Err(protocol_error(
                    "continuation frame without a message to continue",
                ))
            }
            (Opcode::Continuation, Some(_)) => false,
            (_, Some(_)) => {
                return Err(protocol_error("new message before the previous one ended"))
            }
            (opcode, None) => {
                let binary = opcode == Opcode::Binary;
                self.message = Some(Message {
                    binary,
                    check_utf8: !binary && self.config.validate_utf8,
                    compressed,
                    ..Message::default()
                });
                true
            }
        };
        if compressed && self.inflater.is_none() {
            return Err(NO_INFLATER);
        }
        let message = self.message.as_mut().expect("a message is in progress");
        // Saturating: with no limit set, declared lengths must not wrap around.
        message.declared = message.declared.saturating_add(header.payload_len);
        message.frame_inflated = 0;
        let message_limit = self.config.max_message_payload;
        if message_limit != 0 && message.declared > wire_limit(message_limit) {
            return Err((close::MESSAGE_TOO_BIG, "message payload exceeds the limit"));
        }

        match self.config.delivery {
            Delivery::Stream => {
                if first {
                    events.push(Event::MessageBegin {
                        binary: message.binary,
                    });
                }
                events.push(Event::FrameBegin {
                    length: header.payload_len,
                    rsv: header.rsv,
                    fin: header.fin,
                });
            }
            Delivery::Messages
                if first
                    && header.fin
                    && !compressed
                    && header.payload_len <= data.len() as u64 =>
            {
                // A whole single-frame message in this read: unmask it
                // straight into the caller's buffer, the only copy made.
                let (body, rest) = data.split_at(header.payload_len as usize);
                let mut message = self.message.take().expect("a message is in progress");
                let utf8 = message.check_utf8.then_some(&mut message.utf8);
                let buf = alloc_checked(alloc, body, &payload, utf8)?;
                if message.check_utf8 && !message.utf8.is_complete() {
                    return Err(INVALID_UTF8);
                }
                events.push(Event::Message {
                    binary: message.binary,
                    payload: buf,
                });
                return Ok(rest);
            }
            Delivery::Messages => {}
        }
        if header.payload_len == 0 {
            self.end_data_frame(header.fin, alloc, events)?;
        } else {
            self.state = State::Data(payload);
        }
        Ok(data)
    }

    fn read_data<'d, A: PayloadAlloc>(
        &mut self,
        data: &'d [u8],
        mut payload: Payload,
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<&'d [u8], Failure> {
        let take = payload.remaining.min(data.len() as u64) as usize;
        let (chunk, rest) = data.split_at(take);
        let message = self.message.as_mut().expect("a message is in progress");
        let utf8 = message.check_utf8.then_some(&mut message.utf8);
        match self.config.delivery {
            _ if message.compressed => self.inflate_payload(chunk, &payload, alloc, events)?,
            Delivery::Stream => {
                // Whole keys per piece: each piece starts at the key phase
                // the chunk starts at.
                const { assert!(STREAM_PIECE % 4 == 0) };
                let mut utf8 = utf8;
                for piece in chunk.chunks(STREAM_PIECE) {
                    let buf = alloc_checked(alloc, piece, &payload, utf8.as_deref_mut())?;
                    events.push(Event::FrameData(buf));
                }
            }
            Delivery::Messages => {
                uninit::extend_with(&mut self.assembled, take, |out| {
                    unmask_checked(chunk, out, &payload, utf8)
                })?;
            }
        }
        if payload.advance(take) {
            self.end_data_frame(payload.fin, alloc, events)?;
        } else {
            self.state = State::Data(payload);
        }
        Ok(rest)
    }

    fn end_data_frame<A: PayloadAlloc>(
        &mut self,
        fin: bool,
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<(), Failure> {
        self.state = State::Header;
        let message = self.message.as_ref().expect("a message is in progress");
        if fin && message.compressed {
            // RFC 7692 §7.2.2: put back the tail the sender removed; it may
            // bring out the last bytes. A message of empty frames has no
            // DEFLATE data at all: leave the inflater as it is.
            if message.declared > 0 {
                self.inflate_piece(&deflate::TAIL, alloc, events)?;
            }
            self.inflater.as_mut().ok_or(NO_INFLATER)?.end_message();
        }
        if self.config.delivery == Delivery::Stream {
            events.push(Event::FrameEnd);
        }
        if !fin {
            return Ok(());
        }
        let message = self.message.take().expect("a message is in progress");
        if message.check_utf8 && !message.utf8.is_complete() {
            return Err(INVALID_UTF8);
        }
        match self.config.delivery {
            Delivery::Stream => events.push(Event::MessageEnd),
            Delivery::Messages => {
                let buf = alloc.copy(&self.assembled);
                events.push(Event::Message {
                    binary: message.binary,
                    payload: buf,
                });
            }
        }
        if self.assembled.capacity() > KEEP_ASSEMBLY_CAPACITY {
            self.assembled = Vec::new();
        } else {
            self.assembled.clear();
        }
        Ok(())
    }

    /// Inflate a piece of a compressed message's payload as it arrives:
    /// unmasked in blocks on the stack, then handed to `inflate_piece`.
    fn inflate_payload<A: PayloadAlloc>(
        &mut self,
        chunk: &[u8],
        payload: &Payload,
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<(), Failure> {
        let Some(key) = payload.mask else {
            return self.inflate_piece(chunk, alloc, events);
        };
        let mut block = [MaybeUninit::uninit(); INFLATE_BLOCK];
        let mut offset = payload.mask_offset;
        for piece in chunk.chunks(INFLATE_BLOCK) {
            let unmasked = mask::mask_into(piece, &mut block[..piece.len()], key, offset);
            offset += piece.len();
            self.inflate_piece(unmasked, alloc, events)?;
        }
        Ok(())
    }

    /// Inflate unmasked compressed bytes within the limits: into the
    /// assembly buffer (`Delivery::Messages`) or as `FrameData` pieces
    /// (`Delivery::Stream`), UTF-8 checked as they come out.
    fn inflate_piece<A: PayloadAlloc>(
        &mut self,
        input: &[u8],
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<(), Failure> {
        let Parser {
            config,
            message,
            assembled,
            inflater,
            ..
        } = self;
        let message = message.as_mut().expect("a message is in progress");
        let inflater = inflater.as_mut().ok_or(NO_INFLATER)?;
        let room = |limit: u64, used: u64| {
            if limit == 0 {
                u64::MAX
            } else {
                limit.saturating_sub(used)
            }
        };
        let budget = room(config.max_frame_payload, message.frame_inflated)
            .min(room(config.max_message_payload, message.inflated));
        let stream = config.delivery == Delivery::Stream;
        let mut utf8 = message.check_utf8.then_some(&mut message.utf8);
        let result = inflater.inflate(input, assembled, budget, |out, start| {
            if let Some(v) = utf8.as_deref_mut() {
                v.feed(&out[start..]).map_err(|_| INVALID_UTF8)?;
            }
            if stream {
                events.push(Event::FrameData(alloc.copy(out)));
                out.clear();
            }
            Ok(())
        });
        match result {
            Ok(produced) => {
                message.inflated += produced;
                message.frame_inflated += produced;
                Ok(())
            }
            Err(InflateError::TooBig) => Err(TOO_BIG_INFLATED),
            Err(InflateError::Corrupt(_)) => {
                Err((close::INVALID_PAYLOAD, "invalid permessage-deflate data"))
            }
            Err(InflateError::Sink(failure)) => Err(failure),
        }
    }

    fn read_control<'d, A: PayloadAlloc>(
        &mut self,
        data: &'d [u8],
        mut payload: Payload,
        opcode: Opcode,
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<&'d [u8], Failure> {
        let take = payload.remaining.min(data.len() as u64) as usize;
        let start = self.control_buf.len();
        self.control_buf.extend_from_slice(&data[..take]);
        debug_assert!(self.control_buf.len() <= MAX_CONTROL_PAYLOAD);
        if let Some(key) = payload.mask {
            mask::apply_mask(&mut self.control_buf[start..], key, payload.mask_offset);
        }
        if payload.advance(take) {
            self.end_control(opcode, alloc, events)?;
        } else {
            self.state = State::Control(payload, opcode);
        }
        Ok(&data[take..])
    }

    fn end_control<A: PayloadAlloc>(
        &mut self,
        opcode: Opcode,
        alloc: &mut A,
        events: &mut Vec<Event<A::Buf>>,
    ) -> Result<(), Failure> {
        self.state = State::Header;
        let body = &self.control_buf;
        match opcode {
            Opcode::Ping => events.push(Event::Ping(alloc.copy(body))),
            Opcode::Pong => events.push(Event::Pong(alloc.copy(body))),
            Opcode::Close => {
                let parsed = close::parse_close_payload(body).map_err(|e| (e.code, e.reason))?;
                let (code, reason) = match parsed {
                    Some((code, reason)) => (Some(code), reason.to_owned()),
                    None => (None, String::new()),
                };
                events.push(Event::Close { code, reason });
                self.state = State::Done;
            }
            Opcode::Continuation | Opcode::Text | Opcode::Binary => {
                unreachable!("data opcodes never reach end_control")
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode_frame;
    use proptest::prelude::*;

    type Ev = Event<Vec<u8>>;

    const KEY: Option<[u8; 4]> = Some([0x11, 0x22, 0x33, 0x44]);

    /// A client frame (masked), as a server receives it.
    fn cf(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        encode_frame(fin, 0, opcode, payload, KEY)
    }

    fn server(delivery: Delivery) -> Parser {
        Parser::new(ParserConfig {
            delivery,
            ..ParserConfig::for_server()
        })
    }

    fn feed_chunks<'a>(parser: &mut Parser, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Ev> {
        let mut events = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut VecAlloc, &mut events);
        }
        events
    }

    fn feed(parser: &mut Parser, data: &[u8]) -> Vec<Ev> {
        feed_chunks(parser, [data])
    }

    fn error_code(events: &[Ev]) -> Option<u16> {
        match events.last() {
            Some(Event::Error { code, .. }) => Some(*code),
            _ => None,
        }
    }

    fn text(payload: &str) -> Ev {
        Event::Message {
            binary: false,
            payload: payload.as_bytes().to_vec(),
        }
    }

    /// Merge the pieces of each frame, so that stream events compare equal
    /// whatever the read boundaries were. A frame that fails part way has
    /// delivered however much of its valid prefix had arrived, which depends
    /// on the boundaries: that partial data is left out.
    fn merge_frame_data(events: Vec<Ev>) -> Vec<Ev> {
        let mut merged: Vec<Ev> = Vec::new();
        for event in events {
            match (merged.last_mut(), event) {
                (Some(Event::FrameData(acc)), Event::FrameData(more)) => acc.extend(more),
                (_, event) => merged.push(event),
            }
        }
        if let [.., Event::FrameData(_), Event::Error { .. }] = merged.as_slice() {
            merged.remove(merged.len() - 2);
        }
        merged
    }

    #[test]
    fn single_and_fragmented_messages() {
        let mut p = server(Delivery::Messages);
        let mut wire = cf(true, 1, b"hello");
        wire.extend(cf(false, 2, b"bin"));
        wire.extend(cf(true, 9, b"ping!"));
        wire.extend(cf(false, 0, b"ary"));
        wire.extend(cf(true, 0, b""));
        wire.extend(cf(true, 10, b""));
        let events = feed(&mut p, &wire);
        assert_eq!(
            events,
            vec![
                text("hello"),
                Event::Ping(b"ping!".to_vec()),
                Event::Message {
                    binary: true,
                    payload: b"binary".to_vec()
                },
                Event::Pong(vec![]),
            ]
        );
        assert_eq!(feed(&mut p, &cf(true, 1, b"")), vec![text("")]);
    }

    #[test]
    fn stream_delivery_reports_boundaries() {
        let mut p = server(Delivery::Stream);
        let mut wire = cf(false, 1, b"ab");
        wire.extend(cf(true, 0, b""));
        let events = feed(&mut p, &wire);
        assert_eq!(
            events,
            vec![
                Event::MessageBegin { binary: false },
                Event::FrameBegin {
                    length: 2,
                    rsv: 0,
                    fin: false
                },
                Event::FrameData(b"ab".to_vec()),
                Event::FrameEnd,
                Event::FrameBegin {
                    length: 0,
                    rsv: 0,
                    fin: true
                },
                Event::FrameEnd,
                Event::MessageEnd,
            ]
        );
    }

    #[test]
    fn stream_delivers_data_as_it_arrives() {
        let mut p = server(Delivery::Stream);
        let wire = cf(true, 2, &[9; 1000]);
        let first = feed(&mut p, &wire[..108]);
        assert_eq!(first.last(), Some(&Event::FrameData(vec![9; 100])));
        let second = feed(&mut p, &wire[108..]);
        assert_eq!(
            second,
            vec![
                Event::FrameData(vec![9; 900]),
                Event::FrameEnd,
                Event::MessageEnd
            ]
        );
    }

    #[test]
    fn stream_pieces_are_bounded_whatever_the_read() {
        let mut p = server(Delivery::Stream);
        let payload: Vec<u8> = (0..STREAM_PIECE * 2 + 7).map(|i| i as u8).collect();
        let wire = cf(true, 2, &payload);
        // Two reads, the first ending at an odd offset into the payload, so
        // later pieces start at every key phase.
        let cut = frame::header_len(payload.len(), true) + STREAM_PIECE + 3;
        let mut events = feed(&mut p, &wire[..cut]);
        events.extend(feed(&mut p, &wire[cut..]));
        let pieces: Vec<&[u8]> = events
            .iter()
            .filter_map(|e| match e {
                Event::FrameData(piece) => Some(&piece[..]),
                _ => None,
            })
            .collect();
        assert!(pieces.iter().all(|p| p.len() <= STREAM_PIECE));
        assert_eq!(pieces.len(), 4);
        assert_eq!(pieces.concat(), payload);
    }

    #[test]
    fn close_frames() {
        let mut p = server(Delivery::Messages);
        let mut wire = cf(true, 8, b"\x03\xe8bye");
        wire.extend(cf(true, 1, b"ignored after close"));
        assert_eq!(
            feed(&mut p, &wire),
            vec![Event::Close {
                code: Some(1000),
                reason: "bye".into()
            }]
        );
        assert!(p.is_done());
        assert_eq!(
            feed(&mut server(Delivery::Messages), &cf(true, 8, b"")),
            vec![Event::Close {
                code: None,
                reason: String::new()
            }]
        );
        for (payload, code) in [
            (&b"\x03"[..], 1002),
            (&b"\x03\xed"[..], 1002),
            (&b"\x00\x00"[..], 1002),
            (&b"\x03\xe8\xed\xa0\x80"[..], 1007),
        ] {
            assert_eq!(
                error_code(&feed(
                    &mut server(Delivery::Messages),
                    &cf(true, 8, payload)
                )),
                Some(code)
            );
        }
    }

    #[test]
    fn protocol_errors_have_their_close_codes() {
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("reserved data opcode", cf(true, 3, b""), 1002),
            ("reserved control opcode", cf(true, 11, b"x"), 1002),
            (
                "rsv without extension",
                encode_frame(true, 4, 1, b"x", KEY),
                1002,
            ),
            (
                "unmasked client frame",
                encode_frame(true, 0, 1, b"x", None),
                1002,
            ),
            ("stray continuation", cf(true, 0, b"x"), 1002),
            ("fragmented ping", cf(false, 9, b"x"), 1002),
            ("long ping", cf(true, 9, &[0; 126]), 1002),
            (
                "text inside fragmented",
                [cf(false, 1, b"a"), cf(true, 1, b"b")].concat(),
                1002,
            ),
            ("invalid utf-8", cf(true, 1, b"\xed\xa0\x80"), 1007),
            ("truncated utf-8", cf(true, 1, b"\xe2\x82"), 1007),
            (
                "truncated utf-8 across fragments",
                [cf(false, 1, b"\xe2"), cf(true, 0, b"\x82")].concat(),
                1007,
            ),
            (
                "64-bit length top bit",
                vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5],
                1002,
            ),
        ];
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for (name, wire, code) in &cases {
                let whole = feed(&mut server(delivery), wire);
                assert_eq!(error_code(&whole), Some(*code), "{name} {delivery:?}");
                let bytewise = feed_chunks(&mut server(delivery), wire.chunks(1));
                assert_eq!(
                    error_code(&bytewise),
                    Some(*code),
                    "{name} bytewise {delivery:?}"
                );
            }
        }
    }

    #[test]
    fn utf8_validation_can_be_turned_off() {
        let mut p = Parser::new(ParserConfig {
            validate_utf8: false,
            ..ParserConfig::for_server()
        });
        let wire = [
            cf(true, 1, b"\xff"),
            cf(false, 1, b"\xe2"),
            cf(true, 0, b""),
        ]
        .concat();
        assert_eq!(
            feed(&mut p, &wire),
            vec![
                Event::Message {
                    binary: false,
                    payload: vec![0xFF]
                },
                Event::Message {
                    binary: false,
                    payload: vec![0xE2]
                },
            ]
        );
    }

    #[test]
    fn masked_server_frame_fails_a_client() {
        let mut p = Parser::new(ParserConfig::for_client());
        assert_eq!(error_code(&feed(&mut p, &cf(true, 1, b"x"))), Some(1002));
        let mut p = Parser::new(ParserConfig::for_client());
        assert_eq!(
            feed(&mut p, &encode_frame(true, 0, 1, b"x", None)),
            vec![text("x")]
        );
    }

    #[test]
    fn events_before_an_error_are_delivered() {
        // Autobahn 3.2: a valid message, then a frame with RSV set, then a ping.
        let wire = [
            cf(true, 1, b"ok"),
            encode_frame(true, 2, 1, b"x", KEY),
            cf(true, 9, b""),
        ]
        .concat();
        for chunks in [wire.chunks(wire.len()), wire.chunks(1)] {
            let events = feed_chunks(&mut server(Delivery::Messages), chunks);
            assert_eq!(events.len(), 2);
            assert_eq!(events[0], text("ok"));
            assert_eq!(error_code(&events), Some(1002));
        }
    }

    #[test]
    fn invalid_utf8_fails_fast_mid_frame() {
        // Autobahn 6.4.3: the bytes that make the text invalid arrive inside a
        // frame whose end has not: the error must come at once.
        let prefix = "κόσμε".as_bytes();
        let mut payload = prefix.to_vec();
        payload.extend([0xF4, 0x90, 0x80, 0x80]);
        payload.resize(200, b'a');
        let wire = cf(true, 1, &payload);
        let bad_at = 8 + prefix.len();
        for delivery in [Delivery::Messages, Delivery::Stream] {
            let mut p = server(delivery);
            assert_eq!(
                error_code(&feed(&mut p, &wire[..bad_at + 1])),
                None,
                "{delivery:?}"
            );
            assert_eq!(
                error_code(&feed(&mut p, &wire[bad_at + 1..bad_at + 2])),
                Some(1007),
                "{delivery:?}"
            );
        }
    }

    #[test]
    fn limits_fail_with_1009_before_data_arrives() {
        let limited = ParserConfig {
            max_frame_payload: 1000,
            max_message_payload: 1500,
            ..ParserConfig::for_server()
        };
        let mut p = Parser::new(limited);
        assert_eq!(feed(&mut p, &cf(true, 2, &[0; 1000])).len(), 1);
        let header_only = &cf(true, 2, &[0; 1001])[..8];
        assert_eq!(
            error_code(&feed(&mut Parser::new(limited), header_only)),
            Some(1009)
        );
        let fragments = [cf(false, 2, &[0; 1000]), cf(true, 0, &[0; 501])].concat();
        assert_eq!(
            error_code(&feed(&mut Parser::new(limited), &fragments)),
            Some(1009)
        );
        // 2^63 - 1 declared: refused by the limit, nothing allocated.
        let huge = [
            0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
        ];
        assert_eq!(
            error_code(&feed(&mut Parser::new(limited), &huge)),
            Some(1009)
        );
    }

    #[test]
    fn declared_lengths_reserve_nothing() {
        // 2^40 bytes declared, no limit: the parser waits, holding only what came.
        let mut p = server(Delivery::Messages);
        let mut wire = vec![0x02, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        wire.extend([7; 100]);
        assert!(feed(&mut p, &wire).is_empty());
        assert!(p.assembled.capacity() < 4096);
        // Fragments whose declared lengths add up past 2^64 do not wrap.
        let mut p = Parser::new(ParserConfig {
            max_message_payload: u64::MAX,
            ..ParserConfig::for_server()
        });
        let big = |op: u8| {
            vec![
                op, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
            ]
        };
        assert!(feed(&mut p, &big(0x02)).is_empty());
    }

    /// One frame of a generated stream: `(fin, opcode, payload)`.
    fn stream_strategy() -> impl Strategy<Value = Vec<(bool, u8, Vec<u8>)>> {
        let message = (
            any::<bool>(),
            prop::collection::vec(
                prop_oneof![
                    ".{0,40}".prop_map(String::into_bytes),
                    prop::collection::vec(any::<u8>(), 0..300)
                ],
                1..4,
            ),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..125), 0..3),
        )
            .prop_map(|(binary, fragments, pings)| {
                let mut frames = Vec::new();
                let n = fragments.len();
                for (i, fragment) in fragments.into_iter().enumerate() {
                    let opcode = if i == 0 {
                        if binary {
                            2
                        } else {
                            1
                        }
                    } else {
                        0
                    };
                    // Text fragments are whole strings, so the message is valid UTF-8
                    // unless random bytes were picked; keep binary for those.
                    frames.push((i + 1 == n, opcode, fragment));
                    if let Some(ping) = pings.get(i) {
                        frames.push((true, 9, ping.clone()));
                    }
                }
                frames
            });
        prop::collection::vec(message, 1..5).prop_map(|m| m.concat())
    }

    fn split_points() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..64, 0..40)
    }

    fn split<'a>(wire: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = wire;
        for &size in sizes {
            if rest.is_empty() {
                break;
            }
            let (a, b) = rest.split_at(size.min(rest.len()));
            chunks.push(a);
            rest = b;
        }
        chunks.push(rest);
        chunks
    }

    proptest! {
        #[test]
        fn same_events_whole_or_split(frames in stream_strategy(), sizes in split_points(), key: [u8; 4]) {
            let wire: Vec<u8> = frames.iter().flat_map(|(fin, op, p)| encode_frame(*fin, 0, *op, p, Some(key))).collect();
            for delivery in [Delivery::Messages, Delivery::Stream] {
                let whole = merge_frame_data(feed(&mut server(delivery), &wire));
                let bytewise = merge_frame_data(feed_chunks(&mut server(delivery), wire.chunks(1)));
                let random = merge_frame_data(feed_chunks(&mut server(delivery), split(&wire, &sizes)));
                prop_assert_eq!(&whole, &bytewise);
                prop_assert_eq!(&whole, &random);
            }
            // Without errors, assembled messages are the concatenated fragments.
            let events = feed(&mut server(Delivery::Messages), &wire);
            if error_code(&events).is_none() {
                let mut expected = Vec::new();
                let mut acc: Option<(bool, Vec<u8>)> = None;
                for (fin, op, payload) in &frames {
                    match op {
                        9 => expected.push(Event::Ping(payload.clone())),
                        _ => {
                            let (binary, mut data) = acc.take().unwrap_or((*op == 2, Vec::new()));
                            data.extend(payload);
                            if *fin {
                                expected.push(Event::Message { binary, payload: data });
                            } else {
                                acc = Some((binary, data));
                            }
                        }
                    }
                }
                prop_assert_eq!(events, expected);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), sizes in split_points(), client: bool) {
            for delivery in [Delivery::Messages, Delivery::Stream] {
                let config = ParserConfig { delivery, max_message_payload: 300, ..if client { ParserConfig::for_client() } else { ParserConfig::for_server() } };
                let mut p = Parser::new(config);
                let events = feed_chunks(&mut p, split(&bytes, &sizes));
                let errors = events.iter().filter(|e| matches!(e, Event::Error { .. })).count();
                prop_assert!(errors <= 1);
                if errors == 1 {
                    prop_assert!(error_code(&events).is_some(), "the error is the last event");
                }
            }
        }
    }

    // ---------------------------------------------------------- permessage-deflate

    use crate::deflate::tests::zero_bomb;
    use crate::deflate::{test_alloc, Compressor, DEFAULT_LEVEL};

    fn pmd(bits: u8, nct: bool) -> DeflateParams {
        DeflateParams::new(bits, nct).unwrap()
    }

    fn deflate_config(delivery: Delivery, params: DeflateParams) -> ParserConfig {
        ParserConfig {
            delivery,
            deflate: Some(params),
            ..ParserConfig::for_server()
        }
    }

    fn deflate_server(delivery: Delivery) -> Parser {
        Parser::new(deflate_config(delivery, DeflateParams::default()))
    }

    fn compressor(params: DeflateParams) -> Compressor {
        Compressor::new(params, DEFAULT_LEVEL, 8).unwrap()
    }

    fn compress(c: &mut Compressor, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(data, &mut out).unwrap();
        out
    }

    /// A compressed message as client frames: `payload` cut at `cuts`,
    /// RSV1 on the first frame only.
    fn compressed_frames(opcode: u8, payload: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(payload.len())).collect();
        bounds.sort_unstable();
        bounds.push(payload.len());
        let mut wire = Vec::new();
        let mut start = 0;
        for (i, &end) in bounds.iter().enumerate() {
            let (op, rsv) = if i == 0 {
                (opcode, frame::RSV1)
            } else {
                (0, 0)
            };
            let fin = i + 1 == bounds.len();
            wire.extend(encode_frame(fin, rsv, op, &payload[start..end], KEY));
            start = end;
        }
        wire
    }

    fn json_like(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 64);
        let mut i = 0u64;
        while out.len() < n {
            out.extend_from_slice(
                format!(
                    r#"{{"id":{i},"name":"κόσμε{}","ok":{}}},"#,
                    i * 7 % 101,
                    i % 3 == 0
                )
                .as_bytes(),
            );
            i += 1;
        }
        // Cut on a character boundary, then pad with ASCII to exactly n bytes.
        let mut end = n;
        while std::str::from_utf8(&out[..end]).is_err() {
            end -= 1;
        }
        out.truncate(end);
        out.resize(n, b' ');
        out
    }

    /// Whole messages out of either delivery mode's events.
    fn messages_of(events: &[Ev]) -> Vec<(bool, Vec<u8>)> {
        let mut messages = Vec::new();
        let mut current: Option<(bool, Vec<u8>)> = None;
        for event in events {
            match event {
                Event::Message { binary, payload } => messages.push((*binary, payload.clone())),
                Event::MessageBegin { binary } => current = Some((*binary, Vec::new())),
                Event::FrameData(piece) => current.as_mut().unwrap().1.extend(piece),
                Event::MessageEnd => messages.push(current.take().unwrap()),
                _ => {}
            }
        }
        messages
    }

    #[test]
    fn compressed_messages_in_both_delivery_modes() {
        let mut c = compressor(DeflateParams::default());
        let text = json_like(100_000);
        let mut wire = Vec::new();
        wire.extend(compressed_frames(1, &compress(&mut c, b"Hello"), &[]));
        wire.extend(cf(true, 9, b"ping"));
        let big = compress(&mut c, &text);
        wire.extend(compressed_frames(1, &big, &[1, 10, big.len() / 2]));
        // Uncompressed messages still work on a deflate connection.
        wire.extend(cf(true, 2, b"plain"));
        wire.extend(compressed_frames(2, &compress(&mut c, &[7; 3000]), &[0, 0]));
        wire.extend(compressed_frames(1, &compress(&mut c, b""), &[]));
        let expected = vec![
            (false, b"Hello".to_vec()),
            (false, text.clone()),
            (true, b"plain".to_vec()),
            (true, vec![7; 3000]),
            (false, Vec::new()),
        ];
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for size in [wire.len(), 1, 7, 1000] {
                let events = feed_chunks(&mut deflate_server(delivery), wire.chunks(size));
                assert_eq!(error_code(&events), None, "{delivery:?} {size}");
                assert_eq!(messages_of(&events), expected, "{delivery:?} {size}");
                assert!(events.contains(&Event::Ping(b"ping".to_vec())));
            }
        }
        // Stream mode hands out inflated data as it arrives, before the
        // message ends; FrameBegin reports the compressed length.
        let mut p = deflate_server(Delivery::Stream);
        let wire = compressed_frames(1, &big, &[]);
        let events = feed(&mut p, &wire[..wire.len() / 2]);
        assert!(
            matches!(events[1], Event::FrameBegin { length, rsv: 4, fin: true } if length == big.len() as u64)
        );
        let early: usize = events
            .iter()
            .map(|e| match e {
                Event::FrameData(d) => d.len(),
                _ => 0,
            })
            .sum();
        assert!(early > 10_000, "{early}");
        assert!(!events.contains(&Event::MessageEnd));
    }

    #[test]
    fn rsv1_misuse_is_a_protocol_error() {
        let mut c = compressor(DeflateParams::default());
        let hello = compress(&mut c, b"Hello");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("ping", encode_frame(true, 4, 9, b"", KEY)),
            ("pong", encode_frame(true, 4, 10, b"x", KEY)),
            ("close", encode_frame(true, 4, 8, b"\x03\xe8", KEY)),
            (
                "continuation",
                [
                    encode_frame(false, 4, 1, &hello[..2], KEY),
                    encode_frame(true, 4, 0, &hello[2..], KEY),
                ]
                .concat(),
            ),
            (
                "continuation of an uncompressed message",
                [
                    encode_frame(false, 0, 1, b"a", KEY),
                    encode_frame(true, 4, 0, b"b", KEY),
                ]
                .concat(),
            ),
            ("rsv2", encode_frame(true, 2, 1, b"x", KEY)),
            ("rsv3", encode_frame(true, 1, 2, b"x", KEY)),
            ("rsv1 and rsv2", encode_frame(true, 6, 1, &hello, KEY)),
        ];
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for (name, wire) in &cases {
                let whole = feed(&mut deflate_server(delivery), wire);
                assert_eq!(error_code(&whole), Some(1002), "{name} {delivery:?}");
                let bytewise = feed_chunks(&mut deflate_server(delivery), wire.chunks(1));
                assert_eq!(error_code(&bytewise), Some(1002), "{name} bytewise");
            }
        }
        // Without the extension, RSV1 is refused whatever the frame.
        let events = feed(
            &mut server(Delivery::Messages),
            &encode_frame(true, 4, 1, &hello, KEY),
        );
        assert_eq!(error_code(&events), Some(1002));
    }

    #[test]
    fn bad_compressed_data_is_1007() {
        for (name, payload) in [
            ("reserved block type", vec![0xff, 0xff]),
            ("distance too far back", vec![0xf2, 0x00, 0x11, 0x00, 0x00]),
        ] {
            for delivery in [Delivery::Messages, Delivery::Stream] {
                let events = feed(
                    &mut deflate_server(delivery),
                    &compressed_frames(2, &payload, &[]),
                );
                assert_eq!(error_code(&events), Some(1007), "{name}");
            }
        }
    }

    #[test]
    fn utf8_is_checked_on_inflated_bytes_and_fails_fast() {
        let mut c = compressor(pmd(15, true));
        let bad = compress(&mut c, b"ok \xed\xa0\x80 no");
        let events = feed(
            &mut deflate_server(Delivery::Messages),
            &compressed_frames(1, &bad, &[]),
        );
        assert_eq!(error_code(&events), Some(1007));
        let truncated = compress(&mut c, b"\xe2\x82");
        let events = feed(
            &mut deflate_server(Delivery::Messages),
            &compressed_frames(1, &truncated, &[]),
        );
        assert_eq!(error_code(&events), Some(1007));
        // The invalid bytes come out of the first part of a frame: the error
        // comes before the frame, let alone the message, has ended.
        let mut payload = json_like(20_000);
        payload.extend([0xF4, 0x90, 0x80, 0x80]);
        payload.extend(json_like(300_000));
        let mut c = compressor(pmd(15, true));
        let compressed = compress(&mut c, &payload);
        let wire = encode_frame(true, 4, 1, &compressed, KEY);
        for delivery in [Delivery::Messages, Delivery::Stream] {
            let mut p = deflate_server(delivery);
            let mut events = Vec::new();
            let mut fed = 0;
            for chunk in wire.chunks(1000) {
                p.feed(chunk, &mut VecAlloc, &mut events);
                fed += chunk.len();
                if p.is_done() {
                    break;
                }
            }
            assert_eq!(error_code(&events), Some(1007), "{delivery:?}");
            assert!(
                fed < wire.len() / 4,
                "{delivery:?}: {fed} of {}",
                wire.len()
            );
        }
        // Invalid UTF-8 before the limit, the limit crossed in the same piece
        // of output: the first bad byte decides (1007), however the input is
        // cut (found by the inflate fuzz target).
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for size in [wire.len(), 1000, 1] {
                let mut p = Parser::new(ParserConfig {
                    max_message_payload: 40_000,
                    ..deflate_config(delivery, DeflateParams::default())
                });
                let events = feed_chunks(&mut p, wire.chunks(size));
                assert_eq!(error_code(&events), Some(1007), "{delivery:?} {size}");
            }
        }
    }

    #[test]
    fn empty_compressed_messages() {
        let mut c = compressor(DeflateParams::default());
        let mut wire = compressed_frames(1, &compress(&mut c, b"abc"), &[]);
        // A compressed message with no payload bytes at all, then one of
        // empty fragments: both empty, and the context is intact after them.
        wire.extend(encode_frame(true, 4, 1, b"", KEY));
        wire.extend(encode_frame(false, 4, 2, b"", KEY));
        wire.extend(encode_frame(true, 0, 0, b"", KEY));
        wire.extend(compressed_frames(1, &compress(&mut c, b"abc"), &[]));
        let events = feed(&mut deflate_server(Delivery::Messages), &wire);
        assert_eq!(
            messages_of(&events),
            vec![
                (false, b"abc".to_vec()),
                (false, vec![]),
                (true, vec![]),
                (false, b"abc".to_vec())
            ]
        );
    }

    #[test]
    fn context_takeover_and_window_bits() {
        for bits in 8..=15 {
            for nct in [false, true] {
                let params = pmd(bits, nct);
                let mut c = compressor(params);
                let data = json_like(5000);
                let mut wire = Vec::new();
                for _ in 0..3 {
                    wire.extend(compressed_frames(1, &compress(&mut c, &data), &[17]));
                }
                let mut p = Parser::new(deflate_config(Delivery::Messages, params));
                let events = feed(&mut p, &wire);
                assert_eq!(
                    messages_of(&events),
                    vec![(false, data.clone()); 3],
                    "{bits} {nct}"
                );
                // Without context takeover no zlib state stays between messages.
                assert_eq!(p.inflater_allocated(), !nct);
            }
        }
        // A peer that keeps its context while we were told it would not:
        // the back-reference to the previous message fails.
        let mut c = compressor(pmd(15, false));
        let mut wire = compressed_frames(1, &compress(&mut c, b"Hello"), &[]);
        wire.extend(compressed_frames(1, &compress(&mut c, b"Hello"), &[]));
        let events = feed(
            &mut Parser::new(deflate_config(Delivery::Messages, pmd(15, true))),
            &wire,
        );
        assert_eq!(error_code(&events), Some(1007));
    }

    #[test]
    fn set_config_switches_deflate_between_reads() {
        let mut p = server(Delivery::Messages);
        let mut c = compressor(DeflateParams::default());
        let wire = compressed_frames(1, &compress(&mut c, b"Hello"), &[]);
        p.set_config(deflate_config(Delivery::Messages, DeflateParams::default()));
        assert_eq!(feed(&mut p, &wire), vec![text("Hello")]);
        // Switched off in the middle of a compressed message.
        let wire = compressed_frames(1, &compress(&mut c, b"again"), &[2]);
        let cut = wire.len() - 5;
        assert_eq!(feed(&mut p, &wire[..cut]), vec![]);
        p.set_config(ParserConfig::for_server());
        assert_eq!(error_code(&feed(&mut p, &wire[cut..])), Some(1002));
    }

    fn limited(delivery: Delivery, frame: u64, message: u64, params: DeflateParams) -> Parser {
        Parser::new(ParserConfig {
            max_frame_payload: frame,
            max_message_payload: message,
            ..deflate_config(delivery, params)
        })
    }

    #[test]
    fn limits_count_inflated_bytes_exactly() {
        let limit = 200_000usize;
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for (size, ok) in [(limit, true), (limit + 1, false)] {
                let data = json_like(size);
                let mut c = compressor(pmd(15, true));
                let payload = compress(&mut c, &data);
                assert!(payload.len() < limit / 4);
                // One frame, many fragments, and the data held back by the
                // sender until its final flush, alone in the last frame.
                let mut held = Vec::new();
                c.compress_chunk(&data, false, &mut held);
                let mut flush = Vec::new();
                c.compress_chunk(b"", true, &mut flush);
                let held_wire = [
                    encode_frame(false, 4, 1, &held, KEY),
                    encode_frame(true, 0, 0, &flush, KEY),
                ]
                .concat();
                let cuts: Vec<usize> = (1..40).map(|i| i * payload.len() / 40).collect();
                for (shape, wire) in [
                    ("one frame", compressed_frames(1, &payload, &[])),
                    ("fragments", compressed_frames(1, &payload, &cuts)),
                    ("final flush", held_wire),
                ] {
                    for (frame_limit, message_limit) in [(0, limit as u64), (limit as u64, 0)] {
                        if shape == "fragments" && frame_limit != 0 {
                            continue; // each fragment is small: the frame limit is not crossed
                        }
                        let mut p = limited(delivery, frame_limit, message_limit, pmd(15, true));
                        let events = feed(&mut p, &wire);
                        let what =
                            format!("{delivery:?} {shape} {size} {frame_limit}/{message_limit}");
                        if ok {
                            assert_eq!(error_code(&events), None, "{what}");
                            assert_eq!(messages_of(&events), vec![(false, data.clone())], "{what}");
                        } else {
                            assert_eq!(error_code(&events), Some(1009), "{what}");
                            // The application never sees the message.
                            assert!(messages_of(&events).is_empty(), "{what}");
                            let delivered: usize = events
                                .iter()
                                .map(|e| match e {
                                    Event::FrameData(d) => d.len(),
                                    _ => 0,
                                })
                                .sum();
                            assert!(delivered <= limit, "{what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn compressed_wire_length_is_checked_at_the_header() {
        let limit = 10_000;
        let bound = deflate::wire_bound(limit);
        // A compressed frame may be a little longer than the limit (stored
        // blocks of incompressible data), not more than the bound.
        let mut header = encode_frame(true, 4, 2, &vec![0; bound as usize + 1], KEY);
        header.truncate(14);
        let events = feed(
            &mut limited(Delivery::Messages, limit, 0, DeflateParams::default()),
            &header,
        );
        assert_eq!(error_code(&events), Some(1009));
        let events = feed(
            &mut limited(Delivery::Messages, 0, limit, DeflateParams::default()),
            &header,
        );
        assert_eq!(error_code(&events), Some(1009));
        // Incompressible data of exactly the limit passes.
        let random: Vec<u8> = (0..limit as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut c = Compressor::new(DeflateParams::default(), 9, 1).unwrap();
        let payload = compress(&mut c, &random);
        let mut p = limited(Delivery::Messages, limit, limit, DeflateParams::default());
        let events = feed(&mut p, &compressed_frames(2, &payload, &[]));
        assert_eq!(messages_of(&events), vec![(true, random)]);
    }

    #[test]
    fn decompression_bomb_fails_with_bounded_memory() {
        // ~1 GiB of zeros in ~1 MiB: one frame, and 1000 fragments.
        let bomb = zero_bomb(1024);
        assert!(bomb.len() < 1100 * 1024);
        let limit: u64 = 1 << 20;
        let cuts: Vec<usize> = (1..1000).map(|i| i * bomb.len() / 1000).collect();
        let shapes = [
            ("one frame", compressed_frames(2, &bomb, &[])),
            ("fragments", compressed_frames(2, &bomb, &cuts)),
        ];
        for delivery in [Delivery::Messages, Delivery::Stream] {
            for nct in [false, true] {
                for (shape, wire) in &shapes {
                    let what = format!("{delivery:?} nct={nct} {shape}");
                    // A message limit, then a frame limit only.
                    for (frame_limit, message_limit) in [(0, limit), (limit, 0)] {
                        if *shape == "fragments" && frame_limit != 0 {
                            continue;
                        }
                        let mut p = limited(delivery, frame_limit, message_limit, pmd(15, nct));
                        let base = test_alloc::reset_peak();
                        let mut events = Vec::new();
                        let mut max_capacity = 0;
                        for chunk in wire.chunks(64 * 1024) {
                            p.feed(chunk, &mut VecAlloc, &mut events);
                            max_capacity = max_capacity.max(p.assembly_capacity());
                            if p.is_done() {
                                break;
                            }
                        }
                        // Peak heap: the inflated megabyte (once, in the
                        // assembly buffer or the stream pieces), the zlib
                        // state and the events; never the gigabyte.
                        let growth = (test_alloc::peak() - base) as u64;
                        assert!(growth < limit + 256 * 1024, "{what}: grew {growth}");
                        assert!(max_capacity as u64 <= limit + 1, "{what}: {max_capacity}");
                        assert_eq!(error_code(&events), Some(1009), "{what}");
                        assert!(messages_of(&events).is_empty(), "{what}");
                    }
                }
            }
        }
    }

    /// A message plan for the property test: payload, binary, cut points of
    /// the compressed payload, compressed or not.
    fn deflate_stream_strategy() -> impl Strategy<Value = Vec<(Vec<u8>, bool, Vec<usize>, bool)>> {
        let payload = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2000),
            (0usize..20_000).prop_map(json_like),
            (0usize..30_000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        ];
        prop::collection::vec(
            (
                payload,
                any::<bool>(),
                prop::collection::vec(0usize..3000, 0..4),
                prop::bool::weighted(0.8),
            ),
            1..5,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn compressed_streams_whole_or_split(
            plan in deflate_stream_strategy(),
            bits in 8u8..=15,
            nct: bool,
            sizes in split_points(),
        ) {
            let params = pmd(bits, nct);
            let mut c = compressor(params);
            let mut wire = Vec::new();
            let mut expected = Vec::new();
            for (payload, binary, cuts, compressed) in &plan {
                // Random bytes are sent as binary; the rest is valid UTF-8.
                let binary = *binary || std::str::from_utf8(payload).is_err();
                let opcode = if binary { 2 } else { 1 };
                if *compressed {
                    wire.extend(compressed_frames(opcode, &compress(&mut c, payload), cuts));
                } else {
                    wire.extend(encode_frame(true, 0, opcode, payload, KEY));
                }
                wire.extend(cf(true, 9, b"p"));
                expected.push((binary, payload.clone()));
            }
            for delivery in [Delivery::Messages, Delivery::Stream] {
                let config = deflate_config(delivery, params);
                let whole = feed(&mut Parser::new(config), &wire);
                prop_assert_eq!(error_code(&whole), None);
                prop_assert_eq!(&messages_of(&whole), &expected);
                let random = feed_chunks(&mut Parser::new(config), split(&wire, &sizes));
                prop_assert_eq!(merge_frame_data(random), merge_frame_data(whole.clone()));
                if wire.len() < 5000 {
                    let bytewise = feed_chunks(&mut Parser::new(config), wire.chunks(1));
                    prop_assert_eq!(merge_frame_data(bytewise), merge_frame_data(whole));
                }
            }
        }

        #[test]
        fn arbitrary_bytes_with_deflate_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            sizes in split_points(),
            limit in 0u64..2000,
        ) {
            for delivery in [Delivery::Messages, Delivery::Stream] {
                let config = ParserConfig {
                    max_message_payload: limit,
                    mask: MaskPolicy::Optional,
                    ..deflate_config(delivery, DeflateParams::default())
                };
                let events = feed_chunks(&mut Parser::new(config), split(&bytes, &sizes));
                let errors = events.iter().filter(|e| matches!(e, Event::Error { .. })).count();
                prop_assert!(errors <= 1);
                if errors == 1 {
                    prop_assert!(error_code(&events).is_some());
                }
            }
        }
    }
}
