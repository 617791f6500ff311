//! One Automerge document per envelope.
//!
//! The signed entries live at the document's root as `entry:<id>` → bytes, so
//! merging two copies is a union and can never conflict. Beside them each node
//! writes its own addresses as `peer:<key>` → text (unsigned hints for
//! reaching it, never part of the final PDF) and its person's name as
//! `name:<key>` → a name card signed by that key (so that the sender, who is
//! not a party, is named, and nobody can rename anyone). Every value read
//! back is checked: an entry whose bytes do not hash to its key, or a card
//! whose signature does not verify, is ignored.

use crate::hash::Hash;
use crate::keys::{PublicKey, Signature};
use crate::log::RawEntry;
use automerge::sync::{self, SyncDoc as _};
use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit, ReadDoc as _, ScalarValue, Value};

const ENTRY_PREFIX: &str = "entry:";
const PEER_PREFIX: &str = "peer:";
const NAME_PREFIX: &str = "name:";
const EMAIL_PREFIX: &str = "email:";
/// The longest name a card may give (longer cards are ignored).
const MAX_NAME: usize = 200;

/// What a name card's signature covers.
pub fn name_message(name: &str) -> Vec<u8> {
    [b"countersign/name-card/1\n".as_slice(), name.as_bytes()].concat()
}

/// What an email card's signature covers: a party invited by phone who
/// signs in a browser (no node to tell them) asks the sender's node to email
/// them the final PDF there.
pub fn email_message(email: &str) -> Vec<u8> {
    [b"countersign/email-card/1\n".as_slice(), email.as_bytes()].concat()
}

/// Why a peer's sync message was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The message is not a valid Automerge sync message.
    #[error("not a valid sync message: {0}")]
    Malformed(String),
    /// Applying it failed half-way; this in-memory copy must be reloaded from disk.
    #[error("the sync message could not be applied")]
    Poisoned,
}

/// An envelope's replicated document.
#[derive(Debug)]
pub struct EnvelopeDoc {
    doc: AutoCommit,
}

impl Default for EnvelopeDoc {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvelopeDoc {
    /// An empty document with a fresh actor id.
    pub fn new() -> Self {
        EnvelopeDoc { doc: AutoCommit::new().with_actor(ActorId::random()) }
    }

    /// An empty document whose changes are made as `actor` (random bytes
    /// from the caller, where this crate has no source of randomness: the
    /// browser's guest signer).
    pub fn with_actor(actor: &[u8]) -> Self {
        EnvelopeDoc { doc: AutoCommit::new().with_actor(ActorId::from(actor)) }
    }

    /// Loads a saved document (a fresh actor id for the new session's changes).
    pub fn load(bytes: &[u8]) -> Result<Self, automerge::AutomergeError> {
        Ok(EnvelopeDoc { doc: AutoCommit::load(bytes)?.with_actor(ActorId::random()) })
    }

    /// Loads a saved document whose new changes are made as `actor` (see
    /// [`EnvelopeDoc::with_actor`]).
    pub fn load_with_actor(bytes: &[u8], actor: &[u8]) -> Result<Self, automerge::AutomergeError> {
        Ok(EnvelopeDoc { doc: AutoCommit::load(bytes)?.with_actor(ActorId::from(actor)) })
    }

    /// The whole document, for saving.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Adds an entry (no-op if present).
    pub fn add_entry(&mut self, entry: &RawEntry) -> Result<(), automerge::AutomergeError> {
        let key = format!("{ENTRY_PREFIX}{}", entry.id());
        if self.doc.get(automerge::ROOT, key.as_str())?.is_none() {
            self.doc.put(automerge::ROOT, key, ScalarValue::Bytes(entry.bytes().to_vec()))?;
        }
        Ok(())
    }

    /// Every entry in the document whose bytes decode and match their key.
    pub fn entries(&self) -> Vec<RawEntry> {
        self.doc
            .map_range(automerge::ROOT, ENTRY_PREFIX.to_owned()..)
            .take_while(|item| item.key.starts_with(ENTRY_PREFIX))
            .filter_map(|item| match item.value.into_value() {
                Value::Scalar(scalar) => match scalar.as_ref() {
                    ScalarValue::Bytes(bytes) => {
                        RawEntry::decode(bytes).ok().filter(|e| item.key[ENTRY_PREFIX.len()..] == e.id().to_string())
                    }
                    _ => None,
                },
                Value::Object(_) => None,
            })
            .collect()
    }

    /// Records where `key` can be reached.
    pub fn set_addresses(&mut self, key: &PublicKey, addresses: &[String]) -> Result<(), automerge::AutomergeError> {
        let slot = format!("{PEER_PREFIX}{key}");
        let text = addresses.join(" ");
        let current = self.doc.get(automerge::ROOT, slot.as_str())?.and_then(|(v, _)| v.into_string().ok());
        if current.as_deref() != Some(text.as_str()) {
            self.doc.put(automerge::ROOT, slot, text)?;
        }
        Ok(())
    }

    /// Writes `key`'s name card: its person's name and `signature`, `key`'s
    /// signature over [`name_message`] (if the document does not hold that
    /// name already).
    pub fn set_name(&mut self, key: &PublicKey, name: &str, signature: &Signature) -> Result<(), automerge::AutomergeError> {
        if self.name_of(key).as_deref() == Some(name) {
            return Ok(());
        }
        let card = format!("{} {name}", hex(signature.as_bytes()));
        self.doc.put(automerge::ROOT, format!("{NAME_PREFIX}{key}"), card)?;
        Ok(())
    }

    /// The names `keys` give themselves, each checked against its card's
    /// signature (only the keys asked about are read: a party that wrote
    /// cards for a thousand keys of its own costs nothing).
    pub fn names_of(&self, keys: impl IntoIterator<Item = PublicKey>) -> Vec<(PublicKey, String)> {
        keys.into_iter().filter_map(|key| Some((key, self.name_of(&key)?))).collect()
    }

    /// The name `key`'s own card gives, if it verifies.
    fn name_of(&self, key: &PublicKey) -> Option<String> {
        self.card(&format!("{NAME_PREFIX}{key}"), key, name_message)
    }

    /// The text of the card at `field` that `key` signed. Anyone who syncs
    /// the document can write there too, and concurrent writes conflict: every
    /// value is read, and the one `key`'s signature verifies counts.
    fn card(&self, field: &str, key: &PublicKey, message: fn(&str) -> Vec<u8>) -> Option<String> {
        let values = self.doc.get_all(automerge::ROOT, field).ok()?;
        values.into_iter().find_map(|(value, _)| checked_card(key, &value.into_string().ok()?, message))
    }

    /// Writes the email card of `key` (`signature` over [`email_message`]).
    pub fn set_email(&mut self, key: &PublicKey, email: &str, signature: &Signature) -> Result<(), automerge::AutomergeError> {
        let card = format!("{} {email}", hex(signature.as_bytes()));
        self.doc.put(automerge::ROOT, format!("{EMAIL_PREFIX}{key}"), card)?;
        Ok(())
    }

    /// The email addresses `keys` gave for the final PDF, each checked
    /// against its card's signature and read as an email address.
    pub fn emails_of(&self, keys: impl IntoIterator<Item = PublicKey>) -> Vec<(PublicKey, String)> {
        keys.into_iter()
            .filter_map(|key| {
                let email = self.card(&format!("{EMAIL_PREFIX}{key}"), &key, email_message)?;
                matches!(crate::model::Contact::parse(&email), Ok(crate::model::Contact::Email(_))).then_some((key, email))
            })
            .collect()
    }

    /// Where each key says it can be reached.
    pub fn addresses(&self) -> Vec<(PublicKey, Vec<String>)> {
        self.doc
            .map_range(automerge::ROOT, PEER_PREFIX.to_owned()..)
            .take_while(|item| item.key.starts_with(PEER_PREFIX))
            .filter_map(|item| {
                let key: PublicKey = item.key[PEER_PREFIX.len()..].parse().ok()?;
                let text = item.value.into_value().into_string().ok()?;
                Some((key, text.split_whitespace().take(16).map(str::to_owned).collect()))
            })
            .collect()
    }

    /// The next sync message for a peer, if any.
    pub fn sync_message(&mut self, state: &mut sync::State) -> Option<Vec<u8>> {
        self.doc.sync().generate_sync_message(state).map(sync::Message::encode)
    }

    /// Applies a peer's sync message. Input from the network never panics the
    /// node: a panic inside Automerge becomes an error, and the caller drops
    /// this copy of the document (see [`SyncError::Poisoned`]).
    pub fn receive_sync(&mut self, state: &mut sync::State, message: &[u8]) -> Result<(), SyncError> {
        let message = sync::Message::decode(message).map_err(|e| SyncError::Malformed(e.to_string()))?;
        if !message.have.iter().all(|have| made_by_automerge(&have.bloom)) {
            return Err(SyncError::Malformed("a bloom filter of another shape than Automerge makes".into()));
        }
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.doc.sync().receive_sync_message(state, message)));
        match applied {
            Ok(result) => result.map_err(|e| SyncError::Malformed(e.to_string())),
            Err(_) => Err(SyncError::Poisoned),
        }
    }

    /// A fingerprint of the document's heads (changes when anything arrives).
    pub fn heads_hash(&mut self) -> Hash {
        let heads: Vec<u8> = self.doc.get_heads().iter().flat_map(|h| h.0).collect();
        Hash::of(&heads)
    }
}

/// Automerge trusts the shape of a peer's bloom filter when it next writes
/// to that peer (one with entries and no bits divides by zero; a huge probe
/// count allocates without bound), so only the shape it makes itself is
/// accepted: empty, or 10 bits per entry and 7 probes.
fn made_by_automerge(bloom: &sync::BloomFilter) -> bool {
    let bytes = bloom.to_bytes();
    let mut header = bytes.as_slice();
    let mut next = || leb128::read::unsigned(&mut header).ok();
    match (next(), next(), next()) {
        _ if bytes.is_empty() => true,
        (Some(entries), Some(10), Some(7)) => entries > 0 && !header.is_empty(),
        _ => false,
    }
}

/// The name on a card (`<signature hex> <name>`), if `key` signed it.
/// The text of a card (`signature text`) whose signature by `key` over
/// `message(text)` verifies; at most [`MAX_NAME`] characters, not blank.
fn checked_card(key: &PublicKey, card: &str, message: fn(&str) -> Vec<u8>) -> Option<String> {
    let (signature, text) = card.split_once(' ')?;
    let bytes: [u8; 64] =
        (0..64).map(|i| u8::from_str_radix(signature.get(2 * i..2 * i + 2)?, 16).ok()).collect::<Option<Vec<u8>>>()?.try_into().ok()?;
    let valid = text.chars().count() <= MAX_NAME && !text.trim().is_empty();
    (valid && key.verify(&message(text), &Signature::from_bytes(bytes)).is_ok()).then(|| text.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::test_utils::Scenario;

    #[test]
    fn an_email_card_counts_only_when_its_own_key_signed_a_real_address() {
        let carl = SecretKey::from_seed([3; 32]);
        let mallory = SecretKey::from_seed([4; 32]);
        let mut doc = EnvelopeDoc::new();
        doc.set_email(&carl.public(), "carl@client.test", &carl.sign(&email_message("carl@client.test"))).unwrap();
        doc.set_email(&mallory.public(), "mallory@evil.test", &carl.sign(&email_message("mallory@evil.test"))).unwrap();
        let words = "not an address";
        doc.set_email(&SecretKey::from_seed([5; 32]).public(), words, &SecretKey::from_seed([5; 32]).sign(&email_message(words))).unwrap();
        let keys = [carl.public(), mallory.public(), SecretKey::from_seed([5; 32]).public()];
        assert_eq!(doc.emails_of(keys), vec![(carl.public(), "carl@client.test".to_owned())]);

        // Mallory writes a card of her own under Carl's key at the same
        // time on another copy: after the merge both values are there, and
        // Carl's signed one still counts.
        let mut other = EnvelopeDoc::new();
        other.set_email(&carl.public(), "mallory@evil.test", &mallory.sign(&email_message("mallory@evil.test"))).unwrap();
        let (mut s1, mut s2) = (sync::State::new(), sync::State::new());
        for _ in 0..6 {
            if let Some(m) = other.sync_message(&mut s1) {
                doc.receive_sync(&mut s2, &m).unwrap();
            }
            if let Some(m) = doc.sync_message(&mut s2) {
                other.receive_sync(&mut s1, &m).unwrap();
            }
        }
        assert_eq!(doc.emails_of([carl.public()]), vec![(carl.public(), "carl@client.test".to_owned())]);
        assert_eq!(other.emails_of([carl.public()]), vec![(carl.public(), "carl@client.test".to_owned())]);
    }

    #[test]
    fn a_name_card_counts_only_when_its_own_key_signed_it() {
        let (anna, mallory) = (SecretKey::from_seed([1; 32]), SecretKey::from_seed([2; 32]));
        let mut doc = EnvelopeDoc::new();
        doc.set_name(&anna.public(), "Anna Sales", &anna.sign(&name_message("Anna Sales"))).unwrap();
        let both = [anna.public(), mallory.public()];
        assert_eq!(doc.names_of(both), [(anna.public(), "Anna Sales".to_owned())]);
        // Another key cannot rename her, nor give itself a name it did not sign.
        doc.set_name(&anna.public(), "Mallory", &mallory.sign(&name_message("Mallory"))).unwrap();
        doc.set_name(&mallory.public(), "Anna Sales", &mallory.sign(&name_message("Someone else"))).unwrap();
        assert!(doc.names_of(both).is_empty(), "{:?}", doc.names_of(both));
        doc.set_name(&anna.public(), "Anna Sales", &anna.sign(&name_message("Anna Sales"))).unwrap();
        let loaded = EnvelopeDoc::load(&doc.save()).unwrap();
        assert_eq!(loaded.names_of(both), [(anna.public(), "Anna Sales".to_owned())]);
    }

    #[test]
    fn two_copies_merge_by_sync_into_the_union_of_entries() {
        let scenario = Scenario::signed_contract();
        let (mut a, mut b) = (EnvelopeDoc::new(), EnvelopeDoc::new());
        for (i, entry) in scenario.entries.iter().enumerate() {
            if i % 2 == 0 { a.add_entry(entry).unwrap() } else { b.add_entry(entry).unwrap() }
        }
        a.add_entry(&scenario.entries[1]).unwrap();
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        for _ in 0..10 {
            if let Some(m) = a.sync_message(&mut sa) {
                b.receive_sync(&mut sb, &m).unwrap();
            }
            if let Some(m) = b.sync_message(&mut sb) {
                a.receive_sync(&mut sa, &m).unwrap();
            }
        }
        let ids = |d: &EnvelopeDoc| {
            let mut ids: Vec<_> = d.entries().iter().map(RawEntry::id).collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&a).len(), scenario.entries.len());
        assert_eq!(ids(&a), ids(&b));
        let mut saved = EnvelopeDoc::load(&a.save()).unwrap();
        assert_eq!(ids(&saved), ids(&a));
        assert!(saved.receive_sync(&mut sync::State::new(), b"garbage").is_err());
    }

    /// Found by fuzzing: a peer's bloom filter with entries and no bits made
    /// the node's next sync message divide by zero.
    #[test]
    fn a_bloom_filter_of_another_shape_is_refused_and_the_next_message_is_made() {
        let scenario = Scenario::signed_contract();
        let mut doc = EnvelopeDoc::new();
        for entry in &scenario.entries {
            doc.add_entry(entry).unwrap();
        }
        for header in [&[1u8, 0, 7][..], &[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f]] {
            let mut bytes = header.to_vec();
            bytes.resize(bytes.len() + 2, 0);
            let bloom = sync::BloomFilter::try_from(bytes.as_slice()).unwrap();
            let message = sync::Message {
                heads: Vec::new(),
                need: Vec::new(),
                have: vec![sync::Have { last_sync: Vec::new(), bloom }],
                changes: Vec::<Vec<u8>>::new().into(),
                supported_capabilities: None,
                version: sync::MessageVersion::V1,
            };
            let mut state = sync::State::new();
            assert!(matches!(doc.receive_sync(&mut state, &message.encode()), Err(SyncError::Malformed(_))));
            assert!(doc.sync_message(&mut state).is_some());
        }
    }
}
