//! The three functions JavaScript calls. The page writes a call's input
//! ([`crate::frames`]) into the buffer [`input`] hands it, calls [`call`],
//! and reads the output from [`output`]: no unsafe code, no glue generator.

use std::cell::RefCell;

use crate::{frames, ops};

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for the next call's input; its address in memory.
#[allow(unsafe_code)] // exported by name
#[unsafe(no_mangle)]
pub extern "C" fn input(len: u32) -> *mut u8 {
    INPUT.with(|input| {
        let mut input = input.borrow_mut();
        input.clear();
        input.resize(len as usize, 0);
        input.as_mut_ptr()
    })
}

/// Runs operation `op` on the input. Returns the output's length, negated
/// when the output is an error message (UTF-8) rather than byte strings.
#[allow(unsafe_code)] // exported by name
#[unsafe(no_mangle)]
pub extern "C" fn call(op: u32) -> i32 {
    let result = INPUT.with(|input| {
        let input = input.borrow();
        frames::read(&input).and_then(|strings| ops::run(op, &strings))
    });
    let (bytes, failed) = match result {
        Ok(strings) => (frames::write(&strings), false),
        Err(error) => (error.to_string().into_bytes(), true),
    };
    let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    OUTPUT.with(|output| *output.borrow_mut() = bytes);
    if failed { -len } else { len }
}

/// The address of the last call's output.
#[allow(unsafe_code)] // exported by name
#[unsafe(no_mangle)]
pub extern "C" fn output() -> *const u8 {
    OUTPUT.with(|output| output.borrow().as_ptr())
}
