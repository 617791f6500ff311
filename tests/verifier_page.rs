//! The verifier page in a real headless browser (Debian's chromium, driven
//! through chromedriver's WebDriver HTTP API): a person picks a valid and then
//! a tampered PDF and reads the verdict from the page. `scripts/test` installs
//! chromium and chromium-driver. Screenshots land in `target/screenshots/`
//! (`verifier-page-*.png`) for a person to look at.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use countersign_scenarios::browser::Browser;
use countersign_shared::test_utils::Scenario;
use countersign_verifier::config::Config;
use countersign_verifier::http::app;

#[test]
fn a_person_checks_a_valid_and_a_tampered_pdf_in_the_browser() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app(&Config::default())).await });

    let scenario = Scenario::signed_contract();
    let pdf = scenario.render();
    let dir = std::env::temp_dir().join(format!("countersign-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let valid = dir.join("contract-signed.pdf");
    std::fs::write(&valid, &pdf).unwrap();
    let mut tampered_bytes = pdf.clone();
    tampered_bytes[200] ^= 1;
    let tampered = dir.join("contract-changed.pdf");
    std::fs::write(&tampered, &tampered_bytes).unwrap();

    // A phone-sized window: the page must work there.
    let browser = Browser::start(430, 1400)?;
    browser.go(&format!("http://{address}/"))?;
    assert!(browser.page_text()?.contains("not kept"));
    browser.choose_file("#file", &valid)?;
    let verdict = verdict_of(&browser)?;
    assert!(verdict.starts_with("✓ Valid"), "{verdict}");
    let page = browser.page_text()?;
    assert!(page.contains("Dmitri Director") && page.contains("Carl Client"), "{page}");
    assert!(page.contains("1 Main St, Springfield"), "{page}");
    assert!(page.find("Dmitri Director") < page.find("Carl Client"), "signers in order");
    let signatures = page.split("PDF signatures").nth(1).unwrap_or_default();
    assert!(signatures.contains("1. Dmitri Director — verifies, certifies the document"), "{page}");
    assert!(signatures.contains("2. Carl Client — verifies"), "{page}");
    browser.screenshot("verifier-page-valid")?;

    browser.go(&format!("http://{address}/e/{}", scenario.envelope))?;
    browser.choose_file("#file", &tampered)?;
    let verdict = verdict_of(&browser)?;
    assert!(verdict.starts_with("✗ Not valid"), "{verdict}");
    let page = browser.page_text()?;
    assert!(page.contains("The original document was changed"), "{page}");
    assert!(page.contains("names the document the code points to, but it fails the check"), "{page}");
    browser.screenshot("verifier-page-tampered")?;
    Ok(())
}

/// The verdict line, once the check has answered.
fn verdict_of(browser: &Browser) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let verdict = browser.text("#verdict")?;
        if !verdict.is_empty() || std::time::Instant::now() > deadline {
            return Ok(verdict);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
