//! Close frame payloads (RFC 6455 §5.5.1, §7.4): which codes may appear on the
//! wire, parsing what a peer sent, building what we send.

use crate::utf8;

pub const NORMAL: u16 = 1000;
pub const GOING_AWAY: u16 = 1001;
pub const PROTOCOL_ERROR: u16 = 1002;
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Never on the wire: "no status code was present".
pub const NO_STATUS: u16 = 1005;
/// Never on the wire: "the connection closed abnormally".
pub const ABNORMAL: u16 = 1006;
pub const INVALID_PAYLOAD: u16 = 1007;
pub const POLICY_VIOLATION: u16 = 1008;
pub const MESSAGE_TOO_BIG: u16 = 1009;
pub const MANDATORY_EXTENSION: u16 = 1010;
pub const INTERNAL_ERROR: u16 = 1011;

/// Longest reason that fits a control frame: 125 bytes less the 2-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// May `code` appear in a close frame on the wire?
///
/// 1000-1003 and 1007-1011 are defined by RFC 6455. 1012 (service restart),
/// 1013 (try again later) and 1014 (bad gateway) are registered with IANA and
/// sent by real servers (nginx, Cloudflare, browsers' peers), so rejecting
/// them would fail good connections; they are accepted. 1004 is reserved,
/// 1005, 1006 and 1015 are reserved for local use only and must never be
/// sent, and the rest below 3000 is unassigned, so those fail with 1002.
/// 3000-3999 are registered for libraries, 4000-4999 private.
pub fn is_valid_wire_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A close frame we must answer by failing the connection, with the code to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseError {
    pub code: u16,
    pub reason: &'static str,
}

/// Parse a peer's close payload into `(code, reason)`; an empty payload means
/// no code was given (`None`, which the API reports as 1005).
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(u16, &str)>, CloseError> {
    match payload {
        [] => Ok(None),
        [_] => Err(CloseError {
            code: PROTOCOL_ERROR,
            reason: "close payload of 1 byte",
        }),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_wire_code(code) {
                return Err(CloseError {
                    code: PROTOCOL_ERROR,
                    reason: "invalid close code",
                });
            }
            let reason = std::str::from_utf8(reason).map_err(|_| CloseError {
                code: INVALID_PAYLOAD,
                reason: "close reason is not valid UTF-8",
            })?;
            Ok(Some((code, reason)))
        }
    }
}

/// The longest prefix of `reason` that fits a close frame and ends on a
/// character boundary, so truncation never produces invalid UTF-8.
pub fn truncate_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_LEN {
        return reason;
    }
    let mut end = MAX_REASON_LEN;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Build a close payload. `None` sends an empty payload (no code, no reason).
/// The reason is truncated to fit; a code that may not go on the wire is
/// the caller's bug (the Python layer validates user input first), so it panics.
pub fn build_close_payload(code: Option<u16>, reason: &str) -> Vec<u8> {
    let Some(code) = code else {
        return Vec::new();
    };
    assert!(
        is_valid_wire_code(code),
        "close code {code} may not be sent"
    );
    let reason = truncate_reason(reason);
    let mut out = Vec::with_capacity(2 + reason.len());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    debug_assert!(utf8::is_valid(&out[2..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_code_table() {
        // The codes the Autobahn testsuite sends in 7.7.x (valid) and 7.9.x (invalid).
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(is_valid_wire_code(code), "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015, 5000, 65535,
        ] {
            assert!(!is_valid_wire_code(code), "{code}");
        }
        for code in [1012, 1013, 1014] {
            assert!(is_valid_wire_code(code), "{code}");
        }
        let valid = (0..=u16::MAX).filter(|&c| is_valid_wire_code(c)).count();
        assert_eq!(valid, 4 + 8 + 2000);
    }

    #[test]
    fn parse_payloads() {
        assert_eq!(parse_close_payload(b""), Ok(None));
        assert_eq!(
            parse_close_payload(&[0x03]).unwrap_err().code,
            PROTOCOL_ERROR
        );
        assert_eq!(parse_close_payload(&[0x03, 0xE8]), Ok(Some((1000, ""))));
        assert_eq!(parse_close_payload(b"\x03\xe9bye"), Ok(Some((1001, "bye"))));
        assert_eq!(
            parse_close_payload(&[0x03, 0xED]).unwrap_err().code,
            PROTOCOL_ERROR
        );
        let bad_reason = [
            0x03, 0xE8, 0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED,
            0xA0, 0x80,
        ];
        assert_eq!(
            parse_close_payload(&bad_reason).unwrap_err().code,
            INVALID_PAYLOAD
        );
    }

    #[test]
    fn reasons_truncate_on_char_boundaries() {
        let ascii = "a".repeat(200);
        assert_eq!(build_close_payload(Some(1000), &ascii).len(), 125);
        // 'é' is 2 bytes: 61 of them = 122 bytes, the 62nd would end at 124.
        let accented = "é".repeat(100);
        let payload = build_close_payload(Some(1000), &accented);
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert_eq!(build_close_payload(None, "ignored"), Vec::<u8>::new());
    }

    proptest! {
        #[test]
        fn build_then_parse_roundtrips(code in prop::sample::select(vec![1000u16, 1001, 1011, 1014, 3000, 4999]), reason in ".{0,80}") {
            let payload = build_close_payload(Some(code), &reason);
            let (c, r) = parse_close_payload(&payload).unwrap().unwrap();
            prop_assert_eq!(c, code);
            prop_assert!(reason.starts_with(r));
            prop_assert!(payload.len() <= 125);
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..130)) {
            let _ = parse_close_payload(&bytes);
        }
    }
}
