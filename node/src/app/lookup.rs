//! Joining by a short invitation link: the joiner asks the inviter which
//! envelope and slot the secret opens, then joins as with a full link.
//!
//! The inviter answers only a proof of the secret made for the asking peer
//! ([`countersign_shared::invite::lookup_message`]), and only for an envelope
//! it created, still waiting for signatures, whose invitation is open;
//! anything else gets `Unknown`, the answer a stranger gets for an envelope
//! that does not exist. Answers come from an index of invite keys: a
//! stranger can make and prove any secret it likes, and must not make the
//! node walk its envelopes.

use countersign_shared::invite::lookup_message;
use countersign_shared::log::Act;
use countersign_shared::log::rules::CLOCK_TOLERANCE_MS;

use super::*;

impl App {
    pub(super) fn look_up_then_join(&mut self, short: ShortInvitation, code: Option<u32>, reply: Reply<String>) {
        let inviter = short.inviter;
        if crate::net::behaviour::peer_id(&inviter).is_none() {
            let _ = reply.send(Err(NodeError::invalid("the invitation names an invalid inviter")));
            return;
        }
        let invite_key = short.invite_key();
        let pending = self.lookups.entry(invite_key).or_insert_with(|| PendingLookup {
            short,
            code,
            replies: Vec::new(),
            deadline: Instant::now() + JOIN_TIMEOUT,
            asking: false,
        });
        pending.code = code.or(pending.code);
        pending.replies.push(reply);
        self.net.add_relay_route(inviter);
        self.ask_lookup(invite_key);
    }

    fn ask_lookup(&mut self, invite_key: PublicKey) {
        let me = self.me();
        let Some(pending) = self.lookups.get_mut(&invite_key) else { return };
        if pending.asking {
            return;
        }
        pending.asking = true;
        let request = Request::Lookup { invite_key, proof: pending.short.lookup_proof(&me) };
        let inviter = pending.short.inviter;
        self.ask(inviter, request, Asked::Lookup(invite_key));
    }

    /// The inviter's answer: join, or say why not.
    pub(super) fn lookup_answered(&mut self, peer: PublicKey, invite_key: PublicKey, answer: Result<Response, Unanswered>) {
        let Some(pending) = self.lookups.get_mut(&invite_key) else { return };
        if peer != pending.short.inviter {
            return;
        }
        pending.asking = false;
        match answer {
            Ok(Response::Found { envelope, slot, expires_at }) => {
                let Some(pending) = self.lookups.remove(&invite_key) else { return };
                let invitation = pending.short.complete(envelope, slot, expires_at);
                self.join_by(invitation, pending.code, pending.replies);
            }
            Ok(_) => self.fail_lookup(
                invite_key,
                "the inviter's node does not recognise this invitation: it was used, has expired, or the envelope was withdrawn",
            ),
            // Not reached yet: asked again, with backoff, until the deadline.
            Err(Unanswered(error)) => {
                tracing::debug!(%peer, "lookup failed: {error}");
                self.back_off(peer);
            }
        }
    }

    pub(super) fn retry_lookups(&mut self, now: Instant) {
        let expired: Vec<PublicKey> = self.lookups.iter().filter(|(_, l)| l.deadline < now).map(|(k, _)| *k).collect();
        for invite_key in expired {
            self.fail_lookup(
                invite_key,
                "the inviter's node could not be reached through the relay or on the local network; make sure it is running, \
                 then try again (a short link from a text message carries no address; the link in the email does)",
            );
        }
        let waiting: Vec<PublicKey> = self.lookups.iter().filter(|(_, l)| !l.asking).map(|(k, _)| *k).collect();
        for invite_key in waiting {
            let inviter = self.lookups[&invite_key].short.inviter;
            if self.due(&inviter, now) {
                self.ask_lookup(invite_key);
            }
        }
    }

    fn fail_lookup(&mut self, invite_key: PublicKey, why: &str) {
        if let Some(pending) = self.lookups.remove(&invite_key) {
            for reply in pending.replies {
                let _ = reply.send(Err(NodeError::refused(why)));
            }
        }
    }

    /// Which envelope of this node's own the short invitation opens, for a
    /// peer that proved the secret. Anyone can make a secret and prove it, so
    /// the answer comes from an index, not a walk through every envelope.
    pub(super) fn look_up_invite(&mut self, asker: PublicKey, invite_key: PublicKey, proof: &countersign_shared::Signature) -> Response {
        if invite_key.verify(&lookup_message(&invite_key, &asker), proof).is_err() {
            return Response::Unknown;
        }
        let Some(envelope) = self.invite_index().get(&invite_key).copied() else { return Response::Unknown };
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return Response::Unknown };
        if state.creator() != self.me() || !matches!(state.status(), countersign_shared::state::Status::Awaiting { .. }) {
            return Response::Unknown;
        }
        let now = now_ms();
        state
            .valid()
            .iter()
            .find_map(|entry| match &entry.entry().act {
                Act::Invite { slot, invite_key: key, expires_at }
                    if *key == invite_key
                        && expires_at.saturating_add(CLOCK_TOLERANCE_MS) >= now
                        && state.binding(*slot).is_none_or(|bound| bound == asker) =>
                {
                    Some(Response::Found { envelope, slot: *slot, expires_at: *expires_at })
                }
                _ => None,
            })
            .unwrap_or(Response::Unknown)
    }

    /// Keeps the index up to date with `envelope` (a document of this node's
    /// own fetched again after damage brings its invitations back).
    pub(super) fn note_invites(&mut self, envelope: EnvelopeId) {
        let me = self.me();
        let Some(index) = &mut self.invite_keys else { return };
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return };
        if state.creator() != me {
            return;
        }
        for entry in state.valid() {
            if let Act::Invite { invite_key, .. } = &entry.entry().act {
                index.insert(*invite_key, envelope);
            }
        }
    }

    /// The index of invite keys, built from every envelope at the first use.
    fn invite_index(&mut self) -> &HashMap<PublicKey, EnvelopeId> {
        if self.invite_keys.is_none() {
            let me = self.me();
            let mut index = HashMap::new();
            for envelope in self.envelopes.ids() {
                let Ok(state) = self.envelopes.party().state_ref(envelope) else { continue };
                if state.creator() != me {
                    continue;
                }
                for entry in state.valid() {
                    if let Act::Invite { invite_key, .. } = &entry.entry().act {
                        index.insert(*invite_key, envelope);
                    }
                }
            }
            self.invite_keys = Some(index);
        }
        self.invite_keys.get_or_insert_with(HashMap::new)
    }
}
