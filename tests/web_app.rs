//! The web app end to end, in a real headless chromium over three real nodes
//! on loopback: the company's staff member prepares a corpus PDF and places
//! the fields with the mouse, the director joins and signs by drawing, the
//! client joins and signs with an uploaded image, the pipeline moves the card
//! through each stage by itself, and the final PDF downloaded by the browser
//! verifies. Screenshots land in `target/screenshots/web-*.png`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use countersign_scenarios::app::{outbox, place};
use countersign_scenarios::browser::Browser;
use countersign_scenarios::corpus_dir;
use countersign_scenarios::nodes::Node;
use countersign_shared::test_utils::{signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};
use serde_json::json;

const TITLE: &str = "Consulting agreement 2026";

/// The text of one pipeline column.
fn column(browser: &Browser, id: &str) -> Result<String> {
    Ok(browser.execute("return document.getElementById(arguments[0]).innerText", json!([id]))?.as_str().unwrap_or_default().to_owned())
}

/// Waits, without reloading, until the pipeline shows the card in column `id`.
fn wait_for_card_in(browser: &Browser, id: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if column(browser, id)?.contains(TITLE) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the card never reached the {id} column; the board says:\n{}", browser.text("#board")?)
}

#[test]
fn a_document_is_prepared_signed_in_order_and_verified_in_the_browser() -> Result<()> {
    let mut sender = Node::init("Sally Sender", "sally@acme.test")?;
    let mut director = Node::init("Dmitri Director", "dmitri@acme.test")?;
    let mut client = Node::init("Carl Client", "+15550100")?;
    for node in [&mut sender, &mut director, &mut client] {
        node.start(&[])?;
    }
    let files = countersign_scenarios::scratch_dir("web-files")?;
    std::fs::write(files.join("stamp.png"), stamp_png())?;
    std::fs::write(files.join("client-signature.png"), signature_png(2))?;
    std::fs::write(files.join("broken.pdf"), b"%PDF-1.7\nnot really a PDF")?;

    let browser = Browser::start(1400, 1500)?;

    // The staff member opens their app and starts a document from a corpus PDF.
    browser.go(&sender.app_link()?)?;
    browser.wait_for_text("Pipeline")?;
    browser.click("a[href='/app/new']")?;
    // A broken PDF is refused with a message next to the file input.
    browser.type_into("#title", TITLE)?;
    browser.choose_file("#pdf", &files.join("broken.pdf"))?;
    browser.click("button[type=submit]")?;
    browser.wait_for_text("cannot be signed")?;
    let refusal = browser.text("#err-pdf")?;
    assert!(refusal.contains("cannot be signed"), "{refusal}");
    browser.choose_file("#pdf", &corpus_dir().join("pdflatex-4-pages.pdf"))?;
    browser.click("button[type=submit]")?;
    browser.wait_for_text("Prepare and send")?;
    browser.wait_for(".page[data-page='4'] img")?;

    // Parties: the director (company signer, stamp required) and the client,
    // whose phone number is mistyped at first.
    browser.type_into("#party-0-name", "Dmitri Director")?;
    browser.type_into("#party-0-contact", "dmitri@acme.test")?;
    browser.type_into("#party-1-name", "Carl Client")?;
    browser.type_into("#party-1-contact", "call me maybe")?;

    // Fields, placed by dragging on the pages.
    place(&browser, 0, "signature", 4, (0.10, 0.70), (0.40, 0.76))?;
    place(&browser, 0, "stamp", 4, (0.42, 0.66), (0.56, 0.76))?;
    place(&browser, 0, "date", 4, (0.10, 0.78), (0.30, 0.81))?;
    place(&browser, 1, "signature", 4, (0.60, 0.70), (0.90, 0.76))?;
    place(&browser, 1, "text", 4, (0.60, 0.78), (0.90, 0.81))?;
    let fields = browser.execute("return document.querySelectorAll('.page .field').length", json!([]))?;
    assert_eq!(fields, json!(5), "five fields drawn on the page");
    browser.type_into("#fieldlist li:last-child input[type=text]", "Client's address")?;
    browser.screenshot("web-1-prepare")?;

    // The mistyped contact comes back with a message beside it, and nothing typed is lost.
    browser.click("#send")?;
    browser.wait_for_text("Enter an email address or a phone number")?;
    let message = browser.text("#err-party-1-contact")?;
    assert!(message.contains("email address or a phone number"), "{message}");
    let kept = browser
        .execute("return [document.getElementById('party-0-name').value, document.querySelectorAll('.page .field').length]", json!([]))?;
    assert_eq!(kept, json!(["Dmitri Director", 5]));
    browser.type_into("#party-1-contact", "+15550100")?;
    browser.click("#send")?;

    // Sent: the invitations show with their links and QR codes.
    browser.wait_for_text("Invitations")?;
    browser.screenshot("web-2-sent")?;
    let links = browser.execute("return [...document.querySelectorAll('.invite input')].map(i => i.value)", json!([]))?;
    let links: Vec<String> = serde_json::from_value(links)?;
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(browser.execute("return document.querySelectorAll('.invite svg').length", json!([]))?, json!(2), "a QR code per invitation");
    let envelope = browser.url()?.split("/app/e/").nth(1).unwrap_or_default().split('?').next().unwrap_or_default().to_owned();
    // The client signs second: their invitation goes out by itself when the
    // company has signed, and the page says so.
    let later = browser.text(".invite[data-slot='1']")?;
    assert!(later.contains("by itself when their turn comes"), "{later}");

    let remind = browser.text("#remind")?;
    assert!(remind.contains("Dmitri Director") && remind.contains("Email a reminder"), "{remind}");
    // The remind action queues a reminder (no mail server set up here: it waits in the outbox folder).
    browser.click("#remind-now")?;
    browser.wait_for_text("Reminder sent")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let reminded = loop {
        let outbox = outbox(&sender);
        if outbox.iter().any(|m| m.contains("Subject: Reminder") && m.contains("dmitri@acme.test")) || Instant::now() > deadline {
            break outbox.iter().any(|m| m.contains("Subject: Reminder"));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(reminded, "a reminder email waits in the sender's outbox");

    // The pipeline shows it waiting for the company signer, and keeps itself up to date.
    browser.go(&format!("{}/app", origin(&browser.url()?)))?;
    wait_for_card_in(&browser, "col-company")?;
    browser.screenshot("web-3-pipeline-company")?;
    let pipeline = browser.url()?;

    // The director opens the invitation in their own app and signs by drawing.
    let tab_of = |link: &str| -> Result<()> {
        browser.go(link)?;
        browser.click("a[href='/app/join']")?;
        Ok(())
    };
    // The sender shared the client's link by hand: on their phone the client
    // can read the document, and waits for the company.
    let phone = Browser::phone()?;
    phone.go(&client.app_link()?)?;
    phone.click("a[href='/app/join']")?;
    phone.type_into("#link", &links[1])?;
    phone.click("#join-form button[type=submit]")?;
    phone.wait_for_text("Waiting for Dmitri Director")?;
    phone.screenshot("web-4-client-waiting-phone")?;

    tab_of(&director.app_link()?)?;
    browser.type_into("#link", &links[0])?;
    browser.click("#join-form button[type=submit]")?;
    browser.wait_for_text("Your turn to sign")?;
    browser.wait_for("#pad")?;
    browser.draw_signature("#pad")?;
    browser.choose_file("#stamp-file", &files.join("stamp.png"))?;
    browser.click("#review")?;
    browser.wait_for("#review-dialog[open]")?;
    browser.screenshot("web-5-director-review")?;
    browser.click("#confirm")?;
    browser.wait_for_text("You signed")?;

    // The sender's pipeline moves the card to the client's column by itself.
    browser.go(&pipeline)?;
    wait_for_card_in(&browser, "col-client")?;

    // The client's open page turns into the signing page by itself, and the
    // client is texted that it is their turn (no SMS settings here: the text
    // waits in the sender's outbox for a person to forward).
    phone.wait_for_text("Your turn to sign")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !outbox(&sender).iter().any(|m| m.contains("To: +15550100") && m.contains("Your turn to sign")) {
        assert!(Instant::now() < deadline, "no \"your turn\" text for the client: {:?}", outbox(&sender));
        std::thread::sleep(Duration::from_millis(200));
    }
    // They sign with an uploaded image.
    phone.click("[data-tab=upload]")?;
    phone.choose_file("#signature-file", &files.join("client-signature.png"))?;
    let text_input = phone.execute("return document.querySelector('#sign-form input[type=text][name^=text-]').id", json!([]))?;
    let label = phone.execute("return document.querySelector(`label[for=${arguments[0]}]`).textContent", json!([text_input]))?;
    assert_eq!(label, json!("Client's address *"), "the field has the name the sender gave it");
    phone.type_into(&format!("#{}", text_input.as_str().unwrap_or_default()), "Carl Client, 1 Main St")?;
    phone.screenshot("web-6-client-sign-phone")?;
    let overflow = phone.execute("return document.documentElement.scrollWidth - window.innerWidth", json!([]))?;
    assert!(overflow.as_i64().unwrap_or(1) <= 0, "the signing page fits a phone's width (overflow {overflow})");
    phone.click("#review")?;
    phone.click("#confirm")?;
    phone.wait_for_text("You signed")?;

    // Completed everywhere; the sender downloads the final PDF and it verifies.
    browser.go(&pipeline)?;
    wait_for_card_in(&browser, "col-completed")?;
    browser.screenshot("web-7-pipeline-completed")?;
    browser.go(&format!("{}/app/e/{envelope}", origin(&pipeline)))?;
    browser.wait_for_text("Complete and intact")?;
    let signatures = browser.text("#verification .pdf-signatures")?;
    assert!(signatures.contains("1. Dmitri Director — verifies, certifies the document"), "{signatures}");
    assert!(signatures.contains("2. Carl Client — verifies"), "{signatures}");
    browser.screenshot("web-8-completed")?;
    browser.click("#document-pages summary")?;
    let filled = browser.execute("return document.querySelectorAll('#document-pages .field.done').length", json!([]))?;
    assert_eq!(filled, json!(5), "every field shows as filled on the pages");
    browser.click("#download-final")?;
    let downloaded = std::fs::read(browser.downloaded("-signed.pdf")?)?;
    let report = verify(&downloaded);
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    let signers: Vec<&str> = report.parties.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(signers, ["Dmitri Director", "Carl Client"]);
    let client_values: Vec<&str> = report.parties[1].values.iter().map(|v| v.value.as_str()).collect();
    assert!(client_values.contains(&"Carl Client, 1 Main St"), "{client_values:?}");
    Ok(())
}

/// `http://127.0.0.1:PORT` of a URL.
fn origin(url: &str) -> String {
    url.split('/').take(3).collect::<Vec<_>>().join("/")
}

#[test]
fn a_template_sends_one_envelope_per_csv_row() -> Result<()> {
    let mut sender = Node::init("Sally Sender", "sally@acme.test")?;
    sender.start(&[])?;
    let files = countersign_scenarios::scratch_dir("web-template")?;
    let csv = "title,party2_name,party2_contact\n\
               Consulting for Acme,Carl Client,+15550100\n\
               Consulting for Birch,Bea Birch,bea@birch.test\n\
               Consulting for Cedar,Cy Cedar,not a contact\n";
    std::fs::write(files.join("deals.csv"), csv)?;
    let browser = Browser::start(1400, 1500)?;
    browser.go(&sender.app_link()?)?;
    browser.click("a[href='/app/new']")?;
    browser.type_into("#title", "Consulting agreement")?;
    browser.choose_file("#pdf", &corpus_dir().join("google-doc-document.pdf"))?;
    browser.click("button[type=submit]")?;
    browser.wait_for(".page[data-page='1'] img")?;
    browser.type_into("#party-0-name", "Dmitri Director")?;
    browser.type_into("#party-0-contact", "dmitri@acme.test")?;
    place(&browser, 0, "signature", 1, (0.10, 0.80), (0.40, 0.86))?;
    place(&browser, 0, "stamp", 1, (0.42, 0.78), (0.56, 0.88))?;
    place(&browser, 1, "signature", 1, (0.60, 0.80), (0.90, 0.86))?;
    browser.click(".save-template summary")?;
    browser.type_into("#template-name", "Consulting agreement")?;
    browser.click("#save-template")?;
    browser.wait_for_text("Template saved")?;
    browser.click("a[href^='/app/templates/']")?;
    browser.wait_for(".page .field")?;
    let fields = browser.execute("return document.querySelectorAll('.page .field').length", json!([]))?;
    assert_eq!(fields, json!(3), "the template opens with its fields");

    browser.go(&format!("{}/app/templates", origin(&browser.url()?)))?;
    browser.click("details summary")?;
    browser.choose_file("input[name=csv]", &files.join("deals.csv"))?;
    browser.click("details button[type=submit]")?;
    let page = browser.wait_for_text("rows sent")?;
    assert!(page.contains("2 of 3 rows sent"), "{page}");
    assert!(page.contains("party2 contact (Cy Cedar)"), "the bad row says which column is wrong: {page}");
    browser.screenshot("web-9-bulk")?;
    let pipeline = sender.cli(&["list"])?.ok()?.stdout;
    assert!(pipeline.contains("Consulting for Acme") && pipeline.contains("Consulting for Birch"), "{pipeline}");
    assert!(!pipeline.contains("Consulting for Cedar"), "{pipeline}");
    Ok(())
}
