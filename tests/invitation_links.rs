//! Invitation links that open anywhere: the link people get is the
//! verifier's join page with the invitation after `#`. In a real browser at
//! phone size, the page offers the installed app (`countersign://join/…`)
//! and the invitation never reaches the verifier; the desktop's handler
//! (`countersign open-link`) opens the running node's join page with the link
//! filled in, and the person joins with one click.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::browser::Browser;
use countersign_scenarios::nodes::Node;
use countersign_scenarios::scratch_dir;
use countersign_scenarios::verifier::RecordingVerifier;
use countersign_shared::invite::{Invitation, WEB_PATH};
use countersign_shared::test_utils::contract_pdf;

#[test]
fn an_invitation_link_opens_the_join_page_and_hands_the_invitation_to_the_app() -> anyhow::Result<()> {
    // The verifier, recording every request line and referrer it gets.
    let recording = RecordingVerifier::start()?;
    let verifier = recording.url.clone();

    let dir = scratch_dir("links")?;
    std::fs::write(dir.join("contract.pdf"), contract_pdf(1))?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut carl = Node::init("Carl Client", "carl@client.test")?;
    sally.start(&[])?;
    carl.start(&[])?;
    let pdf = dir.join("contract.pdf").display().to_string();
    let qr = dir.join("qr").display().to_string();
    let sent = sally.cli(&[
        "send",
        "--pdf",
        &pdf,
        "--title",
        "Consulting agreement",
        "--signer",
        "Dmitri Director:dmitri@acme.test",
        "--client",
        "Carl Client:carl@client.test",
        "--verifier",
        &verifier,
        "--qr-dir",
        &qr,
    ])?;
    let sent = sent.ok()?;
    let links: Vec<&str> = sent.stdout.lines().filter(|l| l.contains(WEB_PATH)).collect();
    assert_eq!(links.len(), 2, "{}", sent.stdout);
    let link = links[1];
    assert!(link.starts_with(&format!("{verifier}/join#")), "the link opens the verifier's join page: {link}");
    let payload = link.split_once('#').map(|(_, p)| p.to_owned()).unwrap_or_default();
    Invitation::parse(link)?;

    // A phone opens it: the page offers the app, with the invitation.
    let browser = Browser::phone()?;
    browser.go(link)?;
    browser.wait_for_text("Open in the Countersign app")?;
    let href = browser.execute("return document.getElementById('open-app').getAttribute('href')", serde_json::json!([]))?;
    assert_eq!(href.as_str(), Some(format!("countersign://join/{payload}").as_str()));
    let shown = browser.execute("return document.getElementById('invitation').value", serde_json::json!([]))?;
    assert_eq!(shown.as_str(), Some(link));
    let widths = browser.execute("return [window.innerWidth, document.documentElement.scrollWidth]", serde_json::json!([]))?;
    assert_eq!(widths, serde_json::json!([390, 390]), "the page fits the phone, nothing wider");
    browser.screenshot("invitation-link-join-page")?;
    // An address without an invitation says so.
    browser.go(&format!("{verifier}/join"))?;
    browser.wait_for_text("holds no invitation")?;
    let requests = recording.requests();
    assert!(requests.iter().any(|r| r.starts_with("GET /assets/join.js")), "{requests:?}");
    assert!(requests.iter().all(|r| !r.contains(&payload[..20])), "the invitation reached the verifier: {requests:?}");

    // The desktop hands `countersign://join/…` to `countersign open-link`,
    // which opens the running node's join page with the link filled in.
    let opened = carl.cli(&["open-link", &format!("countersign://join/{payload}"), "--print"])?.ok()?;
    let url = opened.stdout.trim();
    assert!(url.contains("/app/login?code=") && url.contains("&next=join#"), "{url}");
    browser.go(url)?;
    browser.wait_for("#join-form")?;
    let filled = browser.execute("return document.getElementById('link').value", serde_json::json!([]))?;
    assert_eq!(filled.as_str(), Some(format!("countersign://join/{payload}").as_str()));
    browser.screenshot("invitation-link-app-join")?;
    browser.click("#join-form button[type=submit]")?;
    browser.wait_for_text("Consulting agreement")?;
    let envelope = sent.stdout.lines().next().and_then(|l| l.strip_prefix("Envelope ")).unwrap_or_default();
    assert!(carl.status(envelope)?.parties[1].joined);

    // Without a running node, open-link says what to do.
    carl.stop()?;
    let idle = carl.cli(&["open-link", link, "--print"])?;
    assert_ne!(idle.code, 0);
    assert!(idle.stderr.contains("Start Countersign (countersign serve)"), "{}", idle.stderr);
    Ok(())
}

#[test]
fn the_desktop_handler_runs_open_link_with_this_data_dir() -> anyhow::Result<()> {
    let carl = Node::init("Carl Client", "carl@client.test")?;
    let home = scratch_dir("desktop-home")?;
    let run = carl.command()?.args(["register-links"]).env("HOME", &home).env("XDG_DATA_HOME", home.join("share")).output()?;
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let entry = std::fs::read_to_string(home.join("share/applications/countersign-link.desktop"))?;
    assert!(entry.contains("MimeType=x-scheme-handler/countersign;"), "{entry}");
    let exec = entry.lines().find_map(|l| l.strip_prefix("Exec=")).unwrap_or_default();
    assert!(exec.contains(&format!("--data-dir \"{}\" open-link %u", carl.dir.display())), "{exec}");
    assert!(exec.starts_with('"') && exec.contains("countersign\""), "{exec}");
    Ok(())
}
