//! A small company and its client without a terminal: three people start
//! `countersign` on empty data dirs and do everything else in the browser
//! (headless Chromium; the client on a phone-sized screen). The staff member
//! sets up email in the settings page (a test message arrives at a real SMTP
//! server on loopback), sends a corpus PDF; the director is emailed the
//! invitation at once and signs; the client's text, with no SMS settings,
//! waits in the staff member's app to be sent by hand, and only once the
//! company has signed; the client joins with it from the phone, gives an
//! email, signs, and is emailed the final PDF, which verifies.
//!
//! A second test: a client declines; the sender's document page says who and
//! why at the top, and "Correct and send again" opens the editor with the same
//! people and fields. Screenshots land in `target/screenshots/company-*.png`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use countersign_scenarios::app::place;
use countersign_scenarios::browser::Browser;
use countersign_scenarios::corpus_dir;
use countersign_scenarios::mail::SmtpServer;
use countersign_scenarios::nodes::{Node, send};
use countersign_shared::invite::WEB_PATH;
use countersign_shared::test_utils::{contract_pdf, signature_png};
use countersign_shared::verify::{Verdict, verify};
use serde_json::json;

/// `http://127.0.0.1:PORT` of a URL.
fn origin(url: &str) -> String {
    url.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// Starts `countersign` on `node`'s empty data dir and, in `browser`,
/// answers the first-run page (with a colleague's link, when given);
/// returns the app's address.
fn first_run(node: &mut Node, browser: &Browser, name: &str, contact: &str, team_link: Option<&str>) -> Result<String> {
    let link = node.start_app()?;
    browser.go(&link)?;
    browser.wait_for_text("Welcome to Countersign")?;
    browser.type_into("#name", name)?;
    browser.type_into("#contact", contact)?;
    if let Some(team_link) = team_link {
        browser.type_into("#team_link", team_link)?;
        browser.screenshot("company-3-first-run-with-colleague-link")?;
    }
    browser.click("#setup-form button[type=submit]")?;
    match team_link {
        Some(_) => browser.wait_for_text("Your company")?,
        None => browser.wait_for_text(&format!("Welcome, {name}."))?,
    };
    Ok(origin(&browser.url()?))
}

/// Waits until `check` holds for `browser`'s page text, reloading it.
fn reload_until(browser: &Browser, what: &str, check: impl Fn(&str) -> bool) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The page may be reloading itself (it follows its envelope).
        let text = browser.page_text().unwrap_or_default();
        if check(&text) {
            return Ok(text);
        }
        if Instant::now() > deadline {
            bail!("the page never showed {what}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(500));
        browser.go(&browser.url()?)?;
    }
}

#[test]
fn a_company_and_its_client_sign_from_three_empty_data_dirs_without_a_command() -> Result<()> {
    let smtp = SmtpServer::start_anywhere()?;
    let files = countersign_scenarios::scratch_dir("company-files")?;
    std::fs::write(files.join("client-signature.png"), signature_png(2))?;
    let desk = Browser::start(1400, 1500)?;
    let phone = Browser::phone()?;

    // Three people start the app on new computers; each says who they are.
    let mut sally = Node::empty("company-sally")?;
    let mut dmitri = Node::empty("company-dmitri")?;
    let mut carl = Node::empty("company-carl")?;
    let sally_app = first_run(&mut sally, &desk, "Sally Sender", "sally@acme.test", None)?;
    desk.screenshot("company-1-welcome")?;
    // Starting the app again, while it runs, opens it (a fresh sign-in link).
    let again = sally.cli(&[])?.ok()?;
    assert!(again.stdout.contains("/app/login?code="), "{}", again.stdout);
    // Sally brings Dmitri into the company's directory with a colleague link.
    desk.go(&format!("{sally_app}/app/team"))?;
    desk.type_into("#colleague-contact", "dmitri@acme.test")?;
    desk.click("#invite-colleague button[type=submit]")?;
    let colleague_link = desk.execute("return document.getElementById('colleague-link').value", json!([]))?;
    let colleague_link = colleague_link.as_str().unwrap_or_default().to_owned();
    desk.screenshot("company-2-colleague-link")?;
    let dmitri_app = first_run(&mut dmitri, &desk, "Dmitri Director", "dmitri@acme.test", Some(&colleague_link))?;
    reload_until(&desk, "Sally among Dmitri's colleagues", |text| text.contains("Sally Sender"))?;
    desk.go(&format!("{sally_app}/app/team"))?;
    reload_until(&desk, "Dmitri among Sally's colleagues", |text| text.contains("Dmitri Director"))?;
    desk.screenshot("company-4-team")?;
    let carl_app = first_run(&mut carl, &phone, "Carl Client", "+15550100", None)?;

    // Dmitri's computer knows the company's details.
    desk.go(&format!("{dmitri_app}/app/settings"))?;
    desk.type_into("#company_name", "Acme Ltd")?;
    desk.type_into("#company_address", "1 High Street, Springfield")?;
    desk.type_into("#company_vat", "GB123456789")?;
    desk.click("#documents button[type=submit]")?;
    desk.wait_for("#said-documents")?;

    // Sally sets up email, and a test message arrives; SMS she leaves for later.
    desk.go(&format!("{sally_app}/app/settings"))?;
    desk.type_into("#verifier_url", "https://verify.acme.test/")?;
    desk.click("#documents button[type=submit]")?;
    desk.wait_for("#said-documents")?;
    desk.type_into("#email-host", "127.0.0.1")?;
    desk.execute("document.getElementById('email-security').value = 'none'", json!([]))?;
    desk.type_into("#email-port", &smtp.port.to_string())?;
    desk.type_into("#email-from", "Acme signing <sign@acme.test>")?;
    desk.click("#email button[type=submit]")?;
    let said = desk.text("#said-email")?;
    assert_eq!(said, "Saved.");
    desk.type_into("#test-to", "sally@acme.test")?;
    desk.click("#test button[type=submit]")?;
    let said = desk.text("#said-test")?;
    assert!(said.contains("Sent to sally@acme.test by email"), "{said}");
    smtp.wait_for("the test message", |e| e.to.contains("sally@acme.test") && e.subject == "Countersign test message")?;
    desk.screenshot("company-5-settings")?;
    let saved = desk.execute("return document.getElementById('verifier_url').value", json!([]))?;
    assert_eq!(saved, json!("https://verify.acme.test"), "the address is kept without its final slash");

    // She prepares a corpus PDF for Dmitri (signature, company details) and Carl.
    desk.go(&format!("{sally_app}/app/new"))?;
    desk.type_into("#title", "Supply contract 118")?;
    desk.choose_file("#pdf", &corpus_dir().join("pdflatex-4-pages.pdf"))?;
    desk.click("button[type=submit]")?;
    desk.wait_for(".page[data-page='4'] img")?;
    desk.type_into("#party-0-name", "Dmitri Director")?;
    desk.type_into("#party-0-contact", "dmitri@acme.test")?;
    desk.execute("const c = document.querySelector('#parties input[type=checkbox]'); if (c && c.checked) c.click();", json!([]))?;
    desk.type_into("#party-1-name", "Carl Client")?;
    desk.type_into("#party-1-contact", "+15550100")?;
    place(&desk, 0, "signature", 4, (0.10, 0.62), (0.40, 0.68))?;
    place(&desk, 0, "company_details", 4, (0.10, 0.70), (0.45, 0.80))?;
    place(&desk, 1, "signature", 4, (0.60, 0.62), (0.90, 0.68))?;
    desk.click("#send")?;
    desk.wait_for_text("Invitations")?;
    let document = desk.url()?.split('?').next().unwrap_or_default().to_owned();
    let envelope = document.rsplit('/').next().unwrap_or_default().to_owned();
    desk.go(&format!("{sally_app}/app"))?;
    assert!(desk.text("#col-draft")?.contains("Nothing here"), "sent, the document is no draft any more");
    desk.go(&document)?;

    // Dmitri, a colleague, is told by email that it is on his board (no
    // link: his node took it from Sally's); Carl signs second, so nothing
    // waits for him yet.
    let told = smtp.wait_for("telling Dmitri", |e| e.to.contains("dmitri@acme.test") && e.subject.contains("asks you to sign"))?;
    assert!(told.text.contains("It is on your Countersign board") && !told.text.contains(WEB_PATH), "{}", told.text);
    assert!(desk.find("#to-forward").is_none(), "no message waits for Carl before the company signs");
    assert!(desk.find("#undelivered").is_none(), "no alarm for messages on their way");

    // The document is on Dmitri's board by itself, from Sally by name; he
    // signs, his company's details filled in.
    desk.go(&format!("{dmitri_app}/app"))?;
    let board = reload_until(&desk, "the document on Dmitri's board", |text| text.contains("Supply contract 118"))?;
    assert!(board.contains("Sally Sender"), "the sender by name: {board}");
    desk.screenshot("company-6-director-board")?;
    desk.go(&format!("{dmitri_app}/app/e/{envelope}"))?;
    desk.wait_for_text("Your turn to sign")?;
    let details = desk.execute("return document.querySelector('#sign-form textarea').value", json!([]))?;
    assert_eq!(details, json!("Acme Ltd, 1 High Street, Springfield, VAT GB123456789"));
    desk.draw_signature("#pad")?;
    desk.click("#review")?;
    desk.wait_for("#review-dialog[open]")?;
    desk.click("#confirm")?;
    desk.wait_for_text("You signed")?;

    // Now Carl's text waits in Sally's app, in plain words, to be sent by hand.
    desk.go(&document)?;
    let page = reload_until(&desk, "Carl's invitation to send", |text| text.contains("Invitation to Carl Client"))?;
    assert!(page.contains("This node has no SMS settings yet"), "{page}");
    desk.screenshot("company-7-send-by-hand")?;
    let text = desk.execute("return document.querySelector('#to-forward textarea').value", json!([]))?;
    let text = text.as_str().unwrap_or_default().to_owned();
    assert!(text.starts_with("Sally Sender asks you to sign \"Supply contract 118\": https://verify.acme.test/join#"), "{text}");
    let carl_link = text.split_whitespace().last().unwrap_or_default().to_owned();
    let compose = desk.execute("return document.querySelector('#to-forward a.button').getAttribute('href')", json!([]))?;
    assert!(compose.as_str().unwrap_or_default().starts_with("sms:+15550100?body="), "{compose}");
    desk.click("#to-forward form button[type=submit]")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.find("#to-forward").is_some() {
        assert!(Instant::now() < deadline, "marked as sent, the message is gone");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(carl_link.starts_with("https://verify.acme.test/join#"), "the link names the verifier from the settings: {carl_link}");

    // Carl opens the link on his phone, gives an email for the signed PDF, and signs.
    phone.go(&format!("{carl_app}/app/join"))?;
    phone.type_into("#link", &carl_link)?;
    phone.type_into("#email", "carl@client.test")?;
    phone.click("#join-form button[type=submit]")?;
    phone.wait_for_text("Your turn to sign")?;
    phone.click("[data-tab=upload]")?;
    phone.choose_file("#signature-file", &files.join("client-signature.png"))?;
    phone.click("#review")?;
    phone.click("#confirm")?;
    phone.wait_for_text("You signed")?;

    // The final PDF reaches Carl by email, and verifies.
    let email =
        smtp.wait_for("the final PDF for Carl", |e| e.to.contains("carl@client.test") && e.subject.starts_with("Signed by everyone"))?;
    let (_, pdf) = email.attachments.iter().find(|(n, _)| n.ends_with(".pdf")).context("no PDF attached")?;
    let report = verify(pdf);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    let signers: Vec<&str> = report.parties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(signers, ["Dmitri Director", "Carl Client"]);
    let details: Vec<&str> = report.parties[0].values.iter().map(|v| v.value.as_str()).collect();
    assert!(details.contains(&"Acme Ltd, 1 High Street, Springfield, VAT GB123456789"), "{details:?}");
    desk.go(&document)?;
    reload_until(&desk, "completion", |text| text.contains("Complete and intact"))?;
    desk.screenshot("company-8-completed")?;
    assert_eq!(envelope.len(), 64, "{envelope}");
    Ok(())
}

#[test]
fn a_declined_document_says_who_and_why_at_the_top_and_is_corrected_and_sent_again() -> Result<()> {
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut dmitri = Node::init("Dmitri Director", "dmitri@acme.test")?;
    sally.start(&[])?;
    dmitri.start(&[])?;
    let pdf = countersign_scenarios::scratch_dir("company-decline")?.join("contract.pdf");
    std::fs::write(&pdf, contract_pdf(1))?;
    let (envelope, director_link, _) = send(&sally, &pdf, "Consulting agreement")?;
    dmitri.cli(&["join", &director_link])?.ok()?;
    dmitri.cli(&["decline", &envelope, "--reason", "The fee in clause 4 is wrong"])?.ok()?;

    let desk = Browser::start(1400, 1500)?;
    desk.go(&sally.app_link()?)?;
    desk.go(&format!("{}/app/e/{envelope}", origin(&desk.url()?)))?;
    let stopped = reload_until(&desk, "the decline", |text| text.contains("declined to sign"))?;
    let top = desk.text("#stopped")?;
    assert!(top.contains("Dmitri Director declined to sign") && top.contains("The fee in clause 4 is wrong"), "{top}");
    let order = desk.execute(
        "return document.getElementById('stopped').compareDocumentPosition(document.getElementById('parties')) & Node.DOCUMENT_POSITION_FOLLOWING",
        json!([]),
    )?;
    assert_ne!(order, json!(0), "the decline is shown before the people: {stopped}");
    assert!(desk.find("#to-forward").is_none(), "no invitation to a declined document is left to send");
    let badge = desk.text("#parties")?;
    assert!(badge.contains("Declined"), "the decliner is not shown as waiting: {badge}");
    desk.screenshot("company-9-declined")?;

    desk.click("#again")?;
    desk.wait_for_text("Prepare and send")?;
    let people = desk
        .execute("return [document.getElementById('party-0-name').value, document.getElementById('party-1-contact').value]", json!([]))?;
    assert_eq!(people, json!(["Dmitri Director", "+15550100"]));
    let fields = desk.execute("return document.querySelectorAll('.page .field').length", json!([]))?;
    assert!(fields.as_u64().unwrap_or(0) >= 2, "the fields come back: {fields}");
    assert_eq!(desk.execute("return document.getElementById('title').value", json!([]))?, json!("Consulting agreement"));
    desk.click("#send")?;
    desk.wait_for_text("Invitations")?;
    let again = desk.url()?;
    assert!(!again.contains(&envelope), "a new envelope: {again}");
    Ok(())
}

#[test]
fn a_draft_is_kept_when_the_page_is_left_and_the_editor_keeps_fields_apart() -> Result<()> {
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    sally.start(&[])?;
    let desk = Browser::start(1400, 1500)?;
    desk.go(&sally.app_link()?)?;
    let app = origin(&desk.url()?);

    // No title typed: the file's name gives one.
    desk.go(&format!("{app}/app/new"))?;
    desk.choose_file("#pdf", &corpus_dir().join("pdflatex-4-pages.pdf"))?;
    desk.click("button[type=submit]")?;
    desk.wait_for(".page[data-page='4'] img")?;
    assert_eq!(desk.execute("return document.getElementById('title').value", json!([]))?, json!("Pdflatex 4 pages"));

    desk.type_into("#party-0-name", "Dmitri Director")?;
    desk.type_into("#party-0-contact", "dmitri@acme.test")?;
    desk.type_into("#party-1-name", "Carl Client")?;
    place(&desk, 0, "signature", 4, (0.10, 0.62), (0.40, 0.68))?;
    place(&desk, 1, "text", 4, (0.60, 0.62), (0.90, 0.66))?;
    // A field drawn over another is refused, with a word why.
    place(&desk, 1, "signature", 4, (0.20, 0.60), (0.50, 0.70))?;
    assert_eq!(desk.execute("return document.querySelectorAll('.page .field').length", json!([]))?, json!(2));
    let why = desk.text("#err-fields")?;
    assert!(why.contains("may not cover another"), "{why}");
    // Each person has a colour; a field's label on the page follows its name.
    let colours =
        desk.execute("return [...document.querySelectorAll('.page .field')].map(f => getComputedStyle(f).borderTopColor)", json!([]))?;
    assert_ne!(colours[0], colours[1], "{colours}");
    desk.type_into("#fieldlist li:last-child input[type=text]", "Client's address")?;
    let label = desk.text(".page .field[data-index='1']")?;
    assert!(label.contains("Client's address · Carl Client"), "{label}");
    desk.wait_for_text("Draft saved")?;
    desk.screenshot("company-10-editor")?;

    // Leaving the page loses nothing: the draft waits in the Draft column.
    desk.go(&format!("{app}/app"))?;
    let drafts = desk.text("#col-draft")?;
    assert!(drafts.contains("Pdflatex 4 pages") && drafts.contains("Dmitri Director → Carl Client"), "{drafts}");
    desk.click("#col-draft a.button")?;
    desk.wait_for(".page[data-page='4'] img")?;
    assert_eq!(desk.execute("return document.querySelectorAll('.page .field').length", json!([]))?, json!(2));
    assert_eq!(desk.execute("return document.getElementById('party-1-name').value", json!([]))?, json!("Carl Client"));

    // Discarded, it is gone.
    desk.go(&format!("{app}/app"))?;
    desk.click("#col-draft button.danger")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !desk.text("#col-draft").unwrap_or_default().contains("Nothing here") {
        assert!(Instant::now() < deadline, "the discarded draft is still on the board");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn a_manager_who_follows_the_team_sees_every_colleague_document_on_their_board() -> Result<()> {
    let mut sally = Node::init("Sally Sender", "sally@acme.test")?;
    let mut mary = Node::init("Mary Manager", "mary@acme.test")?;
    sally.start(&[])?;
    mary.start(&[])?;
    let desk = Browser::start(1400, 1500)?;
    desk.go(&sally.app_link()?)?;
    let sally_app = origin(&desk.url()?);
    desk.go(&format!("{sally_app}/app/team"))?;
    desk.type_into("#colleague-contact", "mary@acme.test")?;
    desk.click("#invite-colleague button[type=submit]")?;
    let link = desk.execute("return document.getElementById('colleague-link').value", json!([]))?;

    // Mary joins the company and follows the team.
    desk.go(&mary.app_link()?)?;
    let mary_app = origin(&desk.url()?);
    desk.go(&format!("{mary_app}/app/team"))?;
    desk.type_into("#team-link", link.as_str().unwrap_or_default())?;
    desk.click("#join-team-form button[type=submit]")?;
    desk.wait_for_text("You joined your company's directory")?;
    desk.click("#follow")?;
    desk.click("#follow-team button[type=submit]")?;
    desk.wait_for_text("You follow the team's documents")?;
    // Sally's node hears of it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let directory = std::fs::read_to_string(sally.dir.join("directory.json")).unwrap_or_default();
        if directory.contains("\"follows_team\": true") {
            break;
        }
        assert!(Instant::now() < deadline, "Sally's node never heard that Mary follows the team: {directory}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Sally sends a document to others: it is on Mary's board, as a viewer.
    let pdf = countersign_scenarios::scratch_dir("company-manager")?.join("contract.pdf");
    std::fs::write(&pdf, contract_pdf(1))?;
    let (envelope, _, _) = send(&sally, &pdf, "Consulting agreement")?;
    let status = sally.status(&envelope)?;
    assert!(status.parties.iter().any(|p| p.name == "Mary Manager" && !p.role.signs()), "{:?}", status.parties);
    desk.go(&format!("{mary_app}/app?creator=team"))?;
    let board = reload_until(&desk, "the team's document on Mary's board", |text| text.contains("Consulting agreement"))?;
    assert!(board.contains("by Sally Sender") && board.contains("Next: Dmitri Director"), "whom to remind: {board}");
    desk.screenshot("company-11-manager-board")?;
    Ok(())
}
