//! Invitation links: `countersign://join/<payload>`.
//!
//! The payload carries what a new party's node needs to join: the envelope,
//! the party slot, the one-time invite secret, when it expires, and how to
//! reach the inviter (peer id and addresses). It is base64url without padding
//! over a versioned canonical encoding:
//!
//! ```text
//! version:u8 (=1) envelope:32 slot:u8 secret:32 expires_at:u64
//! inviter:32 addresses:u32 (text)*
//! ```
//!
//! The same payload can sit behind `#` on the verifier's web host
//! (`https://verifier/join#<payload>`), so a phone that has no node yet opens a
//! page, and the fragment never reaches the server.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::EnvelopeId;
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::log::join_message;
use crate::model::{Slot, len_u32};

/// The scheme and path every invite link starts with.
pub const LINK_PREFIX: &str = "countersign://join/";
const INVITE_VERSION: u8 = 1;
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
    /// The one-time invite secret; its public half is in the `Invite` entry.
    pub secret: [u8; 32],
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
        SecretKey::from_seed(self.secret).public()
    }

    /// The proof a `Join` by `joiner` carries.
    pub fn prove(&self, joiner: &PublicKey) -> Signature {
        SecretKey::from_seed(self.secret).sign(&join_message(&self.envelope, self.slot, joiner))
    }

    /// The `countersign://join/...` link.
    pub fn to_link(&self) -> String {
        format!("{LINK_PREFIX}{}", self.payload())
    }

    /// The payload alone (for the web form's fragment).
    pub fn payload(&self) -> String {
        let mut w = Writer::new();
        w.u8(INVITE_VERSION).fixed(self.envelope.as_bytes()).u8(self.slot).fixed(&self.secret);
        w.u64(self.expires_at).fixed(self.inviter.as_bytes()).u32(len_u32(self.addresses.len()));
        for address in &self.addresses {
            w.str(address);
        }
        URL_SAFE_NO_PAD.encode(w.finish())
    }

    /// Reads a link as a person pastes it: the `countersign://join/` link, a web
    /// link with the payload after `#`, or the bare payload.
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
        let version = r.u8("invitation")?;
        if version != INVITE_VERSION {
            return Err(DecodeError::UnknownVersion { what: "invitation", version });
        }
        let envelope = EnvelopeId::from_bytes(r.array("envelope id")?);
        let slot = r.u8("slot")?;
        let secret = r.array("invite secret")?;
        let expires_at = r.u64("expiry")?;
        let inviter = PublicKey::from_bytes(r.array("inviter")?);
        let mut addresses = Vec::new();
        for _ in 0..r.count(MAX_ADDRESSES, "addresses")? {
            addresses.push(r.str(MAX_ADDRESS_LEN, "address")?.to_owned());
        }
        r.finish()?;
        Ok(Invitation { envelope, slot, secret, expires_at, inviter, addresses })
    }
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
            secret: [6; 32],
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
    fn damaged_links_get_clear_errors() {
        let link = invitation().to_link();
        assert!(Invitation::parse(&link[..link.len() - 10]).is_err());
        assert!(Invitation::parse("countersign://join/!!!").is_err());
        assert!(Invitation::parse(&format!("{link}AA")).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", invitation()).contains("[6, 6"));
    }
}
