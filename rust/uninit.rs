//! Filling new buffers without zeroing them first.
//!
//! Every payload ferrobahn delivers or sends is written exactly once, whole:
//! by the unmasking copy, the frame encoder or a plain copy. Zeroing a buffer
//! before that, as `vec![0; n]` and PyO3's `PyBytes::new_with` do, is a
//! second pass over the memory (30% of encoding a 1 MiB message from
//! Python). So the writers take `&mut [MaybeUninit<u8>]` and hand the same
//! memory back as `&mut [u8]`, which only code that wrote every byte can
//! produce; the owner of the buffer checks with [`assert_filled`] that what
//! came back is the whole buffer before it treats the buffer as initialised.

use std::convert::Infallible;
use std::mem::MaybeUninit;
use std::ptr;

/// `src` copied into `dst`, which must have the same length (panics
/// otherwise); returns `dst`, written. (`<[MaybeUninit<u8>]>::write_copy_of_slice`
/// needs Rust 1.93.)
pub fn write_copy<'a>(dst: &'a mut [MaybeUninit<u8>], src: &[u8]) -> &'a mut [u8] {
    assert_eq!(dst.len(), src.len(), "write_copy: lengths differ");
    // SAFETY: same length, and a `&mut` destination cannot overlap `src`.
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast(), src.len()) };
    // SAFETY: every byte was just written.
    unsafe { assume_init(dst) }
}

/// `buf` as the bytes it holds.
///
/// # Safety
/// Every byte of `buf` must have been written.
pub unsafe fn assume_init(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the caller
    // guarantees the bytes are initialised.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// Panics unless `filled` is exactly the `len` bytes at `buf`: a fill
/// function must return the whole buffer it was given, written.
pub fn assert_filled(buf: *const MaybeUninit<u8>, len: usize, filled: &[u8]) {
    assert!(
        std::ptr::eq(filled.as_ptr(), buf.cast()) && filled.len() == len,
        "a fill function returned {} bytes of the {len} it was given",
        filled.len()
    );
}

/// Append `len` bytes to `vec`, written by `fill`. Nothing is appended if
/// `fill` fails.
pub fn extend_with<E>(
    vec: &mut Vec<u8>,
    len: usize,
    fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> Result<&'a mut [u8], E>,
) -> Result<(), E> {
    vec.reserve(len);
    let start = vec.len();
    let spare = &mut vec.spare_capacity_mut()[..len];
    let buf = spare.as_ptr();
    assert_filled(buf, len, fill(spare)?);
    // SAFETY: the `len` bytes after `start` are `filled`, initialised bytes.
    unsafe { vec.set_len(start + len) };
    Ok(())
}

/// A new vector of `len` bytes written by an infallible `fill`.
pub fn vec_with(
    len: usize,
    fill: impl for<'a> FnOnce(&'a mut [MaybeUninit<u8>]) -> &'a mut [u8],
) -> Vec<u8> {
    let mut vec = Vec::with_capacity(len);
    let Ok(()) = extend_with(&mut vec, len, |out| Ok::<_, Infallible>(fill(out)));
    vec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_with_appends_what_fill_wrote() {
        let mut vec = b"ab".to_vec();
        extend_with(&mut vec, 3, |out| Ok::<_, ()>(write_copy(out, b"cde"))).unwrap();
        assert_eq!(vec, b"abcde");
        assert_eq!(vec_with(2, |out| write_copy(out, b"xy")), b"xy");
    }

    #[test]
    fn failed_fill_appends_nothing() {
        let mut vec = b"ab".to_vec();
        assert_eq!(extend_with(&mut vec, 3, |_| Err("no")), Err("no"));
        assert_eq!(vec, b"ab");
    }

    #[test]
    #[should_panic(expected = "returned 2 bytes of the 3")]
    fn fill_must_return_the_whole_buffer() {
        vec_with(3, |out| write_copy(&mut out[..2], b"xy"));
    }
}
