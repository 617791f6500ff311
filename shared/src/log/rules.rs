//! Who may append what, and when: the rules P2–P5 of the design.
//!
//! Claimed times are the authors' own claims and never make an entry
//! invalid (a rule that did would let one entry dated in the future block
//! every honest act after it); an entry dated more than
//! [`CLOCK_TOLERANCE_MS`] before an act it builds on is *flagged* by the
//! fold ([`crate::state::EnvelopeState::backdated`]) and in every report.
//!
//! [`check`] judges one entry against what its ancestors establish
//! ([`Knowledge`]) and against the envelope so far ([`Ledger`]). Every
//! rejection has a typed [`Rejection`] whose message says what was wrong.

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use crate::hash::{EntryId, EnvelopeId};
use crate::keys::PublicKey;
use crate::log::{Act, MAX_IMAGE_BYTES, RawEntry, Value, join_message};
use crate::model::{Contact, FieldKind, MAX_TEXT, Slot, Terms};
use crate::pades::certificate;

/// How far an entry's claimed time may lie before its ancestors' before it
/// is flagged, and how long an invitation lasts past its expiry (clocks of
/// different machines differ by this much without anything being wrong).
pub const CLOCK_TOLERANCE_MS: u64 = 10 * 60 * 1000;

/// Why an entry was kept out of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// The author's signature over the entry does not verify.
    #[error("the entry's signature does not verify: it was altered or not made by its author")]
    BadSignature,
    /// The entry names another envelope (e.g. replayed from one).
    #[error("the entry belongs to another envelope ({0})")]
    WrongEnvelope(String),
    /// A second `Create`, or a `Create` that is not this envelope's.
    #[error("a second Create inside an envelope")]
    ExtraCreate,
    /// A non-`Create` entry with no parents.
    #[error("the entry builds on nothing; every entry after Create names its parents")]
    NoParents,
    /// A parent is not in the log.
    #[error("the entry builds on {0}, which is not in the log")]
    MissingParent(String),
    /// A parent was itself rejected.
    #[error("the entry builds on {0}, which was rejected")]
    RejectedParent(String),
    /// Only the envelope's creator may invite or void.
    #[error("only the envelope's creator may {0}")]
    NotCreator(&'static str),
    /// The slot names no party.
    #[error("there is no party {0} in this envelope")]
    UnknownSlot(Slot),
    /// The invite used by a `Join` is not an `Invite` of this slot among its ancestors.
    #[error("the invite used is not an invitation to this party")]
    InviteNotFound,
    /// The `Join`'s proof was not made with the invite secret.
    #[error("the invite secret is wrong: the proof does not match the invitation")]
    WrongInviteSecret,
    /// The `Join` came after the invite expired.
    #[error("the invitation had expired when it was used")]
    InviteExpired,
    /// The invite was already used by another `Join`.
    #[error("the invitation was already used")]
    InviteAlreadyUsed,
    /// Someone already joined for this slot.
    #[error("party {0} has already joined with another key")]
    SlotAlreadyBound(Slot),
    /// The key already acts for another slot.
    #[error("this key already acts for party {0}")]
    KeyAlreadyBound(Slot),
    /// The envelope already holds as many invitations and confirmations as one may.
    #[error("the envelope already holds {MAX_GRANTS} invitations and phone confirmations, the most one may")]
    TooManyGrants,
    /// A phone confirmation for a party reached by email.
    #[error("party {0} is reached by email: there is no phone to confirm")]
    NoPhoneToConfirm(Slot),
    /// The author is not the key bound to the slot among the entry's ancestors.
    #[error("the author is not the key that joined as party {0}")]
    NotBound(Slot),
    /// The certificate chain of a `Join` is not acceptable.
    #[error("the party's certificate is not acceptable: {0}")]
    BadCertificate(String),
    /// A `Seal` for a step that was not signed among its ancestors.
    #[error("party {0} seals a signing step it has not signed")]
    SealWithoutSign(Slot),
    /// The party already sealed its step.
    #[error("party {0} has already sealed its signing step")]
    AlreadySealed(Slot),
    /// A `Seal` before the earlier steps' seals, which its PDF signature covers.
    #[error("{signer}'s PDF signature must come after {waiting_for}'s, which is not in the log before it")]
    SealOutOfOrder {
        /// The one who sealed too early.
        signer: String,
        /// Whose seal was missing.
        waiting_for: String,
    },
    /// A viewer tried to sign.
    #[error("party {0} is a viewer and does not sign")]
    NotASigner(Slot),
    /// The party already signed.
    #[error("party {0} has already signed")]
    AlreadySigned(Slot),
    /// P3: parties of a lower order have not signed before this entry.
    #[error("{signer} may sign only after {waiting_for}, who has not signed yet")]
    OutOfOrder {
        /// The one who signed too early.
        signer: String,
        /// Who had not signed yet.
        waiting_for: String,
    },
    /// A second join, signature or seal of one party made beside the first:
    /// the one another party built on stands (see [`crate::state`]).
    #[error(
        "party {slot} made a second {act} beside {kept}, which stands: another party built on it, or neither was built on and its id is the smaller"
    )]
    Conflicting {
        /// The party.
        slot: Slot,
        /// What was claimed twice: "join", "signature" or "seal".
        act: &'static str,
        /// The entry kept.
        kept: String,
    },
    /// P5: the envelope was declined or voided before this entry.
    #[error("the envelope was already {0}")]
    AfterTerminal(&'static str),
    /// Voiding a completed envelope.
    #[error("the envelope is complete and can no longer be voided")]
    AlreadyComplete,
    /// P4: a value for a field that is not the signer's.
    #[error("a value is given for field {0}, which is not assigned to the signer")]
    NotYourField(String),
    /// P4: a value's type does not fit its field.
    #[error("field '{0}' gets the wrong kind of value")]
    WrongValueKind(String),
    /// P4: values not in increasing field order, or twice for one field.
    #[error("values are repeated or out of order")]
    ValuesOutOfOrder,
    /// P4: a required field was left empty.
    #[error("required field '{0}' is empty")]
    MissingRequired(String),
    /// P4: the party must stamp and did not.
    #[error("{0} must stamp the document, and the stamp is missing")]
    StampMissing(String),
    /// P4: a text value that is not acceptable.
    #[error("field '{field}': {problem}")]
    BadValue {
        /// The field's label.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

impl Rejection {
    /// Whether the rules reached this reason only after the entry's
    /// signature verified (every reason but what is checked before it).
    pub fn after_signature(&self) -> bool {
        !matches!(
            self,
            Rejection::BadSignature
                | Rejection::WrongEnvelope(_)
                | Rejection::ExtraCreate
                | Rejection::NoParents
                | Rejection::MissingParent(_)
                | Rejection::RejectedParent(_)
                | Rejection::Conflicting { .. }
        )
    }

    /// Whether the entry claims what another entry of its party already
    /// claimed (a slot, an invitation, a signature, a seal): a rejection that
    /// depends on which of the two the fold judged first. The rules check
    /// these last, so such an entry passed every other rule.
    pub fn is_second_claim(&self) -> bool {
        matches!(
            self,
            Rejection::AlreadySigned(_)
                | Rejection::AlreadySealed(_)
                | Rejection::SlotAlreadyBound(_)
                | Rejection::InviteAlreadyUsed
                | Rejection::KeyAlreadyBound(_)
        )
    }
}

/// Most invitations and phone confirmations (grants) one envelope may hold.
pub const MAX_GRANTS: usize = 1024;
/// The longest name of a certificate's issuer (a company's CA) a `Join` may carry.
pub const MAX_ISSUER_NAME: usize = 200;

/// A set of grants by their number (the order they were admitted in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grants([u64; MAX_GRANTS / 64]);

impl Default for Grants {
    fn default() -> Self {
        Grants([0; MAX_GRANTS / 64])
    }
}

impl Grants {
    /// Whether grant `index` is in the set.
    pub fn contains(&self, index: usize) -> bool {
        self.0.get(index / 64).is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    fn insert(&mut self, index: usize) {
        if let Some(word) = self.0.get_mut(index / 64) {
            *word |= 1 << (index % 64);
        }
    }

    fn union(mut self, other: Grants) -> Grants {
        for (word, theirs) in self.0.iter_mut().zip(other.0) {
            *word |= theirs;
        }
        self
    }

    /// The grants in the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_GRANTS).filter(|index| self.contains(*index))
    }
}

/// What an entry's ancestors establish, merged from its parents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Knowledge {
    /// Slots whose `Sign` is an ancestor (bit per slot).
    pub signed: u32,
    /// Slots whose `Seal` is an ancestor.
    pub sealed: u32,
    /// Slots whose `Join` is an ancestor.
    pub bound: u32,
    /// Slots whose `Invite` is an ancestor.
    pub invited: u32,
    /// The grants (invitations, phone confirmations) among the ancestors, by number.
    pub grants: Grants,
    /// Whether a `Decline` or `Void` is an ancestor, and which.
    pub terminal: Option<&'static str>,
    /// The latest time an ancestor claims (Unix ms).
    pub latest: u64,
}

impl Knowledge {
    /// The union of two ancestries.
    pub fn merge(self, other: Knowledge) -> Knowledge {
        Knowledge {
            signed: self.signed | other.signed,
            sealed: self.sealed | other.sealed,
            bound: self.bound | other.bound,
            invited: self.invited | other.invited,
            grants: self.grants.union(other.grants),
            terminal: self.terminal.or(other.terminal),
            latest: self.latest.max(other.latest),
        }
    }

    /// Adds the time a valid entry itself claims.
    pub fn at(mut self, claimed_time: u64) -> Knowledge {
        self.latest = self.latest.max(claimed_time);
        self
    }

    /// Adds what a valid entry itself establishes; `grant` is the number a
    /// grant (an `Invite` or a `Confirm`) was admitted under.
    pub fn with(mut self, act: &Act, grant: Option<usize>) -> Knowledge {
        if let Some(index) = grant {
            self.grants.insert(index);
        }
        match act {
            Act::Sign { slot, .. } => self.signed |= bit(*slot),
            Act::Seal { slot, .. } => self.sealed |= bit(*slot),
            Act::Join { slot, .. } => self.bound |= bit(*slot),
            Act::Invite { slot, .. } => self.invited |= bit(*slot),
            Act::Decline { .. } => self.terminal = Some("declined"),
            Act::Void { .. } => self.terminal = Some("voided"),
            Act::Create(_) | Act::Confirm { .. } => {}
        }
        self
    }
}

pub(crate) fn bit(slot: Slot) -> u32 {
    1u32.checked_shl(u32::from(slot)).unwrap_or(0)
}

/// A grant: something the creator opens to a key, numbered in the order
/// admitted so that an entry's ancestry holds its grants as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An `Invite`: whoever proves the secret whose public half is `key` may join as `slot`.
    Invite {
        /// The slot offered.
        slot: Slot,
        /// The invite key.
        key: PublicKey,
        /// When it expires (Unix ms).
        expires_at: u64,
    },
    /// A `Confirm`: the holder of `key` gave the code texted to `slot`'s phone.
    Confirm {
        /// The slot.
        slot: Slot,
        /// The key that gave the code.
        key: PublicKey,
    },
}

/// What the envelope's valid entries so far establish, whatever their ancestry.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Key bound to each slot, and the `Join` that bound it.
    pub bindings: BTreeMap<Slot, (PublicKey, EntryId)>,
    /// The grants, by number.
    pub grants: Vec<Grant>,
    /// The number of each `Invite`'s grant.
    pub invites: BTreeMap<EntryId, usize>,
    /// Invites already used, with the `Join` that used them.
    pub used_invites: BTreeMap<EntryId, EntryId>,
    /// Slots that signed, with their `Sign` entry.
    pub signed: BTreeMap<Slot, EntryId>,
    /// Slots that sealed their signing step, with their `Seal` entry.
    pub sealed: BTreeMap<Slot, EntryId>,
    /// Keys that joined a slot beside the key in `bindings` (only while
    /// second claims are allowed).
    pub also_bound: std::collections::BTreeSet<(Slot, PublicKey)>,
}

/// The fixed context of one envelope.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Its id.
    pub id: &'a EnvelopeId,
    /// Its terms.
    pub terms: &'a Terms,
    /// Its creator.
    pub creator: &'a PublicKey,
    /// Whether an entry may claim what a concurrent entry already claimed
    /// (see [`Rejection::is_second_claim`]): only while settling such
    /// claims, to learn which of them could stand.
    pub second_claims_allowed: bool,
}

/// Judges one entry that is not the envelope's `Create`, in time that does
/// not grow with the log: `known` is what its ancestors establish, `ledger`
/// what the envelope holds so far; `signature_checked` says the caller
/// already verified this exact entry's signature (see
/// [`crate::state::fold_with_verified`]).
pub fn check(raw: &RawEntry, envelope: Envelope<'_>, known: Knowledge, ledger: &Ledger, signature_checked: bool) -> Result<(), Rejection> {
    let entry = raw.entry();
    match &entry.envelope {
        Some(id) if id == envelope.id => {}
        Some(other) => return Err(Rejection::WrongEnvelope(other.short())),
        None => return Err(Rejection::ExtraCreate),
    }
    if entry.parents.is_empty() {
        return Err(Rejection::NoParents);
    }
    // Before anything the act claims: the fold counts on it (see `Rejection::is_second_claim`).
    if !signature_checked && !raw.signature_verifies() {
        return Err(Rejection::BadSignature);
    }
    let terms = envelope.terms;
    let party = |slot: Slot| terms.party(slot).ok_or(Rejection::UnknownSlot(slot));
    let not_terminal = || known.terminal.map_or(Ok(()), |act| Err(Rejection::AfterTerminal(act)));
    match &entry.act {
        Act::Create(_) => Err(Rejection::ExtraCreate),
        Act::Invite { slot, .. } => {
            if entry.author != *envelope.creator {
                return Err(Rejection::NotCreator("invite"));
            }
            party(*slot)?;
            not_terminal()?;
            if ledger.grants.len() >= MAX_GRANTS {
                return Err(Rejection::TooManyGrants);
            }
            if !envelope.second_claims_allowed && ledger.bindings.contains_key(slot) {
                return Err(Rejection::SlotAlreadyBound(*slot));
            }
            Ok(())
        }
        Act::Confirm { slot, .. } => {
            if entry.author != *envelope.creator {
                return Err(Rejection::NotCreator("confirm a phone"));
            }
            if !matches!(party(*slot)?.contact, Contact::Phone(_)) {
                return Err(Rejection::NoPhoneToConfirm(*slot));
            }
            not_terminal()?;
            if ledger.grants.len() >= MAX_GRANTS {
                return Err(Rejection::TooManyGrants);
            }
            Ok(())
        }
        Act::Join { slot, invite, proof, certificates } => {
            party(*slot)?;
            not_terminal()?;
            let Some(&index) = ledger.invites.get(invite) else {
                return Err(Rejection::InviteNotFound);
            };
            let Some(Grant::Invite { slot: invited_slot, key: invite_key, expires_at }) = ledger.grants.get(index).copied() else {
                return Err(Rejection::InviteNotFound);
            };
            if invited_slot != *slot || !known.grants.contains(index) {
                return Err(Rejection::InviteNotFound);
            }
            if invite_key.verify(&join_message(envelope.id, *slot, &entry.author), proof).is_err() {
                return Err(Rejection::WrongInviteSecret);
            }
            // Clocks differ a little: an invitation is good for that much longer.
            if entry.claimed_time > expires_at.saturating_add(CLOCK_TOLERANCE_MS) {
                return Err(Rejection::InviteExpired);
            }
            let certified = certificate::check_chain(certificates, &entry.author).map_err(|e| Rejection::BadCertificate(e.to_string()))?;
            let name = terms.party(*slot).map_or("", |p| p.name.as_str());
            if certified.subject != name {
                return Err(Rejection::BadCertificate(format!(
                    "it certifies '{}', but the party is '{name}' in this envelope",
                    certified.subject
                )));
            }
            // The issuer's name is printed on the certificate page: one short line it can show.
            if certified.issuer.len() > MAX_ISSUER_NAME {
                return Err(Rejection::BadCertificate(format!("its issuer's name is longer than {MAX_ISSUER_NAME} bytes")));
            }
            crate::font::check_line(&certified.issuer).map_err(|e| Rejection::BadCertificate(format!("its issuer's name: {e}")))?;
            if envelope.second_claims_allowed {
                return Ok(());
            }
            if ledger.used_invites.contains_key(invite) {
                return Err(Rejection::InviteAlreadyUsed);
            }
            if ledger.bindings.contains_key(slot) {
                return Err(Rejection::SlotAlreadyBound(*slot));
            }
            if let Some((other, _)) = ledger.bindings.iter().find(|(_, (key, _))| *key == entry.author) {
                return Err(Rejection::KeyAlreadyBound(*other));
            }
            Ok(())
        }
        Act::Seal { slot, .. } => {
            let signer = party(*slot)?;
            if !signer.role.signs() {
                return Err(Rejection::NotASigner(*slot));
            }
            check_bound(*slot, &entry.author, known, ledger)?;
            // A step of an envelope every signer signed may still be sealed
            // after a void or decline that came too late (see `EnvelopeState::status`).
            let complete = terms.signing_order().iter().all(|slot| known.signed & bit(*slot) != 0);
            if !complete {
                not_terminal()?;
            }
            if known.signed & bit(*slot) == 0 {
                return Err(Rejection::SealWithoutSign(*slot));
            }
            if known.sealed & bit(*slot) != 0 {
                return Err(Rejection::AlreadySealed(*slot));
            }
            check_seal_order(*slot, terms, known)?;
            if !envelope.second_claims_allowed && ledger.sealed.contains_key(slot) {
                return Err(Rejection::AlreadySealed(*slot));
            }
            Ok(())
        }
        Act::Sign { slot, values } => {
            let signer = party(*slot)?;
            if !signer.role.signs() {
                return Err(Rejection::NotASigner(*slot));
            }
            check_bound(*slot, &entry.author, known, ledger)?;
            not_terminal()?;
            if known.signed & bit(*slot) != 0 {
                return Err(Rejection::AlreadySigned(*slot));
            }
            check_order(*slot, terms, known)?;
            check_values(*slot, values, terms)?;
            if !envelope.second_claims_allowed && ledger.signed.contains_key(slot) {
                return Err(Rejection::AlreadySigned(*slot));
            }
            Ok(())
        }
        Act::Decline { slot, reason } => {
            party(*slot)?;
            check_bound(*slot, &entry.author, known, ledger)?;
            not_terminal()?;
            if known.signed & bit(*slot) != 0 {
                return Err(Rejection::AlreadySigned(*slot));
            }
            check_text("decline reason", reason)
        }
        Act::Void { reason } => {
            if entry.author != *envelope.creator {
                return Err(Rejection::NotCreator("void"));
            }
            not_terminal()?;
            let all_signed = terms.signing_order().iter().all(|slot| known.signed & bit(*slot) != 0);
            if all_signed {
                return Err(Rejection::AlreadyComplete);
            }
            check_text("void reason", reason)
        }
    }
}

fn check_bound(slot: Slot, author: &PublicKey, known: Knowledge, ledger: &Ledger) -> Result<(), Rejection> {
    let bound_here = match ledger.bindings.get(&slot) {
        Some((key, _)) => key == author || ledger.also_bound.contains(&(slot, *author)),
        None => false,
    };
    if bound_here && known.bound & bit(slot) != 0 { Ok(()) } else { Err(Rejection::NotBound(slot)) }
}

/// P3: every signing party of a lower order signed among the ancestors.
fn check_order(slot: Slot, terms: &Terms, known: Knowledge) -> Result<(), Rejection> {
    let order = terms.party(slot).map_or(0, |p| p.order);
    let waiting: Vec<String> = terms
        .signing_order()
        .into_iter()
        .filter(|other| terms.party(*other).is_some_and(|p| p.order < order) && known.signed & bit(*other) == 0)
        .filter_map(|other| terms.party(other).map(|p| format!("{} ({})", p.name, p.role.label())))
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let signer = terms.party(slot).map_or_else(String::new, |p| format!("{} ({})", p.name, p.role.label()));
    Err(Rejection::OutOfOrder { signer, waiting_for: waiting.join(", ") })
}

/// A step's PDF signature covers every earlier step, seal included: the
/// seals of the slots before `slot` in signing order come first.
fn check_seal_order(slot: Slot, terms: &Terms, known: Knowledge) -> Result<(), Rejection> {
    let name = |slot: Slot| terms.party(slot).map_or_else(String::new, |p| p.name.clone());
    let earlier = terms.signing_order().into_iter().take_while(|other| *other != slot);
    match earlier.into_iter().find(|other| known.sealed & bit(*other) == 0) {
        Some(missing) => Err(Rejection::SealOutOfOrder { signer: name(slot), waiting_for: name(missing) }),
        None => Ok(()),
    }
}

/// P4: exactly the signer's fields, every required one filled, values of the right kind.
fn check_values(slot: Slot, values: &[(u16, Value)], terms: &Terms) -> Result<(), Rejection> {
    if values.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return Err(Rejection::ValuesOutOfOrder);
    }
    for (index, value) in values {
        let Some(field) = terms.fields.get(usize::from(*index)).filter(|f| f.assignee == slot) else {
            return Err(Rejection::NotYourField(format!("#{index}")));
        };
        match (field.kind.is_image(), value) {
            (true, Value::Image { len, .. }) => {
                if *len == 0 || *len > MAX_IMAGE_BYTES {
                    let problem = format!("the image must be 1 byte to {} MB", MAX_IMAGE_BYTES / 1024 / 1024);
                    return Err(Rejection::BadValue { field: field.label.clone(), problem });
                }
            }
            (false, Value::Text(text)) => {
                check_text(&field.label, text)?;
                let multiline = field.kind == FieldKind::CompanyDetails;
                if !crate::typeset::fits(text, field.rect.width, field.rect.height, multiline) {
                    let problem = "the text is too long for its box on the page; shorten it".to_owned();
                    return Err(Rejection::BadValue { field: field.label.clone(), problem });
                }
                if field.kind == FieldKind::Date && !is_iso_date(text) {
                    let problem = format!("'{text}' is not a date like 2026-11-28");
                    return Err(Rejection::BadValue { field: field.label.clone(), problem });
                }
            }
            _ => return Err(Rejection::WrongValueKind(field.label.clone())),
        }
    }
    for (index, field) in terms.fields_of(slot) {
        let given = values.iter().any(|(i, _)| usize::from(*i) == index);
        if !given && terms.is_required(field) {
            let stamp_rule = field.kind == FieldKind::Stamp && terms.party(slot).is_some_and(|p| p.stamp_required);
            return Err(if stamp_rule {
                Rejection::StampMissing(terms.party(slot).map_or_else(String::new, |p| p.name.clone()))
            } else {
                Rejection::MissingRequired(field.label.clone())
            });
        }
    }
    Ok(())
}

fn check_text(what: &str, text: &str) -> Result<(), Rejection> {
    let problem = if text.trim().is_empty() {
        "the text is empty"
    } else if text.len() > MAX_TEXT {
        "the text is too long"
    } else if text.chars().any(|c| c.is_control() && c != '\n') {
        "the text contains control characters"
    } else if let Err(unsupported) = crate::font::check_text(text) {
        return Err(Rejection::BadValue { field: what.to_owned(), problem: unsupported.to_string() });
    } else {
        return Ok(());
    };
    Err(Rejection::BadValue { field: what.to_owned(), problem: problem.to_owned() })
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return false;
    }
    let month: u32 = text[5..7].parse().unwrap_or(0);
    let day: u32 = text[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}
