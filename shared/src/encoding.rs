//! The canonical byte encoding shared by signed entries, invitations and the
//! embedded log.
//!
//! Written plainly, in the manner of rustls' `codec.rs`: big-endian integers,
//! a `u32` length before every variable-length field, a fixed field order, and
//! [`Reader::finish`] rejecting trailing bytes. One value has exactly one
//! encoding, so a signature over the bytes is a signature over the value.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("the data ends early: {0} is incomplete")]
    Truncated(&'static str),
    /// Bytes remain after a complete value.
    #[error("{0} unexpected bytes follow the end of the data")]
    TrailingBytes(usize),
    /// A length prefix is larger than the format allows.
    #[error("{what} is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A version byte this build does not know.
    #[error("unknown {what} version {version}; this program may be too old for it")]
    UnknownVersion {
        /// What carried the version.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A tag byte that names no known variant.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// What was being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A text field that is not UTF-8.
    #[error("{0} is not valid UTF-8 text")]
    NotUtf8(&'static str),
    /// A value that decodes but breaks a rule of the format.
    #[error("{0}")]
    Invalid(String),
}

/// Appends canonical encodings to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// One byte.
    pub fn u8(&mut self, value: u8) -> &mut Self {
        self.bytes.push(value);
        self
    }

    /// A boolean as one byte, 0 or 1.
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.u8(u8::from(value))
    }

    /// Big-endian `u16`.
    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Big-endian `u32`.
    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Big-endian `u64`.
    pub fn u64(&mut self, value: u64) -> &mut Self {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// An `f32` by its IEEE-754 bits, big-endian.
    pub fn f32(&mut self, value: f32) -> &mut Self {
        self.u32(value.to_bits())
    }

    /// Bytes of a length fixed by the format, without a prefix.
    pub fn fixed(&mut self, value: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(value);
        self
    }

    /// Bytes with a `u32` length prefix.
    ///
    /// Lengths above `u32::MAX` cannot occur: every caller's data is capped far below.
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.bytes.extend_from_slice(value);
        self
    }

    /// UTF-8 text with a `u32` length prefix.
    pub fn str(&mut self, value: &str) -> &mut Self {
        self.bytes(value.as_bytes())
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads canonical encodings from a byte slice, never past its end.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A boolean; any byte other than 0 or 1 is an error.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::UnknownTag { what, tag }),
        }
    }

    /// Big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// An `f32` by its bits; NaN and infinities are rejected.
    pub fn f32(&mut self, what: &'static str) -> Result<f32, DecodeError> {
        let value = f32::from_bits(self.u32(what)?);
        if value.is_finite() { Ok(value) } else { Err(DecodeError::Invalid(format!("{what} is not a finite number"))) }
    }

    /// Length-prefixed bytes of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len, what)
    }

    /// Length-prefixed UTF-8 text of at most `max` bytes.
    pub fn str(&mut self, max: usize, what: &'static str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(max, what)?).map_err(|_| DecodeError::NotUtf8(what))
    }

    /// A `u32` element count, capped at `max`.
    pub fn count(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        Ok(len)
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Ends reading; bytes left over are an error.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes(self.rest.len())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_primitive() -> Result<(), DecodeError> {
        let mut w = Writer::new();
        w.u8(7).bool(true).u16(513).u32(70_000).u64(1 << 40).f32(-1.5).str("Zoë").bytes(&[1, 2]);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a")?, 7);
        assert!(r.bool("b")?);
        assert_eq!(r.u16("c")?, 513);
        assert_eq!(r.u32("d")?, 70_000);
        assert_eq!(r.u64("e")?, 1 << 40);
        assert_eq!(r.f32("f")?, -1.5);
        assert_eq!(r.str(10, "g")?, "Zoë");
        assert_eq!(r.bytes(10, "h")?, &[1, 2]);
        r.finish()
    }

    #[test]
    fn rejects_trailing_truncated_oversized_and_non_canonical_input() {
        let mut r = Reader::new(&[0, 0, 0, 5, 1]);
        assert_eq!(r.bytes(10, "name"), Err(DecodeError::Truncated("name")));
        let mut r = Reader::new(&[0, 0, 0, 50]);
        assert!(matches!(r.bytes(10, "name"), Err(DecodeError::TooLong { len: 50, .. })));
        let mut r = Reader::new(&[2]);
        assert!(matches!(r.bool("flag"), Err(DecodeError::UnknownTag { tag: 2, .. })));
        let r = Reader::new(&[1]);
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
        let nan = f32::NAN.to_bits().to_be_bytes();
        let mut r = Reader::new(&nan);
        assert!(r.f32("x").is_err());
    }
}
