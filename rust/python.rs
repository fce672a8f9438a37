//! PyO3 bindings: the module `ferrobahn._core`.
//!
//! Conversion only. Every decision is made in the core modules; this file
//! turns Python arguments into core calls and core results into Python
//! objects, batching so that one TCP read or one message is one call.

use std::convert::Infallible;
use std::mem::MaybeUninit;
use std::{ptr, slice};

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyList};

use crate::close;
use crate::deflate;
use crate::frame;
use crate::handshake;
use crate::http;
use crate::mask;
use crate::parser::{self, Delivery, Event, MaskPolicy, ParserConfig, PayloadAlloc};
use crate::uninit;
use crate::utf8;

create_exception!(
    _core,
    HandshakeError,
    PyException,
    "A handshake the RFC does not allow. args: (HTTP status, reason)."
);

// Event kinds: the first item of each event tuple `Parser.feed` returns.
const MESSAGE: u8 = 0;
const MESSAGE_BEGIN: u8 = 1;
const FRAME_BEGIN: u8 = 2;
const FRAME_DATA: u8 = 3;
const FRAME_END: u8 = 4;
const MESSAGE_END: u8 = 5;
const PING: u8 = 6;
const PONG: u8 = 7;
const CLOSE: u8 = 8;
const ERROR: u8 = 9;

/// A new `bytes` object of `len` bytes that `fill` writes and returns whole
/// (see `uninit`). Unlike `PyBytes::new_with`, nothing is zeroed first. The
/// outer error is a failed allocation, the inner one a failed `fill` (the
/// object is then released unread).
fn try_bytes_with<'py, E>(
    py: Python<'py>,
    len: usize,
    fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
) -> PyResult<Result<Bound<'py, PyBytes>, E>> {
    let size = ffi::Py_ssize_t::try_from(len)
        .map_err(|_| PyValueError::new_err("a bytes object of this size cannot exist"))?;
    // SAFETY: a null source asks CPython for an uninitialised object of
    // `size` bytes, which we own; a null result is an error it has set.
    let bytes = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(ptr::null(), size))?
            .cast_into_unchecked::<PyBytes>()
    };
    // SAFETY: the object is a `bytes` of `len` bytes that nothing else has
    // seen yet, so its buffer is ours to write for as long as `bytes` lives.
    let out = unsafe {
        let buf = ffi::PyBytes_AsString(bytes.as_ptr()).cast::<MaybeUninit<u8>>();
        slice::from_raw_parts_mut(buf, len)
    };
    let buf = out.as_ptr();
    Ok(fill(out).map(|filled| {
        uninit::assert_filled(buf, len, filled);
        bytes
    }))
}

/// `try_bytes_with` for a `fill` that cannot fail.
fn bytes_with<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> &'a mut [u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let Ok(bytes) = try_bytes_with(py, len, |out| Ok::<_, Infallible>(fill(out)))?;
    Ok(bytes)
}

/// Payloads become `bytes` objects filled in place: the unmasking copy is
/// the only copy.
struct BytesAlloc<'py>(Python<'py>);

impl<'py> PayloadAlloc for BytesAlloc<'py> {
    type Buf = Bound<'py, PyBytes>;
    fn alloc<E>(
        &mut self,
        len: usize,
        fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
    ) -> Result<Self::Buf, E> {
        try_bytes_with(self.0, len, fill).expect("allocating a bytes object")
    }
}

/// An event as the three items `Parser.feed` puts in its flat list: the kind,
/// then two values (`None` where the kind has fewer). Three items of a list,
/// not a tuple per event: a tuple costs an allocation per message, and the
/// protocol layer unpacks triples with `zip` without creating any.
fn event_items<'py>(
    py: Python<'py>,
    event: Event<Bound<'py, PyBytes>>,
) -> PyResult<[Bound<'py, PyAny>; 3]> {
    let none = || py.None().into_bound(py);
    let kind = |k: u8| k.into_pyobject(py).map(Bound::into_any);
    Ok(match event {
        Event::Message { binary, payload } => [
            kind(MESSAGE)?,
            payload.into_any(),
            PyBool::new(py, binary).to_owned().into_any(),
        ],
        Event::MessageBegin { binary } => [
            kind(MESSAGE_BEGIN)?,
            PyBool::new(py, binary).to_owned().into_any(),
            none(),
        ],
        Event::FrameBegin { length, rsv, fin } => [
            kind(FRAME_BEGIN)?,
            length.into_pyobject(py)?.into_any(),
            (rsv, fin).into_pyobject(py)?.into_any(),
        ],
        Event::FrameData(payload) => [kind(FRAME_DATA)?, payload.into_any(), none()],
        Event::FrameEnd => [kind(FRAME_END)?, none(), none()],
        Event::MessageEnd => [kind(MESSAGE_END)?, none(), none()],
        Event::Ping(payload) => [kind(PING)?, payload.into_any(), none()],
        Event::Pong(payload) => [kind(PONG)?, payload.into_any(), none()],
        Event::Close { code, reason } => [
            kind(CLOSE)?,
            code.into_pyobject(py)?.into_any(),
            reason.into_pyobject(py)?.into_any(),
        ],
        Event::Error { code, reason } => [
            kind(ERROR)?,
            code.into_pyobject(py)?.into_any(),
            reason.into_pyobject(py)?.into_any(),
        ],
    })
}

fn mask_policy(name: &str) -> PyResult<MaskPolicy> {
    match name {
        "required" => Ok(MaskPolicy::Required),
        "forbidden" => Ok(MaskPolicy::Forbidden),
        "optional" => Ok(MaskPolicy::Optional),
        _ => Err(PyValueError::new_err(format!(
            "mask must be 'required', 'forbidden' or 'optional', not {name:?}"
        ))),
    }
}

fn param_error(err: deflate::ParamError) -> PyErr {
    PyValueError::new_err(err.0)
}

/// permessage-deflate parameters of the peer's compressor, `None` when the
/// extension is off.
fn deflate_params(
    window_bits: Option<u8>,
    no_context_takeover: bool,
) -> PyResult<Option<deflate::DeflateParams>> {
    window_bits
        .map(|bits| deflate::DeflateParams::new(bits, no_context_takeover).map_err(param_error))
        .transpose()
}

#[allow(clippy::too_many_arguments)]
fn parser_config(
    mask: &str,
    max_frame_payload: u64,
    max_message_payload: u64,
    allowed_rsv: u8,
    stream: bool,
    validate_utf8: bool,
    deflate_window_bits: Option<u8>,
    deflate_no_context_takeover: bool,
) -> PyResult<ParserConfig> {
    if allowed_rsv > 7 {
        return Err(PyValueError::new_err("allowed_rsv is a 3-bit value"));
    }
    Ok(ParserConfig {
        mask: mask_policy(mask)?,
        allowed_rsv,
        max_frame_payload,
        max_message_payload,
        delivery: if stream {
            Delivery::Stream
        } else {
            Delivery::Messages
        },
        validate_utf8,
        deflate: deflate_params(deflate_window_bits, deflate_no_context_takeover)?,
    })
}

/// The incremental frame parser of one connection.
#[pyclass(module = "ferrobahn._core")]
struct Parser {
    inner: parser::Parser,
}

#[pymethods]
impl Parser {
    #[new]
    #[pyo3(signature = (mask, *, max_frame_payload=0, max_message_payload=0, allowed_rsv=0, stream=false, validate_utf8=true, deflate_window_bits=None, deflate_no_context_takeover=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        mask: &str,
        max_frame_payload: u64,
        max_message_payload: u64,
        allowed_rsv: u8,
        stream: bool,
        validate_utf8: bool,
        deflate_window_bits: Option<u8>,
        deflate_no_context_takeover: bool,
    ) -> PyResult<Self> {
        let config = parser_config(
            mask,
            max_frame_payload,
            max_message_payload,
            allowed_rsv,
            stream,
            validate_utf8,
            deflate_window_bits,
            deflate_no_context_takeover,
        )?;
        Ok(Parser {
            inner: parser::Parser::new(config),
        })
    }

    /// Replace the whole configuration (between reads), permessage-deflate
    /// included: leaving `deflate_window_bits` out turns it off.
    #[pyo3(signature = (mask, *, max_frame_payload=0, max_message_payload=0, allowed_rsv=0, stream=false, validate_utf8=true, deflate_window_bits=None, deflate_no_context_takeover=false))]
    #[allow(clippy::too_many_arguments)]
    fn configure(
        &mut self,
        mask: &str,
        max_frame_payload: u64,
        max_message_payload: u64,
        allowed_rsv: u8,
        stream: bool,
        validate_utf8: bool,
        deflate_window_bits: Option<u8>,
        deflate_no_context_takeover: bool,
    ) -> PyResult<()> {
        let config = parser_config(
            mask,
            max_frame_payload,
            max_message_payload,
            allowed_rsv,
            stream,
            validate_utf8,
            deflate_window_bits,
            deflate_no_context_takeover,
        )?;
        self.inner.set_config(config);
        Ok(())
    }

    /// Turn permessage-deflate on with the peer's negotiated parameters
    /// (`window_bits` 8-15, 8 read as 9), or off with `None`; the rest of the
    /// configuration is kept. Changed parameters start a new context.
    #[pyo3(signature = (window_bits, no_context_takeover=false))]
    fn set_deflate(&mut self, window_bits: Option<u8>, no_context_takeover: bool) -> PyResult<()> {
        let config = ParserConfig {
            deflate: deflate_params(window_bits, no_context_takeover)?,
            ..*self.inner.config()
        };
        self.inner.set_config(config);
        Ok(())
    }

    /// The permessage-deflate parameters in effect,
    /// `(window_bits, no_context_takeover)`, or `None` when off.
    #[getter]
    fn deflate(&self) -> Option<(u8, bool)> {
        self.inner
            .config()
            .deflate
            .map(|p| (p.window_bits(), p.no_context_takeover()))
    }

    /// Parse one read's bytes; returns the events it completed, three list
    /// items each: `[kind, a, b, kind, a, b, ...]` (see `event_items`).
    fn feed<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let mut events = Vec::new();
        self.inner.feed(data, &mut BytesAlloc(py), &mut events);
        let mut items = Vec::with_capacity(3 * events.len());
        for event in events {
            items.extend(event_items(py, event)?);
        }
        PyList::new(py, items)
    }

    /// True once a close frame or a protocol error ended the input.
    #[getter]
    fn done(&self) -> bool {
        self.inner.is_done()
    }
}

/// The permessage-deflate compressor of the messages one connection sends.
#[pyclass(module = "ferrobahn._core")]
struct Deflater {
    inner: deflate::Compressor,
}

#[pymethods]
impl Deflater {
    /// `window_bits` and `no_context_takeover` as agreed for this endpoint's
    /// sending direction (8 is compressed as 9); zlib's `level` (-1: 6) and
    /// `mem_level`.
    #[new]
    #[pyo3(signature = (window_bits=15, no_context_takeover=false, *, level=-1, mem_level=8))]
    fn new(
        window_bits: u8,
        no_context_takeover: bool,
        level: i32,
        mem_level: i32,
    ) -> PyResult<Self> {
        let params =
            deflate::DeflateParams::new(window_bits, no_context_takeover).map_err(param_error)?;
        let inner = deflate::Compressor::new(params, level, mem_level).map_err(param_error)?;
        Ok(Deflater { inner })
    }

    /// The payload of a compressed message (to send with RSV1 set on its
    /// first frame). Raises `ValueError` inside a message sent in pieces.
    fn compress<'py>(&mut self, py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        self.inner
            .compress(payload, &mut out)
            .map_err(|_| in_message_error())?;
        Ok(PyBytes::new(py, &out))
    }

    /// The next piece of a message sent in pieces: the payload of one frame.
    /// A non-final piece may compress to `b""` (zlib holds data back); `fin`
    /// flushes everything and ends the message.
    fn compress_chunk<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        fin: bool,
    ) -> Bound<'py, PyBytes> {
        let mut out = Vec::new();
        self.inner.compress_chunk(data, fin, &mut out);
        PyBytes::new(py, &out)
    }

    /// A whole compressed message on the wire in one `bytes`: compressed,
    /// then framed as by `encode_message` (RSV1 on the first frame, frames of
    /// at most `fragment_size` compressed bytes, masked if `mask`).
    #[pyo3(signature = (payload, binary, *, mask=false, fragment_size=0))]
    fn encode_message<'py>(
        &mut self,
        py: Python<'py>,
        payload: &[u8],
        binary: bool,
        mask: bool,
        fragment_size: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut compressed = Vec::new();
        self.inner
            .compress(payload, &mut compressed)
            .map_err(|_| in_message_error())?;
        encode_message(py, &compressed, binary, mask, fragment_size, frame::RSV1)
    }

    /// Window bits really used (a negotiated 8 is 9).
    #[getter]
    fn window_bits(&self) -> u8 {
        self.inner.params().window_bits()
    }

    #[getter]
    fn no_context_takeover(&self) -> bool {
        self.inner.params().no_context_takeover()
    }

    /// True between a non-final `compress_chunk` and the final one.
    #[getter]
    fn in_message(&self) -> bool {
        self.inner.in_message()
    }
}

fn in_message_error() -> PyErr {
    PyValueError::new_err("a message sent with compress_chunk is not finished")
}

fn check_opcode_rsv(opcode: u8, rsv: u8) -> PyResult<()> {
    if opcode > 15 || rsv > 7 {
        return Err(PyValueError::new_err("opcode is 4 bits and rsv 3 bits"));
    }
    Ok(())
}

/// One frame, header and payload in one `bytes`, masked with `key` if given,
/// else with a fresh key if `mask`. `opcode` and `rsv` are raw values:
/// reserved ones can be sent on purpose.
#[pyfunction]
#[pyo3(signature = (opcode, payload, *, fin=true, rsv=0, mask=false, key=None))]
fn encode_frame<'py>(
    py: Python<'py>,
    opcode: u8,
    payload: &[u8],
    fin: bool,
    rsv: u8,
    mask: bool,
    key: Option<[u8; 4]>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_opcode_rsv(opcode, rsv)?;
    let key = key.or_else(|| mask.then(mask::random_key));
    bytes_with(py, frame::frame_len(payload.len(), key.is_some()), |out| {
        frame::encode_frame_into(out, fin, rsv, opcode, payload, key)
    })
}

/// A frame header alone, for a payload of `length` bytes sent afterwards in
/// pieces (the streaming API); masked frames carry `key`.
#[pyfunction]
#[pyo3(signature = (opcode, length, *, fin=false, rsv=0, key=None))]
fn encode_frame_header<'py>(
    py: Python<'py>,
    opcode: u8,
    length: u64,
    fin: bool,
    rsv: u8,
    key: Option<[u8; 4]>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_opcode_rsv(opcode, rsv)?;
    if length >> 63 != 0 {
        return Err(PyValueError::new_err(
            "a frame payload is at most 2**63 - 1 bytes",
        ));
    }
    let len = usize::try_from(length).map_err(|_| PyValueError::new_err("length too large"))?;
    bytes_with(py, frame::header_len(len, key.is_some()), |out| {
        frame::encode_header(out, fin, rsv, opcode, len, key)
    })
}

/// A fresh mask key from the OS CSPRNG (batched).
#[pyfunction]
fn random_mask_key(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &mask::random_key())
}

/// A whole data message, split into frames of at most `fragment_size` bytes
/// (0: one frame), in one `bytes`.
#[pyfunction]
#[pyo3(signature = (payload, binary, mask=false, fragment_size=0, rsv=0))]
fn encode_message<'py>(
    py: Python<'py>,
    payload: &[u8],
    binary: bool,
    mask: bool,
    fragment_size: usize,
    rsv: u8,
) -> PyResult<Bound<'py, PyBytes>> {
    let opcode = if binary {
        frame::Opcode::Binary
    } else {
        frame::Opcode::Text
    } as u8;
    let len = frame::message_len(payload, fragment_size, mask);
    bytes_with(py, len, |out| {
        frame::encode_message_into(out, opcode, rsv & 7, payload, fragment_size, || {
            mask.then(mask::random_key)
        })
    })
}

/// A close frame; the reason is truncated to 123 bytes on a character boundary.
#[pyfunction]
#[pyo3(signature = (code=None, reason="", *, mask=false))]
fn encode_close<'py>(
    py: Python<'py>,
    code: Option<u16>,
    reason: &str,
    mask: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Some(code) = code {
        if !close::is_valid_wire_code(code) {
            return Err(PyValueError::new_err(format!(
                "close code {code} may not be sent"
            )));
        }
    }
    let payload = close::build_close_payload(code, reason);
    encode_frame(
        py,
        frame::Opcode::Close as u8,
        &payload,
        true,
        0,
        mask,
        None,
    )
}

/// May this close code appear on the wire?
#[pyfunction]
fn is_valid_close_code(code: u32) -> bool {
    u16::try_from(code).is_ok_and(close::is_valid_wire_code)
}

/// `data` XOR-ed with the 4-byte `key`, starting at `offset` in the key.
#[pyfunction]
#[pyo3(signature = (data, key, offset=0))]
fn apply_mask<'py>(
    py: Python<'py>,
    data: &[u8],
    key: &[u8],
    offset: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let key: [u8; 4] = key
        .try_into()
        .map_err(|_| PyValueError::new_err("a mask key is 4 bytes"))?;
    bytes_with(py, data.len(), |out| {
        mask::mask_into(data, out, key, offset)
    })
}

/// Forget buffered mask keys; the package calls this in a child after `fork`.
#[pyfunction]
fn discard_mask_keys() {
    mask::discard_keys();
}

/// Is `data` entirely valid UTF-8?
#[pyfunction]
fn validate_utf8(data: &[u8]) -> bool {
    utf8::is_valid(data)
}

/// Incremental UTF-8 validation across chunks.
#[pyclass(module = "ferrobahn._core")]
#[derive(Default)]
struct Utf8Validator {
    inner: utf8::Utf8Validator,
}

#[pymethods]
impl Utf8Validator {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Validate the next chunk: `(valid so far, ends on a code point boundary)`.
    fn feed(&mut self, chunk: &[u8]) -> (bool, bool) {
        let valid = self.inner.feed(chunk).is_ok();
        (valid, valid && self.inner.is_complete())
    }

    fn reset(&mut self) {
        self.inner.reset();
    }
}

fn handshake_error(err: http::HttpError) -> PyErr {
    HandshakeError::new_err((err.status, err.reason))
}

/// Reads an HTTP head (request or response) as it arrives, within limits.
#[pyclass(module = "ferrobahn._core")]
struct HeadReader {
    inner: http::HeadReader,
}

#[pymethods]
impl HeadReader {
    #[new]
    #[pyo3(signature = (*, max_line=8192, max_headers=128, max_total=16384))]
    fn new(max_line: usize, max_headers: usize, max_total: usize) -> Self {
        HeadReader {
            inner: http::HeadReader::new(http::HeadLimits {
                max_line,
                max_headers,
                max_total,
            }),
        }
    }

    /// `None` while the head is incomplete; once complete, how many bytes of
    /// `data` belonged to it (the rest are the first WebSocket bytes).
    fn feed(&mut self, data: &[u8]) -> PyResult<Option<usize>> {
        self.inner.feed(data).map_err(handshake_error)
    }

    /// The complete head.
    #[getter]
    fn head<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.head())
    }
}

/// A parsed HTTP request head.
#[pyclass(module = "ferrobahn._core", frozen)]
struct HttpRequest {
    inner: http::Request,
}

#[pymethods]
impl HttpRequest {
    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }

    #[getter]
    fn target(&self) -> &str {
        &self.inner.target
    }

    #[getter]
    fn version(&self) -> &str {
        &self.inner.version
    }

    /// Header fields in order, names as sent.
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.headers.clone()
    }

    /// The RFC 6455 §4.2.1 checks. Returns `(path, query, host, key, version,
    /// origin, protocols, extensions)`; raises `HandshakeError(status, reason)`.
    #[allow(clippy::type_complexity)]
    fn upgrade(
        &self,
    ) -> PyResult<(
        String,
        String,
        String,
        String,
        u32,
        Option<String>,
        Vec<String>,
        Vec<http::Extension>,
    )> {
        let u = handshake::validate_request(&self.inner).map_err(handshake_error)?;
        Ok((
            u.path,
            u.query,
            u.host,
            u.key,
            u.version,
            u.origin,
            u.protocols,
            u.extensions,
        ))
    }
}

/// A parsed HTTP response head.
#[pyclass(module = "ferrobahn._core", frozen)]
struct HttpResponse {
    inner: http::Response,
}

#[pymethods]
impl HttpResponse {
    #[getter]
    fn version(&self) -> &str {
        &self.inner.version
    }

    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }

    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.headers.clone()
    }

    /// The RFC 6455 §4.1 checks of a server's answer to our request with
    /// `key`. Returns `(protocol, extensions)`; raises `HandshakeError`
    /// (status 0 for a broken answer, else the server's non-101 status).
    fn upgrade(
        &self,
        key: &str,
        offered_protocols: Vec<String>,
        offered_extensions: Vec<String>,
    ) -> PyResult<(Option<String>, Vec<http::Extension>)> {
        let offered: Vec<&str> = offered_extensions.iter().map(String::as_str).collect();
        let u = handshake::validate_response(&self.inner, key, &offered_protocols, &offered)
            .map_err(handshake_error)?;
        Ok((u.protocol, u.extensions))
    }
}

#[pyfunction]
fn parse_request(head: &[u8]) -> PyResult<HttpRequest> {
    let inner = http::parse_request(head).map_err(handshake_error)?;
    Ok(HttpRequest { inner })
}

#[pyfunction]
fn parse_response(head: &[u8]) -> PyResult<HttpResponse> {
    let inner = http::parse_response(head).map_err(handshake_error)?;
    Ok(HttpResponse { inner })
}

/// `Sec-WebSocket-Extensions` value: `[(name, [(param, value or None)])]`.
#[pyfunction]
fn parse_extensions(value: &str) -> PyResult<Vec<http::Extension>> {
    http::parse_extensions(value).map_err(handshake_error)
}

/// A comma-separated token list (`Connection`, `Sec-WebSocket-Protocol`).
#[pyfunction]
fn parse_token_list(value: &str) -> PyResult<Vec<String>> {
    http::parse_token_list(value).map_err(handshake_error)
}

#[pyfunction]
fn accept_key(key: &str) -> String {
    handshake::accept_key(key)
}

/// A fresh `Sec-WebSocket-Key` from the OS CSPRNG.
#[pyfunction]
fn generate_client_key() -> String {
    let mut random = [0u8; 16];
    for word in random.chunks_mut(4) {
        word.copy_from_slice(&mask::random_key());
    }
    handshake::generate_client_key(random)
}

#[pyfunction]
#[pyo3(signature = (key, *, server=None, protocol=None, extensions=None, headers=Vec::new()))]
fn build_accept_response<'py>(
    py: Python<'py>,
    key: &str,
    server: Option<&str>,
    protocol: Option<&str>,
    extensions: Option<&str>,
    headers: Vec<(String, String)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let head = handshake::build_accept_response(key, server, protocol, extensions, &headers)
        .map_err(handshake_error)?;
    Ok(PyBytes::new(py, &head))
}

#[pyfunction]
#[pyo3(signature = (status, reason, headers=Vec::new()))]
fn build_error_response<'py>(
    py: Python<'py>,
    status: u16,
    reason: &str,
    headers: Vec<(String, String)>,
) -> Bound<'py, PyBytes> {
    PyBytes::new(
        py,
        &handshake::build_error_response(status, reason, &headers),
    )
}

#[pyfunction]
#[pyo3(signature = (host, port, resource, key, *, secure=false, useragent=None, origin=None, protocols=Vec::new(), extensions=None, headers=Vec::new()))]
#[allow(clippy::too_many_arguments)]
fn build_request<'py>(
    py: Python<'py>,
    host: &str,
    port: u16,
    resource: &str,
    key: &str,
    secure: bool,
    useragent: Option<&str>,
    origin: Option<&str>,
    protocols: Vec<String>,
    extensions: Option<&str>,
    headers: Vec<(String, String)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let head = handshake::build_request(&handshake::ClientRequest {
        host,
        port,
        is_secure: secure,
        resource,
        key,
        useragent,
        origin,
        protocols: &protocols,
        extensions,
        extra: &headers,
    })
    .map_err(handshake_error)?;
    Ok(PyBytes::new(py, &head))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Parser>()?;
    m.add_class::<Deflater>()?;
    m.add_class::<Utf8Validator>()?;
    m.add_class::<HeadReader>()?;
    m.add_class::<HttpRequest>()?;
    m.add_class::<HttpResponse>()?;
    for function in [
        wrap_pyfunction!(encode_frame, m)?,
        wrap_pyfunction!(encode_frame_header, m)?,
        wrap_pyfunction!(random_mask_key, m)?,
        wrap_pyfunction!(encode_message, m)?,
        wrap_pyfunction!(encode_close, m)?,
        wrap_pyfunction!(is_valid_close_code, m)?,
        wrap_pyfunction!(apply_mask, m)?,
        wrap_pyfunction!(validate_utf8, m)?,
        wrap_pyfunction!(discard_mask_keys, m)?,
        wrap_pyfunction!(parse_request, m)?,
        wrap_pyfunction!(parse_response, m)?,
        wrap_pyfunction!(parse_extensions, m)?,
        wrap_pyfunction!(parse_token_list, m)?,
        wrap_pyfunction!(accept_key, m)?,
        wrap_pyfunction!(generate_client_key, m)?,
        wrap_pyfunction!(build_accept_response, m)?,
        wrap_pyfunction!(build_error_response, m)?,
        wrap_pyfunction!(build_request, m)?,
    ] {
        m.add_function(function)?;
    }
    m.add("HandshakeError", m.py().get_type::<HandshakeError>())?;
    for (name, value) in [
        ("EV_MESSAGE", MESSAGE),
        ("EV_MESSAGE_BEGIN", MESSAGE_BEGIN),
        ("EV_FRAME_BEGIN", FRAME_BEGIN),
        ("EV_FRAME_DATA", FRAME_DATA),
        ("EV_FRAME_END", FRAME_END),
        ("EV_MESSAGE_END", MESSAGE_END),
        ("EV_PING", PING),
        ("EV_PONG", PONG),
        ("EV_CLOSE", CLOSE),
        ("EV_ERROR", ERROR),
    ] {
        m.add(name, value)?;
    }
    Ok(())
}
