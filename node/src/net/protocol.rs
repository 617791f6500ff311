//! The request/response protocol between nodes (blobs travel in streams of
//! their own: [`super::blob_stream`]).
//!
//! - `/countersign/sync/5`: Automerge sync for one envelope. The request
//!   carries the envelope id, optionally an invite proof (for a party that has
//!   not joined yet) and the one-time code the inviter texted them (when the
//!   sender asked to confirm phone numbers), and a sync message; the response
//!   carries the peer's next sync message, or says a code is needed. A peer
//!   that may not see the envelope gets `Unknown`, exactly as if it did not
//!   exist. A party holding only a short invitation link (the secret and the
//!   inviter) first asks which envelope and slot it opens (`Lookup`,
//!   answered by `Found` or `Unknown`).
//!
//! Every frame is a `u32` length and a body in the canonical encoding; reads
//! are capped ([`MAX_FRAME`]) before anything is allocated. Sync version 2
//! added the one-time code and its answer; version 3 carries entries of format
//! 2 (certificates in `Join`, the `Seal` act), which older nodes cannot read;
//! version 4 entries of format 3 (the `Confirm` act); version 5 added the
//! lookup of a short invitation, and, without a new version (an older node
//! answers the new requests with an error, read as "no"), the company
//! directory: `Colleague` (joining by a colleague link), `Members` (news of
//! members) and `Offer` (an invitation handed to a colleague's node, which
//! joins at once). Blobs went in chunks
//! over `/countersign/blob/1` before `/countersign/blob/2`.

use std::io;

use countersign_shared::encoding::{DecodeError, Reader, Writer};
use countersign_shared::hash::EnvelopeId;
use countersign_shared::keys::{PublicKey, Signature};
use countersign_shared::model::Slot;
use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// The most cards a message carries (a full directory's members and the sender's own).
const MAX_CARDS: usize = 1001;
/// The most addresses a card carries.
const MAX_CARD_ADDRESSES: usize = 16;
/// The longest name, contact or address in a card.
const MAX_CARD_TEXT: usize = 300;

/// A person of the company as their own node describes them, on the wire
/// (the directory keeps them as its members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Their node's key.
    pub key: PublicKey,
    /// Their name.
    pub name: String,
    /// Their email or phone.
    pub contact: Option<String>,
    /// Where their node listens.
    pub addresses: Vec<String>,
    /// They follow the team's documents.
    pub follows_team: bool,
}

impl Card {
    fn encode(&self, w: &mut Writer) {
        w.fixed(self.key.as_bytes()).str(&self.name);
        match &self.contact {
            Some(contact) => w.u8(1).str(contact),
            None => w.u8(0),
        };
        w.u32(u32::try_from(self.addresses.len()).unwrap_or(u32::MAX));
        for address in &self.addresses {
            w.str(address);
        }
        w.bool(self.follows_team);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Card, DecodeError> {
        let key = PublicKey::from_bytes(r.array("card key")?);
        let name = r.str(MAX_CARD_TEXT, "card name")?.to_owned();
        let contact = match r.u8("has contact")? {
            0 => None,
            1 => Some(r.str(MAX_CARD_TEXT, "card contact")?.to_owned()),
            tag => return Err(DecodeError::UnknownTag { what: "card contact", tag }),
        };
        let count = r.count(MAX_CARD_ADDRESSES, "card addresses")?;
        let addresses = (0..count).map(|_| r.str(MAX_CARD_TEXT, "card address").map(str::to_owned)).collect::<Result<_, _>>()?;
        Ok(Card { key, name, contact, addresses, follows_team: r.bool("follows team")? })
    }
}
use libp2p::StreamProtocol;

/// Automerge sync per envelope.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/countersign/sync/5");
/// Largest frame read from a peer.
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A sync round for an envelope.
    Sync {
        /// The envelope.
        envelope: EnvelopeId,
        /// For a party that has not joined: its slot and invite proof.
        invite: Option<(Slot, Signature)>,
        /// The one-time code texted to the party, when the inviter asked for one.
        code: Option<u32>,
        /// The Automerge sync message (may be empty).
        message: Vec<u8>,
    },
    /// Which envelope and slot a short invitation opens.
    Lookup {
        /// The public half of the invite secret.
        invite_key: PublicKey,
        /// The secret's signature over the invite key and the asker's key
        /// ([`countersign_shared::invite::lookup_message`]).
        proof: Signature,
    },
    /// Joins the company directory with a colleague link: the secret's
    /// proof for the asker, and the asker's own card.
    Colleague {
        /// The public half of the link's secret.
        invite_key: PublicKey,
        /// The secret's signature over the invite key and the asker's key.
        proof: Signature,
        /// Who the asker is.
        card: Card,
    },
    /// Members the asker knows (its own card among them); answered with the
    /// members the peer knows.
    Members(Vec<Card>),
    /// An invitation for the peer's person, from a colleague's node: the
    /// peer joins it at once (full invitation payload).
    Offer(String),
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The next sync message, if the peer has one.
    Sync(Option<Vec<u8>>),
    /// Nothing to say: no such envelope, or not for this peer.
    Unknown,
    /// The invitation is good, but the party must first give the one-time
    /// code texted to their phone.
    CodeNeeded(CodeAnswer),
    /// What a short invitation opens.
    Found {
        /// The envelope.
        envelope: EnvelopeId,
        /// The party slot.
        slot: Slot,
        /// Unix time (ms) when the invitation stops working.
        expires_at: u64,
    },
    /// The members the peer knows (its own card among them).
    Directory(Vec<Card>),
    /// The offered invitation was taken.
    Accepted,
}

fn encode_members(w: &mut Writer, members: &[Card]) {
    w.u32(u32::try_from(members.len()).unwrap_or(u32::MAX));
    for member in members {
        member.encode(w);
    }
}

fn decode_members(r: &mut Reader<'_>) -> Result<Vec<Card>, DecodeError> {
    let count = r.count(MAX_CARDS, "members")?;
    (0..count).map(|_| Card::decode(r)).collect()
}

/// The longest invitation payload an offer carries.
const MAX_OFFER: usize = 4096;

/// Why a code is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAnswer {
    /// A code was just texted.
    Sent,
    /// The code given is wrong; this many tries are left.
    Wrong(u8),
    /// The code given is too old; join without one to get a new code.
    Expired,
    /// Too many wrong codes: this invitation is locked.
    Locked,
}

impl Request {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Request::Sync { envelope, invite, code, message } => {
                w.u8(1).fixed(envelope.as_bytes());
                match invite {
                    Some((slot, proof)) => w.u8(1).u8(*slot).fixed(proof.as_bytes()),
                    None => w.u8(0),
                };
                match code {
                    Some(code) => w.u8(1).u32(*code),
                    None => w.u8(0),
                };
                w.bytes(message);
            }
            Request::Lookup { invite_key, proof } => {
                w.u8(2).fixed(invite_key.as_bytes()).fixed(proof.as_bytes());
            }
            Request::Colleague { invite_key, proof, card } => {
                w.u8(3).fixed(invite_key.as_bytes()).fixed(proof.as_bytes());
                card.encode(&mut w);
            }
            Request::Members(members) => {
                w.u8(4);
                encode_members(&mut w, members);
            }
            Request::Offer(invitation) => {
                w.u8(5).str(invitation);
            }
        }
        w.finish()
    }

    /// Reads a request; anything malformed is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let request = match r.u8("request")? {
            1 => {
                let envelope = EnvelopeId::from_bytes(r.array("envelope")?);
                let invite = match r.u8("invite")? {
                    0 => None,
                    1 => Some((r.u8("slot")?, Signature::from_bytes(r.array("proof")?))),
                    tag => return Err(DecodeError::UnknownTag { what: "invite", tag }),
                };
                let code = match r.u8("code")? {
                    0 => None,
                    1 => Some(r.u32("code")?),
                    tag => return Err(DecodeError::UnknownTag { what: "code", tag }),
                };
                Request::Sync { envelope, invite, code, message: r.bytes(MAX_FRAME, "sync message")?.to_vec() }
            }
            2 => Request::Lookup {
                invite_key: PublicKey::from_bytes(r.array("invite key")?),
                proof: Signature::from_bytes(r.array("lookup proof")?),
            },
            3 => Request::Colleague {
                invite_key: PublicKey::from_bytes(r.array("invite key")?),
                proof: Signature::from_bytes(r.array("colleague proof")?),
                card: Card::decode(&mut r)?,
            },
            4 => Request::Members(decode_members(&mut r)?),
            5 => Request::Offer(r.str(MAX_OFFER, "offered invitation")?.to_owned()),
            tag => return Err(DecodeError::UnknownTag { what: "request", tag }),
        };
        r.finish()?;
        Ok(request)
    }
}

impl Response {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Response::Sync(None) => w.u8(1).u8(0),
            Response::Sync(Some(message)) => w.u8(1).u8(1).bytes(message),
            Response::Unknown => w.u8(3),
            Response::CodeNeeded(answer) => match answer {
                CodeAnswer::Sent => w.u8(4).u8(0),
                CodeAnswer::Wrong(left) => w.u8(4).u8(1).u8(*left),
                CodeAnswer::Expired => w.u8(4).u8(2),
                CodeAnswer::Locked => w.u8(4).u8(3),
            },
            Response::Found { envelope, slot, expires_at } => w.u8(5).fixed(envelope.as_bytes()).u8(*slot).u64(*expires_at),
            Response::Directory(members) => {
                w.u8(6);
                encode_members(&mut w, members);
                &mut w
            }
            Response::Accepted => w.u8(7),
        };
        w.finish()
    }

    /// Reads a response; anything malformed is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let response = match r.u8("response")? {
            1 => match r.u8("has message")? {
                0 => Response::Sync(None),
                1 => Response::Sync(Some(r.bytes(MAX_FRAME, "sync message")?.to_vec())),
                tag => return Err(DecodeError::UnknownTag { what: "sync response", tag }),
            },
            3 => Response::Unknown,
            4 => Response::CodeNeeded(match r.u8("code answer")? {
                0 => CodeAnswer::Sent,
                1 => CodeAnswer::Wrong(r.u8("tries left")?),
                2 => CodeAnswer::Expired,
                3 => CodeAnswer::Locked,
                tag => return Err(DecodeError::UnknownTag { what: "code answer", tag }),
            }),
            5 => Response::Found {
                envelope: EnvelopeId::from_bytes(r.array("envelope")?),
                slot: r.u8("slot")?,
                expires_at: r.u64("expiry")?,
            },
            6 => Response::Directory(decode_members(&mut r)?),
            7 => Response::Accepted,
            tag => return Err(DecodeError::UnknownTag { what: "response", tag }),
        };
        r.finish()?;
        Ok(response)
    }
}

/// Frames requests and responses on libp2p streams, reads capped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Codec;

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME + 64 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a {len}-byte message is over the limit")));
    }
    let mut body = Vec::with_capacity(len);
    io.take(len as u64).read_to_end(&mut body).await?;
    if body.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(body)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(body).await?;
    io.close().await
}

fn invalid(e: DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request> {
        Request::decode(&read_frame(io).await?).map_err(invalid)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response> {
        Response::decode(&read_frame(io).await?).map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T, request: Request) -> io::Result<()> {
        write_frame(io, &request.encode()).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T, response: Response) -> io::Result<()> {
        write_frame(io, &response.encode()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        Card {
            key: PublicKey::from_bytes([8; 32]),
            name: "Dmitri Director".into(),
            contact: Some("dmitri@acme.test".into()),
            addresses: vec!["/ip4/192.0.2.1/tcp/4001".into()],
            follows_team: true,
        }
    }

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let requests = [
            Request::Sync {
                envelope: EnvelopeId::from_bytes([1; 32]),
                invite: Some((1, Signature::from_bytes([2; 64]))),
                code: Some(123_456),
                message: vec![3, 4],
            },
            Request::Sync { envelope: EnvelopeId::from_bytes([1; 32]), invite: None, code: None, message: vec![] },
            Request::Lookup { invite_key: PublicKey::from_bytes([4; 32]), proof: Signature::from_bytes([5; 64]) },
            Request::Colleague { invite_key: PublicKey::from_bytes([4; 32]), proof: Signature::from_bytes([5; 64]), card: card() },
            Request::Members(vec![card(), Card { contact: None, addresses: vec![], ..card() }]),
            Request::Offer("AQID".into()),
        ];
        for request in requests {
            assert_eq!(Request::decode(&request.encode()).unwrap(), request);
        }
        let found = Response::Found { envelope: EnvelopeId::from_bytes([6; 32]), slot: 2, expires_at: 1_800_000_000_000 };
        for response in [
            Response::Sync(None),
            Response::Sync(Some(vec![9])),
            Response::Unknown,
            found,
            Response::Directory(vec![card()]),
            Response::Accepted,
        ]
        .into_iter()
        .chain([CodeAnswer::Sent, CodeAnswer::Wrong(3), CodeAnswer::Expired, CodeAnswer::Locked].map(Response::CodeNeeded))
        {
            assert_eq!(Response::decode(&response.encode()).unwrap(), response);
        }
        assert!(Request::decode(b"\x07garbage").is_err());
        let mut long = Response::Unknown.encode();
        long.push(0);
        assert!(Response::decode(&long).is_err());
    }

    #[test]
    fn oversized_or_garbage_frames_are_refused_before_anything_is_allocated() {
        use libp2p::request_response::Codec as _;
        futures::executor::block_on(async {
            let mut codec = Codec;
            let oversized = (u32::MAX).to_be_bytes().to_vec();
            let error = codec.read_request(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(oversized)).await.unwrap_err();
            assert!(error.to_string().contains("over the limit"), "{error}");
            let mut garbage = 5u32.to_be_bytes().to_vec();
            garbage.extend_from_slice(b"\x09junk");
            assert!(codec.read_request(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(garbage)).await.is_err());
            let mut short = 100u32.to_be_bytes().to_vec();
            short.extend_from_slice(b"only a few bytes");
            assert!(codec.read_response(&SYNC_PROTOCOL, &mut futures::io::Cursor::new(short)).await.is_err());
        });
    }
}
