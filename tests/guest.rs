//! The client signs from the SMS link in a phone's browser (headless
//! Chromium, mobile emulation), with no app: the sender's node is reachable
//! only through a relay, the guest's key is made in the browser, and the
//! final PDF comes out byte for byte the same in the browser and on every node.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use countersign_scenarios::app::outbox;
use countersign_scenarios::browser::Browser;
use countersign_scenarios::nodes::{Node, Relay};
use countersign_scenarios::verifier::RecordingVerifier;
use countersign_scenarios::{pem, pyhanko_validate, scratch_dir};
use countersign_shared::invite::WEB_PATH;
use countersign_shared::test_utils::{contract_pdf, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};
use countersign_verifier::config::Config;
use countersign_verifier::http::{AppState, guest::GuestFiles};

/// The guest page's build (`scripts/build-guest`).
fn guest_build() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/web/dist")
}

fn wait_for_text_message(node: &Node, what: &str, found: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(text) = outbox(node).into_iter().find(|t| t.contains("To: +15550100") && found(t)) {
            return text;
        }
        assert!(Instant::now() < deadline, "no text message {what} in the outbox: {:?}", outbox(node));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The parts every guest test needs: a relay, the verifier serving the
/// guest page (recording every request it gets), the sender's node reachable
/// only through the relay, and the director's node.
struct World {
    /// Kept running for the test.
    _relay: Relay,
    recording: RecordingVerifier,
    verifier: String,
    sally: Node,
    dmitri: Node,
    dir: PathBuf,
}

impl World {
    fn start(label: &str) -> anyhow::Result<World> {
        let relay = Relay::start()?;
        let guest = GuestFiles::load(&guest_build(), &relay.websocket)?;
        let recording =
            RecordingVerifier::start_with(AppState { guest: Some(guest), ..AppState::new(&Config::default(), Default::default()) })?;
        let verifier = recording.url.clone();
        let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
        let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
        sally.start(&["--relay", &relay.address])?;
        dmitri.start(&[])?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sally.cli(&["info"])?.stdout.contains("p2p-circuit") {
            assert!(Instant::now() < deadline, "no relay reservation: {}", sally.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(World { _relay: relay, recording, verifier, sally, dmitri, dir: scratch_dir(label)? })
    }

    /// Sends `pdf` to the director and to Carl by phone; the envelope id,
    /// the director's link and the stdout of `send`.
    fn send(&self, pdf: &[u8], extra: &[&str]) -> anyhow::Result<(String, String)> {
        std::fs::write(self.dir.join("contract.pdf"), pdf)?;
        let pdf = self.dir.join("contract.pdf").display().to_string();
        let qr = self.dir.join("qr").display().to_string();
        let args = [
            "send",
            "--pdf",
            &pdf,
            "--title",
            "Consulting agreement",
            "--signer",
            "Dmitri Director:dmitri@acme.test",
            "--client",
            "Carl Client:+15550100",
            "--verifier",
            &self.verifier,
            "--qr-dir",
            &qr,
        ];
        let sent = self.sally.cli(&[&args[..], extra].concat())?.ok()?;
        let envelope = sent.stdout.lines().next().and_then(|l| l.strip_prefix("Envelope ")).unwrap_or_default().to_owned();
        let director_link = sent.stdout.lines().find(|l| l.contains(WEB_PATH)).unwrap_or_default().to_owned();
        Ok((envelope, director_link))
    }

    /// The client's link, from the text message in the sender's outbox.
    fn client_link(&self) -> String {
        let sms = wait_for_text_message(&self.sally, "inviting Carl", |t| t.contains(WEB_PATH));
        sms.split_whitespace().find(|w| w.contains(WEB_PATH)).unwrap_or_default().to_owned()
    }
}

#[test]
fn a_client_signs_from_the_text_message_in_a_phone_browser() -> anyhow::Result<()> {
    let world = World::start("guest")?;
    let World { verifier, sally, dmitri, dir, .. } = &world;
    // Sally lets the client read the contract before the company signs.
    let (envelope, director_link) = world.send(&contract_pdf(1), &["--confirm-by-code", "--invite-all-now"])?;
    // The client's text message, as the phone gets it.
    let link = world.client_link();
    assert!(link.starts_with(&format!("{verifier}/join#")), "{link}");
    let payload = link.split_once('#').map(|(_, p)| p.to_owned()).unwrap_or_default();

    let phone = Browser::phone()?;
    phone.go(&link)?;
    phone.click("#sign-here")?;
    phone.wait_for_text("texted you a 6-digit code")?;
    let texted = wait_for_text_message(sally, "with the code", |t| t.contains("Your Countersign code"));
    let code = texted.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap_or_default().to_owned();
    phone.type_into("#code", &code)?;
    phone.click("#code-form button")?;
    phone.wait_for_text("Waiting for Dmitri Director to sign first")?;
    phone.screenshot("guest-1-waiting")?;
    // The tab closed and the link opened again: the same key goes on (a new
    // key would find the slot taken), and no code is asked again.
    phone.go("about:blank")?;
    phone.go(&format!("{verifier}/sign#{payload}"))?;
    phone.wait_for_text("Waiting for Dmitri Director to sign first")?;

    // The director signs in their own node; the client's page sees its turn come.
    dmitri.cli(&["join", &director_link])?.ok()?;
    std::fs::write(dir.join("signature.png"), signature_png(1))?;
    std::fs::write(dir.join("stamp.png"), stamp_png())?;
    let signature = dir.join("signature.png").display().to_string();
    let stamp = dir.join("stamp.png").display().to_string();
    dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;
    phone.wait_for_text("Your turn to sign")?;
    // The director's signature shows on the phone's clock, with its offset.
    let parties = phone.text("#parties")?;
    assert!(parties.contains("Dmitri Director · signed") && parties.contains("GMT"), "{parties}");
    // ...and the client's phone is texted so, with the same link.
    let turn = wait_for_text_message(sally, "saying it is Carl's turn", |t| t.contains("Your turn to sign"));
    assert!(turn.contains(&link), "the text carries the client's link {link}: {turn}");
    phone.type_into("#field-4", "Carl Client")?;
    phone.type_into("#field-5", "1 Main St, Springfield")?;
    phone.type_into("#email", "carl@client.test")?;
    phone.draw_signature("#pad")?;
    phone.screenshot("guest-2-signing")?;
    phone.click("#sign-button")?;
    phone.wait_for_text("Signed by everyone")?;
    phone.wait_for("#download")?;
    let verdict = phone.text("#verdict")?;
    assert!(verdict.starts_with("✓ Valid"), "{verdict}");
    phone.screenshot("guest-3-completed")?;
    phone.click("#download")?;
    let downloaded = std::fs::read(phone.downloaded(".pdf")?)?;

    // The same final PDF everywhere; our verifier and pyHanko accept it.
    for node in [&sally, &dmitri] {
        let out = dir.join(format!("{}.pdf", node.dir.file_name().unwrap_or_default().to_string_lossy()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.cli(&["export", &envelope, "--out", &out.display().to_string()])?.code != 0 {
            assert!(Instant::now() < deadline, "no final PDF on {}", node.dir.display());
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(std::fs::read(&out)?, downloaded, "the browser's final PDF is byte for byte the node's");
    }
    let report = verify(&downloaded);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    // pyHanko trusts each signer's certificate as the log records it: the
    // client's is the one its browser made.
    let countersign_shared::render::LogFound::Log { entries, .. } = countersign_shared::render::find_log(&downloaded) else {
        panic!("the final PDF has no log")
    };
    let state = countersign_shared::state::fold(envelope.parse()?, entries)?;
    let trust: Vec<Vec<u8>> = (0..2).map(|slot| pem(&state.certificates(slot).expect("a certificate")[0])).collect();
    let checked = pyhanko_validate(&downloaded, &trust)?;
    assert_eq!(checked.code, 0, "pyHanko says invalid:\n{}", checked.output);
    assert_eq!(checked.lines.len(), 2, "{}", checked.output);

    // Carl asked for it by email: the sender's node sends it (no email
    // settings here, so it waits in the outbox for a person to forward).
    let deadline = Instant::now() + Duration::from_secs(30);
    let emailed = loop {
        let found = std::fs::read_dir(sally.dir.join("outbox"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| countersign_scenarios::mail::decode(&std::fs::read(p).ok()?).ok())
            .find(|e| e.to.contains("carl@client.test") && e.subject.starts_with("Signed by everyone"));
        if let Some(email) = found {
            break email;
        }
        assert!(Instant::now() < deadline, "the final PDF was never emailed to the address Carl gave");
        std::thread::sleep(Duration::from_millis(100));
    };
    let attached = emailed.attachments.iter().find(|(name, _)| name.ends_with(".pdf")).map(|(_, bytes)| bytes.clone());
    assert_eq!(attached.as_deref(), Some(downloaded.as_slice()), "the emailed PDF is the final PDF");

    // A second browser with the same link gets nothing.
    let other = Browser::phone()?;
    other.go(&format!("{verifier}/sign#{payload}"))?;
    other.wait_for_text("does not recognise this invitation")?;

    // The verifier saw page and file requests only: no payload, no key, no document.
    let requests = world.recording.requests();
    assert!(requests.iter().all(|r| r.starts_with("GET ")), "{requests:?}");
    assert!(requests.iter().all(|r| !r.contains(&payload[..16])), "the invitation reached the verifier: {requests:?}");
    Ok(())
}

/// 64 × 64 pixels, the top half red, the bottom half blue, as JPEG 2000
/// (made with Pillow 12 and OpenJPEG 2.5).
const RED_OVER_BLUE_JP2: &[u8] = &[
    0, 0, 0, 12, 106, 80, 32, 32, 13, 10, 135, 10, 0, 0, 0, 20, 102, 116, 121, 112, 106, 112, 50, 32, 0, 0, 0, 0, 106, 112, 50, 32, 0, 0,
    0, 45, 106, 112, 50, 104, 0, 0, 0, 22, 105, 104, 100, 114, 0, 0, 0, 64, 0, 0, 0, 64, 0, 3, 7, 7, 0, 0, 0, 0, 0, 15, 99, 111, 108, 114,
    1, 0, 0, 0, 0, 0, 16, 0, 0, 1, 69, 106, 112, 50, 99, 255, 79, 255, 81, 0, 47, 0, 0, 0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 64, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 7, 1, 1, 7, 1, 1, 7, 1, 1, 255, 82, 0, 12, 0, 0, 0, 1, 0, 5, 4, 4, 0, 1, 255,
    92, 0, 19, 64, 64, 72, 72, 80, 72, 72, 80, 72, 72, 80, 72, 72, 80, 72, 72, 80, 255, 100, 0, 37, 0, 1, 67, 114, 101, 97, 116, 101, 100,
    32, 98, 121, 32, 79, 112, 101, 110, 74, 80, 69, 71, 32, 118, 101, 114, 115, 105, 111, 110, 32, 50, 46, 53, 46, 52, 255, 144, 0, 10, 0,
    0, 0, 0, 0, 190, 0, 1, 255, 147, 223, 128, 40, 3, 246, 243, 36, 189, 207, 180, 16, 8, 133, 159, 83, 223, 128, 40, 6, 166, 243, 179,
    159, 163, 237, 5, 0, 0, 126, 38, 22, 223, 128, 163, 237, 5, 0, 9, 167, 52, 55, 95, 163, 237, 9, 0, 15, 38, 128, 55, 209, 9, 11, 111,
    183, 128, 163, 237, 9, 0, 12, 118, 120, 55, 209, 9, 11, 110, 87, 163, 237, 12, 0, 3, 132, 199, 247, 12, 53, 247, 208, 3, 5, 58, 245,
    128, 163, 237, 12, 0, 0, 212, 191, 247, 12, 53, 247, 208, 3, 5, 58, 245, 163, 237, 21, 0, 102, 174, 68, 202, 166, 121, 205, 33, 94, 16,
    45, 75, 118, 150, 230, 196, 11, 215, 92, 216, 131, 128, 163, 237, 21, 0, 103, 106, 170, 229, 83, 60, 230, 144, 175, 8, 22, 165, 187,
    75, 115, 98, 5, 235, 174, 108, 65, 163, 237, 7, 0, 196, 54, 74, 158, 158, 216, 159, 128, 163, 237, 7, 0, 196, 48, 234, 142, 158, 216,
    159, 255, 217,
];

/// A one-page A4 PDF whose only content is [`RED_OVER_BLUE_JP2`] drawn at
/// (100, 400), 200 points square.
fn jpeg_2000_pdf() -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let image = doc.add_object(Stream::new(
        dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => 64, "Height" => 64, "Filter" => "JPXDecode"},
        RED_OVER_BLUE_JP2.to_vec(),
    ));
    let content = doc.add_object(Stream::new(dictionary! {}, b"q 200 0 0 200 100 400 cm /Im1 Do Q".to_vec()));
    let pages = doc.new_object_id();
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content, "Resources" => dictionary! {"XObject" => dictionary! {"Im1" => image}},
    });
    doc.objects.insert(pages, Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1}));
    let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages});
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("the PDF is written");
    bytes
}

/// The colour of the first page's canvas at PDF point (x, y) of an A4 page.
fn colour_at(phone: &Browser, x: f64, y: f64) -> anyhow::Result<[u64; 3]> {
    let rgb = phone.execute(
        "const [x, y] = arguments; const c = document.querySelector('#pages canvas'); const s = c.width / 595;
         return Array.from(c.getContext('2d').getImageData(Math.round(x * s), Math.round((842 - y) * s), 1, 1).data.slice(0, 3));",
        serde_json::json!([x, y]),
    )?;
    let rgb: Vec<u64> = rgb.as_array().map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect()).unwrap_or_default();
    Ok(rgb.try_into().unwrap_or([0; 3]))
}

#[test]
fn after_the_code_the_guest_page_draws_what_the_document_holds_even_in_jpeg_2000_and_the_client_may_decline() -> anyhow::Result<()> {
    // PDF.js decodes JPEG 2000 with a WebAssembly file it loads on demand:
    // without it the image would be left out, and the client would sign a
    // page that looks blank where the final PDF shows the image.
    let world = World::start("guest-jpx")?;
    let (envelope, director_link) = world.send(&jpeg_2000_pdf(), &["--confirm-by-code"])?;
    // The director has signed before the client opens the link: after the
    // code, it is the client's turn at once.
    world.dmitri.cli(&["join", &director_link])?.ok()?;
    std::fs::write(world.dir.join("signature.png"), signature_png(1))?;
    std::fs::write(world.dir.join("stamp.png"), stamp_png())?;
    let (signature, stamp) = (world.dir.join("signature.png").display().to_string(), world.dir.join("stamp.png").display().to_string());
    world.dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;
    let link = world.client_link();
    let phone = Browser::phone()?;
    phone.go(&format!("{}/sign#{}", world.verifier, link.split_once('#').map(|(_, p)| p).unwrap_or_default()))?;
    phone.wait_for_text("texted you a 6-digit code")?;
    let texted = wait_for_text_message(&world.sally, "with the code", |t| t.contains("Your Countersign code"));
    let code = texted.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap_or_default().to_owned();
    phone.type_into("#code", &code)?;
    phone.click("#code-form button")?;
    phone.wait_for_text("Your turn to sign")?;
    phone.wait_for("#sign-form")?;
    phone.wait_for("#pages canvas")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (top, bottom) = loop {
        let (top, bottom) = (colour_at(&phone, 200.0, 560.0)?, colour_at(&phone, 200.0, 440.0)?);
        if top != [255, 255, 255] || Instant::now() > deadline {
            break (top, bottom);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    phone.screenshot("guest-jpeg-2000")?;
    assert!(top[0] > 180 && top[2] < 80, "the image's top half is red: {top:?}");
    assert!(bottom[2] > 180 && bottom[0] < 80, "the image's bottom half is blue: {bottom:?}");

    // The client declines instead, with a reason; the sender's node sees it.
    phone.click("#decline")?;
    phone.type_into("#decline-reason", "The picture is not what we agreed")?;
    phone.click("#decline-confirm")?;
    phone.wait_for_text("This document was declined")?;
    phone.screenshot("guest-declined")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = world.sally.status(&envelope)?;
        if matches!(&status.status, countersign_shared::state::Status::Declined { reason, .. } if reason == "The picture is not what we agreed")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the sender never saw the decline: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
