//! A real headless browser for the web tests: Debian's chromium driven
//! through chromedriver with fantoccini (a WebDriver client), both
//! installed by `scripts/test`. The tests are plain functions, so each call
//! runs on the browser's own small runtime. Screenshots land in
//! `target/screenshots/` for a person to look at.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::actions::{InputSource as _, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long to wait for something to show on a page.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver process and one browser session.
#[derive(Debug)]
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Client,
    driver: Child,
    profile: PathBuf,
    /// Where the browser saves downloads.
    pub downloads: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless chromium whose window is `width`×`height`.
    pub fn start(width: u32, height: u32) -> Result<Browser> {
        Browser::launch(width, height, None)
    }

    /// A phone: a 390×844 viewport at 3× with touch and a phone's user agent
    /// (chromedriver's mobile emulation; a headless window alone is never
    /// narrower than 500 pixels).
    pub fn phone() -> Result<Browser> {
        let emulation = json!({
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
        });
        Browser::launch(430, 932, Some(emulation))
    }

    fn launch(width: u32, height: u32, mobile_emulation: Option<Value>) -> Result<Browser> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver is not installed (scripts/test installs chromium-driver)")?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
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
        let mut options = json!({"binary": "/usr/bin/chromium", "args": args, "prefs": prefs});
        if let Some(emulation) = mobile_emulation {
            options["mobileEmulation"] = emulation;
        }
        let capabilities = json!({"browserName": "chrome", "goog:chromeOptions": options});
        let Value::Object(capabilities) = capabilities else { bail!("capabilities are an object") };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = runtime.block_on(async {
            loop {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                    Ok(client) => return Ok(client),
                    Err(e) if Instant::now() > deadline => return Err(anyhow!("chromedriver did not start a browser: {e}")),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        })?;
        Ok(Browser { runtime, client, driver, profile, downloads })
    }

    fn run<T>(&self, work: impl Future<Output = Result<T, fantoccini::error::CmdError>>) -> Result<T> {
        Ok(self.runtime.block_on(work)?)
    }

    /// Opens `url`.
    pub fn go(&self, url: &str) -> Result<()> {
        self.run(self.client.goto(url))
    }

    /// Resizes the window (a phone is about 430×900).
    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.run(self.client.set_window_size(width, height))
    }

    /// The address of the page shown.
    pub fn url(&self) -> Result<String> {
        Ok(self.run(self.client.current_url())?.to_string())
    }

    /// The element matching `css`, if there is one now.
    pub fn find(&self, css: &str) -> Option<Element> {
        self.run(self.client.find(Locator::Css(css))).ok()
    }

    /// The element matching `css`, waiting for it to appear.
    pub fn wait_for(&self, css: &str) -> Result<Element> {
        self.run(self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)))
            .with_context(|| format!("{css} never showed up on {}", self.url().unwrap_or_default()))
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
        self.run(element.click())
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let element = self.wait_for(css)?;
        self.run(async {
            element.clear().await?;
            element.send_keys(text).await
        })
    }

    /// Picks `path` in the file input matching `css`.
    pub fn choose_file(&self, css: &str, path: &Path) -> Result<()> {
        let element = self.wait_for(css)?;
        let path = path.canonicalize().with_context(|| format!("{} is missing", path.display()))?;
        self.run(element.send_keys(&path.display().to_string()))
    }

    /// The text of the element matching `css` (found again if the page
    /// was replaced between finding and reading it).
    pub fn text(&self, css: &str) -> Result<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let element = self.wait_for(css)?;
            match self.runtime.block_on(element.text()) {
                Ok(text) => return Ok(text),
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The whole page's visible text.
    pub fn page_text(&self) -> Result<String> {
        self.text("body")
    }

    /// Runs `script` in the page with `args` (an array); returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        let Value::Array(args) = args else { bail!("a script's arguments are an array") };
        self.run(self.client.execute(script, args))
    }

    /// Runs `script` in the page until it calls its last argument back; returns what it gave.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        let Value::Array(args) = args else { bail!("a script's arguments are an array") };
        self.run(self.client.execute_async(script, args))
    }

    /// Draws a wavy stroke across the element matching `css` (a signature pad).
    pub fn draw_signature(&self, css: &str) -> Result<()> {
        let (left, top, width, height) = self.rect_in_viewport(css)?;
        let stroke: Vec<(i64, i64)> = (0..=24)
            .map(|i| {
                let t = f64::from(i) / 24.0;
                ((left + width * (0.1 + 0.8 * t)) as i64, (top + height * (0.5 + 0.3 * (t * 12.0).sin())) as i64)
            })
            .collect();
        self.drag(&stroke)
    }

    /// Presses the mouse at each point in turn (viewport pixels), moving
    /// through the points, and releases it at the last: a drag or a stroke.
    pub fn drag(&self, points: &[(i64, i64)]) -> Result<()> {
        let Some(((x, y), rest)) = points.split_first() else { return Ok(()) };
        let to = |x: i64, y: i64, ms: u64| PointerAction::MoveTo { duration: Some(Duration::from_millis(ms)), x: x as f64, y: y as f64 };
        let mut mouse = MouseActions::new("mouse".into()).then(to(*x, *y, 0)).then(PointerAction::Down { button: MOUSE_BUTTON_LEFT });
        for (x, y) in rest {
            mouse = mouse.then(to(*x, *y, 40));
        }
        mouse = mouse.then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.run(async {
            self.client.perform_actions(mouse).await?;
            self.client.release_actions().await
        })
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
        let png = self.run(self.client.screenshot())?;
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
        let _ = self.runtime.block_on(self.client.clone().close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
