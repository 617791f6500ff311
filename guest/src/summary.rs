//! The folded state of an envelope, as the guest's page shows it: the
//! terms, who has joined and signed, whose turn it is, what the guest may do
//! and which blobs rendering needs.

use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::keys::PublicKey;
use countersign_shared::log::{RawEntry, Value};
use countersign_shared::model::{Field, Slot};
use countersign_shared::state::{EnvelopeState, Status, fold};
use serde::Serialize;

use crate::GuestError;

/// What the page shows.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The envelope id (hex).
    pub envelope: String,
    /// The title.
    pub title: String,
    /// The source document's hash (hex), length and pages.
    pub document: DocumentView,
    /// The parties, in slot order.
    pub parties: Vec<PartyView>,
    /// Every field of the document.
    pub fields: Vec<FieldView>,
    /// `draft`, `awaiting`, `completed`, `declined` or `voided`.
    pub status: &'static str,
    /// The slots whose turn it is.
    pub awaiting: Vec<Slot>,
    /// Why it ended (a decline's or a void's reason).
    pub ended: Option<String>,
    /// The guest's slot, once its key has joined.
    pub me: Option<Slot>,
    /// Whether the guest signs now.
    pub my_turn: bool,
    /// Whether the guest's step waits for its PDF signature.
    pub to_seal: bool,
    /// Every blob rendering needs: the document, then each image.
    pub needed: Vec<BlobView>,
    /// Entries the rules kept out, and why.
    pub rejected: Vec<String>,
}

/// The source document.
#[derive(Debug, Serialize)]
pub struct DocumentView {
    /// BLAKE3 (hex).
    pub hash: String,
    /// Bytes.
    pub len: u64,
    /// Pages.
    pub pages: u32,
}

/// A blob: its hash (hex) and length.
#[derive(Debug, Serialize)]
pub struct BlobView {
    /// BLAKE3 (hex).
    pub hash: String,
    /// Bytes.
    pub len: u64,
}

/// One party.
#[derive(Debug, Serialize)]
pub struct PartyView {
    /// Its slot.
    pub slot: Slot,
    /// Its name.
    pub name: String,
    /// `company_signer`, `client` or `viewer`.
    pub role: countersign_shared::model::Role,
    /// Its email or phone.
    pub contact: String,
    /// Its key's fingerprint, once joined.
    pub fingerprint: Option<String>,
    /// When it signed (claimed; Unix milliseconds), once signed: the page
    /// shows it in the reader's own time zone.
    pub signed_at_ms: Option<u64>,
    /// Whether its step carries its PDF signature.
    pub sealed: bool,
}

/// One field, with the value given, if any.
#[derive(Debug, Serialize)]
pub struct FieldView {
    /// Its index in the terms.
    pub index: usize,
    /// The field as the terms place it.
    #[serde(flatten)]
    pub field: Field,
    /// The text given, for text fields once signed.
    pub text: Option<String>,
    /// Whether an image was given.
    pub has_image: bool,
}

/// Folds `entries` of `envelope` and says what the page shows to `me`.
pub fn summarize(envelope: EnvelopeId, entries: Vec<RawEntry>, me: &PublicKey) -> Result<Summary, GuestError> {
    let state = fold(envelope, entries)?;
    Ok(summary_of(&state, me))
}

/// What the page shows of `state` to `me`.
pub fn summary_of(state: &EnvelopeState, me: &PublicKey) -> Summary {
    let terms = state.terms();
    let slots = 0..Slot::try_from(terms.parties.len()).unwrap_or(Slot::MAX);
    let my_slot = slots.clone().find(|slot| state.binding(*slot) == Some(*me));
    let (status, awaiting, ended) = match state.status() {
        Status::Draft => ("draft", Vec::new(), None),
        Status::Awaiting { slots } => ("awaiting", slots, None),
        Status::Completed => ("completed", Vec::new(), None),
        Status::Declined { reason, .. } => ("declined", Vec::new(), Some(reason)),
        Status::Voided { reason } => ("voided", Vec::new(), Some(reason)),
    };
    let my_turn = my_slot.is_some_and(|slot| awaiting.contains(&slot) && state.signature(slot).is_none());
    let parties = slots
        .clone()
        .filter_map(|slot| {
            let party = terms.party(slot)?;
            Some(PartyView {
                slot,
                name: party.name.clone(),
                role: party.role,
                contact: party.contact.to_string(),
                fingerprint: state.binding(slot).map(|key| key.fingerprint()),
                signed_at_ms: state.signature(slot).map(|s| s.claimed_time),
                sealed: state.seal(slot).is_some(),
            })
        })
        .collect();
    let mut needed = vec![(terms.document.hash, terms.document.len)];
    let mut fields: Vec<FieldView> = terms
        .fields
        .iter()
        .enumerate()
        .map(|(index, field)| FieldView { index, field: field.clone(), text: None, has_image: false })
        .collect();
    for slot in slots {
        for (index, value) in state.signature(slot).map(|s| s.values.as_slice()).unwrap_or_default() {
            let Some(view) = fields.get_mut(usize::from(*index)) else { continue };
            match value {
                Value::Text(text) => view.text = Some(text.clone()),
                Value::Image { hash, len, .. } => {
                    view.has_image = true;
                    needed.push((*hash, *len));
                }
            }
        }
    }
    Summary {
        envelope: state.envelope().to_string(),
        title: terms.title.clone(),
        document: DocumentView { hash: terms.document.hash.to_string(), len: terms.document.len, pages: terms.document.pages },
        parties,
        fields,
        status,
        awaiting,
        ended,
        me: my_slot,
        my_turn,
        to_seal: my_slot.is_some_and(|slot| slot_to_seal(state, slot)),
        needed: dedup(needed).into_iter().map(|(hash, len)| BlobView { hash: hash.to_string(), len }).collect(),
        rejected: state.rejected().iter().map(|r| format!("{} entry {}: {}", r.act, r.id.short(), r.reason)).collect(),
    }
}

/// Whether `slot` has signed, not sealed, and every step before it is sealed.
pub fn slot_to_seal(state: &EnvelopeState, slot: Slot) -> bool {
    let ended = matches!(state.status(), Status::Declined { .. } | Status::Voided { .. });
    let earlier_sealed = state.terms().signing_order().iter().take_while(|s| **s != slot).all(|s| state.seal(*s).is_some());
    !ended && state.signature(slot).is_some() && state.seal(slot).is_none() && earlier_sealed
}

fn dedup(blobs: Vec<(Hash, u64)>) -> Vec<(Hash, u64)> {
    let mut seen = std::collections::BTreeSet::new();
    blobs.into_iter().filter(|(hash, _)| seen.insert(*hash)).collect()
}
