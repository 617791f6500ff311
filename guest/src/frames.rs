//! The byte strings that cross the boundary with JavaScript, both ways: a
//! count, then each string with its length (`u32` big-endian, the canonical
//! encoding's). Reads are capped before anything is allocated.

use countersign_shared::encoding::{Reader, Writer};

use countersign_shared::time::UtcOffset;

use crate::GuestError;
use crate::acts::Clock;

/// The most strings one call takes (entries of a log, images).
pub const MAX_FRAMES: usize = 4096;
/// The longest string (a source PDF).
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Reads the strings of `bytes`.
pub fn read(bytes: &[u8]) -> Result<Vec<&[u8]>, GuestError> {
    let mut r = Reader::new(bytes);
    let count = r.count(MAX_FRAMES, "strings")?;
    let mut frames = Vec::with_capacity(count);
    for _ in 0..count {
        frames.push(r.bytes(MAX_FRAME, "string")?);
    }
    r.finish()?;
    Ok(frames)
}

/// Writes `frames` as one byte string.
pub fn write<T: AsRef<[u8]>>(frames: &[T]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(u32::try_from(frames.len()).unwrap_or(u32::MAX));
    for frame in frames {
        w.bytes(frame.as_ref());
    }
    w.finish()
}

/// The string at `index`, or an error naming what is missing.
pub fn at<'a>(frames: &[&'a [u8]], index: usize, what: &str) -> Result<&'a [u8], GuestError> {
    frames.get(index).copied().ok_or_else(|| GuestError::new(format!("missing {what}")))
}

/// A fixed-size string at `index`.
pub fn array<const N: usize>(frames: &[&[u8]], index: usize, what: &str) -> Result<[u8; N], GuestError> {
    at(frames, index, what)?.try_into().map_err(|_| GuestError::new(format!("{what} must be {N} bytes")))
}

/// A UTF-8 string at `index`.
pub fn text<'a>(frames: &[&'a [u8]], index: usize, what: &str) -> Result<&'a str, GuestError> {
    std::str::from_utf8(at(frames, index, what)?).map_err(|_| GuestError::new(format!("{what} is not text")))
}

/// The browser's clock at `index`: Unix milliseconds (big-endian `u64`)
/// then the offset from UTC in minutes (big-endian `i16`).
pub fn clock_at(frames: &[&[u8]], index: usize) -> Result<Clock, GuestError> {
    let bytes: [u8; 10] = array(frames, index, "time")?;
    let (ms, offset) = bytes.split_at(8);
    let ms = u64::from_be_bytes(ms.try_into().map_err(|_| GuestError::new("the time is damaged"))?);
    let minutes = i16::from_be_bytes(offset.try_into().map_err(|_| GuestError::new("the time is damaged"))?);
    let utc_offset = UtcOffset::from_minutes(i32::from(minutes))
        .ok_or_else(|| GuestError::new("this device's time zone is more than 14 hours from UTC"))?;
    Ok(Clock { ms, utc_offset })
}

/// A big-endian `u64` at `index`.
pub fn u64_at(frames: &[&[u8]], index: usize, what: &str) -> Result<u64, GuestError> {
    Ok(u64::from_be_bytes(array(frames, index, what)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_damage_is_an_error() -> Result<(), GuestError> {
        let written = write(&[b"abc".as_slice(), b"", b"\x00\x01"]);
        assert_eq!(read(&written)?, vec![b"abc".as_slice(), b"", b"\x00\x01"]);
        assert!(read(&written[..written.len() - 1]).is_err());
        assert!(read(&[0xff, 0xff, 0xff, 0xff]).is_err(), "a count over the cap");
        Ok(())
    }
}
