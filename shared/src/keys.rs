//! Party keys: the ed25519 key that signs a party's entries and, on a node, is
//! also its libp2p identity.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, VerifyingKey};
use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::hash::{ParseHexError, from_hex, hex_text, to_hex};

/// A signature or key did not check out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The 32 bytes are not a valid ed25519 public key.
    #[error("not a valid ed25519 public key")]
    BadPublicKey,
    /// The signature does not verify under the key (strict verification).
    #[error("the signature does not verify")]
    BadSignature,
}

/// A party's public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// A key from its raw bytes; validity is checked when it verifies.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The fingerprint people compare: the first 16 hex digits in groups of four.
    pub fn fingerprint(&self) -> String {
        let hex = to_hex(&self.0[..8]);
        let groups: Vec<&str> = (0..4).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join(" ")
    }

    /// Checks `signature` over `message` with ed25519's strict rules
    /// (no small-order keys, no malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::BadPublicKey)?;
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &signature).map_err(|_| KeyError::BadSignature)
    }
}

hex_text!(PublicKey, "public key");

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// A signature from its raw bytes.
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", to_hex(&self.0[..8]))
    }
}

/// A secret signing key. It never prints: `Debug` shows only the public half.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// The key for a 32-byte secret seed (from the OS's random source on a node).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The secret seed, for storing the key. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`. Ed25519 is deterministic: same key and message, same signature.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {}, secret: redacted)", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_strictly() {
        let key = SecretKey::from_seed([7; 32]);
        let signature = key.sign(b"terms");
        assert_eq!(key.public().verify(b"terms", &signature), Ok(()));
        assert_eq!(key.public().verify(b"other", &signature), Err(KeyError::BadSignature));
        let mut bent = *signature.as_bytes();
        bent[0] ^= 1;
        assert!(key.public().verify(b"terms", &Signature::from_bytes(bent)).is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SecretKey::from_seed([9; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&to_hex(&key.to_seed())));
    }

    #[test]
    fn fingerprint_is_four_groups() {
        let key = SecretKey::from_seed([1; 32]).public();
        assert_eq!(key.fingerprint().len(), 19);
        assert_eq!(key.to_string().parse::<PublicKey>(), Ok(key));
    }
}
