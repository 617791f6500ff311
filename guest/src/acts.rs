//! The guest's own entries: its `Join`, `Sign`, `Seal` and `Decline`. The guest's key
//! lives in the browser (WebCrypto, non-extractable), so each entry is made
//! in two halves: [`Unsigned`] gives the bytes to sign, and [`finish`] takes
//! the signature back, checks the entry against the rules with every entry
//! known, and only then lets it into the document.

use std::collections::BTreeMap;

use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::invite::{Invitation, InvitationLink};
use countersign_shared::keys::{PublicKey, Signature};
use countersign_shared::log::{Act, Entry, RawEntry, Value, signing_message};
use countersign_shared::model::{FieldKind, Slot};
use countersign_shared::state::{EnvelopeState, fold};
use countersign_shared::time::UtcOffset;

use crate::GuestError;

/// An entry waiting for the guest's signature.
#[derive(Debug, Clone)]
pub struct Unsigned {
    /// The entry's canonical bytes.
    pub body: Vec<u8>,
    /// What the guest's key signs ([`signing_message`] of the body).
    pub to_sign: Vec<u8>,
}

impl Unsigned {
    fn of(entry: &Entry) -> Self {
        let body = entry.encode();
        Unsigned { to_sign: signing_message(&body), body }
    }
}

/// What an invitation link says, and the proof a lookup of a short link
/// carries for `asker`.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The inviter's key (its node's peer id).
    pub inviter: PublicKey,
    /// The envelope, slot and expiry, when the link is a full one.
    pub known: Option<(EnvelopeId, Slot, u64)>,
    /// The public half of the invite secret.
    pub invite_key: PublicKey,
    /// The lookup proof for `asker`.
    pub lookup_proof: Signature,
}

/// Reads an invitation link (any form a person may hold).
pub fn open_link(link: &str, asker: &PublicKey) -> Result<Opened, GuestError> {
    let short = match InvitationLink::parse(link)? {
        InvitationLink::Full(invitation) => {
            let short = invitation.short();
            return Ok(Opened {
                inviter: invitation.inviter,
                known: Some((invitation.envelope, invitation.slot, invitation.expires_at)),
                invite_key: invitation.invite_key(),
                lookup_proof: short.lookup_proof(asker),
            });
        }
        InvitationLink::Short(short) => short,
    };
    Ok(Opened { inviter: short.inviter, known: None, invite_key: short.invite_key(), lookup_proof: short.lookup_proof(asker) })
}

/// The invitation of `link` for `envelope` and `slot` (a short link is
/// completed with what the inviter answered).
pub fn invitation(link: &str, envelope: EnvelopeId, slot: Slot, expires_at: u64) -> Result<Invitation, GuestError> {
    Ok(match InvitationLink::parse(link)? {
        InvitationLink::Full(invitation) => invitation,
        InvitationLink::Short(short) => short.complete(envelope, slot, expires_at),
    })
}

/// The invite proof the guest's sync requests carry before it has joined.
pub fn invite_proof(invitation: &Invitation, joiner: &PublicKey) -> Signature {
    invitation.prove(joiner)
}

/// The guest's `Join`, with its certificate (made and signed beforehand).
pub fn join(
    state: &EnvelopeState,
    invitation: &Invitation,
    joiner: &PublicKey,
    now: Clock,
    certificate: Vec<u8>,
) -> Result<Unsigned, GuestError> {
    let invite_key = invitation.invite_key();
    let invite = state
        .valid()
        .iter()
        .find(|entry| matches!(&entry.entry().act, Act::Invite { slot, invite_key: key, .. } if *slot == invitation.slot && *key == invite_key))
        .map(|entry| entry.id())
        .ok_or_else(|| GuestError::new("this invitation is not in the envelope's log: it was withdrawn or is for another document"))?;
    let act = Act::Join { slot: invitation.slot, invite, proof: invitation.prove(joiner), certificates: vec![certificate] };
    Ok(entry(state, joiner, now, act))
}

/// What the guest gives for its fields: texts and images by field index.
#[derive(Debug, Clone, Default)]
pub struct Filled {
    /// Text values.
    pub texts: Vec<(u16, String)>,
    /// Signature and stamp images (PNG or JPEG).
    pub images: Vec<(u16, Vec<u8>)>,
}

/// The guest's `Sign`: its values, a date field left out getting today's date.
pub fn sign(state: &EnvelopeState, me: &PublicKey, now: Clock, filled: &Filled) -> Result<Unsigned, GuestError> {
    let slot = my_slot(state, me)?;
    let terms = state.terms();
    let mine = |index: u16| terms.fields.get(usize::from(index)).is_some_and(|field| field.assignee == slot);
    let mut values = BTreeMap::new();
    for (index, text) in &filled.texts {
        if !mine(*index) {
            return Err(GuestError::new(format!("field {index} is not yours to fill")));
        }
        values.insert(*index, Value::Text(text.trim().to_owned()));
    }
    for (index, bytes) in &filled.images {
        if !mine(*index) {
            return Err(GuestError::new(format!("field {index} is not yours to fill")));
        }
        let format = countersign_shared::render::check_image(bytes)?;
        values.insert(*index, Value::Image { hash: Hash::of(bytes), len: bytes.len() as u64, format });
    }
    for (index, field) in terms.fields_of(slot) {
        if field.kind == FieldKind::Date {
            let index = u16::try_from(index).map_err(|_| GuestError::new("too many fields"))?;
            values.entry(index).or_insert_with(|| Value::Text(countersign_shared::time::local_date(now.ms, now.utc_offset)));
        }
    }
    Ok(entry(state, me, now, Act::Sign { slot, values: values.into_iter().collect() }))
}

/// The guest's `Seal`: the signature of its step (see [`crate::files::step`]).
pub fn seal(state: &EnvelopeState, me: &PublicKey, now: Clock, value: Signature) -> Result<Unsigned, GuestError> {
    let slot = my_slot(state, me)?;
    Ok(entry(state, me, now, Act::Seal { slot, value }))
}

/// The guest's `Decline`: it will not sign, and says why; the envelope ends.
pub fn decline(state: &EnvelopeState, me: &PublicKey, now: Clock, reason: &str) -> Result<Unsigned, GuestError> {
    let slot = my_slot(state, me)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(GuestError::new("say why you decline: the sender reads it"));
    }
    Ok(entry(state, me, now, Act::Decline { slot, reason: reason.to_owned() }))
}

/// The entry `body` with the guest's `signature`, if the rules accept it
/// beside every entry known (`entries`); the reason they give otherwise.
pub fn finish(envelope: EnvelopeId, entries: Vec<RawEntry>, body: &[u8], signature: &[u8]) -> Result<RawEntry, GuestError> {
    let entry = RawEntry::decode(&[body, signature].concat())?;
    let id = entry.id();
    let state = fold(envelope, entries.into_iter().chain([entry.clone()]))?;
    if let Some(rejected) = state.rejected().iter().find(|r| r.id == id) {
        return Err(GuestError::new(rejected.reason.to_string()));
    }
    if state.entry(&id).is_none() {
        return Err(GuestError::new("the entry was not taken into the envelope"));
    }
    Ok(entry)
}

/// The guest's clock when it acts: the time, and the person's offset from
/// UTC, both as the browser tells them.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Unix milliseconds.
    pub ms: u64,
    /// The offset from UTC.
    pub utc_offset: UtcOffset,
}

fn entry(state: &EnvelopeState, author: &PublicKey, now: Clock, act: Act) -> Unsigned {
    Unsigned::of(&Entry {
        envelope: Some(state.envelope()),
        parents: state.heads(),
        author: *author,
        claimed_time: now.ms,
        utc_offset: now.utc_offset,
        act,
    })
}

fn my_slot(state: &EnvelopeState, me: &PublicKey) -> Result<Slot, GuestError> {
    (0..Slot::try_from(state.terms().parties.len()).unwrap_or(Slot::MAX))
        .find(|slot| state.binding(*slot) == Some(*me))
        .ok_or_else(|| GuestError::new("join the envelope first"))
}
