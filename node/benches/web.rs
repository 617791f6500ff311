//! The web app's speed, against a real `countersign serve` over loopback HTTP:
//! 1. the pipeline page of a node holding 10,000 envelopes: time to answer
//!    and page weight (HTML; the stylesheet and script are counted apart);
//! 2. the first page preview of a 50-page PDF just uploaded and prepared
//!    (cold: never drawn before), and the editor page that lists its pages.
//!
//! `cargo bench -p countersign-node --bench web`

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark stops on a broken fixture

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{busy_data_dir, median, ms, scratch};
use countersign_node::datadir::DataDir;
use countersign_shared::test_utils::contract_pdf;

const BIN: &str = env!("CARGO_BIN_EXE_countersign");

/// A running `serve` and a browser-like client signed in to its web app.
struct Served {
    child: Child,
    base: String,
    agent: ureq::Agent,
    /// The API's bearer token.
    token: String,
    /// The web app's session cookie, `name=value`.
    cookie: String,
}

impl Served {
    fn start(data: &DataDir) -> Served {
        let child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data.root())
            .args(["serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let link = loop {
            let out = Command::new(BIN).arg("--data-dir").arg(data.root()).arg("app").output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && data.api_info().is_some_and(|i| i.pid == child.id()) {
                break text;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let info = data.api_info().unwrap();
        let base = format!("http://127.0.0.1:{}", info.port);
        // Keeps the session cookie like a browser.
        let agent: ureq::Agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into();
        let login = agent.get(&link).call().unwrap();
        let cookie = login.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let served = Served { child, base, agent, token: info.token, cookie };
        let (_, css) = served.get("/app/assets/app.css");
        assert!(css > 0, "signed in");
        served
    }

    /// GETs `path` as the signed-in browser: time and body size.
    fn get(&self, path: &str) -> (Duration, usize) {
        let started = Instant::now();
        let mut response = self.agent.get(format!("{}{path}", self.base)).header("Cookie", &self.cookie).call().unwrap();
        let body = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_vec().unwrap();
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{path}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
        (took, body.len())
    }

    /// Prepares a PDF for signing and stores it through the API (bearer
    /// token), as an upload does; its hash.
    fn put_document(&self, bytes: &[u8]) -> String {
        let mut response = self
            .agent
            .post(format!("{}/api/v1/documents", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .send(bytes)
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&response.body_mut().read_to_vec().unwrap()).unwrap();
        answer["hash"].as_str().unwrap_or_else(|| panic!("no hash in the answer: {answer}")).to_owned()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn pipeline(root: &std::path::Path) {
    let data = busy_data_dir(root, 10_000);
    let served = Served::start(&data);
    served.get("/app"); // warm: the node loads its state once
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..15 {
        let (took, bytes) = served.get("/app");
        times.push(took);
        size = bytes;
    }
    let (_, css) = served.get("/app/assets/app.css");
    let (_, js) = served.get("/app/assets/board.js");
    let searched = median((0..9).map(|_| served.get("/app/board?q=Contract+9999&creator=").0).collect());
    println!(
        "pipeline of 10,000 envelopes: {:.1} ms to answer (median of 15), {:.1} KB of HTML (+{:.1} KB CSS, {:.1} KB JS, cached); a search: {:.1} ms",
        ms(median(times)),
        size as f64 / 1024.0,
        css as f64 / 1024.0,
        js as f64 / 1024.0,
        ms(searched)
    );
}

fn previews(root: &std::path::Path) {
    let data = DataDir::resolve(Some(root.join("previews"))).unwrap();
    data.init(&countersign_node::datadir::Profile { name: "Sally Sender".into(), contact: None }, countersign_node::party::random_secret())
        .unwrap();
    let served = Served::start(&data);
    let pdf = contract_pdf(50);
    let mut firsts = Vec::new();
    let mut editors = Vec::new();
    for run in 0..7 {
        // A new PDF each run (one page more each time: data after the end
        // of a PDF is refused), so nothing is cached.
        let bytes = contract_pdf(50 + run);
        let hash = served.put_document(&bytes);
        editors.push(served.get(&format!("/app/new/{hash}?title=Bench")).0);
        firsts.push(served.get(&format!("/app/preview/{hash}/1")).0);
    }
    println!(
        "50- to 56-page PDFs (50 pages: {} KB): editor page {:.1} ms, first page preview (cold) {:.1} ms (medians of 7)",
        pdf.len() / 1024,
        ms(median(editors)),
        ms(median(firsts))
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = scratch("web");
    previews(&root);
    pipeline(&root);
    let _ = std::fs::remove_dir_all(&root);
}
