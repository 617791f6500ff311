//! What a node is asked to do, and the shapes of its answers: the types of
//! [`crate::handle::NodeHandle`]'s methods.

use countersign_shared::hash::Hash;
use countersign_shared::model::{Contact, Field, FieldKind, Party, Rect, Role};
use serde::{Deserialize, Serialize};

use crate::NodeError;
pub use crate::envelopes::InviteOut;

/// About this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its party key (hex).
    pub key: String,
    /// Its key's fingerprint.
    pub fingerprint: String,
    /// The person's name.
    pub name: String,
    /// Their email or phone, if they gave one.
    #[serde(default)]
    pub contact: Option<String>,
    /// Where it listens.
    pub addresses: Vec<String>,
    /// Set when the other parties' acts are dated ahead of this computer's
    /// clock: it is probably behind (acts dated by it may be refused).
    #[serde(default)]
    pub clock_warning: Option<String>,
}

/// A party as the sender describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartyInput {
    /// Name.
    pub name: String,
    /// `company_signer`, `client` or `viewer`.
    pub role: Role,
    /// Email or phone.
    pub contact: String,
    /// Signing order; defaults to 1 for company signers, 2 for clients.
    pub order: Option<u8>,
    /// Whether a stamp is required (default: company signers yes, clients no).
    pub stamp_required: Option<bool>,
}

/// A field as the sender (or a fields.json file) describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldInput {
    /// Label, unique in the envelope.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Page, from 1.
    pub page: u32,
    /// Where on the page (`x`, `y`, `width`, `height` in points, beside the other keys).
    #[serde(flatten)]
    pub rect: Rect,
    /// The party's name (or its position in the party list, from 1).
    pub party: String,
    /// Whether it must be filled (default true).
    pub required: Option<bool>,
}

impl PartyInput {
    /// The party as the terms hold it: its contact read, order and stamp defaulted.
    pub fn to_party(&self) -> Result<Party, NodeError> {
        let contact = Contact::parse(&self.contact).map_err(|e| NodeError::invalid(format!("{}: {e}", self.name)))?;
        let order = self.order.unwrap_or(if self.role == Role::Client { 2 } else { 1 });
        let stamp_required = self.stamp_required.unwrap_or(false);
        Ok(Party { name: self.name.trim().to_owned(), role: self.role, contact, order, stamp_required })
    }
}

impl FieldInput {
    /// The field, with the assignee resolved against `parties`.
    pub fn to_field(&self, parties: &[PartyInput]) -> Result<Field, NodeError> {
        let by_name = parties.iter().position(|p| p.name == self.party);
        let by_position = self.party.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).filter(|n| *n < parties.len());
        if let (Some(named), Some(numbered)) = (by_name, by_position)
            && named != numbered
        {
            return Err(NodeError::invalid(format!(
                "field '{}' is for '{}', which is both a party's name and another party's place in the list: name the party",
                self.label, self.party
            )));
        }
        let assignee = by_name
            .or(by_position)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| NodeError::invalid(format!("field '{}' is for '{}', who is not a party", self.label, self.party)))?;
        Ok(Field {
            label: self.label.clone(),
            kind: self.kind,
            page: self.page,
            rect: self.rect,
            assignee,
            required: self.required.unwrap_or(true),
        })
    }
}

/// `send`: a new envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateRequest {
    /// Title.
    pub title: String,
    /// The PDF, uploaded as a blob first.
    pub document: Hash,
    /// Parties.
    pub parties: Vec<PartyInput>,
    /// Fields; default: a signature block per party on the last page.
    pub fields: Option<Vec<FieldInput>>,
    /// The verifier's base address for the certificate's QR code.
    pub verifier_url: Option<String>,
    /// Parties invited by phone must also give a one-time code texted to them.
    #[serde(default)]
    pub confirm_by_code: bool,
    /// Every party is sent their invitation at once, to read the document
    /// before their turn (by default each is invited when their turn comes).
    #[serde(default)]
    pub invite_all_now: bool,
    /// Default fields the node placed itself (never from the API): they win over `fields`.
    #[serde(skip)]
    pub placed: Option<Vec<Field>>,
}

/// What the settings page shows: the settings, the channels (their
/// secrets only as "saved"), and the company's CA.
#[derive(Debug, Clone)]
pub struct SettingsView {
    /// The node's settings.
    pub settings: crate::settings::Settings,
    /// Email over SMTP, if set up.
    pub email: Option<crate::notify::config::EmailConfig>,
    /// The SMS gateway, if set up.
    pub sms: Option<crate::notify::config::SmsConfig>,
    /// Whether an SMTP password is set (here or in the environment).
    pub smtp_password_saved: bool,
    /// Whether the gateway's key is set (here or in the environment).
    pub sms_auth_saved: bool,
    /// The company's CA on this node.
    pub authority: Option<AuthorityView>,
}

/// The company directory, as the team page shows it.
#[derive(Debug, Clone)]
pub struct TeamView {
    /// This node's own card.
    pub me: crate::directory::Member,
    /// The colleagues.
    pub members: Vec<crate::directory::Member>,
}

/// The company's CA, as people check it.
#[derive(Debug, Clone)]
pub struct AuthorityView {
    /// Its name (the organization).
    pub name: String,
    /// Its certificate's SHA-256 fingerprint.
    pub fingerprint: String,
}

/// `send`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    /// The envelope id.
    pub envelope: String,
    /// An invitation per party.
    pub invites: Vec<InviteOut>,
}

/// `sign`: what the signer fills in. Images are blob hashes uploaded first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SignRequest {
    /// Image for every signature field of the signer.
    pub signature: Option<Hash>,
    /// Image for every stamp field of the signer.
    pub stamp: Option<Hash>,
    /// Text values by field label.
    pub texts: Vec<(String, String)>,
}

/// A blob arriving from a peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transfer {
    /// The envelope it belongs to.
    pub envelope: String,
    /// The blob.
    pub hash: String,
    /// Bytes held so far.
    pub received: u64,
    /// Its size, once known.
    pub total: Option<u64>,
    /// Why it stopped, when this node cannot store it (a full disk); it
    /// resumes by itself.
    #[serde(default)]
    pub problem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str) -> PartyInput {
        PartyInput { name: name.into(), role: Role::CompanySigner, contact: "a@b.test".into(), order: None, stamp_required: None }
    }

    #[test]
    fn a_field_names_its_party_by_name_or_place_but_never_ambiguously() {
        let field = |party: &str| FieldInput {
            label: "Signature".into(),
            kind: FieldKind::Signature,
            page: 1,
            rect: Rect { x: 10.0, y: 10.0, width: 100.0, height: 40.0 },
            party: party.into(),
            required: None,
        };
        let parties = [party("Dmitri"), party("Carl")];
        assert_eq!(field("Carl").to_field(&parties).unwrap().assignee, 1);
        assert_eq!(field("2").to_field(&parties).unwrap().assignee, 1);
        assert!(field("Anna").to_field(&parties).is_err());
        // A party called "2" at the first place: "2" could mean either.
        let parties = [party("2"), party("Carl")];
        assert!(field("2").to_field(&parties).unwrap_err().to_string().contains("name the party"));
    }
}
