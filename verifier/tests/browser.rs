//! The verifier page in a real headless browser (Debian's chromium, driven
//! through chromedriver's WebDriver HTTP API): a person picks a valid and then
//! a tampered PDF and reads the verdict from the page. `.ci/run` installs
//! chromium and chromium-driver. Screenshots land in the target dir
//! (`verifier-page-*.png`) for a person to look at.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test fails by panicking

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use countersign_shared::test_utils::Scenario;
use countersign_verifier::config::Config;
use countersign_verifier::http::app;
use serde_json::{Value, json};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session: just the WebDriver calls this test needs.
struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
}

impl Browser {
    fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (.ci/run installs chromium-driver)");
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let root = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{root}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("countersign-chromium-{}", std::process::id()));
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=430,1400",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let session = call(&agent, "POST", &format!("{root}/session"), Some(capabilities));
        let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
        Browser { driver, base: format!("{root}/session/{id}"), agent }
    }

    fn go(&self, url: &str) {
        call(&self.agent, "POST", &format!("{}/url", self.base), Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> Option<String> {
        let found = call(&self.agent, "POST", &format!("{}/element", self.base), Some(json!({"using": "css selector", "value": css})));
        found["value"][ELEMENT].as_str().map(str::to_owned)
    }

    fn choose_file(&self, css: &str, path: &std::path::Path) {
        let element = self.find(css).unwrap_or_else(|| panic!("no {css} on the page"));
        call(&self.agent, "POST", &format!("{}/element/{element}/value", self.base), Some(json!({"text": path.display().to_string()})));
    }

    /// The text of `css`, once it shows something.
    fn wait_for_text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(element) = self.find(css) {
                let text = call(&self.agent, "GET", &format!("{}/element/{element}/text", self.base), None)["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if !text.is_empty() {
                    return text;
                }
            }
            assert!(Instant::now() < deadline, "{css} never showed up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn page_text(&self) -> String {
        let body = self.find("body").unwrap();
        call(&self.agent, "GET", &format!("{}/element/{body}/text", self.base), None)["value"].as_str().unwrap_or_default().to_owned()
    }

    fn screenshot(&self, name: &str) {
        let shot = call(&self.agent, "GET", &format!("{}/screenshot", self.base), None);
        let png = base64::engine::general_purpose::STANDARD.decode(shot["value"].as_str().unwrap_or_default()).unwrap_or_default();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        let _ = std::fs::write(dir.join(format!("verifier-page-{name}.png")), png);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let result = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        (_, Some(body)) => agent.post(url).header("Content-Type", "application/json").send(&serde_json::to_vec(&body).unwrap()[..]),
        (_, None) => agent.post(url).send(&b"{}"[..]),
    };
    let mut response = result.unwrap_or_else(|e| panic!("WebDriver call {url}: {e}"));
    serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap_or(Value::Null)
}

#[test]
fn a_person_checks_a_valid_and_a_tampered_pdf_in_the_browser() {
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

    let browser = Browser::start();
    browser.go(&format!("http://{address}/"));
    assert!(browser.page_text().contains("not kept"));
    browser.choose_file("#file", &valid);
    let verdict = browser.wait_for_text("#verdict");
    assert!(verdict.starts_with("✓ Valid"), "{verdict}");
    let page = browser.page_text();
    assert!(page.contains("Dmitri Director") && page.contains("Carl Client"), "{page}");
    assert!(page.contains("1 Main St, Springfield"), "{page}");
    assert!(page.find("Dmitri Director") < page.find("Carl Client"), "signers in order");
    browser.screenshot("valid");

    browser.go(&format!("http://{address}/e/{}", scenario.envelope));
    browser.choose_file("#file", &tampered);
    let verdict = browser.wait_for_text("#verdict");
    assert!(verdict.starts_with("✗ Not valid"), "{verdict}");
    let page = browser.page_text();
    assert!(page.contains("The original document was changed"), "{page}");
    assert!(page.contains("names the document the code points to, but it fails the check"), "{page}");
    browser.screenshot("tampered");
}
