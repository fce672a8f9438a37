//! The RFC 6455 §4 opening handshake, both roles, sans-I/O.
//!
//! The pieces, in the order a connection meets them:
//!
//! 1. [`HeadReader`] collects the HTTP head (request or status line plus
//!    header fields, up to and including the empty line) from bytes as they
//!    arrive, enforcing size limits *while* reading so a hostile peer cannot
//!    make us buffer without bound. It reports how many bytes of the last
//!    chunk belonged to the head; the rest are already WebSocket frames.
//! 2. [`parse_request`] / [`parse_response`] split a complete head into a
//!    [`Request`] / [`Response`] following the RFC 7230 message syntax.
//! 3. [`parse_token_list`] / [`parse_extensions`] parse the comma-separated
//!    header values the handshake cares about. Both are single-pass scanners
//!    (no regex, no backtracking), so their cost is linear in the input.
//! 4. Server role: [`validate_request`] applies the RFC 6455 §4.2.1 checks and
//!    yields an [`UpgradeRequest`]; [`build_accept_response`] and
//!    [`build_error_response`] produce the bytes to send back.
//!    Client role: [`build_request`] produces the opening request and
//!    [`validate_response`] applies the RFC 6455 §4.1 checks to the answer.
//!
//! # Errors and status codes
//!
//! Everything fails with [`HttpError`]. On the server side `status` is the
//! HTTP status to answer with (400, 405, 414, 426, 431, 505; 500 when *we*
//! were asked to build something malformed) and `reason` is a short English
//! description that can double as the reason phrase, as AutobahnPython does.
//! A 426 means "unsupported Sec-WebSocket-Version": [`build_error_response`]
//! then adds `Sec-WebSocket-Version: 13` by itself.
//!
//! On the client side there is nobody to answer, so the status is only a
//! classification: `0` ([`HttpError::CLIENT`]) means the server's answer (or
//! our own request parameters) violated the protocol, and any other value is
//! the status the server answered with instead of 101.
//!
//! # Decisions worth knowing
//!
//! * Line endings must be CRLF. A bare LF or a bare CR anywhere in the head is
//!   rejected with 400: lenient line splitting is a classic source of request
//!   smuggling between proxies and servers that disagree about it.
//! * A head may not start with an empty line (400); RFC 7230 §3.5 only says a
//!   server *should* tolerate one, and a fresh WebSocket connection never
//!   legitimately sends it.
//! * Header values are decoded as ISO-8859-1 (latin-1), byte for byte, like
//!   AutobahnPython and Python's `http.client` do. That never fails and loses
//!   nothing: the original bytes come back with `value.encode("latin-1")`.
//! * Total head size over `max_total` is 431 (the header section as a whole is
//!   too large), a request line over `max_line` is 414 and a header line over
//!   `max_line` is 431.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::fmt;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A handshake failure: an HTTP status plus a short, fixed description.
///
/// `reason` is `&'static str` on purpose: it never echoes peer-controlled
/// text, so it is always safe to put into a response line or a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpError {
    /// The HTTP status to answer with (server side), `0` for a client-side
    /// protocol failure, or the non-101 status the server answered with.
    pub status: u16,
    /// What went wrong, in a few words (usable as a reason phrase).
    pub reason: &'static str,
}

impl HttpError {
    /// Status used for failures detected in the client role (see module docs).
    pub const CLIENT: u16 = 0;

    /// An error with the given status and description.
    pub const fn new(status: u16, reason: &'static str) -> Self {
        HttpError { status, reason }
    }

    const fn bad_request(reason: &'static str) -> Self {
        HttpError::new(400, reason)
    }

    const fn client(reason: &'static str) -> Self {
        HttpError::new(Self::CLIENT, reason)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status == Self::CLIENT {
            write!(f, "WebSocket handshake failed: {}", self.reason)
        } else {
            write!(f, "HTTP {} {}", self.status, self.reason)
        }
    }
}

impl std::error::Error for HttpError {}

/// The standard reason phrase for the statuses this module produces (and a
/// few common others), for callers that prefer it over [`HttpError::reason`].
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------
// Character classes (RFC 7230 §3.2.6)
// ---------------------------------------------------------------------------

/// `tchar`: the characters allowed in a token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// `token = 1*tchar`.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Optional whitespace (`OWS`, `BWS`): SP or HTAB.
fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// Bytes that must never appear in a header value we emit or accept: they
/// would end the line early (CR, LF) or truncate it in C-based peers (NUL).
fn is_forbidden_in_value(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | 0)
}

/// ISO-8859-1 decoding: every byte is the code point of the same value.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

// ---------------------------------------------------------------------------
// Incremental head reader
// ---------------------------------------------------------------------------

/// Size limits for an HTTP head. Defaults: 8 KiB per line, 128 header
/// fields, 16 KiB in total (CRLFs included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request/status line or header line, CRLF not counted.
    pub max_line: usize,
    /// Most header fields (lines after the request/status line).
    pub max_headers: usize,
    /// Largest head, from the first byte through the final empty line.
    pub max_total: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_line: 8192,
            max_headers: 128,
            max_total: 16384,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Reading,
    Done,
    Failed(HttpError),
}

/// Collects an HTTP head from a byte stream, one chunk at a time.
///
/// The reader is a small state machine that looks at every byte exactly once,
/// so the total work is linear in the bytes received no matter how the peer
/// slices them (a peer dribbling one byte per packet must not make us rescan
/// the buffer each time). Limits are checked on every byte, so an over-long
/// line fails as soon as it is too long, not when (if ever) it ends.
///
/// Outcomes are independent of how the input is split: the same bytes give
/// the same head, the same leftover and the same error.
#[derive(Debug, Clone)]
pub struct HeadReader {
    limits: HeadLimits,
    buf: Vec<u8>,
    /// Bytes in the current line so far, CR/LF not counted.
    line_len: usize,
    /// Completed lines (request/status line included).
    lines: usize,
    /// The previous byte was a CR, so the next one must be LF.
    pending_cr: bool,
    /// Bytes examined so far (`buf` is only appended at the end of `feed`).
    total: usize,
    state: ReadState,
}

impl Default for HeadReader {
    fn default() -> Self {
        HeadReader::new(HeadLimits::default())
    }
}

impl HeadReader {
    /// A reader enforcing `limits`.
    pub fn new(limits: HeadLimits) -> Self {
        HeadReader {
            limits,
            buf: Vec::new(),
            line_len: 0,
            lines: 0,
            pending_cr: false,
            total: 0,
            state: ReadState::Reading,
        }
    }

    /// Feed bytes as they arrive.
    ///
    /// * `Ok(None)`: the head is not complete yet; all of `data` was taken.
    /// * `Ok(Some(n))`: the head is complete. The first `n` bytes of *this*
    ///   chunk belonged to it; `data[n..]` are the first WebSocket bytes and
    ///   must be kept by the caller. Feeding again after completion returns
    ///   `Ok(Some(0))` (nothing more belongs to the head).
    /// * `Err(e)`: a limit was exceeded (414, 431) or the head is malformed
    ///   at the line level (400: bare CR or LF, leading empty line). The error
    ///   is sticky: later calls return it again.
    pub fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, HttpError> {
        match self.state {
            ReadState::Reading => {}
            ReadState::Done => return Ok(Some(0)),
            ReadState::Failed(e) => return Err(e),
        }
        for (i, &b) in data.iter().enumerate() {
            if let Err(e) = self.step(b) {
                self.state = ReadState::Failed(e);
                return Err(e);
            }
            if self.state == ReadState::Done {
                self.buf.extend_from_slice(&data[..=i]);
                return Ok(Some(i + 1));
            }
        }
        self.buf.extend_from_slice(data);
        Ok(None)
    }

    /// Advance the state machine by one byte (not yet appended to `buf`).
    fn step(&mut self, b: u8) -> Result<(), HttpError> {
        let r = self.step_line(b);
        // The total counts every byte, CR and LF included. Line-level errors
        // take precedence: they describe the offending byte more precisely.
        self.total += 1;
        if r.is_ok() && self.total > self.limits.max_total {
            return Err(HttpError::new(431, "HTTP head too large"));
        }
        r
    }

    fn step_line(&mut self, b: u8) -> Result<(), HttpError> {
        match b {
            b'\r' => {
                if self.pending_cr {
                    return Err(HttpError::bad_request("bare CR in HTTP head"));
                }
                self.pending_cr = true;
            }
            b'\n' => {
                if !self.pending_cr {
                    return Err(HttpError::bad_request(
                        "bare LF in HTTP head (CRLF required)",
                    ));
                }
                self.pending_cr = false;
                if self.line_len == 0 {
                    if self.lines == 0 {
                        return Err(HttpError::bad_request("empty first line in HTTP head"));
                    }
                    self.state = ReadState::Done;
                } else {
                    self.lines += 1;
                    self.line_len = 0;
                }
            }
            _ => {
                if self.pending_cr {
                    return Err(HttpError::bad_request("bare CR in HTTP head"));
                }
                if self.line_len == 0 && self.lines > self.limits.max_headers {
                    // `lines` - 1 header lines are complete and this byte
                    // starts another one.
                    return Err(HttpError::new(431, "too many header fields"));
                }
                self.line_len += 1;
                if self.line_len > self.limits.max_line {
                    return Err(if self.lines == 0 {
                        HttpError::new(414, "request line too long")
                    } else {
                        HttpError::new(431, "header line too long")
                    });
                }
            }
        }
        Ok(())
    }

    /// The head bytes taken so far; the complete head, through the final
    /// CRLF CRLF, once [`feed`](Self::feed) returned `Ok(Some(_))`.
    pub fn head(&self) -> &[u8] {
        &self.buf
    }

    /// Whether the head is complete.
    pub fn is_complete(&self) -> bool {
        self.state == ReadState::Done
    }
}

// ---------------------------------------------------------------------------
// Head parsing (RFC 7230 §3)
// ---------------------------------------------------------------------------

/// A parsed HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, case preserved (methods are case-sensitive).
    pub method: String,
    /// The request-target exactly as sent.
    pub target: String,
    /// The protocol version, e.g. `"HTTP/1.1"`.
    pub version: String,
    /// Header fields in order: names as sent, values trimmed of OWS and
    /// decoded as latin-1.
    pub headers: Vec<(String, String)>,
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The protocol version, e.g. `"HTTP/1.1"`.
    pub version: String,
    /// The three-digit status code.
    pub status: u16,
    /// The reason phrase (possibly empty), decoded as latin-1.
    pub reason: String,
    /// Header fields, as in [`Request::headers`].
    pub headers: Vec<(String, String)>,
}

/// First value of header `name` (ASCII case-insensitive).
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// All values of header `name` (ASCII case-insensitive), in order.
fn find_headers<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// The first value of header `name`, compared ASCII case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every value of header `name`, in the order received.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        find_headers(&self.headers, name)
    }
}

impl Response {
    /// The first value of header `name`, compared ASCII case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every value of header `name`, in the order received.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        find_headers(&self.headers, name)
    }
}

/// Split a head into lines on CRLF. The terminating empty line is optional
/// (so a head without it parses too); an empty line anywhere else, a bare CR
/// or a bare LF is an error.
fn split_lines(head: &[u8], err: HttpError) -> Result<Vec<&[u8]>, HttpError> {
    let body = head
        .strip_suffix(b"\r\n\r\n")
        .or_else(|| head.strip_suffix(b"\r\n"))
        .unwrap_or(head);
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'\n' => {
                if i == start || body[i - 1] != b'\r' {
                    return Err(err);
                }
                lines.push(&body[start..i - 1]);
                start = i + 1;
            }
            b'\r' if body.get(i + 1) != Some(&b'\n') => return Err(err),
            _ => {}
        }
    }
    lines.push(&body[start..]);
    if lines.iter().any(|l| l.is_empty()) {
        return Err(err);
    }
    Ok(lines)
}

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (case-sensitive name). Multi-digit
/// numbers and a missing minor (`HTTP/2`) are accepted *syntactically* so
/// that [`validate_request`] can answer them with 505 rather than 400.
fn is_http_version(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"HTTP/") else {
        return false;
    };
    let mut parts = rest.splitn(2, |&b| b == b'.');
    let major = parts.next().unwrap_or(b"");
    let digits = |p: &[u8]| !p.is_empty() && p.len() <= 3 && p.iter().all(u8::is_ascii_digit);
    digits(major) && parts.next().map_or(true, digits)
}

/// Parse the header lines after the first line.
fn parse_header_lines(
    lines: &[&[u8]],
    err: fn(&'static str) -> HttpError,
) -> Result<Vec<(String, String)>, HttpError> {
    let mut headers = Vec::with_capacity(lines.len());
    for line in lines {
        if is_ows(line[0]) {
            // RFC 7230 §3.2.4: obs-fold must be rejected by a server (or
            // replaced); we reject in both roles.
            return Err(err("obsolete line folding in header"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| err("header line without colon"))?;
        let name = &line[..colon];
        if !is_token(name) {
            // Also catches whitespace before the colon (RFC 7230 §3.2.4).
            return Err(err("invalid header name"));
        }
        let value = trim_ows(&line[colon + 1..]);
        if value.iter().any(|&b| is_forbidden_in_value(b)) {
            return Err(err("invalid character in header value"));
        }
        // `name` is all tchar, hence ASCII.
        headers.push((latin1(name), latin1(value)));
    }
    Ok(headers)
}

/// Parse a complete request head (as collected by [`HeadReader`]).
///
/// Strict RFC 7230 syntax: `method SP request-target SP HTTP-version` with
/// single spaces, a token method, a target of visible ASCII only, header
/// names that are tokens with no space before the colon, no obs-fold, and no
/// CR, LF or NUL in values. Any violation is a 400.
pub fn parse_request(head: &[u8]) -> Result<Request, HttpError> {
    let lines = split_lines(head, HttpError::bad_request("malformed HTTP head"))?;
    let (first, rest) = lines
        .split_first()
        .ok_or(HttpError::bad_request("empty HTTP head"))?;
    let mut parts = first.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::bad_request("malformed request line"));
    };
    if !is_token(method) {
        return Err(HttpError::bad_request("invalid request method"));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpError::bad_request("invalid request target"));
    }
    if !is_http_version(version) {
        return Err(HttpError::bad_request("malformed HTTP version"));
    }
    Ok(Request {
        method: latin1(method),
        target: latin1(target),
        version: latin1(version),
        headers: parse_header_lines(rest, HttpError::bad_request)?,
    })
}

/// Parse a complete response head (as collected by [`HeadReader`]).
///
/// `HTTP-version SP 3DIGIT SP reason-phrase`; the space before an empty
/// reason phrase may be missing (a common server quirk). Errors carry status
/// [`HttpError::CLIENT`] (0): this runs in the client role.
pub fn parse_response(head: &[u8]) -> Result<Response, HttpError> {
    let lines = split_lines(head, HttpError::client("malformed HTTP response head"))?;
    let (first, rest) = lines
        .split_first()
        .ok_or(HttpError::client("empty HTTP response head"))?;
    let sp = first
        .iter()
        .position(|&b| b == b' ')
        .ok_or(HttpError::client("malformed status line"))?;
    let version = &first[..sp];
    if !is_http_version(version) {
        return Err(HttpError::client("malformed HTTP version in status line"));
    }
    let after = &first[sp + 1..];
    let (code, reason) = match after.get(3) {
        None => (after, &b""[..]),
        Some(b' ') => (&after[..3], &after[4..]),
        Some(_) => return Err(HttpError::client("malformed status code")),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return Err(HttpError::client("malformed status code"));
    }
    if reason.iter().any(|&b| is_forbidden_in_value(b)) {
        return Err(HttpError::client("invalid character in reason phrase"));
    }
    let status = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Ok(Response {
        version: latin1(version),
        status,
        reason: latin1(reason),
        headers: parse_header_lines(rest, HttpError::client)?,
    })
}

// ---------------------------------------------------------------------------
// Header value grammars
// ---------------------------------------------------------------------------

/// Parse a comma-separated token list (`Connection`, `Upgrade`,
/// `Sec-WebSocket-Protocol`): `#token` per RFC 7230 §7, so empty elements
/// (`a,,b`, leading or trailing commas) are skipped and OWS around elements
/// is ignored. Any other element is a 400. Single pass, linear time.
pub fn parse_token_list(value: &str) -> Result<Vec<String>, HttpError> {
    let mut out = Vec::new();
    for element in value.as_bytes().split(|&b| b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            continue;
        }
        if !is_token(element) {
            return Err(HttpError::bad_request("invalid token in list"));
        }
        out.push(latin1(element));
    }
    Ok(out)
}

/// One extension offer or response: its name and its parameters in order,
/// each with its value if it had one (quotes removed).
pub type Extension = (String, Vec<(String, Option<String>)>);

/// A byte cursor for the extension grammar. Every method advances or stops;
/// nothing ever moves backwards, which is what keeps the parse linear.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // All tchar, hence ASCII.
        (self.i > start).then(|| latin1(&self.s[start..self.i]))
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`, cursor on
    /// the opening quote. Returns the unescaped content.
    fn quoted_string(&mut self) -> Result<Vec<u8>, HttpError> {
        const UNTERMINATED: HttpError = HttpError::bad_request("unterminated quoted string");
        self.i += 1; // opening DQUOTE
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(UNTERMINATED),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    match self.s.get(self.i + 1).copied() {
                        None => return Err(UNTERMINATED),
                        Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => out.push(c),
                        Some(_) => {
                            return Err(HttpError::bad_request("invalid quoted-pair"));
                        }
                    }
                    self.i += 2;
                }
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                    out.push(c);
                    self.i += 1;
                }
                Some(_) => {
                    return Err(HttpError::bad_request("invalid character in quoted string"));
                }
            }
        }
    }
}

/// Parse `Sec-WebSocket-Extensions` (RFC 6455 §9.1, RFC 7692 §5):
///
/// ```text
/// extension-list  = 1#extension
/// extension       = extension-token *( OWS ";" OWS extension-param )
/// extension-param = token [ BWS "=" BWS ( token / quoted-string ) ]
/// ```
///
/// Quoted values are unescaped and must then be tokens (RFC 6455 §9.1).
/// Empty list elements are skipped as for any `#rule`; an empty value gives
/// an empty list (whether that is acceptable is the caller's call). Every
/// byte is looked at once: linear time even on hostile input. Errors are 400.
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, HttpError> {
    const BAD: HttpError = HttpError::bad_request("malformed Sec-WebSocket-Extensions");
    let mut c = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(out),
            Some(b',') => {
                c.i += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = c.token().ok_or(BAD)?;
        let mut params = Vec::new();
        loop {
            c.skip_ows();
            match c.peek() {
                None => break,
                Some(b',') => {
                    c.i += 1;
                    break;
                }
                Some(b';') => c.i += 1,
                Some(_) => return Err(BAD),
            }
            c.skip_ows();
            let param = c.token().ok_or(BAD)?;
            c.skip_ows();
            let mut val = None;
            if c.peek() == Some(b'=') {
                c.i += 1;
                c.skip_ows();
                let v = if c.peek() == Some(b'"') {
                    let raw = c.quoted_string()?;
                    if !is_token(&raw) {
                        return Err(HttpError::bad_request(
                            "quoted extension parameter value is not a token",
                        ));
                    }
                    latin1(&raw)
                } else {
                    c.token().ok_or(BAD)?
                };
                val = Some(v);
            }
            params.push((param, val));
        }
        out.push((name, params));
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// The GUID RFC 6455 §1.3 appends to the client key.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this implementation speaks (RFC 6455).
pub const WEBSOCKET_VERSION: u32 = 13;

/// `Sec-WebSocket-Accept` for a client key:
/// `base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))`.
pub fn accept_key(client_key: &str) -> String {
    let mut h = Sha1::new();
    h.update(client_key.as_bytes());
    h.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(h.finalize())
}

/// A `Sec-WebSocket-Key`: base64 of 16 random bytes. The caller supplies the
/// randomness (this module does no I/O, and that includes the OS RNG).
pub fn generate_client_key(random16: [u8; 16]) -> String {
    STANDARD.encode(random16)
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: 24 characters of canonical
/// padded base64 that decode to exactly 16 bytes. The STANDARD engine
/// rejects non-zero trailing bits and non-canonical padding.
fn is_valid_client_key(key: &str) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|k| k.len() == 16)
}

// ---------------------------------------------------------------------------
// Server role (RFC 6455 §4.2)
// ---------------------------------------------------------------------------

/// A client's opening handshake that passed [`validate_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The resource path: the request-target up to `?`, raw (not
    /// percent-decoded). For an absolute-form target (`ws://host/p?q`) the
    /// scheme and authority are removed; an empty path becomes `/`.
    pub path: String,
    /// The raw query after `?`, without it (empty if none).
    pub query: String,
    /// The `Host` header value.
    pub host: String,
    /// The `Sec-WebSocket-Key` value (validated).
    pub key: String,
    /// The `Sec-WebSocket-Version` (always 13 when validation succeeds).
    pub version: u32,
    /// The `Origin` header value, if sent.
    pub origin: Option<String>,
    /// Offered subprotocols, in order, from all `Sec-WebSocket-Protocol` lines.
    pub protocols: Vec<String>,
    /// Offered extensions, in order, from all `Sec-WebSocket-Extensions` lines.
    pub extensions: Vec<Extension>,
}

/// The value of a header that must occur at most once.
fn single_header<'a>(
    headers: &'a [(String, String)],
    name: &str,
    duplicate: HttpError,
) -> Result<Option<&'a str>, HttpError> {
    let mut it = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
    let first = it.next();
    if it.next().is_some() {
        return Err(duplicate);
    }
    Ok(first)
}

/// All values of a header joined with ", ": RFC 7230 §3.2.2 makes repeated
/// list-valued fields equivalent to one comma-joined field. `None` when the
/// header is absent altogether.
fn joined_header(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut joined: Option<String> = None;
    for v in find_headers(headers, name) {
        match &mut joined {
            None => joined = Some(v.to_owned()),
            Some(j) => {
                j.push_str(", ");
                j.push_str(v);
            }
        }
    }
    joined
}

/// The protocols named in an `Upgrade` value. Elements are
/// `protocol-name ["/" protocol-version]` (RFC 7230 §6.7), so a plain token
/// list parser would wrongly reject `Upgrade: websocket, HTTP/2.0`.
fn upgrade_protocols(value: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for element in value.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        let mut parts = element.splitn(2, '/');
        let name = parts.next().unwrap_or("");
        if !is_token(name.as_bytes()) || !parts.next().map_or(true, |v| is_token(v.as_bytes())) {
            return None;
        }
        out.push(element);
    }
    Some(out)
}

/// Whether a token list contains `token`, ASCII case-insensitively.
fn list_has(list: &[impl AsRef<str>], token: &str) -> bool {
    list.iter().any(|t| t.as_ref().eq_ignore_ascii_case(token))
}

/// Split a request-target into (path, query) per RFC 6455 §3/§4.2.1: either
/// origin-form (`/path?query`) or an absolute ws/wss/http/https URI. A
/// fragment is not allowed (RFC 6455 §3).
fn split_target(target: &str) -> Result<(String, String), HttpError> {
    const BAD: HttpError = HttpError::bad_request("invalid request target");
    if target.contains('#') {
        return Err(HttpError::bad_request("fragment in request target"));
    }
    let resource = if target.starts_with('/') {
        target
    } else {
        let (scheme, rest) = target.split_once("://").ok_or(BAD)?;
        if !["ws", "wss", "http", "https"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
        {
            return Err(BAD);
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        if end == 0 {
            return Err(BAD); // no authority
        }
        &rest[end..]
    };
    let (path, query) = resource.split_once('?').unwrap_or((resource, ""));
    let path = if path.is_empty() { "/" } else { path };
    Ok((path.to_owned(), query.to_owned()))
}

/// Server-side checks of a client's opening handshake (RFC 6455 §4.2.1), in
/// this order, each failing with the status shown:
///
/// | check | status |
/// |---|---|
/// | method is `GET` | 405 (answer with `Allow: GET`) |
/// | version `HTTP/1.1` (or a higher 1.x minor, RFC 7230 §2.6) | 505 |
/// | no request body (`Transfer-Encoding`, non-zero `Content-Length`) | 400 |
/// | exactly one non-empty `Host` | 400 |
/// | `Upgrade` lists `websocket` (case-insensitive) | 400 |
/// | `Connection` lists `upgrade` (case-insensitive) | 400 |
/// | `Sec-WebSocket-Version` present and exactly `13` | 426 (missing or other value), 400 (repeated) |
/// | exactly one `Sec-WebSocket-Key`, canonical base64 of 16 bytes | 400 |
/// | at most one `Origin` | 400 |
/// | `Sec-WebSocket-Protocol` / `-Extensions` well-formed | 400 |
/// | target is origin-form or absolute ws/wss/http/https, no fragment | 400 |
///
/// A bad `Upgrade` is 400 rather than 426: RFC 6455 §4.2.1 names 400 for a
/// handshake that does not match, and reserves 426 (§4.2.2) for the version
/// negotiation, where the client can act on the answer. A caller wanting to
/// serve a plain-HTTP page instead can test `req.header("Upgrade")` first.
/// The version is checked before the key so that clients of older drafts
/// (which send different key headers) learn which version we speak.
pub fn validate_request(req: &Request) -> Result<UpgradeRequest, HttpError> {
    if req.method != "GET" {
        return Err(HttpError::new(405, "method not allowed (GET required)"));
    }
    if !is_http11_or_later_minor(&req.version) {
        return Err(HttpError::new(
            505,
            "HTTP version not supported (HTTP/1.1 required)",
        ));
    }
    let h = &req.headers;
    if find_header(h, "Transfer-Encoding").is_some()
        || find_headers(h, "Content-Length").any(|v| v.bytes().any(|b| b != b'0') || v.is_empty())
    {
        return Err(HttpError::bad_request(
            "request body not allowed in handshake",
        ));
    }

    let host = single_header(h, "Host", HttpError::bad_request("duplicate Host header"))?
        .ok_or(HttpError::bad_request("missing Host header"))?;
    if host.is_empty() {
        return Err(HttpError::bad_request("empty Host header"));
    }

    let upgrade =
        joined_header(h, "Upgrade").ok_or(HttpError::bad_request("missing Upgrade header"))?;
    let upgrade =
        upgrade_protocols(&upgrade).ok_or(HttpError::bad_request("malformed Upgrade header"))?;
    if !list_has(&upgrade, "websocket") {
        return Err(HttpError::bad_request(
            "Upgrade header does not include websocket",
        ));
    }

    let connection = joined_header(h, "Connection")
        .ok_or(HttpError::bad_request("missing Connection header"))?;
    let connection = parse_token_list(&connection)
        .map_err(|_| HttpError::bad_request("malformed Connection header"))?;
    if !list_has(&connection, "upgrade") {
        return Err(HttpError::bad_request(
            "Connection header does not include upgrade",
        ));
    }

    let version = single_header(
        h,
        "Sec-WebSocket-Version",
        HttpError::bad_request("duplicate Sec-WebSocket-Version header"),
    )?
    .ok_or(HttpError::new(426, "missing Sec-WebSocket-Version header"))?;
    if version != "13" {
        return Err(HttpError::new(426, "unsupported Sec-WebSocket-Version"));
    }

    let key = single_header(
        h,
        "Sec-WebSocket-Key",
        HttpError::bad_request("duplicate Sec-WebSocket-Key header"),
    )?
    .ok_or(HttpError::bad_request("missing Sec-WebSocket-Key header"))?;
    if !is_valid_client_key(key) {
        return Err(HttpError::bad_request("invalid Sec-WebSocket-Key"));
    }

    let origin = single_header(
        h,
        "Origin",
        HttpError::bad_request("duplicate Origin header"),
    )?;

    let protocols = match joined_header(h, "Sec-WebSocket-Protocol") {
        None => Vec::new(),
        Some(v) => parse_token_list(&v)
            .map_err(|_| HttpError::bad_request("malformed Sec-WebSocket-Protocol header"))?,
    };
    let extensions = match joined_header(h, "Sec-WebSocket-Extensions") {
        None => Vec::new(),
        Some(v) => parse_extensions(&v)?,
    };

    let (path, query) = split_target(&req.target)?;
    Ok(UpgradeRequest {
        path,
        query,
        host: host.to_owned(),
        key: key.to_owned(),
        version: WEBSOCKET_VERSION,
        origin: origin.map(str::to_owned),
        protocols,
        extensions,
    })
}

/// `HTTP/1.1`, or `HTTP/1.x` with x > 1: RFC 7230 §2.6 says to treat a higher
/// minor version of a major version we implement as the highest we support.
fn is_http11_or_later_minor(version: &str) -> bool {
    match version.strip_prefix("HTTP/1.") {
        Some(minor) => {
            !minor.is_empty()
                && minor.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().any(|b| b != b'0')
        }
        None => false,
    }
}

/// Check a header we are about to emit: the name must be a token, the value
/// must not contain CR, LF or NUL (header injection / response splitting).
fn check_header(name: &str, value: &str, err: HttpError) -> Result<(), HttpError> {
    if !is_token(name.as_bytes()) || value.bytes().any(is_forbidden_in_value) {
        return Err(err);
    }
    Ok(())
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The server's 101 answer:
///
/// ```text
/// HTTP/1.1 101 Switching Protocols
/// Upgrade: websocket
/// Connection: Upgrade
/// Sec-WebSocket-Accept: <accept_key(key)>
/// [Server: ...] [Sec-WebSocket-Protocol: ...] [Sec-WebSocket-Extensions: ...]
/// [extra headers, in order]
/// ```
///
/// followed by the empty line. Fails with 500 (it is the server's own bug)
/// if a header name is not a token, a value contains CR, LF or NUL, or the
/// protocol is not a token.
pub fn build_accept_response(
    key: &str,
    server: Option<&str>,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra: &[(String, String)],
) -> Result<Vec<u8>, HttpError> {
    const INJECTION: HttpError = HttpError::new(500, "invalid header name or value in response");
    let accept = accept_key(key);
    let mut out = Vec::with_capacity(160);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    push_header(&mut out, "Upgrade", "websocket");
    push_header(&mut out, "Connection", "Upgrade");
    push_header(&mut out, "Sec-WebSocket-Accept", &accept);
    if let Some(s) = server {
        check_header("Server", s, INJECTION)?;
        push_header(&mut out, "Server", s);
    }
    if let Some(p) = protocol {
        if !is_token(p.as_bytes()) {
            return Err(HttpError::new(500, "selected subprotocol is not a token"));
        }
        push_header(&mut out, "Sec-WebSocket-Protocol", p);
    }
    if let Some(e) = extensions {
        check_header("Sec-WebSocket-Extensions", e, INJECTION)?;
        push_header(&mut out, "Sec-WebSocket-Extensions", e);
    }
    for (n, v) in extra {
        check_header(n, v, INJECTION)?;
        push_header(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Replace characters that could break a header line (any control character
/// other than HTAB) with spaces, and trim.
fn sanitize_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An error or deny response that closes the connection:
///
/// ```text
/// HTTP/1.1 <status> <reason>
/// [Allow: GET]                                  (405)
/// [Upgrade: websocket + Sec-WebSocket-Version: 13] (426, RFC 6455 §4.4)
/// Content-Type: text/plain; charset=utf-8
/// Content-Length: <n>
/// Connection: close
/// [extra headers]
///
/// <status> <reason>\n
/// ```
///
/// This cannot fail, so it neutralizes instead: control characters in the
/// reason and in extra values become spaces; extra headers whose name is not
/// a token are dropped, as are extra `Content-Length`, `Transfer-Encoding`
/// and `Connection` (the framing is ours). Automatic headers are skipped when
/// `extra` already has one of the same name. An empty reason is replaced by
/// the standard phrase; a status outside 100..=999 becomes 500; statuses
/// that forbid a body (1xx, 204, 304) get none.
pub fn build_error_response(status: u16, reason: &str, extra: &[(String, String)]) -> Vec<u8> {
    let status = if (100..=999).contains(&status) {
        status
    } else {
        500
    };
    let mut reason = sanitize_line(reason);
    if reason.is_empty() {
        reason = reason_phrase(status).to_owned();
    }
    let has_extra = |name: &str| extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut out = Vec::with_capacity(200 + reason.len() * 2);
    out.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    if status == 405 && !has_extra("Allow") {
        push_header(&mut out, "Allow", "GET");
    }
    if status == 426 {
        if !has_extra("Upgrade") {
            push_header(&mut out, "Upgrade", "websocket");
        }
        if !has_extra("Sec-WebSocket-Version") {
            push_header(&mut out, "Sec-WebSocket-Version", "13");
        }
    }
    let body = if status < 200 || status == 204 || status == 304 {
        None
    } else {
        Some(format!("{status} {reason}\n"))
    };
    if let Some(b) = &body {
        if !has_extra("Content-Type") {
            push_header(&mut out, "Content-Type", "text/plain; charset=utf-8");
        }
        push_header(&mut out, "Content-Length", &b.len().to_string());
    }
    push_header(&mut out, "Connection", "close");
    for (n, v) in extra {
        let framing = ["Content-Length", "Transfer-Encoding", "Connection"]
            .iter()
            .any(|f| n.eq_ignore_ascii_case(f));
        if framing || !is_token(n.as_bytes()) {
            continue;
        }
        push_header(&mut out, n, &sanitize_line(v));
    }
    out.extend_from_slice(b"\r\n");
    if let Some(b) = body {
        out.extend_from_slice(b.as_bytes());
    }
    out
}

// ---------------------------------------------------------------------------
// Client role (RFC 6455 §4.1)
// ---------------------------------------------------------------------------

/// What the client's opening request should contain.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    /// Host name or IP address; IPv6 literals may be given with or without
    /// brackets.
    pub host: &'a str,
    /// TCP port; omitted from `Host` when it is the scheme's default.
    pub port: u16,
    /// `wss` (default port 443) rather than `ws` (80).
    pub is_secure: bool,
    /// The resource name: path and query, e.g. `/chat?room=1`.
    pub resource: &'a str,
    /// The `Sec-WebSocket-Key` (see [`generate_client_key`]).
    pub key: &'a str,
    /// `User-Agent`, if any.
    pub useragent: Option<&'a str>,
    /// `Origin`, if any.
    pub origin: Option<&'a str>,
    /// Subprotocols to offer (each a token); header omitted when empty.
    pub protocols: &'a [String],
    /// The `Sec-WebSocket-Extensions` offer, already formatted.
    pub extensions: Option<&'a str>,
    /// Further headers, in order.
    pub extra: &'a [(String, String)],
}

/// The `Host` value: `host[:port]`, IPv6 literals bracketed, default port
/// for the scheme left out (RFC 6455 §4.1 item 4).
fn host_header(host: &str, port: u16, is_secure: bool) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let default = if is_secure { 443 } else { 80 };
    if port == default {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// The client's opening request:
///
/// ```text
/// GET <resource> HTTP/1.1
/// Host: <host[:port]>
/// Upgrade: websocket
/// Connection: Upgrade
/// Sec-WebSocket-Key: <key>
/// Sec-WebSocket-Version: 13
/// [User-Agent] [Origin] [Sec-WebSocket-Protocol: a, b] [Sec-WebSocket-Extensions]
/// [extra headers, in order]
/// ```
///
/// Fails (status [`HttpError::CLIENT`]) on an empty host or one containing
/// whitespace or control characters, a resource that is empty or not visible
/// ASCII, a key that is not canonical base64 of 16 bytes, a subprotocol that
/// is not a token, a header name that is not a token, or a value with CR, LF
/// or NUL.
pub fn build_request(req: &ClientRequest) -> Result<Vec<u8>, HttpError> {
    const INJECTION: HttpError = HttpError::client("invalid header name or value in request");
    if req.host.is_empty() || req.host.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HttpError::client("invalid host"));
    }
    if req.resource.is_empty() || !req.resource.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpError::client("invalid resource"));
    }
    if !is_valid_client_key(req.key) {
        return Err(HttpError::client("invalid Sec-WebSocket-Key"));
    }
    if !req.protocols.iter().all(|p| is_token(p.as_bytes())) {
        return Err(HttpError::client("subprotocol is not a token"));
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(req.resource.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_header(
        &mut out,
        "Host",
        &host_header(req.host, req.port, req.is_secure),
    );
    push_header(&mut out, "Upgrade", "websocket");
    push_header(&mut out, "Connection", "Upgrade");
    push_header(&mut out, "Sec-WebSocket-Key", req.key);
    push_header(&mut out, "Sec-WebSocket-Version", "13");
    let optional = [("User-Agent", req.useragent), ("Origin", req.origin)];
    for (name, value) in optional {
        if let Some(v) = value {
            check_header(name, v, INJECTION)?;
            push_header(&mut out, name, v);
        }
    }
    if !req.protocols.is_empty() {
        push_header(
            &mut out,
            "Sec-WebSocket-Protocol",
            &req.protocols.join(", "),
        );
    }
    if let Some(e) = req.extensions {
        check_header("Sec-WebSocket-Extensions", e, INJECTION)?;
        push_header(&mut out, "Sec-WebSocket-Extensions", e);
    }
    for (n, v) in req.extra {
        check_header(n, v, INJECTION)?;
        push_header(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// What the server agreed to, from a response that passed
/// [`validate_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeResponse {
    /// The subprotocol the server selected, if any (one of those offered).
    pub protocol: Option<String>,
    /// The extensions the server accepted, with their parameters, in order
    /// (names among those offered; parameter negotiation is the caller's).
    pub extensions: Vec<Extension>,
}

/// Client-side checks of the server's answer (RFC 6455 §4.1, "the client
/// MUST Fail the WebSocket Connection" list):
///
/// * status other than 101 → error whose `status` is the server's status
///   (the reason phrase and headers are in `resp` for the caller to report);
/// * otherwise errors have status [`HttpError::CLIENT`] (0): `Upgrade` missing
///   or anything but `websocket` (case-insensitive); `Connection` without the
///   token `upgrade`; `Sec-WebSocket-Accept` missing, repeated or not equal
///   to `accept_key(key)`; a `Sec-WebSocket-Protocol` repeated, not a single
///   token, or not one of `offered_protocols` (exact match; an empty value
///   counts as no subprotocol, as in AutobahnPython); malformed
///   `Sec-WebSocket-Extensions` or one naming an extension not in
///   `offered_extensions` (exact match).
pub fn validate_response(
    resp: &Response,
    key: &str,
    offered_protocols: &[String],
    offered_extensions: &[&str],
) -> Result<UpgradeResponse, HttpError> {
    if resp.status != 101 {
        return Err(HttpError::new(
            resp.status,
            "server did not switch protocols",
        ));
    }
    let h = &resp.headers;

    let upgrade = joined_header(h, "Upgrade").ok_or(HttpError::client("missing Upgrade header"))?;
    let upgrade =
        upgrade_protocols(&upgrade).ok_or(HttpError::client("malformed Upgrade header"))?;
    if upgrade.is_empty() || !upgrade.iter().all(|p| p.eq_ignore_ascii_case("websocket")) {
        return Err(HttpError::client("Upgrade header is not websocket"));
    }

    let connection =
        joined_header(h, "Connection").ok_or(HttpError::client("missing Connection header"))?;
    let connection = parse_token_list(&connection)
        .map_err(|_| HttpError::client("malformed Connection header"))?;
    if !list_has(&connection, "upgrade") {
        return Err(HttpError::client(
            "Connection header does not include upgrade",
        ));
    }

    let accept = single_header(
        h,
        "Sec-WebSocket-Accept",
        HttpError::client("duplicate Sec-WebSocket-Accept header"),
    )?
    .ok_or(HttpError::client("missing Sec-WebSocket-Accept header"))?;
    if accept != accept_key(key) {
        return Err(HttpError::client(
            "Sec-WebSocket-Accept does not match the key",
        ));
    }

    let protocol = match single_header(
        h,
        "Sec-WebSocket-Protocol",
        HttpError::client("duplicate Sec-WebSocket-Protocol header"),
    )? {
        None | Some("") => None,
        Some(p) => {
            if !is_token(p.as_bytes()) {
                return Err(HttpError::client(
                    "Sec-WebSocket-Protocol is not a single token",
                ));
            }
            if !offered_protocols.iter().any(|o| o == p) {
                return Err(HttpError::client(
                    "server selected a subprotocol that was not offered",
                ));
            }
            Some(p.to_owned())
        }
    };

    let extensions = match joined_header(h, "Sec-WebSocket-Extensions") {
        None => Vec::new(),
        Some(v) => parse_extensions(&v)
            .map_err(|_| HttpError::client("malformed Sec-WebSocket-Extensions header"))?,
    };
    if extensions
        .iter()
        .any(|(n, _)| !offered_extensions.contains(&n.as_str()))
    {
        return Err(HttpError::client(
            "server accepted an extension that was not offered",
        ));
    }

    Ok(UpgradeResponse {
        protocol,
        extensions,
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    type Headers = Vec<(String, String)>;

    const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    /// The RFC 6455 §1.2 sample request, as a list of header lines.
    fn base_headers() -> Vec<(String, String)> {
        [
            ("Host", "server.example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", SAMPLE_KEY),
            ("Origin", "http://example.com"),
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Version", "13"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    }

    fn head_bytes(first: &str, headers: &[(String, String)]) -> Vec<u8> {
        let mut s = format!("{first}\r\n");
        for (n, v) in headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    fn sample_request() -> Vec<u8> {
        head_bytes("GET /chat HTTP/1.1", &base_headers())
    }

    /// Validate a request built from the base headers, modified by `edit`.
    fn validate_with(
        first: &str,
        edit: impl FnOnce(&mut Vec<(String, String)>),
    ) -> Result<UpgradeRequest, HttpError> {
        let mut h = base_headers();
        edit(&mut h);
        validate_request(&parse_request(&head_bytes(first, &h))?)
    }

    fn status_with(edit: impl FnOnce(&mut Vec<(String, String)>)) -> u16 {
        validate_with("GET /chat HTTP/1.1", edit)
            .unwrap_err()
            .status
    }

    fn set(h: &mut Vec<(String, String)>, name: &str, value: &str) {
        h.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        h.push((name.to_owned(), value.to_owned()));
    }

    fn remove(h: &mut Vec<(String, String)>, name: &str) {
        h.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn add(h: &mut Vec<(String, String)>, name: &str, value: &str) {
        h.push((name.to_owned(), value.to_owned()));
    }

    /// Outcome of feeding `chunks` in order: the error, or the head plus the
    /// absolute input offset where the head ended, or "incomplete".
    #[derive(Debug, PartialEq)]
    enum Outcome {
        Done(Vec<u8>, usize),
        Incomplete(Vec<u8>),
        Failed(HttpError),
    }

    fn feed_chunks<'a>(limits: HeadLimits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
        let mut r = HeadReader::new(limits);
        let mut offset = 0;
        for chunk in chunks {
            match r.feed(chunk) {
                Ok(None) => offset += chunk.len(),
                Ok(Some(n)) => {
                    assert!(n <= chunk.len());
                    assert!(r.is_complete());
                    return Outcome::Done(r.head().to_vec(), offset + n);
                }
                Err(e) => {
                    // Sticky.
                    assert_eq!(r.feed(b"x"), Err(e));
                    return Outcome::Failed(e);
                }
            }
        }
        Outcome::Incomplete(r.head().to_vec())
    }

    fn feed_split(limits: HeadLimits, data: &[u8], split: usize) -> Outcome {
        feed_chunks(limits, [&data[..split], &data[split..]])
    }

    fn feed_bytewise(limits: HeadLimits, data: &[u8]) -> Outcome {
        feed_chunks(limits, data.chunks(1))
    }

    // -- keys ---------------------------------------------------------------

    #[test]
    fn handshake_accept_key_rfc_sample() {
        assert_eq!(accept_key(SAMPLE_KEY), SAMPLE_ACCEPT);
    }

    #[test]
    fn handshake_generate_client_key() {
        let k = generate_client_key(*b"the sample nonce");
        assert_eq!(k, SAMPLE_KEY);
        assert!(is_valid_client_key(&generate_client_key([0xff; 16])));
    }

    // -- head reader ----------------------------------------------------------

    #[test]
    fn handshake_reader_whole_bytewise_and_every_split_agree() {
        let head = sample_request();
        let frame = [0x81u8, 0x85, 1, 2, 3, 4, 0x49, 0x67, 0x6f, 0x68, 0x6e];
        let mut data = head.clone();
        data.extend_from_slice(&frame);
        let limits = HeadLimits::default();

        let whole = feed_chunks(limits, [&data[..]]);
        assert_eq!(whole, Outcome::Done(head.clone(), head.len()));
        assert_eq!(feed_bytewise(limits, &data), whole);
        for split in 0..=data.len() {
            assert_eq!(feed_split(limits, &data, split), whole, "split at {split}");
        }

        // The leftover is exactly the frame bytes, in the chunk that finished.
        let mut r = HeadReader::default();
        let n = r.feed(&data).unwrap().unwrap();
        assert_eq!(&data[n..], &frame);
        assert_eq!(r.head(), &head[..]);
        assert_eq!(r.feed(b"more"), Ok(Some(0)));

        let req = parse_request(r.head()).unwrap();
        let up = validate_request(&req).unwrap();
        assert_eq!(up.path, "/chat");
        assert_eq!(up.host, "server.example.com");
        assert_eq!(up.protocols, vec!["chat", "superchat"]);
        assert_eq!(up.origin.as_deref(), Some("http://example.com"));
    }

    #[test]
    fn handshake_reader_line_level_errors() {
        let l = HeadLimits::default();
        let bare_lf = b"GET / HTTP/1.1\nHost: x\r\n\r\n";
        assert!(matches!(feed_bytewise(l, bare_lf), Outcome::Failed(e) if e.status == 400));
        let bare_cr = b"GET / HTTP/1.1\rHost: x\r\n\r\n";
        assert!(matches!(feed_bytewise(l, bare_cr), Outcome::Failed(e) if e.status == 400));
        let leading_empty = b"\r\nGET / HTTP/1.1\r\n\r\n";
        assert!(matches!(feed_bytewise(l, leading_empty), Outcome::Failed(e) if e.status == 400));
        assert_eq!(
            feed_bytewise(l, b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Outcome::Incomplete(b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec())
        );
        let mut r = HeadReader::default();
        assert_eq!(r.feed(b""), Ok(None));
    }

    #[test]
    fn handshake_limit_request_line_414() {
        let l = HeadLimits::default();
        // "GET /aaa... HTTP/1.1" of exactly max_line bytes is fine...
        let pad = l.max_line - "GET / HTTP/1.1".len();
        let ok = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(pad));
        assert!(matches!(feed_chunks(l, [ok.as_bytes()]), Outcome::Done(..)));
        // ...one more byte is 414, and it fails without waiting for the CRLF.
        let long = format!("GET /{} HTTP/1.1", "a".repeat(pad + 1));
        let e = HttpError::new(414, "request line too long");
        assert_eq!(feed_chunks(l, [long.as_bytes()]), Outcome::Failed(e));
    }

    #[test]
    fn handshake_limit_header_line_431() {
        let l = HeadLimits::default();
        let long = format!(
            "GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n",
            "v".repeat(l.max_line)
        );
        assert!(matches!(feed_chunks(l, [long.as_bytes()]), Outcome::Failed(e) if e.status == 431));
    }

    #[test]
    fn handshake_limit_endless_header_fails_within_max_line() {
        let l = HeadLimits::default();
        let mut r = HeadReader::new(l);
        let prefix = b"GET / HTTP/1.1\r\nX-Endless: ";
        assert_eq!(r.feed(prefix), Ok(None));
        let mut fed = "X-Endless: ".len();
        let err = loop {
            match r.feed(b"z") {
                Ok(None) => fed += 1,
                Ok(Some(_)) => panic!("an endless line cannot complete"),
                Err(e) => break e,
            }
            assert!(
                fed <= l.max_line,
                "still reading after {fed} bytes of one line"
            );
        };
        assert_eq!(err.status, 431);
        assert_eq!(fed, l.max_line);
    }

    #[test]
    fn handshake_limit_header_count_431() {
        let l = HeadLimits::default();
        let mut h: Vec<(String, String)> = (0..l.max_headers)
            .map(|i| (format!("X-H{i}"), "v".to_owned()))
            .collect();
        let ok = head_bytes("GET / HTTP/1.1", &h);
        assert!(matches!(feed_chunks(l, [&ok[..]]), Outcome::Done(..)));
        h.push(("X-One-Too-Many".to_owned(), "v".to_owned()));
        let bad = head_bytes("GET / HTTP/1.1", &h);
        let e = HttpError::new(431, "too many header fields");
        assert_eq!(feed_chunks(l, [&bad[..]]), Outcome::Failed(e));
        assert_eq!(feed_bytewise(l, &bad), Outcome::Failed(e));
    }

    #[test]
    fn handshake_limit_total_431() {
        let l = HeadLimits::default();
        let h: Vec<(String, String)> = (0..10)
            .map(|i| (format!("X-H{i}"), "v".repeat(2000)))
            .collect();
        let bad = head_bytes("GET / HTTP/1.1", &h);
        let e = HttpError::new(431, "HTTP head too large");
        assert_eq!(feed_chunks(l, [&bad[..]]), Outcome::Failed(e));
        // Exactly max_total bytes is allowed.
        let small = HeadLimits { max_total: 30, ..l };
        let thirty = b"GET / HTTP/1.1\r\nHost: abcd\r\n\r\n";
        assert_eq!(thirty.len(), 30);
        assert!(matches!(
            feed_chunks(small, [&thirty[..]]),
            Outcome::Done(..)
        ));
        let thirty_one = b"GET / HTTP/1.1\r\nHost: abcde\r\n\r\n";
        assert!(
            matches!(feed_chunks(small, [&thirty_one[..]]), Outcome::Failed(e) if e.status == 431)
        );
    }

    // -- parsing --------------------------------------------------------------

    #[test]
    fn handshake_parse_request_fields() {
        let head = b"GET /a?b=c HTTP/1.1\r\nHost:  x.org \t\r\nX-Empty:\r\nx-multi: 1\r\nX-Multi: 2\r\n\r\n";
        let r = parse_request(head).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/a?b=c");
        assert_eq!(r.version, "HTTP/1.1");
        assert_eq!(r.header("host"), Some("x.org"));
        assert_eq!(r.header("X-EMPTY"), Some(""));
        assert_eq!(r.header("x-multi"), Some("1"));
        assert_eq!(r.header_all("X-Multi").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(r.headers[2].0, "x-multi"); // names as sent
        assert_eq!(r.header("missing"), None);
    }

    #[test]
    fn handshake_parse_request_rejects_malformed() {
        let bad: &[&[u8]] = &[
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET / HTTP/1.1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\n\r\n",
            b"GET /\xe9 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\nX: a\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\nX: after the end\r\n\r\n",
            b"",
        ];
        for head in bad {
            let e = parse_request(head).expect_err(&String::from_utf8_lossy(head));
            assert_eq!(e.status, 400, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn handshake_parse_latin1_values() {
        let head = b"GET / HTTP/1.1\r\nX-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\n\r\n";
        let r = parse_request(head).unwrap();
        assert_eq!(r.header("X-Latin"), Some("caf\u{e9}"));
        // UTF-8 is not special: each byte is one latin-1 character, so the
        // original bytes are recoverable.
        assert_eq!(r.header("X-Utf8"), Some("caf\u{c3}\u{a9}"));
    }

    #[test]
    fn handshake_parse_response() {
        let r = parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
        assert_eq!((r.status, r.reason.as_str()), (101, "Switching Protocols"));
        assert_eq!(r.header("upgrade"), Some("websocket"));
        let r = parse_response(b"HTTP/1.1 404\r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (404, ""));
        let r = parse_response(b"HTTP/1.1 200 \r\n\r\n").unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, ""));
        for bad in [
            &b"HTTP/1.1 1010 X\r\n\r\n"[..],
            b"HTTP/1.1 10 X\r\n\r\n",
            b"HTTP/1.1 099 X\r\n\r\n",
            b"HTTP/1.1  101 X\r\n\r\n",
            b"ICY 200 OK\r\n\r\n",
            b"HTTP/1.1 101 OK\r\nBad Name: x\r\n\r\n",
        ] {
            let e = parse_response(bad).unwrap_err();
            assert_eq!(e.status, HttpError::CLIENT);
        }
    }

    // -- header grammars ------------------------------------------------------

    #[test]
    fn handshake_token_list() {
        assert_eq!(
            parse_token_list("keep-alive, Upgrade").unwrap(),
            ["keep-alive", "Upgrade"]
        );
        assert_eq!(parse_token_list(" ,a,,\t b ,").unwrap(), ["a", "b"]);
        assert!(parse_token_list("").unwrap().is_empty());
        assert_eq!(parse_token_list("a b").unwrap_err().status, 400);
        assert!(parse_token_list("a, \"b\"").is_err());
        assert!(parse_token_list("a/b").is_err());
    }

    fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        (
            name.to_owned(),
            params
                .iter()
                .map(|(p, v)| (p.to_string(), v.map(str::to_owned)))
                .collect(),
        )
    }

    #[test]
    fn handshake_extensions_rfc7692_examples() {
        assert_eq!(
            parse_extensions("permessage-deflate; client_max_window_bits").unwrap(),
            [ext(
                "permessage-deflate",
                &[("client_max_window_bits", None)]
            )]
        );
        assert_eq!(
            parse_extensions("permessage-deflate; server_max_window_bits=\"10\"").unwrap(),
            [ext(
                "permessage-deflate",
                &[("server_max_window_bits", Some("10"))]
            )]
        );
        assert_eq!(
            parse_extensions(
                "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
                 permessage-deflate; client_max_window_bits"
            )
            .unwrap(),
            [
                ext(
                    "permessage-deflate",
                    &[
                        ("client_max_window_bits", None),
                        ("server_max_window_bits", Some("10"))
                    ]
                ),
                ext("permessage-deflate", &[("client_max_window_bits", None)]),
            ]
        );
        assert_eq!(
            parse_extensions("foo ;a = 1 ; b=\"x\\yz\",, bar\t,").unwrap(),
            [
                ext("foo", &[("a", Some("1")), ("b", Some("xyz"))]),
                ext("bar", &[])
            ]
        );
        assert!(parse_extensions("").unwrap().is_empty());
        for bad in [
            "permessage-deflate; x=\"1 0\"", // quoted value not a token
            "permessage-deflate; x=\"10",    // unterminated
            "permessage-deflate; x=\"10\\",  // dangling escape
            "permessage-deflate; =1",
            "permessage-deflate;",
            "permessage-deflate; x=",
            "; x",
            "a b",
            "a; x=1 y",
            "a; x=\"1\"\"2\"",
            "p\u{e9}",
        ] {
            assert_eq!(parse_extensions(bad).unwrap_err().status, 400, "{bad:?}");
        }
    }

    /// Inputs built to make a backtracking or rescanning parser go quadratic.
    fn pathological(n: usize) -> Vec<(&'static str, String)> {
        vec![
            (
                "ext spaces",
                format!(
                    "a{}; b{}=c{},d",
                    " ".repeat(n),
                    " ".repeat(n),
                    " ".repeat(n)
                ),
            ),
            ("ext spaces bad", format!("a{}b", " ".repeat(n))),
            (
                "ext unclosed quote",
                format!("a; b=\"{}", "\\\\".repeat(n / 2)),
            ),
            (
                "ext many params",
                "e; p=\"1\"".to_owned() + &"; p".repeat(n / 3),
            ),
            ("ext many commas", ",".repeat(n) + "x"),
            (
                "list spaces",
                format!("a{}, b{}", " ".repeat(n), " ".repeat(n)),
            ),
            ("list many", "a, ".repeat(n / 3)),
            ("list spaces bad", format!("a{}b", " ".repeat(n))),
        ]
    }

    fn run_pathological(n: usize) -> Duration {
        let inputs = pathological(n);
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            for (what, s) in &inputs {
                let s = std::hint::black_box(s);
                if what.starts_with("ext") {
                    let _ = std::hint::black_box(parse_extensions(s));
                } else {
                    let _ = std::hint::black_box(parse_token_list(s));
                }
            }
            best = best.min(t.elapsed());
        }
        best
    }

    #[test]
    fn handshake_grammar_linear_time() {
        // Sanity: the shapes parse or fail as intended at 64 KiB.
        for (what, s) in pathological(64 * 1024) {
            let ok = parse_extensions(&s).is_ok();
            let expect_ok = !what.contains("bad") && !what.contains("unclosed");
            if what.starts_with("ext") {
                assert_eq!(ok, expect_ok, "{what}");
            } else {
                assert_eq!(parse_token_list(&s).is_ok(), expect_ok, "{what}");
            }
        }
        // 8x the input must cost well under 64x the time (quadratic would)
        // even in a debug build on a busy machine: min of 3 runs, a generous
        // ratio, and anything that handles 512 KiB inputs in under 50 ms
        // cannot be quadratic anyway.
        let small = run_pathological(64 * 1024);
        let big = run_pathological(512 * 1024);
        assert!(
            big < Duration::from_millis(50) || big < small * 24,
            "8x input took {big:?} vs {small:?}"
        );
        assert!(big < Duration::from_secs(5), "512 KiB inputs took {big:?}");
    }

    #[test]
    fn handshake_validate_large_pathological_headers_quickly() {
        // 64 KiB values through the whole server path (limits raised).
        let limits = HeadLimits {
            max_line: 1 << 20,
            max_headers: 128,
            max_total: 1 << 20,
        };
        let n = 64 * 1024;
        let cases = [
            (
                "Sec-WebSocket-Protocol",
                format!("a{}, b", " ".repeat(n)),
                true,
            ),
            (
                "Sec-WebSocket-Extensions",
                format!("x{};{}y", " ".repeat(n), " ".repeat(n)),
                true,
            ),
            (
                "Sec-WebSocket-Extensions",
                format!("x; y=\"{}", "\\\\".repeat(n / 2)),
                false,
            ),
            (
                "Sec-WebSocket-Protocol",
                format!("a{}b", " ".repeat(n)),
                false,
            ),
        ];
        for (name, value, ok) in cases {
            let t = Instant::now();
            let mut h = base_headers();
            set(&mut h, name, &value);
            let data = head_bytes("GET /chat HTTP/1.1", &h);
            let mut r = HeadReader::new(limits);
            assert_eq!(r.feed(&data), Ok(Some(data.len())));
            let result = validate_request(&parse_request(r.head()).unwrap());
            assert_eq!(result.is_ok(), ok, "{name}");
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "{name}: {:?}",
                t.elapsed()
            );
        }
    }

    #[test]
    fn handshake_reader_linear_time_bytewise() {
        let limits = HeadLimits {
            max_line: usize::MAX,
            max_headers: usize::MAX,
            max_total: usize::MAX,
        };
        let mut data = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..20_000 {
            data.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(40)).as_bytes());
        }
        data.extend_from_slice(b"\r\n");
        let t = Instant::now();
        let out = feed_bytewise(limits, &data);
        assert_eq!(out, Outcome::Done(data.clone(), data.len()));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    // -- server-side validation -----------------------------------------------

    #[test]
    fn handshake_validate_ok_variants() {
        let up = validate_with("GET /chat?x=1&y HTTP/1.1", |h| {
            set(h, "Connection", "keep-alive, Upgrade");
            set(h, "Upgrade", "WebSocket");
            add(h, "Sec-WebSocket-Protocol", "third");
            add(
                h,
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            );
            add(h, "Sec-WebSocket-Extensions", "x-foo");
        })
        .unwrap();
        assert_eq!(up.path, "/chat");
        assert_eq!(up.query, "x=1&y");
        assert_eq!(up.key, SAMPLE_KEY);
        assert_eq!(up.version, 13);
        assert_eq!(up.protocols, ["chat", "superchat", "third"]);
        assert_eq!(
            up.extensions,
            [
                ext("permessage-deflate", &[("client_max_window_bits", None)]),
                ext("x-foo", &[])
            ]
        );

        // Header names are case-insensitive; Origin is optional; Upgrade may
        // list several protocols; Connection may be repeated.
        let up = validate_with("GET ws://server.example.com HTTP/1.1", |h| {
            remove(h, "Origin");
            remove(h, "Sec-WebSocket-Protocol");
            set(h, "upgrade", "h2c, websocket/13, websocket");
            set(h, "CONNECTION", "keep-alive");
            add(h, "Connection", "upgrade");
            set(h, "sec-websocket-key", SAMPLE_KEY);
            add(h, "Content-Length", "0");
        })
        .unwrap();
        assert_eq!((up.path.as_str(), up.query.as_str()), ("/", ""));
        assert_eq!(up.origin, None);
        assert!(up.protocols.is_empty());
        assert!(validate_with("GET /chat HTTP/1.2", |_| {}).is_ok());
    }

    #[test]
    fn handshake_validate_error_statuses() {
        let first = |line: &str| validate_with(line, |_| {}).unwrap_err().status;
        assert_eq!(first("POST /chat HTTP/1.1"), 405);
        assert_eq!(first("get /chat HTTP/1.1"), 405);
        assert_eq!(first("GET /chat HTTP/1.0"), 505);
        assert_eq!(first("GET /chat HTTP/0.9"), 505);
        assert_eq!(first("GET /chat HTTP/2.0"), 505);
        assert_eq!(first("GET /chat HTTP/2"), 505);
        assert_eq!(first("GET /chat#frag HTTP/1.1"), 400);
        assert_eq!(first("GET chat HTTP/1.1"), 400);
        assert_eq!(first("GET ftp://x/chat HTTP/1.1"), 400);
        assert_eq!(first("GET * HTTP/1.1"), 400);

        // Host
        assert_eq!(status_with(|h| remove(h, "Host")), 400);
        assert_eq!(status_with(|h| add(h, "Host", "other.example.com")), 400);
        assert_eq!(status_with(|h| set(h, "Host", "")), 400);
        // Upgrade / Connection
        assert_eq!(status_with(|h| remove(h, "Upgrade")), 400);
        assert_eq!(status_with(|h| set(h, "Upgrade", "h2c")), 400);
        assert_eq!(status_with(|h| set(h, "Upgrade", "web socket")), 400);
        assert_eq!(status_with(|h| remove(h, "Connection")), 400);
        assert_eq!(status_with(|h| set(h, "Connection", "keep-alive")), 400);
        assert_eq!(status_with(|h| set(h, "Connection", "upgrade;")), 400);
        // Version
        assert_eq!(status_with(|h| set(h, "Sec-WebSocket-Version", "8")), 426);
        assert_eq!(status_with(|h| set(h, "Sec-WebSocket-Version", "12")), 426);
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Version", "13, 8")),
            426
        );
        assert_eq!(status_with(|h| remove(h, "Sec-WebSocket-Version")), 426);
        assert_eq!(status_with(|h| add(h, "Sec-WebSocket-Version", "13")), 400);
        // Key
        assert_eq!(status_with(|h| remove(h, "Sec-WebSocket-Key")), 400);
        assert_eq!(
            status_with(|h| add(h, "Sec-WebSocket-Key", SAMPLE_KEY)),
            400
        );
        // 15 and 17 bytes.
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA")),
            400
        );
        // Non-base64, missing padding, non-canonical trailing bits.
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ!!")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=A")),
            400
        );
        // Origin
        assert_eq!(
            status_with(|h| add(h, "Origin", "http://evil.example")),
            400
        );
        // Protocol / extensions grammar
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Protocol", "a b")),
            400
        );
        assert_eq!(
            status_with(|h| set(h, "Sec-WebSocket-Extensions", "x; =")),
            400
        );
        // Body
        assert_eq!(status_with(|h| add(h, "Content-Length", "5")), 400);
        assert_eq!(status_with(|h| add(h, "Transfer-Encoding", "chunked")), 400);
    }

    // -- building -------------------------------------------------------------

    #[test]
    fn handshake_build_accept_response() {
        let out = build_accept_response(
            SAMPLE_KEY,
            Some("ferrobahn/0.1"),
            Some("chat"),
            Some("permessage-deflate"),
            &[("X-A".to_owned(), "1".to_owned())],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Server: ferrobahn/0.1\r\n\
             Sec-WebSocket-Protocol: chat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\
             X-A: 1\r\n\r\n"
        );
        let minimal = build_accept_response(SAMPLE_KEY, None, None, None, &[]).unwrap();
        assert!(minimal.ends_with(b"xOo=\r\n\r\n"));
    }

    #[test]
    fn handshake_build_rejects_header_injection() {
        let inj = |n: &str, v: &str| [(n.to_owned(), v.to_owned())];
        let b = |server: Option<&str>,
                 proto: Option<&str>,
                 ext: Option<&str>,
                 extra: &[(String, String)]| {
            build_accept_response(SAMPLE_KEY, server, proto, ext, extra)
        };
        assert_eq!(
            b(Some("x\r\nSet-Cookie: a=b"), None, None, &[])
                .unwrap_err()
                .status,
            500
        );
        assert!(b(None, Some("chat\r\nX: y"), None, &[]).is_err());
        assert!(b(None, Some("two words"), None, &[]).is_err());
        assert!(b(None, None, Some("a\nb"), &[]).is_err());
        assert!(b(None, None, None, &inj("X", "a\rb")).is_err());
        assert!(b(None, None, None, &inj("X", "a\0b")).is_err());
        assert!(b(None, None, None, &inj("X\r\nY", "v")).is_err());
        assert!(b(None, None, None, &inj("X Y", "v")).is_err());
        assert!(b(None, None, None, &inj("", "v")).is_err());

        let protocols = vec!["chat".to_owned()];
        let base = ClientRequest {
            host: "example.com",
            port: 80,
            is_secure: false,
            resource: "/",
            key: SAMPLE_KEY,
            useragent: None,
            origin: None,
            protocols: &protocols,
            extensions: None,
            extra: &[],
        };
        assert!(build_request(&base).is_ok());
        let extra = inj("X", "1\r\nEvil: 1");
        let bad_protocols = vec!["chat\r\nX: 1".to_owned()];
        for bad in [
            ClientRequest {
                useragent: Some("ua\r\nX: 1"),
                ..base
            },
            ClientRequest {
                origin: Some("o\nX: 1"),
                ..base
            },
            ClientRequest {
                extensions: Some("e\r\n"),
                ..base
            },
            ClientRequest {
                extra: &extra,
                ..base
            },
            ClientRequest {
                protocols: &bad_protocols,
                ..base
            },
            ClientRequest {
                resource: "/ HTTP/1.1\r\nX: y",
                ..base
            },
            ClientRequest {
                resource: "",
                ..base
            },
            ClientRequest {
                host: "a\r\nX: y",
                ..base
            },
            ClientRequest { host: "", ..base },
            ClientRequest {
                key: "short",
                ..base
            },
        ] {
            assert_eq!(
                build_request(&bad).unwrap_err().status,
                HttpError::CLIENT,
                "{bad:?}"
            );
        }
    }

    /// The response head in `bytes` (a body may follow), parsed.
    fn response_head(bytes: &[u8]) -> Response {
        let mut r = HeadReader::default();
        assert!(r.feed(bytes).unwrap().is_some());
        parse_response(r.head()).unwrap()
    }

    #[test]
    fn handshake_build_error_response() {
        let out = String::from_utf8(build_error_response(
            426,
            "unsupported Sec-WebSocket-Version",
            &[],
        ))
        .unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 426 unsupported Sec-WebSocket-Version\r\n"));
        assert!(head.contains("\r\nSec-WebSocket-Version: 13"));
        assert!(head.contains("\r\nConnection: close"));
        assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        let resp = response_head(out.as_bytes());
        assert_eq!(resp.status, 426);
        assert_eq!(resp.header_all("Sec-WebSocket-Version").count(), 1);

        // Caller-supplied version header is not duplicated.
        let extra = [("Sec-WebSocket-Version".to_owned(), "13".to_owned())];
        let out = build_error_response(426, "", &extra);
        let resp = response_head(&out);
        assert_eq!(resp.reason, "Upgrade Required");
        assert_eq!(resp.header_all("sec-websocket-version").count(), 1);

        // 405 advertises GET.
        let resp = response_head(&build_error_response(405, "nope", &[]));
        assert_eq!(resp.header("Allow"), Some("GET"));

        // Nothing can break the framing.
        let extra = [
            ("X-Ok".to_owned(), "a\r\nInjected: 1".to_owned()),
            ("Bad Name".to_owned(), "v".to_owned()),
            ("Content-Length".to_owned(), "999".to_owned()),
        ];
        let out = build_error_response(400, "bad\r\nInjected: 1", &extra);
        let mut r = HeadReader::default();
        let n = r.feed(&out).unwrap().unwrap();
        let resp = parse_response(r.head()).unwrap();
        assert_eq!(resp.status, 400);
        assert_eq!(resp.header("Injected"), None);
        assert_eq!(resp.header("X-Ok"), Some("a  Injected: 1"));
        assert_eq!(resp.header_all("Content-Length").count(), 1);
        let len: usize = resp.header("Content-Length").unwrap().parse().unwrap();
        assert_eq!(out.len() - n, len);

        // Out-of-range status; body-less status.
        assert!(build_error_response(42, "x", &[]).starts_with(b"HTTP/1.1 500 x\r\n"));
        let out = build_error_response(304, "", &[]);
        assert!(out.ends_with(b"\r\n\r\n"));
        assert!(parse_response(&out)
            .unwrap()
            .header("Content-Length")
            .is_none());
    }

    // -- client side ------------------------------------------------------------

    #[test]
    fn handshake_build_request_host_header() {
        let host_of = |host: &str, port: u16, is_secure: bool| {
            let out = build_request(&ClientRequest {
                host,
                port,
                is_secure,
                resource: "/",
                key: SAMPLE_KEY,
                useragent: None,
                origin: None,
                protocols: &[],
                extensions: None,
                extra: &[],
            })
            .unwrap();
            parse_request(&out)
                .unwrap()
                .header("Host")
                .unwrap()
                .to_owned()
        };
        assert_eq!(host_of("example.com", 80, false), "example.com");
        assert_eq!(host_of("example.com", 443, true), "example.com");
        assert_eq!(host_of("example.com", 443, false), "example.com:443");
        assert_eq!(host_of("example.com", 80, true), "example.com:80");
        assert_eq!(host_of("::1", 9000, false), "[::1]:9000");
        assert_eq!(host_of("[::1]", 9000, false), "[::1]:9000");
        assert_eq!(host_of("::1", 80, false), "[::1]");
    }

    #[test]
    fn handshake_round_trip_both_roles() {
        let key = generate_client_key(*b"0123456789abcdef");
        let protocols = vec!["wamp.2.json".to_owned(), "chat".to_owned()];
        let extra = [("X-Trace".to_owned(), "42".to_owned())];
        let request = build_request(&ClientRequest {
            host: "localhost",
            port: 9000,
            is_secure: false,
            resource: "/ws?token=abc",
            key: &key,
            useragent: Some("ferrobahn/0.1"),
            origin: Some("http://localhost"),
            protocols: &protocols,
            extensions: Some("permessage-deflate; client_max_window_bits"),
            extra: &extra,
        })
        .unwrap();
        let text = String::from_utf8(request.clone()).unwrap();
        assert!(text.starts_with(
            "GET /ws?token=abc HTTP/1.1\r\nHost: localhost:9000\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: "
        ));
        assert!(text.contains("\r\nSec-WebSocket-Protocol: wamp.2.json, chat\r\n"));

        // Server.
        let mut r = HeadReader::default();
        assert_eq!(r.feed(&request), Ok(Some(request.len())));
        let req = parse_request(r.head()).unwrap();
        assert_eq!(req.header("X-Trace"), Some("42"));
        let up = validate_request(&req).unwrap();
        assert_eq!((up.path.as_str(), up.query.as_str()), ("/ws", "token=abc"));
        assert_eq!(up.host, "localhost:9000");
        assert_eq!(up.protocols, protocols);
        assert_eq!(up.extensions[0].0, "permessage-deflate");
        let response =
            build_accept_response(&up.key, None, Some("chat"), Some("permessage-deflate"), &[])
                .unwrap();

        // Client.
        let mut r = HeadReader::default();
        let mut data = response.clone();
        data.extend_from_slice(&[0x81, 0x00]);
        assert_eq!(r.feed(&data), Ok(Some(response.len())));
        let resp = parse_response(r.head()).unwrap();
        let ok = validate_response(&resp, &key, &protocols, &["permessage-deflate"]).unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("chat"));
        assert_eq!(ok.extensions, [ext("permessage-deflate", &[])]);
    }

    #[test]
    fn handshake_validate_response_errors() {
        let offered = vec!["chat".to_owned()];
        let check = |status_line: &str, edit: &dyn Fn(&mut Headers)| {
            let mut h: Vec<(String, String)> = [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", SAMPLE_ACCEPT),
            ]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
            edit(&mut h);
            let resp = parse_response(&head_bytes(status_line, &h)).unwrap();
            validate_response(&resp, SAMPLE_KEY, &offered, &["permessage-deflate"])
        };
        let ok = "HTTP/1.1 101 Switching Protocols";
        assert_eq!(
            check(ok, &|_| {}).unwrap(),
            UpgradeResponse {
                protocol: None,
                extensions: vec![]
            }
        );
        assert!(check(ok, &|h| set(h, "Upgrade", "WebSocket")).is_ok());
        assert!(check(ok, &|h| set(h, "Connection", "keep-alive, upgrade")).is_ok());
        assert!(check(ok, &|h| set(h, "Sec-WebSocket-Protocol", "")).is_ok());

        let e = check("HTTP/1.1 403 Forbidden", &|_| {}).unwrap_err();
        assert_eq!(e.status, 403);
        assert_eq!(check("HTTP/1.1 200 OK", &|_| {}).unwrap_err().status, 200);

        let client_err = |edit: &dyn Fn(&mut Headers)| check(ok, edit).unwrap_err().status;
        assert_eq!(client_err(&|h| remove(h, "Upgrade")), 0);
        assert_eq!(client_err(&|h| set(h, "Upgrade", "h2c")), 0);
        assert_eq!(client_err(&|h| set(h, "Upgrade", "websocket, h2c")), 0);
        assert_eq!(client_err(&|h| remove(h, "Connection")), 0);
        assert_eq!(client_err(&|h| set(h, "Connection", "close")), 0);
        assert_eq!(client_err(&|h| remove(h, "Sec-WebSocket-Accept")), 0);
        assert_eq!(
            client_err(&|h| set(h, "Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
            0
        );
        assert_eq!(
            client_err(&|h| add(h, "Sec-WebSocket-Accept", SAMPLE_ACCEPT)),
            0
        );
        assert_eq!(
            client_err(&|h| set(h, "Sec-WebSocket-Protocol", "superchat")),
            0
        );
        assert_eq!(
            client_err(&|h| set(h, "Sec-WebSocket-Protocol", "chat, chat")),
            0
        );
        assert_eq!(
            client_err(&|h| set(h, "Sec-WebSocket-Extensions", "x-webkit-deflate-frame")),
            0
        );
        assert_eq!(
            client_err(&|h| set(h, "Sec-WebSocket-Extensions", "permessage-deflate; =")),
            0
        );

        let e = check(ok, &|h| {
            set(h, "Sec-WebSocket-Protocol", "chat");
            set(
                h,
                "Sec-WebSocket-Extensions",
                "permessage-deflate; server_no_context_takeover",
            );
        })
        .unwrap();
        assert_eq!(e.protocol.as_deref(), Some("chat"));
        assert_eq!(
            e.extensions,
            [ext(
                "permessage-deflate",
                &[("server_no_context_takeover", None)]
            )]
        );
    }

    #[test]
    fn handshake_error_display() {
        assert_eq!(HttpError::new(426, "x").to_string(), "HTTP 426 x");
        assert_eq!(
            HttpError::client("y").to_string(),
            "WebSocket handshake failed: y"
        );
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
    }

    // -- properties -------------------------------------------------------------

    /// Bytes biased towards the interesting ones for a head parser.
    fn head_like_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"\r\n :;,=\"\\\t/?GETHTP1.".to_vec()),
            1 => any::<u8>(),
        ];
        let prefix = prop_oneof![
            Just(Vec::new()),
            Just(b"GET / HTTP/1.1\r\n".to_vec()),
            Just(b"HTTP/1.1 101 OK\r\n".to_vec()),
        ];
        (prefix, prop::collection::vec(byte, 0..400)).prop_map(|(mut p, rest)| {
            p.extend(rest);
            p
        })
    }

    proptest! {
        #[test]
        fn handshake_prop_parsers_never_panic(data in head_like_bytes()) {
            let _ = parse_request(&data);
            let _ = parse_response(&data);
            let s = latin1(&data);
            let _ = parse_token_list(&s);
            let _ = parse_extensions(&s);
            if let Ok(req) = parse_request(&data) {
                let _ = validate_request(&req);
            }
            if let Ok(resp) = parse_response(&data) {
                let _ = validate_response(&resp, SAMPLE_KEY, &[], &[]);
            }
        }

        #[test]
        fn handshake_prop_parse_request_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_request(&data);
            let _ = parse_response(&data);
        }

        #[test]
        fn handshake_prop_reader_split_invariant(
            data in head_like_bytes(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            max_line in 4usize..64,
            max_headers in 0usize..8,
            max_total in 8usize..256,
        ) {
            let limits = HeadLimits { max_line, max_headers, max_total };
            let whole = feed_chunks(limits, [&data[..]]);
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for p in points {
                chunks.push(&data[prev..p]);
                prev = p;
            }
            chunks.push(&data[prev..]);
            prop_assert_eq!(&feed_chunks(limits, chunks), &whole);
            prop_assert_eq!(&feed_bytewise(limits, &data), &whole);
            // A completed head is always parseable at the line level and
            // never longer than the limit.
            if let Outcome::Done(head, end) = &whole {
                prop_assert_eq!(&data[..*end], &head[..]);
                prop_assert!(head.len() <= max_total);
                prop_assert!(head.ends_with(b"\r\n\r\n"));
            }
        }

        #[test]
        fn handshake_prop_valid_key_round_trip(bytes in any::<[u8; 16]>()) {
            let key = generate_client_key(bytes);
            prop_assert!(is_valid_client_key(&key));
            prop_assert_eq!(accept_key(&key).len(), 28);
        }
    }
}
