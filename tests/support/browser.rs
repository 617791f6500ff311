//! A real headless browser for the web tests: Debian's chromium driven
//! through chromedriver's W3C WebDriver HTTP API (both installed by
//! `.ci/run`). Only the calls the tests need: open a page, find, click, type,
//! pick a file, drag with the pointer, run a script, take a screenshot.
//! Screenshots land in `target/screenshots/` for a person to look at.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait for something to show on a page.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver process and one browser session.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
    profile: PathBuf,
    /// Where the browser saves downloads.
    pub downloads: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless chromium whose window is `width`×`height`.
    pub fn start(width: u32, height: u32) -> Result<Browser> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver is not installed (.ci/run installs chromium-driver)")?;
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let root = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{root}/status")).call().is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = crate::scratch_dir("chromium-profile")?;
        let downloads = crate::scratch_dir("chromium-downloads")?;
        let args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.display())])
        .collect();
        let prefs = json!({
            "download.default_directory": downloads.display().to_string(),
            "download.prompt_for_download": false,
        });
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args, "prefs": prefs}
        }}});
        let mut browser = Browser { driver, base: root.clone(), agent, profile, downloads };
        let session = browser.call("POST", "/session", Some(capabilities))?;
        let id = session["value"]["sessionId"].as_str().ok_or_else(|| anyhow!("no browser session: {session}"))?.to_owned();
        browser.base = format!("{root}/session/{id}");
        Ok(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(body)) => self.agent.post(&url).header("Content-Type", "application/json").send(&serde_json::to_vec(&body)?[..]),
            (_, None) => self.agent.post(&url).header("Content-Type", "application/json").send(&b"{}"[..]),
        };
        let mut response = result.with_context(|| format!("WebDriver {method} {path}"))?;
        let value: Value = serde_json::from_slice(&response.body_mut().read_to_vec()?).unwrap_or(Value::Null);
        if let Some(error) = value["value"]["error"].as_str() {
            bail!("WebDriver {method} {path}: {error}: {}", value["value"]["message"]);
        }
        Ok(value)
    }

    /// Opens `url`.
    pub fn go(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(json!({"url": url}))).map(drop)
    }

    /// Resizes the window (a phone is about 430×900).
    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.call("POST", "/window/rect", Some(json!({"width": width, "height": height}))).map(drop)
    }

    /// The address of the page shown.
    pub fn url(&self) -> Result<String> {
        Ok(self.call("GET", "/url", None)?["value"].as_str().unwrap_or_default().to_owned())
    }

    /// The element matching `css`, if there is one now.
    pub fn find(&self, css: &str) -> Option<String> {
        let found = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css}))).ok()?;
        found["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// The element matching `css`, waiting for it to appear.
    pub fn wait_for(&self, css: &str) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(element) = self.find(css) {
                return Ok(element);
            }
            if Instant::now() > deadline {
                bail!("{css} never showed up on {}", self.url().unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's text contains `text`; returns the text.
    pub fn wait_for_text(&self, text: &str) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let page = self.page_text().unwrap_or_default();
            if page.contains(text) {
                return Ok(page);
            }
            if Instant::now() > deadline {
                bail!("the page never said {text:?}; it says:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Clicks the element matching `css`.
    pub fn click(&self, css: &str) -> Result<()> {
        let element = self.wait_for(css)?;
        self.call("POST", &format!("/element/{element}/click"), None).map(drop)
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let element = self.wait_for(css)?;
        self.call("POST", &format!("/element/{element}/clear"), None)?;
        self.call("POST", &format!("/element/{element}/value"), Some(json!({"text": text}))).map(drop)
    }

    /// Picks `path` in the file input matching `css`.
    pub fn choose_file(&self, css: &str, path: &Path) -> Result<()> {
        let element = self.wait_for(css)?;
        let path = path.canonicalize().with_context(|| format!("{} is missing", path.display()))?;
        self.call("POST", &format!("/element/{element}/value"), Some(json!({"text": path.display().to_string()}))).map(drop)
    }

    /// The text of the element matching `css` (found again if the page
    /// was replaced between finding and reading it).
    pub fn text(&self, css: &str) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let element = self.wait_for(css)?;
            match self.call("GET", &format!("/element/{element}/text"), None) {
                Ok(value) => return Ok(value["value"].as_str().unwrap_or_default().to_owned()),
                Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The whole page's visible text.
    pub fn page_text(&self) -> Result<String> {
        self.text("body")
    }

    /// Runs `script` in the page with `args`; returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        Ok(self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))?["value"].clone())
    }

    /// Presses the mouse at each point in turn (viewport pixels), moving
    /// through the points, and releases it at the last: a drag or a stroke.
    pub fn drag(&self, points: &[(i64, i64)]) -> Result<()> {
        let Some(((x, y), rest)) = points.split_first() else { return Ok(()) };
        let mut actions = vec![json!({"type": "pointerMove", "duration": 0, "x": x, "y": y}), json!({"type": "pointerDown", "button": 0})];
        for (x, y) in rest {
            actions.push(json!({"type": "pointerMove", "duration": 40, "x": x, "y": y}));
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.call("POST", "/actions", Some(body))?;
        self.call("DELETE", "/actions", None).map(drop)
    }

    /// Where the element matching `css` is in the viewport: left, top, width, height.
    pub fn rect_in_viewport(&self, css: &str) -> Result<(f64, f64, f64, f64)> {
        let value = self.execute(
            "const e = document.querySelector(arguments[0]); e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height];",
            json!([css]),
        )?;
        let n = |i: usize| value[i].as_f64().unwrap_or_default();
        Ok((n(0), n(1), n(2), n(3)))
    }

    /// Saves a screenshot as `target/screenshots/{name}.png`; returns its path.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let shot = self.call("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["value"].as_str().unwrap_or_default())?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Waits for a finished download whose name ends with `suffix`.
    pub fn downloaded(&self, suffix: &str) -> Result<PathBuf> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let done = std::fs::read_dir(&self.downloads)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(suffix)));
            if let Some(path) = done {
                return Ok(path);
            }
            if Instant::now() > deadline {
                bail!("no download ending in {suffix} arrived in {}", self.downloads.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
