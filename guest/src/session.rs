//! The envelope's document on the guest's side, and its sync with the node
//! the guest talks to (one peer at a time: the inviter's node).

use automerge::sync;
use countersign_shared::envelope_doc::EnvelopeDoc;
use countersign_shared::log::RawEntry;

use crate::GuestError;

/// The guest's copy of one envelope's document.
#[derive(Debug)]
pub struct Session {
    doc: EnvelopeDoc,
    peer: sync::State,
}

impl Session {
    /// Opens the document kept from an earlier visit (`saved`, empty for a
    /// first visit); the guest's changes are made as `actor`.
    pub fn open(actor: &[u8], saved: &[u8]) -> Result<Self, GuestError> {
        if actor.len() != 16 {
            return Err(GuestError::new("an actor id is 16 random bytes"));
        }
        // Every value read back is checked (`EnvelopeDoc::entries`), so a
        // saved copy changed in the browser's storage can add nothing false.
        let doc = if saved.is_empty() { EnvelopeDoc::with_actor(actor) } else { EnvelopeDoc::load_with_actor(saved, actor)? };
        Ok(Session { doc, peer: sync::State::new() })
    }

    /// A new connection to the node: sync starts over.
    pub fn reconnected(&mut self) {
        self.peer = sync::State::new();
    }

    /// The next sync message for the node, if there is something to say.
    pub fn sync_message(&mut self) -> Option<Vec<u8>> {
        self.doc.sync_message(&mut self.peer)
    }

    /// Applies the node's sync message.
    pub fn receive_sync(&mut self, message: &[u8]) -> Result<(), GuestError> {
        Ok(self.doc.receive_sync(&mut self.peer, message)?)
    }

    /// Adds one of the guest's own entries.
    pub fn add_entry(&mut self, entry: &RawEntry) -> Result<(), GuestError> {
        Ok(self.doc.add_entry(entry)?)
    }

    /// Asks the sender's node to email the final PDF to `email`: the card,
    /// signed by the guest's key, goes with the document.
    pub fn set_email(
        &mut self,
        key: &countersign_shared::keys::PublicKey,
        email: &str,
        signature: &countersign_shared::keys::Signature,
    ) -> Result<(), GuestError> {
        use countersign_shared::envelope_doc::email_message;
        key.verify(&email_message(email), signature).map_err(|_| GuestError::new("the email card's signature does not verify"))?;
        Ok(self.doc.set_email(key, email, signature)?)
    }

    /// Every entry whose bytes match their key.
    pub fn entries(&self) -> Vec<RawEntry> {
        self.doc.entries()
    }

    /// The whole document, to keep for the next visit.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }
}
