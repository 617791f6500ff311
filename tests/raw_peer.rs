//! Peers that do not play by the rules, as raw libp2p peers speaking the
//! wire protocols directly: a stranger gets nothing, and a liar serving a
//! blob that does not match its hash (or offering another length than the
//! log names) is cut off with nothing stored.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::time::Duration;

use countersign_node::net::behaviour::{BehaviourEvent, build};
use countersign_node::net::blob_stream::{BLOB_STREAM_PROTOCOL, BlobAsk, BlobStream};
use countersign_node::net::protocol::{Request, Response};
use countersign_scenarios::nodes::{Node, send};
use countersign_scenarios::scratch_dir;
use countersign_shared::envelope_doc::EnvelopeDoc;
use countersign_shared::invite::Invitation;
use countersign_shared::test_utils::contract_pdf;
use countersign_shared::{EnvelopeId, Hash, SecretKey};
use futures::StreamExt as _;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm};

fn listening_address(node: &Node) -> Multiaddr {
    let log = node.log();
    let line = log.lines().find_map(|l| l.strip_prefix("listening ")).expect("the node printed its address");
    line.trim().parse().expect("a multiaddr")
}

/// The secret key in a node's data dir.
fn key_of(node: &Node) -> anyhow::Result<SecretKey> {
    let seed: [u8; 32] = std::fs::read(node.dir.join("key"))?.try_into().map_err(|_| anyhow::anyhow!("a key is 32 bytes"))?;
    Ok(SecretKey::from_seed(seed))
}

/// Drives a raw peer's swarm in the background (streams need it polled).
fn drive(mut swarm: Swarm<countersign_node::net::behaviour::Behaviour>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    })
}

/// Sends one sync request and waits for the answer.
async fn ask(swarm: &mut Swarm<countersign_node::net::behaviour::Behaviour>, peer: libp2p::PeerId, request: Request) -> Response {
    let id = swarm.behaviour_mut().sync.send_request(&peer, request);
    loop {
        match tokio::time::timeout(Duration::from_secs(20), swarm.select_next_some()).await.expect("an answer in time") {
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message: Message::Response { request_id, response },
                ..
            })) if request_id == id => {
                return response;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure { error, .. })) => {
                panic!("request failed: {error}")
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_learns_nothing_not_even_that_the_envelope_exists() -> anyhow::Result<()> {
    let pdf = contract_pdf(1);
    let dir = scratch_dir("stranger")?;
    std::fs::write(dir.join("contract.pdf"), &pdf)?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    anna.start(&[])?;
    let (envelope, _, _) = send(&anna, &dir.join("contract.pdf"), "Confidential terms")?;
    let envelope: EnvelopeId = envelope.parse()?;
    let address = listening_address(&anna);
    let anna_key = key_of(&anna)?;
    let anna_peer = countersign_node::net::behaviour::peer_id(&anna_key.public()).unwrap();

    let stranger = SecretKey::from_seed(countersign_node::party::random_secret());
    let mut swarm = build(&stranger, false)?;
    swarm.add_peer_address(anna_peer, address);
    let mut state = automerge::sync::State::new();
    let hello = EnvelopeDoc::new().sync_message(&mut state).unwrap_or_default();

    let asks = [
        Request::Sync { envelope, invite: None, code: None, message: hello.clone() },
        Request::Sync { envelope, invite: Some((1, stranger.sign(b"not the invite secret"))), code: Some(123_456), message: hello.clone() },
        Request::Sync { envelope: EnvelopeId::from_bytes([7; 32]), invite: None, code: None, message: hello.clone() },
    ];
    for request in asks {
        let answer = ask(&mut swarm, anna_peer, request.clone()).await;
        assert_eq!(answer, Response::Unknown, "{request:?} must get nothing");
    }
    // Nor the PDF, asked for on a blob stream.
    let mut control = swarm.behaviour().streams.new_control();
    let driver = drive(swarm);
    let mut stream = BlobStream::new(control.open_stream(anna_peer, BLOB_STREAM_PROTOCOL).await?);
    // The stream is dropped unread, or answered "not here": never the PDF.
    let _ = stream.ask(&BlobAsk { envelope, hash: Hash::of(&pdf), offset: 0 }).await;
    let answer = tokio::time::timeout(Duration::from_secs(20), stream.read_answer()).await?;
    assert!(!matches!(answer, Ok(Some(_))), "the PDF must not be served to a stranger: {answer:?}");
    let mut rest = [0u8; 16];
    assert!(!matches!(stream.read(&mut rest).await, Ok(n) if n > 0), "and nothing follows");
    driver.abort();
    let status = anna.status(&envelope.to_string())?;
    assert!(status.rejected.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_a_blob_that_does_not_match_its_hash_is_cut_off_and_nothing_is_stored() -> anyhow::Result<()> {
    let pdf = contract_pdf(1);
    let dir = scratch_dir("liar")?;
    std::fs::write(dir.join("contract.pdf"), &pdf)?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let (envelope, director_link, _) = send(&anna, &dir.join("contract.pdf"), "Consulting agreement")?;
    anna.stop()?;

    // The liar holds Anna's key and her copy of the envelope, and lies about the PDF.
    let anna_key = key_of(&anna)?;
    let mut doc = EnvelopeDoc::load(&std::fs::read(anna.dir.join("envelopes").join(format!("{envelope}.automerge")))?)?;
    let mut liar = build(&anna_key, false)?;
    liar.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    let address = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = liar.select_next_some().await {
            break address;
        }
    };
    let mut invitation = Invitation::parse(&director_link)?;
    invitation.addresses = vec![address.to_string()];
    let link = invitation.to_link();
    let size = pdf.len() as u64;
    let mut blob_streams = liar.behaviour().streams.new_control().accept(BLOB_STREAM_PROTOCOL)?;
    let liar_task = tokio::spawn(async move {
        let mut state = automerge::sync::State::new();
        let mut blob_answers = 0;
        loop {
            tokio::select! {
                event = liar.select_next_some() => {
                    if let SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                        message: Message::Request { request: Request::Sync { message, .. }, channel, .. },
                        ..
                    })) = event {
                        if !message.is_empty() {
                            let _ = doc.receive_sync(&mut state, &message);
                        }
                        let reply = doc.sync_message(&mut state);
                        let _ = liar.behaviour_mut().sync.send_response(channel, Response::Sync(reply));
                    }
                }
                Some((_, stream)) = blob_streams.next() => {
                    // First the right length and forged bytes, then a length the log does not name.
                    blob_answers += 1;
                    let first = blob_answers == 1;
                    tokio::spawn(async move {
                        let mut stream = BlobStream::new(stream);
                        let _ = stream.read_ask().await;
                        if first {
                            let _ = stream.answer(Some(size)).await;
                            let _ = stream.write_all(&vec![b'%'; size as usize]).await;
                        } else {
                            let _ = stream.answer(Some(1 << 40)).await;
                            let _ = stream.write_all(&[0; 16]).await;
                        }
                        let _ = stream.close().await;
                    });
                }
            }
        }
    });

    // `join` waits for the PDF, which never comes right: run it in the background.
    let mut joiner = dmitri.cli_in_background(&["join", &link])?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !(dmitri.log().contains("sent a blob that does not match its hash") && dmitri.log().contains("offered a 1099511627776-byte blob"))
    {
        assert!(std::time::Instant::now() < deadline, "the liar was not cut off: {}", dmitri.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hash = Hash::of(&pdf).to_string();
    assert!(!dmitri.dir.join("blobs").join(&hash).exists(), "nothing is stored");
    assert!(!dmitri.dir.join("blobs/partial").join(&hash).exists(), "no partial download is kept");
    let status = dmitri.status(&envelope)?;
    assert_eq!(status.missing_blobs.len(), 1);
    liar_task.abort();
    let _ = joiner.kill();
    let _ = joiner.wait();
    Ok(())
}

/// A valid invitation opens only the sender's node: another party's node
/// answers a holder of the link as it answers a stranger (so a phone code the
/// sender asks for cannot be skipped by going through someone else's node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_opens_only_the_senders_node() -> anyhow::Result<()> {
    let dir = scratch_dir("invite-holder")?;
    std::fs::write(dir.join("contract.pdf"), contract_pdf(1))?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let (envelope, director_link, client_link) = send(&anna, &dir.join("contract.pdf"), "Confidential terms")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    let envelope: EnvelopeId = envelope.parse()?;
    let peer_of =
        |node: &Node| -> anyhow::Result<libp2p::PeerId> { Ok(countersign_node::net::behaviour::peer_id(&key_of(node)?.public()).unwrap()) };
    let (anna_peer, dmitri_peer) = (peer_of(&anna)?, peer_of(&dmitri)?);

    let holder = SecretKey::from_seed(countersign_node::party::random_secret());
    let invitation = Invitation::parse(&client_link)?;
    let proof = (invitation.slot, invitation.prove(&holder.public()));
    let mut swarm = build(&holder, false)?;
    swarm.add_peer_address(anna_peer, listening_address(&anna));
    swarm.add_peer_address(dmitri_peer, listening_address(&dmitri));
    let mut state = automerge::sync::State::new();
    let hello = EnvelopeDoc::new().sync_message(&mut state).unwrap_or_default();
    let request = Request::Sync { envelope, invite: Some(proof), code: None, message: hello };

    let at_dmitri = ask(&mut swarm, dmitri_peer, request.clone()).await;
    assert_eq!(at_dmitri, Response::Unknown, "a party's node does not let an invitation holder in");
    let at_anna = ask(&mut swarm, anna_peer, request).await;
    assert!(matches!(at_anna, Response::Sync(_)), "the sender's node does: {at_anna:?}");
    Ok(())
}

/// A party that opens many blob streams at once is served a few at a time:
/// the rest hear "not here" (or are dropped unread) and ask again later
/// (each served blob holds a buffer and a file; one party may not make its
/// sender hold hundreds, or keep the others waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_asking_for_many_blob_streams_at_once_is_served_a_few_at_a_time() -> anyhow::Result<()> {
    let dir = scratch_dir("many-streams")?;
    // Large enough that a stream nobody reads holds its server back.
    std::fs::write(dir.join("contract.pdf"), countersign_shared::test_utils::large_pdf(2 * 1024 * 1024))?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let (envelope, director_link, _) = send(&anna, &dir.join("contract.pdf"), "Large terms")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    dmitri.stop()?;
    let envelope: EnvelopeId = envelope.parse()?;
    let document = std::fs::read_dir(dmitri.dir.join("blobs"))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<Hash>().ok())
        .next()
        .expect("the director's node holds the PDF");

    // Dmitri's key, in a raw peer that asks twelve streams at once and reads none.
    let dmitri_key = key_of(&dmitri)?;
    let anna_key = key_of(&anna)?;
    let anna_peer = countersign_node::net::behaviour::peer_id(&anna_key.public()).unwrap();
    let mut swarm = build(&dmitri_key, false)?;
    swarm.add_peer_address(anna_peer, listening_address(&anna));
    let control = swarm.behaviour().streams.new_control();
    let driver = drive(swarm);
    // One stream after another, none of them read: the first four are
    // served (and hold their place), every later one is turned away.
    let ask_one = |mut control: libp2p_stream::Control| async move {
        let mut stream = BlobStream::new(control.open_stream(anna_peer, BLOB_STREAM_PROTOCOL).await?);
        stream.ask(&BlobAsk { envelope, hash: document, offset: 0 }).await?;
        let answer = tokio::time::timeout(Duration::from_secs(20), stream.read_answer()).await??;
        anyhow::Ok((answer, stream))
    };
    let mut open = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..8 {
        match ask_one(control.clone()).await {
            Ok((answer, stream)) => {
                answers.push(answer.is_some());
                open.push(stream);
            }
            Err(_) => answers.push(false),
        }
    }
    assert_eq!(answers, [true, true, true, true, false, false, false, false], "four served to one party at once, then no more");
    // Once the streams are read (or dropped), the next ask is served again.
    drop(open);
    let mut control = control.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut stream = BlobStream::new(control.open_stream(anna_peer, BLOB_STREAM_PROTOCOL).await?);
        stream.ask(&BlobAsk { envelope, hash: document, offset: 0 }).await?;
        if stream.read_answer().await?.is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sender never served again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver.abort();
    Ok(())
}
