//! The state of an envelope, folded from its entries (P6).
//!
//! [`fold`] takes any set of entries, in any order, and returns the same
//! [`EnvelopeState`]: entries are judged in a canonical topological order
//! (parents first, ties broken by entry id), so neither arrival order nor
//! duplicates change the outcome. Invalid entries never change state; they are
//! listed in [`EnvelopeState::rejected`] with their reason. A party's second
//! join, signature or seal made beside the first is settled before the fold
//! ([`conflicts`]): the one another party built on stands, whatever the ids.

mod conflicts;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::{EntryId, EnvelopeId};
use crate::keys::{PublicKey, Signature};
use crate::log::rules::{self, Envelope, Grant, Knowledge, Ledger, Rejection};
use crate::log::{Act, RawEntry, ValidEntry, Value};
use crate::model::{Slot, Terms};
use crate::time::UtcOffset;

/// The envelope cannot be folded at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FoldError {
    /// No `Create` with the envelope's id is among the entries.
    #[error("the log has no Create entry for envelope {0}")]
    MissingCreate(String),
    /// The `Create` is there but invalid.
    #[error("the envelope's Create entry is invalid: {0}")]
    InvalidCreate(String),
    /// The caller asked to stop (a deadline passed) before the fold ended.
    #[error("the check was stopped before it ended")]
    Interrupted,
}

/// Where the envelope stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Status {
    /// Created; nobody invited yet.
    Draft,
    /// Waiting for these parties to sign (their turn has come).
    Awaiting {
        /// The slots whose turn it is.
        slots: Vec<Slot>,
    },
    /// Every signing party signed.
    Completed,
    /// A party declined.
    Declined {
        /// Who.
        slot: Slot,
        /// Why.
        reason: String,
    },
    /// The creator voided it.
    Voided {
        /// Why.
        reason: String,
    },
}

/// An entry kept out of the envelope, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedEntry {
    /// Its id.
    pub id: EntryId,
    /// Its act, if it decoded.
    pub act: &'static str,
    /// Why it was rejected.
    pub reason: Rejection,
}

/// A party's signature act, as the state holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRecord {
    /// The `Sign` entry.
    pub entry: EntryId,
    /// Its claimed time (Unix ms).
    pub claimed_time: u64,
    /// The signer's offset from UTC then.
    pub utc_offset: UtcOffset,
    /// The values given, by field index.
    pub values: Vec<(u16, Value)>,
}

/// Everything the valid entries of one envelope establish.
#[derive(Debug, Clone)]
pub struct EnvelopeState {
    envelope: EnvelopeId,
    terms: Terms,
    creator: PublicKey,
    created_at: u64,
    valid: Vec<ValidEntry>,
    rejected: Vec<RejectedEntry>,
    ledger: Ledger,
    knowledge: BTreeMap<EntryId, Knowledge>,
    signs: BTreeMap<Slot, SignRecord>,
    seals: BTreeMap<Slot, Signature>,
    certificates: BTreeMap<Slot, Vec<Vec<u8>>>,
    /// Slots whose `Join` has among its ancestors a `Confirm` of its key.
    phone_confirmed: BTreeSet<Slot>,
    /// Every valid `Decline` and `Void`, as the status it sets and the time
    /// it claims (Unix ms), in the order judged.
    ends: Vec<(Status, u64)>,
    /// Valid entries dated before an act they build on (beyond the clock tolerance).
    backdated: BTreeSet<EntryId>,
    invited: bool,
    /// Whether this fold lets a second claim in (see [`Rejection::is_second_claim`]).
    second_claims_allowed: bool,
}

/// Folds `entries` into the state of envelope `envelope`, verifying every signature.
pub fn fold(envelope: EnvelopeId, entries: impl IntoIterator<Item = RawEntry>) -> Result<EnvelopeState, FoldError> {
    fold_with_verified(envelope, entries, &HashSet::new())
}

/// Like [`fold`], but trusts the signatures of the entries in `verified`:
/// ids whose exact bytes (an id is the hash of the bytes, signature included)
/// this caller has verified before, such as a node's own record of entries it
/// already checked. Every other rule is still applied. The verifier of final
/// PDFs never passes any.
pub fn fold_with_verified(
    envelope: EnvelopeId,
    entries: impl IntoIterator<Item = RawEntry>,
    verified: &HashSet<EntryId>,
) -> Result<EnvelopeState, FoldError> {
    fold_until(envelope, entries, verified, &|| false)
}

/// Like [`fold_with_verified`], asking `stop` now and then whether to give up
/// ([`FoldError::Interrupted`]): a service stops a check past its deadline.
pub fn fold_until(
    envelope: EnvelopeId,
    entries: impl IntoIterator<Item = RawEntry>,
    verified: &HashSet<EntryId>,
    stop: &dyn Fn() -> bool,
) -> Result<EnvelopeState, FoldError> {
    let mut by_id: BTreeMap<EntryId, RawEntry> = entries.into_iter().map(|raw| (raw.id(), raw)).collect();
    let create_id = EntryId::from_bytes(*envelope.as_bytes());
    let create = by_id.remove(&create_id).ok_or_else(|| FoldError::MissingCreate(envelope.short()))?;
    let Act::Create(terms) = &create.entry().act else {
        return Err(FoldError::InvalidCreate("the first entry is not a Create".into()));
    };
    if !verified.contains(&create.id()) && !create.signature_verifies() {
        return Err(FoldError::InvalidCreate(Rejection::BadSignature.to_string()));
    }
    if !create.entry().parents.is_empty() {
        return Err(FoldError::InvalidCreate("a Create builds on nothing".into()));
    }
    terms.validate().map_err(FoldError::InvalidCreate)?;

    let none = HashSet::new();
    let no_losers = BTreeMap::new();
    let strict = Rules { second_claims_allowed: false, losers: &no_losers };
    let first = fold_once(envelope, create, by_id, Checked { caller: verified, good: &none, bad: &none }, strict, stop)?;
    if !first.state.rejected.iter().any(|r| r.reason.is_second_claim()) {
        return Ok(first.state);
    }
    // A party claimed one thing twice: learn which claims could stand, settle
    // which one does, and fold again with the others rejected up front.
    let Folded { state, set_aside, mut good, mut bad } = first;
    let mut by_id: BTreeMap<EntryId, RawEntry> =
        state.valid.into_iter().map(ValidEntry::into_raw).chain(set_aside).map(|raw| (raw.id(), raw)).collect();
    let create = by_id.remove(&create_id).ok_or_else(|| FoldError::MissingCreate(envelope.short()))?;
    let lenient = Rules { second_claims_allowed: true, losers: &no_losers };
    let possible = fold_once(envelope, create.clone(), by_id.clone(), Checked { caller: verified, good: &good, bad: &bad }, lenient, stop)?;
    good.extend(possible.good);
    bad.extend(possible.bad);
    // A kept claim may still fall (an entry it builds on lost elsewhere):
    // it then competes no more, and its rivals are settled again.
    let mut fallen = HashSet::new();
    let mut round = 0;
    loop {
        round += 1;
        let settled = conflicts::settle(&possible.state, &by_id, &fallen);
        let rules = Rules { second_claims_allowed: false, losers: &settled.losers };
        let folded = fold_once(envelope, create.clone(), by_id.clone(), Checked { caller: verified, good: &good, bad: &bad }, rules, stop)?;
        let rejected: HashSet<EntryId> = folded.state.rejected.iter().map(|r| r.id).collect();
        let newly_fallen: Vec<EntryId> = settled.kept.into_iter().filter(|id| rejected.contains(id)).collect();
        if newly_fallen.is_empty() || round == MAX_SETTLING_ROUNDS {
            return Ok(folded.state);
        }
        fallen.extend(newly_fallen);
    }
}

/// Most times the claims are settled again after a kept one fell (each
/// round takes at least one claim out; a log that needs more is made to
/// waste time, and keeps the last round's outcome, the same everywhere).
const MAX_SETTLING_ROUNDS: usize = 8;

/// Signatures already checked: those the caller verified, and those an
/// earlier fold of this call found good or bad.
#[derive(Clone, Copy)]
struct Checked<'a> {
    caller: &'a HashSet<EntryId>,
    good: &'a HashSet<EntryId>,
    bad: &'a HashSet<EntryId>,
}

impl Checked<'_> {
    fn good(&self, id: &EntryId) -> bool {
        self.caller.contains(id) || self.good.contains(id)
    }
}

/// How one fold judges: whether second claims are allowed, and the entries
/// rejected up front.
#[derive(Clone, Copy)]
struct Rules<'a> {
    second_claims_allowed: bool,
    losers: &'a BTreeMap<EntryId, Rejection>,
}

/// What one fold gives: the state, the entries it rejected, and the ids
/// whose signatures it found good or bad.
struct Folded {
    state: EnvelopeState,
    set_aside: Vec<RawEntry>,
    good: HashSet<EntryId>,
    bad: HashSet<EntryId>,
}

/// One fold of the entries after `create` (checked by the caller).
fn fold_once(
    envelope: EnvelopeId,
    create: RawEntry,
    mut by_id: BTreeMap<EntryId, RawEntry>,
    checked: Checked<'_>,
    rules: Rules<'_>,
    stop: &dyn Fn() -> bool,
) -> Result<Folded, FoldError> {
    let Act::Create(terms) = &create.entry().act else {
        return Err(FoldError::InvalidCreate("the first entry is not a Create".into()));
    };
    let create_id = create.id();
    let mut state = EnvelopeState {
        envelope,
        terms: terms.clone(),
        creator: create.entry().author,
        created_at: create.entry().claimed_time,
        valid: Vec::with_capacity(by_id.len() + 1),
        rejected: Vec::new(),
        ledger: Ledger::default(),
        knowledge: BTreeMap::new(),
        signs: BTreeMap::new(),
        seals: BTreeMap::new(),
        certificates: BTreeMap::new(),
        phone_confirmed: BTreeSet::new(),
        ends: Vec::new(),
        backdated: BTreeSet::new(),
        invited: false,
        second_claims_allowed: rules.second_claims_allowed,
    };
    state.knowledge.insert(create_id, Knowledge::default().at(state.created_at));
    state.valid.push(ValidEntry::new(create));

    // Kahn's algorithm: an entry is ready once every parent present has been judged.
    let mut waiting_on: BTreeMap<EntryId, usize> = BTreeMap::new();
    let mut children: BTreeMap<EntryId, Vec<EntryId>> = BTreeMap::new();
    let mut ready: BTreeSet<EntryId> = BTreeSet::new();
    for (id, raw) in &by_id {
        let parents: BTreeSet<&EntryId> = raw.entry().parents.iter().collect();
        let pending = parents.iter().filter(|p| by_id.contains_key(p)).count();
        for parent in parents.iter().filter(|p| by_id.contains_key(p)) {
            children.entry(**parent).or_default().push(*id);
        }
        waiting_on.insert(*id, pending);
        if pending == 0 {
            ready.insert(*id);
        }
    }
    let mut rejected_ids: BTreeSet<EntryId> = BTreeSet::new();
    let mut set_aside = Vec::new();
    let (mut good, mut bad) = (HashSet::new(), HashSet::new());
    let mut judged = 0usize;
    while let Some(id) = ready.pop_first() {
        judged += 1;
        if judged.is_multiple_of(256) && stop() {
            return Err(FoldError::Interrupted);
        }
        let Some(raw) = by_id.remove(&id) else { continue };
        let verdict = match rules.losers.get(&id) {
            Some(reason) => Err(reason.clone()),
            None if checked.bad.contains(&id) => Err(Rejection::BadSignature),
            None => state.judge(&raw, &rejected_ids, checked.good(&id)),
        };
        match &verdict {
            Err(Rejection::BadSignature) => bad.insert(id),
            Err(reason) if !reason.after_signature() => false,
            _ => good.insert(id),
        };
        match verdict {
            Ok(known) => state.admit(raw, known),
            Err(reason) => {
                rejected_ids.insert(id);
                state.rejected.push(RejectedEntry { id, act: raw.entry().act.name(), reason });
                set_aside.push(raw);
            }
        }
        for child in children.remove(&id).unwrap_or_default() {
            if let Some(count) = waiting_on.get_mut(&child) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(child);
                }
            }
        }
    }
    // Hash links make cycles impossible, so nothing is left; stay total anyway.
    for (id, raw) in by_id {
        state.rejected.push(RejectedEntry { id, act: raw.entry().act.name(), reason: Rejection::MissingParent(id.short()) });
        set_aside.push(raw);
    }
    Ok(Folded { state, set_aside, good, bad })
}

impl EnvelopeState {
    fn judge(&self, raw: &RawEntry, rejected: &BTreeSet<EntryId>, signature_checked: bool) -> Result<Knowledge, Rejection> {
        // An entry of another envelope is named as such before anything else.
        if let Some(other) = raw.entry().envelope.filter(|e| *e != self.envelope) {
            return Err(Rejection::WrongEnvelope(other.short()));
        }
        let mut known = Knowledge::default();
        for parent in &raw.entry().parents {
            match self.knowledge.get(parent) {
                Some(k) => known = known.merge(*k),
                None if rejected.contains(parent) => return Err(Rejection::RejectedParent(parent.short())),
                None => return Err(Rejection::MissingParent(parent.short())),
            }
        }
        let context =
            Envelope { id: &self.envelope, terms: &self.terms, creator: &self.creator, second_claims_allowed: self.second_claims_allowed };
        rules::check(raw, context, known, &self.ledger, signature_checked)?;
        Ok(known)
    }

    /// Takes a judged entry in; `ancestors` is what its ancestors establish.
    fn admit(&mut self, raw: RawEntry, ancestors: Knowledge) {
        let id = raw.id();
        let entry = raw.entry();
        let mut grant = None;
        match &entry.act {
            Act::Invite { slot, invite_key, expires_at } => {
                let index = self.ledger.grants.len();
                self.ledger.grants.push(Grant::Invite { slot: *slot, key: *invite_key, expires_at: *expires_at });
                self.ledger.invites.insert(id, index);
                grant = Some(index);
                self.invited = true;
            }
            Act::Confirm { slot, key } => {
                grant = Some(self.ledger.grants.len());
                self.ledger.grants.push(Grant::Confirm { slot: *slot, key: *key });
            }
            Act::Join { slot, .. } if self.ledger.bindings.contains_key(slot) => {
                // A second join, judged only while second claims are allowed.
                self.ledger.also_bound.insert((*slot, entry.author));
            }
            Act::Join { slot, invite, certificates, .. } => {
                self.ledger.bindings.insert(*slot, (entry.author, id));
                self.ledger.used_invites.insert(*invite, id);
                self.certificates.insert(*slot, certificates.clone());
                let confirmed = Grant::Confirm { slot: *slot, key: entry.author };
                if ancestors.grants.iter().any(|index| self.ledger.grants.get(index) == Some(&confirmed)) {
                    self.phone_confirmed.insert(*slot);
                }
            }
            Act::Seal { slot, value } => {
                self.ledger.sealed.insert(*slot, id);
                self.seals.insert(*slot, *value);
            }
            Act::Sign { slot, values } => {
                self.ledger.signed.insert(*slot, id);
                let record =
                    SignRecord { entry: id, claimed_time: entry.claimed_time, utc_offset: entry.utc_offset, values: values.clone() };
                self.signs.insert(*slot, record);
            }
            Act::Decline { slot, reason } => {
                self.ends.push((Status::Declined { slot: *slot, reason: reason.clone() }, entry.claimed_time));
            }
            Act::Void { reason } => {
                self.ends.push((Status::Voided { reason: reason.clone() }, entry.claimed_time));
            }
            Act::Create(_) => {}
        }
        // A claimed time before what the entry builds on is a clock set
        // wrong (or a lie): flagged, never a reason to reject (see `rules`).
        if entry.claimed_time.saturating_add(rules::CLOCK_TOLERANCE_MS) < ancestors.latest {
            self.backdated.insert(id);
        }
        self.knowledge.insert(id, ancestors.with(&entry.act, grant).at(entry.claimed_time));
        self.valid.push(ValidEntry::new(raw));
    }

    /// The envelope id.
    pub fn envelope(&self) -> EnvelopeId {
        self.envelope
    }

    /// The terms fixed by `Create`.
    pub fn terms(&self) -> &Terms {
        &self.terms
    }

    /// The creator's key.
    pub fn creator(&self) -> PublicKey {
        self.creator
    }

    /// When the creator says the envelope was made (Unix ms).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The valid entries, in the canonical order they were judged (`Create` first).
    pub fn valid(&self) -> &[ValidEntry] {
        &self.valid
    }

    /// The entries kept out, with reasons.
    pub fn rejected(&self) -> &[RejectedEntry] {
        &self.rejected
    }

    /// The key bound to a slot, if it joined.
    pub fn binding(&self, slot: Slot) -> Option<PublicKey> {
        self.ledger.bindings.get(&slot).map(|(key, _)| *key)
    }

    /// A slot's signature, if it signed.
    pub fn signature(&self, slot: Slot) -> Option<&SignRecord> {
        self.signs.get(&slot)
    }

    /// A slot's PDF signature value, if it sealed its signing step.
    pub fn seal(&self, slot: Slot) -> Option<Signature> {
        self.seals.get(&slot).copied()
    }

    /// Whether the key bound to a slot gave the code the sender's node texted
    /// to the party's phone, as the sender's `Confirm` before its `Join` says.
    pub fn phone_confirmed(&self, slot: Slot) -> bool {
        self.phone_confirmed.contains(&slot)
    }

    /// A slot's certificate chain (its own first), if it joined.
    pub fn certificates(&self, slot: Slot) -> Option<&[Vec<u8>]> {
        self.certificates.get(&slot).map(Vec::as_slice)
    }

    /// The slots that signed but whose step is not sealed yet, in signing order.
    pub fn unsealed(&self) -> Vec<Slot> {
        self.terms.signing_order().into_iter().filter(|s| self.signs.contains_key(s) && !self.seals.contains_key(s)).collect()
    }

    /// The ids of the valid entries, for sync and "what do I have".
    pub fn heads(&self) -> Vec<EntryId> {
        let referenced: BTreeSet<EntryId> = self.valid.iter().flat_map(|v| v.entry().parents.iter().copied()).collect();
        self.valid.iter().map(ValidEntry::id).filter(|id| !referenced.contains(id)).collect()
    }

    /// The valid entry with this id.
    pub fn entry(&self, id: &EntryId) -> Option<&ValidEntry> {
        self.valid.iter().find(|v| v.id() == *id)
    }

    /// Where the envelope stands (P6: a function of the valid entries only).
    ///
    /// One rule for a void (or decline) racing the last signature, the same
    /// everywhere: no signature can build on a void or decline, so one that
    /// is in the log beside every signature was made concurrently with the
    /// last of them. If that last signature claims a time no later than the
    /// void (give or take the clock tolerance), the envelope is completed:
    /// the void stays in the log, shown as too late
    /// ([`EnvelopeState::late_end`]), and the final PDF, built from the
    /// signatures and what they build on, never contains it. A signature
    /// dated later than the void (one that left the void out of its parents
    /// on purpose, long after) does not undo it: the envelope stays voided.
    /// A decline by a party who also signed never ends a completed envelope,
    /// whatever time it claims.
    pub fn status(&self) -> Status {
        let order = self.terms.signing_order();
        let unsigned: Vec<Slot> = order.iter().copied().filter(|s| !self.signs.contains_key(s)).collect();
        let Some(first) = unsigned.first() else {
            let last_signature = self.signs.values().map(|s| s.claimed_time).max().unwrap_or(0);
            return match self.end(true) {
                Some((end, at)) if last_signature > at.saturating_add(rules::CLOCK_TOLERANCE_MS) => end.clone(),
                _ => Status::Completed,
            };
        };
        if let Some((end, _)) = self.end(false) {
            return end.clone();
        }
        if !self.invited {
            return Status::Draft;
        }
        let turn = self.terms.party(*first).map_or(0, |p| p.order);
        let slots = unsigned.into_iter().filter(|s| self.terms.party(*s).is_some_and(|p| p.order == turn)).collect();
        Status::Awaiting { slots }
    }

    /// What ends the envelope, if anything: the last `Void`, else the first
    /// `Decline`; with `skip_signers`, a decline by a party who also signed
    /// (made beside their own signature, which the others answered) does not count.
    fn end(&self, skip_signers: bool) -> Option<(&Status, u64)> {
        let counts =
            |end: &&(Status, u64)| !(skip_signers && matches!(&end.0, Status::Declined { slot, .. } if self.signs.contains_key(slot)));
        let void = self.ends.iter().rev().filter(|end| matches!(end.0, Status::Voided { .. })).find(counts);
        let decline = || self.ends.iter().filter(counts).find(|end| matches!(end.0, Status::Declined { .. }));
        void.or_else(decline).map(|(end, at)| (end, *at))
    }

    /// Whether a valid entry claims a time before an act it builds on
    /// (beyond the clock tolerance): its author's clock was wrong.
    pub fn backdated(&self, entry: &EntryId) -> bool {
        self.backdated.contains(entry)
    }

    /// The latest time any valid entry claims (Unix ms).
    pub fn latest_time(&self) -> u64 {
        self.valid.iter().map(|v| v.entry().claimed_time).max().unwrap_or(self.created_at)
    }

    /// A void or decline that came too late: made concurrently with the
    /// last signature of an envelope that is completed (see [`Self::status`]).
    pub fn late_end(&self) -> Option<&Status> {
        self.end(false).map(|(end, _)| end).filter(|_| matches!(self.status(), Status::Completed))
    }

    /// The valid entries a signing step builds on: the `Sign` of each slot in
    /// `slots` and all its ancestors, in canonical order.
    pub fn closure_of_signs(&self, slots: &[Slot]) -> Vec<&ValidEntry> {
        let mut wanted: BTreeSet<EntryId> = BTreeSet::new();
        let mut stack: Vec<EntryId> = slots.iter().filter_map(|s| self.signs.get(s)).map(|r| r.entry).collect();
        let by_id: BTreeMap<EntryId, &ValidEntry> = self.valid.iter().map(|v| (v.id(), v)).collect();
        while let Some(id) = stack.pop() {
            if wanted.insert(id)
                && let Some(entry) = by_id.get(&id)
            {
                stack.extend(entry.entry().parents.iter().copied());
            }
        }
        self.valid.iter().filter(|v| wanted.contains(&v.id())).collect()
    }
}
