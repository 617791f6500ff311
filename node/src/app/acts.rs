//! The application's answers to the handle's requests: create, join, sign, decline, list, …

use super::*;
use crate::envelopes::Stage;

impl App {
    pub(super) fn handle_command(&mut self, command: Command) {
        match command {
            Command::Info { reply } => {
                let me = self.me();
                let info = NodeInfo {
                    peer_id: self.net.peer_id().to_owned(),
                    key: me.to_string(),
                    fingerprint: me.fingerprint(),
                    name: self.envelopes.party().name().to_owned(),
                    contact: self.notifier.my_contact(),
                    addresses: self.addresses.clone(),
                    clock_warning: self.clock_warning.clone(),
                };
                let _ = reply.send(Ok(info));
            }
            Command::PutBlob { bytes, reply } => {
                let _ = reply.send(self.envelopes.party_mut().blobs_mut().put(&bytes).map_err(internal));
            }
            Command::Create { request, reply } => {
                let _ = reply.send(self.create(*request));
            }
            Command::Join { link, code, reply } => self.join(&link, code, reply),
            Command::Sign { envelope, request, reply } => {
                let _ = reply.send(self.sign(envelope, &request));
            }
            Command::Decline { envelope, reason, reply } => {
                let result = self.envelopes.party_mut().decline(envelope, &reason).map_err(NodeError::from);
                let _ = reply.send(result.and_then(|entry| self.after_act(envelope, entry)));
            }
            Command::List { reply } => {
                let mut list: Vec<_> = self.envelopes.ids().into_iter().filter_map(|id| self.envelopes.list_item(id)).collect();
                list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
                let _ = reply.send(Ok(list));
            }
            Command::Status { envelope, reply } => {
                let summary = self.envelopes.summary(envelope).ok_or_else(|| unknown(&envelope)).map(|mut summary| {
                    summary.undelivered = self.notifier.undelivered(Some(&summary.id));
                    summary.to_forward = self.notifier.to_forward(Some(&summary.id));
                    summary
                });
                let _ = reply.send(summary);
            }
            Command::Remind { envelope, reply } => {
                // A link that ran out is made anew before it is sent again.
                let (me, next) = (self.me(), self.envelopes.summary(envelope).map(|s| s.next_slots).unwrap_or_default());
                if self.envelopes.state(envelope).is_some_and(|state| state.creator() == me) {
                    self.renew_invites(envelope, &next);
                }
                let result = match self.envelopes.summary(envelope) {
                    None => Err(unknown(&envelope)),
                    Some(summary) if summary.stage != Stage::Awaiting => {
                        Err(NodeError::refused("nobody is waited on: there is no one to remind"))
                    }
                    Some(summary) if !summary.created_by_me => Err(NodeError::refused("only the sender's node sends reminders")),
                    Some(summary) => Ok(self.notifier.remind(&summary)),
                };
                let _ = reply.send(result);
            }
            Command::Undelivered { reply } => {
                let _ = reply.send(Ok(self.notifier.undelivered(None)));
            }
            Command::SetEmail { envelope, email, reply } => {
                let _ = reply.send(self.set_email(envelope, &email));
            }
            Command::Team { reply } => {
                let _ = reply.send(Ok(self.team_view()));
            }
            Command::ColleagueLink { contact, reply } => {
                let _ = reply.send(self.colleague_link(&contact));
            }
            Command::JoinTeam { link, reply } => self.join_team(&link, reply),
            Command::FollowTeam { follow, reply } => {
                let _ = reply.send(self.follow_team(follow));
            }
            Command::Settings { reply } => {
                let _ = reply.send(self.settings_view());
            }
            Command::SaveSettings { settings, reply } => {
                let _ = reply.send(self.save_settings(&settings));
            }
            Command::SaveChannels { channels, reply } => {
                let _ = reply.send(self.save_channels(&channels));
            }
            Command::TestMessage { to, reply } => self.send_test_message(&to, reply),
            Command::CreateAuthority { organization, reply } => {
                let _ = reply.send(self.create_authority(&organization));
            }
            Command::ToForward { reply } => {
                let _ = reply.send(Ok(self.notifier.to_forward(None)));
            }
            Command::Forwarded { id, reply } => {
                let result = match self.notifier.forwarded(&id) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(NodeError::not_found("no message waits to be sent under that id")),
                    Err(e) => Err(internal(e)),
                };
                let _ = reply.send(result);
            }
            Command::Export { envelope, reply } => {
                let job = if self.envelopes.state(envelope).is_none() {
                    Err(unknown(&envelope))
                } else {
                    self.envelopes.party().final_pdf_job(envelope).map_err(NodeError::from)
                };
                match job {
                    // Rendering takes milliseconds (tens for a large PDF): not on the loop.
                    Ok(job) => {
                        tokio::task::spawn_blocking(move || {
                            let _ = reply.send(job.render().map_err(NodeError::from));
                        });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Void { envelope, reason, reply } => {
                let result = self.envelopes.party_mut().void(envelope, &reason).map_err(NodeError::from);
                let _ = reply.send(result.and_then(|entry| self.after_act(envelope, entry)));
            }
            Command::Original { envelope, reply } => {
                let result = match self.envelopes.state(envelope) {
                    None => Err(unknown(&envelope)),
                    Some(state) => self
                        .envelopes
                        .disk()
                        .get(&state.terms().document.hash)
                        .ok_or_else(|| NodeError::unavailable("the original PDF has not arrived yet")),
                };
                let _ = reply.send(result);
            }
            Command::Blob { hash, reply } => {
                let _ = reply.send(self.envelopes.disk().get(&hash).ok_or_else(|| NodeError::not_found("no such file on this node")));
            }
            Command::KeepDraft { document, draft, reply } => {
                let _ = reply.send(crate::drafts::keep(self.envelopes.data(), document, *draft).map_err(internal));
            }
            Command::KeptDraft { document, reply } => {
                let _ = reply.send(Ok(crate::drafts::kept(self.envelopes.data(), &document)));
            }
            Command::Drafts { reply } => {
                let _ = reply.send(Ok(crate::drafts::all_kept(self.envelopes.data())));
            }
            Command::ForgetDraft { document, reply } => {
                crate::drafts::forget(self.envelopes.data(), &document);
                let _ = reply.send(Ok(()));
            }
            Command::SaveTemplate { template, reply } => {
                let _ = reply.send(crate::templates::save(self.envelopes.data(), &template).map_err(internal));
            }
            Command::Templates { reply } => {
                let _ = reply.send(Ok(crate::templates::list(self.envelopes.data())));
            }
            Command::Template { id, reply } => {
                let found = crate::templates::get(self.envelopes.data(), &id).ok_or_else(|| NodeError::not_found("no such template"));
                let _ = reply.send(found);
            }
            Command::Transfers { reply } => {
                let running = self.fetches.iter().map(|(hash, f)| Transfer {
                    envelope: f.envelope.to_string(),
                    hash: hash.to_string(),
                    received: f.received.load(std::sync::atomic::Ordering::Relaxed),
                    total: Some(f.total),
                    problem: None,
                });
                let stalled = self.stalled.iter().filter(|(hash, _)| !self.fetches.contains_key(hash)).map(|(hash, stalled)| Transfer {
                    envelope: stalled.envelope.to_string(),
                    hash: hash.to_string(),
                    received: stalled.received,
                    total: Some(stalled.total),
                    problem: Some(stalled.problem.clone()),
                });
                let transfers = running.chain(stalled).collect();
                let _ = reply.send(Ok(transfers));
            }
            Command::ImportRaw { envelope, bytes, reply } => {
                let _ = reply.send(self.import_raw(envelope, &bytes));
            }
        }
    }

    pub(super) fn create(&mut self, request: CreateRequest) -> Result<Created, NodeError> {
        let pdf = self
            .envelopes
            .disk()
            .get(&request.document)
            .ok_or_else(|| NodeError::invalid("the PDF has not been uploaded to this node; upload it first"))?;
        crate::documents::check_signable(&pdf)?;
        let mut parties = request.parties.iter().map(PartyInput::to_party).collect::<Result<Vec<_>, _>>()?;
        // Default fields are placed by the handle (off this task) before asking.
        let fields = match (&request.placed, &request.fields) {
            (Some(placed), _) => placed.clone(),
            (None, Some(fields)) => fields.iter().map(|f| f.to_field(&request.parties)).collect::<Result<Vec<_>, _>>()?,
            (None, None) => return Err(NodeError::invalid("the envelope has no fields")),
        };
        // Colleagues who follow the team's documents (managers) see it too.
        let followers = self.followers_to_add(&parties);
        parties.extend(followers);
        let terms = Terms {
            title: request.title.trim().to_owned(),
            document: countersign_shared::model::DocumentRef { hash: request.document, len: 0, pages: 0 },
            parties: parties.clone(),
            fields,
            verifier_url: match &request.verifier_url {
                Some(url) => url.clone(),
                None => crate::settings::Settings::load(self.envelopes.data())
                    .map_err(internal)?
                    .verifier_url
                    .unwrap_or_else(|| DEFAULT_VERIFIER.to_owned()),
            },
        };
        let verifier = terms.verifier_url.clone();
        let (envelope, invitations) = self.envelopes.party_mut().create(&pdf, terms)?;
        if let Some(index) = &mut self.invite_keys {
            index.extend(invitations.iter().map(|invitation| (invitation.invite_key(), envelope)));
        }
        let entries: Vec<RawEntry> =
            self.envelopes.state(envelope).map(|s| s.valid().iter().map(|v| v.raw().clone()).collect()).unwrap_or_default();
        let me = self.me();
        let addresses = self.addresses.clone();
        self.envelopes.doc_mut(envelope).set_addresses(&me, &addresses).map_err(internal)?;
        self.envelopes.record(envelope, &entries)?;
        let invites = invitations
            .into_iter()
            .map(|mut invitation| {
                invitation.addresses = addresses.clone();
                let party = &parties[usize::from(invitation.slot)];
                InviteOut {
                    slot: invitation.slot,
                    name: party.name.clone(),
                    contact: party.contact.to_string(),
                    link: invitation.to_web_link(&verifier),
                }
            })
            .collect::<Vec<_>>();
        // The code requirement is on disk before any link is kept or sent.
        if request.confirm_by_code {
            let phones: Vec<u8> = invites.iter().filter(|i| !i.contact.contains('@')).map(|i| i.slot).collect();
            self.codes.require(&envelope.to_string(), &phones).map_err(internal)?;
        }
        self.envelopes.keep_invites(envelope, &invites).map_err(internal)?;
        if let Some(summary) = self.envelopes.summary(envelope) {
            let in_app: Vec<u8> = self.colleague_slots(envelope).into_iter().map(|(slot, _)| slot).collect();
            self.notifier.invite(&summary, &invites, request.invite_all_now, &in_app);
        }
        self.offer_to_colleagues(envelope, None);
        Ok(Created { envelope: envelope.to_string(), invites })
    }

    pub(super) fn join(&mut self, link: &str, code: Option<u32>, reply: Reply<String>) {
        match InvitationLink::parse(link) {
            Ok(InvitationLink::Full(invitation)) => self.join_by(invitation, code, vec![reply]),
            Ok(InvitationLink::Short(short)) => self.look_up_then_join(short, code, reply),
            Err(e) => {
                let _ = reply.send(Err(NodeError::invalid(format!("this is not a valid invitation link: {e}"))));
            }
        }
    }

    /// Joins with a full invitation: syncs with the inviter, proving the secret.
    pub(super) fn join_by(&mut self, invitation: Invitation, code: Option<u32>, replies: Vec<Reply<String>>) {
        let fail = |replies: Vec<Reply<String>>, error: NodeError| {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        };
        if now_ms() > invitation.expires_at.saturating_add(countersign_shared::log::rules::CLOCK_TOLERANCE_MS) {
            let when = crate::clock::local(invitation.expires_at);
            fail(replies, NodeError::refused(format!("this invitation expired on {when}; ask the sender for a new one")));
            return;
        }
        let envelope = invitation.envelope;
        if let Some(state) = self.envelopes.state(envelope)
            && state.binding(invitation.slot) == Some(self.me())
        {
            for reply in replies {
                let _ = reply.send(Ok(envelope.to_string()));
            }
            return;
        }
        let inviter = invitation.inviter;
        if crate::net::behaviour::peer_id(&inviter).is_none() {
            fail(replies, NodeError::invalid("the invitation names an invalid inviter"));
            return;
        }
        self.net.add_addresses(inviter, &invitation.addresses);
        self.net.add_relay_route(inviter);
        let pending = self.joins.entry(envelope).or_insert_with(|| PendingJoin {
            invitation: invitation.clone(),
            code,
            replies: Vec::new(),
            deadline: Instant::now() + JOIN_TIMEOUT,
            offered: false,
        });
        // A person joining by hand takes the join over from an offer.
        pending.offered &= replies.is_empty();
        pending.code = code.or(pending.code);
        pending.replies.extend(replies);
        self.sync_with(inviter, envelope);
    }

    pub(super) fn sign(&mut self, envelope: EnvelopeId, request: &SignRequest) -> Result<String, NodeError> {
        let state = self.envelopes.state(envelope).ok_or_else(|| unknown(&envelope))?;
        let slot = self.envelopes.party().my_slot(&state)?;
        let mut input = SignInput { texts: request.texts.clone(), images: Vec::new() };
        for (_, field) in state.terms().fields_of(slot) {
            let hash = match field.kind {
                FieldKind::Signature => request.signature,
                FieldKind::Stamp => request.stamp,
                _ => continue,
            };
            if let Some(hash) = hash {
                let bytes = self.envelopes.disk().get(&hash).ok_or_else(|| NodeError::invalid("upload the image to this node first"))?;
                input.images.push((field.label.clone(), bytes));
            }
        }
        let entry = self.envelopes.party_mut().sign(envelope, &input)?;
        self.after_act(envelope, entry)
    }

    /// Writes this party's email card (the final PDF goes there), for a
    /// party of `envelope`, and tells the others.
    pub(super) fn set_email(&mut self, envelope: EnvelopeId, email: &str) -> Result<(), NodeError> {
        let email = email.trim();
        if !matches!(Contact::parse(email), Ok(Contact::Email(_))) {
            return Err(NodeError::invalid(format!("'{email}' is not an email address")));
        }
        let state = self.envelopes.state(envelope).ok_or_else(|| unknown(&envelope))?;
        self.envelopes.party().my_slot(&state)?;
        self.envelopes.set_my_email(envelope, email)?;
        self.changed(envelope, None);
        Ok(())
    }

    pub(super) fn after_act(&mut self, envelope: EnvelopeId, entry: RawEntry) -> Result<String, NodeError> {
        let me = self.me();
        let addresses = self.addresses.clone();
        self.envelopes.doc_mut(envelope).set_addresses(&me, &addresses).map_err(internal)?;
        self.envelopes.record(envelope, std::slice::from_ref(&entry))?;
        self.changed(envelope, None);
        Ok(entry.id().to_string())
    }

    pub(super) fn import_raw(&mut self, envelope: EnvelopeId, bytes: &[u8]) -> Result<String, NodeError> {
        if !self.options.test_tools {
            return Err(NodeError::Forbidden("raw import is a test tool; start the node with --test-tools".into()));
        }
        let entry = RawEntry::decode(bytes).map_err(|e| NodeError::invalid(e.to_string()))?;
        self.envelopes.doc_mut(envelope).add_entry(&entry).map_err(internal)?;
        self.envelopes.absorb(envelope)?;
        self.changed(envelope, None);
        Ok(entry.id().to_string())
    }
}
