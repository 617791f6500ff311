//! The company directory at work (see [`crate::directory`]): joining by a
//! colleague link, telling members of new members, and handing a colleague's
//! node its invitation so that the document is on their board at once.

use countersign_shared::invite::InvitationLink;
use countersign_shared::keys::Signature;
use countersign_shared::model::{Contact, Slot};

use super::*;
use crate::app::requests::TeamView;
use crate::directory::{ColleagueLink, Member};
use crate::net::protocol::Card;

/// A member as the wire carries them.
fn card_of(member: &Member) -> Card {
    Card {
        key: member.key,
        name: member.name.clone(),
        contact: member.contact.clone(),
        addresses: member.addresses.clone(),
        follows_team: member.follows_team,
    }
}

/// A card as the directory keeps it.
fn member_of(card: Card) -> Member {
    Member { key: card.key, name: card.name, contact: card.contact, addresses: card.addresses, follows_team: card.follows_team }
}

fn members_of(cards: Vec<Card>) -> Vec<Member> {
    cards.into_iter().map(member_of).collect()
}

/// A join of the company directory, waiting for the colleague's node.
#[derive(Debug)]
pub(super) struct PendingTeamJoin {
    link: ColleagueLink,
    reply: Option<Reply<()>>,
    deadline: Instant,
    asking: bool,
}

impl App {
    /// This node's own card, as colleagues see it (within what the wire
    /// carries: a few addresses, each once; a name of bounded length).
    pub(super) fn my_card(&self) -> Member {
        let mut addresses: Vec<String> = Vec::new();
        for address in &self.addresses {
            if !addresses.contains(address)
                && addresses.len() < crate::directory::MAX_ADDRESSES
                && address.len() <= crate::directory::MAX_TEXT
            {
                addresses.push(address.clone());
            }
        }
        let mut name = self.envelopes.party().name().to_owned();
        while name.len() > crate::directory::MAX_TEXT {
            name.pop();
        }
        let follows_team = crate::settings::Settings::load(self.envelopes.data()).is_ok_and(|s| s.follow_team);
        Member { key: self.me(), name, contact: self.notifier.my_contact(), addresses, follows_team }
    }

    pub(super) fn team_view(&self) -> TeamView {
        TeamView { me: self.my_card(), members: self.directory.members().to_vec() }
    }

    /// A new colleague link (one-time, a week) for the colleague whose email
    /// or phone is `contact`: whoever uses it joins with that contact.
    pub(super) fn colleague_link(&mut self, contact: &str) -> Result<String, NodeError> {
        let contact = Contact::parse(contact.trim()).map_err(|e| NodeError::invalid(e.to_string()))?;
        let link = self.directory.new_link(&contact, self.me(), self.my_card().addresses, now_ms()).map_err(internal)?;
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
        let request = Request::Colleague { invite_key: pending.link.invite_key(), proof: pending.link.proof(&me), card: card_of(&card) };
        self.ask(inviter, request, Asked::Colleague);
    }

    /// The colleague's answer to a join.
    pub(super) fn team_join_answered(&mut self, peer: PublicKey, answer: Result<Response, Unanswered>) {
        let Some(pending) = self.team_joins.get_mut(&peer) else { return };
        pending.asking = false;
        let result = match answer {
            Ok(Response::Directory(cards)) => {
                // The link was chosen by this node's person: its maker is trusted.
                let me = self.me();
                match self.directory.merge(&peer, members_of(cards), &me) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(internal(e)),
                }
            }
            Ok(_) => {
                let why = "your colleague's node does not take this link: it was used, has expired, or was made for another email or phone than yours; ask for a new one";
                Err(NodeError::refused(why))
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
    pub(super) fn colleague_asks(&mut self, from: PublicKey, invite_key: &PublicKey, proof: &Signature, card: Card) -> Response {
        let me = self.me();
        let card = member_of(card);
        if card.key != from || card.key == me || card.name.trim().is_empty() {
            return Response::Unknown;
        }
        // The joiner's own contact must be the one the link was made for: it
        // is what their node answers offers for (a link made for another
        // address is not used up by a mistyped profile).
        let claimed = card.contact.as_deref().and_then(|c| Contact::parse(c).ok());
        let vouched = self.directory.link_contact(invite_key).and_then(|c| Contact::parse(c).ok());
        if !matches!((&claimed, &vouched), (Some(a), Some(b)) if crate::directory::same_contact(a, b)) {
            return Response::Unknown;
        }
        // The contact is the one the link was made for, not the card's claim.
        let contact = match self.directory.redeem(invite_key, &from, proof, now_ms()) {
            Ok(Some(contact)) => contact,
            Ok(None) => return Response::Unknown,
            Err(e) => {
                tracing::error!("a colleague link could not be used up: {e}");
                return Response::Unknown;
            }
        };
        let card = Member { contact: Some(contact), ..card };
        if let Err(e) = self.directory.merge(&from, vec![card], &me) {
            tracing::error!("a new colleague could not be written down: {e}");
            return Response::Unknown;
        }
        tracing::info!("a colleague joined the company directory: key {}", from.fingerprint());
        self.directory_changed(Some(from));
        Response::Directory(self.everyone())
    }

    /// A member tells of members; answered with the members known here.
    pub(super) fn members_told(&mut self, from: PublicKey, cards: Vec<Card>) -> Response {
        if self.directory.member(&from).is_none() {
            return Response::Unknown;
        }
        let me = self.me();
        match self.directory.merge(&from, members_of(cards), &me) {
            Ok(true) => self.directory_changed(Some(from)),
            Ok(false) => {}
            Err(e) => tracing::error!("news of colleagues could not be written down: {e}"),
        }
        Response::Directory(self.everyone())
    }

    /// A member's answer to this node's news.
    pub(super) fn members_answered(&mut self, peer: PublicKey, answer: Result<Response, Unanswered>) {
        let Ok(Response::Directory(cards)) = answer else { return };
        if self.directory.member(&peer).is_none() {
            return;
        }
        let me = self.me();
        if let Ok(true) = self.directory.merge(&peer, members_of(cards), &me) {
            self.directory_changed(Some(peer));
        }
    }

    /// The members and this node's own card, as the wire carries them.
    fn everyone(&self) -> Vec<Card> {
        let mut everyone: Vec<Card> = self.directory.members().iter().map(card_of).collect();
        everyone.push(card_of(&self.my_card()));
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
            self.offer_to_colleagues(envelope, None);
        }
    }

    /// At start: names from the directory, and this node's card (its
    /// addresses may have changed) to every member.
    pub(super) fn greet_colleagues(&mut self) {
        if !self.directory.members().is_empty() {
            self.directory_changed(None);
        }
    }

    /// Follows the team's documents (a manager), or stops; colleagues hear of it.
    pub(super) fn follow_team(&mut self, follow: bool) -> Result<(), NodeError> {
        let data = self.envelopes.data().clone();
        let mut settings = crate::settings::Settings::load(&data).map_err(internal)?;
        settings.follow_team = follow;
        settings.save(&data).map_err(internal)?;
        self.directory_changed(None);
        Ok(())
    }

    /// The colleagues who follow the team's documents and are not among
    /// `parties` already: added to a new envelope as viewers.
    /// A few at most, each contact once, within the parties an envelope takes.
    pub(super) fn followers_to_add(&self, parties: &[countersign_shared::model::Party]) -> Vec<countersign_shared::model::Party> {
        let mut added: Vec<countersign_shared::model::Party> = Vec::new();
        for member in self.directory.followers() {
            let Some(contact) = member.contact.as_deref().and_then(|c| Contact::parse(c).ok()) else { continue };
            let there = parties.iter().chain(&added).any(|p| crate::directory::same_contact(&p.contact, &contact));
            if there || added.len() >= FOLLOWERS_ADDED || parties.len() + added.len() >= countersign_shared::model::MAX_PARTIES {
                continue;
            }
            added.push(countersign_shared::model::Party {
                name: member.name.clone(),
                role: countersign_shared::model::Role::Viewer,
                contact,
                order: 1,
                stamp_required: false,
            });
        }
        added
    }

    /// The slots of `envelope` whose party is a colleague (by contact), to
    /// be handed over node to node; a slot that asks for a texted code gets
    /// its link as anyone's does.
    pub(super) fn colleague_slots(&self, envelope: EnvelopeId) -> Vec<(Slot, PublicKey)> {
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return Vec::new() };
        let id = envelope.to_string();
        state
            .terms()
            .parties
            .iter()
            .enumerate()
            .filter_map(|(slot, party)| Some((Slot::try_from(slot).ok()?, self.directory.by_contact(&party.contact)?.key)))
            .filter(|(slot, _)| !self.codes.required(&id, *slot))
            .collect()
    }

    /// Hands each colleague of `envelope` (created here; only `to`, when
    /// given) still to join their invitation, over the encrypted connection
    /// to their own node: it joins at once, and the document is on their
    /// board. Only when it is their turn, they follow it as viewers, or it
    /// was shared with them at send; never a slot that asks for a texted code.
    pub(super) fn offer_to_colleagues(&mut self, envelope: EnvelopeId, to: Option<PublicKey>) {
        let me = self.me();
        let Ok(state) = self.envelopes.party().state_ref(envelope) else { return };
        let countersign_shared::state::Status::Awaiting { slots: turn } = state.status() else { return };
        if state.creator() != me {
            return;
        }
        let id = envelope.to_string();
        let due: Vec<(Slot, PublicKey)> = self
            .colleague_slots(envelope)
            .into_iter()
            .filter(|(slot, colleague)| to.is_none_or(|to| to == *colleague) && state.binding(*slot).is_none())
            .filter(|(slot, _)| {
                let viewer = state.terms().parties.get(usize::from(*slot)).is_some_and(|p| !p.role.signs());
                turn.contains(slot) || viewer || self.notifier.was_invited(&id, *slot)
            })
            .filter(|(slot, _)| !self.codes.required(&id, *slot))
            .collect();
        if due.is_empty() {
            return;
        }
        let invites = self.envelopes.kept_invites(envelope);
        for (slot, colleague) in due {
            if let Some(invite) = invites.iter().find(|i| i.slot == slot) {
                self.ask(colleague, Request::Offer(invite.link.clone()), Asked::Offer);
            }
        }
    }

    /// A colleague's node offers this node's person an invitation: joined at
    /// once when it comes from its own inviter, and once the document is
    /// here, only if the slot is this person's (their contact; see
    /// `complete_join`). A few at a time.
    pub(super) fn offered(&mut self, from: PublicKey, link: &str) -> Response {
        if self.directory.member(&from).is_none() || self.joins.values().filter(|j| j.offered).count() >= OFFERS_AT_ONCE {
            return Response::Unknown;
        }
        match InvitationLink::parse(link) {
            Ok(InvitationLink::Full(invitation)) if invitation.inviter == from => {
                let envelope = invitation.envelope;
                let new = !self.joins.contains_key(&envelope);
                tracing::info!("a colleague's node handed over envelope {envelope}: joining");
                self.join_by(invitation, None, Vec::new());
                if new && let Some(pending) = self.joins.get_mut(&envelope) {
                    pending.offered = true;
                }
                Response::Accepted
            }
            _ => Response::Unknown,
        }
    }

    /// Whether an offered slot is this node's person's: the party's contact
    /// is theirs (a colleague cannot make this node sign for someone else).
    pub(super) fn offered_slot_is_mine(&self, contact: &Contact) -> bool {
        self.notifier
            .my_contact()
            .and_then(|mine| Contact::parse(&mine).ok())
            .is_some_and(|mine| crate::directory::same_contact(&mine, contact))
    }
}

/// The most colleagues who follow the team added to one envelope.
const FOLLOWERS_ADDED: usize = 5;

/// The most offered joins waiting at once.
const OFFERS_AT_ONCE: usize = 16;
