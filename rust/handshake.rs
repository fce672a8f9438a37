//! The RFC 6455 §4 opening handshake, both roles, sans-I/O, on top of the
//! HTTP heads that [`crate::http`] reads and parses.
//!
//! * Server role: [`validate_request`] applies the RFC 6455 §4.2.1 checks to a
//!   parsed [`Request`] and yields an [`UpgradeRequest`];
//!   [`build_accept_response`] and [`build_error_response`] produce the bytes
//!   to send back.
//! * Client role: [`build_request`] produces the opening request and
//!   [`validate_response`] applies the RFC 6455 §4.1 checks to the parsed
//!   [`Response`].
//!
//! Failures are [`HttpError`]s with the status conventions described in
//! [`crate::http`]: on the server side the status to answer with, on the
//! client side [`HttpError::CLIENT`] or the server's non-101 status. A 426
//! means "unsupported Sec-WebSocket-Version": [`build_error_response`] then
//! adds `Sec-WebSocket-Version: 13` by itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::http::{
    find_header, find_headers, is_forbidden_in_value, is_token, parse_extensions, parse_token_list,
    reason_phrase, Extension, HttpError, Request, Response,
};

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
    use crate::http::tests::{
        base_headers, ext, head_bytes, head_like_bytes, sample_request, Headers, SAMPLE_KEY,
    };
    use crate::http::{parse_request, parse_response, HeadLimits, HeadReader};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};
    use Edit::{Add, Remove, Set};

    const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    const KEY: &str = "Sec-WebSocket-Key";
    const VERSION: &str = "Sec-WebSocket-Version";
    const PROTOCOL: &str = "Sec-WebSocket-Protocol";
    const EXTENSIONS: &str = "Sec-WebSocket-Extensions";
    const ACCEPT: &str = "Sec-WebSocket-Accept";

    /// A change to a list of header fields (names compare case-insensitively).
    #[derive(Debug, Clone, Copy)]
    enum Edit<'a> {
        /// Replace every field of that name by one with this value.
        Set(&'a str, &'a str),
        /// Append a field, keeping those of the same name.
        Add(&'a str, &'a str),
        /// Drop every field of that name.
        Remove(&'a str),
    }

    fn apply(h: &mut Headers, edits: &[Edit]) {
        for edit in edits {
            match *edit {
                Set(name, value) => {
                    h.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    h.push((name.to_owned(), value.to_owned()));
                }
                Add(name, value) => h.push((name.to_owned(), value.to_owned())),
                Remove(name) => h.retain(|(n, _)| !n.eq_ignore_ascii_case(name)),
            }
        }
    }

    /// Validate a request built from the base headers, changed by `edits`.
    fn validate_with(first: &str, edits: &[Edit]) -> Result<UpgradeRequest, HttpError> {
        let mut h = base_headers();
        apply(&mut h, edits);
        validate_request(&parse_request(&head_bytes(first, &h))?)
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

    // -- server-side validation -----------------------------------------------

    #[test]
    fn handshake_validate_rfc_sample() {
        let up = validate_request(&parse_request(&sample_request()).unwrap()).unwrap();
        assert_eq!(up.path, "/chat");
        assert_eq!(up.host, "server.example.com");
        assert_eq!(up.protocols, vec!["chat", "superchat"]);
        assert_eq!(up.origin.as_deref(), Some("http://example.com"));
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
            (PROTOCOL, format!("a{}, b", " ".repeat(n)), true),
            (
                EXTENSIONS,
                format!("x{};{}y", " ".repeat(n), " ".repeat(n)),
                true,
            ),
            (
                EXTENSIONS,
                format!("x; y=\"{}", "\\\\".repeat(n / 2)),
                false,
            ),
            (PROTOCOL, format!("a{}b", " ".repeat(n)), false),
        ];
        for (name, value, ok) in cases {
            let t = Instant::now();
            let mut h = base_headers();
            apply(&mut h, &[Set(name, &value)]);
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
    fn handshake_validate_ok_variants() {
        let up = validate_with(
            "GET /chat?x=1&y HTTP/1.1",
            &[
                Set("Connection", "keep-alive, Upgrade"),
                Set("Upgrade", "WebSocket"),
                Add(PROTOCOL, "third"),
                Add(EXTENSIONS, "permessage-deflate; client_max_window_bits"),
                Add(EXTENSIONS, "x-foo"),
            ],
        )
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
        let up = validate_with(
            "GET ws://server.example.com HTTP/1.1",
            &[
                Remove("Origin"),
                Remove(PROTOCOL),
                Set("upgrade", "h2c, websocket/13, websocket"),
                Set("CONNECTION", "keep-alive"),
                Add("Connection", "upgrade"),
                Set("sec-websocket-key", SAMPLE_KEY),
                Add("Content-Length", "0"),
            ],
        )
        .unwrap();
        assert_eq!((up.path.as_str(), up.query.as_str()), ("/", ""));
        assert_eq!(up.origin, None);
        assert!(up.protocols.is_empty());
        assert!(validate_with("GET /chat HTTP/1.2", &[]).is_ok());
    }

    #[test]
    fn handshake_validate_error_statuses() {
        for (line, status) in [
            ("POST /chat HTTP/1.1", 405),
            ("get /chat HTTP/1.1", 405),
            ("GET /chat HTTP/1.0", 505),
            ("GET /chat HTTP/0.9", 505),
            ("GET /chat HTTP/2.0", 505),
            ("GET /chat HTTP/2", 505),
            ("GET /chat#frag HTTP/1.1", 400),
            ("GET chat HTTP/1.1", 400),
            ("GET ftp://x/chat HTTP/1.1", 400),
            ("GET * HTTP/1.1", 400),
        ] {
            let e = validate_with(line, &[]).expect_err(line);
            assert_eq!(e.status, status, "{line}");
        }

        let cases = [
            ("no Host", Remove("Host"), 400),
            ("two Hosts", Add("Host", "other.example.com"), 400),
            ("empty Host", Set("Host", ""), 400),
            ("no Upgrade", Remove("Upgrade"), 400),
            ("Upgrade not websocket", Set("Upgrade", "h2c"), 400),
            ("malformed Upgrade", Set("Upgrade", "web socket"), 400),
            ("no Connection", Remove("Connection"), 400),
            ("no upgrade token", Set("Connection", "keep-alive"), 400),
            ("malformed Connection", Set("Connection", "upgrade;"), 400),
            ("version 8", Set(VERSION, "8"), 426),
            ("version 12", Set(VERSION, "12"), 426),
            ("version list", Set(VERSION, "13, 8"), 426),
            ("no version", Remove(VERSION), 426),
            ("two versions", Add(VERSION, "13"), 400),
            ("no key", Remove(KEY), 400),
            ("two keys", Add(KEY, SAMPLE_KEY), 400),
            ("15-byte key", Set(KEY, "AAAAAAAAAAAAAAAAAAAA"), 400),
            ("17-byte key", Set(KEY, "AAAAAAAAAAAAAAAAAAAAAAA="), 400),
            ("key 23 chars", Set(KEY, "AAAAAAAAAAAAAAAAAAAAAAA"), 400),
            ("key not base64", Set(KEY, "dGhlIHNhbXBsZSBub25jZQ!!"), 400),
            ("key unpadded", Set(KEY, "dGhlIHNhbXBsZSBub25jZQ"), 400),
            ("key low bits", Set(KEY, "dGhlIHNhbXBsZSBub25jZR=="), 400),
            ("key after pad", Set(KEY, "dGhlIHNhbXBsZSBub25jZQ=A"), 400),
            ("two Origins", Add("Origin", "http://evil.example"), 400),
            ("malformed protocols", Set(PROTOCOL, "a b"), 400),
            ("malformed extensions", Set(EXTENSIONS, "x; ="), 400),
            ("request body", Add("Content-Length", "5"), 400),
            ("chunked body", Add("Transfer-Encoding", "chunked"), 400),
        ];
        for (what, edit, status) in cases {
            let e = validate_with("GET /chat HTTP/1.1", &[edit]).expect_err(what);
            assert_eq!(e.status, status, "{what}");
        }
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
        for (server, protocol, extensions) in [
            (Some("x\r\nSet-Cookie: a=b"), None, None),
            (None, Some("chat\r\nX: y"), None),
            (None, Some("two words"), None),
            (None, None, Some("a\nb")),
        ] {
            let e = build_accept_response(SAMPLE_KEY, server, protocol, extensions, &[]);
            let what = (server, protocol, extensions);
            assert_eq!(e.unwrap_err().status, 500, "{what:?}");
        }
        for (name, value) in [
            ("X", "a\rb"),
            ("X", "a\0b"),
            ("X\r\nY", "v"),
            ("X Y", "v"),
            ("", "v"),
        ] {
            let extra = [(name.to_owned(), value.to_owned())];
            let e = build_accept_response(SAMPLE_KEY, None, None, None, &extra);
            assert_eq!(e.unwrap_err().status, 500, "{name:?}: {value:?}");
        }

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
        let extra = [("X".to_owned(), "1\r\nEvil: 1".to_owned())];
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
        for (host, port, is_secure, expected) in [
            ("example.com", 80, false, "example.com"),
            ("example.com", 443, true, "example.com"),
            ("example.com", 443, false, "example.com:443"),
            ("example.com", 80, true, "example.com:80"),
            ("::1", 9000, false, "[::1]:9000"),
            ("[::1]", 9000, false, "[::1]:9000"),
            ("::1", 80, false, "[::1]"),
        ] {
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
            let req = parse_request(&out).unwrap();
            assert_eq!(
                req.header("Host"),
                Some(expected),
                "{host} {port} {is_secure}"
            );
        }
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
        let check = |status_line: &str, edits: &[Edit]| {
            let mut h: Headers = [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                (ACCEPT, SAMPLE_ACCEPT),
            ]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
            apply(&mut h, edits);
            let resp = parse_response(&head_bytes(status_line, &h)).unwrap();
            validate_response(&resp, SAMPLE_KEY, &offered, &["permessage-deflate"])
        };
        let ok = "HTTP/1.1 101 Switching Protocols";
        assert_eq!(
            check(ok, &[]).unwrap(),
            UpgradeResponse {
                protocol: None,
                extensions: vec![]
            }
        );
        for edit in [
            Set("Upgrade", "WebSocket"),
            Set("Connection", "keep-alive, upgrade"),
            Set(PROTOCOL, ""),
        ] {
            assert!(check(ok, &[edit]).is_ok(), "{edit:?}");
        }

        for (line, status) in [("HTTP/1.1 403 Forbidden", 403), ("HTTP/1.1 200 OK", 200)] {
            assert_eq!(check(line, &[]).unwrap_err().status, status, "{line}");
        }

        let cases = [
            ("no Upgrade", Remove("Upgrade")),
            ("Upgrade not websocket", Set("Upgrade", "h2c")),
            ("Upgrade lists another", Set("Upgrade", "websocket, h2c")),
            ("no Connection", Remove("Connection")),
            ("Connection without upgrade", Set("Connection", "close")),
            ("no accept", Remove(ACCEPT)),
            ("wrong accept", Set(ACCEPT, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
            ("two accepts", Add(ACCEPT, SAMPLE_ACCEPT)),
            ("protocol not offered", Set(PROTOCOL, "superchat")),
            ("protocol list", Set(PROTOCOL, "chat, chat")),
            ("ext not offered", Set(EXTENSIONS, "x-webkit-deflate-frame")),
            ("bad extensions", Set(EXTENSIONS, "permessage-deflate; =")),
        ];
        for (what, edit) in cases {
            let e = check(ok, &[edit]).expect_err(what);
            assert_eq!(e.status, HttpError::CLIENT, "{what}");
        }

        let e = check(
            ok,
            &[
                Set(PROTOCOL, "chat"),
                Set(EXTENSIONS, "permessage-deflate; server_no_context_takeover"),
            ],
        )
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

    // -- properties -------------------------------------------------------------

    proptest! {
        #[test]
        fn handshake_prop_validators_never_panic(data in head_like_bytes()) {
            if let Ok(req) = parse_request(&data) {
                let _ = validate_request(&req);
            }
            if let Ok(resp) = parse_response(&data) {
                let _ = validate_response(&resp, SAMPLE_KEY, &[], &[]);
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
