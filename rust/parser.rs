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

use crate::close;
use crate::frame::{self, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask;
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
    /// RSV bits that negotiated extensions allow (frame::RSV1 for deflate).
    pub allowed_rsv: u8,
    /// Largest frame payload accepted, 0 for no limit.
    pub max_frame_payload: u64,
    /// Largest message payload accepted, 0 for no limit.
    pub max_message_payload: u64,
    pub delivery: Delivery,
    /// Check text messages for valid UTF-8 (AutobahnPython's
    /// `utf8validateIncoming`, on unless an application turns it off).
    pub validate_utf8: bool,
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
        }
    }

    pub fn for_client() -> Self {
        ParserConfig {
            mask: MaskPolicy::Forbidden,
            ..Self::for_server()
        }
    }
}

/// Allocates the buffers that payloads are delivered in. `fill` writes all
/// `len` bytes; the bindings implement this with Python `bytes` objects.
pub trait PayloadAlloc {
    type Buf;
    fn alloc(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Self::Buf;
}

/// Plain vectors, for Rust callers and tests.
pub struct VecAlloc;

impl PayloadAlloc for VecAlloc {
    type Buf = Vec<u8>;
    fn alloc(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut buf = vec![0; len];
        fill(&mut buf);
        buf
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
    /// A data frame begins (`Delivery::Stream`); `length` is as declared.
    FrameBegin {
        length: u64,
        rsv: u8,
        fin: bool,
    },
    /// The next piece of the current frame's payload (`Delivery::Stream`).
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
}

/// Assembly buffers above this capacity are released after their message, so
/// one big message does not pin memory on an idle connection.
const KEEP_ASSEMBLY_CAPACITY: usize = 64 * 1024;

/// Unmasking and UTF-8 checking run over blocks of this size, so a block is
/// still in cache when it is validated.
const BLOCK: usize = 64 * 1024;

/// Why the connection must fail: close code and reason.
type Failure = (u16, &'static str);

fn protocol_error(reason: &'static str) -> Failure {
    (close::PROTOCOL_ERROR, reason)
}

const INVALID_UTF8: Failure = (close::INVALID_PAYLOAD, "invalid UTF-8 in text message");

/// Copy `src` into `dst`, unmasking on the way, and run the UTF-8 check (text
/// messages) over what was written.
fn unmask_checked(
    src: &[u8],
    dst: &mut [u8],
    payload: &Payload,
    mut utf8: Option<&mut Utf8Validator>,
) -> Result<(), Failure> {
    let mut offset = payload.mask_offset;
    for (s, d) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        match payload.mask {
            Some(key) => mask::mask_into(s, d, key, offset),
            None => d.copy_from_slice(s),
        }
        offset += s.len();
        if let Some(v) = utf8.as_deref_mut() {
            v.feed(d).map_err(|_| INVALID_UTF8)?;
        }
    }
    Ok(())
}

/// Allocate a caller buffer holding `src` unmasked and UTF-8 checked.
fn alloc_checked<A: PayloadAlloc>(
    alloc: &mut A,
    src: &[u8],
    payload: &Payload,
    utf8: Option<&mut Utf8Validator>,
) -> Result<A::Buf, Failure> {
    let mut result = Ok(());
    let buf = alloc.alloc(src.len(), |out| {
        result = unmask_checked(src, out, payload, utf8)
    });
    result.map(|()| buf)
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
    /// grows only with bytes that arrived.
    assembled: Vec<u8>,
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
        }
    }

    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Change the configuration between reads (extensions negotiated, limits
    /// set by the application, delivery mode chosen by the protocol class).
    pub fn set_config(&mut self, config: ParserConfig) {
        self.config = config;
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
        let rsv = self.config.allowed_rsv;
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
        if header.opcode.is_control() {
            self.control_buf.clear();
            if header.payload_len == 0 {
                self.end_control(header.opcode, alloc, events)?;
            } else {
                self.state = State::Control(payload, header.opcode);
            }
            return Ok(data);
        }

        let frame_limit = self.config.max_frame_payload;
        if frame_limit != 0 && header.payload_len > frame_limit {
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
                    ..Message::default()
                });
                true
            }
        };
        let message = self.message.as_mut().expect("a message is in progress");
        // Saturating: with no limit set, declared lengths must not wrap around.
        message.declared = message.declared.saturating_add(header.payload_len);
        let message_limit = self.config.max_message_payload;
        if message_limit != 0 && message.declared > message_limit {
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
                if first && header.fin && header.payload_len <= data.len() as u64 =>
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
            Delivery::Stream => {
                let buf = alloc_checked(alloc, chunk, &payload, utf8)?;
                events.push(Event::FrameData(buf));
            }
            Delivery::Messages => {
                let start = self.assembled.len();
                self.assembled.resize(start + take, 0);
                unmask_checked(chunk, &mut self.assembled[start..], &payload, utf8)?;
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
                let assembled = &self.assembled;
                let buf = alloc.alloc(assembled.len(), |out| out.copy_from_slice(assembled));
                events.push(Event::Message {
                    binary: message.binary,
                    payload: buf,
                });
                if self.assembled.capacity() > KEEP_ASSEMBLY_CAPACITY {
                    self.assembled = Vec::new();
                } else {
                    self.assembled.clear();
                }
            }
        }
        Ok(())
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
            Opcode::Ping => events.push(Event::Ping(
                alloc.alloc(body.len(), |out| out.copy_from_slice(body)),
            )),
            Opcode::Pong => events.push(Event::Pong(
                alloc.alloc(body.len(), |out| out.copy_from_slice(body)),
            )),
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
}
