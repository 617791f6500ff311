//! The client signs from the SMS link in a phone's browser (headless
//! Chromium, mobile emulation), with no app: the sender's node is reachable
//! only through a relay, the guest's key is made in the browser, and the
//! final PDF comes out byte for byte the same in the browser and on every node.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countersign_scenarios::browser::Browser;
use countersign_scenarios::nodes::{Node, Relay};
use countersign_scenarios::{pem, pyhanko_validate, scratch_dir};
use countersign_shared::invite::WEB_PATH;
use countersign_shared::test_utils::{contract_pdf, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};
use countersign_verifier::config::Config;
use countersign_verifier::http::{AppState, app_with, guest::GuestFiles};

/// The guest page's build (`scripts/build-guest`).
fn guest_build() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/web/dist")
}

/// Every message in `node`'s outbox folder (no email or SMS settings).
fn outbox(node: &Node) -> Vec<String> {
    std::fs::read_dir(node.dir.join("outbox"))
        .map(|dir| dir.filter_map(|e| e.ok().and_then(|e| std::fs::read_to_string(e.path()).ok())).collect())
        .unwrap_or_default()
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

#[test]
fn a_client_signs_from_the_text_message_in_a_phone_browser() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    // The verifier, serving the guest page, recording every request it gets.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let verifier = format!("http://{}", listener.local_addr()?);
    let guest = GuestFiles::load(&guest_build(), &relay.websocket)?;
    let state = AppState { guest: Some(guest), ..AppState::new(&Config::default(), Default::default()) };
    let record = seen.clone();
    let service = app_with(state).layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
        let referrer = request.headers().get("referer").map(|r| r.to_str().unwrap_or("?").to_owned()).unwrap_or_default();
        record.lock().unwrap().push(format!("{} {} {referrer}", request.method(), request.uri()));
        next.run(request)
    }));
    runtime.spawn(async move { axum::serve(listener, service).await });

    let dir = scratch_dir("guest")?;
    std::fs::write(dir.join("contract.pdf"), contract_pdf(1))?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    sally.start(&["--relay", &relay.address])?;
    dmitri.start(&[])?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sally.cli(&["info"])?.stdout.contains("p2p-circuit") {
        assert!(Instant::now() < deadline, "no relay reservation: {}", sally.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let pdf = dir.join("contract.pdf").display().to_string();
    let qr = dir.join("qr").display().to_string();
    let sent = sally
        .cli(&[
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
            &verifier,
            "--qr-dir",
            &qr,
            "--confirm-by-code",
        ])?
        .ok()?;
    let envelope = sent.stdout.lines().next().and_then(|l| l.strip_prefix("Envelope ")).unwrap_or_default().to_owned();
    let director_link = sent.stdout.lines().find(|l| l.contains(WEB_PATH)).unwrap_or_default().to_owned();

    // The client's text message, as the phone gets it.
    let sms = wait_for_text_message(&sally, "inviting Carl", |t| t.contains(WEB_PATH));
    let link = sms.split_whitespace().find(|w| w.contains(WEB_PATH)).unwrap_or_default().to_owned();
    assert!(link.starts_with(&format!("{verifier}/join#")), "{sms}");
    let payload = link.split_once('#').map(|(_, p)| p.to_owned()).unwrap_or_default();

    let phone = Browser::phone()?;
    phone.go(&link)?;
    phone.click("#sign-here")?;
    phone.wait_for_text("texted you a 6-digit code")?;
    let texted = wait_for_text_message(&sally, "with the code", |t| t.contains("Your Countersign code"));
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
    phone.type_into("#field-4", "Carl Client")?;
    phone.type_into("#field-5", "1 Main St, Springfield")?;
    phone.type_into("#email", "carl@client.test")?;
    let (left, top, width, height) = phone.rect_in_viewport("#pad")?;
    let stroke: Vec<(i64, i64)> = (0..=20)
        .map(|i| {
            let t = f64::from(i) / 20.0;
            ((left + width * (0.1 + 0.8 * t)) as i64, (top + height * (0.5 + 0.3 * (t * 10.0).sin())) as i64)
        })
        .collect();
    phone.drag(&stroke)?;
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
    let requests = seen.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.starts_with("GET ")), "{requests:?}");
    assert!(requests.iter().all(|r| !r.contains(&payload[..16])), "the invitation reached the verifier: {requests:?}");
    Ok(())
}
