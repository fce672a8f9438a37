//! Frame headers (RFC 6455 §5.2): decoding with every structural check the RFC
//! makes, and encoding of whole frames into one allocation.

use std::mem::MaybeUninit;

use crate::mask;
use crate::uninit;

/// Frame opcodes. 3-7 and 11-15 are reserved and never become an `Opcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

impl Opcode {
    pub fn from_u8(value: u8) -> Option<Opcode> {
        match value {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// Control frames are the opcodes with the high bit set (§5.5).
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// RSV bit masks as they sit in the first header byte, shifted down: RSV1 = 4, RSV2 = 2, RSV3 = 1.
pub const RSV1: u8 = 0b100;

/// Longest control frame payload (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest possible header: 2 fixed bytes, 8 length bytes, 4 mask bytes.
pub const MAX_HEADER_LEN: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit value (RSV1 is the high bit).
    pub rsv: u8,
    pub opcode: Opcode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

/// A header that breaks the framing rules. Every one of these is a protocol
/// error (1002): the message says which rule, for the close reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    ReservedOpcode(u8),
    ReservedBits(u8),
    ControlTooLong,
    ControlFragmented,
    LengthTopBit,
    NonMinimalLength,
}

impl HeaderError {
    pub fn reason(self) -> &'static str {
        match self {
            HeaderError::ReservedOpcode(_) => "reserved opcode",
            HeaderError::ReservedBits(_) => "reserved bits set without a negotiated extension",
            HeaderError::ControlTooLong => "control frame payload longer than 125 bytes",
            HeaderError::ControlFragmented => "fragmented control frame",
            HeaderError::LengthTopBit => "64-bit payload length with the most significant bit set",
            HeaderError::NonMinimalLength => "payload length not in its minimal encoding",
        }
    }
}

/// Decode a header from the start of `buf`.
///
/// `allowed_rsv` holds the RSV bits a negotiated extension may set. Returns
/// `Ok(None)` while `buf` is too short to hold the whole header, and
/// `Ok(Some((header, header_len)))` once it does. Checks are made as soon as
/// the bytes they depend on are present, so a bad opcode fails on the first byte.
pub fn decode_header(
    buf: &[u8],
    allowed_rsv: u8,
) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0x7;
    let raw_opcode = b0 & 0x0F;
    let opcode = Opcode::from_u8(raw_opcode).ok_or(HeaderError::ReservedOpcode(raw_opcode))?;
    if rsv & !allowed_rsv != 0 {
        return Err(HeaderError::ReservedBits(rsv));
    }
    if opcode.is_control() && !fin {
        return Err(HeaderError::ControlFragmented);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() && len7 as usize > MAX_CONTROL_PAYLOAD {
        return Err(HeaderError::ControlTooLong);
    }
    let (payload_len, mut pos) = match len7 {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (u16::from_be_bytes([bytes[0], bytes[1]]) as u64, 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(HeaderError::LengthTopBit);
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    // §5.2: "the minimal number of bytes MUST be used to encode the length".
    let minimal = match len7 {
        126 => payload_len >= 126,
        127 => payload_len > u16::MAX as u64,
        _ => true,
    };
    if !minimal {
        return Err(HeaderError::NonMinimalLength);
    }
    let mask = if masked {
        let Some(bytes) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    } else {
        None
    };
    Ok(Some((
        FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        },
        pos,
    )))
}

/// Length of the header that `encode_header` writes for this payload length.
pub fn header_len(payload_len: usize, masked: bool) -> usize {
    let len_bytes = match payload_len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + len_bytes + if masked { 4 } else { 0 }
}

/// Length of a whole encoded frame.
pub fn frame_len(payload_len: usize, masked: bool) -> usize {
    header_len(payload_len, masked) + payload_len
}

/// Write a header at the start of `out` (which must hold `header_len`
/// bytes) with the length in its minimal encoding; returns the header, the
/// part of `out` written.
pub fn encode_header(
    out: &mut [MaybeUninit<u8>],
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) -> &mut [u8] {
    let mut header = [0u8; MAX_HEADER_LEN];
    header[0] = (u8::from(fin) << 7) | ((rsv & 0x7) << 4) | (opcode & 0x0F);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut pos = match payload_len {
        0..=125 => {
            header[1] = mask_bit | payload_len as u8;
            2
        }
        126..=0xFFFF => {
            header[1] = mask_bit | 126;
            header[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
            4
        }
        _ => {
            header[1] = mask_bit | 127;
            header[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
            10
        }
    };
    if let Some(key) = mask {
        header[pos..pos + 4].copy_from_slice(&key);
        pos += 4;
    }
    uninit::write_copy(&mut out[..pos], &header[..pos])
}

/// Write a whole frame (header, then the payload, masked on the way if a key
/// is given) into `out`, which must be exactly `frame_len` bytes long;
/// returns `out`, written.
///
/// Writing into a caller's buffer lets the bindings encode straight into the
/// `bytes` object handed to the transport: the payload is copied once.
/// `opcode` is a raw 4-bit value so that the advanced API can send reserved
/// opcodes on purpose.
pub fn encode_frame_into<'a>(
    out: &'a mut [MaybeUninit<u8>],
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> &'a mut [u8] {
    let pos = encode_header(out, fin, rsv, opcode, payload.len(), mask).len();
    let body = &mut out[pos..];
    match mask {
        Some(key) => mask::mask_into(payload, body, key, 0),
        None => uninit::write_copy(body, payload),
    };
    // SAFETY: the header wrote `out[..pos]`, the payload all of `out[pos..]`
    // (both panic on a length mismatch rather than leave bytes unwritten).
    unsafe { uninit::assume_init(out) }
}

/// Encode a whole frame into a new buffer: one allocation for header and payload.
pub fn encode_frame(
    fin: bool,
    rsv: u8,
    opcode: u8,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) -> Vec<u8> {
    uninit::vec_with(frame_len(payload.len(), mask.is_some()), |out| {
        encode_frame_into(out, fin, rsv, opcode, payload, mask)
    })
}

/// Payload pieces of a message sent in frames of at most `fragment_size`
/// bytes (0: one frame). An empty message is still one (empty) frame.
fn fragments(payload: &[u8], fragment_size: usize) -> impl Iterator<Item = &[u8]> {
    let size = if fragment_size == 0 {
        payload.len().max(1)
    } else {
        fragment_size
    };
    let empty: &[u8] = &[];
    payload
        .chunks(size)
        .chain(payload.is_empty().then_some(empty))
}

/// Length of a whole message encoded by `encode_message_into`.
pub fn message_len(payload: &[u8], fragment_size: usize, masked: bool) -> usize {
    fragments(payload, fragment_size)
        .map(|piece| frame_len(piece.len(), masked))
        .sum()
}

/// Write a data message as frames of at most `fragment_size` payload bytes
/// into `out` (exactly `message_len` bytes): the first frame carries `opcode`
/// and `rsv`, the rest are continuations, the last has FIN. `next_key` gives
/// each frame's mask key (`None`: unmasked). Returns `out`, written.
pub fn encode_message_into<'a>(
    out: &'a mut [MaybeUninit<u8>],
    opcode: u8,
    rsv: u8,
    payload: &[u8],
    fragment_size: usize,
    mut next_key: impl FnMut() -> Option<[u8; 4]>,
) -> &'a mut [u8] {
    let mut pos = 0;
    let mut pieces = fragments(payload, fragment_size).peekable();
    let (mut opcode, mut rsv) = (opcode, rsv);
    while let Some(piece) = pieces.next() {
        let key = next_key();
        let len = frame_len(piece.len(), key.is_some());
        let fin = pieces.peek().is_none();
        encode_frame_into(&mut out[pos..pos + len], fin, rsv, opcode, piece, key);
        pos += len;
        (opcode, rsv) = (Opcode::Continuation as u8, 0);
    }
    assert_eq!(pos, out.len(), "encode_message_into: wrong buffer length");
    // SAFETY: the frames, written one after another, covered all of `out`.
    unsafe { uninit::assume_init(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(buf: &[u8]) -> (FrameHeader, usize) {
        decode_header(buf, 0).unwrap().unwrap()
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: single-frame unmasked and masked "Hello".
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        assert_eq!(encode_frame(true, 0, 1, b"Hello", None), unmasked);
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(
            encode_frame(true, 0, 1, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
            masked
        );
        let (h, n) = decode_all(&masked);
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.payload_len, 5);
        // 256 bytes binary: 16-bit length; 64 KiB: 64-bit length.
        assert_eq!(
            &encode_frame(true, 0, 2, &[0; 256], None)[..4],
            [0x82, 0x7E, 0x01, 0x00]
        );
        assert_eq!(
            &encode_frame(true, 0, 2, &[0; 65536], None)[..10],
            [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn length_boundaries_are_minimal() {
        for len in [0usize, 125, 126, 127, 128, 65535, 65536] {
            let frame = encode_frame(true, 0, 2, &vec![7; len], None);
            let (h, n) = decode_all(&frame);
            assert_eq!(h.payload_len as usize, len);
            assert_eq!(n, header_len(len, false));
            assert_eq!(frame.len(), n + len);
        }
    }

    #[test]
    fn structural_errors() {
        assert_eq!(
            decode_header(&[0x83], 0),
            Err(HeaderError::ReservedOpcode(3))
        );
        assert_eq!(
            decode_header(&[0x8B], 0),
            Err(HeaderError::ReservedOpcode(11))
        );
        assert_eq!(decode_header(&[0xC1], 0), Err(HeaderError::ReservedBits(4)));
        assert!(decode_header(&[0xC1, 0x00], RSV1).unwrap().is_some());
        assert_eq!(
            decode_header(&[0xA1], RSV1),
            Err(HeaderError::ReservedBits(2))
        );
        assert_eq!(
            decode_header(&[0x09], 0),
            Err(HeaderError::ControlFragmented)
        );
        assert_eq!(
            decode_header(&[0x89, 126], 0),
            Err(HeaderError::ControlTooLong)
        );
        assert_eq!(
            decode_header(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 5], 0),
            Err(HeaderError::LengthTopBit)
        );
        assert_eq!(
            decode_header(&[0x82, 126, 0, 125], 0),
            Err(HeaderError::NonMinimalLength)
        );
        assert_eq!(
            decode_header(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], 0),
            Err(HeaderError::NonMinimalLength)
        );
    }

    #[test]
    fn partial_headers_need_more() {
        let frame = encode_frame(true, 0, 2, &[1; 70000], Some([1, 2, 3, 4]));
        for cut in 0..14 {
            assert_eq!(decode_header(&frame[..cut], 0), Ok(None), "cut {cut}");
        }
        assert!(decode_header(&frame[..14], 0).unwrap().is_some());
    }

    #[test]
    fn messages_split_into_fragments() {
        let payload: Vec<u8> = (0..10).collect();
        for (size, frames) in [(0, 1), (3, 4), (10, 1), (11, 1), (1, 10)] {
            let out = uninit::vec_with(message_len(&payload, size, false), |out| {
                encode_message_into(out, 2, 0, &payload, size, || None)
            });
            let mut rest = &out[..];
            let mut seen = Vec::new();
            let mut count = 0;
            while !rest.is_empty() {
                let (h, n) = decode_header(rest, 0).unwrap().unwrap();
                let len = h.payload_len as usize;
                assert_eq!(
                    h.opcode,
                    if count == 0 {
                        Opcode::Binary
                    } else {
                        Opcode::Continuation
                    }
                );
                seen.extend_from_slice(&rest[n..n + len]);
                rest = &rest[n + len..];
                count += 1;
                assert_eq!(h.fin, rest.is_empty());
            }
            assert_eq!(
                (seen, count),
                (payload.clone(), frames),
                "fragment size {size}"
            );
        }
        let out = uninit::vec_with(message_len(b"", 4, true), |out| {
            encode_message_into(out, 1, 0, b"", 4, || Some([1, 2, 3, 4]))
        });
        assert_eq!(out, [0x81, 0x80, 1, 2, 3, 4]);
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            fin: bool,
            rsv in 0u8..8,
            opcode in prop::sample::select(vec![0u8, 1, 2, 8, 9, 10]),
            len in prop_oneof![0usize..130, 65530usize..65540, 70000usize..70010],
            key: Option<[u8; 4]>,
        ) {
            let op = Opcode::from_u8(opcode).unwrap();
            let (fin, len) = if op.is_control() { (true, len.min(125)) } else { (fin, len) };
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frame = encode_frame(fin, rsv, opcode, &payload, key);
            let (h, n) = decode_header(&frame, 7).unwrap().unwrap();
            prop_assert_eq!(h, FrameHeader { fin, rsv, opcode: op, mask: key, payload_len: len as u64 });
            let mut body = frame[n..].to_vec();
            if let Some(k) = key {
                mask::apply_mask(&mut body, k, 0);
            }
            prop_assert_eq!(body, payload);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..20), rsv in 0u8..8) {
            let _ = decode_header(&bytes, rsv);
        }
    }
}
