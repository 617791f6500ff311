//! Fetching the blobs an envelope needs, and serving them to its parties:
//! one stream per blob ([`crate::net::blob_stream`]), read and written by a
//! task of its own; the outcome comes back to the application's task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::blobs::{ChunkOutcome, Digest, DiskBlobs};
use crate::datadir::DataDirError;
use crate::net::blob_stream::{BlobAsk, BlobStream};
use tokio::sync::mpsc;

use super::*;

/// How long opening a stream or an answer may take.
const STALL: Duration = Duration::from_secs(30);
/// How long one part (1 MiB) may take to arrive, or to be sent: slower
/// than about 17 KB/s, the other side is stalling (or too slow to wait for).
const PART_TIME: Duration = Duration::from_secs(60);
/// How long a peer may take to say what it asks for (72 bytes).
const ASK_TIME: Duration = Duration::from_secs(5);
/// Bytes read from the stream before they go to be stored.
const PART: usize = 1024 * 1024;
/// Parts read ahead of the writer.
const PARTS_AHEAD: usize = 4;
/// Bytes stored between flushes to the disk while a download runs (the
/// disk writes while the network reads; the last flush has little left).
const FLUSH_EVERY: u64 = 4 * 1024 * 1024;
/// Downloads running at once (each holds up to five parts); the others wait.
const DOWNLOADS_AT_ONCE: usize = 8;
/// Blobs served at once, and to one party at once; a party asking beyond
/// that hears "not here" and asks again (or another party) a moment later.
pub(super) const SERVING_AT_ONCE: usize = 8;
const SERVING_ONE_PARTY: usize = 4;
/// Streams whose ask is still being read, and per party; more are dropped unread.
pub(super) const ASKS_AT_ONCE: usize = 64;
const ASKS_ONE_PARTY: usize = 8;

/// How a download from one party ended.
#[derive(Debug)]
pub(super) enum Downloaded {
    /// Stored whole, its hash checked.
    Complete,
    /// The party did not answer, or does not have it (for us).
    NotThere(String),
    /// The party offered a length other than the one the log names.
    WrongLength(u64),
    /// The bytes did not match the hash (the partial copy was discarded);
    /// `all_from_this_party` unless the download resumed bytes held before.
    Damaged { all_from_this_party: bool },
    /// This node could not store it (a full disk): not the party's fault.
    NotStored(String),
}

impl App {
    pub(super) fn fetch_missing(&mut self, envelope: EnvelopeId) {
        if self.downloads_paused_until.is_some_and(|until| Instant::now() < until) {
            return;
        }
        for hash in self.envelopes.missing_blobs(envelope) {
            if self.fetches.contains_key(&hash) {
                continue;
            }
            // The log names each blob's length: a peer that offers another is not believed.
            let party = self.envelopes.party();
            let Some(total) = party.state_ref(envelope).ok().and_then(|state| party.blob_len(state, &hash)) else { continue };
            if total > MAX_BLOB {
                tracing::warn!("blob {} of envelope {} is {total} bytes, more than a node takes", hash.short(), envelope.short());
                continue;
            }
            let received = Arc::new(AtomicU64::new(self.envelopes.disk().partial_len(&hash)));
            self.fetches.insert(hash, Fetch { envelope, total, received, source: None, tried: HashSet::new() });
            self.ask_next_source(hash);
        }
    }

    /// Downloads a blob from a connected party that has not been asked yet;
    /// gives up (until the next retry) when none is left. Waits (as a fetch
    /// with no source) while [`DOWNLOADS_AT_ONCE`] downloads run.
    pub(super) fn ask_next_source(&mut self, hash: Hash) {
        if let Some(fetch) = self.fetches.get_mut(&hash) {
            fetch.source = None;
        }
        if self.room_for_downloads() > 0 {
            self.start_download(hash);
        }
    }

    /// How many more downloads may start now (none while paused).
    fn room_for_downloads(&self) -> usize {
        if self.downloads_paused_until.is_some_and(|until| Instant::now() < until) {
            return 0;
        }
        DOWNLOADS_AT_ONCE.saturating_sub(self.fetches.values().filter(|f| f.source.is_some()).count())
    }

    /// Starts downloading a blob from the next party not asked yet; drops the
    /// fetch (until the next retry) when none is left. Whether one started.
    fn start_download(&mut self, hash: Hash) -> bool {
        let Some(fetch) = self.fetches.get(&hash) else { return false };
        let envelope = fetch.envelope;
        let source = self.envelopes.peers_of(envelope).into_iter().find(|p| self.connected.contains(p) && !fetch.tried.contains(p));
        let Some(peer) = source else {
            self.fetches.remove(&hash);
            return false;
        };
        let Some(fetch) = self.fetches.get_mut(&hash) else { return false };
        fetch.source = Some(peer);
        let (net, disk, done) = (self.net.clone(), self.envelopes.disk().clone(), self.done_tx.clone());
        let (total, received) = (fetch.total, fetch.received.clone());
        tokio::spawn(async move {
            let outcome = download(&net, disk, peer, BlobAsk { envelope, hash, offset: 0 }, total, received).await;
            let _ = done.send(Done::Downloaded { hash, peer, outcome }).await;
        });
        true
    }

    /// Starts downloads that wait for a turn, while there is room.
    pub(super) fn start_waiting_downloads(&mut self) {
        let mut room = self.room_for_downloads();
        let waiting: Vec<Hash> = self.fetches.iter().filter(|(_, f)| f.source.is_none()).map(|(hash, _)| *hash).collect();
        for hash in waiting {
            if room == 0 {
                return;
            }
            if self.start_download(hash) {
                room -= 1;
            }
        }
    }

    /// Acts on how a download ended: done, or the next party, or a pause.
    pub(super) fn finish_download(&mut self, hash: Hash, peer: PublicKey, outcome: Downloaded) {
        self.settle_download(hash, peer, outcome);
        self.start_waiting_downloads();
    }

    fn settle_download(&mut self, hash: Hash, peer: PublicKey, outcome: Downloaded) {
        let Some(fetch) = self.fetches.get_mut(&hash) else { return };
        let envelope = fetch.envelope;
        match outcome {
            Downloaded::Complete => {
                self.fetches.remove(&hash);
                self.stalled.remove(&hash);
                tracing::info!("received blob {} for envelope {}", hash.short(), envelope.short());
                self.start_sealing(envelope);
                self.notice(envelope);
            }
            Downloaded::NotThere(why) => {
                tracing::debug!(%peer, "no blob {} from this party: {why}", hash.short());
                fetch.tried.insert(peer);
                self.ask_next_source(hash);
            }
            Downloaded::WrongLength(offered) => {
                // Another envelope's log may name this hash with another
                // length (its author lied): the peer is not cut off for it.
                tracing::warn!(%peer, "a peer offered a {offered}-byte blob, not the {} bytes the log names: asking another", fetch.total);
                fetch.tried.insert(peer);
                self.ask_next_source(hash);
            }
            Downloaded::Damaged { all_from_this_party: true } => {
                tracing::warn!(%peer, "cutting off a peer that sent a blob that does not match its hash");
                fetch.tried.insert(peer);
                self.net.disconnect(peer);
                fetch_again(fetch);
                self.ask_next_source(hash);
            }
            Downloaded::Damaged { all_from_this_party: false } => {
                // Bytes held before (another party's, or a crash's) may be the
                // bad ones: nobody is blamed, the whole blob is fetched again.
                tracing::warn!("blob {} did not match its hash after a resumed download: fetching it again whole", hash.short());
                fetch_again(fetch);
                self.ask_next_source(hash);
            }
            Downloaded::NotStored(problem) => {
                // This node's own trouble (a full disk): the peer is not to blame.
                tracing::error!("cannot store the download of {} for envelope {}: {problem}", hash.short(), envelope.short());
                let received = fetch.received.load(Ordering::Relaxed);
                self.stalled.insert(hash, Stalled { envelope, received, total: fetch.total, problem });
                self.fetches.remove(&hash);
                self.downloads_paused_until = Some(Instant::now() + PAUSE_DOWNLOADS);
            }
        }
    }

    /// A party's node opened a blob stream: what it asks for is read off this
    /// task, then [`Self::serve`] decides.
    pub(super) fn blob_stream_opened(&mut self, from: PublicKey, mut stream: BlobStream) {
        // Only a party of an envelope held here may ask for anything.
        let asking = self.asking.get(&from).copied().unwrap_or(0);
        if asking >= ASKS_ONE_PARTY || !self.is_a_party(&from) {
            tracing::debug!(peer = %from, asking, "a blob stream refused: not a party here, or too many asks");
            return;
        }
        let Ok(reading) = self.asks_read.clone().try_acquire_owned() else {
            tracing::debug!(peer = %from, "too many blob streams at once: one dropped unread");
            return;
        };
        self.asking.insert(from, asking + 1);
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let ask = tokio::time::timeout(ASK_TIME, stream.read_ask()).await.ok().and_then(Result::ok);
            let _ = done.send(Done::BlobAsked { from, ask, stream, reading }).await;
        });
    }

    /// Serves a blob to a party of an envelope that names it; anyone else
    /// hears that it is not here.
    pub(super) fn serve(&mut self, from: PublicKey, ask: Option<BlobAsk>, mut stream: BlobStream) {
        count_down(&mut self.asking, &from);
        let Some(ask) = ask else { return };
        // A permit for each blob served, held until its last byte is sent.
        let serving_them = self.serving_to.get(&from).copied().unwrap_or(0);
        let permit = (serving_them < SERVING_ONE_PARTY && self.may_fetch(&from, ask.envelope, &ask.hash))
            .then(|| self.serving.clone().try_acquire_owned().ok())
            .flatten();
        if permit.is_some() {
            self.serving_to.insert(from, serving_them + 1);
        }
        let disk = self.envelopes.disk().clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let served = permit.is_some();
            let opened = match permit {
                Some(_) => tokio::task::spawn_blocking(move || disk.open_whole(&ask.hash)).await.ok().flatten(),
                None => None,
            };
            let result = match opened {
                Some((file, total)) if ask.offset <= total => send_blob(&mut stream, file, total, ask.offset).await,
                _ => stream.answer(None).await,
            };
            if let Err(e) = result {
                tracing::debug!(peer = %from, "serving blob {} stopped: {e}", ask.hash.short());
            }
            drop(permit);
            if served {
                let _ = done.send(Done::Served { to: from }).await;
            }
        });
    }

    /// A blob served to `to` is done (sent, or given up).
    pub(super) fn served(&mut self, to: PublicKey) {
        count_down(&mut self.serving_to, &to);
    }

    /// Whether `key` is a party of any envelope held here (the set is
    /// gathered again after any envelope changes).
    fn is_a_party(&mut self, key: &PublicKey) -> bool {
        if self.parties.is_none() {
            let envelopes = &self.envelopes;
            self.parties = Some(envelopes.ids().into_iter().flat_map(|e| envelopes.peers_of(e)).collect());
        }
        self.parties.as_ref().is_some_and(|parties| parties.contains(key))
    }

    /// A blob goes only to a party of an envelope that names it.
    pub(super) fn may_fetch(&self, key: &PublicKey, envelope: EnvelopeId, hash: &Hash) -> bool {
        let party = self.envelopes.party();
        let Ok(state) = party.state_ref(envelope) else { return false };
        party.is_party(state, key) && party.needed_blobs(state).contains(hash)
    }
}

/// Downloads `ask.hash` from `peer`, resuming what is held; a writer on
/// a blocking thread stores and hashes each part while the next arrives.
/// `received` follows the bytes held.
async fn download(net: &Network, disk: DiskBlobs, peer: PublicKey, ask: BlobAsk, total: u64, received: Arc<AtomicU64>) -> Downloaded {
    let start = disk.partial_len(&ask.hash);
    if start >= total {
        // All held already (a crash, or a full disk, before the blob was
        // moved into place) or more than the log names: decided here.
        let store = disk.clone();
        let checked = tokio::task::spawn_blocking(move || store.write_chunk(&ask.hash, total, start, &[], &mut Digest::default())).await;
        return match checked {
            Ok(Ok(ChunkOutcome::Complete)) => Downloaded::Complete,
            Ok(Err(DataDirError::Damaged(..))) => Downloaded::Damaged { all_from_this_party: false },
            Ok(Err(e)) => Downloaded::NotStored(e.to_string()),
            Ok(Ok(ChunkOutcome::Stored(_))) | Err(_) => Downloaded::NotStored("the partial copy could not be checked".into()),
        };
    }
    let ask = BlobAsk { offset: start, ..ask };
    let mut stream = match tokio::time::timeout(STALL, net.open_blob_stream(peer)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(Unanswered(why))) => return Downloaded::NotThere(why),
        Err(_) => return Downloaded::NotThere("no stream in time".into()),
    };
    if let Err(e) = stream.ask(&ask).await {
        return Downloaded::NotThere(e.to_string());
    }
    match tokio::time::timeout(STALL, stream.read_answer()).await {
        Ok(Ok(Some(offered))) if offered == total => {}
        Ok(Ok(Some(offered))) => return Downloaded::WrongLength(offered),
        Ok(Ok(None)) => return Downloaded::NotThere("not here".into()),
        Ok(Err(e)) => return Downloaded::NotThere(e.to_string()),
        Err(_) => return Downloaded::NotThere("no answer in time".into()),
    }
    let (parts, mut to_store) = mpsc::channel::<Vec<u8>>(PARTS_AHEAD);
    let writer = tokio::task::spawn_blocking(move || {
        let mut digest = Digest::default();
        let mut at = start;
        let mut flushed = start;
        while let Some(part) = to_store.blocking_recv() {
            let expected = at + part.len() as u64;
            match disk.write_chunk(&ask.hash, total, at, &part, &mut digest) {
                Ok(ChunkOutcome::Stored(held)) if held == expected => {
                    at = held;
                    received.store(held, Ordering::Relaxed);
                    if held - flushed >= FLUSH_EVERY {
                        disk.flush_partial(&ask.hash);
                        flushed = held;
                    }
                }
                // Another download of the same blob moved the partial copy: start over later.
                Ok(ChunkOutcome::Stored(held)) => return Downloaded::NotThere(format!("the partial copy holds {held} bytes, not {at}")),
                Ok(ChunkOutcome::Complete) => return Downloaded::Complete,
                Err(DataDirError::Damaged(..)) => return Downloaded::Damaged { all_from_this_party: start == 0 },
                Err(e) => return Downloaded::NotStored(e.to_string()),
            }
        }
        Downloaded::NotThere(format!("the download stopped at {at} of {total} bytes"))
    });
    let mut at = start;
    let stopped = loop {
        if at >= total {
            break None;
        }
        let want = usize::try_from(total - at).unwrap_or(PART).min(PART);
        let mut part = vec![0u8; want];
        let mut filled = 0;
        // A whole part in time, not just some bytes: a trickle ends the download.
        let _ = tokio::time::timeout(PART_TIME, async {
            while filled < want {
                match stream.read(&mut part[filled..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => filled += n,
                }
            }
        })
        .await;
        if filled < want {
            break Some(format!("the bytes stopped coming at {} of {total}", at + filled as u64));
        }
        at += want as u64;
        // The writer gave up (its outcome says why).
        if parts.send(part).await.is_err() {
            break None;
        }
    };
    drop(parts);
    match (writer.await, stopped) {
        (Ok(Downloaded::NotThere(_)), Some(why)) => Downloaded::NotThere(why),
        (Ok(outcome), _) => outcome,
        (Err(_), _) => Downloaded::NotStored("storing the download failed".into()),
    }
}

/// Sends a blob's length and its bytes from `offset`.
async fn send_blob(stream: &mut BlobStream, file: std::fs::File, total: u64, offset: u64) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
    let mut file = tokio::fs::File::from_std(file);
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    stream.answer(Some(total)).await?;
    let mut buffer = vec![0u8; PART];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            return stream.close().await;
        }
        // An asker that stops reading lets the part go nowhere: it is dropped.
        let sent = tokio::time::timeout(PART_TIME, stream.write_all(&buffer[..n])).await;
        sent.map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the asker stopped reading"))??;
    }
}

/// Starts a fetch over from nothing (its partial copy was discarded).
fn fetch_again(fetch: &mut Fetch) {
    fetch.received.store(0, Ordering::Relaxed);
}

/// One fewer for `key` in `counts` (a key with none left is dropped).
fn count_down(counts: &mut HashMap<PublicKey, usize>, key: &PublicKey) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(key);
        }
    }
}
