//! Fetching the blobs an envelope needs, chunk by chunk, and serving them to parties.

use super::*;

impl App {
    pub(super) fn fetch_missing(&mut self, envelope: EnvelopeId) {
        if self.downloads_paused_until.is_some_and(|until| Instant::now() < until) {
            return;
        }
        for hash in self.envelopes.missing_blobs(envelope) {
            if self.fetches.contains_key(&hash) {
                continue;
            }
            let offset = self.envelopes.disk().partial_len(&hash);
            let fetch = Fetch {
                envelope,
                total: None,
                received: offset,
                next: offset,
                in_flight: 0,
                ahead: Default::default(),
                source: None,
                tried: HashSet::new(),
                digest: Default::default(),
            };
            self.fetches.insert(hash, fetch);
            self.ask_next_source(hash);
        }
    }

    /// Asks a connected party that has not been asked yet for a blob; gives up
    /// (until the next retry) when none is left.
    pub(super) fn ask_next_source(&mut self, hash: Hash) {
        let Some(fetch) = self.fetches.get(&hash) else { return };
        let (envelope, offset) = (fetch.envelope, fetch.received);
        let source = self.envelopes.peers_of(envelope).into_iter().find(|p| self.connected.contains(p) && !fetch.tried.contains(p));
        match source {
            Some(peer) => {
                if let Some(fetch) = self.fetches.get_mut(&hash) {
                    fetch.source = Some(peer);
                    fetch.next = offset;
                    fetch.in_flight = 0;
                    fetch.ahead.clear();
                }
                self.fill_window(hash);
            }
            None => {
                self.fetches.remove(&hash);
            }
        }
    }

    /// Keeps up to [`WINDOW`] chunk requests in flight (one until the size is known).
    pub(super) fn fill_window(&mut self, hash: Hash) {
        loop {
            let Some(fetch) = self.fetches.get_mut(&hash) else { return };
            let Some(peer) = fetch.source else { return };
            let limit = if fetch.total.is_some() { WINDOW } else { 1 };
            if fetch.in_flight >= limit || fetch.total.is_some_and(|t| fetch.next >= t) {
                return;
            }
            let (envelope, offset) = (fetch.envelope, fetch.next);
            fetch.next += CHUNK as u64;
            fetch.in_flight += 1;
            self.request_chunk(peer, envelope, hash, offset);
        }
    }

    pub(super) fn request_chunk(&mut self, peer: PublicKey, envelope: EnvelopeId, hash: Hash, offset: u64) {
        self.ask(peer, Request::Blob { envelope, hash, offset }, Asked::Chunk(hash, offset));
    }

    pub(super) fn handle_blob_request(&mut self, peer: PublicKey, envelope: EnvelopeId, hash: Hash, offset: u64, responder: Responder) {
        let chunk = self.may_fetch(&peer, envelope, &hash).then(|| self.envelopes.disk().read_chunk(&hash, offset, CHUNK)).flatten();
        let response = match chunk {
            Some((total, chunk)) => Response::Blob { total, chunk },
            None => Response::Unknown,
        };
        self.net.respond(responder, response);
    }

    /// A blob goes only to a party of an envelope that names it.
    pub(super) fn may_fetch(&self, key: &PublicKey, envelope: EnvelopeId, hash: &Hash) -> bool {
        let party = self.envelopes.party();
        let Ok(state) = party.state_ref(envelope) else { return false };
        party.is_party(state, key) && party.needed_blobs(state).contains(hash)
    }

    pub(super) fn handle_blob_response(&mut self, peer: PublicKey, hash: Hash, offset: u64, response: Response) {
        let Some(fetch) = self.fetches.get_mut(&hash) else { return };
        let envelope = fetch.envelope;
        let (total, chunk) = match response {
            Response::Blob { total, chunk } if total <= MAX_BLOB && !chunk.is_empty() => (total, chunk),
            Response::Blob { total, .. } if total > MAX_BLOB => {
                tracing::warn!(%peer, "cutting off a peer that offered a {total}-byte blob");
                self.fetches.remove(&hash);
                self.net.disconnect(peer);
                return;
            }
            _ => {
                fetch.tried.insert(peer);
                self.ask_next_source(hash);
                return;
            }
        };
        fetch.total = Some(total);
        fetch.in_flight = fetch.in_flight.saturating_sub(1);
        fetch.ahead.insert(offset, chunk);
        // Store every chunk whose turn has come, in order.
        let disk = self.envelopes.disk().clone();
        while let Some(chunk) = fetch.ahead.remove(&fetch.received) {
            match disk.write_chunk(&hash, total, fetch.received, &chunk, &mut fetch.digest) {
                Ok(ChunkOutcome::Stored(held)) => {
                    fetch.received = held;
                    self.stalled.remove(&hash);
                }
                Ok(ChunkOutcome::Complete) => {
                    self.fetches.remove(&hash);
                    self.stalled.remove(&hash);
                    tracing::info!("received blob {} for envelope {}", hash.short(), envelope.short());
                    self.start_sealing(envelope);
                    self.notice(envelope);
                    return;
                }
                Err(crate::datadir::DataDirError::Damaged(..)) => {
                    tracing::warn!(%peer, "cutting off a peer that sent a blob that does not match its hash");
                    self.fetches.remove(&hash);
                    self.net.disconnect(peer);
                    return;
                }
                Err(e) => {
                    // This node's own trouble (a full disk): the peer is not to blame.
                    tracing::error!("cannot store the download of {} for envelope {}: {e}", hash.short(), envelope.short());
                    let stalled = Stalled { envelope, received: fetch.received, total, problem: e.to_string() };
                    self.stalled.insert(hash, stalled);
                    self.fetches.remove(&hash);
                    self.downloads_paused_until = Some(Instant::now() + PAUSE_DOWNLOADS);
                    return;
                }
            }
        }
        fetch.ahead.retain(|at, _| *at > fetch.received);
        self.fill_window(hash);
    }
}
