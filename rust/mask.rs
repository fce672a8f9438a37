//! Payload masking (RFC 6455 §5.3) and mask-key generation.
//!
//! Every byte a client sends and every byte a server receives goes through
//! this XOR, so it has to run at memory speed or it becomes the bottleneck of
//! the whole library. The approach: rotate the 4-byte key once so the loop
//! never has to track a phase, then XOR fixed-size blocks that LLVM turns into
//! plain vector loads, XORs and stores. There is exactly one loop
//! ([`mask_kernel`]); the AVX2 entry point only recompiles it with wider
//! registers.
//!
//! Mask keys exist so that a hostile page cannot choose the bytes that appear
//! on the wire (cache-poisoning of transparent proxies), which only works if
//! the next key is unpredictable. Hence the OS CSPRNG, never a seeded PRNG.

use std::mem::MaybeUninit;

use crate::uninit;

/// Bytes per step of the main loop. 32 is one AVX2 register or two SSE2
/// registers; LLVM unrolls further on its own where it pays off.
const BLOCK: usize = 32;

/// Step of the second, narrower pass that mops up most of what the main loop
/// left, so at most 7 bytes are handled one at a time.
const SMALL_BLOCK: usize = 8;

/// Below this length the AVX2 path is not worth an out-of-line call: the
/// inlined SSE2 loop finishes first (measured: at 512 bytes `mask_into` took
/// 13 ns via AVX2 against 11 ns inline; from 1 KiB up AVX2 wins), and small
/// frames (chat messages, pings) are the common case.
#[cfg(target_arch = "x86_64")]
const AVX2_MIN_LEN: usize = 1024;

/// XOR `buf` in place with `key`, starting at byte `offset` of the key (offset taken mod 4),
/// i.e. buf[i] ^= key[(offset + i) % 4].
///
/// `offset` lets a payload that arrives in several reads be unmasked piece by
/// piece without copying it together first.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    dispatch(Buffers::InPlace(buf), rotate(key, offset));
}

/// dst[i] = src[i] ^ key[(offset + i) % 4]; returns `dst`, every byte of it
/// now written. Panics if the lengths differ (assert!, it is a caller bug).
///
/// Exists so that encoding a frame reads the payload once and writes the
/// masked bytes straight into the output buffer, instead of a copy followed
/// by a second pass over the copy. `dst` may be uninitialised: the buffers
/// handed to Python are filled here without being zeroed first.
pub fn mask_into<'a>(
    src: &[u8],
    dst: &'a mut [MaybeUninit<u8>],
    key: [u8; 4],
    offset: usize,
) -> &'a mut [u8] {
    assert!(
        src.len() == dst.len(),
        "mask_into: source is {} bytes but destination is {} bytes",
        src.len(),
        dst.len()
    );
    dispatch(Buffers::Copy(src, dst), rotate(key, offset));
    // SAFETY: the kernel wrote every byte of `dst` (its blocks, then the tail).
    unsafe { uninit::assume_init(dst) }
}

/// What the kernel reads and writes: one buffer in place, or a source and a
/// destination of the same length that it writes without reading.
enum Buffers<'a> {
    InPlace(&'a mut [u8]),
    Copy(&'a [u8], &'a mut [MaybeUninit<u8>]),
}

impl Buffers<'_> {
    fn len(&self) -> usize {
        match self {
            Buffers::InPlace(buf) => buf.len(),
            Buffers::Copy(_, dst) => dst.len(),
        }
    }

    /// The same buffers without their first `n` bytes.
    #[inline(always)]
    fn skip(&mut self, n: usize) -> Buffers<'_> {
        match self {
            Buffers::InPlace(buf) => Buffers::InPlace(&mut buf[n..]),
            Buffers::Copy(src, dst) => Buffers::Copy(&src[n..], &mut dst[n..]),
        }
    }
}

/// Rotate the key so that byte 0 of the result lines up with byte 0 of the
/// buffer; after this the loop never needs to know `offset`.
///
/// Done on a `u32` because `<[u8]>::rotate_left` compiles to memcpy/memmove
/// calls, which cost more than masking a short frame.
#[inline(always)]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Little-endian view: byte 0 is the low byte, so moving byte `n` down to
    // position 0 is a right rotation by `n` bytes.
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

/// Pick the widest kernel the CPU supports.
///
/// `is_x86_feature_detected!` already caches its CPUID result in a static, so
/// after the first call this costs one relaxed load and a bit test; with
/// `-C target-feature=+avx2` it folds to a constant.
#[inline(always)]
fn dispatch(bufs: Buffers<'_>, key: [u8; 4]) {
    #[cfg(target_arch = "x86_64")]
    if bufs.len() >= AVX2_MIN_LEN && std::is_x86_feature_detected!("avx2") {
        // SAFETY: `mask_avx2` only requires that the CPU supports AVX2, which
        // was checked at run time on the line above.
        unsafe { mask_avx2(bufs, key) };
        return;
    }
    mask_kernel(bufs, key);
}

/// The same kernel, compiled with AVX2 enabled so LLVM can use 256-bit
/// registers. Kept out of line: a `target_feature` function cannot be
/// inlined into callers that lack the feature.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mask_avx2(bufs: Buffers<'_>, key: [u8; 4]) {
    mask_kernel(bufs, key);
}

/// The one masking loop. `key` is already rotated.
///
/// `inline(always)` is what lets each caller's target features (baseline
/// SSE2, or AVX2 in [`mask_avx2`]) decide the instructions it becomes.
#[inline(always)]
fn mask_kernel(mut bufs: Buffers<'_>, key: [u8; 4]) {
    let pattern = key_word(key);
    let mut done = mask_blocks::<BLOCK>(&mut bufs, pattern);
    done += mask_blocks::<SMALL_BLOCK>(&mut bufs.skip(done), pattern);
    // Fewer than 8 bytes are left and `done` is a whole number of keys in, so
    // the pattern lines up from its first byte. Zipping with the 8-byte
    // pattern also bounds the loop, which stops LLVM from emitting a vector
    // loop for what is at most 7 bytes.
    let pattern = pattern.to_ne_bytes();
    match bufs.skip(done) {
        Buffers::InPlace(tail) => {
            for (d, p) in tail.iter_mut().zip(pattern) {
                *d ^= p;
            }
        }
        Buffers::Copy(src, dst) => {
            for ((d, s), p) in dst.iter_mut().zip(src).zip(pattern) {
                d.write(s ^ p);
            }
        }
    }
}

/// The key repeated twice. Both halves are the key in wire order, so its
/// native-endian bytes are the mask for any 8 consecutive bytes that start
/// at key phase 0, on any endianness.
#[inline(always)]
fn key_word(key: [u8; 4]) -> u64 {
    let half = u64::from(u32::from_ne_bytes(key));
    half | half << 32
}

/// Mask as many whole `N`-byte blocks as fit and return how many bytes that
/// covered. Fixed-size blocks have no bounds checks and no loop-carried
/// state, which is what lets LLVM vectorise them.
///
/// The in-place and copying arms differ only in where a block is read from
/// and how it is stored; both go through [`xor_block`].
#[inline(always)]
fn mask_blocks<const N: usize>(bufs: &mut Buffers<'_>, pattern: u64) -> usize {
    // Whole `u64` lanes, each starting at key phase 0.
    const { assert!(N % 8 == 0) };
    match bufs {
        Buffers::InPlace(buf) => {
            for d in buf.chunks_exact_mut(N) {
                let input: [u8; N] = (*d).try_into().unwrap();
                d.copy_from_slice(&xor_block(&input, pattern));
            }
        }
        Buffers::Copy(src, dst) => {
            for (d, s) in dst.chunks_exact_mut(N).zip(src.chunks_exact(N)) {
                uninit::write_copy(d, &xor_block::<N>(s.try_into().unwrap(), pattern));
            }
        }
    }
    bufs.len() - bufs.len() % N
}

/// XOR one block as `u64` lanes. Byte-wise code is vectorised fine for a
/// 32-byte block but left as eight byte stores for an 8-byte one; whole
/// words give one store for the small block and still merge into vector
/// registers for the large one.
#[inline(always)]
fn xor_block<const N: usize>(input: &[u8; N], pattern: u64) -> [u8; N] {
    let mut out = [0; N];
    for (o, i) in out.chunks_exact_mut(8).zip(input.chunks_exact(8)) {
        let word = u64::from_ne_bytes(i.try_into().unwrap()) ^ pattern;
        o.copy_from_slice(&word.to_ne_bytes());
    }
    out
}

/// Keys fetched per `getrandom` call: 256 keys = 1 KiB, so a syscall is paid
/// once per 256 frames rather than once per frame.
const BATCH_KEYS: usize = 256;
const BATCH_BYTES: usize = BATCH_KEYS * 4;

/// Mask keys from the OS CSPRNG (getrandom), fetched in batches (e.g. 256 keys = 1 KiB per
/// getrandom call) so a key costs no syscall. Never rand() or a Mersenne Twister.
///
/// Two instances holding the same buffer would send the same keys, so this
/// type is deliberately not `Clone`, and its `Debug` output does not show the
/// buffered keys. After a `fork` the child's copy would replay the parent's
/// upcoming keys: whoever forks calls `discard` in the child (the Python
/// package does, through `os.register_at_fork`).
///
/// Keys already handed out are left in the buffer: they go on the wire in the
/// clear, so there is nothing left to protect by wiping them.
pub struct MaskKeys {
    buf: [u8; BATCH_BYTES],
    /// Next unused byte of `buf`; `BATCH_BYTES` means empty.
    pos: usize,
}

impl MaskKeys {
    /// Starts empty so that constructing one costs nothing: a server-side
    /// connection never masks and so never touches the OS RNG.
    pub const fn new() -> Self {
        MaskKeys {
            buf: [0; BATCH_BYTES],
            pos: BATCH_BYTES,
        }
    }

    /// # Panics
    /// If the OS random number generator fails. Masking with a predictable
    /// key would defeat the point of masking, so there is no fallback.
    pub fn next_key(&mut self) -> [u8; 4] {
        if self.pos == BATCH_BYTES {
            self.refill();
        }
        let key = [
            self.buf[self.pos],
            self.buf[self.pos + 1],
            self.buf[self.pos + 2],
            self.buf[self.pos + 3],
        ];
        self.pos += 4;
        key
    }

    /// Drop the buffered keys, so that the next key comes from a fresh batch.
    pub fn discard(&mut self) {
        self.pos = BATCH_BYTES;
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        if let Err(err) = getrandom::fill(&mut self.buf) {
            panic!(
                "ferrobahn: the OS random number generator failed ({err}); \
                 refusing to produce predictable WebSocket mask keys"
            );
        }
        self.pos = 0;
    }
}

impl Default for MaskKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for MaskKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MaskKeys")
            .field("buffered", &((BATCH_BYTES - self.pos) / 4))
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// One batch per thread, shared by its connections: 1 KiB per thread
    /// rather than per client connection.
    static KEYS: core::cell::RefCell<MaskKeys> = const { core::cell::RefCell::new(MaskKeys::new()) };
}

/// A fresh mask key from this thread's batch.
pub fn random_key() -> [u8; 4] {
    KEYS.with(|keys| keys.borrow_mut().next_key())
}

/// Forget this thread's buffered keys (call in a child after `fork`).
pub fn discard_keys() {
    KEYS.with(|keys| keys.borrow_mut().discard());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn naive(src: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        src.iter()
            .enumerate()
            .map(|(i, b)| b ^ key[(offset.wrapping_add(i)) % 4])
            .collect()
    }

    type Kernel = fn(Buffers<'_>, [u8; 4]);

    /// Every kernel this machine can run, called directly so that short
    /// buffers also exercise the AVX2 build (the public entry points send
    /// them to the baseline one).
    fn kernels() -> Vec<(&'static str, Kernel)> {
        let mut kernels: Vec<(&'static str, Kernel)> = vec![("baseline", |b, k| mask_kernel(b, k))];
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            kernels.push(("avx2", |b, k| {
                // SAFETY: AVX2 support was checked just above.
                unsafe { mask_avx2(b, k) }
            }));
        }
        kernels
    }

    /// `mask_into` a fresh, uninitialised buffer, as the bindings call it.
    fn masked(src: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        let mut dst = Vec::with_capacity(src.len());
        mask_into(src, &mut dst.spare_capacity_mut()[..src.len()], key, offset).to_vec()
    }

    /// Checks every entry point on `src` against the naive loop.
    fn check_all(src: &[u8], key: [u8; 4], offset: usize) -> Result<(), TestCaseError> {
        let want = naive(src, key, offset);

        let mut buf = src.to_vec();
        apply_mask(&mut buf, key, offset);
        prop_assert_eq!(&buf, &want, "apply_mask len={} off={}", src.len(), offset);

        let dst = masked(src, key, offset);
        prop_assert_eq!(&dst, &want, "mask_into len={} off={}", src.len(), offset);

        for (name, kernel) in kernels() {
            let mut buf = src.to_vec();
            kernel(Buffers::InPlace(&mut buf), rotate(key, offset));
            prop_assert_eq!(&buf, &want, "{} in place len={}", name, src.len());
            let mut dst = vec![MaybeUninit::new(0x55); src.len()];
            kernel(Buffers::Copy(src, &mut dst), rotate(key, offset));
            // SAFETY: initialised above (with 0x55), overwritten by the kernel.
            let dst = unsafe { uninit::assume_init(&mut dst) };
            prop_assert_eq!(dst, &want[..], "{} copy len={}", name, src.len());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Every length around the block and dispatch boundaries, every key
        /// phase (and one lap past it), from every alignment a block can have.
        #[test]
        fn all_short_lengths_and_offsets(
            key in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 300 + BLOCK),
            shift in 0..BLOCK,
        ) {
            for len in 0..=300 {
                for offset in 0..8 {
                    check_all(&data[shift..shift + len], key, offset)?;
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_long_lengths(
            key in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 0..70_000),
            shift in 0..BLOCK,
            offset in any::<usize>(),
        ) {
            let shift = shift.min(data.len());
            check_all(&data[shift..], key, offset)?;
        }

        #[test]
        fn masking_twice_is_identity(
            key in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 0..5_000),
            offset in any::<usize>(),
        ) {
            let mut buf = data.clone();
            apply_mask(&mut buf, key, offset);
            apply_mask(&mut buf, key, offset);
            prop_assert_eq!(&buf, &data);

            prop_assert_eq!(masked(&masked(&data, key, offset), key, offset), data);
        }

        /// Unmasking a payload in arbitrary pieces, carrying the position as
        /// `offset`, gives the same bytes as unmasking it in one go.
        #[test]
        fn split_unmasking_matches_whole(
            key in any::<[u8; 4]>(),
            data in proptest::collection::vec(any::<u8>(), 0..2_000),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let mut pieces = data.clone();
            for w in cuts.windows(2) {
                apply_mask(&mut pieces[w[0]..w[1]], key, w[0]);
            }
            prop_assert_eq!(pieces, naive(&data, key, 0));
        }
    }

    #[test]
    #[should_panic(expected = "mask_into")]
    fn mask_into_rejects_length_mismatch() {
        mask_into(&[1, 2, 3], &mut [MaybeUninit::new(0); 2], [1, 2, 3, 4], 0);
    }

    #[test]
    fn mask_keys_are_distinct_across_batches() {
        let mut keys = MaskKeys::new();
        // Crosses three batch refills.
        let drawn: Vec<[u8; 4]> = (0..1000).map(|_| keys.next_key()).collect();
        let unique: HashSet<_> = drawn.iter().collect();
        // 1000 random 32-bit keys collide with probability ~1e-4; two
        // collisions (~1e-8) would mean a broken generator, e.g. a refill
        // that repeats the previous batch.
        assert!(drawn.len() - unique.len() <= 1, "too many repeated keys");

        // A separate instance must not replay the first one.
        let mut other = MaskKeys::default();
        let other_first: Vec<[u8; 4]> = (0..16).map(|_| other.next_key()).collect();
        assert_ne!(&drawn[..16], &other_first[..]);
    }

    #[test]
    fn mask_key_bits_are_balanced() {
        const N: u32 = 100_000;
        let mut keys = MaskKeys::new();
        let mut ones = [0u32; 32];
        for _ in 0..N {
            let word = u32::from_le_bytes(keys.next_key());
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += (word >> bit) & 1;
            }
        }
        // Expected 50_000 with a standard deviation of ~158, so 45%..55% is
        // ~30 sigma wide: this only fails for a genuinely biased source.
        for (bit, &count) in ones.iter().enumerate() {
            assert!(
                (N * 45 / 100..=N * 55 / 100).contains(&count),
                "bit {bit} set in {count} of {N} keys"
            );
        }
    }

    #[test]
    fn debug_does_not_leak_keys() {
        let mut keys = MaskKeys::new();
        keys.next_key();
        assert_eq!(
            format!("{keys:?}"),
            format!("MaskKeys {{ buffered: {}, .. }}", BATCH_KEYS - 1)
        );
    }
}
