//! Joining by a short invitation link: the joiner asks the inviter which
//! envelope and slot the secret opens, then joins as with a full link.
//!
//! The inviter answers only a proof of the secret made for the asking peer
//! ([`countersign_shared::invite::lookup_message`]), and only for an envelope
//! it created whose invitation is still open; anything else gets `Unknown`,
//! the answer a stranger gets for an envelope that does not exist.

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
            self.fail_lookup(invite_key, "the inviter's node could not be reached; make sure it is running, then try again");
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
    /// peer that proved the secret.
    pub(super) fn look_up_invite(&self, asker: PublicKey, invite_key: PublicKey, proof: &countersign_shared::Signature) -> Response {
        if invite_key.verify(&lookup_message(&invite_key, &asker), proof).is_err() {
            return Response::Unknown;
        }
        let me = self.me();
        let now = now_ms();
        for envelope in self.envelopes.ids() {
            let Ok(state) = self.envelopes.party().state_ref(envelope) else { continue };
            if state.creator() != me {
                continue;
            }
            for entry in state.valid() {
                if let Act::Invite { slot, invite_key: key, expires_at } = &entry.entry().act
                    && *key == invite_key
                    && expires_at.saturating_add(CLOCK_TOLERANCE_MS) >= now
                    && state.binding(*slot).is_none_or(|bound| bound == asker)
                {
                    return Response::Found { envelope, slot: *slot, expires_at: *expires_at };
                }
            }
        }
        Response::Unknown
    }
}
