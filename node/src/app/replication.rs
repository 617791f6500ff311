//! Automerge sync rounds with the other parties, and the access check that guards them.

use super::*;

impl App {
    /// Something changed in `envelope`: tell every other party, fetch what is missing.
    pub(super) fn changed(&mut self, envelope: EnvelopeId, except: Option<PublicKey>) {
        // A change may be what lets this node seal its step (its own Sign, or
        // the seal of the step before it).
        self.start_sealing(envelope);
        self.note_invites(envelope);
        self.active.insert(envelope, Instant::now());
        self.learn_addresses(envelope);
        for peer in self.envelopes.peers_of(envelope) {
            if Some(peer) != except {
                self.sync_with(peer, envelope);
            }
        }
        self.fetch_missing(envelope);
        self.notice(envelope);
        // A colleague whose turn came gets the document on their board
        // (after `notice`, which renews a link that ran out).
        self.offer_to_colleagues(envelope, None);
    }

    pub(super) fn learn_addresses(&mut self, envelope: EnvelopeId) {
        let me = self.me();
        for (key, addresses) in self.envelopes.doc_mut(envelope).addresses() {
            if key != me {
                self.net.add_addresses(key, &addresses);
            }
        }
    }

    pub(super) fn sync_with(&mut self, peer: PublicKey, envelope: EnvelopeId) {
        if peer == self.me() {
            return;
        }
        let key = (peer, envelope);
        self.owed.insert(key);
        if let Some(again) = self.syncing.get_mut(&key) {
            *again = true;
            return;
        }
        if self.in_flight.get(&peer).copied().unwrap_or(0) >= ROUNDS_IN_FLIGHT {
            let waiting = self.waiting.entry(peer).or_default();
            if !waiting.contains(&envelope) {
                waiting.push_back(envelope);
            }
            return;
        }
        let me = self.me();
        let envelopes = &self.envelopes;
        let kept = *self.proofs.entry(envelope).or_insert_with(|| envelopes.invite_proof(envelope));
        let invite = self.joins.get(&envelope).map(|j| (j.invitation.slot, j.invitation.prove(&me))).or(kept);
        let state = self.sync_states.entry(key).or_default();
        let message = self.envelopes.doc_mut(envelope).sync_message(state);
        // Nothing to say ends the round (the two agree); only a join in
        // progress knocks anyway.
        if message.is_none() && !self.joins.contains_key(&envelope) {
            self.owed.remove(&key);
            return;
        }
        let code = self.joins.get(&envelope).and_then(|j| j.code);
        let request = Request::Sync { envelope, invite, code, message: message.unwrap_or_default() };
        self.ask(peer, request, Asked::Sync(envelope));
        self.syncing.insert(key, false);
        *self.in_flight.entry(peer).or_default() += 1;
    }

    pub(super) fn handle_sync_request(
        &mut self,
        peer: PublicKey,
        envelope: EnvelopeId,
        invite: Option<(u8, countersign_shared::Signature)>,
        code: Option<u32>,
        message: &[u8],
        responder: Responder,
    ) {
        if !self.may_see(&peer, envelope, invite) {
            self.net.respond(responder, Response::Unknown);
            return;
        }
        if let Some(answer) = self.code_gate(&peer, envelope, invite, code) {
            self.net.respond(responder, Response::CodeNeeded(answer));
            return;
        }
        let state = self.sync_states.entry((peer, envelope)).or_default();
        let doc = self.envelopes.doc_mut(envelope);
        if !message.is_empty()
            && let Err(e) = doc.receive_sync(state, message)
        {
            self.cut_off(peer, envelope, &e);
            return;
        }
        let reply = doc.sync_message(state);
        // The reply travels in this response; the peer answers by its next
        // request, if ever. Not waiting for that lets this node start a round
        // of its own when something changes here.
        state.in_flight = false;
        self.net.respond(responder, Response::Sync(reply));
        match self.envelopes.absorb(envelope) {
            Ok(0) => {}
            Ok(_) => {
                self.check_clock(envelope, peer);
                self.changed(envelope, Some(peer));
            }
            Err(e) => {
                tracing::error!("cannot save envelope {}: {e}", envelope.short());
                self.unsaved.insert(envelope);
            }
        }
    }

    /// Disconnects a peer whose sync message could not be applied; a
    /// half-applied document is dropped from memory and reloaded from disk.
    fn cut_off(&mut self, peer: PublicKey, envelope: EnvelopeId, error: &countersign_shared::envelope_doc::SyncError) {
        tracing::warn!(%peer, "cutting off a peer that sent a bad sync message: {error}");
        if *error == countersign_shared::envelope_doc::SyncError::Poisoned {
            self.envelopes.forget_doc(envelope);
            self.sync_states.retain(|(_, env), _| *env != envelope);
        }
        self.net.disconnect(peer);
    }

    /// For a peer let in by its invitation alone (not yet a bound party):
    /// whether it must first give the code texted to the party's phone.
    /// `None` lets it in; a new code is texted when one is due.
    fn code_gate(
        &mut self,
        key: &PublicKey,
        envelope: EnvelopeId,
        invite: Option<(u8, countersign_shared::Signature)>,
        code: Option<u32>,
    ) -> Option<CodeAnswer> {
        let (Some((slot, _)), key) = (invite, *key) else { return None };
        let open = self.envelopes.party().state_ref(envelope).is_ok_and(|state| {
            self.envelopes.party().is_party(state, &key) || !matches!(state.status(), countersign_shared::state::Status::Awaiting { .. })
        });
        if open {
            // A bound party, or an envelope nobody can join any more (the join itself is refused later).
            return None;
        }
        match self.codes.check(&envelope.to_string(), slot, &key.to_string(), code, now_ms()) {
            Gate::Open => None,
            Gate::Confirmed => {
                // The signed log says so: the certificate page and every
                // verifier show this party's phone as confirmed.
                let recorded = self.envelopes.party_mut().confirm_phone(envelope, slot, key).map_err(NodeError::from);
                if let Err(e) = recorded.and_then(|entry| self.after_act(envelope, entry)) {
                    tracing::warn!("cannot record the phone confirmation of party {slot} in envelope {}: {}", envelope.short(), e);
                }
                None
            }
            Gate::Send(new) => {
                if let Some(summary) = self.envelopes.summary(envelope) {
                    self.notifier.code(&summary, slot, new);
                }
                Some(CodeAnswer::Sent)
            }
            Gate::Closed(answer) => Some(answer),
        }
    }

    /// Whether `peer` may see `envelope`: a party of it, or holding a valid
    /// invite. Only the creator's node lets anyone in by invitation (it is the
    /// one that may ask for a code first); the other parties' nodes wait until
    /// the `Join` reaches them, so an invitation cannot be used behind its back.
    pub(super) fn may_see(&self, key: &PublicKey, envelope: EnvelopeId, invite: Option<(u8, countersign_shared::Signature)>) -> bool {
        let party = self.envelopes.party();
        let Ok(state) = party.state_ref(envelope) else { return false };
        let inviter = state.creator() == self.me();
        party.is_party(state, key) || (inviter && invite.is_some_and(|(slot, proof)| party.invite_admits(state, slot, key, &proof)))
    }

    pub(super) fn handle_sync_response(&mut self, peer: PublicKey, envelope: EnvelopeId, response: Response) {
        // A change made meanwhile is covered: the next round below carries it.
        self.syncing.remove(&(peer, envelope));
        let message = match response {
            Response::Sync(message) => message,
            Response::CodeNeeded(answer) => {
                let why = match answer {
                    CodeAnswer::Sent => {
                        "a 6-digit code was just texted to the phone number on this invitation: join again with that code".to_owned()
                    }
                    CodeAnswer::Wrong(left) => format!("that code is wrong: {left} tries left"),
                    CodeAnswer::Expired => "that code has expired: join again without a code to get a new one".to_owned(),
                    CodeAnswer::Locked => "too many wrong codes: this invitation is locked; ask the sender for a new one".to_owned(),
                };
                self.fail_join(envelope, &why);
                return;
            }
            Response::Unknown | Response::Found { .. } | Response::Directory(_) | Response::Accepted => {
                // Nothing more to say to this party until something changes here.
                self.owed.remove(&(peer, envelope));
                self.fail_join(
                    envelope,
                    "the inviter's node does not recognise this invitation: it was used, has expired, or the envelope was withdrawn",
                );
                return;
            }
        };
        if let Some(message) = message {
            let state = self.sync_states.entry((peer, envelope)).or_default();
            if let Err(e) = self.envelopes.doc_mut(envelope).receive_sync(state, &message) {
                self.cut_off(peer, envelope, &e);
                return;
            }
        }
        let added = match self.envelopes.absorb(envelope) {
            Ok(added) => added,
            Err(e) => {
                tracing::error!("cannot save envelope {}: {e}", envelope.short());
                self.unsaved.insert(envelope);
                0
            }
        };
        if added > 0 {
            self.check_clock(envelope, peer);
        }
        self.complete_join(envelope);
        if added > 0 {
            self.changed(envelope, Some(peer));
        }
        self.sync_with(peer, envelope);
        // The peer now knows what we know (e.g. our Join): blobs it refused may come now.
        self.fetch_missing(envelope);
    }

    /// After a party's entries arrived: an act dated ahead of this computer's
    /// clock (beyond what clocks differ by) means this clock is probably
    /// behind, and acts it dates may be refused; the person is told.
    fn check_clock(&mut self, envelope: EnvelopeId, peer: PublicKey) {
        let Some(latest) = self.envelopes.party().state_ref(envelope).ok().map(countersign_shared::state::EnvelopeState::latest_time)
        else {
            return;
        };
        let now = now_ms();
        if latest > now.saturating_add(countersign_shared::log::rules::CLOCK_TOLERANCE_MS) {
            let minutes = (latest - now) / 60_000;
            let ahead = if minutes >= 2 * 24 * 60 { format!("{} days", minutes / (24 * 60)) } else { format!("{minutes} minutes") };
            let warning = format!(
                "this computer's clock seems to be behind: an act of another party is dated {}, {ahead} ahead of it; set the clock right, or acts you make may be refused",
                crate::clock::local(latest)
            );
            if self.clock_warning.as_deref() != Some(warning.as_str()) {
                tracing::warn!(%peer, "{warning}");
            }
            self.clock_warning = Some(warning);
        }
    }

    pub(super) fn complete_join(&mut self, envelope: EnvelopeId) {
        let Some(pending) = self.joins.get(&envelope) else { return };
        let Some(state) = self.envelopes.state(envelope) else { return };
        if state.binding(pending.invitation.slot) == Some(self.me()) {
            if let Some(pending) = self.joins.remove(&envelope) {
                for reply in pending.replies {
                    let _ = reply.send(Ok(envelope.to_string()));
                }
            }
            return;
        }
        let invitation = pending.invitation.clone();
        if pending.offered {
            let party = state.terms().parties.get(usize::from(invitation.slot));
            if !party.is_some_and(|p| self.offered_slot_is_mine(&p.contact)) {
                tracing::warn!("a colleague's node handed over envelope {envelope} for a party who is not this node's person: not joined");
                self.joins.remove(&envelope);
                return;
            }
        }
        let result = self.envelopes.party_mut().join(&invitation);
        match result {
            Ok(entry) => {
                let proof = (invitation.slot, invitation.prove(&self.me()));
                self.proofs.insert(envelope, Some(proof));
                if let Err(e) = self.envelopes.keep_invite_proof(envelope, proof) {
                    tracing::warn!("cannot keep the invite proof: {e}");
                }
                let outcome = self.after_act(envelope, entry).map(|_| envelope.to_string());
                if let Some(pending) = self.joins.remove(&envelope) {
                    for reply in pending.replies {
                        let _ = reply.send(outcome.clone());
                    }
                }
            }
            Err(crate::party::PartyError::Refused(countersign_shared::log::rules::Rejection::InviteNotFound)) => {}
            Err(e) => {
                let message = e.to_string();
                self.fail_join(envelope, &message);
            }
        }
    }

    pub(super) fn fail_join(&mut self, envelope: EnvelopeId, why: &str) {
        if let Some(pending) = self.joins.remove(&envelope) {
            for reply in pending.replies {
                let _ = reply.send(Err(NodeError::refused(why)));
            }
        }
    }
}
