//! What a person sees of an envelope: the pipeline's line ([`ListItem`]) and
//! the document page's summary ([`Summary`]), both folded from the state.

use crate::clock;
use countersign_shared::keys::PublicKey;
use countersign_shared::log::{Act, Value};
use countersign_shared::model::{Contact, FieldKind, Role, Slot};
use countersign_shared::state::{EnvelopeState, Status};
use serde::{Deserialize, Serialize};

/// One invitation made by `send`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteOut {
    /// The party's slot.
    pub slot: u8,
    /// Their name.
    pub name: String,
    /// Their contact.
    pub contact: String,
    /// The link (holds the one-time secret: hand it only to that person).
    pub link: String,
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// "Please sign": the invitation link.
    Invitation,
    /// "Still waiting for you".
    Reminder,
    /// The final PDF.
    Completion,
    /// Someone declined.
    Declined,
    /// The sender withdrew the envelope.
    Voided,
    /// A one-time code confirming a phone number.
    Code,
    /// "Your turn to sign", to a party who already holds the document.
    YourTurn,
    /// The settings page's test message.
    Test,
}

impl MessageKind {
    /// What the message is, in a person's words.
    pub fn describe(self) -> &'static str {
        match self {
            MessageKind::Invitation => "Invitation",
            MessageKind::Reminder => "Reminder",
            MessageKind::Completion => "Final PDF",
            MessageKind::Declined => "Decline notice",
            MessageKind::Voided => "Withdrawal notice",
            MessageKind::Code => "Confirmation code",
            MessageKind::YourTurn => "\"Your turn\" notice",
            MessageKind::Test => "Test message",
        }
    }
}

/// A message this node cannot send itself (no email or SMS settings): its
/// person sends it by hand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToForward {
    /// The message's id (to mark it sent).
    pub id: String,
    /// The envelope it is about.
    pub envelope: String,
    /// What it is.
    pub kind: MessageKind,
    /// Email address or phone number.
    pub to: String,
    /// Their name.
    pub to_name: String,
    /// The email's subject.
    pub subject: String,
    /// The email's text, or the SMS.
    pub text: String,
    /// An email (else a text message).
    pub by_email: bool,
}

/// A message not delivered yet, as the pipeline and `status` show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Undelivered {
    /// What it is.
    pub kind: MessageKind,
    /// To whom.
    pub to: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last one failed.
    pub last_error: Option<String>,
    /// Refused for good: not retried (fix the address and send again).
    #[serde(default)]
    pub gave_up: bool,
}

/// One party's line in a summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartySummary {
    /// Slot.
    pub slot: Slot,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Contact.
    pub contact: Contact,
    /// Signing order.
    pub order: u8,
    /// Whether they joined.
    pub joined: bool,
    /// Their key's fingerprint, once joined.
    pub fingerprint: Option<String>,
    /// When they signed (claimed), if they did.
    pub signed_at: Option<String>,
    /// Whether it is this node's party.
    pub is_me: bool,
}

/// One field of the document, where it is and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldSummary {
    /// Index in the terms (what a `Sign` names).
    pub index: u16,
    /// Label.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Page, from 1.
    pub page: u32,
    /// Left, bottom, width, height in points, as the page is seen.
    pub rect: [f32; 4],
    /// The party who fills it.
    pub assignee: Slot,
    /// Whether it must be filled.
    pub required: bool,
    /// Whether this node's party fills it.
    pub mine: bool,
    /// The text given, or `image` once an image was given.
    pub value: Option<String>,
}

/// One valid entry of the log, as the timeline shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineItem {
    /// Claimed time on the person's clock, `YYYY-MM-DD hh:mm UTC+hh:mm`.
    pub at: String,
    /// Who: the party's name, or the creator.
    pub who: String,
    /// What they did, in words.
    pub what: String,
    /// The entry's short id.
    pub entry: String,
}

/// What `status` and the document page show of an envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Envelope id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Where it stands.
    pub stage: Stage,
    /// The status in full.
    pub status: Status,
    /// Who must act next, by name.
    pub next: Vec<String>,
    /// Who must act next, by slot (names need not be unique).
    #[serde(default)]
    pub next_slots: Vec<Slot>,
    /// Whether this node's party must act now.
    pub my_turn: bool,
    /// Parties in signing order.
    pub parties: Vec<PartySummary>,
    /// When it was created (claimed).
    pub created_at: String,
    /// Whether this node created it.
    pub created_by_me: bool,
    /// Who created it: `you`, a party's name, or a key fingerprint.
    pub creator: String,
    /// BLAKE3 of the original PDF.
    pub document: String,
    /// The public verifier's base address.
    pub verifier_url: String,
    /// Every field.
    pub fields: Vec<FieldSummary>,
    /// The valid entries, oldest first.
    pub timeline: Vec<TimelineItem>,
    /// Invitations not yet used (only on the creator's node).
    pub open_invites: Vec<InviteOut>,
    /// Entries kept out of the state, with reasons.
    pub rejected: Vec<String>,
    /// Blobs still missing (the PDF or images not yet received).
    pub missing_blobs: Vec<String>,
    /// Ids of the latest valid entries (what a new entry builds on).
    pub heads: Vec<String>,
    /// Messages about it this node has not delivered yet.
    #[serde(default)]
    pub undelivered: Vec<Undelivered>,
    /// Messages about it waiting for this node's person to send them by hand.
    #[serde(default)]
    pub to_forward: Vec<ToForward>,
    /// Where parties who signed in a browser asked for the final PDF (their
    /// signed email cards): the sender's node emails it there.
    #[serde(default)]
    pub final_pdf_emails: Vec<(Slot, String)>,
}

impl Summary {
    /// The public verifier's page for this document. The address comes from
    /// the envelope's creator, another node: only a web address makes a link
    /// (never `javascript:` or the like).
    pub fn verifier_page(&self) -> Option<String> {
        verifier_page(&self.verifier_url, &self.id)
    }
}

fn verifier_page(verifier_url: &str, envelope: &str) -> Option<String> {
    let base = verifier_url.trim_end_matches('/');
    let web = base.starts_with("https://") || base.starts_with("http://");
    (web && !base.contains(['"', '<', '>', ' '])).then(|| format!("{base}/e/{envelope}"))
}

/// One line of the pipeline (`list`): what a person scans for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListItem {
    /// Envelope id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Where it stands.
    pub stage: Stage,
    /// Who must act next, by name.
    pub next: Vec<String>,
    /// The roles of who must act next.
    pub next_roles: Vec<Role>,
    /// Whether this node's party must act now.
    pub my_turn: bool,
    /// How many signing parties have signed, of how many.
    pub signed: (usize, usize),
    /// The parties' names, signers in order first.
    pub parties: Vec<String>,
    /// Who created it: `you`, a party's name, or a key fingerprint.
    pub creator: String,
    /// The creator's key (hex), to tell people with the same name apart.
    #[serde(default)]
    pub creator_key: String,
    /// When it was created (claimed).
    pub created_at: String,
    /// Unix ms of the latest act: when it entered its current stage.
    pub stage_since_ms: u64,
}

/// Where an envelope stands, as people see it (and as the API spells it:
/// `draft`, `awaiting`, `completed`, `declined`, `voided`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Created; nobody invited has joined yet.
    Draft,
    /// Someone is to sign (or their node to add its PDF signature).
    Awaiting,
    /// Everyone signed and the final PDF exists.
    Completed,
    /// A party declined.
    Declined,
    /// The creator voided it.
    Voided,
}

impl Stage {
    /// Its name in lower case, as the API and the CLI spell it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Awaiting => "awaiting",
            Stage::Completed => "completed",
            Stage::Declined => "declined",
            Stage::Voided => "voided",
        }
    }

    /// Whether nothing more will happen: completed, declined or voided.
    pub fn has_ended(self) -> bool {
        matches!(self, Stage::Completed | Stage::Declined | Stage::Voided)
    }
}

/// The stage and the slots whose turn it is. An envelope everyone
/// signed is completed once its final PDF exists: until the last signer's
/// node has added its step's PDF signature (normally at once), it waits for
/// that signer, whose node is at work, not the person.
pub(crate) fn stage_of(state: &EnvelopeState) -> (Stage, Vec<Slot>) {
    match state.status() {
        Status::Draft => (Stage::Draft, vec![]),
        Status::Awaiting { slots } => (Stage::Awaiting, slots),
        Status::Completed if !state.unsealed().is_empty() => (Stage::Awaiting, state.unsealed()),
        Status::Completed => (Stage::Completed, vec![]),
        Status::Declined { .. } => (Stage::Declined, vec![]),
        Status::Voided { .. } => (Stage::Voided, vec![]),
    }
}

/// Whether one of `slots` is this node's and still has to sign.
fn my_turn(state: &EnvelopeState, slots: &[Slot], me: PublicKey) -> bool {
    slots.iter().any(|s| state.binding(*s) == Some(me) && state.signature(*s).is_none())
}

/// Slots in the order people read them: signers by signing order, then viewers.
fn reading_order(state: &EnvelopeState) -> Vec<Slot> {
    let terms = state.terms();
    let viewers =
        (0..terms.parties.len()).filter_map(|s| Slot::try_from(s).ok()).filter(|s| terms.party(*s).is_some_and(|p| !p.role.signs()));
    terms.signing_order().into_iter().chain(viewers).collect()
}

/// The name people know a key by in this envelope.
/// What to call `key`: "you", the party it is bound to, the name its own
/// card gives (a sender who is not a party), or its fingerprint.
fn name_of(state: &EnvelopeState, key: PublicKey, me: PublicKey, names: &[(PublicKey, String)]) -> String {
    if key == me {
        return "you".into();
    }
    let terms = state.terms();
    let party = (0..terms.parties.len()).filter_map(|s| Slot::try_from(s).ok()).find(|s| state.binding(*s) == Some(key));
    if let Some(party) = party.and_then(|s| terms.party(s)) {
        return party.name.clone();
    }
    names.iter().find(|(k, _)| *k == key).map_or_else(|| format!("key {}", key.fingerprint()), |(_, name)| name.clone())
}

/// The pipeline line of `state`, seen by the node whose key is `me`.
pub(crate) fn list_item(state: &EnvelopeState, me: PublicKey, names: &[(PublicKey, String)]) -> ListItem {
    let terms = state.terms();
    let (stage, next) = stage_of(state);
    let order = terms.signing_order();
    ListItem {
        id: state.envelope().to_string(),
        title: terms.title.clone(),
        stage,
        next: next.iter().filter_map(|s| terms.party(*s).map(|p| p.name.clone())).collect(),
        next_roles: next.iter().filter_map(|s| terms.party(*s).map(|p| p.role)).collect(),
        my_turn: my_turn(state, &next, me),
        signed: (order.iter().filter(|s| state.signature(**s).is_some()).count(), order.len()),
        parties: reading_order(state).iter().filter_map(|s| terms.party(*s).map(|p| p.name.clone())).collect(),
        creator: name_of(state, state.creator(), me, names),
        creator_key: state.creator().to_string(),
        created_at: clock::local(state.created_at()),
        stage_since_ms: state.valid().iter().map(|v| v.entry().claimed_time).max().unwrap_or_default(),
    }
}

/// The summary of `state` for the node whose key is `me`; `open_invites`
/// are the creator's unused invitation links, `missing_blobs` what has not
/// arrived yet.
pub(crate) fn summary(
    state: &EnvelopeState,
    me: PublicKey,
    names: &[(PublicKey, String)],
    open_invites: Vec<InviteOut>,
    missing_blobs: Vec<String>,
) -> Summary {
    let terms = state.terms();
    let status = state.status();
    let (stage, next_slots) = stage_of(state);
    let parties = reading_order(state)
        .into_iter()
        .filter_map(|slot| {
            let party = terms.party(slot)?;
            let key = state.binding(slot);
            Some(PartySummary {
                slot,
                name: party.name.clone(),
                role: party.role,
                contact: party.contact.clone(),
                order: party.order,
                joined: key.is_some(),
                fingerprint: key.map(|k| k.fingerprint()),
                signed_at: state.signature(slot).map(|r| clock::local(r.claimed_time)),
                is_me: key == Some(me),
            })
        })
        .collect();
    Summary {
        id: state.envelope().to_string(),
        title: terms.title.clone(),
        stage,
        next: next_slots.iter().filter_map(|s| terms.party(*s).map(|p| p.name.clone())).collect(),
        my_turn: my_turn(state, &next_slots, me),
        next_slots: next_slots.clone(),
        parties,
        created_at: clock::local(state.created_at()),
        created_by_me: state.creator() == me,
        creator: name_of(state, state.creator(), me, names),
        document: terms.document.hash.to_string(),
        verifier_url: terms.verifier_url.clone(),
        fields: fields(state, me),
        timeline: timeline(state, me, names),
        open_invites,
        rejected: state.rejected().iter().map(|r| format!("{} entry {}: {}", r.act, r.id.short(), r.reason)).collect(),
        missing_blobs,
        heads: state.heads().iter().map(ToString::to_string).collect(),
        undelivered: Vec::new(),
        to_forward: Vec::new(),
        final_pdf_emails: Vec::new(),
        status,
    }
}

fn fields(state: &EnvelopeState, me: PublicKey) -> Vec<FieldSummary> {
    let terms = state.terms();
    terms
        .fields
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            let index = u16::try_from(index).ok()?;
            let value = state.signature(field.assignee).and_then(|record| {
                record.values.iter().find(|(i, _)| *i == index).map(|(_, value)| match value {
                    Value::Text(text) => text.clone(),
                    Value::Image { .. } => "image".into(),
                })
            });
            Some(FieldSummary {
                index,
                label: field.label.clone(),
                kind: field.kind,
                page: field.page,
                rect: [field.rect.x, field.rect.y, field.rect.width, field.rect.height],
                assignee: field.assignee,
                required: field.required,
                mine: state.binding(field.assignee) == Some(me),
                value,
            })
        })
        .collect()
}

/// The log's valid entries in the log's own order (an entry after what it
/// builds on), not by the times their authors claim: a clock behind cannot
/// put a signature before the one it follows.
fn timeline(state: &EnvelopeState, me: PublicKey, names: &[(PublicKey, String)]) -> Vec<TimelineItem> {
    let terms = state.terms();
    let party_name = |slot: Slot| terms.party(slot).map_or_else(|| format!("party {slot}"), |p| p.name.clone());
    let too_late = if state.late_end().is_some() { " (too late: everyone had signed; the envelope stays completed)" } else { "" };
    state
        .valid()
        .iter()
        .map(|valid| {
            let entry = valid.entry();
            let what = match &entry.act {
                Act::Create(_) => format!("created “{}”", terms.title),
                Act::Invite { slot, .. } => format!("invited {}", party_name(*slot)),
                Act::Join { .. } => "accepted the invitation".into(),
                Act::Sign { .. } => "signed".into(),
                Act::Seal { .. } => "added the PDF signature of their step".into(),
                Act::Confirm { slot, .. } => format!("confirmed the phone of {} by a code", party_name(*slot)),
                Act::Decline { reason, .. } => format!("declined: “{reason}”{too_late}"),
                Act::Void { reason } => format!("voided the envelope: “{reason}”{too_late}"),
            };
            let who = name_of(state, entry.author, me, names);
            let what = if state.backdated(&valid.id()) {
                format!("{what} (dated before what it follows: this author's clock, or an earlier one's, was wrong)")
            } else {
                what
            };
            TimelineItem {
                at: clock::local(entry.claimed_time),
                who: if who == "you" { "You".into() } else { who },
                what,
                entry: valid.id().short(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use countersign_shared::log::Act;
    use countersign_shared::test_utils::{CLIENT, Scenario, party_key};

    use super::*;

    #[test]
    fn only_a_web_address_becomes_the_verifier_link() {
        assert_eq!(verifier_page("https://verify.example/", "ab").as_deref(), Some("https://verify.example/e/ab"));
        for hostile in ["javascript:alert(1)//", "data:text/html,x", "https://x\" onclick=\"y", ""] {
            assert_eq!(verifier_page(hostile, "ab"), None, "{hostile}");
        }
    }

    #[test]
    fn an_envelope_is_completed_only_once_its_last_pdf_signature_is_in() {
        let mut scenario = Scenario::contract();
        scenario.director_signs();
        let values = scenario.client_values();
        scenario.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
        let state = scenario.state();
        assert_eq!(state.status(), Status::Completed, "everyone signed");
        assert_eq!(stage_of(&state), (Stage::Awaiting, vec![CLIENT]), "the client's node still has to seal");
        assert!(!my_turn(&state, &[CLIENT], party_key(CLIENT).public()), "the client has nothing left to do");
        scenario.seal(CLIENT);
        assert_eq!(stage_of(&scenario.state()), (Stage::Completed, vec![]));
    }
}
