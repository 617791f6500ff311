//! Randomness inside the guest's WebAssembly: Automerge draws its actor ids
//! and skip lists from `getrandom`, which has no source of its own on
//! `wasm32-unknown-unknown`. The page seeds a pool with 32 bytes from
//! `crypto.getRandomValues` when it opens an envelope ([`seed`]); getrandom's
//! custom backend (`getrandom_backend="custom"`, `.cargo/config.toml`) reads
//! BLAKE3's keyed output stream from that seed.

use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Option<blake3::OutputReader>> = const { RefCell::new(None) };
}

/// Seeds the pool (32 random bytes from the browser).
pub fn seed(bytes: [u8; 32]) {
    let reader = blake3::Hasher::new_keyed(&bytes).update(b"countersign guest entropy").finalize_xof();
    POOL.with(|pool| *pool.borrow_mut() = Some(reader));
}

/// Fills `buffer` from the pool; false before it is seeded.
pub fn fill(buffer: &mut [u8]) -> bool {
    POOL.with(|pool| match pool.borrow_mut().as_mut() {
        Some(reader) => {
            reader.fill(buffer);
            true
        }
        None => false,
    })
}

/// getrandom's custom backend (versions 0.3 and 0.4 both call this symbol).
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)] // getrandom's contract: a function by this name, taking a raw buffer
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(dest: *mut u8, len: usize) -> Result<(), getrandom::Error> {
    // SAFETY: getrandom hands a buffer of `len` writable bytes at `dest`.
    let buffer = unsafe { std::slice::from_raw_parts_mut(dest, len) };
    if fill(buffer) { Ok(()) } else { Err(getrandom::Error::UNSUPPORTED) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_gives_nothing_unseeded_and_differs_per_seed() {
        let mut first = [0u8; 16];
        std::thread::spawn(move || assert!(!fill(&mut [0u8; 4]))).join().ok();
        seed([1; 32]);
        assert!(fill(&mut first));
        let mut again = [0u8; 16];
        assert!(fill(&mut again));
        assert_ne!(first, again, "a stream, not a repeat");
        seed([2; 32]);
        let mut other = [0u8; 16];
        assert!(fill(&mut other));
        assert_ne!(first, other);
    }
}
