//! The node's handle: one typed async method per act, for whoever drives
//! the node (the local API, the web app, a program that embeds it). Each
//! method sends a [`Command`] to the application's task and waits for its answer;
//! nothing else builds commands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use countersign_shared::hash::{EnvelopeId, Hash};
use countersign_shared::source::{self, PageGeometry};
use countersign_shared::verify::{Report, verify};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::NodeError;
use crate::app::command::{Command, Reply};
use crate::app::requests::{CreateRequest, Created, NodeInfo, PartyInput, SettingsView, SignRequest, TeamView, Transfer};
use crate::documents::{self, PreparedDocument};
use crate::drafts::{Draft, SavedDraft};
use crate::envelopes::{ListItem, Summary};
use crate::envelopes::{ToForward, Undelivered};
use crate::fields;
use crate::notify::config::Channels;
use crate::settings::Settings;
use crate::templates::Template;

/// How long an act may take before the caller is told the node did not answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(90);

/// How many reports and page lists are kept before the oldest are forgotten.
const LOOKED_AT: usize = 128;

/// A cloneable handle on a running node.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    commands: mpsc::Sender<Command>,
    changes: broadcast::Sender<EnvelopeId>,
    looked_at: Arc<Mutex<LookedAt>>,
}

/// What was worked out once and does not change: the report on a final PDF
/// (by envelope and log heads) and a document's pages (by its hash).
#[derive(Debug, Default)]
struct LookedAt {
    reports: HashMap<(EnvelopeId, Vec<String>), Report>,
    pages: HashMap<Hash, Vec<PageGeometry>>,
}

impl NodeHandle {
    pub(crate) fn new(commands: mpsc::Sender<Command>, changes: broadcast::Sender<EnvelopeId>) -> Self {
        NodeHandle { commands, changes, looked_at: Arc::default() }
    }

    fn looked_at(&self) -> std::sync::MutexGuard<'_, LookedAt> {
        // A panic while holding the lock left nothing half-written: maps only.
        self.looked_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The verifier's report on the envelope's final PDF, as anyone who is
    /// sent it would get it (checked once per state of the log, on a
    /// blocking thread).
    pub async fn final_report(&self, summary: &Summary) -> Result<Report, NodeError> {
        let envelope: EnvelopeId = summary.id.parse().map_err(|_| NodeError::invalid("not an envelope id"))?;
        let key = (envelope, summary.heads.clone());
        if let Some(report) = self.looked_at().reports.get(&key) {
            return Ok(report.clone());
        }
        let pdf = self.final_pdf(envelope).await?;
        let report = tokio::task::spawn_blocking(move || verify(&pdf)).await.map_err(|e| NodeError::internal(e.to_string()))?;
        let mut looked_at = self.looked_at();
        if looked_at.reports.len() >= LOOKED_AT {
            looked_at.reports.clear();
        }
        looked_at.reports.insert(key, report.clone());
        Ok(report)
    }

    /// The pages of a document this node holds (read once per document, on
    /// a blocking thread).
    pub async fn document_pages(&self, document: Hash) -> Result<Vec<PageGeometry>, NodeError> {
        if let Some(pages) = self.looked_at().pages.get(&document) {
            return Ok(pages.clone());
        }
        let pdf = self.blob(document).await?;
        let pages = tokio::task::spawn_blocking(move || source::inspect(&pdf).map(|info| info.pages))
            .await
            .map_err(|e| NodeError::internal(e.to_string()))?
            .map_err(|e| NodeError::invalid(format!("this PDF cannot be signed: {e}")))?;
        let mut looked_at = self.looked_at();
        if looked_at.pages.len() >= LOOKED_AT {
            looked_at.pages.clear();
        }
        looked_at.pages.insert(document, pages.clone());
        Ok(pages)
    }

    /// Envelopes as they change on this node (an act, a peer's entries, a
    /// file that arrived), from now on.
    pub fn changes(&self) -> broadcast::Receiver<EnvelopeId> {
        self.changes.subscribe()
    }

    /// Waits until `check` holds for the envelope, looking again each time
    /// it changes (or fails after `timeout`).
    pub async fn wait_for(&self, envelope: EnvelopeId, timeout: Duration, check: impl Fn(&Summary) -> bool) -> Result<Summary, NodeError> {
        let mut changes = self.changes();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(summary) = self.status(envelope).await
                && check(&summary)
            {
                return Ok(summary);
            }
            // The next change of this envelope (a lagging receiver looks again).
            let changed = async {
                loop {
                    match changes.recv().await {
                        Ok(id) if id != envelope => continue,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                        Err(broadcast::error::RecvError::Closed) => return false,
                    }
                }
            };
            match tokio::time::timeout_at(deadline, changed).await {
                Ok(true) => {}
                Ok(false) => return Err(NodeError::ShuttingDown),
                Err(_) => return Err(NodeError::TimedOut("timed out waiting for the other nodes".into())),
            }
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.map_err(|_| NodeError::ShuttingDown)?;
        match tokio::time::timeout(ANSWER_WITHIN, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(NodeError::ShuttingDown),
            Err(_) => Err(NodeError::unavailable("the node did not answer in time")),
        }
    }

    /// This node's identity and addresses.
    pub async fn info(&self) -> Result<NodeInfo, NodeError> {
        self.ask(|reply| Command::Info { reply }).await
    }

    /// Prepares a person's PDF for signing and stores it (see [`crate::documents`]).
    pub async fn put_document(&self, pdf: Vec<u8>) -> Result<PreparedDocument, NodeError> {
        let prepared = documents::prepare(pdf).await?;
        let removed = documents::removed(&prepared);
        let pages = prepared.info.pages.len();
        let hash = self.put_blob(prepared.bytes).await?;
        Ok(PreparedDocument { hash: hash.to_string(), pages, removed })
    }

    /// Stores bytes (a prepared PDF, an image) as a blob; returns its hash.
    pub async fn put_blob(&self, bytes: Vec<u8>) -> Result<Hash, NodeError> {
        self.ask(|reply| Command::PutBlob { bytes, reply }).await
    }

    /// Creates an envelope and invites its parties. Without fields, the
    /// signature blocks are placed first, off the application's task (it
    /// draws the last page, and may add a signature page to the document).
    pub async fn create(&self, mut request: CreateRequest) -> Result<Created, NodeError> {
        if request.fields.is_none() && request.placed.is_none() {
            let pdf = self
                .blob(request.document)
                .await
                .map_err(|e| NodeError::invalid(format!("the PDF cannot be read on this node ({e}); upload it first")))?;
            let parties = request.parties.iter().map(PartyInput::to_party).collect::<Result<Vec<_>, _>>()?;
            let placed = tokio::task::spawn_blocking(move || {
                documents::check_signable(&pdf)?;
                fields::place(&parties, &pdf).map_err(NodeError::invalid)
            })
            .await
            .map_err(|_| NodeError::invalid("the signature blocks could not be placed"))??;
            if let Some(bytes) = placed.with_signature_page {
                request.document = self.put_blob(bytes).await?;
            }
            request.placed = Some(placed.fields);
        }
        self.ask(|reply| Command::Create { request: Box::new(request), reply }).await
    }

    /// Joins the envelope an invitation link names (with the texted code,
    /// when the sender asked for one); returns the envelope id.
    pub async fn join(&self, link: String, code: Option<u32>) -> Result<String, NodeError> {
        self.ask(|reply| Command::Join { link, code, reply }).await
    }

    /// Signs this node's party's fields.
    pub async fn sign(&self, envelope: EnvelopeId, request: SignRequest) -> Result<String, NodeError> {
        self.ask(|reply| Command::Sign { envelope, request, reply }).await
    }

    /// Declines to sign, with the reason everyone sees.
    pub async fn decline(&self, envelope: EnvelopeId, reason: String) -> Result<String, NodeError> {
        self.ask(|reply| Command::Decline { envelope, reason, reply }).await
    }

    /// Voids an envelope this node created.
    pub async fn void(&self, envelope: EnvelopeId, reason: String) -> Result<String, NodeError> {
        self.ask(|reply| Command::Void { envelope, reason, reply }).await
    }

    /// Reminds whoever is to act next; returns how many were reminded.
    pub async fn remind(&self, envelope: EnvelopeId) -> Result<usize, NodeError> {
        self.ask(|reply| Command::Remind { envelope, reply }).await
    }

    /// The pipeline: one line per envelope.
    pub async fn list(&self) -> Result<Vec<ListItem>, NodeError> {
        self.ask(|reply| Command::List { reply }).await
    }

    /// One envelope in full.
    pub async fn status(&self, envelope: EnvelopeId) -> Result<Summary, NodeError> {
        self.ask(|reply| Command::Status { envelope, reply }).await
    }

    /// The final PDF, once everyone has signed.
    pub async fn final_pdf(&self, envelope: EnvelopeId) -> Result<Vec<u8>, NodeError> {
        self.ask(|reply| Command::Export { envelope, reply }).await
    }

    /// The envelope's document as the parties agreed on it.
    pub async fn original(&self, envelope: EnvelopeId) -> Result<Vec<u8>, NodeError> {
        self.ask(|reply| Command::Original { envelope, reply }).await
    }

    /// A blob this node holds.
    pub async fn blob(&self, hash: Hash) -> Result<Vec<u8>, NodeError> {
        self.ask(|reply| Command::Blob { hash, reply }).await
    }

    /// Messages not delivered yet.
    pub async fn undelivered(&self) -> Result<Vec<Undelivered>, NodeError> {
        self.ask(|reply| Command::Undelivered { reply }).await
    }

    /// Asks for the final PDF of `envelope` by email, at `email`.
    pub async fn set_email(&self, envelope: EnvelopeId, email: String) -> Result<(), NodeError> {
        self.ask(|reply| Command::SetEmail { envelope, email, reply }).await
    }

    /// The company directory.
    pub async fn team(&self) -> Result<TeamView, NodeError> {
        self.ask(|reply| Command::Team { reply }).await
    }

    /// A new one-time colleague link for the colleague whose email or phone is `contact`.
    pub async fn colleague_link(&self, contact: String) -> Result<String, NodeError> {
        self.ask(|reply| Command::ColleagueLink { contact, reply }).await
    }

    /// Joins the company directory with a colleague's link.
    pub async fn join_team(&self, link: String) -> Result<(), NodeError> {
        self.ask(|reply| Command::JoinTeam { link, reply }).await
    }

    /// Follows the team's documents as a viewer (a manager), or stops.
    pub async fn follow_team(&self, follow: bool) -> Result<(), NodeError> {
        self.ask(|reply| Command::FollowTeam { follow, reply }).await
    }

    /// The settings page's view of the settings.
    pub async fn settings(&self) -> Result<SettingsView, NodeError> {
        self.ask(|reply| Command::Settings { reply }).await
    }

    /// Saves the node's settings.
    pub async fn save_settings(&self, settings: Settings) -> Result<(), NodeError> {
        self.ask(|reply| Command::SaveSettings { settings: Box::new(settings), reply }).await
    }

    /// Saves the email and SMS channels.
    pub async fn save_channels(&self, channels: Channels) -> Result<(), NodeError> {
        self.ask(|reply| Command::SaveChannels { channels: Box::new(channels), reply }).await
    }

    /// Sends a test message to `to`; answers what happened.
    pub async fn test_message(&self, to: String) -> Result<String, NodeError> {
        self.ask(|reply| Command::TestMessage { to, reply }).await
    }

    /// Creates the company's CA.
    pub async fn create_authority(&self, organization: String) -> Result<(), NodeError> {
        self.ask(|reply| Command::CreateAuthority { organization, reply }).await
    }

    /// Messages waiting for this node's person to send them by hand.
    pub async fn to_forward(&self) -> Result<Vec<ToForward>, NodeError> {
        self.ask(|reply| Command::ToForward { reply }).await
    }

    /// The person sent message `id` by hand.
    pub async fn forwarded(&self, id: String) -> Result<(), NodeError> {
        self.ask(|reply| Command::Forwarded { id, reply }).await
    }

    /// Keeps the draft being prepared over the uploaded PDF `document`.
    pub async fn keep_draft(&self, document: Hash, draft: Draft) -> Result<(), NodeError> {
        self.ask(|reply| Command::KeepDraft { document, draft: Box::new(draft), reply }).await
    }

    /// The draft kept for `document`.
    pub async fn kept_draft(&self, document: Hash) -> Result<Option<SavedDraft>, NodeError> {
        self.ask(|reply| Command::KeptDraft { document, reply }).await
    }

    /// Every kept draft, the latest first.
    pub async fn drafts(&self) -> Result<Vec<SavedDraft>, NodeError> {
        self.ask(|reply| Command::Drafts { reply }).await
    }

    /// Forgets the draft of `document`.
    pub async fn forget_draft(&self, document: Hash) -> Result<(), NodeError> {
        self.ask(|reply| Command::ForgetDraft { document, reply }).await
    }

    /// Saves a template.
    pub async fn save_template(&self, template: Template) -> Result<(), NodeError> {
        self.ask(|reply| Command::SaveTemplate { template: Box::new(template), reply }).await
    }

    /// The saved templates.
    pub async fn templates(&self) -> Result<Vec<Template>, NodeError> {
        self.ask(|reply| Command::Templates { reply }).await
    }

    /// One saved template.
    pub async fn template(&self, id: String) -> Result<Template, NodeError> {
        self.ask(|reply| Command::Template { id, reply }).await
    }

    /// Blob downloads under way.
    pub async fn transfers(&self) -> Result<Vec<Transfer>, NodeError> {
        self.ask(|reply| Command::Transfers { reply }).await
    }

    /// Test tool: stores raw entry bytes unchecked and sends them on.
    pub async fn import_raw(&self, envelope: EnvelopeId, bytes: Vec<u8>) -> Result<String, NodeError> {
        self.ask(|reply| Command::ImportRaw { envelope, bytes, reply }).await
    }
}
