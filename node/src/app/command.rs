//! The requests [`crate::handle::NodeHandle`] sends to the application's
//! task, each with a `oneshot` for its answer. Only the handle builds them.

use countersign_shared::hash::{EnvelopeId, Hash};
use tokio::sync::oneshot;

use crate::NodeError;
use crate::app::requests::{CreateRequest, Created, NodeInfo, SettingsView, SignRequest, TeamView, Transfer};
use crate::drafts::{Draft, SavedDraft};
use crate::envelopes::{ListItem, Summary, ToForward, Undelivered};
use crate::notify::config::Channels;
use crate::settings::Settings;
use crate::templates::Template;

/// A reply channel.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// A request to the application, built only by [`crate::handle::NodeHandle`];
/// `reply` carries the answer back.
#[derive(Debug)]
pub(crate) enum Command {
    /// About this node.
    Info { reply: Reply<NodeInfo> },
    /// Stores a blob.
    PutBlob { bytes: Vec<u8>, reply: Reply<Hash> },
    /// Creates and sends an envelope.
    Create { request: Box<CreateRequest>, reply: Reply<Created> },
    /// Joins with an invite link (and the code texted to the party, if asked for one).
    Join { link: String, code: Option<u32>, reply: Reply<String> },
    /// Signs.
    Sign { envelope: EnvelopeId, request: SignRequest, reply: Reply<String> },
    /// Declines, with the reason everyone sees.
    Decline { envelope: EnvelopeId, reason: String, reply: Reply<String> },
    /// Every envelope.
    List { reply: Reply<Vec<ListItem>> },
    /// One envelope.
    Status { envelope: EnvelopeId, reply: Reply<Summary> },
    /// The final PDF.
    Export { envelope: EnvelopeId, reply: Reply<Vec<u8>> },
    /// Voids (the creator withdraws the envelope), with the reason.
    Void { envelope: EnvelopeId, reason: String, reply: Reply<String> },
    /// The original PDF of an envelope.
    Original { envelope: EnvelopeId, reply: Reply<Vec<u8>> },
    /// A blob stored here (an uploaded PDF being prepared).
    Blob { hash: Hash, reply: Reply<Vec<u8>> },
    /// Reminds whoever must act now; answers how many.
    Remind { envelope: EnvelopeId, reply: Reply<usize> },
    /// Messages not delivered yet, of every envelope.
    Undelivered { reply: Reply<Vec<Undelivered>> },
    /// Messages waiting for this node's person to send them by hand.
    ToForward { reply: Reply<Vec<ToForward>> },
    /// The person sent message `id` by hand.
    Forwarded { id: String, reply: Reply<()> },
    /// Keeps a draft being prepared over an uploaded PDF.
    KeepDraft { document: Hash, draft: Box<Draft>, reply: Reply<()> },
    /// The draft kept for an uploaded PDF.
    KeptDraft { document: Hash, reply: Reply<Option<SavedDraft>> },
    /// Every kept draft, the latest first.
    Drafts { reply: Reply<Vec<SavedDraft>> },
    /// Forgets the draft of an uploaded PDF (sent, or discarded).
    ForgetDraft { document: Hash, reply: Reply<()> },
    /// Saves a template.
    SaveTemplate { template: Box<Template>, reply: Reply<()> },
    /// Every template.
    Templates { reply: Reply<Vec<Template>> },
    /// One template, by id.
    Template { id: String, reply: Reply<Template> },
    /// Transfers in progress.
    Transfers { reply: Reply<Vec<Transfer>> },
    /// Asks the sender's node to email the final PDF to `email` (this
    /// party's signed email card).
    SetEmail { envelope: EnvelopeId, email: String, reply: Reply<()> },
    /// The company directory, this node's card first.
    Team { reply: Reply<TeamView> },
    /// A new one-time colleague link for the colleague with this email or phone.
    ColleagueLink { contact: String, reply: Reply<String> },
    /// Joins the company directory with a colleague's link.
    JoinTeam { link: String, reply: Reply<()> },
    /// Follows the team's documents as a viewer (a manager), or stops.
    FollowTeam { follow: bool, reply: Reply<()> },
    /// The settings page's view of the settings.
    Settings { reply: Reply<SettingsView> },
    /// Saves the node's settings.
    SaveSettings { settings: Box<Settings>, reply: Reply<()> },
    /// Saves the email and SMS channels (and their secrets).
    SaveChannels { channels: Box<Channels>, reply: Reply<()> },
    /// Sends a test message to an email address or phone number.
    TestMessage { to: String, reply: Reply<String> },
    /// Creates the company's certificate authority, in use at once.
    CreateAuthority { organization: String, reply: Reply<()> },
    /// Test tool: stores raw entry bytes in an envelope's document, unchecked,
    /// and sends them to the other parties (to show that they reject forgeries).
    ImportRaw { envelope: EnvelopeId, bytes: Vec<u8>, reply: Reply<String> },
}
