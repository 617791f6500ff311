//! Invitation links.
//!
//! People get `https://<verifier>/join#<payload>`: a link every phone and
//! browser opens. The verifier's join page hands the payload to the installed
//! app (`countersign://join/<payload>`) or to the signer in the browser; the
//! part after `#` never reaches the verifier's server.
//!
//! The payload is base64url without padding over a versioned canonical
//! encoding, in one of two forms:
//!
//! ```text
//! full:  version:u8 (=3) envelope:32 slot:u8 secret:16 expires_at:u64
//!        inviter:32 addresses:u32 (text)*
//! short: version:u8 (=2) secret:16 inviter:32
//! ```
//!
//! The secret is 16 random bytes (128 bits: a one-time secret that expires);
//! its signing key is derived from it ([`InviteSecret::signing_key`]). Version
//! 1 carried a 32-byte key seed; it is no longer read.
//!
//! The full form carries everything a node needs to reach the inviter and
//! join. The short form, for text messages, carries only the secret and the
//! inviter's key (a link of about 100 characters, so that a text message
//! keeps room for who sends what): the joiner reaches the
//! inviter through a relay or the local network and asks it which envelope
//! and slot the secret opens ([`lookup_message`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::EnvelopeId;
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::log::join_message;
use crate::model::{Slot, len_u32};

/// The scheme and path of a link handed to the installed app.
pub const LINK_PREFIX: &str = "countersign://join/";
/// What follows the verifier's address in a web link, before the payload.
pub const WEB_PATH: &str = "/join#";
const INVITE_VERSION: u8 = 3;
const SHORT_VERSION: u8 = 2;
const LOOKUP_DOMAIN: &[u8] = b"countersign/lookup/1\0";
const SECRET_KEY_CONTEXT: &str = "countersign 2026-12-01 invite secret to signing key";

/// A one-time invite secret. Whoever holds it may join the slot it opens.
/// `Debug` hides it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InviteSecret(pub [u8; 16]);

impl InviteSecret {
    /// The key that proves the secret; its public half is in the `Invite` entry.
    pub fn signing_key(&self) -> SecretKey {
        SecretKey::from_seed(blake3::derive_key(SECRET_KEY_CONTEXT, &self.0))
    }
}

impl fmt::Debug for InviteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteSecret(redacted)")
    }
}
const MAX_ADDRESSES: usize = 16;
const MAX_ADDRESS_LEN: usize = 256;
const MAX_PAYLOAD_CHARS: usize = 8 * 1024;

/// Everything an invitation carries. `Debug` hides the secret.
#[derive(Clone, PartialEq)]
pub struct Invitation {
    /// The envelope to join.
    pub envelope: EnvelopeId,
    /// The party slot offered.
    pub slot: Slot,
    /// The one-time invite secret; its key's public half is in the `Invite` entry.
    pub secret: InviteSecret,
    /// Unix time (ms) when it stops working.
    pub expires_at: u64,
    /// The inviting node's key (its libp2p peer id).
    pub inviter: PublicKey,
    /// Multiaddresses where the inviter can be reached, direct and relayed.
    pub addresses: Vec<String>,
}

impl Invitation {
    /// The public half of the invite secret, as the `Invite` entry holds it.
    pub fn invite_key(&self) -> PublicKey {
        self.secret.signing_key().public()
    }

    /// The proof a `Join` by `joiner` carries.
    pub fn prove(&self, joiner: &PublicKey) -> Signature {
        self.secret.signing_key().sign(&join_message(&self.envelope, self.slot, joiner))
    }

    /// The `countersign://join/...` link, for the installed app.
    pub fn to_link(&self) -> String {
        format!("{LINK_PREFIX}{}", self.payload())
    }

    /// The link people get: the verifier's join page with the payload after `#`.
    pub fn to_web_link(&self, verifier: &str) -> String {
        web_link(verifier, &self.payload())
    }

    /// The same invitation in the short form, for text messages.
    pub fn short(&self) -> ShortInvitation {
        ShortInvitation { secret: self.secret, inviter: self.inviter }
    }

    /// The payload alone (for the web form's fragment).
    pub fn payload(&self) -> String {
        let mut w = Writer::new();
        w.u8(INVITE_VERSION).fixed(self.envelope.as_bytes()).u8(self.slot).fixed(&self.secret.0);
        w.u64(self.expires_at).fixed(self.inviter.as_bytes()).u32(len_u32(self.addresses.len()));
        for address in &self.addresses {
            w.str(address);
        }
        URL_SAFE_NO_PAD.encode(w.finish())
    }

    /// Reads a full-form link as a person pastes it: the `countersign://join/`
    /// link, a web link with the payload after `#`, or the bare payload.
    pub fn parse(text: &str) -> Result<Self, DecodeError> {
        match InvitationLink::parse(text)? {
            InvitationLink::Full(invitation) => Ok(invitation),
            InvitationLink::Short(_) => {
                Err(DecodeError::Invalid("this is a short invitation link; the inviter's node tells which document it opens".into()))
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let envelope = EnvelopeId::from_bytes(r.array("envelope id")?);
        let slot = r.u8("slot")?;
        let secret = InviteSecret(r.array("invite secret")?);
        let expires_at = r.u64("expiry")?;
        let inviter = PublicKey::from_bytes(r.array("inviter")?);
        let mut addresses = Vec::new();
        for _ in 0..r.count(MAX_ADDRESSES, "addresses")? {
            addresses.push(r.str(MAX_ADDRESS_LEN, "address")?.to_owned());
        }
        Ok(Invitation { envelope, slot, secret, expires_at, inviter, addresses })
    }
}

/// The short form of an invitation: the secret and whom to ask. The inviter's
/// node answers which envelope and slot it opens, to whoever proves the
/// secret ([`ShortInvitation::lookup_proof`]).
#[derive(Clone, PartialEq)]
pub struct ShortInvitation {
    /// The one-time invite secret.
    pub secret: InviteSecret,
    /// The inviting node's key (its libp2p peer id).
    pub inviter: PublicKey,
}

impl ShortInvitation {
    /// The public half of the invite secret, as the `Invite` entry holds it.
    pub fn invite_key(&self) -> PublicKey {
        self.secret.signing_key().public()
    }

    /// The proof that `asker` holds the secret, sent with a lookup.
    pub fn lookup_proof(&self, asker: &PublicKey) -> Signature {
        self.secret.signing_key().sign(&lookup_message(&self.invite_key(), asker))
    }

    /// The payload alone.
    pub fn payload(&self) -> String {
        let mut w = Writer::new();
        w.u8(SHORT_VERSION).fixed(&self.secret.0).fixed(self.inviter.as_bytes());
        URL_SAFE_NO_PAD.encode(w.finish())
    }

    /// The link for a text message: the verifier's join page, the payload after `#`.
    pub fn to_web_link(&self, verifier: &str) -> String {
        web_link(verifier, &self.payload())
    }

    /// The full invitation, once the inviter has said what the secret opens.
    /// The short form carries no addresses: the joiner's node finds the
    /// inviter through its relay or the local network.
    pub fn complete(&self, envelope: EnvelopeId, slot: Slot, expires_at: u64) -> Invitation {
        Invitation { envelope, slot, secret: self.secret, expires_at, inviter: self.inviter, addresses: Vec::new() }
    }
}

impl fmt::Debug for ShortInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShortInvitation").field("secret", &"redacted").field("inviter", &self.inviter).finish()
    }
}

/// An invitation link in either form.
#[derive(Debug, Clone, PartialEq)]
pub enum InvitationLink {
    /// Everything needed to join.
    Full(Invitation),
    /// The secret and the inviter; the rest is asked of the inviter.
    Short(ShortInvitation),
}

impl InvitationLink {
    /// Reads a link as a person pastes it: a web link with the payload after
    /// `#`, the `countersign://join/` link, or the bare payload.
    pub fn parse(text: &str) -> Result<Self, DecodeError> {
        let text = text.trim();
        let payload = text.strip_prefix(LINK_PREFIX).or_else(|| text.split_once('#').map(|(_, fragment)| fragment)).unwrap_or(text);
        if payload.len() > MAX_PAYLOAD_CHARS {
            return Err(DecodeError::TooLong { what: "invitation", len: payload.len(), max: MAX_PAYLOAD_CHARS });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| DecodeError::Invalid("this is not a Countersign invitation link (it is damaged or incomplete)".into()))?;
        let mut r = Reader::new(&bytes);
        let link = match r.u8("invitation")? {
            INVITE_VERSION => InvitationLink::Full(Invitation::read(&mut r)?),
            SHORT_VERSION => {
                let secret = InviteSecret(r.array("invite secret")?);
                let inviter = PublicKey::from_bytes(r.array("inviter")?);
                InvitationLink::Short(ShortInvitation { secret, inviter })
            }
            version => return Err(DecodeError::UnknownVersion { what: "invitation", version }),
        };
        r.finish()?;
        Ok(link)
    }

    /// Whom to ask.
    pub fn inviter(&self) -> PublicKey {
        match self {
            InvitationLink::Full(invitation) => invitation.inviter,
            InvitationLink::Short(short) => short.inviter,
        }
    }
}

/// What the invite secret signs to ask the inviter which envelope and slot it
/// opens: the invite key and the asker's key, so a proof seen by one peer
/// cannot be replayed by another.
pub fn lookup_message(invite_key: &PublicKey, asker: &PublicKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(LOOKUP_DOMAIN).fixed(invite_key.as_bytes()).fixed(asker.as_bytes());
    w.finish()
}

fn web_link(verifier: &str, payload: &str) -> String {
    format!("{}{WEB_PATH}{payload}", verifier.trim_end_matches('/'))
}

impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation")
            .field("envelope", &self.envelope)
            .field("slot", &self.slot)
            .field("secret", &"redacted")
            .field("expires_at", &self.expires_at)
            .field("inviter", &self.inviter)
            .field("addresses", &self.addresses)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation() -> Invitation {
        Invitation {
            envelope: EnvelopeId::from_bytes([5; 32]),
            slot: 1,
            secret: InviteSecret([6; 16]),
            expires_at: 1_800_000_000_000,
            inviter: SecretKey::from_seed([7; 32]).public(),
            addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
        }
    }

    #[test]
    fn link_round_trips_in_every_form_a_person_pastes() -> Result<(), DecodeError> {
        let invite = invitation();
        let link = invite.to_link();
        assert!(link.starts_with("countersign://join/"));
        assert_eq!(Invitation::parse(&link)?, invite);
        assert_eq!(Invitation::parse(&format!(" https://verify.example/join#{} ", invite.payload()))?, invite);
        assert_eq!(Invitation::parse(&invite.payload())?, invite);
        Ok(())
    }

    #[test]
    fn web_links_open_the_verifier_join_page_and_the_short_one_fits_a_text() -> Result<(), DecodeError> {
        let invite = invitation();
        let web = invite.to_web_link("https://verify.countersign.app/");
        assert_eq!(web, format!("https://verify.countersign.app/join#{}", invite.payload()));
        assert_eq!(Invitation::parse(&web)?, invite);
        let short = invite.short().to_web_link("https://verify.countersign.app");
        assert!(short.len() <= 102, "{} characters: {short}", short.len());
        let InvitationLink::Short(parsed) = InvitationLink::parse(&short)? else { panic!("not read as short: {short}") };
        assert_eq!(parsed, invite.short());
        assert_eq!(parsed.invite_key(), invite.invite_key());
        assert!(Invitation::parse(&short).is_err(), "a short link is not a full invitation");
        let completed = parsed.complete(invite.envelope, invite.slot, invite.expires_at);
        assert_eq!(completed.prove(&invite.inviter), invite.prove(&invite.inviter));
        Ok(())
    }

    #[test]
    fn a_lookup_proof_holds_only_for_the_asker_it_names() {
        let short = invitation().short();
        let asker = SecretKey::from_seed([8; 32]).public();
        let other = SecretKey::from_seed([9; 32]).public();
        let proof = short.lookup_proof(&asker);
        assert!(short.invite_key().verify(&lookup_message(&short.invite_key(), &asker), &proof).is_ok());
        assert!(short.invite_key().verify(&lookup_message(&short.invite_key(), &other), &proof).is_err());
    }

    #[test]
    fn damaged_links_get_clear_errors() {
        let link = invitation().to_link();
        assert!(Invitation::parse(&link[..link.len() - 10]).is_err());
        assert!(Invitation::parse("countersign://join/!!!").is_err());
        assert!(Invitation::parse(&format!("{link}AA")).is_err());
        let short = invitation().short().payload();
        assert!(InvitationLink::parse(&short[..short.len() - 3]).is_err());
        assert!(InvitationLink::parse(&format!("{short}AA")).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", invitation()).contains("[6, 6"));
        assert!(!format!("{:?}", invitation().short()).contains("[6, 6"));
    }
}
