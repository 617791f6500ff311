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
//! second claims in (every other rule applied). Joins are settled first,
//! then signatures and seals of the keys kept. Of each set of concurrent
//! claims of one thing, the one kept is, in this order:
//!
//! 1. the one more parties answered: the creator, and each other slot whose
//!    key made an entry below it (for joins, keys whose join has no rival;
//!    for signatures and seals, the keys kept). The claim's own slot and
//!    author never count, so someone holding only the slot's invitation
//!    cannot answer their own claim;
//! 2. the one further along: its slot's `Sign` and `Seal` below it;
//! 3. the one with the smaller id.
//!
//! A kept claim the rules then reject (an entry it builds on lost
//! elsewhere) competes no more, and its set is settled again, so a party
//! whose signature fell with someone else's second claim can sign again.
//!
//! What others answered therefore stands against a claim made later beside
//! it. Two limits remain (see `docs/design.md`): nobody answers the last
//! signer's acts, so whoever holds the last party's invitation, or key, can
//! make a second set that ties and wins by id; and the creator, who holds
//! every invitation, can make keys that answer for any slot. A party who
//! shows different branches to parallel signers gets one answer on each
//! side: the tie goes by id, and the other signer signs again.
//!
//! Rejecting entries up front never moves the others: the order of the
//! entries that stay valid is the fold's usual one, so a verifier folding
//! only the entries a final PDF carries finds the order the node sealed.
//! Cost: nothing unless a fold met a second claim; then a fold that lets
//! them in, one fold per round of settling (at most eight), and a few
//! passes linear in the log; each signature is verified once.

use std::collections::{BTreeMap, HashMap, HashSet};

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

/// The claims settled: the losers, and the claims kept over a rival.
#[derive(Debug, Default)]
pub(super) struct Settled {
    /// Claims that lost to another claim of the same thing.
    pub losers: BTreeMap<EntryId, Rejection>,
    /// Claims kept over at least one rival.
    pub kept: Vec<EntryId>,
}

/// Settles each set of concurrent claims: `possible` is the fold of the
/// envelope's entries that let second claims in; `fallen` are claims kept
/// before that the rules then rejected (they compete no more).
pub(super) fn settle(possible: &EnvelopeState, entries: &BTreeMap<EntryId, RawEntry>, fallen: &HashSet<EntryId>) -> Settled {
    let valid = possible.valid();
    let claims = |wanted: &dyn Fn(Claim) -> bool| -> Vec<(Claim, Slot, EntryId)> {
        valid
            .iter()
            .filter(|v| !fallen.contains(&v.id()))
            .filter_map(|v| Claim::of(&v.entry().act).filter(|(claim, _)| wanted(*claim)).map(|(claim, slot)| (claim, slot, v.id())))
            .collect()
    };
    let author = |id: &EntryId| entries.get(id).map(|raw| raw.entry().author);
    let mut settling = Settling { possible, settled: Settled::default() };

    // Joins first, answered by the creator and by keys whose join has no rival.
    let joins = claims(&|claim| claim == Claim::Join);
    let sets = settling.concurrent(&joins);
    let sole: Vec<EntryId> = sets.values().filter(|set| set.len() == 1).map(|set| set[0].2).collect();
    let under_joins = what_lies_below(possible, &speakers(possible, sole.iter().filter_map(|id| Some((*id, author(id)?)))));
    let kept_joins = settling.keep_one_of_each(sets, &|id, slot| rank(&under_joins, id, slot));

    // Then signatures and seals of the keys kept, answered by those keys.
    let bound: BTreeMap<Slot, (PublicKey, EntryId)> = kept_joins
        .into_iter()
        .chain(sole)
        .filter_map(|id| match (entries.get(&id)?.entry().act.clone(), author(&id)?) {
            (Act::Join { slot, .. }, key) => Some((slot, (key, id))),
            _ => None,
        })
        .collect();
    let acts: Vec<(Claim, Slot, EntryId)> = claims(&|claim| claim != Claim::Join)
        .into_iter()
        .filter(|(_, slot, id)| bound.get(slot).map(|(key, _)| Some(*key)) == Some(author(id)))
        .collect();
    let joined = bound.values().map(|(key, id)| (*id, *key));
    let under_acts = what_lies_below(possible, &speakers(possible, joined));
    let sets = settling.concurrent(&acts);
    settling.keep_one_of_each(sets, &|id, slot| rank(&under_acts, id, slot));
    settling.settled
}

/// Whom each key speaks for: the creator, and the keys of `joins` (join entry, key).
fn speakers(possible: &EnvelopeState, joins: impl Iterator<Item = (EntryId, PublicKey)>) -> HashMap<PublicKey, Parties> {
    let mut speaks_for: HashMap<PublicKey, Parties> = HashMap::from([(possible.creator(), CREATOR)]);
    for (id, key) in joins {
        if let Some(Act::Join { slot, .. }) = possible.entry(&id).map(|v| &v.entry().act) {
            *speaks_for.entry(key).or_default() |= Parties::from(rules::bit(*slot));
        }
    }
    speaks_for
}

/// For each entry, what lies below it among the entries that could stand,
/// counting as parties only the keys in `speaks_for`.
fn what_lies_below(possible: &EnvelopeState, speaks_for: &HashMap<PublicKey, Parties>) -> HashMap<EntryId, (Below, Parties)> {
    // Children after parents in `valid`: walking it backwards sums up what lies below.
    let mut below: HashMap<EntryId, Below> = HashMap::new();
    let mut own: HashMap<EntryId, Parties> = HashMap::new();
    for v in possible.valid().iter().rev() {
        let entry = v.entry();
        let mut here = below.get(&v.id()).copied().unwrap_or_default();
        let author = speaks_for.get(&entry.author).copied().unwrap_or(0);
        own.insert(v.id(), author);
        here.parties |= author;
        match entry.act {
            Act::Sign { slot, .. } => here.signed |= rules::bit(slot),
            Act::Seal { slot, .. } => here.sealed |= rules::bit(slot),
            _ => {}
        }
        for parent in &entry.parents {
            below.entry(*parent).or_default().union(here);
        }
    }
    below.into_iter().map(|(id, under)| (id, (under, own.get(&id).copied().unwrap_or(0)))).collect()
}

/// How a claim ranks (smaller is kept): more parties answered it (its own
/// slot and author aside), then further along, then the smaller id.
fn rank(below: &HashMap<EntryId, (Below, Parties)>, id: &EntryId, slot: Slot) -> Rank {
    let (under, author) = below.get(id).copied().unwrap_or_default();
    let own = Parties::from(rules::bit(slot)) | author;
    let answered = (under.parties & !own).count_ones();
    let along = (under.signed & rules::bit(slot)).count_ones() + (under.sealed & rules::bit(slot)).count_ones();
    (std::cmp::Reverse(answered), std::cmp::Reverse(along), *id)
}

struct Settling<'a> {
    possible: &'a EnvelopeState,
    settled: Settled,
}

/// How a claim ranks: smaller is kept.
type Rank = (std::cmp::Reverse<u32>, std::cmp::Reverse<u32>, EntryId);

/// Concurrent claims of one thing, by group.
type Sets = BTreeMap<usize, Vec<(Claim, Slot, EntryId)>>;

impl Settling<'_> {
    /// Groups `claims` (kind, slot, entry) into sets of concurrent claims of
    /// one thing. A claim below another claim of the same thing is left to
    /// the fold's rules (it was made knowing the first).
    fn concurrent(&self, claims: &[(Claim, Slot, EntryId)]) -> Sets {
        let group = |claim: Claim, slot: Slot| (claim as usize) * MAX_PARTIES + usize::from(slot);
        let member: HashMap<EntryId, usize> = claims
            .iter()
            .filter(|(_, slot, _)| usize::from(*slot) < MAX_PARTIES)
            .map(|(claim, slot, id)| (*id, group(*claim, *slot)))
            .collect();
        let above = self.claims_above(&member);
        let mut sets = Sets::new();
        for (claim, slot, id) in claims {
            let Some(index) = member.get(id) else { continue };
            if above.get(id).is_some_and(|bits| bits & (1u128 << index) != 0) {
                continue;
            }
            sets.entry(*index).or_default().push((*claim, *slot, *id));
        }
        sets
    }

    /// Keeps the best ranked claim of each set; the others become losers.
    /// Returns the claims kept over a rival.
    fn keep_one_of_each(&mut self, sets: Sets, rank: &dyn Fn(&EntryId, Slot) -> Rank) -> Vec<EntryId> {
        let mut kept = Vec::new();
        for set in sets.values().filter(|set| set.len() > 1) {
            let Some(&(claim, slot, winner)) = set.iter().min_by_key(|(_, slot, id)| rank(id, *slot)) else { continue };
            kept.push(winner);
            for (_, _, id) in set.iter().filter(|(_, _, id)| *id != winner) {
                self.settled.losers.insert(*id, Rejection::Conflicting { slot, act: claim.name(), kept: winner.short() });
            }
        }
        self.settled.kept.extend(kept.iter().copied());
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
