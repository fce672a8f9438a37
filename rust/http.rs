//! HTTP/1.1 heads (RFC 7230 §3), sans-I/O: reading them off the wire, parsing
//! them, and the header value grammars the WebSocket handshake needs.
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
//!
//! What a WebSocket endpoint does with a parsed head (RFC 6455 §4) is in
//! [`crate::handshake`].
//!
//! # Errors and status codes
//!
//! Everything here and in [`crate::handshake`] fails with [`HttpError`]. On
//! the server side `status` is the HTTP status to answer with (400, 405, 414,
//! 426, 431, 505; 500 when *we* were asked to build something malformed) and
//! `reason` is a short English description that can double as the reason
//! phrase, as AutobahnPython does.
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

use std::fmt;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// An HTTP or handshake failure: an HTTP status plus a short, fixed
/// description.
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

    pub(crate) const fn bad_request(reason: &'static str) -> Self {
        HttpError::new(400, reason)
    }

    pub(crate) const fn client(reason: &'static str) -> Self {
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

/// The standard reason phrase for the statuses this module and
/// [`crate::handshake`] produce (and a few common others), for callers that
/// prefer it over [`HttpError::reason`].
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
pub(crate) fn is_token(s: &[u8]) -> bool {
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
pub(crate) fn is_forbidden_in_value(b: u8) -> bool {
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
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// All values of header `name` (ASCII case-insensitive), in order.
pub(crate) fn find_headers<'a>(
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
/// that [`validate_request`](crate::handshake::validate_request) can answer
/// them with 505 rather than 400.
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
// Tests
// ---------------------------------------------------------------------------

/// The tests, and the fixtures `handshake`'s tests share with them.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    pub(crate) type Headers = Vec<(String, String)>;

    /// The RFC 6455 §1.2 sample client key.
    pub(crate) const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// The RFC 6455 §1.2 sample request, as a list of header lines.
    pub(crate) fn base_headers() -> Headers {
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

    pub(crate) fn head_bytes(first: &str, headers: &[(String, String)]) -> Vec<u8> {
        let mut s = format!("{first}\r\n");
        for (n, v) in headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    /// The RFC 6455 §1.2 sample request head.
    pub(crate) fn sample_request() -> Vec<u8> {
        head_bytes("GET /chat HTTP/1.1", &base_headers())
    }

    pub(crate) fn ext(name: &str, params: &[(&str, Option<&str>)]) -> Extension {
        (
            name.to_owned(),
            params
                .iter()
                .map(|(p, v)| (p.to_string(), v.map(str::to_owned)))
                .collect(),
        )
    }

    /// Bytes biased towards the interesting ones for a head parser.
    pub(crate) fn head_like_bytes() -> impl Strategy<Value = Vec<u8>> {
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

    // -- head reader ----------------------------------------------------------

    #[test]
    fn http_reader_whole_bytewise_and_every_split_agree() {
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
    }

    #[test]
    fn http_reader_line_level_errors() {
        let l = HeadLimits::default();
        let bad: [(&str, &[u8]); 3] = [
            ("bare LF", b"GET / HTTP/1.1\nHost: x\r\n\r\n"),
            ("bare CR", b"GET / HTTP/1.1\rHost: x\r\n\r\n"),
            ("leading empty line", b"\r\nGET / HTTP/1.1\r\n\r\n"),
        ];
        for (what, head) in bad {
            let outcome = feed_bytewise(l, head);
            assert!(
                matches!(outcome, Outcome::Failed(e) if e.status == 400),
                "{what}"
            );
        }
        assert_eq!(
            feed_bytewise(l, b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Outcome::Incomplete(b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec())
        );
        let mut r = HeadReader::default();
        assert_eq!(r.feed(b""), Ok(None));
    }

    #[test]
    fn http_limit_request_line_414() {
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
    fn http_limit_header_line_431() {
        let l = HeadLimits::default();
        let long = format!(
            "GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n",
            "v".repeat(l.max_line)
        );
        assert!(matches!(feed_chunks(l, [long.as_bytes()]), Outcome::Failed(e) if e.status == 431));
    }

    #[test]
    fn http_limit_endless_header_fails_within_max_line() {
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
    fn http_limit_header_count_431() {
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
    fn http_limit_total_431() {
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
    fn http_parse_request_fields() {
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
    fn http_parse_request_rejects_malformed() {
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
    fn http_parse_latin1_values() {
        let head = b"GET / HTTP/1.1\r\nX-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\n\r\n";
        let r = parse_request(head).unwrap();
        assert_eq!(r.header("X-Latin"), Some("caf\u{e9}"));
        // UTF-8 is not special: each byte is one latin-1 character, so the
        // original bytes are recoverable.
        assert_eq!(r.header("X-Utf8"), Some("caf\u{c3}\u{a9}"));
    }

    #[test]
    fn http_parse_response() {
        let r = parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
        assert_eq!(r.header("upgrade"), Some("websocket"));
        let ok: [(&[u8], u16, &str); 3] = [
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                101,
                "Switching Protocols",
            ),
            (b"HTTP/1.1 404\r\n\r\n", 404, ""),
            (b"HTTP/1.1 200 \r\n\r\n", 200, ""),
        ];
        for (head, status, reason) in ok {
            let r = parse_response(head).unwrap();
            assert_eq!((r.status, r.reason.as_str()), (status, reason));
        }
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
    fn http_token_list() {
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

    #[test]
    fn http_extensions_rfc7692_examples() {
        let deflate = "permessage-deflate";
        let cases = [
            (
                "permessage-deflate; client_max_window_bits",
                vec![ext(deflate, &[("client_max_window_bits", None)])],
            ),
            (
                "permessage-deflate; server_max_window_bits=\"10\"",
                vec![ext(deflate, &[("server_max_window_bits", Some("10"))])],
            ),
            (
                "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
                 permessage-deflate; client_max_window_bits",
                vec![
                    ext(
                        deflate,
                        &[
                            ("client_max_window_bits", None),
                            ("server_max_window_bits", Some("10")),
                        ],
                    ),
                    ext(deflate, &[("client_max_window_bits", None)]),
                ],
            ),
            (
                "foo ;a = 1 ; b=\"x\\yz\",, bar\t,",
                vec![
                    ext("foo", &[("a", Some("1")), ("b", Some("xyz"))]),
                    ext("bar", &[]),
                ],
            ),
            ("", vec![]),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_extensions(value).unwrap(), expected, "{value:?}");
        }
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
    fn http_grammar_linear_time() {
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
    fn http_reader_linear_time_bytewise() {
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

    #[test]
    fn http_error_display() {
        assert_eq!(HttpError::new(426, "x").to_string(), "HTTP 426 x");
        assert_eq!(
            HttpError::client("y").to_string(),
            "WebSocket handshake failed: y"
        );
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
    }

    // -- properties -------------------------------------------------------------

    proptest! {
        #[test]
        fn http_prop_parsers_never_panic(data in head_like_bytes()) {
            let _ = parse_request(&data);
            let _ = parse_response(&data);
            let s = latin1(&data);
            let _ = parse_token_list(&s);
            let _ = parse_extensions(&s);
        }

        #[test]
        fn http_prop_parse_request_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_request(&data);
            let _ = parse_response(&data);
        }

        #[test]
        fn http_prop_reader_split_invariant(
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
    }
}
