//! ferrobahn core: the WebSocket wire protocol (RFC 6455), sans-I/O.
//!
//! Bytes in, events and bytes out. Nothing here touches a socket, a clock or
//! the Python interpreter; the PyO3 bindings live in `python` and only convert.

pub mod close;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod parser;
pub mod uninit;
pub mod utf8;

#[cfg(feature = "python")]
mod python;
