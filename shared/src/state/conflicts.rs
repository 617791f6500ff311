//! Two acts of one party that claim the same thing: a second `Join` for a
//! slot, or a second `Sign` or `Seal` made beside the first (neither builds on
//! the other).
//!
//! The fold judges entries that are ready together in the order of their ids,
//! and an author can grind an id that sorts first. Left to that order, a
//! signer could publish a second `Sign` on the parents of their first one,
//! long after the envelope completed, and push the first one out together with
//! everything the other parties built on it. So before the fold, each set of
//! such concurrent claims keeps one entry and every other is rejected:
//!
//! 1. the one another party built on (an entry below it by the creator or by
//!    a key that joined for another slot, its own author aside), so that
//!    what others have seen and answered stands. Someone holding only the
//!    claimed slot's invitation cannot make such an entry (every key they
//!    join with speaks for that same slot); only the creator, who holds
//!    every invitation, could;
//! 2. among those (or if none was built on), the one with the smaller id.
//!
//! Which entries are kept may change while such a race is still open (before
//! anyone built on either); once another party answers one of them, later
//! entries no longer change it. The order of the entries that stay valid is
//! the fold's usual one: rejecting entries up front never moves the others,
//! so a verifier folding only the entries a final PDF carries finds the same
//! order as the node that sealed it.
//!
//! Cost: nothing unless a first fold rejected a second claim (see
//! [`crate::log::rules::Rejection::is_second_claim`]); then a few passes
//! linear in the log and a second fold, each signature verified at most once
//! over both folds.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::hash::{EntryId, EnvelopeId};
use crate::keys::PublicKey;
use crate::log::rules::{self, Rejection};
use crate::log::{Act, RawEntry, join_message};
use crate::model::{MAX_PARTIES, Slot};

/// What two entries of one slot may both claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    Join,
    Sign,
    Seal,
}

impl Claim {
    fn of(act: &Act) -> Option<(Claim, Slot)> {
        match act {
            Act::Join { slot, .. } => Some((Claim::Join, *slot)),
            Act::Sign { slot, .. } => Some((Claim::Sign, *slot)),
            Act::Seal { slot, .. } => Some((Claim::Seal, *slot)),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Claim::Join => "join",
            Claim::Sign => "signature",
            Claim::Seal => "seal",
        }
    }
}

/// The entries rejected before the fold, and the signatures verified on the way.
#[derive(Debug, Default)]
pub(super) struct Conflicts {
    /// Entries that lost to another claim of the same thing.
    pub losers: BTreeMap<EntryId, Rejection>,
    /// Entries whose signatures were verified here (the fold need not again).
    pub verified: HashSet<EntryId>,
}

/// Settles every set of concurrent claims among `entries` (the `Create`
/// excluded); `verified` holds ids whose signatures the caller checked.
pub(super) fn settle(
    envelope: &EnvelopeId,
    creator: &PublicKey,
    entries: &BTreeMap<EntryId, RawEntry>,
    verified: &HashSet<EntryId>,
) -> Conflicts {
    let mut claims: BTreeMap<(Claim, Slot), usize> = BTreeMap::new();
    for raw in entries.values().filter(|raw| raw.entry().envelope.as_ref() == Some(envelope)) {
        if let Some(claim) = Claim::of(&raw.entry().act) {
            *claims.entry(claim).or_default() += 1;
        }
    }
    if claims.values().all(|count| *count < 2) {
        return Conflicts::default();
    }
    Settling::new(envelope, creator, entries, verified).settle()
}

/// Whom an entry speaks for, as bits: one per slot its author joined, and
/// [`CREATOR`] if the author is the envelope's creator.
type Parties = u64;

/// The creator's bit in [`Parties`] (slots use bits 0 to 31).
const CREATOR: Parties = 1 << 32;

struct Settling<'a> {
    envelope: &'a EnvelopeId,
    creator: &'a PublicKey,
    entries: &'a BTreeMap<EntryId, RawEntry>,
    verified: HashSet<EntryId>,
    forged: HashSet<EntryId>,
    /// Parents before children.
    order: Vec<EntryId>,
    losers: BTreeMap<EntryId, Rejection>,
}

impl<'a> Settling<'a> {
    fn new(
        envelope: &'a EnvelopeId,
        creator: &'a PublicKey,
        entries: &'a BTreeMap<EntryId, RawEntry>,
        verified: &HashSet<EntryId>,
    ) -> Self {
        let order = topological(entries);
        Settling { envelope, creator, entries, verified: verified.clone(), forged: HashSet::new(), order, losers: BTreeMap::new() }
    }

    fn settle(mut self) -> Conflicts {
        let joined = self.joined_keys();
        let mut parties: HashMap<PublicKey, Parties> = HashMap::from([(*self.creator, CREATOR)]);
        for (slot, key, _) in &joined {
            *parties.entry(*key).or_default() |= Parties::from(rules::bit(*slot));
        }
        let below = self.parties_below(&parties);
        // Built on by someone else: a party other than the slot claimed and its author.
        let built_on = |id: &EntryId| {
            let Some(raw) = self.entries.get(id) else { return false };
            let slot = Claim::of(&raw.entry().act).map_or(0, |(_, slot)| Parties::from(rules::bit(slot)));
            let own = slot | parties.get(&raw.entry().author).copied().unwrap_or(0);
            below.get(id).is_some_and(|others| others & !own != 0)
        };

        let joins: Vec<(Claim, Slot, EntryId)> = joined.iter().map(|(slot, _, id)| (Claim::Join, *slot, *id)).collect();
        let kept_joins = self.keep_one_of_each(&joins, &built_on);
        let bound: BTreeMap<Slot, PublicKey> =
            joined.iter().filter(|(_, _, id)| kept_joins.contains(id)).map(|(slot, key, _)| (*slot, *key)).collect();

        let mut acts = Vec::new();
        for id in self.order.clone() {
            let Some(raw) = self.entries.get(&id) else { continue };
            let Some((claim @ (Claim::Sign | Claim::Seal), slot)) = Claim::of(&raw.entry().act) else { continue };
            if raw.entry().envelope.as_ref() == Some(self.envelope)
                && bound.get(&slot) == Some(&raw.entry().author)
                && self.signature_verifies(&id)
            {
                acts.push((claim, slot, id));
            }
        }
        self.keep_one_of_each(&acts, &built_on);
        Conflicts { losers: self.losers, verified: self.verified }
    }

    /// Among `claims` (kind, slot, entry), keeps in each set of concurrent
    /// claims of one thing the one built on, else the smaller id; the others
    /// become losers. A claim below another claim of the same thing is left to
    /// the fold's rules (it was made knowing the first). Returns the kept ones.
    fn keep_one_of_each(&mut self, claims: &[(Claim, Slot, EntryId)], built_on: &dyn Fn(&EntryId) -> bool) -> HashSet<EntryId> {
        let group = |claim: Claim, slot: Slot| (claim as usize) * MAX_PARTIES + usize::from(slot);
        let member: BTreeMap<EntryId, usize> = claims
            .iter()
            .filter(|(_, slot, _)| usize::from(*slot) < MAX_PARTIES)
            .map(|(claim, slot, id)| (*id, group(*claim, *slot)))
            .collect();
        let above = self.claims_above(&member);
        let mut sets: BTreeMap<usize, Vec<(Claim, Slot, EntryId)>> = BTreeMap::new();
        for (claim, slot, id) in claims {
            let Some(index) = member.get(id) else { continue };
            if above.get(id).is_some_and(|bits| bits & (1u128 << index) != 0) {
                continue;
            }
            sets.entry(*index).or_default().push((*claim, *slot, *id));
        }
        let mut kept = HashSet::new();
        for set in sets.values() {
            let Some(&(claim, slot, winner)) = set.iter().min_by_key(|(_, _, id)| (!built_on(id), *id)) else { continue };
            kept.insert(winner);
            for (_, _, id) in set.iter().filter(|(_, _, id)| *id != winner) {
                self.losers.insert(*id, Rejection::Conflicting { slot, act: claim.name(), kept: winner.short() });
            }
        }
        kept
    }

    /// For each entry, the groups of which a member is among its ancestors (bit per group).
    fn claims_above(&self, member: &BTreeMap<EntryId, usize>) -> BTreeMap<EntryId, u128> {
        let mut above: BTreeMap<EntryId, u128> = BTreeMap::new();
        for id in &self.order {
            let Some(raw) = self.entries.get(id) else { continue };
            let mut bits = 0u128;
            for parent in &raw.entry().parents {
                bits |= above.get(parent).copied().unwrap_or(0);
                if let Some(index) = member.get(parent) {
                    bits |= 1u128 << index;
                }
            }
            above.insert(*id, bits);
        }
        above
    }

    /// Each `Join` of this envelope whose signature and invite proof hold
    /// against an `Invite` the creator signed: (slot, joined key, entry).
    fn joined_keys(&mut self) -> Vec<(Slot, PublicKey, EntryId)> {
        let mut joined = Vec::new();
        for id in self.order.clone() {
            let Some(raw) = self.entries.get(&id) else { continue };
            let entry = raw.entry();
            let Act::Join { slot, invite, proof, .. } = &entry.act else { continue };
            if entry.envelope.as_ref() != Some(self.envelope) {
                continue;
            }
            let Some(invitation) = self.entries.get(invite) else { continue };
            let Act::Invite { slot: invited, invite_key, .. } = &invitation.entry().act else { continue };
            let proven = invited == slot
                && invitation.entry().author == *self.creator
                && invite_key.verify(&join_message(self.envelope, *slot, &entry.author), proof).is_ok();
            if proven && self.signature_verifies(invite) && self.signature_verifies(&id) {
                joined.push((*slot, entry.author, id));
            }
        }
        joined
    }

    /// For each entry, the parties that made an entry below it (their
    /// signatures verified).
    fn parties_below(&mut self, parties: &HashMap<PublicKey, Parties>) -> BTreeMap<EntryId, Parties> {
        let mut below: BTreeMap<EntryId, Parties> = BTreeMap::new();
        for id in self.order.clone().iter().rev() {
            let Some(raw) = self.entries.get(id) else { continue };
            let mut here = below.get(id).copied().unwrap_or(0);
            if let Some(speaks_for) = parties.get(&raw.entry().author)
                && here | speaks_for != here
                && self.signature_verifies(id)
            {
                here |= speaks_for;
            }
            for parent in &raw.entry().parents {
                *below.entry(*parent).or_default() |= here;
            }
        }
        below
    }

    fn signature_verifies(&mut self, id: &EntryId) -> bool {
        if self.verified.contains(id) {
            return true;
        }
        if self.forged.contains(id) {
            return false;
        }
        let good = self.entries.get(id).is_some_and(RawEntry::signature_verifies);
        if good {
            self.verified.insert(*id);
        } else {
            self.forged.insert(*id);
        }
        good
    }
}

/// The entries, parents before children (those whose parents are missing come first).
fn topological(entries: &BTreeMap<EntryId, RawEntry>) -> Vec<EntryId> {
    let mut waiting_on: BTreeMap<EntryId, usize> = BTreeMap::new();
    let mut children: BTreeMap<EntryId, Vec<EntryId>> = BTreeMap::new();
    let mut ready = Vec::new();
    for (id, raw) in entries {
        let parents: HashSet<&EntryId> = raw.entry().parents.iter().filter(|p| entries.contains_key(p)).collect();
        for parent in &parents {
            children.entry(**parent).or_default().push(*id);
        }
        waiting_on.insert(*id, parents.len());
        if parents.is_empty() {
            ready.push(*id);
        }
    }
    let mut order = Vec::with_capacity(entries.len());
    while let Some(id) = ready.pop() {
        order.push(id);
        for child in children.remove(&id).unwrap_or_default() {
            if let Some(count) = waiting_on.get_mut(&child) {
                *count -= 1;
                if *count == 0 {
                    ready.push(child);
                }
            }
        }
    }
    order
}
