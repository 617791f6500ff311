//! Two acts of one party that claim the same thing: a second `Join` for a
//! slot, or a second `Sign` or `Seal` made beside the first (neither builds on
//! the other).
//!
//! The fold judges entries that are ready together in the order of their ids,
//! and an author can grind an id that sorts first. Left to that order, a
//! signer could publish a second `Sign` on the parents of their first one,
//! long after the envelope completed, and push the first one out together with
//! everything the other parties built on it. So when a fold meets a second
//! claim, the claims are settled and the fold runs again with the losers
//! rejected up front ([`Rejection::Conflicting`]).
//!
//! Only claims that could stand compete: those valid in a fold that lets
//! second claims in (every other rule applied). Of each set of concurrent
//! claims of one thing, the one kept is, in this order:
//!
//! 1. the one more parties answered: the creator, and each other slot whose
//!    key (joined in that fold) made an entry below it. The claim's own slot
//!    and author do not count, so someone holding only the slot's invitation
//!    cannot answer their own claim;
//! 2. the one further along: its slot's `Sign` and `Seal` below it;
//! 3. the one with the smaller id.
//!
//! What others answered therefore stands against a claim made later beside
//! it. Two limits remain (see `docs/design.md`): nobody answers the last
//! signer's acts, so whoever holds the last party's invitation, or key, can
//! make a second set that ties and wins by id; and the creator, who holds
//! every invitation, can make keys that answer for any slot.
//!
//! Rejecting entries up front never moves the others: the order of the
//! entries that stay valid is the fold's usual one, so a verifier folding
//! only the entries a final PDF carries finds the order the node sealed.
//! Cost: nothing unless a fold met a second claim; then two more folds and
//! a few passes linear in the log, each signature verified once.

use std::collections::{BTreeMap, HashMap};

use crate::hash::EntryId;
use crate::keys::PublicKey;
use crate::log::rules::{self, Rejection};
use crate::log::{Act, RawEntry};
use crate::model::{MAX_PARTIES, Slot};

use super::EnvelopeState;

/// What two entries of one slot may both claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Whom entries speak for, as bits: one per slot their author joined, and
/// [`CREATOR`] for the envelope's creator.
type Parties = u64;

/// The creator's bit in [`Parties`] (slots use bits 0 to 31).
const CREATOR: Parties = 1 << 32;

/// What lies below an entry (among the entries that could stand).
#[derive(Debug, Clone, Copy, Default)]
struct Below {
    /// The parties that made an entry below it.
    parties: Parties,
    /// The slots whose `Sign` is below it.
    signed: u32,
    /// The slots whose `Seal` is below it.
    sealed: u32,
}

impl Below {
    fn union(&mut self, other: Below) {
        self.parties |= other.parties;
        self.signed |= other.signed;
        self.sealed |= other.sealed;
    }
}

/// Settles each set of concurrent claims: `possible` is the fold of the
/// envelope's entries that let second claims in. Returns the losers.
pub(super) fn settle(possible: &EnvelopeState, entries: &BTreeMap<EntryId, RawEntry>) -> BTreeMap<EntryId, Rejection> {
    let valid = possible.valid();
    let mut speaks_for: HashMap<PublicKey, Parties> = HashMap::from([(possible.creator(), CREATOR)]);
    for entry in valid.iter().map(|v| v.entry()) {
        if let Act::Join { slot, .. } = entry.act {
            *speaks_for.entry(entry.author).or_default() |= Parties::from(rules::bit(slot));
        }
    }
    // Children after parents in `valid`: walking it backwards sums up what lies below.
    let mut below: HashMap<EntryId, Below> = HashMap::new();
    for v in valid.iter().rev() {
        let entry = v.entry();
        let mut here = below.get(&v.id()).copied().unwrap_or_default();
        here.parties |= speaks_for.get(&entry.author).copied().unwrap_or(0);
        match entry.act {
            Act::Sign { slot, .. } => here.signed |= rules::bit(slot),
            Act::Seal { slot, .. } => here.sealed |= rules::bit(slot),
            _ => {}
        }
        for parent in &entry.parents {
            below.entry(*parent).or_default().union(here);
        }
    }
    let rank = |id: &EntryId, slot: Slot| {
        let under = below.get(id).copied().unwrap_or_default();
        let author = entries.get(id).map(|raw| raw.entry().author);
        let own = Parties::from(rules::bit(slot)) | author.and_then(|a| speaks_for.get(&a).copied()).unwrap_or(0);
        let answered = (under.parties & !own).count_ones();
        let along = (under.signed & rules::bit(slot)).count_ones() + (under.sealed & rules::bit(slot)).count_ones();
        (std::cmp::Reverse(answered), std::cmp::Reverse(along), *id)
    };

    let mut settling = Settling { possible, losers: BTreeMap::new() };
    let joins: Vec<(Claim, Slot, EntryId)> = valid
        .iter()
        .filter_map(|v| match v.entry().act {
            Act::Join { slot, .. } => Some((Claim::Join, slot, v.id())),
            _ => None,
        })
        .collect();
    let kept_joins = settling.keep_one_of_each(&joins, &rank);
    let bound: BTreeMap<Slot, PublicKey> = kept_joins
        .iter()
        .filter_map(|id| entries.get(id))
        .filter_map(|raw| match raw.entry().act {
            Act::Join { slot, .. } => Some((slot, raw.entry().author)),
            _ => None,
        })
        .collect();
    let acts: Vec<(Claim, Slot, EntryId)> = valid
        .iter()
        .filter_map(|v| match Claim::of(&v.entry().act) {
            Some((claim @ (Claim::Sign | Claim::Seal), slot)) if bound.get(&slot) == Some(&v.entry().author) => Some((claim, slot, v.id())),
            _ => None,
        })
        .collect();
    settling.keep_one_of_each(&acts, &rank);
    settling.losers
}

struct Settling<'a> {
    possible: &'a EnvelopeState,
    losers: BTreeMap<EntryId, Rejection>,
}

/// How a claim ranks: smaller is kept.
type Rank = (std::cmp::Reverse<u32>, std::cmp::Reverse<u32>, EntryId);

impl Settling<'_> {
    /// Among `claims` (kind, slot, entry), keeps the best ranked of each set
    /// of concurrent claims of one thing; the others become losers. A claim
    /// below another claim of the same thing is left to the fold's rules (it
    /// was made knowing the first). Returns the kept ones.
    fn keep_one_of_each(&mut self, claims: &[(Claim, Slot, EntryId)], rank: &dyn Fn(&EntryId, Slot) -> Rank) -> Vec<EntryId> {
        let group = |claim: Claim, slot: Slot| (claim as usize) * MAX_PARTIES + usize::from(slot);
        let member: HashMap<EntryId, usize> = claims
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
        let mut kept = Vec::new();
        for set in sets.values() {
            let Some(&(claim, slot, winner)) = set.iter().min_by_key(|(_, slot, id)| rank(id, *slot)) else { continue };
            kept.push(winner);
            for (_, _, id) in set.iter().filter(|(_, _, id)| *id != winner) {
                self.losers.insert(*id, Rejection::Conflicting { slot, act: claim.name(), kept: winner.short() });
            }
        }
        kept
    }

    /// For each entry, the groups of which a member is among its ancestors (bit per group).
    fn claims_above(&self, member: &HashMap<EntryId, usize>) -> HashMap<EntryId, u128> {
        let mut above: HashMap<EntryId, u128> = HashMap::new();
        for v in self.possible.valid() {
            let mut bits = 0u128;
            for parent in &v.entry().parents {
                bits |= above.get(parent).copied().unwrap_or(0);
                if let Some(index) = member.get(parent) {
                    bits |= 1u128 << index;
                }
            }
            above.insert(v.id(), bits);
        }
        above
    }
}
