//! Notifications: invitations, reminders, completed documents, declines and
//! voids, by email (SMTP) or SMS (an HTTP gateway), or into the outbox folder
//! when a channel is not configured.
//!
//! Who sends what: the sender's node sends the invitations, each when its
//! party's turn comes (or all at send, to read first), "your turn" to a
//! party who holds the document already, and the reminders (the pipeline's remind action, and automatically every few days
//! while a party has not acted); every node tells its own person when a
//! document is completed (with the final PDF), declined or voided.
//!
//! Delivery is durable: the application only queues ([`Notifier`]); a worker
//! task ([`run_worker`]) delivers, retrying with backoff, and a message stays
//! on disk until it is delivered, across restarts.
//!
//! # Layout
//! - [`config`]: `notify.toml` and the secrets' environment variables.
//! - [`message`]: the messages' words, for email and for SMS.
//! - [`queue`]: the queue on disk.
//! - [`channels`]: SMTP, the SMS gateway, the outbox folder.

pub mod channels;
pub mod config;
pub mod message;
pub mod queue;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use countersign_shared::invite::Invitation;
use tokio::sync::Notify;

use crate::clock::now_ms;
use crate::datadir::DataDir;
use crate::envelopes::{InviteOut, Stage, Summary};
pub use crate::envelopes::{ToForward, Undelivered};
use crate::notify::config::NotifyConfig;
use crate::notify::message::{About, InviteFor, Kind, Message, Recipient};
use crate::notify::queue::Queue;

/// The longest the worker sleeps before looking at the queue again.
const IDLE: Duration = Duration::from_secs(30);

/// Queues messages; the application holds one.
#[derive(Debug, Clone)]
pub struct Notifier {
    queue: Queue,
    /// The settings, shared with the worker; the settings page replaces them.
    config: Arc<RwLock<NotifyConfig>>,
    wake: Arc<Notify>,
    /// This node's person's name (the sender of what this node sends).
    name: String,
    /// This node's person, told about completions (when they gave a contact).
    me: Option<Recipient>,
}

impl Notifier {
    /// The notifier of `data` (its `notify.toml` and queue), and the worker
    /// that delivers what it queues (spawn it on the runtime).
    pub fn open(data: &DataDir) -> anyhow::Result<(Notifier, impl Future<Output = ()> + Send + 'static)> {
        let config = Arc::new(RwLock::new(NotifyConfig::load(data)?));
        let queue = Queue::open(data)?;
        let profile = data.profile()?;
        let me = profile.contact.clone().map(|contact| Recipient { name: profile.name.clone(), contact });
        let wake = Arc::new(Notify::new());
        let worker = run_worker(queue.clone(), config.clone(), data.path("outbox"), wake.clone(), me.as_ref().map(|m| m.contact.clone()));
        Ok((Notifier { queue, config, wake, name: profile.name, me }, worker))
    }

    /// This node's person's email or phone, if they gave one.
    pub fn my_contact(&self) -> Option<String> {
        self.me.as_ref().map(|me| me.contact.clone())
    }

    /// The settings in force.
    pub fn config(&self) -> RwLockReadGuard<'_, NotifyConfig> {
        self.config.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `config` in force (the settings page saved it); messages waiting
    /// are tried again with it at once.
    pub fn replace_config(&self, config: NotifyConfig) {
        let (email, sms) = (config.email.is_some(), config.sms.is_some());
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
        // What waited to be sent by hand now goes by itself.
        self.queue.requeue_forwarding(|m| match m.channel() {
            message::Channel::Email => email,
            message::Channel::Sms => sms,
        });
        self.queue.retry_now();
        self.wake.notify_one();
    }

    fn push(&self, message: &Message) {
        match self.queue.push(message) {
            Ok(()) => self.wake.notify_one(),
            Err(e) => tracing::error!("a {:?} message for envelope {} could not be queued: {e}", message.kind, message.envelope),
        }
    }

    /// Queues a notice about `event` of `envelope` once: its id is fixed, so
    /// a crash between queuing and marking queues the same message again
    /// (replacing it), never a second one, and the mark comes after.
    fn push_once(&self, envelope: &str, event: &str, mut message: Message) {
        message.id = format!("{}-{event}", &envelope[..envelope.len().min(24)]);
        self.push(&message);
        if let Err(e) = self.queue.mark(envelope, event) {
            tracing::error!("cannot note that the {event} notice of {envelope} is queued: {e}");
        }
    }

    /// The sender's node, at send: invites whoever signs first, and those
    /// who follow without signing. With
    /// `share_all`, everyone at once: the later parties may read the
    /// document, and hear again when their turn comes ([`Notifier::tell_turns`]).
    /// The parties at `in_app` are colleagues whose node takes the document
    /// from this one: they are told it is on their board, with no link.
    pub fn invite(&self, summary: &Summary, invites: &[InviteOut], share_all: bool, in_app: &[u8]) {
        if let Err(e) = self.queue.mark(&summary.id, BY_TURN) {
            tracing::error!("cannot note that {} invites each party in turn: {e}", summary.id);
        }
        for invite in invites {
            if in_app.contains(&invite.slot) {
                if summary.next_slots.contains(&invite.slot) {
                    let to = Recipient { name: invite.name.clone(), contact: invite.contact.clone() };
                    self.push_once(&summary.id, &turn_event(invite.slot), message::on_board(&self.about(summary), &to));
                    let _ = self.queue.mark(&summary.id, &format!("nudged-{}", invite.slot));
                }
                continue;
            }
            let signs = summary.parties.iter().find(|p| p.slot == invite.slot).is_none_or(|p| p.role.signs());
            let why = match (signs, summary.next_slots.contains(&invite.slot)) {
                (false, _) => InviteFor::Following,
                (true, true) => InviteFor::Signing,
                (true, false) if share_all => InviteFor::Reading,
                (true, false) => continue,
            };
            self.send_invitation(summary, invite, why);
        }
    }

    fn send_invitation(&self, summary: &Summary, invite: &InviteOut, why: InviteFor) {
        let expires = Invitation::parse(&invite.link).map(|i| crate::clock::local(i.expires_at)).unwrap_or_default();
        let qr = crate::qr::png(&invite.link, 6).ok();
        let to = Recipient { name: invite.name.clone(), contact: invite.contact.clone() };
        let message = message::invitation(&self.about(summary), &to, &invite.link, qr, &expires, why);
        if why == InviteFor::Signing {
            self.push_once(&summary.id, &turn_event(invite.slot), message);
        } else {
            self.push(&message);
        }
        let _ = self.queue.mark(&summary.id, &invited_event(invite.slot));
        let _ = self.queue.mark(&summary.id, &format!("nudged-{}", invite.slot));
    }

    /// Whether the party at `slot` of `envelope` was sent an invitation
    /// (at their turn, or at send to read first).
    pub fn was_invited(&self, envelope: &str, slot: u8) -> bool {
        self.queue.marked_at(envelope, &invited_event(slot)).is_some() || self.queue.marked_at(envelope, &turn_event(slot)).is_some()
    }

    /// Whether one of `slots` of `envelope`, whose turn it is, has not been
    /// told so (cheap: file dates only). Envelopes sent before parties were
    /// invited in turn had everyone invited at send: nothing is owed.
    pub fn turn_untold(&self, envelope: &str, slots: &[u8]) -> bool {
        self.queue.marked_at(envelope, BY_TURN).is_some()
            && slots.iter().any(|slot| self.queue.marked_at(envelope, &turn_event(*slot)).is_none())
    }

    /// The sender's node, as the signing moves on: a party whose turn has
    /// come gets its invitation, or, holding the document already, word that
    /// it is their turn. `invites` are every link made at send.
    pub fn tell_turns(&self, summary: &Summary, invites: &[InviteOut]) {
        if !summary.created_by_me || summary.stage != Stage::Awaiting || self.queue.marked_at(&summary.id, BY_TURN).is_none() {
            return;
        }
        for slot in &summary.next_slots {
            if self.queue.marked_at(&summary.id, &turn_event(*slot)).is_some() {
                continue;
            }
            let Some(party) = summary.parties.iter().find(|p| p.slot == *slot) else { continue };
            let invite = invites.iter().find(|i| i.slot == *slot);
            let holds_it = party.joined || self.queue.marked_at(&summary.id, &invited_event(*slot)).is_some();
            match invite {
                Some(invite) if !holds_it => self.send_invitation(summary, invite, InviteFor::Signing),
                _ => {
                    let to = Recipient { name: party.name.clone(), contact: party.contact.to_string() };
                    let link = invite.map(|i| i.link.as_str());
                    self.push_once(&summary.id, &turn_event(*slot), message::your_turn(&self.about(summary), &to, link));
                    let _ = self.queue.mark(&summary.id, &format!("nudged-{slot}"));
                }
            }
        }
    }

    /// Reminds whoever must act now; returns how many were reminded.
    pub fn remind(&self, summary: &Summary) -> usize {
        let about = self.about(summary);
        let waiting: Vec<_> =
            summary.parties.iter().filter(|p| summary.stage == Stage::Awaiting && summary.next_slots.contains(&p.slot)).collect();
        for party in &waiting {
            let link = summary.open_invites.iter().find(|i| i.slot == party.slot).map(|i| i.link.as_str());
            let to = Recipient { name: party.name.clone(), contact: party.contact.to_string() };
            self.push(&message::reminder(&about, &to, link));
            let _ = self.queue.mark(&summary.id, &format!("nudged-{}", party.slot));
        }
        waiting.len()
    }

    /// Whether a reminder to one of `slots` of `envelope` may be due (cheap:
    /// file dates only).
    pub fn reminder_due(&self, envelope: &str, slots: &[u8]) -> bool {
        let every = self.config().reminders.every_days;
        let period = (every * 86_400_000.0) as u64;
        every > 0.0
            && slots.iter().any(|slot| {
                self.queue.marked_at(envelope, &format!("nudged-{slot}")).is_some_and(|last| now_ms().saturating_sub(last) >= period)
            })
    }

    /// Automatic reminders, on the sender's node: a party whose turn it is
    /// hears again every `every_days`, until their invitation expires.
    pub fn remind_if_due(&self, summary: &Summary) {
        let every = self.config().reminders.every_days;
        if every <= 0.0 || !summary.created_by_me || summary.stage != Stage::Awaiting {
            return;
        }
        let now = now_ms();
        let period = (every * 86_400_000.0) as u64;
        for party in summary.parties.iter().filter(|p| summary.next_slots.contains(&p.slot)) {
            let event = format!("nudged-{}", party.slot);
            let Some(last) = self.queue.marked_at(&summary.id, &event) else { continue };
            if now.saturating_sub(last) < period {
                continue;
            }
            let link = summary.open_invites.iter().find(|i| i.slot == party.slot).map(|i| i.link.as_str());
            if link.and_then(|l| Invitation::parse(l).ok()).is_some_and(|i| i.expires_at < now) {
                continue;
            }
            let to = Recipient { name: party.name.clone(), contact: party.contact.to_string() };
            self.push(&message::reminder(&self.about(summary), &to, link));
            let _ = self.queue.mark(&summary.id, &event);
        }
    }

    /// Whether [`Notifier::observe`] would ask for the final PDF of this
    /// summary (a completion email not queued yet).
    pub fn wants_final_pdf(&self, summary: &Summary) -> bool {
        let completed = matches!(summary.status, countersign_shared::state::Status::Completed) && summary.missing_blobs.is_empty();
        let for_me =
            self.me.is_some() && self.config().completion.notify_me && self.queue.marked_at(&summary.id, summary.stage.name()).is_none();
        completed && (for_me || !self.final_pdf_emails_due(summary).is_empty())
    }

    /// The parties who asked (by a signed email card) for the final PDF and
    /// have not been sent it: the sender's node sends it, as a party who
    /// signed in a browser has no node of its own to.
    fn final_pdf_emails_due<'a>(&self, summary: &'a Summary) -> Vec<&'a (u8, String)> {
        if !summary.created_by_me {
            return Vec::new();
        }
        summary.final_pdf_emails.iter().filter(|(slot, _)| self.queue.marked_at(&summary.id, &final_pdf_event(*slot)).is_none()).collect()
    }

    /// Emails the final PDF to the parties who asked for it (see
    /// [`Notifier::final_pdf_emails_due`]).
    fn send_final_pdf(&self, summary: &Summary, pdf: &[u8]) {
        let about = self.about(summary);
        let link = summary.verifier_page().unwrap_or_default();
        for (slot, email) in self.final_pdf_emails_due(summary) {
            let name = summary.parties.iter().find(|p| p.slot == *slot).map_or_else(String::new, |p| p.name.clone());
            let to = Recipient { name, contact: email.clone() };
            self.push_once(&summary.id, &final_pdf_event(*slot), message::completion(&about, &to, pdf.to_vec(), &link));
        }
    }

    /// After a change: tells this node's person, once, that the document is
    /// completed (with `final_pdf`), declined or voided.
    pub fn observe(&self, summary: &Summary, final_pdf: impl FnOnce() -> Option<Vec<u8>>) {
        // Nobody needs a reminder of a document that ended, nor an invitation
        // to one that was declined or voided (a viewer's to a completed one
        // still shows them the result).
        let stopped = matches!(summary.stage, Stage::Declined | Stage::Voided);
        let asks_to_act =
            |m: &Message| matches!(m.kind, Kind::Reminder | Kind::YourTurn | Kind::Code) || (stopped && m.kind == Kind::Invitation);
        let dropped = self.queue.drop_moot(&summary.id, asks_to_act);
        if dropped > 0 {
            tracing::info!("dropped {dropped} message(s) asking to act on {}, which has ended", summary.id);
        }
        // The final PDF is made once, for whoever needs it.
        let (mut made, mut make) = (None, Some(final_pdf));
        let mut final_pdf = move || {
            if let Some(make) = make.take() {
                made = make();
            }
            made.clone()
        };
        let completed = matches!(summary.status, countersign_shared::state::Status::Completed) && summary.missing_blobs.is_empty();
        if completed
            && !self.final_pdf_emails_due(summary).is_empty()
            && let Some(pdf) = final_pdf()
        {
            self.send_final_pdf(summary, &pdf);
        }
        let Some(me) = self.me.as_ref().filter(|_| self.config().completion.notify_me) else { return };
        let about = self.about(summary);
        let event = summary.stage.name();
        match &summary.status {
            _ if self.queue.marked_at(&summary.id, event).is_some() => {}
            countersign_shared::state::Status::Completed if summary.missing_blobs.is_empty() => {
                let Some(pdf) = final_pdf() else { return };
                let link = summary.verifier_page().unwrap_or_default();
                self.push_once(&summary.id, event, message::completion(&about, me, pdf, &link));
            }
            // Nobody needs telling of their own decline or void.
            countersign_shared::state::Status::Declined { slot, .. } if summary.parties.iter().any(|p| p.slot == *slot && p.is_me) => {}
            countersign_shared::state::Status::Voided { .. } if summary.created_by_me => {}
            countersign_shared::state::Status::Declined { slot, reason } => {
                let who = summary.parties.iter().find(|p| p.slot == *slot).map_or("A party", |p| p.name.as_str());
                self.push_once(&summary.id, event, message::stopped(&about, me, Kind::Declined, who, reason));
            }
            countersign_shared::state::Status::Voided { reason } => {
                self.push_once(&summary.id, event, message::stopped(&about, me, Kind::Voided, &about.sender, reason));
            }
            _ => {}
        }
    }

    /// A message that shows the settings work, for `to`.
    pub fn test_message(&self, to: &str) -> Message {
        message::test(&self.name, &Recipient { name: self.name.clone(), contact: to.to_owned() })
    }

    /// Texts (or emails) party `slot` the one-time code that lets them join.
    pub fn code(&self, summary: &Summary, slot: u8, code: u32) {
        let Some(party) = summary.parties.iter().find(|p| p.slot == slot) else { return };
        let to = Recipient { name: party.name.clone(), contact: party.contact.to_string() };
        let mut message = message::code(&self.about(summary), &to, &crate::codes::show(code), self.config().codes.valid_minutes);
        // A code arriving after it has expired is useless: it is dropped instead.
        message.expires_ms = Some(message.created_ms + (self.config().codes.valid_minutes * 60_000.0) as u64);
        self.push(&message);
    }

    /// How confirmation codes are judged.
    pub fn code_policy(&self) -> crate::codes::CodePolicy {
        self.config().codes
    }

    /// Messages of `envelope` (or all, for `None`) that wait for this node's
    /// person to send them by hand (no email or SMS settings).
    /// A message queued for a channel that is not set up counts already: the
    /// worker files it there in a moment.
    pub fn to_forward(&self, envelope: Option<&str>) -> Vec<ToForward> {
        let (email, sms) = {
            let config = self.config();
            (config.email.is_some(), config.sms.is_some())
        };
        let unsendable = |m: &Message| match m.channel() {
            message::Channel::Email => !email,
            message::Channel::Sms => !sms,
        };
        let me = self.my_contact();
        let now = now_ms();
        let queued = self.queue.waiting_without_attachments().into_iter().filter(|m| m.attempts == 0 && unsendable(m));
        self.queue
            .forwarding()
            .into_iter()
            .chain(queued)
            .filter(|m| envelope.is_none_or(|e| m.envelope == e) && me.as_deref() != Some(m.to.as_str()))
            // A code past its time is worth nothing.
            .filter(|m| m.expires_ms.is_none_or(|at| at > now))
            .map(|m| {
                let by_email = m.channel() == message::Channel::Email;
                ToForward {
                    id: m.id,
                    envelope: m.envelope,
                    kind: m.kind,
                    to: m.to,
                    to_name: m.to_name,
                    subject: m.subject,
                    text: if by_email { m.text } else { m.sms },
                    by_email,
                }
            })
            .collect()
    }

    /// The person sent message `id` by hand; false if none waits under that id.
    pub fn forwarded(&self, id: &str) -> Result<bool, crate::datadir::DataDirError> {
        self.queue.forwarded(id)
    }

    /// Messages of `envelope` (or all, for `None`) not delivered yet.
    pub fn undelivered(&self, envelope: Option<&str>) -> Vec<Undelivered> {
        self.queue
            .waiting_without_attachments()
            .into_iter()
            .map(|m| (m, false))
            .chain(self.queue.failed_messages().into_iter().map(|m| (m, true)))
            .filter(|(m, _)| envelope.is_none_or(|e| m.envelope == e))
            .map(|(m, gave_up)| Undelivered { kind: m.kind, to: m.to, attempts: m.attempts, last_error: m.last_error, gave_up })
            .collect()
    }
}

/// The queue mark of an envelope whose parties are invited in turn.
const BY_TURN: &str = "by-turn";

/// The queue mark of the party at `slot` told it is their turn (by their
/// invitation or a "your turn" message).
fn turn_event(slot: u8) -> String {
    format!("turn-{slot}")
}

/// The queue mark of the party at `slot` sent their invitation.
fn invited_event(slot: u8) -> String {
    format!("invited-{slot}")
}

/// The queue mark of the final PDF emailed to the party at `slot`.
fn final_pdf_event(slot: u8) -> String {
    format!("final-pdf-to-{slot}")
}

impl Notifier {
    /// What a message says about the document; the sender is named as
    /// people know them (this node's person when this node sent it).
    fn about(&self, summary: &Summary) -> About {
        let sender = if summary.created_by_me { self.name.clone() } else { summary.creator.clone() };
        About { envelope: summary.id.clone(), title: summary.title.clone(), sender }
    }
}

/// Delivers queued messages as they come due, until the runtime stops. A
/// message written to the outbox folder waits for the person to send it by
/// hand, unless it is to `me`, the person themselves.
async fn run_worker(queue: Queue, config: Arc<RwLock<NotifyConfig>>, outbox: PathBuf, wake: Arc<Notify>, me: Option<String>) {
    loop {
        let mut next_due: Option<u64> = None;
        for mut message in queue.waiting() {
            if message.expires_ms.is_some_and(|at| at < now_ms()) {
                tracing::info!("dropping the {:?} message {}: it expired before it could be delivered", message.kind, message.id);
                queue.remove_pending(&message);
                continue;
            }
            if !queue.is_pending(&message) {
                // Sent by hand, or dropped, since the folder was read.
                continue;
            }
            if message.next_at_ms > now_ms() {
                next_due = Some(next_due.map_or(message.next_at_ms, |t| t.min(message.next_at_ms)));
                continue;
            }
            let settings = config.read().unwrap_or_else(PoisonError::into_inner).clone();
            let (attempt, folder) = (message.clone(), outbox.clone());
            let result = tokio::task::spawn_blocking(move || channels::deliver(&attempt, &settings, &folder))
                .await
                .unwrap_or_else(|_| Err(channels::Failure { reason: "the delivery stopped unexpectedly".into(), permanent: false }));
            match result {
                Ok(channels::Delivered::Outbox(file)) if me.as_deref() != Some(message.to.as_str()) => {
                    tracing::info!("the {:?} message {} waits to be sent by hand ({file})", message.kind, message.id);
                    if let Err(e) = queue.to_forward(&message) {
                        tracing::error!("message {} is in the outbox but cannot be listed to send by hand: {e}", message.id);
                    }
                }
                Ok(how) => {
                    tracing::info!("delivered the {:?} message {} ({how:?})", message.kind, message.id);
                    if let Err(e) = queue.delivered(&message) {
                        tracing::error!("message {} was delivered but cannot be marked so: {e}", message.id);
                    }
                }
                Err(failure) if failure.permanent => {
                    tracing::warn!("gave up on the {:?} message {}: {}", message.kind, message.id, failure.reason);
                    if let Err(e) = queue.gave_up(&mut message, &failure.reason) {
                        tracing::error!("message {} cannot be filed as failed: {e}", message.id);
                    }
                }
                Err(failure) => {
                    let error = failure.reason;
                    tracing::warn!(
                        "the {:?} message {} was not delivered (attempt {}): {error}",
                        message.kind,
                        message.id,
                        message.attempts + 1
                    );
                    if let Err(e) = queue.failed(&mut message, &error, now_ms()) {
                        tracing::error!("message {} cannot be kept for a retry: {e}", message.id);
                    }
                    next_due = Some(next_due.map_or(message.next_at_ms, |t| t.min(message.next_at_ms)));
                }
            }
        }
        let wait = next_due.map_or(IDLE, |t| Duration::from_millis(t.saturating_sub(now_ms())).min(IDLE));
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}
