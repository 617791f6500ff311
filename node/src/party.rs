//! A party's envelopes and the acts it performs on them, in memory.
//!
//! A [`Party`] holds one identity (its ed25519 key) and, per envelope, every
//! signed entry and blob it knows. It creates envelopes, joins with an
//! invitation, signs and declines, and exchanges [`Packet`]s with other
//! parties. Before appending an act it folds the envelope with the new entry,
//! so it refuses what the other parties' nodes would reject (for example
//! signing before the company), with the same reason.

use std::collections::{BTreeMap, HashSet};

use countersign_shared::hash::{EntryId, EnvelopeId, Hash};
use countersign_shared::invite::{Invitation, InviteSecret};
use countersign_shared::keys::{PublicKey, SecretKey};
use countersign_shared::log::rules::Rejection;
use countersign_shared::log::{Act, Entry, RawEntry, Value};
use countersign_shared::model::{DocumentRef, FieldKind, Slot, Terms};
use countersign_shared::pades::certificate::{self, Issuer};
use countersign_shared::render::{self, Blobs, PdfError, RenderError};
use countersign_shared::source;
use countersign_shared::state::{EnvelopeState, FoldError, Status, fold_with_verified};
use rand_core::{OsRng, RngCore};
use thiserror::Error;

use crate::blobs::{BlobStore, MemoryBlobs};
use crate::clock::{self, now_ms};
use crate::datadir::DataDirError;

/// How long an invitation works, by default: 14 days.
pub const DEFAULT_INVITE_TTL_MS: u64 = 14 * 24 * 3600 * 1000;

/// Why a party's act failed. Nothing is stored when an act fails.
/// How far this computer's clock may be behind an envelope's creation
/// before the node refuses to date an act with it.
const CLOCK_BEHIND_REFUSED_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PartyError {
    /// This computer's clock is behind the envelope's last act.
    #[error("this computer's clock says {now}, before the envelope was created ({created}): set the clock right, then try again")]
    ClockBehind {
        /// What the clock says, on the person's clock.
        now: String,
        /// When the envelope's creator says it was made, on the person's clock.
        created: String,
    },
    /// The PDF cannot be used.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The terms are not acceptable.
    #[error("the envelope cannot be created: {0}")]
    Terms(String),
    /// This party does not know the envelope.
    #[error("unknown envelope {0}; join it first")]
    UnknownEnvelope(String),
    /// The envelope's log cannot be folded.
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// The act would break a rule; the other parties would reject it too.
    #[error("refused: {0}")]
    Refused(#[from] Rejection),
    /// This party holds no slot in the envelope.
    #[error("you are not a party to this envelope")]
    NotAParty,
    /// The invitation has expired.
    #[error("this invitation expired on {0}; ask the sender for a new one")]
    InviteExpired(String),
    /// A value names a field the signer does not have.
    #[error("there is no field '{label}' for you to fill (yours: {yours})")]
    UnknownField {
        /// The label given.
        label: String,
        /// The signer's fields, by label.
        yours: String,
    },
    /// A signature or stamp image cannot be used.
    #[error(transparent)]
    Image(#[from] RenderError),
    /// The final PDF is asked for before everyone signed.
    #[error("the document is not complete yet: {0}")]
    NotComplete(String),
    /// A blob could not be stored.
    #[error(transparent)]
    Store(#[from] DataDirError),
    /// The invitation names this person otherwise than the company's CA certifies them.
    #[error(
        "the invitation names you '{invited_as}', but your company's certificate authority certifies you as '{certified_as}'; ask the sender to correct the name"
    )]
    NameMismatch {
        /// The name in the envelope.
        invited_as: String,
        /// The name of this node's profile.
        certified_as: String,
    },
    /// The party's certificate cannot be issued.
    #[error("your certificate cannot be issued: {0}")]
    Certificate(#[from] certificate::CertificateError),
}

/// An organization's certificate authority, which issues the certificates of
/// the company's parties (otherwise each key certifies itself).
#[derive(Debug, Clone)]
pub struct Authority {
    /// The CA's certificate, DER.
    pub certificate: Vec<u8>,
    /// The CA's key.
    pub key: SecretKey,
}

/// What one party sends another: signed entries and the blobs they name
/// (the source PDF and images), each checked by hash on arrival.
#[derive(Debug, Clone, Default)]
pub struct Packet {
    /// The envelope.
    pub envelope: Option<EnvelopeId>,
    /// Entry bytes.
    pub entries: Vec<Vec<u8>>,
    /// Blob bytes.
    pub blobs: Vec<Vec<u8>>,
}

/// What the signer fills in, by field label.
#[derive(Debug, Clone, Default)]
pub struct SignInput {
    /// Text values (text, date, company details).
    pub texts: Vec<(String, String)>,
    /// Images (signature, stamp), as PNG or JPEG bytes.
    pub images: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Default)]
struct Book {
    entries: BTreeMap<EntryId, RawEntry>,
    /// The fold of `entries`, computed on first use after a change.
    folded: std::cell::OnceCell<EnvelopeState>,
}

/// One party: an identity, the envelopes it takes part in, and a blob store.
#[derive(Debug)]
pub struct Party<B: BlobStore = MemoryBlobs> {
    name: String,
    key: SecretKey,
    authority: Option<Authority>,
    /// How long the invitations this party makes work.
    invite_ttl_ms: u64,
    books: BTreeMap<EnvelopeId, Book>,
    blobs: B,
    /// Entries whose signatures were verified here before (so folds skip them).
    verified: std::cell::RefCell<HashSet<EntryId>>,
    /// Those verified since [`Party::take_newly_verified`] was last called.
    newly_verified: std::cell::RefCell<Vec<EntryId>>,
}

impl<B: BlobStore + Clone> Party<B> {
    /// What making the envelope's final PDF needs, taken from the party
    /// (the envelope's state and the blob store): [`FinalPdfJob::render`]
    /// then reads the blobs and renders anywhere, off the application's task.
    pub fn final_pdf_job(&self, envelope: EnvelopeId) -> Result<FinalPdfJob<B>, PartyError> {
        let state = self.completed_state(envelope)?;
        Ok(FinalPdfJob(self.render_job(state)))
    }

    /// What computing this party's PDF signature message needs, when its
    /// step is due to be sealed: [`SealJob::message`] renders it anywhere,
    /// off the application's task, and [`Party::seal_with`] signs it.
    pub fn seal_job(&self, envelope: EnvelopeId) -> Result<Option<SealJob<B>>, PartyError> {
        let state = self.state_ref(envelope)?;
        let Some(slot) = self.slot_to_seal(state) else { return Ok(None) };
        Ok(Some(SealJob { slot, inputs: self.render_job(state.clone()) }))
    }

    fn render_job(&self, state: EnvelopeState) -> RenderJob<B> {
        RenderJob { needed: self.needed_blobs(&state), state, blobs: self.blobs.clone() }
    }
}

/// What rendering an envelope needs, taken off the party: its state, the
/// blobs it names (the document first) and the store that holds them.
#[derive(Debug)]
struct RenderJob<B> {
    state: EnvelopeState,
    needed: Vec<Hash>,
    blobs: B,
}

/// This party's signing step, still to be rendered for its PDF signature
/// (see [`Party::seal_job`]).
#[derive(Debug)]
pub struct SealJob<B> {
    slot: Slot,
    inputs: RenderJob<B>,
}

impl<B: BlobStore> SealJob<B> {
    /// The slot whose step this is.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// Renders the file up to this step and returns what its PDF signature signs.
    pub fn message(self) -> Result<Vec<u8>, PartyError> {
        let (source, images) = read_render_inputs(&self.inputs.blobs, &self.inputs.needed)?;
        Ok(render::seal_message(&source, &self.inputs.state, &images, self.slot)?)
    }
}

/// The final PDF of an envelope, still to be rendered (see [`Party::final_pdf_job`]).
#[derive(Debug)]
pub struct FinalPdfJob<B>(RenderJob<B>);

impl<B: BlobStore> FinalPdfJob<B> {
    /// Reads the document and images and renders the final PDF (a few
    /// milliseconds, some tens for a large document).
    pub fn render(self) -> Result<Vec<u8>, PartyError> {
        let (source, images) = read_render_inputs(&self.0.blobs, &self.0.needed)?;
        Ok(render::render(&source, &self.0.state, &images)?.bytes)
    }
}

/// The blobs `needed` (the document, then images) read from `blobs`, or
/// which one has not arrived yet.
fn read_render_inputs(blobs: &impl BlobStore, needed: &[Hash]) -> Result<(Vec<u8>, Blobs), PartyError> {
    let (document, images) = needed.split_first().ok_or_else(|| PartyError::NotComplete("the original PDF has not arrived".into()))?;
    let source = blobs.get(document).ok_or_else(|| PartyError::NotComplete("the original PDF has not arrived".into()))?;
    let mut found = Blobs::new();
    for hash in images {
        let bytes = blobs.get(hash).ok_or_else(|| PartyError::NotComplete(format!("image {} has not arrived", hash.short())))?;
        found.insert(*hash, bytes);
    }
    Ok((source, found))
}

/// A fresh random 16-byte invite secret from the operating system.
pub(crate) fn random_invite_secret() -> [u8; 16] {
    let mut secret = [0u8; 16];
    OsRng.fill_bytes(&mut secret);
    secret
}

/// A fresh random 32-byte secret from the operating system.
pub fn random_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    secret
}

/// A fresh random secret as 64 hexadecimal digits (tokens, session cookies, ids).
pub fn random_hex() -> String {
    random_secret().iter().map(|b| format!("{b:02x}")).collect()
}

impl Party<MemoryBlobs> {
    /// A party with `key`, blobs in memory.
    pub fn new(name: &str, key: SecretKey) -> Self {
        Self::with_store(name, key, MemoryBlobs::default())
    }

    /// A party with a new random key, blobs in memory.
    pub fn generate(name: &str) -> Self {
        Self::new(name, SecretKey::from_seed(random_secret()))
    }
}

impl<B: BlobStore> Party<B> {
    /// A party with `key` keeping blobs in `blobs`.
    pub fn with_store(name: &str, key: SecretKey, blobs: B) -> Self {
        Party {
            name: name.to_owned(),
            key,
            authority: None,
            invite_ttl_ms: DEFAULT_INVITE_TTL_MS,
            books: BTreeMap::new(),
            blobs,
            verified: Default::default(),
            newly_verified: Default::default(),
        }
    }

    /// Makes the invitations this party makes from now on work for `ttl_ms`.
    pub fn set_invite_ttl(&mut self, ttl_ms: u64) {
        self.invite_ttl_ms = ttl_ms.max(1);
    }

    /// How long the invitations this party makes work.
    pub fn invite_ttl(&self) -> u64 {
        self.invite_ttl_ms
    }

    /// Has the organization's CA issue this party's certificates from now on.
    pub fn set_authority(&mut self, authority: Authority) {
        self.authority = Some(authority);
    }

    /// The blob store.
    pub fn blobs(&self) -> &B {
        &self.blobs
    }

    /// The blob store, to add blobs.
    pub fn blobs_mut(&mut self) -> &mut B {
        &mut self.blobs
    }

    /// Trusts these entry ids' signatures as already verified (a node's own
    /// record from earlier runs).
    pub fn trust_verified(&mut self, ids: impl IntoIterator<Item = EntryId>) {
        self.verified.get_mut().extend(ids);
    }

    /// Entry ids whose signatures were verified since the last call.
    pub fn take_newly_verified(&self) -> Vec<EntryId> {
        std::mem::take(&mut *self.newly_verified.borrow_mut())
    }

    fn note_verified(&self, state: &EnvelopeState) {
        let mut verified = self.verified.borrow_mut();
        let mut fresh = self.newly_verified.borrow_mut();
        for id in state.valid().iter().map(|v| v.id()) {
            if verified.insert(id) {
                fresh.push(id);
            }
        }
    }

    fn fold_book(&self, envelope: EnvelopeId, book: &Book) -> Result<EnvelopeState, FoldError> {
        let state = fold_with_verified(envelope, book.entries.values().cloned(), &self.verified.borrow())?;
        self.note_verified(&state);
        Ok(state)
    }

    /// The envelopes this party holds.
    pub fn envelopes(&self) -> impl Iterator<Item = EnvelopeId> + '_ {
        self.books.keys().copied()
    }

    /// The name this party goes by locally.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This party's name card: its name and its key's signature over it
    /// (see [`countersign_shared::envelope_doc::name_message`]).
    pub fn name_card(&self) -> (String, countersign_shared::keys::Signature) {
        (self.name.clone(), self.key.sign(&countersign_shared::envelope_doc::name_message(&self.name)))
    }

    /// This party's signature over its email card for `email` (see
    /// [`countersign_shared::envelope_doc::email_message`]).
    pub fn email_card(&self, email: &str) -> countersign_shared::keys::Signature {
        self.key.sign(&countersign_shared::envelope_doc::email_message(email))
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// Creates an envelope over `pdf` and invites every party. The terms'
    /// document reference is filled from the PDF.
    pub fn create(&mut self, pdf: &[u8], mut terms: Terms) -> Result<(EnvelopeId, Vec<Invitation>), PartyError> {
        let info = source::inspect(pdf)?;
        terms.document = DocumentRef { hash: Hash::of(pdf), len: pdf.len() as u64, pages: info.pages.len() as u32 };
        terms.validate().map_err(PartyError::Terms)?;
        for field in &terms.fields {
            let (width, height) = info.pages[field.page as usize - 1].visible_size();
            if field.rect.x + field.rect.width > width + 0.5 || field.rect.y + field.rect.height > height + 0.5 {
                return Err(PartyError::Terms(format!("field '{}' reaches past the edge of page {}", field.label, field.page)));
            }
        }
        let parties = terms.parties.len();
        let now = now_ms();
        let create = Entry {
            envelope: None,
            parents: vec![],
            author: self.public_key(),
            claimed_time: now,
            utc_offset: clock::offset_at(now),
            act: Act::Create(terms),
        }
        .sign(&self.key);
        let envelope = EnvelopeId::from(create.id());
        self.blobs.put(pdf)?;
        let mut book = Book::default();
        book.entries.insert(create.id(), create);
        self.books.insert(envelope, book);
        let mut invitations = Vec::with_capacity(parties);
        for slot in 0..parties {
            let slot = Slot::try_from(slot).map_err(|_| PartyError::Terms("too many parties".into()))?;
            let invitation = Invitation {
                envelope,
                slot,
                secret: InviteSecret(random_invite_secret()),
                expires_at: now + self.invite_ttl_ms,
                inviter: self.public_key(),
                addresses: vec![],
            };
            self.append(envelope, Act::Invite { slot, invite_key: invitation.invite_key(), expires_at: invitation.expires_at })?;
            invitations.push(invitation);
        }
        Ok((envelope, invitations))
    }

    /// A new invitation for `slot` of `envelope` (created by this party), in
    /// a new `Invite` entry: for a party whose first one ran out before
    /// their turn came. The old secret's grant stays in the log, used or not.
    pub fn reinvite(&mut self, envelope: EnvelopeId, slot: Slot) -> Result<(Invitation, RawEntry), PartyError> {
        let invitation = Invitation {
            envelope,
            slot,
            secret: InviteSecret(random_invite_secret()),
            expires_at: now_ms() + self.invite_ttl_ms,
            inviter: self.public_key(),
            addresses: vec![],
        };
        let entry = self.append(envelope, Act::Invite { slot, invite_key: invitation.invite_key(), expires_at: invitation.expires_at })?;
        Ok((invitation, entry))
    }

    /// Joins with an invitation. The envelope must have arrived (a packet from the inviter).
    pub fn join(&mut self, invitation: &Invitation) -> Result<RawEntry, PartyError> {
        if now_ms() > invitation.expires_at.saturating_add(countersign_shared::log::rules::CLOCK_TOLERANCE_MS) {
            return Err(PartyError::InviteExpired(clock::local(invitation.expires_at)));
        }
        let state = self.state(invitation.envelope)?;
        let invite = state
            .valid()
            .iter()
            .find(|e| matches!(e.entry().act, Act::Invite { slot, invite_key, .. } if slot == invitation.slot && invite_key == invitation.invite_key()))
            .map(|e| e.id())
            .ok_or(PartyError::Refused(Rejection::InviteNotFound))?;
        let proof = invitation.prove(&self.public_key());
        let party = state.terms().party(invitation.slot).ok_or(PartyError::Refused(Rejection::UnknownSlot(invitation.slot)))?;
        let issuer = match &self.authority {
            // The company's CA vouches for its people by the names they gave
            // their own nodes, never for a name someone else typed.
            Some(_) if party.name != self.name => {
                return Err(PartyError::NameMismatch { invited_as: party.name.clone(), certified_as: self.name.clone() });
            }
            Some(authority) => Issuer::Authority { certificate: &authority.certificate, key: &authority.key },
            None => Issuer::Itself(&self.key),
        };
        let certificates = certificate::issue(&self.public_key(), &party.name, &party.contact, issuer, now_ms())?;
        self.append(invitation.envelope, Act::Join { slot: invitation.slot, invite, proof, certificates })
    }

    /// Drops an entry this party made but could not store (it is made again later).
    pub fn discard(&mut self, envelope: EnvelopeId, id: EntryId) {
        if let Some(book) = self.books.get_mut(&envelope)
            && book.entries.remove(&id).is_some()
        {
            book.folded = std::cell::OnceCell::new();
        }
    }

    /// Makes this party's PDF signature for its signing step, once the step is
    /// signed and every earlier step sealed, and appends the `Seal`. Returns
    /// `None` when there is nothing to seal yet (or at all).
    pub fn seal_pending(&mut self, envelope: EnvelopeId) -> Result<Option<RawEntry>, PartyError> {
        let state = self.state_ref(envelope)?;
        let Some(slot) = self.slot_to_seal(state) else { return Ok(None) };
        let (source, images) = self.render_inputs(state)?;
        let message = render::seal_message(&source, state, &images, slot)?;
        self.seal_with(envelope, slot, &message)
    }

    /// This party's slot, if its step is signed, not sealed, every earlier
    /// step sealed and the envelope still open.
    fn slot_to_seal(&self, state: &EnvelopeState) -> Option<Slot> {
        let slot = self.my_slot(state).ok()?;
        let ended = matches!(state.status(), Status::Declined { .. } | Status::Voided { .. });
        let order = state.terms().signing_order();
        let earlier_sealed = order.iter().take_while(|s| **s != slot).all(|s| state.seal(*s).is_some());
        let due = !ended && state.signature(slot).is_some() && state.seal(slot).is_none() && earlier_sealed;
        due.then_some(slot)
    }

    /// Signs `message` (what [`SealJob::message`] made for `slot`) and
    /// appends the `Seal`, unless the step was sealed in the meantime.
    pub fn seal_with(&mut self, envelope: EnvelopeId, slot: Slot, message: &[u8]) -> Result<Option<RawEntry>, PartyError> {
        let state = self.state_ref(envelope)?;
        if self.slot_to_seal(state) != Some(slot) {
            return Ok(None);
        }
        let value = self.key.sign(message);
        self.append(envelope, Act::Seal { slot, value }).map(Some)
    }

    /// Fills this party's fields and signs. A date field left out gets today's date.
    pub fn sign(&mut self, envelope: EnvelopeId, input: &SignInput) -> Result<RawEntry, PartyError> {
        let state = self.state(envelope)?;
        let slot = self.my_slot(&state)?;
        let now = now_ms();
        let terms = state.terms();
        // Sign only a document every reader shows the same way: one the
        // creator's node prepared (a node that skipped preparing cannot pass).
        if let Some(source) = self.blobs.get(&terms.document.hash) {
            source::inspect(&source)?;
        }
        let index_of = |label: &str| {
            terms.fields_of(slot).find(|(_, f)| f.label == label).map(|(i, _)| i as u16).ok_or_else(|| PartyError::UnknownField {
                label: label.to_owned(),
                yours: terms.fields_of(slot).map(|(_, f)| format!("'{}'", f.label)).collect::<Vec<_>>().join(", "),
            })
        };
        let mut values: BTreeMap<u16, Value> = BTreeMap::new();
        let mut new_blobs = Vec::new();
        for (label, text) in &input.texts {
            values.insert(index_of(label)?, Value::Text(text.trim().to_owned()));
        }
        for (label, bytes) in &input.images {
            let format = render::check_image(bytes)?;
            values.insert(index_of(label)?, Value::Image { hash: Hash::of(bytes), len: bytes.len() as u64, format });
            new_blobs.push(bytes.clone());
        }
        for (index, field) in terms.fields_of(slot) {
            if field.kind == FieldKind::Date {
                values.entry(index as u16).or_insert_with(|| Value::Text(clock::local_date(now)));
            }
        }
        let act = Act::Sign { slot, values: values.into_iter().collect() };
        let entry = self.append(envelope, act)?;
        for bytes in new_blobs {
            self.blobs.put(&bytes)?;
        }
        Ok(entry)
    }

    /// Declines to sign, with a reason.
    pub fn decline(&mut self, envelope: EnvelopeId, reason: &str) -> Result<RawEntry, PartyError> {
        let slot = self.my_slot(&self.state(envelope)?)?;
        self.append(envelope, Act::Decline { slot, reason: reason.to_owned() })
    }

    /// Records, as the creator, that `key` gave the code texted to the phone
    /// of the party at `slot` (before that key joins).
    pub fn confirm_phone(&mut self, envelope: EnvelopeId, slot: Slot, key: PublicKey) -> Result<RawEntry, PartyError> {
        self.append(envelope, Act::Confirm { slot, key })
    }

    /// Voids an envelope this party created.
    pub fn void(&mut self, envelope: EnvelopeId, reason: &str) -> Result<RawEntry, PartyError> {
        self.append(envelope, Act::Void { reason: reason.to_owned() })
    }

    /// Everything this party knows of an envelope that is valid, to send to another party.
    pub fn packet(&self, envelope: EnvelopeId) -> Result<Packet, PartyError> {
        let state = self.state(envelope)?;
        Ok(Packet {
            envelope: Some(envelope),
            entries: state.valid().iter().map(|e| e.bytes().to_vec()).collect(),
            blobs: self.needed_blobs(&state).iter().filter_map(|h| self.blobs.get(h)).collect(),
        })
    }

    /// Takes in a packet from another party. Undecodable entries and blobs
    /// are dropped; entries the rules reject stay out of the state (see
    /// [`EnvelopeState::rejected`]).
    pub fn receive(&mut self, packet: &Packet) -> Result<usize, PartyError> {
        let Some(envelope) = packet.envelope else { return Ok(0) };
        let entries: Vec<RawEntry> = packet.entries.iter().filter_map(|bytes| RawEntry::decode(bytes).ok()).collect();
        let added = self.insert(envelope, entries);
        for bytes in &packet.blobs {
            self.blobs.put(bytes)?;
        }
        Ok(added)
    }

    /// Adds entries received for an envelope; returns how many were new.
    pub fn insert(&mut self, envelope: EnvelopeId, entries: impl IntoIterator<Item = RawEntry>) -> usize {
        let book = self.books.entry(envelope).or_default();
        let before = book.entries.len();
        for raw in entries {
            book.entries.entry(raw.id()).or_insert(raw);
        }
        let added = book.entries.len() - before;
        if added > 0 {
            book.folded = std::cell::OnceCell::new();
        }
        added
    }

    /// Takes back entries this party made that could not be stored; an
    /// envelope left with none is forgotten.
    pub fn withdraw(&mut self, envelope: EnvelopeId, ids: impl IntoIterator<Item = EntryId>) {
        let Some(book) = self.books.get_mut(&envelope) else { return };
        for id in ids {
            book.entries.remove(&id);
        }
        book.folded = std::cell::OnceCell::new();
        if book.entries.is_empty() {
            self.books.remove(&envelope);
        }
    }

    /// The envelope's state, folded from every entry this party holds.
    pub fn state(&self, envelope: EnvelopeId) -> Result<EnvelopeState, PartyError> {
        self.state_ref(envelope).cloned()
    }

    /// The envelope's state, borrowed from the cache (folded on first use after a change).
    pub fn state_ref(&self, envelope: EnvelopeId) -> Result<&EnvelopeState, PartyError> {
        let book = self.book(envelope)?;
        if let Some(state) = book.folded.get() {
            return Ok(state);
        }
        let state = self.fold_book(envelope, book)?;
        Ok(book.folded.get_or_init(|| state))
    }

    /// The final PDF, once every party signed and sealed its step.
    pub fn final_pdf(&self, envelope: EnvelopeId) -> Result<Vec<u8>, PartyError> {
        let state = self.completed_state(envelope)?;
        let (source, images) = self.render_inputs(&state)?;
        Ok(render::render(&source, &state, &images)?.bytes)
    }

    /// The state of an envelope whose final PDF can be made, or why not yet.
    fn completed_state(&self, envelope: EnvelopeId) -> Result<EnvelopeState, PartyError> {
        let state = self.state(envelope)?;
        if state.status() != Status::Completed {
            let why = match state.status() {
                Status::Draft => "nobody has joined yet".to_owned(),
                Status::Awaiting { slots } => {
                    let names: Vec<&str> = slots.iter().filter_map(|s| state.terms().party(*s)).map(|p| p.name.as_str()).collect();
                    format!("waiting for {} to sign", names.join(" and "))
                }
                Status::Declined { slot, reason } => {
                    let name = state.terms().party(slot).map_or("a party", |p| p.name.as_str());
                    format!("{name} declined to sign: “{reason}”")
                }
                Status::Voided { reason } => format!("the sender voided it: “{reason}”"),
                Status::Completed => "it is complete".to_owned(),
            };
            return Err(PartyError::NotComplete(why));
        }
        if let Some(slot) = state.unsealed().first() {
            let name = state.terms().party(*slot).map_or("a signer", |p| p.name.as_str());
            return Err(PartyError::NotComplete(format!("waiting for the PDF signature of {name}'s node")));
        }
        Ok(state)
    }

    /// The source PDF and the signature images the renderer needs, or which one has not arrived yet.
    fn render_inputs(&self, state: &EnvelopeState) -> Result<(Vec<u8>, Blobs), PartyError> {
        read_render_inputs(&self.blobs, &self.needed_blobs(state))
    }

    /// Whether this party made a `Sign` in the envelope and no `Seal` yet,
    /// judged from the entries held, without folding: start-up uses it to
    /// find a step left unsealed without folding every envelope.
    pub fn may_need_sealing(&self, envelope: EnvelopeId) -> bool {
        let Some(book) = self.books.get(&envelope) else { return false };
        let me = self.public_key();
        let made = |wanted: fn(&Act) -> bool| book.entries.values().any(|e| e.entry().author == me && wanted(&e.entry().act));
        made(|act| matches!(act, Act::Sign { .. })) && !made(|act| matches!(act, Act::Seal { .. }))
    }

    /// The blobs an envelope needs: its document first, then the images of valid signatures.
    pub fn needed_blobs(&self, state: &EnvelopeState) -> Vec<Hash> {
        let mut hashes = vec![state.terms().document.hash];
        for slot in state.terms().signing_order() {
            for (_, value) in state.signature(slot).map(|r| r.values.as_slice()).unwrap_or_default() {
                if let Value::Image { hash, .. } = value
                    && !hashes.contains(hash)
                {
                    hashes.push(*hash);
                }
            }
        }
        hashes
    }

    /// The length the log gives a blob it needs (the document's, or an image's).
    pub fn blob_len(&self, state: &EnvelopeState, hash: &Hash) -> Option<u64> {
        let document = &state.terms().document;
        if document.hash == *hash {
            return Some(document.len);
        }
        state.terms().signing_order().into_iter().filter_map(|slot| state.signature(slot)).flat_map(|r| r.values.iter()).find_map(
            |(_, value)| match value {
                Value::Image { hash: image, len, .. } if image == hash => Some(*len),
                _ => None,
            },
        )
    }

    /// Whether `key` may see the envelope: its creator or a bound party.
    pub fn is_party(&self, state: &EnvelopeState, key: &PublicKey) -> bool {
        state.creator() == *key || (0..state.terms().parties.len()).any(|s| Slot::try_from(s).is_ok_and(|s| state.binding(s) == Some(*key)))
    }

    /// Whether `proof` shows that `key` holds a valid, unused invitation to `slot`.
    pub fn invite_admits(&self, state: &EnvelopeState, slot: Slot, key: &PublicKey, proof: &countersign_shared::Signature) -> bool {
        if state.binding(slot).is_some() {
            return false;
        }
        let message = countersign_shared::log::join_message(&state.envelope(), slot, key);
        state.valid().iter().any(|entry| match &entry.entry().act {
            Act::Invite { slot: s, invite_key, expires_at } => {
                *s == slot
                    && expires_at.saturating_add(countersign_shared::log::rules::CLOCK_TOLERANCE_MS) >= now_ms()
                    && invite_key.verify(&message, proof).is_ok()
            }
            _ => false,
        })
    }

    /// Whether this party holds the envelope.
    pub fn knows(&self, envelope: &EnvelopeId) -> bool {
        self.books.contains_key(envelope)
    }

    fn book(&self, envelope: EnvelopeId) -> Result<&Book, PartyError> {
        self.books.get(&envelope).ok_or_else(|| PartyError::UnknownEnvelope(envelope.short()))
    }

    /// This party's slot in an envelope.
    pub fn my_slot(&self, state: &EnvelopeState) -> Result<Slot, PartyError> {
        (0..state.terms().parties.len())
            .filter_map(|s| Slot::try_from(s).ok())
            .find(|slot| state.binding(*slot) == Some(self.public_key()))
            .ok_or(PartyError::NotAParty)
    }

    /// Signs `act` on top of the envelope's heads, checks it as every other
    /// node will, and keeps it only if it is valid.
    fn append(&mut self, envelope: EnvelopeId, act: Act) -> Result<RawEntry, PartyError> {
        let state = self.state(envelope)?;
        let now = now_ms();
        // A clock more than a day behind the envelope's creation dates acts
        // nonsensically (the log would flag them): this node does not make
        // them. (Only the creator's date counts, with a day's slack: another
        // party's entry dated in the future, or a creator's clock hours
        // ahead, must not stop anyone from acting.)
        if now.saturating_add(CLOCK_BEHIND_REFUSED_MS) < state.created_at() {
            return Err(PartyError::ClockBehind { now: clock::local(now), created: clock::local(state.created_at()) });
        }
        let entry = Entry {
            envelope: Some(envelope),
            parents: state.heads(),
            author: self.public_key(),
            claimed_time: now,
            utc_offset: clock::offset_at(now),
            act,
        }
        .sign(&self.key);
        let id = entry.id();
        let book = self.books.entry(envelope).or_default();
        book.entries.insert(id, entry.clone());
        book.folded = std::cell::OnceCell::new();
        let after = fold_with_verified(envelope, book.entries.values().cloned(), &self.verified.borrow())?;
        if let Some(rejected) = after.rejected().iter().find(|r| r.id == id) {
            book.entries.remove(&id);
            return Err(PartyError::Refused(rejected.reason.clone()));
        }
        let _ = book.folded.set(after.clone());
        self.note_verified(&after);
        Ok(entry)
    }
}
