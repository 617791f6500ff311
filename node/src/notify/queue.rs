//! The durable queue of messages on disk, so nothing is lost when a server
//! is down or the node restarts.
//!
//! ```text
//! <data-dir>/notify/
//!   pending/<id>.json      a message waiting (or retrying), with its attempts
//!   pending/<id>.<n>.bin   its attachments
//!   sent/<id>.json         delivered (kept as a record, attachments dropped)
//!   forward/<id>.json      written to the outbox folder (no email or SMS
//!                          settings): waits for a person to send it by hand
//!   failed/<id>.json       refused for good (a bad address…): shown, not retried
//!   events/<envelope>.<what>  a notice already queued (completion, decline…)
//! ```
//!
//! A message is written (atomically) before anyone is told it is queued, and
//! moved to `sent/` right after its delivery succeeds, so a restart resends
//! only what was not delivered.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::datadir::{DataDir, DataDirError, write_atomic};
use crate::notify::message::Message;

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// The queue of one data dir.
#[derive(Debug, Clone)]
pub struct Queue {
    root: PathBuf,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DataDirError + 'a {
    move |source| DataDirError::Io { what, path: path.display().to_string(), source }
}

impl Queue {
    /// The queue under `data`'s `notify/` folder.
    pub fn open(data: &DataDir) -> Result<Queue, DataDirError> {
        let root = data.path("notify");
        for sub in ["pending", "sent", "failed", "events", "forward"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        }
        Ok(Queue { root })
    }

    fn pending(&self) -> PathBuf {
        self.root.join("pending")
    }

    /// Adds a message (its attachments first, then the message itself).
    pub fn push(&self, message: &Message) -> Result<(), DataDirError> {
        for (n, attachment) in message.attachments.iter().enumerate() {
            write_atomic(&self.pending().join(format!("{}.{n}.bin", message.id)), &attachment.bytes, true)?;
        }
        self.save(message)
    }

    /// Writes a message's state (after a failed attempt).
    pub fn save(&self, message: &Message) -> Result<(), DataDirError> {
        let bytes = serde_json::to_vec_pretty(message).map_err(|e| DataDirError::Damaged(message.id.clone(), e.to_string()))?;
        write_atomic(&self.pending().join(format!("{}.json", message.id)), &bytes, true)
    }

    /// Every message not yet delivered, oldest first, without reading their
    /// attachments (for listing).
    pub fn waiting_without_attachments(&self) -> Vec<Message> {
        let Ok(entries) = fs::read_dir(self.pending()) else { return Vec::new() };
        let mut messages: Vec<Message> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| fs::read(&p).ok())
            .filter_map(|bytes| serde_json::from_slice::<Message>(&bytes).ok())
            .collect();
        messages.sort_by_key(|m| (m.created_ms, m.id.clone()));
        messages
    }

    /// Every message not yet delivered, oldest first, attachments loaded (an
    /// attachment that cannot be read stays empty, and delivery refuses it).
    pub fn waiting(&self) -> Vec<Message> {
        let mut messages = self.waiting_without_attachments();
        for message in &mut messages {
            let id = message.id.clone();
            for (n, attachment) in message.attachments.iter_mut().enumerate() {
                attachment.bytes = fs::read(self.pending().join(format!("{id}.{n}.bin"))).unwrap_or_default();
            }
        }
        messages
    }

    /// Removes a message and its attachments from `pending/` (expired, or filed elsewhere).
    pub fn remove_pending(&self, message: &Message) {
        let _ = fs::remove_file(self.pending().join(format!("{}.json", message.id)));
        for n in 0..message.attachments.len() {
            let _ = fs::remove_file(self.pending().join(format!("{}.{n}.bin", message.id)));
        }
    }

    /// Records a delivery: the message moves to `sent/`, its attachments go.
    pub fn delivered(&self, message: &Message) -> Result<(), DataDirError> {
        let from = self.pending().join(format!("{}.json", message.id));
        let to = self.root.join("sent").join(format!("{}.json", message.id));
        if let Err(e) = fs::rename(&from, &to) {
            // It went out: never send it again, even if it cannot be filed.
            let _ = fs::remove_file(&from);
            return Err(io("cannot move", &from)(e));
        }
        for n in 0..message.attachments.len() {
            let _ = fs::remove_file(self.pending().join(format!("{}.{n}.bin", message.id)));
        }
        Ok(())
    }

    /// Records a message written to the outbox folder: it waits in
    /// `forward/` until its person says they sent it by hand.
    /// Its attachments go with it, so that it can still be delivered once
    /// email or SMS is set up ([`Queue::requeue_forwarding`]).
    /// The message moves by renaming: one that left `pending/` meanwhile
    /// (marked sent, or dropped) is not brought back.
    pub fn to_forward(&self, message: &Message) -> Result<(), DataDirError> {
        let forward = self.root.join("forward");
        let from = self.pending().join(format!("{}.json", message.id));
        match fs::rename(&from, forward.join(format!("{}.json", message.id))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("cannot move", &from)(e)),
        }
        for n in 0..message.attachments.len() {
            let name = format!("{}.{n}.bin", message.id);
            let _ = fs::rename(self.pending().join(&name), forward.join(&name));
        }
        Ok(())
    }

    /// Whether `message` still waits in `pending/` (it may have been marked
    /// sent by hand, or dropped, since the worker read the folder).
    pub fn is_pending(&self, message: &Message) -> bool {
        self.pending().join(format!("{}.json", message.id)).exists()
    }

    /// Puts the messages waiting to be sent by hand that `deliverable` now
    /// takes (email or SMS was set up) back in the queue, due now.
    pub fn requeue_forwarding(&self, deliverable: impl Fn(&Message) -> bool) {
        let forward = self.root.join("forward");
        for mut message in self.forwarding().into_iter().filter(|m| deliverable(m)) {
            for n in 0..message.attachments.len() {
                let name = format!("{}.{n}.bin", message.id);
                let _ = fs::rename(forward.join(&name), self.pending().join(&name));
            }
            message.next_at_ms = 0;
            if self.save(&message).is_ok() {
                let _ = fs::remove_file(forward.join(format!("{}.json", message.id)));
            }
        }
    }

    /// Messages waiting to be sent by hand, oldest first.
    pub fn forwarding(&self) -> Vec<Message> {
        let Ok(entries) = fs::read_dir(self.root.join("forward")) else { return Vec::new() };
        let mut messages: Vec<Message> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| fs::read(p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        messages.sort_by_key(|m| (m.created_ms, m.id.clone()));
        messages
    }

    /// The message `id` was sent by hand: it moves from `pending/` (not
    /// filed yet) or `forward/` to `sent/`. False for an id that waits for
    /// nothing.
    pub fn forwarded(&self, id: &str) -> Result<bool, DataDirError> {
        // Ids are ours (hex, letters, digits and '-'); anything else names no file.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Ok(false);
        }
        for folder in [self.pending(), self.root.join("forward")] {
            let from = folder.join(format!("{id}.json"));
            let Ok(bytes) = fs::read(&from) else { continue };
            let attachments = serde_json::from_slice::<Message>(&bytes).map_or(0, |m| m.attachments.len());
            match fs::rename(&from, self.root.join("sent").join(format!("{id}.json"))) {
                Ok(()) => {}
                // Filed by the worker meanwhile: it is in `forward/` now.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("cannot move", &from)(e)),
            }
            for n in 0..attachments {
                let _ = fs::remove_file(folder.join(format!("{id}.{n}.bin")));
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Drops the messages of `envelope` that `moot` says no longer matter
    /// (an invitation to a document that was declined), waiting or to be
    /// sent by hand; answers how many.
    pub fn drop_moot(&self, envelope: &str, moot: impl Fn(&Message) -> bool) -> usize {
        let mut dropped = 0;
        for (folder, messages) in [(self.pending(), self.waiting_without_attachments()), (self.root.join("forward"), self.forwarding())] {
            for message in messages.iter().filter(|m| m.envelope == envelope && moot(m)) {
                if fs::remove_file(folder.join(format!("{}.json", message.id))).is_ok() {
                    dropped += 1;
                }
                for n in 0..message.attachments.len() {
                    let _ = fs::remove_file(folder.join(format!("{}.{n}.bin", message.id)));
                }
            }
        }
        dropped
    }

    /// Makes every waiting message due now (new settings may deliver it).
    pub fn retry_now(&self) {
        for mut message in self.waiting_without_attachments() {
            if message.next_at_ms > 0 {
                message.next_at_ms = 0;
                let _ = self.save(&message);
            }
        }
    }

    /// Records a failed attempt and when to try again (doubling, up to 15 minutes).
    pub fn failed(&self, message: &mut Message, error: &str, now_ms: u64) -> Result<(), DataDirError> {
        message.attempts += 1;
        message.last_error = Some(error.to_owned());
        message.next_at_ms = now_ms + backoff(message.attempts).as_millis() as u64;
        self.save(message)
    }

    /// Gives up on a message refused for good: it moves to `failed/`.
    pub fn gave_up(&self, message: &mut Message, error: &str) -> Result<(), DataDirError> {
        message.attempts += 1;
        message.last_error = Some(error.to_owned());
        let bytes = serde_json::to_vec_pretty(&*message).map_err(|e| DataDirError::Damaged(message.id.clone(), e.to_string()))?;
        write_atomic(&self.root.join("failed").join(format!("{}.json", message.id)), &bytes, true)?;
        self.remove_pending(message);
        Ok(())
    }

    /// Messages refused for good.
    pub fn failed_messages(&self) -> Vec<Message> {
        let Ok(entries) = fs::read_dir(self.root.join("failed")) else { return Vec::new() };
        let mut messages: Vec<Message> =
            entries.flatten().filter_map(|e| fs::read(e.path()).ok()).filter_map(|b| serde_json::from_slice(&b).ok()).collect();
        messages.sort_by_key(|m| m.created_ms);
        messages
    }

    /// Messages delivered so far.
    pub fn sent(&self) -> Vec<Message> {
        let Ok(entries) = fs::read_dir(self.root.join("sent")) else { return Vec::new() };
        let mut messages: Vec<Message> =
            entries.flatten().filter_map(|e| fs::read(e.path()).ok()).filter_map(|b| serde_json::from_slice(&b).ok()).collect();
        messages.sort_by_key(|m| m.created_ms);
        messages
    }

    /// Marks `event` of `envelope` as handled; false if it already was.
    pub fn first_time(&self, envelope: &str, event: &str) -> Result<bool, DataDirError> {
        let path = self.root.join("events").join(format!("{envelope}.{event}"));
        if path.exists() {
            return Ok(false);
        }
        write_atomic(&path, b"", false)?;
        Ok(true)
    }

    /// When `event` of `envelope` was marked, in Unix ms.
    pub fn marked_at(&self, envelope: &str, event: &str) -> Option<u64> {
        let modified = fs::metadata(self.root.join("events").join(format!("{envelope}.{event}"))).ok()?.modified().ok()?;
        Some(modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
    }

    /// Marks `event` of `envelope` again, now (for repeated reminders).
    pub fn mark(&self, envelope: &str, event: &str) -> Result<(), DataDirError> {
        write_atomic(&self.root.join("events").join(format!("{envelope}.{event}")), b"", false)
    }
}

/// 2 s, 4 s, 8 s… up to 15 minutes.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.min(20))).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::message::{About, Recipient, completion};

    fn queue() -> Queue {
        let dir = std::env::temp_dir().join(format!("countersign-queue-{}-{}", std::process::id(), crate::party::random_hex()));
        let data = DataDir::resolve(Some(dir)).unwrap();
        Queue::open(&data).unwrap()
    }

    #[test]
    fn a_message_survives_until_delivered_with_its_attachment() {
        let queue = queue();
        let about = About { envelope: "ab".into(), title: "T".into(), sender: "S".into() };
        let to = Recipient { name: "D".into(), contact: "d@acme.test".into() };
        let mut message = completion(&about, &to, b"%PDF-final".to_vec(), "https://v.example/e/ab");
        queue.push(&message).unwrap();
        queue.failed(&mut message, "connection refused", 1000).unwrap();
        let waiting = queue.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!((waiting[0].attempts, waiting[0].next_at_ms), (1, 3000));
        assert_eq!(waiting[0].attachments[0].bytes, b"%PDF-final");
        queue.delivered(&waiting[0]).unwrap();
        assert!(queue.waiting().is_empty());
        assert_eq!(queue.sent().len(), 1);
    }

    #[test]
    fn a_message_sent_by_hand_leaves_the_list_and_one_waiting_goes_out_once_settings_come() {
        let queue = queue();
        let about = About { envelope: "ab".into(), title: "T".into(), sender: "S".into() };
        let to = Recipient { name: "D".into(), contact: "d@acme.test".into() };
        let (first, second) = (completion(&about, &to, b"%PDF-1".to_vec(), "x"), completion(&about, &to, b"%PDF-2".to_vec(), "x"));
        for message in [&first, &second] {
            queue.push(message).unwrap();
            queue.to_forward(message).unwrap();
        }
        assert!(queue.waiting().is_empty() && !queue.is_pending(&first));
        assert_eq!(queue.forwarding().len(), 2, "listed, attachments not read as messages");
        // Filed again after it was marked sent: not brought back.
        assert!(queue.forwarded(&first.id).unwrap());
        queue.to_forward(&first).unwrap();
        assert_eq!(queue.forwarding().len(), 1);
        for bad in ["", "../sent/x", &first.id, "no-such-id"] {
            assert!(!queue.forwarded(bad).unwrap(), "{bad}");
        }
        // Email set up: the other one goes back in the queue, its PDF with it.
        queue.requeue_forwarding(|_| true);
        let waiting = queue.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].attachments[0].bytes, b"%PDF-2");
        assert!(queue.forwarding().is_empty());
        // Ended: asking messages are dropped wherever they wait.
        assert_eq!(queue.drop_moot("ab", |_| true), 1);
        assert!(queue.waiting().is_empty());
    }

    #[test]
    fn an_event_is_handled_once() {
        let queue = queue();
        assert!(queue.first_time("ab", "completed").unwrap());
        assert!(!queue.first_time("ab", "completed").unwrap());
        assert!(queue.marked_at("ab", "completed").is_some());
    }

    #[test]
    fn backoff_doubles_and_stops_growing() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
