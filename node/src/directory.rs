//! The company directory: the nodes of one company's people. A document for
//! a colleague then reaches their board at once, with no invitation link,
//! and everyone shows by name.
//!
//! People join it by a colleague link (`countersign://team/…`) that any
//! member makes on the team page: a one-time secret, the member's key and
//! where to reach its node. The joiner's node proves the secret to that
//! node (the proof a short invitation's lookup uses, bound to the joiner's
//! key, so a proof seen cannot be replayed) with its own card (name,
//! contact, addresses), and gets the directory back. Members tell each other
//! of new members; a node takes news only from a member, and a member's own
//! card only from that member.
//!
//! Kept in `directory.json` (owner-only): the members, and the open
//! colleague links this node made.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_shared::encoding::{DecodeError, Reader, Writer};
use countersign_shared::invite::{InviteSecret, ShortInvitation};
use countersign_shared::keys::{PublicKey, Signature};
use countersign_shared::model::Contact;
use serde::{Deserialize, Serialize};

use crate::datadir::{DataDir, DataDirError, write_atomic};

/// The file, in the data dir.
const FILE: &str = "directory.json";
/// How a colleague link starts.
pub const LINK_PREFIX: &str = "countersign://team/";
/// The colleague link's format.
const LINK_VERSION: u8 = 1;
/// The most members a directory holds (and a peer may send).
pub const MAX_MEMBERS: usize = 1000;
/// The most addresses a member's card carries.
pub const MAX_ADDRESSES: usize = 16;
/// The longest name, contact or address in a card.
pub const MAX_TEXT: usize = 300;
/// How long a colleague link works.
const LINK_LIFETIME_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// The most colleague links open at once.
const MAX_OPEN_LINKS: usize = 100;

/// One person of the company, as their own node describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Their node's key.
    pub key: PublicKey,
    /// Their name.
    pub name: String,
    /// Their email or phone.
    pub contact: Option<String>,
    /// Where their node listens.
    pub addresses: Vec<String>,
    /// They follow the team's documents: colleagues add them as a viewer.
    #[serde(default)]
    pub follows_team: bool,
}

impl Member {
    /// Whether `contact` (as a sender typed it) is this member's.
    pub fn has_contact(&self, contact: &Contact) -> bool {
        self.contact.as_deref().and_then(|c| Contact::parse(c).ok()).is_some_and(|mine| same_contact(&mine, contact))
    }
}

/// Emails compare without case; phone numbers as parsed.
pub fn same_contact(a: &Contact, b: &Contact) -> bool {
    a.to_string().to_lowercase() == b.to_string().to_lowercase()
}

/// A colleague link this node made and nobody used yet, with the contact
/// of the colleague it was made for: whoever uses it joins with that
/// contact, whatever their card says (the contact is what hands them
/// documents, so it is vouched for by the member who made the link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OpenLink {
    invite_key: PublicKey,
    expires_at: u64,
    #[serde(default)]
    contact: String,
}

/// What is kept on disk.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    #[serde(default)]
    members: Vec<Member>,
    #[serde(default)]
    open_links: Vec<OpenLink>,
}

/// The directory of a data dir.
#[derive(Debug)]
pub struct Directory {
    data: DataDir,
    kept: Kept,
}

impl Directory {
    /// The data dir's directory (empty when there is none yet).
    pub fn open(data: &DataDir) -> Result<Directory, DataDirError> {
        let path = data.path(FILE);
        let kept = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| DataDirError::Damaged(path.display().to_string(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kept::default(),
            Err(source) => {
                return Err(DataDirError::Io { what: "cannot read the company directory", path: path.display().to_string(), source });
            }
        };
        Ok(Directory { data: data.clone(), kept })
    }

    fn save(&self) -> Result<(), DataDirError> {
        let bytes = serde_json::to_vec_pretty(&self.kept).map_err(|e| DataDirError::Damaged(FILE.into(), e.to_string()))?;
        write_atomic(&self.data.path(FILE), &bytes, true)
    }

    /// Every member, in the order they joined.
    pub fn members(&self) -> &[Member] {
        &self.kept.members
    }

    /// The member with this key.
    pub fn member(&self, key: &PublicKey) -> Option<&Member> {
        self.kept.members.iter().find(|m| m.key == *key)
    }

    /// The members who follow the team's documents.
    pub fn followers(&self) -> impl Iterator<Item = &Member> {
        self.kept.members.iter().filter(|m| m.follows_team)
    }

    /// The member whose contact `contact` is, if exactly one has it.
    pub fn by_contact(&self, contact: &Contact) -> Option<&Member> {
        let mut found = self.kept.members.iter().filter(|m| m.has_contact(contact));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// A new colleague link for the colleague whose email or phone is
    /// `contact`, from `me`, reachable at `addresses`, until `now_ms` + a week.
    pub fn new_link(
        &mut self,
        contact: &Contact,
        me: PublicKey,
        addresses: Vec<String>,
        now_ms: u64,
    ) -> Result<ColleagueLink, DataDirError> {
        self.kept.open_links.retain(|l| l.expires_at > now_ms);
        if self.kept.open_links.len() >= MAX_OPEN_LINKS {
            self.kept.open_links.remove(0);
        }
        let link = ColleagueLink { secret: InviteSecret(crate::party::random_invite_secret()), inviter: me, addresses };
        self.kept.open_links.push(OpenLink {
            invite_key: link.invite_key(),
            expires_at: now_ms + LINK_LIFETIME_MS,
            contact: contact.to_string(),
        });
        self.save()?;
        Ok(link)
    }

    /// The contact the open link `invite_key` was made for.
    pub fn link_contact(&self, invite_key: &PublicKey) -> Option<&str> {
        self.kept.open_links.iter().find(|l| l.invite_key == *invite_key).map(|l| l.contact.as_str())
    }

    /// Uses up the open link `invite_key` if `proof` proves its secret for
    /// `asker`, answering the contact the link was made for; `None` for an
    /// unknown, used or expired link, or a bad proof.
    pub fn redeem(
        &mut self,
        invite_key: &PublicKey,
        asker: &PublicKey,
        proof: &Signature,
        now_ms: u64,
    ) -> Result<Option<String>, DataDirError> {
        let message = countersign_shared::invite::lookup_message(invite_key, asker);
        let open = self.kept.open_links.iter().position(|l| l.invite_key == *invite_key && l.expires_at > now_ms);
        match open {
            Some(at) if invite_key.verify(&message, proof).is_ok() => {
                let link = self.kept.open_links.remove(at);
                self.save()?;
                Ok(Some(link.contact))
            }
            _ => Ok(None),
        }
    }

    /// Takes in members told by `from` (a member, or the node a colleague
    /// link of ours was just redeemed by): new keys are added; a member's
    /// own card is updated only by that member, and never its contact (the
    /// member who brought them in vouched for it); `me` is never listed.
    /// Answers whether anything changed.
    pub fn merge(&mut self, from: &PublicKey, members: Vec<Member>, me: &PublicKey) -> Result<bool, DataDirError> {
        let mut changed = false;
        for member in members.into_iter().filter(|m| m.key != *me && usable(m)) {
            let room = self.kept.members.len() < MAX_MEMBERS;
            match self.kept.members.iter_mut().find(|m| m.key == member.key) {
                Some(known)
                    if member.key == *from
                        && (known.name != member.name
                            || known.addresses != member.addresses
                            || known.follows_team != member.follows_team) =>
                {
                    known.name = member.name;
                    known.addresses = member.addresses;
                    known.follows_team = member.follows_team;
                    changed = true;
                }
                Some(_) => {}
                None if room => {
                    // Whether they follow the team is theirs to say.
                    let follows_team = member.follows_team && member.key == *from;
                    self.kept.members.push(Member { follows_team, ..member });
                    changed = true;
                }
                None => {}
            }
        }
        if changed {
            self.save()?;
        }
        Ok(changed)
    }
}

/// A card worth keeping: a name, and a contact that reads as one.
pub fn usable(member: &Member) -> bool {
    !member.name.trim().is_empty() && member.contact.as_deref().is_none_or(|c| Contact::parse(c).is_ok())
}

/// A colleague link: the one-time secret, the member who made it, and where
/// its node listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColleagueLink {
    /// The one-time secret.
    pub secret: InviteSecret,
    /// The member who made the link.
    pub inviter: PublicKey,
    /// Where the inviter's node listens.
    pub addresses: Vec<String>,
}

impl ColleagueLink {
    /// The public half of the secret (what the inviter keeps).
    pub fn invite_key(&self) -> PublicKey {
        self.short().invite_key()
    }

    /// The secret's proof for the joining node `asker`.
    pub fn proof(&self, asker: &PublicKey) -> Signature {
        self.short().lookup_proof(asker)
    }

    fn short(&self) -> ShortInvitation {
        ShortInvitation { secret: self.secret, inviter: self.inviter }
    }

    /// `countersign://team/<payload>`.
    pub fn to_link(&self) -> String {
        let mut w = Writer::new();
        w.u8(LINK_VERSION).fixed(&self.secret.0).fixed(self.inviter.as_bytes());
        w.u32(u32::try_from(self.addresses.len()).unwrap_or(u32::MAX));
        for address in &self.addresses {
            w.str(address);
        }
        format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(w.finish()))
    }

    /// Reads a link as a person pastes it.
    pub fn parse(text: &str) -> Result<ColleagueLink, DecodeError> {
        let payload = text
            .trim()
            .strip_prefix(LINK_PREFIX)
            .ok_or_else(|| DecodeError::Invalid("this is not a colleague link (it starts with countersign://team/)".into()))?;
        if payload.len() > 4 * 1024 {
            return Err(DecodeError::TooLong { what: "colleague link", len: payload.len(), max: 4 * 1024 });
        }
        let bytes =
            URL_SAFE_NO_PAD.decode(payload).map_err(|_| DecodeError::Invalid("this colleague link is damaged or incomplete".into()))?;
        let mut r = Reader::new(&bytes);
        match r.u8("version")? {
            LINK_VERSION => {}
            tag => return Err(DecodeError::UnknownTag { what: "colleague link version", tag }),
        }
        let secret = InviteSecret(r.array("secret")?);
        let inviter = PublicKey::from_bytes(r.array("inviter")?);
        let count = r.count(MAX_ADDRESSES, "addresses")?;
        let addresses = (0..count).map(|_| r.str(MAX_TEXT, "address").map(str::to_owned)).collect::<Result<_, _>>()?;
        r.finish()?;
        Ok(ColleagueLink { secret, inviter, addresses })
    }
}

#[cfg(test)]
mod tests {
    use countersign_shared::keys::SecretKey;

    use super::*;

    fn member(seed: u8, name: &str, contact: &str) -> Member {
        Member {
            key: SecretKey::from_seed([seed; 32]).public(),
            name: name.into(),
            contact: Some(contact.into()),
            addresses: vec![],
            follows_team: false,
        }
    }

    fn directory() -> Directory {
        let dir = std::env::temp_dir().join(format!("countersign-directory-{}", crate::party::random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        Directory::open(&DataDir::resolve(Some(dir)).unwrap()).unwrap()
    }

    #[test]
    fn a_link_reads_back_and_a_damaged_one_is_refused() {
        let link = ColleagueLink {
            secret: InviteSecret([7; 16]),
            inviter: SecretKey::from_seed([1; 32]).public(),
            addresses: vec!["/ip4/192.0.2.1/tcp/4001".into()],
        };
        assert_eq!(ColleagueLink::parse(&format!(" {} ", link.to_link())).unwrap(), link);
        let text = link.to_link();
        for bad in [&text[..text.len() - 3], "countersign://join/abc", "countersign://team/!!", ""] {
            assert!(ColleagueLink::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_link_works_once_for_the_proof_of_its_secret_bound_to_the_asker() {
        let mut directory = directory();
        let me = SecretKey::from_seed([1; 32]).public();
        let asker = SecretKey::from_seed([2; 32]).public();
        let other = SecretKey::from_seed([3; 32]).public();
        let contact = Contact::parse("boris@acme.test").unwrap();
        let link = directory.new_link(&contact, me, vec![], 1_000).unwrap();
        let key = link.invite_key();
        assert_eq!(directory.redeem(&key, &other, &link.proof(&asker), 2_000).unwrap(), None, "a proof made for another key");
        assert_eq!(directory.redeem(&key, &asker, &link.proof(&asker), 1_000 + LINK_LIFETIME_MS + 1).unwrap(), None, "expired");
        assert_eq!(directory.redeem(&key, &asker, &link.proof(&asker), 2_000).unwrap().as_deref(), Some("boris@acme.test"));
        assert_eq!(directory.redeem(&key, &asker, &link.proof(&asker), 2_000).unwrap(), None, "used once");
    }

    #[test]
    fn news_come_from_members_and_a_card_changes_only_by_its_own_member() {
        let mut directory = directory();
        let me = SecretKey::from_seed([9; 32]).public();
        let (anna, boris) = (member(1, "Anna", "anna@acme.test"), member(2, "Boris", "+15550101"));
        assert!(directory.merge(&anna.key, vec![anna.clone(), boris.clone(), member(9, "Me", "me@acme.test")], &me).unwrap());
        assert_eq!(directory.members().len(), 2, "never myself");
        let forged = Member { name: "Mallory".into(), ..boris.clone() };
        assert!(!directory.merge(&anna.key, vec![forged.clone()], &me).unwrap(), "Anna cannot rename Boris");
        assert!(directory.merge(&boris.key, vec![forged], &me).unwrap(), "Boris can");
        let hijack = Member { contact: Some("ceo@acme.test".into()), ..boris.clone() };
        directory.merge(&boris.key, vec![hijack], &me).unwrap();
        assert_eq!(
            directory.member(&boris.key).and_then(|m| m.contact.as_deref()),
            Some("+15550101"),
            "nobody changes their own vouched contact"
        );
        assert_eq!(directory.by_contact(&Contact::parse("ANNA@acme.test").unwrap()).map(|m| m.name.as_str()), Some("Anna"));
        let reopened = Directory::open(&directory.data).unwrap();
        assert_eq!(reopened.members(), directory.members(), "kept on disk");
    }
}
