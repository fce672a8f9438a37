"""Type stub of the Rust extension module (rust/python.rs)."""

from typing import Literal

# Parser.feed returns its events flat, three list items each, kind first:
#   EV_MESSAGE, payload: bytes, binary: bool
#   EV_MESSAGE_BEGIN, binary: bool, None
#   EV_FRAME_BEGIN, length: int, (rsv: int, fin: bool)
#   EV_FRAME_DATA, payload: bytes, None
#   EV_FRAME_END, None, None      EV_MESSAGE_END, None, None
#   EV_PING, payload: bytes, None      EV_PONG, payload: bytes, None
#   EV_CLOSE, code: int | None, reason: str
#   EV_ERROR, close code: int, reason: str   -- always the last event
# (no tuple per event: read them with zip(it, it, it) over one iterator).
EV_MESSAGE: int
EV_MESSAGE_BEGIN: int
EV_FRAME_BEGIN: int
EV_FRAME_DATA: int
EV_FRAME_END: int
EV_MESSAGE_END: int
EV_PING: int
EV_PONG: int
EV_CLOSE: int
EV_ERROR: int

EventItem = int | bytes | bool | str | tuple[int, bool] | None
MaskPolicy = Literal["required", "forbidden", "optional"]

class Parser:
    """permessage-deflate: ``deflate_window_bits`` (8-15, 8 runs as 9) and
    ``deflate_no_context_takeover`` are the *peer's* agreed parameters
    (``PerMessageDeflate.incoming()``); ``None`` leaves the extension off. With it on,
    RSV1 marks a compressed message, inflated as it arrives; the payload limits then
    count inflated bytes (1009 at the first byte over), and FrameBegin's length is the
    compressed length."""

    def __init__(
        self,
        mask: MaskPolicy,
        *,
        max_frame_payload: int = 0,
        max_message_payload: int = 0,
        allowed_rsv: int = 0,
        stream: bool = False,
        validate_utf8: bool = True,
        deflate_window_bits: int | None = None,
        deflate_no_context_takeover: bool = False,
    ) -> None: ...
    def configure(
        self,
        mask: MaskPolicy,
        *,
        max_frame_payload: int = 0,
        max_message_payload: int = 0,
        allowed_rsv: int = 0,
        stream: bool = False,
        validate_utf8: bool = True,
        deflate_window_bits: int | None = None,
        deflate_no_context_takeover: bool = False,
    ) -> None: ...
    def set_deflate(self, window_bits: int | None, no_context_takeover: bool = False) -> None:
        """Turn permessage-deflate on (peer's parameters) or off (``None``), keeping the
        rest of the configuration."""
    @property
    def deflate(self) -> tuple[int, bool] | None:
        """``(window_bits, no_context_takeover)`` in effect (8 shows as 9), or ``None``."""
    def feed(self, data: bytes) -> list[EventItem]: ...
    @property
    def done(self) -> bool: ...

class Deflater:
    """permessage-deflate compressor of the messages a connection sends; ``window_bits``
    (8-15, 8 runs as 9) and ``no_context_takeover`` are our agreed parameters
    (``PerMessageDeflate.outgoing()``); ``level`` -1 (zlib's 6) or 0-9, ``mem_level``
    1-9. Raises ``ValueError`` for values out of range."""

    def __init__(
        self,
        window_bits: int = 15,
        no_context_takeover: bool = False,
        *,
        level: int = -1,
        mem_level: int = 8,
    ) -> None: ...
    def compress(self, payload: bytes) -> bytes:
        """A whole message's compressed payload, trailing 00 00 ff ff removed; send it
        with RSV1 on the first frame. ``ValueError`` inside a ``compress_chunk`` message."""
    def compress_chunk(self, data: bytes, fin: bool) -> bytes:
        """One frame's payload of a message sent in pieces; a non-final piece may be
        ``b""``; ``fin`` flushes and ends the message."""
    def encode_message(
        self, payload: bytes, binary: bool, *, mask: bool = False, fragment_size: int = 0
    ) -> bytes:
        """``compress`` + ``encode_message(..., rsv=4)`` in one call: the wire bytes."""
    @property
    def window_bits(self) -> int: ...
    @property
    def no_context_takeover(self) -> bool: ...
    @property
    def in_message(self) -> bool: ...

def encode_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = False,
    key: bytes | None = None,
) -> bytes: ...
def encode_frame_header(
    opcode: int, length: int, *, fin: bool = False, rsv: int = 0, key: bytes | None = None
) -> bytes: ...
def random_mask_key() -> bytes: ...
def encode_message(
    payload: bytes, binary: bool, mask: bool = False, fragment_size: int = 0, rsv: int = 0
) -> bytes: ...
def encode_close(code: int | None = None, reason: str = "", *, mask: bool = False) -> bytes: ...
def is_valid_close_code(code: int) -> bool: ...
def apply_mask(data: bytes, key: bytes, offset: int = 0) -> bytes: ...
def validate_utf8(data: bytes) -> bool: ...
def discard_mask_keys() -> None: ...

class Utf8Validator:
    def __init__(self) -> None: ...
    def feed(self, chunk: bytes) -> tuple[bool, bool]: ...
    def reset(self) -> None: ...

class HandshakeError(Exception):
    """args: (HTTP status, reason)."""

Extension = tuple[str, list[tuple[str, str | None]]]

class HeadReader:
    def __init__(
        self, *, max_line: int = 8192, max_headers: int = 128, max_total: int = 16384
    ) -> None: ...
    def feed(self, data: bytes) -> int | None: ...
    @property
    def head(self) -> bytes: ...

class HttpRequest:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    def upgrade(
        self,
    ) -> tuple[str, str, str, str, int, str | None, list[str], list[Extension]]: ...

class HttpResponse:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    def upgrade(
        self, key: str, offered_protocols: list[str], offered_extensions: list[str]
    ) -> tuple[str | None, list[Extension]]: ...

def parse_request(head: bytes) -> HttpRequest: ...
def parse_response(head: bytes) -> HttpResponse: ...
def parse_extensions(value: str) -> list[Extension]: ...
def parse_token_list(value: str) -> list[str]: ...
def accept_key(key: str) -> str: ...
def generate_client_key() -> str: ...
def build_accept_response(
    key: str,
    *,
    server: str | None = None,
    protocol: str | None = None,
    extensions: str | None = None,
    headers: list[tuple[str, str]] = ...,
) -> bytes: ...
def build_error_response(
    status: int, reason: str, headers: list[tuple[str, str]] = ...
) -> bytes: ...
def build_request(
    host: str,
    port: int,
    resource: str,
    key: str,
    *,
    secure: bool = False,
    useragent: str | None = None,
    origin: str | None = None,
    protocols: list[str] = ...,
    extensions: str | None = None,
    headers: list[tuple[str, str]] = ...,
) -> bytes: ...
