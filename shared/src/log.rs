//! Signed entries: the acts of an envelope, their canonical bytes and signatures.
//!
//! An entry's bytes are its body followed by a 64-byte ed25519 signature of the
//! author. The body starts with a version byte; its id is the BLAKE3 hash of
//! all its bytes. Entries name their `parents`, so an envelope's log is a
//! hash-linked DAG rooted at its `Create`, whose id is the envelope id.
//!
//! ```text
//! body   = version:u8 (=4) act:u8 [envelope:32 unless Create]
//!          parents:u32 (id:32)* author:32 claimed_time_ms:u64
//!          utc_offset_minutes:i16 act-fields
//! entry  = body signature:64       signature = sign(author, "countersign/entry/1\0" body)
//! ```
//!
//! Bytes become a [`RawEntry`] (decoded, signature not yet checked); the rules
//! in [`rules`] turn raw entries into [`ValidEntry`]s, the only kind the state
//! fold and the renderer accept.
//!
//! Version history: 1 is the first; 2 adds the party's certificate chain to
//! `Join` and the `Seal` act (the PDF signature value of a signing step); 3
//! adds the `Confirm` act (a party's phone confirmed by a code, recorded by
//! the sender's node); 4 adds the author's offset from UTC, so that times
//! are shown as the author's clock read them.

pub mod bundle;
pub mod rules;

use serde::Serialize;

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{EntryId, EnvelopeId, Hash};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::model::{MAX_FIELDS, MAX_TEXT, Slot, Terms, len_u32};
use crate::pades::certificate::{MAX_CERTIFICATE_BYTES, MAX_CHAIN};
use crate::time::UtcOffset;

/// The entry format this build writes.
pub const ENTRY_VERSION: u8 = 4;
/// Largest entry accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// Most parents one entry may name.
pub const MAX_PARENTS: usize = 64;
/// Largest image a field accepts (signature or stamp), in bytes.
pub const MAX_IMAGE_BYTES: u64 = 4 * 1024 * 1024;

const ENTRY_DOMAIN: &[u8] = b"countersign/entry/1\0";
const JOIN_DOMAIN: &[u8] = b"countersign/join/1\0";

/// The image formats a signature or stamp may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// PNG, transparency kept.
    Png,
    /// JPEG (baseline or progressive).
    Jpeg,
}

impl ImageFormat {
    /// Recognises the format from the file's first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(ImageFormat::Jpeg)
        } else {
            None
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
        }
    }
}

/// A value a signer gives for one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Text, for date, text and company-details fields.
    Text(String),
    /// An image blob, for signature and stamp fields.
    Image {
        /// BLAKE3 of the image bytes.
        hash: Hash,
        /// Length of the image in bytes.
        len: u64,
        /// Its format.
        format: ImageFormat,
    },
}

/// What an entry does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Starts an envelope and fixes its terms (P1).
    Create(Terms),
    /// Opens a party's slot to whoever holds the invite secret whose public half is `invite_key`.
    Invite {
        /// The slot offered.
        slot: Slot,
        /// Public half of the one-time invite secret.
        invite_key: PublicKey,
        /// Unix time (ms) after which a `Join` may no longer use it.
        expires_at: u64,
    },
    /// Binds the author's key to a slot (P2).
    Join {
        /// The slot taken.
        slot: Slot,
        /// The `Invite` entry used.
        invite: EntryId,
        /// The invite secret's signature over (envelope, slot, author key).
        proof: Signature,
        /// The party's X.509 certificate for the author key (DER), then the
        /// certificate of the CA that issued it, if it is not self-signed.
        certificates: Vec<Vec<u8>>,
    },
    /// The party at `slot` fills its fields and signs.
    Sign {
        /// The signer's slot.
        slot: Slot,
        /// Values by field index, in increasing index order.
        values: Vec<(u16, Value)>,
    },
    /// The PDF signature of the party's signing step: the Ed25519 value over
    /// the step's CMS signed attributes (see [`crate::render`]). It cannot be
    /// inside the `Sign` itself, because the step it signs contains that `Sign`.
    Seal {
        /// The signer's slot.
        slot: Slot,
        /// The signature value.
        value: Signature,
    },
    /// The creator's node records that the holder of `key` gave the code it
    /// texted to the phone of the party at `slot` (made before that key's
    /// `Join`, which then has it among its ancestors).
    Confirm {
        /// The party's slot.
        slot: Slot,
        /// The key that gave the code.
        key: PublicKey,
    },
    /// The party at `slot` refuses to sign; the envelope ends (P5).
    Decline {
        /// The party's slot.
        slot: Slot,
        /// Why, in their words.
        reason: String,
    },
    /// The creator withdraws the envelope (P5).
    Void {
        /// Why.
        reason: String,
    },
}

impl Act {
    /// The act's name as people read it.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Create(_) => "create",
            Act::Invite { .. } => "invite",
            Act::Join { .. } => "join",
            Act::Sign { .. } => "sign",
            Act::Seal { .. } => "seal",
            Act::Confirm { .. } => "confirm",
            Act::Decline { .. } => "decline",
            Act::Void { .. } => "void",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Act::Create(_) => 1,
            Act::Invite { .. } => 2,
            Act::Join { .. } => 3,
            Act::Sign { .. } => 4,
            Act::Decline { .. } => 5,
            Act::Void { .. } => 6,
            Act::Seal { .. } => 7,
            Act::Confirm { .. } => 8,
        }
    }
}

/// An entry's content, before it is signed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The envelope; `None` only for `Create`, whose id becomes the envelope id.
    pub envelope: Option<EnvelopeId>,
    /// The entries this one builds on.
    pub parents: Vec<EntryId>,
    /// Who signs it.
    pub author: PublicKey,
    /// When the author says it happened (Unix ms). A claim, shown as such.
    pub claimed_time: u64,
    /// The author's offset from UTC then, as their device said: times are
    /// shown in it, beside UTC.
    pub utc_offset: UtcOffset,
    /// What it does.
    pub act: Act,
}

impl Entry {
    /// The canonical body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ENTRY_VERSION).u8(self.act.tag());
        if let Some(envelope) = &self.envelope {
            w.fixed(envelope.as_bytes());
        }
        w.u32(len_u32(self.parents.len()));
        for parent in &self.parents {
            w.fixed(parent.as_bytes());
        }
        w.fixed(self.author.as_bytes()).u64(self.claimed_time).u16(self.utc_offset.minutes() as u16);
        match &self.act {
            Act::Create(terms) => terms.encode(&mut w),
            Act::Invite { slot, invite_key, expires_at } => {
                w.u8(*slot).fixed(invite_key.as_bytes()).u64(*expires_at);
            }
            Act::Join { slot, invite, proof, certificates } => {
                w.u8(*slot).fixed(invite.as_bytes()).fixed(proof.as_bytes()).u32(len_u32(certificates.len()));
                for certificate in certificates {
                    w.bytes(certificate);
                }
            }
            Act::Seal { slot, value } => {
                w.u8(*slot).fixed(value.as_bytes());
            }
            Act::Confirm { slot, key } => {
                w.u8(*slot).fixed(key.as_bytes());
            }
            Act::Sign { slot, values } => {
                w.u8(*slot).u32(len_u32(values.len()));
                for (field, value) in values {
                    w.u16(*field);
                    match value {
                        Value::Text(text) => w.u8(1).str(text),
                        Value::Image { hash, len, format } => {
                            let format = match format {
                                ImageFormat::Png => 1,
                                ImageFormat::Jpeg => 2,
                            };
                            w.u8(2).fixed(hash.as_bytes()).u64(*len).u8(format)
                        }
                    };
                }
            }
            Act::Decline { slot, reason } => {
                w.u8(*slot).str(reason);
            }
            Act::Void { reason } => {
                w.str(reason);
            }
        }
        w.finish()
    }

    /// Signs the entry with the author's key. The key must be the author's.
    pub fn sign(self, key: &SecretKey) -> RawEntry {
        let body = self.encode();
        let signature = key.sign(&signing_message(&body));
        let mut bytes = body;
        bytes.extend_from_slice(signature.as_bytes());
        RawEntry { id: EntryId::from(Hash::of(&bytes)), bytes, entry: self, signature }
    }

    fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let version = r.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(DecodeError::UnknownVersion { what: "entry", version });
        }
        let tag = r.u8("act")?;
        let envelope = if tag == 1 { None } else { Some(EnvelopeId::from_bytes(r.array("envelope id")?)) };
        let mut parents = Vec::new();
        for _ in 0..r.count(MAX_PARENTS, "parents")? {
            parents.push(EntryId::from_bytes(r.array("parent id")?));
        }
        let author = PublicKey::from_bytes(r.array("author")?);
        let claimed_time = r.u64("time")?;
        let utc_offset = UtcOffset::from_minutes(i32::from(r.u16("UTC offset")? as i16))
            .ok_or_else(|| DecodeError::Invalid("the entry's offset from UTC is more than 14 hours".into()))?;
        let act = match tag {
            1 => Act::Create(Terms::decode(&mut r)?),
            2 => {
                Act::Invite { slot: r.u8("slot")?, invite_key: PublicKey::from_bytes(r.array("invite key")?), expires_at: r.u64("expiry")? }
            }
            3 => {
                let slot = r.u8("slot")?;
                let invite = EntryId::from_bytes(r.array("invite id")?);
                let proof = Signature::from_bytes(r.array("invite proof")?);
                let mut certificates = Vec::new();
                for _ in 0..r.count(MAX_CHAIN, "certificates")? {
                    certificates.push(r.bytes(MAX_CERTIFICATE_BYTES, "certificate")?.to_vec());
                }
                Act::Join { slot, invite, proof, certificates }
            }
            4 => {
                let slot = r.u8("slot")?;
                let mut values = Vec::new();
                for _ in 0..r.count(MAX_FIELDS, "values")? {
                    let field = r.u16("field index")?;
                    let value = match r.u8("value kind")? {
                        1 => Value::Text(r.str(MAX_TEXT, "text value")?.to_owned()),
                        2 => {
                            let hash = Hash::from_bytes(r.array("image hash")?);
                            let len = r.u64("image length")?;
                            let format = match r.u8("image format")? {
                                1 => ImageFormat::Png,
                                2 => ImageFormat::Jpeg,
                                tag => return Err(DecodeError::UnknownTag { what: "image format", tag }),
                            };
                            Value::Image { hash, len, format }
                        }
                        tag => return Err(DecodeError::UnknownTag { what: "value kind", tag }),
                    };
                    values.push((field, value));
                }
                Act::Sign { slot, values }
            }
            5 => Act::Decline { slot: r.u8("slot")?, reason: r.str(MAX_TEXT, "reason")?.to_owned() },
            6 => Act::Void { reason: r.str(MAX_TEXT, "reason")?.to_owned() },
            7 => Act::Seal { slot: r.u8("slot")?, value: Signature::from_bytes(r.array("seal value")?) },
            8 => Act::Confirm { slot: r.u8("slot")?, key: PublicKey::from_bytes(r.array("confirmed key")?) },
            tag => return Err(DecodeError::UnknownTag { what: "act", tag }),
        };
        r.finish()?;
        Ok(Entry { envelope, parents, author, claimed_time, utc_offset, act })
    }
}

/// What an entry's author signs: the entry's canonical bytes (`body`, from
/// [`Entry::encode`]) behind the entries' domain. A key that signs elsewhere
/// (the browser's guest signer) signs this, and the entry is `body` followed
/// by the signature ([`RawEntry::decode`]).
pub fn signing_message(body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(ENTRY_DOMAIN.len() + body.len());
    message.extend_from_slice(ENTRY_DOMAIN);
    message.extend_from_slice(body);
    message
}

/// What the invite secret signs to prove a `Join` (P2).
pub fn join_message(envelope: &EnvelopeId, slot: Slot, joiner: &PublicKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(JOIN_DOMAIN).fixed(envelope.as_bytes()).u8(slot).fixed(joiner.as_bytes());
    w.finish()
}

/// A decoded entry whose signature has not been checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEntry {
    id: EntryId,
    bytes: Vec<u8>,
    entry: Entry,
    signature: Signature,
}

impl RawEntry {
    /// Decodes entry bytes (as received from a peer or a file).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(DecodeError::TooLong { what: "entry", len: bytes.len(), max: MAX_ENTRY_BYTES });
        }
        let Some(body_len) = bytes.len().checked_sub(64) else {
            return Err(DecodeError::Truncated("entry signature"));
        };
        let (body, signature) = bytes.split_at(body_len);
        let entry = Entry::decode(body)?;
        let mut sig = [0u8; 64];
        sig.copy_from_slice(signature);
        Ok(RawEntry { id: EntryId::from(Hash::of(bytes)), bytes: bytes.to_vec(), entry, signature: Signature::from_bytes(sig) })
    }

    /// The entry id.
    pub fn id(&self) -> EntryId {
        self.id
    }

    /// The bytes, signature included.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The content (unchecked).
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// Whether the author's signature verifies (strictly).
    pub(crate) fn signature_verifies(&self) -> bool {
        let body = &self.bytes[..self.bytes.len() - 64];
        self.entry.author.verify(&signing_message(body), &self.signature).is_ok()
    }
}

/// An entry that passed every rule in its envelope. Only [`rules`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEntry(RawEntry);

impl ValidEntry {
    pub(crate) fn new(raw: RawEntry) -> Self {
        Self(raw)
    }

    /// The entry id.
    pub fn id(&self) -> EntryId {
        self.0.id
    }

    /// The bytes, signature included.
    pub fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    /// The content.
    pub fn entry(&self) -> &Entry {
        &self.0.entry
    }

    /// The raw form (e.g. to send on).
    pub fn raw(&self) -> &RawEntry {
        &self.0
    }

    /// The raw form, owned.
    pub fn into_raw(self) -> RawEntry {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn void_entry() -> Entry {
        Entry {
            envelope: Some(EnvelopeId::from_bytes([3; 32])),
            parents: vec![EntryId::from_bytes([4; 32])],
            author: SecretKey::from_seed([1; 32]).public(),
            claimed_time: 1_700_000_000_000,
            utc_offset: UtcOffset::from_minutes(-300).unwrap_or_default(),
            act: Act::Void { reason: "wrong price".into() },
        }
    }

    #[test]
    fn decode_round_trips_and_checks_the_signature() -> Result<(), DecodeError> {
        let raw = void_entry().sign(&SecretKey::from_seed([1; 32]));
        let back = RawEntry::decode(raw.bytes())?;
        assert_eq!(back, raw);
        assert!(back.signature_verifies());
        let wrong_author = void_entry().sign(&SecretKey::from_seed([2; 32]));
        assert!(!wrong_author.signature_verifies());
        Ok(())
    }

    #[test]
    fn rejects_trailing_bytes_unknown_versions_and_short_input() {
        let raw = void_entry().sign(&SecretKey::from_seed([1; 32]));
        let body_len = raw.bytes().len() - 64;
        let mut longer = raw.bytes()[..body_len].to_vec();
        longer.push(0);
        longer.extend_from_slice(&[0; 64]);
        assert_eq!(RawEntry::decode(&longer), Err(DecodeError::TrailingBytes(1)));
        let mut future = raw.bytes().to_vec();
        future[0] = 5;
        assert!(matches!(RawEntry::decode(&future), Err(DecodeError::UnknownVersion { version: 5, .. })));
        assert!(RawEntry::decode(&[1; 10]).is_err());
    }
}
