//! Content hashes and the ids built from them.
//!
//! Everything is named by its BLAKE3 hash, shown as 64 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// The text of a hash, key or id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a valid {what}: expected {digits} hexadecimal digits")]
pub struct ParseHexError {
    what: &'static str,
    digits: usize,
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses hex digits (either case, even count, nothing else) into bytes.
pub(crate) fn from_hex_bytes(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

/// Parses exactly `N` bytes of hex (either case).
pub(crate) fn from_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], ParseHexError> {
    let error = ParseHexError { what, digits: N * 2 };
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return Err(error);
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => out[i] = (high << 4) | low,
            _ => return Err(error),
        }
    }
    Ok(out)
}

/// A BLAKE3 hash of some bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash([u8; 32]);

impl Hash {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// A hash from its raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits, enough to tell hashes apart on screen.
    pub fn short(&self) -> String {
        to_hex(&self.0[..4])
    }
}

macro_rules! hex_text {
    ($type:ty, $what:expr) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&to_hex(self.as_bytes()))
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($type), self)
            }
        }

        impl FromStr for $type {
            type Err = ParseHexError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_bytes(from_hex(text, $what)?))
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hex_text;

hex_text!(Hash, "hash");

/// The id of a signed entry: the hash of its bytes, signature included.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(Hash);

/// The id of an envelope: the id of its `Create` entry.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvelopeId(Hash);

macro_rules! hash_id {
    ($type:ident) => {
        impl $type {
            /// The id from its raw bytes.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(Hash::from_bytes(bytes))
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }

            /// The first 8 hex digits.
            pub fn short(&self) -> String {
                self.0.short()
            }
        }

        impl From<Hash> for $type {
            fn from(hash: Hash) -> Self {
                Self(hash)
            }
        }

        hex_text!($type, stringify!($type));
    };
}

hash_id!(EntryId);
hash_id!(EnvelopeId);

impl From<EntryId> for EnvelopeId {
    fn from(id: EntryId) -> Self {
        Self(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_rejects_bad_digits() {
        let hash = Hash::of(b"countersign");
        let text = hash.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Hash>(), Ok(hash));
        assert_eq!(text.to_uppercase().parse::<Hash>(), Ok(hash));
        assert!(text[..63].parse::<Hash>().is_err());
        assert!(format!("{}g", &text[..63]).parse::<Hash>().is_err());
    }
}
