//! Notifications over real servers on loopback: aiosmtpd receives the
//! emails, a stand-in HTTP gateway receives the texts. The director joins
//! with the link from their email, the client with the link from their SMS;
//! when the last one signs, every party with an email gets the final PDF and
//! it verifies. A gateway that fails is retried; an SMTP server that is down,
//! across a node restart, gets the message once when it is back.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use countersign_scenarios::app::outbox;
use countersign_scenarios::mail::{SmsGateway, SmtpServer, free_port};
use countersign_scenarios::nodes::{Node, Relay, send};
use countersign_shared::invite::WEB_PATH;
use countersign_shared::test_utils::{contract_pdf, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};

const SMS_KEY: &str = "Bearer sms-test-key";

fn notify_toml(smtp_port: u16, gateway: Option<&str>) -> String {
    let mut text =
        format!("[email]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\nfrom = \"Acme signing <sign@acme.test>\"\n");
    if let Some(url) = gateway {
        text.push_str(&format!("\n[sms]\nurl = \"{url}\"\nbody = '{{\"to\": \"{{to}}\", \"text\": \"{{text}}\"}}'\n"));
    }
    text
}

fn start(node: &mut Node, smtp_port: u16, gateway: Option<&str>, extra: &[&str]) -> Result<()> {
    std::fs::write(node.dir.join("notify.toml"), notify_toml(smtp_port, gateway))?;
    node.start_with_env(extra, &[("COUNTERSIGN_SMS_AUTH", SMS_KEY)])
}

fn join_link(text: &str) -> Result<String> {
    let at = text.find("https://").filter(|_| text.contains(WEB_PATH)).context("no invitation link in the message")?;
    Ok(text[at..].split(|c: char| c.is_whitespace() || c == '"').next().unwrap_or_default().to_owned())
}

/// Carl fills in his fields and signs with a signature image.
fn client_signs(carl: &Node, envelope: &str, files: &Path) -> Result<()> {
    let signature = write(files, "client.png", &signature_png(2))?;
    let values = ["--set", "Client name=Carl Client", "--set", "Client address=1 Main St"];
    carl.cli(&[&["sign", envelope, "--signature", &signature][..], &values].concat())?.ok()?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path.display().to_string())
}

#[test]
fn invitations_arrive_by_email_and_sms_and_everyone_gets_the_final_pdf() -> Result<()> {
    let smtp = SmtpServer::start_anywhere()?;
    // The gateway fails the first text (a provider's 503): it must be retried, and delivered once.
    let gateway = SmsGateway::start(vec![503])?;
    // The client's text carries the short link, without addresses: the nodes
    // meet through a relay.
    let relay = Relay::start()?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    for node in [&mut sally, &mut dmitri, &mut carl] {
        start(node, smtp.port, Some(&gateway.url), &["--relay", &relay.address])?;
    }
    let files = countersign_scenarios::scratch_dir("notify-files")?;
    let pdf = write(&files, "contract.pdf", &contract_pdf(2))?;
    let (envelope, _, _) = send(&sally, Path::new(&pdf), "Consulting agreement")?;

    // The director's invitation comes by email, with its QR code; they join with the link in it.
    let invitation = smtp.wait_for("inviting Dmitri", |e| e.to.contains("dmitri@acme.test"))?;
    assert!(invitation.subject.contains("Sally Sender asks you to sign"), "{}", invitation.subject);
    dmitri.cli(&["join", &join_link(&invitation.text)?])?.ok()?;
    // The client is invited only once the company has signed: nothing for
    // them is queued or sent yet.
    let before = sally.status(&envelope)?;
    assert!(before.undelivered.iter().all(|m| m.to != "+15550100"), "the client is not invited before their turn: {before:?}");
    assert!(gateway.requests().is_empty(), "no text sent before the client's turn: {:?}", gateway.requests());
    let signature = write(&files, "signature.png", &signature_png(1))?;
    let stamp = write(&files, "stamp.png", &stamp_png())?;
    dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;

    // The client's comes by SMS through the gateway, as the provider's API wants it.
    let text = gateway.wait_for("inviting Carl", |r| r.body.contains("+15550100") && r.body.contains(WEB_PATH))?;
    assert_eq!(text.method, "POST");
    assert_eq!(text.header("authorization"), Some(SMS_KEY), "the gateway key from the environment");
    assert_eq!(text.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&text.body)?;
    assert_eq!(body["to"], "+15550100");
    let sms = body["text"].as_str().unwrap_or_default();
    assert!(sms.starts_with("Sally Sender asks you to sign \"Consulting agreement\": https://"), "{sms}");
    assert!(sms.chars().count() <= 160, "one SMS: {} characters: {sms}", sms.chars().count());
    let failed_first = gateway.requests().first().map(|r| r.status);
    assert_eq!(failed_first, Some(503), "the first attempt failed and was retried");
    // Carl's node can only text him: he gives an email for the signed PDF.
    carl.cli(&["join", &join_link(body["text"].as_str().unwrap_or_default())?, "--email", "carl@client.test"])?.ok()?;
    client_signs(&carl, &envelope, &files)?;

    // Completed: the final PDF reaches every email address, and it verifies.
    for who in ["sally@acme.test", "dmitri@acme.test", "carl@client.test"] {
        let email =
            smtp.wait_for(&format!("with the final PDF for {who}"), |e| e.to.contains(who) && e.subject.starts_with("Signed by everyone"))?;
        let (name, pdf) = email.attachments.iter().find(|(n, _)| n.ends_with(".pdf")).context("no PDF attached")?;
        let report = verify(pdf);
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {:?}", report.reasons);
        assert!(email.text.contains(&countersign_shared::Hash::of(pdf).to_string()), "the email gives the PDF's hash");
    }
    gateway.wait_for("telling Carl it is complete", |r| r.body.contains("signed by everyone"))?;

    // Each message once: one invitation email to the director, one accepted text per message.
    let invitations =
        smtp.emails()?.into_iter().filter(|e| e.to.contains("dmitri@acme.test") && e.subject.contains("asks you to sign")).count();
    assert_eq!(invitations, 1);
    let accepted_invitations = gateway.requests().iter().filter(|r| r.status == 200 && r.body.contains(WEB_PATH)).count();
    assert_eq!(accepted_invitations, 1);
    let status = sally.status(&envelope)?;
    assert!(status.undelivered.is_empty(), "nothing left to deliver: {status:?}");
    Ok(())
}

#[test]
fn a_message_waits_while_the_smtp_server_is_down_and_is_delivered_once_after_a_restart() -> Result<()> {
    let port = free_port()?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    start(&mut sally, port, None, &[])?;
    let pdf = countersign_scenarios::scratch_dir("notify-down")?.join("contract.pdf");
    std::fs::write(&pdf, contract_pdf(1))?;
    let (envelope, _, _) = send(&sally, &pdf, "Consulting agreement")?;

    // Nothing listens on the SMTP port: the invitation stays queued, and says why.
    let status =
        sally.wait_for(&envelope, Duration::from_secs(30), "a failed attempt", |s| s.undelivered.iter().any(|m| m.attempts >= 1))?;
    let shown = sally.cli(&["status", &envelope])?.ok()?.stdout;
    assert!(shown.contains("undelivered Invitation to dmitri@acme.test"), "{shown}\n{status:?}");
    // The client signs after the company: their text is not even queued yet.
    assert!(status.undelivered.iter().all(|m| m.to != "+15550100"), "{status:?}");
    assert!(status.to_forward.iter().all(|m| m.to != "+15550100"), "{status:?}");
    let outbox = outbox(&sally);
    assert!(outbox.iter().all(|t| !t.contains("+15550100")), "{outbox:?}");

    // The node stops; the server comes up; the node starts again and delivers.
    sally.stop()?;
    let smtp = SmtpServer::start(port)?;
    start(&mut sally, port, None, &[])?;
    smtp.wait_for("inviting Dmitri", |e| e.to.contains("dmitri@acme.test"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    let delivered = smtp.emails()?.into_iter().filter(|e| e.to.contains("dmitri@acme.test")).count();
    assert_eq!(delivered, 1, "delivered once, not lost and not twice");
    let status = sally.status(&envelope)?;
    assert!(status.undelivered.is_empty(), "{status:?}");
    Ok(())
}

/// The 6 digits in a text message.
fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).map(str::to_owned)
}

#[test]
fn a_party_invited_by_phone_joins_only_with_the_code_texted_to_them() -> Result<()> {
    let gateway = SmsGateway::start(vec![])?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut toml = notify_toml(free_port()?, Some(&gateway.url));
    toml.push_str("\n[codes]\nvalid_minutes = 0.1\nmax_tries = 3\n");
    std::fs::write(sally.dir.join("notify.toml"), toml)?;
    let relay = Relay::start()?;
    sally.start(&["--relay", &relay.address])?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    carl.start(&["--relay", &relay.address])?;
    let pdf = countersign_scenarios::scratch_dir("notify-code")?.join("contract.pdf");
    std::fs::write(&pdf, contract_pdf(1))?;
    let args = [
        "send",
        "--pdf",
        &pdf.display().to_string(),
        "--title",
        "Consulting agreement",
        "--signer",
        "Dmitri Director:dmitri@acme.test",
        "--client",
        "Carl Client:+15550100",
        "--qr-dir",
        &sally.dir.join("qr").display().to_string(),
        "--confirm-by-code",
        // Carl may read it before the company signs: his invitation goes now.
        "--invite-all-now",
    ]
    .map(str::to_owned);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sally.cli(&args)?.ok()?;
    let invitation = gateway.wait_for("with the invitation", |r| r.body.contains(WEB_PATH))?;
    let link = join_link(serde_json::from_str::<serde_json::Value>(&invitation.body)?["text"].as_str().unwrap_or_default())?;

    // Opening the invitation texts a code; without it, no envelope.
    let first = carl.cli(&["join", &link])?;
    assert_ne!(first.code, 0);
    assert!(first.stderr.contains("6-digit code was just texted"), "{}", first.stderr);
    let texted = gateway.wait_for("with a code", |r| r.body.contains("Your Countersign code"))?;
    let code = code_in(&texted.body).context("no code in the text")?;
    assert!(!invitation.body.contains(&code), "the code never travels with the link");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = carl.cli(&["join", &link, "--code", wrong])?;
    assert!(refused.stderr.contains("that code is wrong: 2 tries left"), "{}", refused.stderr);

    // A code too old is refused; joining again texts a fresh one, which works.
    std::thread::sleep(Duration::from_millis(6_500));
    let late = carl.cli(&["join", &link, "--code", &code])?;
    assert!(late.stderr.contains("expired"), "{}", late.stderr);
    carl.cli(&["join", &link])?;
    let fresh = gateway
        .wait_for("with a second code", |r| r.body.contains("Your Countersign code") && code_in(&r.body).is_some_and(|c| c != code))?;
    let joined = carl.cli(&["join", &link, "--code", &code_in(&fresh.body).unwrap_or_default()])?.ok()?;
    assert!(joined.stdout.contains("Joined envelope"), "{}", joined.stdout);
    // The sender's node wrote the confirmation into the signed log, before
    // Carl's Join: every node, the certificate page and any verifier see it.
    let envelope = joined.stdout.split_whitespace().skip_while(|w| *w != "envelope").nth(1).unwrap_or_default().to_owned();
    let status = carl.cli(&["status", &envelope, "--json"])?.ok()?;
    assert!(status.stdout.contains("confirmed the phone of Carl Client by a code"), "{}", status.stdout);
    assert!(status.stdout.find("confirmed the phone").unwrap_or(usize::MAX) < status.stdout.find("accepted the invitation").unwrap_or(0));

    // The invitation is used now: anyone else holding it gets nothing.
    let mut mallory = Node::init("Mallory", "+15550199")?;
    mallory.start(&["--relay", &relay.address])?;
    let reused = mallory.cli(&["join", &link])?;
    assert!(reused.stderr.contains("was used") || reused.stderr.contains("does not recognise"), "{}", reused.stderr);
    let failures = std::fs::read_to_string(sally.dir.join("codes/failures.log"))?;
    assert!(failures.contains("wrong code") && failures.contains("expired code"), "every failure is written down:\n{failures}");
    Ok(())
}

#[test]
fn a_waiting_party_is_reminded_automatically_and_the_sender_hears_of_a_decline() -> Result<()> {
    let smtp = SmtpServer::start_anywhere()?;
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut toml = notify_toml(smtp.port, None);
    // About nine seconds between reminders, so the test sees one.
    toml.push_str("\n[reminders]\nevery_days = 0.0001\n");
    std::fs::write(sally.dir.join("notify.toml"), toml)?;
    sally.start(&[])?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    dmitri.start(&[])?;
    let pdf = countersign_scenarios::scratch_dir("notify-remind")?.join("contract.pdf");
    std::fs::write(&pdf, contract_pdf(1))?;
    let (envelope, director_link, _) = send(&sally, &pdf, "Consulting agreement")?;

    let reminder = smtp.wait_for("reminding Dmitri", |e| e.to.contains("dmitri@acme.test") && e.subject.starts_with("Reminder"))?;
    assert!(reminder.text.contains(&director_link), "a party who has not joined gets the link again:\n{}", reminder.text);

    dmitri.cli(&["join", &director_link])?.ok()?;
    dmitri.cli(&["decline", &envelope, "--reason", "The fee is wrong"])?.ok()?;
    let notice =
        smtp.wait_for("telling Sally of the decline", |e| e.to.contains("sally@acme.test") && e.subject.starts_with("Declined"))?;
    assert!(notice.text.contains("Dmitri Director declined") && notice.text.contains("The fee is wrong"), "{}", notice.text);
    Ok(())
}

#[test]
fn an_invitation_that_ran_out_before_the_clients_turn_is_made_anew() -> Result<()> {
    // Invitations here work for 6 seconds; the company signs after that.
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    sally.start(&["--invite-ttl-secs", "6"])?;
    dmitri.start(&[])?;
    carl.start(&[])?;
    let files = countersign_scenarios::scratch_dir("notify-renew")?;
    let pdf = write(&files, "contract.pdf", &contract_pdf(1))?;
    let sent = Instant::now();
    let (envelope, director_link, first_client_link) = send(&sally, Path::new(&pdf), "Consulting agreement")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    std::thread::sleep(Duration::from_secs(7).saturating_sub(sent.elapsed()));
    let signature = write(&files, "signature.png", &signature_png(1))?;
    let stamp = write(&files, "stamp.png", &stamp_png())?;
    dmitri.cli(&["sign", &envelope, "--signature", &signature, "--stamp", &stamp])?.ok()?;

    // The client's turn: the text carries a new link, not the one made at send.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        if let Some(text) = outbox(&sally).into_iter().find(|t| t.contains("To: +15550100") && t.contains(WEB_PATH)) {
            break text;
        }
        assert!(Instant::now() < deadline, "no invitation for Carl in the outbox: {:?}", outbox(&sally));
        std::thread::sleep(Duration::from_millis(100));
    };
    let link = join_link(&text)?;
    let first = countersign_shared::invite::Invitation::parse(&first_client_link)?;
    let renewed_link = sally.status(&envelope)?.open_invites.into_iter().find(|i| i.slot == 1).context("no open invitation for Carl")?.link;
    let renewed = countersign_shared::invite::Invitation::parse(&renewed_link)?;
    assert_ne!(renewed.secret, first.secret, "a new secret");
    assert!(renewed.expires_at > first.expires_at, "that works for longer");
    assert_eq!(
        countersign_shared::invite::InvitationLink::parse(&link)?,
        countersign_shared::invite::InvitationLink::Short(renewed.short())
    );
    // (The text's short link finds Sally through a relay; here, on loopback, the full one does.)
    carl.cli(&["join", &renewed_link])?.ok()?;
    client_signs(&carl, &envelope, &files)?;
    sally.wait_for(&envelope, Duration::from_secs(30), "completion", |s| s.stage == countersign_node::envelopes::Stage::Completed)?;
    Ok(())
}
