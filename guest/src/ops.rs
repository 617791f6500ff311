//! The operations the page calls, by number. Each takes byte strings
//! ([`crate::frames`]) and returns byte strings; the page keeps one session
//! (one envelope) at a time.

use std::cell::RefCell;

use countersign_shared::hash::EnvelopeId;
use countersign_shared::keys::{PublicKey, Signature};
use countersign_shared::model::{Contact, Slot};
use countersign_shared::pades::certificate;
use countersign_shared::state::{EnvelopeState, fold};

use crate::GuestError;
use crate::acts::{self, Filled};
use crate::files;
use crate::frames::{array, at, clock_at, text, u64_at};
use crate::session::Session;
use crate::summary;

/// Opens the envelope's document: `[actor (16 random bytes), saved document
/// or empty, 32 random bytes]` (the last seed [`crate::entropy`]).
pub const OPEN: u32 = 1;
/// A new connection to the node: `[]`.
pub const RECONNECTED: u32 = 2;
/// The next sync message for the node: `[]` → `[message]`, or `[]` when all is said.
pub const SYNC_OUT: u32 = 3;
/// The node's sync message: `[message]`.
pub const SYNC_IN: u32 = 4;
/// The document to keep: `[]` → `[bytes]`.
pub const SAVE: u32 = 5;
/// The page's view: `[envelope, my key]` → `[JSON]`.
pub const SUMMARY: u32 = 6;
/// Reads a link: `[link, asker key]` → `[inviter, invite key, lookup proof, envelope?, slot?, expiry?]`.
pub const OPEN_LINK: u32 = 7;
/// The invite proof of sync requests: `[link, envelope, slot, expiry, joiner]` → `[proof]`.
pub const INVITE_PROOF: u32 = 8;
/// A self-signed certificate to sign: `[key, name, contact, since]` → `[to sign]`.
pub const CERTIFICATE: u32 = 9;
/// The certificate with its signature: `[key, name, contact, since, signature]` → `[DER]`.
pub const CERTIFICATE_SIGNED: u32 = 10;
/// The `Join`: `[link, envelope, slot, expiry, me, now, certificate]` → `[body, to sign]`.
pub const JOIN: u32 = 11;
/// The `Sign`: `[envelope, me, now, (kind+index, value)*]` → `[body, to sign]`;
/// kind `t` (text) or `i` (image), index a big-endian `u16`.
pub const SIGN: u32 = 12;
/// The `Seal`: `[envelope, me, now, signature of the step]` → `[body, to sign]`.
pub const SEAL: u32 = 13;
/// The guest's step: `[envelope, me, source, image*]` → `[file, message]`.
pub const STEP: u32 = 14;
/// An entry with its signature, into the document if the rules take it:
/// `[envelope, body, signature]` → `[entry id]`.
pub const FINISH: u32 = 15;
/// The final PDF: `[envelope, source, image*]` → `[PDF, report JSON]`.
pub const FINAL: u32 = 16;
/// BLAKE3 of a blob: `[bytes]` → `[hash]`.
pub const HASH: u32 = 17;
/// The document as it stands, to show before signing: `[envelope, source,
/// image*]` → `[file]`. The source must be in the normal form nodes prepare.
pub const VIEW: u32 = 18;
/// What the guest's key signs to have the final PDF emailed: `[email]` → `[to sign]`.
pub const EMAIL: u32 = 19;
/// The signed email card, into the document: `[key, email, signature]`.
pub const SET_EMAIL: u32 = 20;
/// The `Decline`: `[envelope, me, now, reason]` → `[body, to sign]`.
pub const DECLINE: u32 = 21;

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Runs operation `op` on `input`.
pub fn run(op: u32, input: &[&[u8]]) -> Result<Vec<Vec<u8>>, GuestError> {
    if op == EMAIL {
        let email = text(input, 0, "email")?.trim();
        if !matches!(Contact::parse(email), Ok(Contact::Email(_))) {
            return Err(GuestError::new(format!("'{email}' is not an email address")));
        }
        return Ok(vec![countersign_shared::envelope_doc::email_message(email)]);
    }
    if op == HASH {
        return Ok(vec![countersign_shared::hash::Hash::of(at(input, 0, "bytes")?).as_bytes().to_vec()]);
    }
    if op == OPEN {
        if let Some(seed) = input.get(2) {
            crate::entropy::seed((*seed).try_into().map_err(|_| GuestError::new("the seed is 32 random bytes"))?);
        }
        let session = Session::open(at(input, 0, "actor")?, at(input, 1, "saved document")?)?;
        SESSION.with(|s| *s.borrow_mut() = Some(session));
        return Ok(Vec::new());
    }
    SESSION.with(|s| {
        let mut session = s.borrow_mut();
        let session = session.as_mut().ok_or_else(|| GuestError::new("no envelope is open"))?;
        run_in(session, op, input)
    })
}

fn run_in(session: &mut Session, op: u32, input: &[&[u8]]) -> Result<Vec<Vec<u8>>, GuestError> {
    let envelope = || -> Result<EnvelopeId, GuestError> { Ok(EnvelopeId::from_bytes(array(input, 0, "envelope")?)) };
    let state = |session: &Session| -> Result<EnvelopeState, GuestError> { Ok(fold(envelope()?, session.entries())?) };
    let key = |index: usize, what: &str| -> Result<PublicKey, GuestError> { Ok(PublicKey::from_bytes(array(input, index, what)?)) };
    Ok(match op {
        RECONNECTED => {
            session.reconnected();
            Vec::new()
        }
        SYNC_OUT => session.sync_message().into_iter().collect(),
        SYNC_IN => {
            session.receive_sync(at(input, 0, "sync message")?)?;
            Vec::new()
        }
        SAVE => vec![session.save()],
        SUMMARY => {
            let view = summary::summarize(envelope()?, session.entries(), &key(1, "key")?)?;
            vec![serde_json::to_vec(&view)?]
        }
        OPEN_LINK => {
            let opened = acts::open_link(text(input, 0, "link")?, &key(1, "key")?)?;
            let (envelope, slot, expires) = match opened.known {
                Some((envelope, slot, expires)) => (envelope.as_bytes().to_vec(), vec![slot], expires.to_be_bytes().to_vec()),
                None => (Vec::new(), Vec::new(), Vec::new()),
            };
            let head = [opened.inviter.as_bytes().to_vec(), opened.invite_key.as_bytes().to_vec(), opened.lookup_proof.as_bytes().to_vec()];
            head.into_iter().chain([envelope, slot, expires]).collect()
        }
        INVITE_PROOF => {
            let invitation = invitation_of(input, 0)?;
            vec![acts::invite_proof(&invitation, &key(4, "joiner")?).as_bytes().to_vec()]
        }
        CERTIFICATE | CERTIFICATE_SIGNED => {
            let contact = Contact::parse(text(input, 2, "contact")?).map_err(GuestError::new)?;
            let unsigned = certificate::self_signed(&key(0, "key")?, text(input, 1, "name")?, &contact, u64_at(input, 3, "time")?)?;
            if op == CERTIFICATE {
                vec![unsigned.to_sign()?]
            } else {
                vec![unsigned.signed(&Signature::from_bytes(array(input, 4, "signature")?))?]
            }
        }
        JOIN => {
            let invitation = invitation_of(input, 0)?;
            let state = fold(invitation.envelope, session.entries())?;
            let unsigned = acts::join(&state, &invitation, &key(4, "key")?, clock_at(input, 5)?, at(input, 6, "certificate")?.to_vec())?;
            vec![unsigned.body, unsigned.to_sign]
        }
        SIGN => {
            let unsigned = acts::sign(&state(session)?, &key(1, "key")?, clock_at(input, 2)?, &filled(&input[3.min(input.len())..])?)?;
            vec![unsigned.body, unsigned.to_sign]
        }
        DECLINE => {
            let unsigned = acts::decline(&state(session)?, &key(1, "key")?, clock_at(input, 2)?, text(input, 3, "reason")?)?;
            vec![unsigned.body, unsigned.to_sign]
        }
        SEAL => {
            let value = Signature::from_bytes(array(input, 3, "signature")?);
            let unsigned = acts::seal(&state(session)?, &key(1, "key")?, clock_at(input, 2)?, value)?;
            vec![unsigned.body, unsigned.to_sign]
        }
        STEP => {
            let state = state(session)?;
            let me = key(1, "key")?;
            let slot = (0..Slot::try_from(state.terms().parties.len()).unwrap_or(Slot::MAX))
                .find(|slot| state.binding(*slot) == Some(me))
                .ok_or_else(|| GuestError::new("join the envelope first"))?;
            let blobs = files::blobs(input.iter().skip(3).copied())?;
            let step = files::step(at(input, 2, "document")?, &state, &blobs, slot)?;
            vec![step.file, step.message]
        }
        FINISH => {
            let entry = acts::finish(envelope()?, session.entries(), at(input, 1, "entry")?, at(input, 2, "signature")?)?;
            session.add_entry(&entry)?;
            vec![entry.id().to_string().into_bytes()]
        }
        SET_EMAIL => {
            let signature = Signature::from_bytes(array(input, 2, "signature")?);
            session.set_email(&key(0, "key")?, text(input, 1, "email")?.trim(), &signature)?;
            Vec::new()
        }
        VIEW => {
            let blobs = files::blobs(input.iter().skip(2).copied())?;
            vec![files::view(at(input, 1, "document")?, &state(session)?, &blobs)?]
        }
        FINAL => {
            let blobs = files::blobs(input.iter().skip(2).copied())?;
            let (pdf, report) = files::final_pdf(at(input, 1, "document")?, &state(session)?, &blobs)?;
            vec![pdf, serde_json::to_vec(&report)?]
        }
        op => return Err(GuestError::new(format!("no operation {op}"))),
    })
}

/// The invitation of `[link, envelope, slot, expiry]` from `first` on.
fn invitation_of(input: &[&[u8]], first: usize) -> Result<countersign_shared::invite::Invitation, GuestError> {
    let envelope = EnvelopeId::from_bytes(array(input, first + 1, "envelope")?);
    let [slot] = array::<1>(input, first + 2, "slot")?;
    acts::invitation(text(input, first, "link")?, envelope, slot, u64_at(input, first + 3, "expiry")?)
}

/// The values of a `SIGN` call.
fn filled(pairs: &[&[u8]]) -> Result<Filled, GuestError> {
    let mut filled = Filled::default();
    for pair in pairs.chunks(2) {
        let [head, value] = pair else { return Err(GuestError::new("a value without its field")) };
        let [kind, high, low] = <[u8; 3]>::try_from(*head).map_err(|_| GuestError::new("a field is named by a kind and an index"))?;
        let index = u16::from_be_bytes([high, low]);
        match kind {
            b't' => filled.texts.push((index, String::from_utf8(value.to_vec()).map_err(|_| GuestError::new("a text value is not text"))?)),
            b'i' => filled.images.push((index, value.to_vec())),
            _ => return Err(GuestError::new("a value's kind is t (text) or i (image)")),
        }
    }
    Ok(filled)
}
