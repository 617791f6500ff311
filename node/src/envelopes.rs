//! The node's envelopes: the party's acts and state, backed by one Automerge
//! document per envelope on disk and the blob store.
//!
//! Everything shown is folded from the valid entries; the documents are only
//! how entries are stored and replicated. Each document is saved atomically
//! after every change, so a crash loses at most the act being written.

use std::collections::BTreeMap;
use std::fs;

use countersign_shared::hash::{EntryId, EnvelopeId, Hash};
use countersign_shared::keys::PublicKey;
use countersign_shared::log::RawEntry;
use countersign_shared::model::Slot;
use countersign_shared::state::EnvelopeState;

use crate::blobs::{BlobStore as _, DiskBlobs};
use crate::datadir::{DataDir, DataDirError, Profile, write_atomic};
use crate::party::{Party, PartyError, SealJob};
use countersign_shared::envelope_doc::EnvelopeDoc;

mod view;

pub use view::{FieldSummary, InviteOut, ListItem, MessageKind, PartySummary, Stage, Summary, TimelineItem, ToForward, Undelivered};

/// The node's envelopes.
#[derive(Debug)]
pub struct Envelopes {
    data: DataDir,
    party: Party<DiskBlobs>,
    /// Documents in use this session; the rest stay on disk until needed.
    docs: BTreeMap<EnvelopeId, EnvelopeDoc>,
    disk: DiskBlobs,
    /// Envelopes whose blobs were all here, with how many valid entries they
    /// had then (a new entry may name new images).
    settled: std::cell::RefCell<std::collections::HashMap<EnvelopeId, (usize, u64)>>,
    /// Envelopes whose sealing failed for good, with how many valid entries they had then.
    seal_failed: std::cell::RefCell<std::collections::HashMap<EnvelopeId, usize>>,
    /// The names keys give themselves in each envelope (checked name cards:
    /// how a sender who is not a party is named).
    names: std::collections::HashMap<EnvelopeId, Vec<(PublicKey, String)>>,
    /// The email addresses parties gave for the final PDF (checked email
    /// cards), read with the names.
    emails: std::collections::HashMap<EnvelopeId, Vec<(PublicKey, String)>>,
    /// The other parties last written beside each document (see [`Repair`]).
    parties_kept: std::collections::HashMap<EnvelopeId, Vec<PublicKey>>,
    /// Documents found damaged at start, to fetch again from their parties.
    repairs: Vec<Repair>,
    /// The names colleagues give themselves in the company directory: how a
    /// key without a name card in an envelope is named.
    directory_names: Vec<(PublicKey, String)>,
}

/// An envelope whose document was found damaged at start: whom to fetch it
/// from again. Beside each document the node keeps its other parties and
/// their addresses (`<id>.parties`), so a party that lost its copy asks
/// them for it by envelope id, as the bound party it is (no invitation).
#[derive(Debug, Clone)]
pub struct Repair {
    /// The envelope.
    pub envelope: EnvelopeId,
    /// Its other parties, with where they were last reached.
    pub parties: Vec<(PublicKey, Vec<String>)>,
}

/// The file listing entry ids whose signatures this node verified (32 bytes
/// each): a cache that lets start-up skip re-verifying them. Losing it only
/// costs time.
const VERIFIED_FILE: &str = "verified.bin";

impl Envelopes {
    /// Opens the data dir's envelopes and blobs.
    pub fn open(data: DataDir) -> Result<Self, DataDirError> {
        let key = data.key()?;
        let profile: Profile = data.profile()?;
        let disk = DiskBlobs::new(data.path("blobs"))?;
        let mut party = Party::with_store(&profile.name, key, disk.clone());
        if let Some(authority) = crate::authority::load(&data)? {
            party.set_authority(authority);
        }
        let mut cache = fs::read(data.path(VERIFIED_FILE)).unwrap_or_default();
        if !cache.len().is_multiple_of(32) {
            // A write cut short by a crash: drop the torn record so later ones stay aligned.
            cache.truncate(cache.len() / 32 * 32);
            write_atomic(&data.path(VERIFIED_FILE), &cache, false)?;
        }
        let ids = cache.chunks_exact(32).filter_map(|c| <[u8; 32]>::try_from(c).ok().map(EntryId::from_bytes));
        party.trust_verified(ids);
        let docs = BTreeMap::new();
        let mut names = std::collections::HashMap::new();
        let mut emails = std::collections::HashMap::new();
        let mut repairs = Vec::new();
        let dir = data.path("envelopes");
        fs::create_dir_all(&dir).map_err(|source| DataDirError::Io { what: "cannot open", path: dir.display().to_string(), source })?;
        let listing =
            fs::read_dir(&dir).map_err(|source| DataDirError::Io { what: "cannot list", path: dir.display().to_string(), source })?;
        for file in listing.flatten() {
            let path = file.path();
            // A document set aside as damaged and not fetched again yet
            // (the node stopped first): its repair is still due.
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if let Some(id) = name.strip_suffix(".automerge.damaged").and_then(|s| s.parse::<EnvelopeId>().ok()) {
                if !dir.join(format!("{id}.automerge")).exists() {
                    repairs.push(Repair { envelope: id, parties: read_parties(&dir, id) });
                }
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<EnvelopeId>().ok()) else { continue };
            if path.extension().is_none_or(|e| e != "automerge") {
                continue;
            }
            let bytes =
                fs::read(&path).map_err(|source| DataDirError::Io { what: "cannot read", path: path.display().to_string(), source })?;
            match EnvelopeDoc::load(&bytes) {
                Ok(doc) if !doc.entries().is_empty() => {
                    party.insert(id, doc.entries());
                    // The cards of the entries' authors only (see `note_names`).
                    let mut authors: Vec<PublicKey> = doc.entries().iter().map(|e| e.entry().author).collect();
                    authors.sort();
                    authors.dedup();
                    emails.insert(id, doc.emails_of(authors.iter().copied()));
                    names.insert(id, doc.names_of(authors));
                }
                // One damaged file must not keep the node (and every other
                // envelope) from starting: it is set aside (for a person to
                // look at) and the document fetched again from the parties.
                damaged => {
                    let why = damaged.err().map_or_else(|| "it holds no entry".to_owned(), |e| e.to_string());
                    let aside = path.with_extension("automerge.damaged");
                    let _ = fs::rename(&path, &aside);
                    let parties = read_parties(&dir, id);
                    tracing::warn!(
                        "the document of envelope {} is damaged ({why}); kept as {}, fetching it again from {} part{}",
                        id.short(),
                        aside.display(),
                        parties.len(),
                        if parties.len() == 1 { "y" } else { "ies" }
                    );
                    repairs.push(Repair { envelope: id, parties });
                }
            }
        }
        Ok(Envelopes {
            data,
            party,
            docs,
            disk,
            settled: Default::default(),
            seal_failed: Default::default(),
            names,
            emails,
            parties_kept: Default::default(),
            repairs,
            directory_names: Vec::new(),
        })
    }

    /// This node's key.
    pub fn public_key(&self) -> PublicKey {
        self.party.public_key()
    }

    /// The party (acts and state).
    pub fn party(&self) -> &Party<DiskBlobs> {
        &self.party
    }

    /// The party, to act.
    pub fn party_mut(&mut self) -> &mut Party<DiskBlobs> {
        &mut self.party
    }

    /// The data dir.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// The blob store on disk.
    pub fn disk(&self) -> &DiskBlobs {
        &self.disk
    }

    /// Envelope ids held.
    pub fn ids(&self) -> Vec<EnvelopeId> {
        self.party.envelopes().collect()
    }

    /// The document of an envelope: loaded from disk on first use, created
    /// empty if new (a joiner's first sync).
    pub fn doc_mut(&mut self, envelope: EnvelopeId) -> &mut EnvelopeDoc {
        let path = self.doc_path(envelope);
        self.docs
            .entry(envelope)
            .or_insert_with(|| std::fs::read(&path).ok().and_then(|bytes| EnvelopeDoc::load(&bytes).ok()).unwrap_or_default())
    }

    /// Documents found damaged at start (each returned once).
    pub fn take_repairs(&mut self) -> Vec<Repair> {
        std::mem::take(&mut self.repairs)
    }

    /// Writes the envelope's other parties and their addresses beside its
    /// document when they changed (what a repair needs).
    fn keep_parties(&mut self, envelope: EnvelopeId) {
        let peers = self.peers_of(envelope);
        if peers.is_empty() || self.parties_kept.get(&envelope) == Some(&peers) {
            return;
        }
        let addresses = self.docs.get(&envelope).map(EnvelopeDoc::addresses).unwrap_or_default();
        let kept: Vec<(String, Vec<String>)> = peers
            .iter()
            .map(|key| (key.to_string(), addresses.iter().find(|(k, _)| k == key).map(|(_, a)| a.clone()).unwrap_or_default()))
            .collect();
        let path = self.data.path("envelopes").join(format!("{envelope}.parties"));
        let written = serde_json::to_vec(&kept)
            .map_err(|e| e.to_string())
            .and_then(|bytes| write_atomic(&path, &bytes, false).map_err(|e| e.to_string()));
        match written {
            Ok(()) => {
                self.parties_kept.insert(envelope, peers);
            }
            Err(e) => tracing::warn!("cannot keep the parties of envelope {}: {e}", envelope.short()),
        }
    }

    /// Reads the name cards of the envelope's creator and bound parties
    /// (only theirs: a party that wrote cards for a thousand keys of its own
    /// costs nothing).
    fn note_names(&mut self, envelope: EnvelopeId) {
        let Ok(state) = self.party.state_ref(envelope) else { return };
        let mut keys = vec![state.creator()];
        keys.extend((0..state.terms().parties.len()).filter_map(|s| Slot::try_from(s).ok()).filter_map(|s| state.binding(s)));
        if let Some(doc) = self.docs.get(&envelope) {
            self.emails.insert(envelope, doc.emails_of(keys.iter().copied()));
            self.names.insert(envelope, doc.names_of(keys));
        }
    }

    /// The names of keys in `envelope`: their own cards there first, then
    /// the company directory's.
    fn names_in(&self, envelope: EnvelopeId) -> Vec<(PublicKey, String)> {
        let cards = self.names.get(&envelope).map_or(&[][..], Vec::as_slice);
        let known = |key: &PublicKey| cards.iter().any(|(k, _)| k == key);
        cards.iter().cloned().chain(self.directory_names.iter().filter(|(key, _)| !known(key)).cloned()).collect()
    }

    /// The names the company directory gives colleagues' keys.
    pub fn set_directory_names(&mut self, names: Vec<(PublicKey, String)>) {
        self.directory_names = names;
    }

    /// Drops the in-memory copy of a document (it is reloaded from disk on next use).
    pub fn forget_doc(&mut self, envelope: EnvelopeId) {
        self.docs.remove(&envelope);
    }

    fn doc_path(&self, envelope: EnvelopeId) -> std::path::PathBuf {
        self.data.path("envelopes").join(format!("{envelope}.automerge"))
    }

    /// Writes this party's email card into the envelope's document (the
    /// sender's node emails the final PDF there) and saves it.
    pub fn set_my_email(&mut self, envelope: EnvelopeId, email: &str) -> Result<(), PartyError> {
        let (me, card) = (self.public_key(), self.party.email_card(email));
        let doc = self.doc_mut(envelope);
        doc.set_email(&me, email, &card).map_err(|e| DataDirError::Damaged(envelope.short(), e.to_string()))?;
        self.save(envelope)
    }

    /// Records entries made here into the envelope's document and saves it.
    pub fn record(&mut self, envelope: EnvelopeId, entries: &[RawEntry]) -> Result<(), PartyError> {
        let (me, (name, card)) = (self.public_key(), self.party.name_card());
        let doc = self.doc_mut(envelope);
        doc.set_name(&me, &name, &card).map_err(|e| DataDirError::Damaged(envelope.short(), e.to_string()))?;
        for entry in entries {
            doc.add_entry(entry).map_err(|e| DataDirError::Damaged(envelope.short(), e.to_string()))?;
        }
        self.party.insert(envelope, entries.iter().cloned());
        self.note_names(envelope);
        if let Err(e) = self.save(envelope) {
            // Not on disk, so not taken (nor sent to anyone): the act did not
            // happen, and the person is told why (a full disk, say).
            self.party.withdraw(envelope, entries.iter().map(RawEntry::id));
            self.forget_doc(envelope);
            return Err(e);
        }
        Ok(())
    }

    /// After a sync: takes the document's entries into the party; returns how many were new.
    pub fn absorb(&mut self, envelope: EnvelopeId) -> Result<usize, PartyError> {
        let Some(doc) = self.docs.get(&envelope) else { return Ok(0) };
        let added = self.party.insert(envelope, doc.entries());
        self.note_names(envelope);
        self.save(envelope)?;
        Ok(added)
    }

    /// What sealing this node's step of `envelope` needs, when it is due
    /// (see [`Party::seal_job`]). A missing blob is waited for; an error
    /// that the same entries would give again is reported once and not
    /// retried until the log changes.
    pub fn seal_job(&self, envelope: EnvelopeId) -> Option<SealJob<DiskBlobs>> {
        let entries = self.party.state_ref(envelope).map_or(0, |s| s.valid().len());
        if self.seal_failed.borrow().get(&envelope) == Some(&entries) {
            return None;
        }
        self.party.seal_job(envelope).unwrap_or_else(|e| self.sealing_failed(envelope, entries, &e))
    }

    /// Signs and stores the `Seal` of this node's step with `message` (from
    /// [`SealJob::message`]); true if it did.
    pub fn seal_with(&mut self, envelope: EnvelopeId, slot: Slot, message: Result<Vec<u8>, PartyError>) -> bool {
        let entries = self.party.state_ref(envelope).map_or(0, |s| s.valid().len());
        let sealed = message.and_then(|message| self.party.seal_with(envelope, slot, &message));
        match sealed {
            Ok(Some(seal)) => match self.record(envelope, std::slice::from_ref(&seal)) {
                Ok(()) => true,
                Err(e) => {
                    // Not stored, so not kept: the next change seals again.
                    self.party.discard(envelope, seal.id());
                    tracing::warn!("cannot save the PDF signature of envelope {}: {e}", envelope.short());
                    false
                }
            },
            Ok(None) => false,
            Err(e) => {
                self.sealing_failed::<()>(envelope, entries, &e);
                false
            }
        }
    }

    /// Notes why sealing failed: a blob still to come is waited for, anything
    /// else is reported once for these entries.
    fn sealing_failed<T>(&self, envelope: EnvelopeId, entries: usize, error: &PartyError) -> Option<T> {
        match error {
            PartyError::NotComplete(why) => tracing::debug!("envelope {}: not sealed yet: {why}", envelope.short()),
            e => {
                tracing::warn!("envelope {}: this node cannot make its PDF signature: {e}", envelope.short());
                self.seal_failed.borrow_mut().insert(envelope, entries);
            }
        }
        None
    }

    /// Saves an envelope's document atomically, and notes newly verified entries.
    pub fn save(&mut self, envelope: EnvelopeId) -> Result<(), PartyError> {
        let path = self.doc_path(envelope);
        if let Some(doc) = self.docs.get_mut(&envelope) {
            write_atomic(&path, &doc.save(), false)?;
        }
        self.keep_parties(envelope);
        self.persist_verified();
        Ok(())
    }

    /// Appends the ids verified since the last call to the cache file.
    pub fn persist_verified(&mut self) {
        let fresh = self.party.take_newly_verified();
        if fresh.is_empty() {
            return;
        }
        let path = self.data.path(VERIFIED_FILE);
        let bytes: Vec<u8> = fresh.iter().flat_map(|id| *id.as_bytes()).collect();
        let written =
            fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| std::io::Write::write_all(&mut f, &bytes));
        if let Err(e) = written {
            tracing::debug!("cannot extend the verification cache: {e}");
        }
    }

    /// Keeps the proof of the invitation this node joined with, so it can
    /// show it again (after a restart) until the others have its `Join`.
    pub fn keep_invite_proof(&self, envelope: EnvelopeId, (slot, proof): (u8, countersign_shared::Signature)) -> Result<(), DataDirError> {
        let mut bytes = vec![slot];
        bytes.extend_from_slice(proof.as_bytes());
        write_atomic(&self.data.path("envelopes").join(format!("{envelope}.invite-proof")), &bytes, true)
    }

    /// The proof kept by [`Envelopes::keep_invite_proof`].
    pub fn invite_proof(&self, envelope: EnvelopeId) -> Option<(u8, countersign_shared::Signature)> {
        let bytes = fs::read(self.data.path("envelopes").join(format!("{envelope}.invite-proof"))).ok()?;
        let signature: [u8; 64] = bytes.get(1..65)?.try_into().ok()?;
        Some((*bytes.first()?, countersign_shared::Signature::from_bytes(signature)))
    }

    /// The folded state, if the envelope's `Create` is here.
    pub fn state(&self, envelope: EnvelopeId) -> Option<EnvelopeState> {
        self.party.state(envelope).ok()
    }

    /// Keys of everyone who may see the envelope (creator and bound parties), not this node.
    pub fn peers_of(&self, envelope: EnvelopeId) -> Vec<PublicKey> {
        let Ok(state) = self.party.state_ref(envelope) else { return vec![] };
        let mut keys = vec![state.creator()];
        for slot in 0..state.terms().parties.len() {
            if let Some(key) = Slot::try_from(slot).ok().and_then(|s| state.binding(s))
                && !keys.contains(&key)
            {
                keys.push(key);
            }
        }
        keys.retain(|k| *k != self.public_key());
        keys
    }

    /// Blobs the envelope needs that are not here yet.
    pub fn missing_blobs(&self, envelope: EnvelopeId) -> Vec<Hash> {
        let Ok(state) = self.party.state_ref(envelope) else { return vec![] };
        // Settled until the log grows or a damaged blob is removed.
        let entries = (state.valid().len(), self.disk.removed());
        if self.settled.borrow().get(&envelope) == Some(&entries) {
            return vec![];
        }
        let missing: Vec<Hash> = self.party.needed_blobs(state).into_iter().filter(|h| !self.disk.has(h)).collect();
        if missing.is_empty() {
            self.settled.borrow_mut().insert(envelope, entries);
        }
        missing
    }

    /// The pipeline line `list` shows.
    pub fn list_item(&self, envelope: EnvelopeId) -> Option<ListItem> {
        let state = self.party.state_ref(envelope).ok()?;
        Some(view::list_item(state, self.public_key(), &self.names_in(envelope)))
    }

    /// The summary `status` and the document page show.
    pub fn summary(&self, envelope: EnvelopeId) -> Option<Summary> {
        let state = self.party.state_ref(envelope).ok()?;
        // Invitations matter only while the envelope waits on someone.
        let waiting = matches!(state.status(), countersign_shared::state::Status::Awaiting { .. });
        let open_invites = match waiting {
            true => self.kept_invites(envelope).into_iter().filter(|i| state.binding(i.slot).is_none()).collect(),
            false => Vec::new(),
        };
        let missing = self.missing_blobs(envelope).iter().map(Hash::short).collect();
        let mut summary = view::summary(state, self.public_key(), &self.names_in(envelope), open_invites, missing);
        if let Some(doc) = self.docs.get(&envelope) {
            let bound: Vec<(Slot, PublicKey)> = (0..state.terms().parties.len())
                .filter_map(|s| Slot::try_from(s).ok())
                .filter_map(|s| Some((s, state.binding(s)?)))
                .collect();
            let emails = doc.emails_of(bound.iter().map(|(_, key)| *key));
            summary.final_pdf_emails = bound
                .iter()
                .filter_map(|(slot, key)| emails.iter().find(|(k, _)| k == key).map(|(_, email)| (*slot, email.clone())))
                .collect();
        }
        Some(summary)
    }

    /// Keeps the invitation links this node made for an envelope (owner-only:
    /// each holds a one-time secret), so they can be shown and sent again.
    pub fn keep_invites(&self, envelope: EnvelopeId, invites: &[InviteOut]) -> Result<(), DataDirError> {
        let bytes = serde_json::to_vec(invites).map_err(|e| DataDirError::Damaged(envelope.short(), e.to_string()))?;
        write_atomic(&self.invites_path(envelope), &bytes, true)
    }

    /// The links kept by [`Envelopes::keep_invites`] (none on a node that did not create the envelope).
    pub fn kept_invites(&self, envelope: EnvelopeId) -> Vec<InviteOut> {
        fs::read(self.invites_path(envelope)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    fn invites_path(&self, envelope: EnvelopeId) -> std::path::PathBuf {
        self.data.path("envelopes").join(format!("{envelope}.invites.json"))
    }
}

/// The parties kept beside an envelope's document (see [`Repair`]).
fn read_parties(dir: &std::path::Path, envelope: EnvelopeId) -> Vec<(PublicKey, Vec<String>)> {
    let bytes = fs::read(dir.join(format!("{envelope}.parties"))).unwrap_or_default();
    let kept: Vec<(String, Vec<String>)> = serde_json::from_slice(&bytes).unwrap_or_default();
    kept.into_iter().filter_map(|(key, addresses)| Some((key.parse().ok()?, addresses))).collect()
}
