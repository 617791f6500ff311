//! Whole-system tests over real nodes: separate `countersign` processes on
//! loopback, driven by the CLI.

use std::path::PathBuf;
use std::time::Duration;

use countersign_node::envelopes::{Stage, Summary};
use countersign_scenarios::nodes::{Node, send};
use countersign_scenarios::{ENCRYPTED, corpus_dir, qpdf_check, scratch_dir};
use countersign_shared::log::{Act, Entry, Value};
use countersign_shared::model::Role;
use countersign_shared::test_utils::{contract_pdf, large_pdf, one_page_pdf, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};
use countersign_shared::{EntryId, EnvelopeId, SecretKey};

const WAIT: Duration = Duration::from_secs(30);

struct Files {
    pdf: PathBuf,
    signature: PathBuf,
    stamp: PathBuf,
}

fn files(pdf_bytes: &[u8]) -> anyhow::Result<Files> {
    let dir = scratch_dir("files")?;
    let files = Files { pdf: dir.join("contract.pdf"), signature: dir.join("signature.png"), stamp: dir.join("stamp.png") };
    std::fs::write(&files.pdf, pdf_bytes)?;
    std::fs::write(&files.signature, signature_png(1))?;
    std::fs::write(&files.stamp, stamp_png())?;
    Ok(files)
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Three started nodes with the contract sent and both parties joined.
fn joined(pdf: &[u8]) -> anyhow::Result<(Node, Node, Node, String, Files)> {
    let (anna, dmitri, carl, envelope, files, _) = joined_with_links(pdf)?;
    Ok((anna, dmitri, carl, envelope, files))
}

fn joined_with_links(pdf: &[u8]) -> anyhow::Result<(Node, Node, Node, String, Files, [String; 2])> {
    joined_with(pdf, |_, _| Ok(()))
}

/// Like [`joined`], with `setup` run on Anna's and Dmitri's data dirs before they start.
fn joined_with(
    pdf: &[u8],
    setup: impl Fn(&Node, &Node) -> anyhow::Result<()>,
) -> anyhow::Result<(Node, Node, Node, String, Files, [String; 2])> {
    let files = files(pdf)?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut carl = Node::init("Carl Client", "+15550100")?;
    setup(&anna, &dmitri)?;
    for node in [&mut anna, &mut dmitri, &mut carl] {
        node.start(&[])?;
    }
    let (envelope, director_link, client_link) = send(&anna, &files.pdf, "Consulting agreement")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    carl.cli(&["join", &client_link])?.ok()?;
    Ok((anna, dmitri, carl, envelope, files, [director_link, client_link]))
}

fn stage_is(stage: Stage, next: &'static str) -> impl Fn(&Summary) -> bool {
    move |s| s.stage == stage && (next.is_empty() || s.next.first().is_some_and(|n| n == next))
}

fn director_signs(dmitri: &Node, envelope: &str, files: &Files) -> anyhow::Result<()> {
    dmitri.cli(&["sign", envelope, "--signature", &path(&files.signature), "--stamp", &path(&files.stamp)])?.ok()?;
    Ok(())
}

fn client_sign_args<'a>(envelope: &'a str, signature: &'a str) -> Vec<&'a str> {
    vec!["sign", envelope, "--signature", signature, "--set", "Client name=Carl Client", "--set", "Client address=1 Main St, Springfield"]
}

#[test]
fn three_nodes_sign_in_order_and_export_identical_verified_pdfs() -> anyhow::Result<()> {
    // The company certifies its signers' keys with its own CA, created on
    // Anna's node and copied to Dmitri's; the client's key certifies itself.
    let (anna, dmitri, carl, envelope, files, _) = joined_with(&contract_pdf(2), |anna, dmitri| {
        let created = anna.cli(&["authority", "create", "--organization", "Acme Ltd"])?.ok()?;
        assert!(created.stdout.contains("certificate.pem"), "{}", created.stdout);
        dmitri.cli(&["authority", "import", "--from", &path(&anna.dir)])?.ok()?;
        let again = anna.cli(&["authority", "create", "--organization", "Acme Ltd"])?;
        assert!(again.code != 0 && again.stderr.contains("already has a certificate authority"), "{}", again.stderr);
        Ok(())
    })?;
    for node in [&anna, &dmitri, &carl] {
        node.wait_for(&envelope, WAIT, "both parties joined", |s| s.parties.iter().all(|p| p.joined))?;
    }
    // The sender is no party, yet everyone sees her name (her own signed card), not a key.
    let seen = carl.status(&envelope)?;
    assert_eq!(seen.creator, "Anna Sales", "{seen:?}");
    assert_eq!((seen.timeline[0].who.as_str(), seen.timeline[0].what.starts_with("created")), ("Anna Sales", true));

    // The client's node refuses to sign first, with the P3 reason.
    let signature = path(&files.signature);
    let early = carl.cli(&client_sign_args(&envelope, &signature))?;
    assert_ne!(early.code, 0);
    assert!(early.stderr.contains("may sign only after Dmitri Director"), "{}", early.stderr);

    director_signs(&dmitri, &envelope, &files)?;
    carl.wait_for(&envelope, WAIT, "the client's turn", stage_is(Stage::Awaiting, "Carl Client"))?;
    let list = carl.cli(&["list"])?.ok()?;
    assert!(list.stdout.contains("your turn"), "{}", list.stdout);

    carl.cli(&client_sign_args(&envelope, &signature))?.ok()?;
    let mut finals = Vec::new();
    for (i, node) in [&anna, &dmitri, &carl].into_iter().enumerate() {
        node.wait_for(&envelope, WAIT, "completion with every blob", |s| s.stage == Stage::Completed && s.missing_blobs.is_empty())?;
        let out = scratch_dir("export")?.join(format!("final-{i}.pdf"));
        node.cli(&["export", &envelope, "--out", &path(&out)])?.ok()?;
        finals.push(std::fs::read(&out)?);
    }
    assert!(finals[0] == finals[1] && finals[1] == finals[2], "the final PDFs differ between nodes");
    let report = verify(&finals[0]);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    let address = report.parties[1].values.iter().find(|v| v.label == "Client address").map(|v| v.value.as_str());
    assert_eq!(address, Some("1 Main St, Springfield"));
    let (code, output) = qpdf_check(&finals[0])?;
    assert_eq!(code, 0, "{output}");

    // Each signer's PDF signature: the director's chains to the company's CA.
    assert_eq!(report.pdf_signatures.len(), 2);
    assert_eq!(report.pdf_signatures[0].certificate_issuer.as_deref(), Some("Acme Ltd"));
    assert_eq!(report.pdf_signatures[1].certificate_issuer.as_deref(), Some("Carl Client"));
    // pyHanko trusts the company's CA (its certificate.pem) and the client's
    // certificate as the log records it, and nothing else.
    let countersign_shared::render::LogFound::Log { entries, .. } = countersign_shared::render::find_log(&finals[0]) else {
        panic!("the final PDF has no log")
    };
    let state = countersign_shared::state::fold(envelope.parse()?, entries)?;
    let client_certificate = countersign_scenarios::pem(&state.certificates(1).expect("the client's certificate")[0]);
    let company_ca = std::fs::read(anna.dir.join("authority/certificate.pem"))?;
    let checked = countersign_scenarios::pyhanko_validate(&finals[0], &[company_ca, client_certificate])?;
    assert_eq!(checked.code, 0, "{}", checked.output);
    assert!(checked.lines[0].ends_with(":INTACT:TRUSTED,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS"), "{}", checked.output);
    assert!(checked.lines[1].ends_with(":INTACT:TRUSTED,UNTOUCHED"), "{}", checked.output);
    Ok(())
}

#[test]
fn a_forged_early_client_signature_is_rejected_everywhere_and_changes_nothing() -> anyhow::Result<()> {
    let (anna, dmitri, carl, envelope, _files) = joined(&contract_pdf(1))?;
    let status = anna.wait_for(&envelope, WAIT, "the client joined", |s| s.parties[1].joined)?;
    carl.wait_for(&envelope, WAIT, "the client joined", |s| s.parties[1].joined)?;

    // Forge with the client's real key, bypassing its node's refusal.
    let seed: [u8; 32] = std::fs::read(carl.dir.join("key"))?.try_into().map_err(|_| anyhow::anyhow!("bad key file"))?;
    let key = SecretKey::from_seed(seed);
    let heads: Vec<EntryId> = status.heads.iter().filter_map(|h| h.parse().ok()).collect();
    assert!(!heads.is_empty(), "no heads in {status:?}");
    let forged = Entry {
        envelope: Some(envelope.parse::<EnvelopeId>()?),
        parents: heads,
        author: key.public(),
        claimed_time: 1_800_000_000_000,
        utc_offset: countersign_shared::time::UtcOffset::UTC,
        act: Act::Sign { slot: 1, values: vec![(3, Value::Text("Carl Client".into())), (4, Value::Text("1 Main St".into()))] },
    }
    .sign(&key);
    post_raw(&carl, &envelope, forged.bytes())?;

    for node in [&anna, &dmitri] {
        let status = node.wait_for(&envelope, WAIT, "the forged entry to arrive and be rejected", |s| !s.rejected.is_empty())?;
        let reason = &status.rejected[0];
        assert!(reason.contains("may sign only after Dmitri Director (company signer)"), "{reason}");
        assert_eq!(status.stage, Stage::Awaiting);
        assert_eq!(status.next, ["Dmitri Director"]);
        assert!(status.parties[1].signed_at.is_none());
    }
    Ok(())
}

fn post_raw(node: &Node, envelope: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let data = countersign_node::datadir::DataDir::resolve(Some(node.dir.clone()))?;
    let client = countersign_node::client::Client::connect(&data)?;
    let _: String = client.post_bytes(&format!("/api/v1/envelopes/{envelope}/raw"), bytes)?;
    Ok(())
}

#[test]
fn a_node_stopped_while_others_act_catches_up_on_restart() -> anyhow::Result<()> {
    let (_anna, dmitri, mut carl, envelope, files) = joined(&contract_pdf(1))?;
    carl.wait_for(&envelope, WAIT, "joined", |s| s.parties[1].joined)?;
    carl.stop()?;
    let offline = carl.cli(&["list"])?;
    assert_ne!(offline.code, 0);
    assert!(offline.stderr.contains("no Countersign node is running"), "{}", offline.stderr);
    director_signs(&dmitri, &envelope, &files)?;
    carl.start(&[])?;
    carl.wait_for(&envelope, WAIT, "the director's signature after restart", stage_is(Stage::Awaiting, "Carl Client"))?;
    Ok(())
}

#[test]
fn a_node_killed_while_receiving_a_large_pdf_resumes_and_completes() -> anyhow::Result<()> {
    let pdf = large_pdf(48 * 1024 * 1024);
    let files = files(&pdf)?;
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    anna.start(&[])?;
    dmitri.start(&[])?;
    let (envelope, director_link, _) = send(&anna, &files.pdf, "Large contract")?;
    let hash = countersign_shared::Hash::of(&pdf).to_string();
    let partial = dmitri.dir.join("blobs/partial").join(&hash);
    let joiner = dmitri.cli_in_background(&["join", &director_link])?;
    let deadline = std::time::Instant::now() + WAIT;
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(std::time::Instant::now() < deadline, "the transfer never started: {}", dmitri.log());
        std::thread::sleep(Duration::from_millis(2));
    }
    dmitri.kill()?;
    let held = std::fs::metadata(&partial).map_or(0, |m| m.len());
    assert!(held > 0 && held < pdf.len() as u64, "killed mid-transfer with {held} bytes");
    let mut joiner = joiner;
    let _ = joiner.wait();

    dmitri.start(&[])?;
    dmitri.wait_for(&envelope, Duration::from_secs(60), "the PDF to complete after restart", |s| s.missing_blobs.is_empty())?;
    assert_eq!(std::fs::read(dmitri.dir.join("blobs").join(&hash))?, pdf);
    assert!(!partial.exists());
    Ok(())
}

#[test]
fn bad_cli_input_gets_a_clear_message_and_a_non_zero_exit() -> anyhow::Result<()> {
    let (anna, dmitri, _carl, envelope, _files, links) = joined_with_links(&contract_pdf(1))?;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "send".into(),
                "--pdf".into(),
                "/nonexistent/contract.pdf".into(),
                "--title".into(),
                "T".into(),
                "--signer".into(),
                "D:d@a.test".into(),
            ],
            "cannot read /nonexistent/contract.pdf",
        ),
        (
            vec![
                "send".into(),
                "--pdf".into(),
                path(&corpus_dir().join(ENCRYPTED.0)),
                "--title".into(),
                "T".into(),
                "--signer".into(),
                "D:d@a.test".into(),
            ],
            "encrypted",
        ),
        (vec!["status".into(), "0".repeat(64)], "has no envelope"),
        (vec!["status".into(), "not-an-id".into()], "is not an envelope id"),
        (vec!["join".into(), "countersign://join/garbage!".into()], "not a valid invitation link"),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = anna.cli(&args)?;
        assert_ne!(run.code, 0, "{args:?} should fail");
        assert!(run.stderr.contains(expected), "{args:?}: expected {expected:?} in {}", run.stderr);
    }

    // A used invitation, presented by someone else; and one past its expiry.
    anna.wait_for(&envelope, WAIT, "the director's join", |s| s.parties[0].joined)?;
    dmitri.wait_for(&envelope, WAIT, "the director's join", |s| s.parties[0].is_me)?;
    let mut mallory = Node::init("Mallory", "mallory@evil.test")?;
    mallory.start(&[])?;
    let reused = mallory.cli(&["join", &links[0]])?;
    assert_ne!(reused.code, 0);
    assert!(reused.stderr.contains("does not recognise this invitation"), "{}", reused.stderr);
    let mut expired = countersign_shared::invite::Invitation::parse(&links[1])?;
    expired.expires_at = 1_000;
    let late = mallory.cli(&["join", &expired.to_link()])?;
    assert_ne!(late.code, 0);
    assert!(late.stderr.contains("expired on 1970-01-01"), "{}", late.stderr);
    // The stranger learned nothing: the envelope does not exist for it.
    let unknown = mallory.cli(&["status", &envelope])?;
    assert!(unknown.stderr.contains("has no envelope"), "{}", unknown.stderr);
    assert_eq!(std::fs::read_dir(mallory.dir.join("blobs"))?.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_file())).count(), 0);

    // A field the signer does not have is named with the ones they do; a final
    // PDF asked for too early says who is awaited, in words.
    let wrong_field = dmitri.cli(&["sign", &envelope, "--set", "Client name=Dmitri"])?;
    assert!(
        wrong_field
            .stderr
            .contains("there is no field 'Client name' for you to fill (yours: 'Company signature', 'Company stamp', 'Date')"),
        "{}",
        wrong_field.stderr
    );
    let early = anna.cli(&["export", &envelope, "--out", &path(&scratch_dir("early")?.join("final.pdf"))])?;
    assert!(early.stderr.contains("not complete yet: waiting for Dmitri Director to sign"), "{}", early.stderr);

    let qr_files = std::fs::read_dir(anna.dir.join("qr"))?.count();
    assert_eq!(qr_files, 4, "a PNG and an SVG QR code per invitation");
    Ok(())
}

#[test]
fn a_manager_added_as_viewer_sees_the_envelope_in_their_pipeline_but_cannot_sign() -> anyhow::Result<()> {
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let mut mona = Node::init("Mona Manager", "mona@acme.test")?;
    anna.start(&[])?;
    mona.start(&[])?;
    let files = files(&contract_pdf(1))?;
    let qr = anna.dir.join("qr").display().to_string();
    let pdf = path(&files.pdf);
    let args = [
        "send",
        "--pdf",
        &pdf,
        "--title",
        "Deal with Acme",
        "--signer",
        "Dmitri Director:dmitri@acme.test",
        "--client",
        "Carl Client:+15550100",
        "--viewer",
        "Mona Manager:mona@acme.test",
        "--qr-dir",
        &qr,
    ];
    let sent = anna.cli(&args)?.ok()?;
    let links: Vec<&str> =
        sent.stdout.lines().filter(|l| l.starts_with("https://") && l.contains(countersign_shared::invite::WEB_PATH)).collect();
    assert_eq!(links.len(), 3, "{}", sent.stdout);
    let envelope = sent.stdout.lines().next().and_then(|l| l.strip_prefix("Envelope ")).unwrap_or_default().to_owned();
    mona.cli(&["join", links[2]])?.ok()?;
    let pipeline = mona.cli(&["list"])?.ok()?.stdout;
    assert!(pipeline.contains("Deal with Acme"), "{pipeline}");
    let status = mona.status(&envelope)?;
    let me = status.parties.iter().find(|p| p.is_me).map(|p| p.role);
    assert_eq!(me, Some(Role::Viewer), "{status:?}");
    let refused = mona.cli(&["sign", &envelope, "--signature", &path(&files.signature)])?;
    assert_ne!(refused.code, 0, "a viewer cannot sign");
    Ok(())
}

#[test]
fn damaged_files_are_named_with_what_to_do_and_never_make_a_node_somebody_else() -> anyhow::Result<()> {
    let mut anna = Node::init("Anna Sales", "anna@acme.test")?;
    let key = anna.dir.join("key");
    let good = std::fs::read(&key)?;
    let mut flipped = good.clone();
    flipped[7] ^= 0x10;
    std::fs::write(&key, &flipped)?;
    let refused = anna.cli(&["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])?;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("does not match this node's identity"), "{}", refused.stderr);
    assert!(refused.stderr.contains("restore the data dir from a backup"), "{}", refused.stderr);

    std::fs::write(&key, &good)?;
    anna.start(&[])?;
    std::fs::write(anna.dir.join("api.json"), b"{\"port\": 4")?;
    let damaged = anna.cli(&["list"])?;
    assert_ne!(damaged.code, 0);
    assert!(damaged.stderr.contains("api.json") && damaged.stderr.contains("damaged"), "{}", damaged.stderr);
    assert!(damaged.stderr.contains("start it again"), "{}", damaged.stderr);
    Ok(())
}

#[test]
fn a_pdf_damaged_on_disk_is_fetched_again_and_the_envelope_completes() -> anyhow::Result<()> {
    let (anna, dmitri, mut carl, envelope, files) = joined(&contract_pdf(1))?;
    carl.wait_for(&envelope, WAIT, "the document", |s| s.missing_blobs.is_empty() && s.parties[1].joined)?;
    director_signs(&dmitri, &envelope, &files)?;
    carl.wait_for(&envelope, WAIT, "the client's turn", stage_is(Stage::Awaiting, "Carl Client"))?;

    // A bit of the client's stored PDF flips while his node is off.
    carl.stop()?;
    let stored = carl.dir.join("blobs").join(countersign_shared::Hash::of(&contract_pdf(1)).to_string());
    let mut bytes = std::fs::read(&stored)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&stored, &bytes)?;
    carl.start(&[])?;

    // He signs; his node notices, fetches the PDF again, and every node ends
    // with the same final PDF, which verifies.
    carl.cli(&client_sign_args(&envelope, &path(&files.signature)))?.ok()?;
    let mut finals = Vec::new();
    for node in [&anna, &dmitri, &carl] {
        node.wait_for(&envelope, WAIT, "completion", |s| s.stage == Stage::Completed && s.missing_blobs.is_empty())?;
        let out = scratch_dir("repaired")?.join("final.pdf");
        node.cli(&["export", &envelope, "--out", &path(&out)])?.ok()?;
        finals.push(std::fs::read(out)?);
    }
    assert!(finals.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(verify(&finals[0]).verdict, Verdict::Valid);
    assert_eq!(std::fs::read(&stored)?, contract_pdf(1), "the damaged copy was replaced by a whole one");
    assert!(carl.log().contains("is damaged on disk"), "{}", carl.log());
    Ok(())
}

#[test]
fn a_damaged_envelope_document_is_fetched_again_from_the_other_parties() -> anyhow::Result<()> {
    let (mut anna, dmitri, mut carl, envelope, files) = joined(&contract_pdf(1))?;
    for node in [&anna, &dmitri, &carl] {
        node.wait_for(&envelope, WAIT, "both parties joined", |s| s.parties.iter().all(|p| p.joined) && s.missing_blobs.is_empty())?;
    }
    director_signs(&dmitri, &envelope, &files)?;
    carl.wait_for(&envelope, WAIT, "the client's turn", stage_is(Stage::Awaiting, "Carl Client"))?;
    anna.wait_for(&envelope, WAIT, "the director's signature", |s| s.parties[0].signed_at.is_some())?;

    // The client's copy is cut in half and the sender's emptied, each while its node is off.
    let document = |node: &Node| node.dir.join("envelopes").join(format!("{envelope}.automerge"));
    carl.stop()?;
    let bytes = std::fs::read(document(&carl))?;
    std::fs::write(document(&carl), &bytes[..bytes.len() / 2])?;
    anna.stop()?;
    std::fs::write(document(&anna), b"")?;
    carl.start(&[])?;
    anna.start(&[])?;

    // Each gets the whole envelope back from the others, and says what happened.
    carl.wait_for(&envelope, WAIT, "the envelope back, the client's turn", stage_is(Stage::Awaiting, "Carl Client"))?;
    anna.wait_for(&envelope, WAIT, "the envelope back", |s| s.parties[0].signed_at.is_some())?;
    for node in [&anna, &carl] {
        assert!(node.log().contains("is damaged") && node.log().contains("fetching it again"), "{}", node.log());
        assert!(node.dir.join("envelopes").join(format!("{envelope}.automerge.damaged")).exists());
    }
    carl.cli(&client_sign_args(&envelope, &path(&files.signature)))?.ok()?;
    anna.wait_for(&envelope, WAIT, "completion", |s| s.stage == Stage::Completed)?;
    Ok(())
}

#[test]
fn a_document_without_room_gets_a_signature_page_every_party_signs_on() -> anyhow::Result<()> {
    let (anna, dmitri, carl, envelope, files, _) = joined_with_links(&one_page_pdf(595.0, 842.0, b"0.2 g 30 30 535 782 re f"))?;
    carl.wait_for(&envelope, WAIT, "both parties joined", |s| s.parties.iter().all(|p| p.joined))?;
    director_signs(&dmitri, &envelope, &files)?;
    carl.wait_for(&envelope, WAIT, "the client's turn", stage_is(Stage::Awaiting, "Carl Client"))?;
    carl.cli(&client_sign_args(&envelope, &path(&files.signature)))?.ok()?;
    anna.wait_for(&envelope, WAIT, "completion with every blob", |s| s.stage == Stage::Completed && s.missing_blobs.is_empty())?;
    let out = scratch_dir("export")?.join("final.pdf");
    anna.cli(&["export", &envelope, "--out", &path(&out)])?.ok()?;
    let final_pdf = std::fs::read(&out)?;
    assert_eq!(verify(&final_pdf).verdict, Verdict::Valid);
    let pages = lopdf::Document::load_mem(&final_pdf)?.get_pages();
    assert_eq!(pages.len(), 3, "the full page, the signature page the sender's node added, the certificate");
    // Every field is on the signature page, none over the full page's ink.
    let (_, signature_page) = pages.iter().nth(1).expect("a second page");
    let doc = lopdf::Document::load_mem(&final_pdf)?;
    let annots = doc.get_dictionary(*signature_page)?.get(b"Annots")?.as_array()?.len();
    assert_eq!(annots, 6, "the director's signature, stamp and date, the client's signature, name and address");
    Ok(())
}
