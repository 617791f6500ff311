//! The company directory at work (see [`crate::directory`]): joining by a
//! colleague link, telling members of new members, and handing a colleague's
//! node its invitation so that the document is on their board at once.

use countersign_shared::invite::InvitationLink;
use countersign_shared::keys::Signature;
use countersign_shared::model::Slot;

use super::*;
use crate::app::requests::TeamView;
use crate::directory::{ColleagueLink, Member};

/// A join of the company directory, waiting for the colleague's node.
#[derive(Debug)]
pub(super) struct PendingTeamJoin {
    link: ColleagueLink,
    reply: Option<Reply<()>>,
    deadline: Instant,
    asking: bool,
}

impl App {
    /// This node's own card, as colleagues see it.
    pub(super) fn my_card(&self) -> Member {
        Member {
            key: self.me(),
            name: self.envelopes.party().name().to_owned(),
            contact: self.notifier.my_contact(),
            addresses: self.addresses.clone(),
        }
    }

    pub(super) fn team_view(&self) -> TeamView {
        TeamView { me: self.my_card(), members: self.directory.members().to_vec() }
    }

    /// A new colleague link (one-time, a week).
    pub(super) fn colleague_link(&mut self) -> Result<String, NodeError> {
        let link = self.directory.new_link(self.me(), self.addresses.clone(), now_ms()).map_err(internal)?;
        Ok(link.to_link())
    }

    /// Joins the directory of the colleague whose link `text` is.
    pub(super) fn join_team(&mut self, text: &str, reply: Reply<()>) {
        let link = match ColleagueLink::parse(text) {
            Ok(link) => link,
            Err(e) => {
                let _ = reply.send(Err(NodeError::invalid(format!("this is not a colleague link: {e}"))));
                return;
            }
        };
        if link.inviter == self.me() || crate::net::behaviour::peer_id(&link.inviter).is_none() {
            let _ = reply.send(Err(NodeError::invalid("this colleague link is this node's own, or names no node")));
            return;
        }
        self.net.add_addresses(link.inviter, &link.addresses);
        self.net.add_relay_route(link.inviter);
        let inviter = link.inviter;
        self.team_joins
            .insert(inviter, PendingTeamJoin { link, reply: Some(reply), deadline: Instant::now() + JOIN_TIMEOUT, asking: false });
        self.ask_to_join_team(inviter);
    }

    fn ask_to_join_team(&mut self, inviter: PublicKey) {
        let (me, card) = (self.me(), self.my_card());
        let Some(pending) = self.team_joins.get_mut(&inviter) else { return };
        if pending.asking {
            return;
        }
        pending.asking = true;
        let request = Request::Colleague { invite_key: pending.link.invite_key(), proof: pending.link.proof(&me), card };
        self.ask(inviter, request, Asked::Colleague);
    }

    /// The colleague's answer to a join.
    pub(super) fn team_join_answered(&mut self, peer: PublicKey, answer: Result<Response, Unanswered>) {
        let Some(pending) = self.team_joins.get_mut(&peer) else { return };
        pending.asking = false;
        let result = match answer {
            Ok(Response::Directory(members)) => {
                // The link was chosen by this node's person: its maker is trusted.
                let me = self.me();
                match self.directory.merge(&peer, members, &me) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(internal(e)),
                }
            }
            Ok(_) => {
                Err(NodeError::refused("your colleague's node does not recognise this link: it was used or has expired; ask for a new one"))
            }
            Err(Unanswered(error)) => {
                tracing::debug!(%peer, "joining the team failed: {error}");
                self.back_off(peer);
                return;
            }
        };
        if let Some(mut pending) = self.team_joins.remove(&peer)
            && let Some(reply) = pending.reply.take()
        {
            let _ = reply.send(result.clone());
        }
        if result.is_ok() {
            self.directory_changed(Some(peer));
        }
    }

    pub(super) fn retry_team_joins(&mut self, now: Instant) {
        let expired: Vec<PublicKey> = self.team_joins.iter().filter(|(_, j)| j.deadline < now).map(|(k, _)| *k).collect();
        for inviter in expired {
            if let Some(mut pending) = self.team_joins.remove(&inviter)
                && let Some(reply) = pending.reply.take()
            {
                let why = "your colleague's node could not be reached; make sure it is running, then try again";
                let _ = reply.send(Err(NodeError::unavailable(why)));
            }
        }
        let waiting: Vec<PublicKey> = self.team_joins.iter().filter(|(_, j)| !j.asking).map(|(k, _)| *k).collect();
        for inviter in waiting {
            if self.due(&inviter, now) {
                self.ask_to_join_team(inviter);
            }
        }
    }

    /// A node asks to join with one of this node's colleague links.
    pub(super) fn colleague_asks(&mut self, from: PublicKey, invite_key: &PublicKey, proof: &Signature, card: Member) -> Response {
        let me = self.me();
        if card.key != from {
            return Response::Unknown;
        }
        match self.directory.redeem(invite_key, &from, proof, now_ms()) {
            Ok(true) => {}
            Ok(false) => return Response::Unknown,
            Err(e) => {
                tracing::error!("a colleague link could not be used up: {e}");
                return Response::Unknown;
            }
        }
        if let Err(e) = self.directory.merge(&from, vec![card], &me) {
            tracing::error!("a new colleague could not be written down: {e}");
            return Response::Unknown;
        }
        tracing::info!("a colleague joined the company directory: key {}", from.fingerprint());
        self.directory_changed(Some(from));
        Response::Directory(self.everyone())
    }

    /// A member tells of members; answered with the members known here.
    pub(super) fn members_told(&mut self, from: PublicKey, members: Vec<Member>) -> Response {
        if self.directory.member(&from).is_none() {
            return Response::Unknown;
        }
        let me = self.me();
        match self.directory.merge(&from, members, &me) {
            Ok(true) => self.directory_changed(Some(from)),
            Ok(false) => {}
            Err(e) => tracing::error!("news of colleagues could not be written down: {e}"),
        }
        Response::Directory(self.everyone())
    }

    /// A member's answer to this node's news.
    pub(super) fn members_answered(&mut self, peer: PublicKey, answer: Result<Response, Unanswered>) {
        let Ok(Response::Directory(members)) = answer else { return };
        if self.directory.member(&peer).is_none() {
            return;
        }
        let me = self.me();
        if let Ok(true) = self.directory.merge(&peer, members, &me) {
            self.directory_changed(Some(peer));
        }
    }

    /// The members and this node's own card.
    fn everyone(&self) -> Vec<Member> {
        let mut everyone = self.directory.members().to_vec();
        everyone.push(self.my_card());
        everyone
    }

    /// The directory changed: names follow, colleagues' addresses are
    /// learned, every member but `except` hears of it, and documents for a
    /// new colleague go to their node.
    pub(super) fn directory_changed(&mut self, except: Option<PublicKey>) {
        self.envelopes.set_directory_names(self.directory.members().iter().map(|m| (m.key, m.name.clone())).collect());
        let everyone = self.everyone();
        for member in self.directory.members().to_vec() {
            self.net.add_addresses(member.key, &member.addresses);
            self.net.add_relay_route(member.key);
            if Some(member.key) != except {
                self.ask(member.key, Request::Members(everyone.clone()), Asked::Members);
            }
        }
        for envelope in self.envelopes.ids() {
            self.offer_to_colleagues(envelope);
        }
    }

    /// At start: names from the directory, and this node's card (its
    /// addresses may have changed) to every member.
    pub(super) fn greet_colleagues(&mut self) {
        if !self.directory.members().is_empty() {
            self.directory_changed(None);
        }
    }

    /// The slots of `envelope` whose party is a colleague (by contact).
    pub(super) fn colleague_slots(&self, envelope: EnvelopeId) -> Vec<(Slot, PublicKey)> {
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return Vec::new() };
        state
            .terms()
            .parties
            .iter()
            .enumerate()
            .filter_map(|(slot, party)| Some((Slot::try_from(slot).ok()?, self.directory.by_contact(&party.contact)?.key)))
            .collect()
    }

    /// Hands each colleague of `envelope` (created here) still to join their
    /// invitation, over the encrypted connection to their own node: it joins
    /// at once, and the document is on their board.
    pub(super) fn offer_to_colleagues(&mut self, envelope: EnvelopeId) {
        let me = self.me();
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return };
        if state.creator() != me || !matches!(state.status(), countersign_shared::state::Status::Awaiting { .. }) {
            return;
        }
        let unbound: Vec<(Slot, PublicKey)> =
            self.colleague_slots(envelope).into_iter().filter(|(slot, _)| state.binding(*slot).is_none()).collect();
        if unbound.is_empty() {
            return;
        }
        let invites = self.envelopes.kept_invites(envelope);
        for (slot, colleague) in unbound {
            if let Some(invite) = invites.iter().find(|i| i.slot == slot) {
                self.ask(colleague, Request::Offer(invite.link.clone()), Asked::Offer);
            }
        }
    }

    /// A colleague's node offers this node's person an invitation: joined at
    /// once when it is really theirs (the offering member is the inviter).
    pub(super) fn offered(&mut self, from: PublicKey, link: &str) -> Response {
        if self.directory.member(&from).is_none() {
            return Response::Unknown;
        }
        match InvitationLink::parse(link) {
            Ok(InvitationLink::Full(invitation)) if invitation.inviter == from => {
                tracing::info!("a colleague's node handed over envelope {}: joining", invitation.envelope);
                self.join_by(invitation, None, Vec::new());
                Response::Accepted
            }
            _ => Response::Unknown,
        }
    }
}
