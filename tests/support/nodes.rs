//! Real `countersign` processes for whole-system tests: each node has its own
//! data dir and runs `serve` on loopback; tests drive it with the CLI, exactly
//! as a person would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use countersign_node::envelopes::Summary;
use serde_json::Value;

use crate::scratch_dir;

/// The `countersign` binary built beside the test binaries.
pub fn countersign_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(Path::parent).context("no target dir")?;
    let bin = dir.join("countersign");
    if !bin.exists() {
        bail!("{} is missing: build it with `cargo build -p countersign-node`", bin.display());
    }
    Ok(bin)
}

/// A public relay (`countersign relay`) on loopback, stopped when dropped.
#[derive(Debug)]
pub struct Relay {
    child: Child,
    /// Its TCP address, `/ip4/127.0.0.1/tcp/…/p2p/…`, for nodes.
    pub address: String,
    /// Its WebSocket address, `/ip4/127.0.0.1/tcp/…/ws/p2p/…`, for browsers.
    pub websocket: String,
}

impl Relay {
    /// Starts a relay and waits for its addresses.
    pub fn start() -> Result<Relay> {
        let mut child = Command::new(countersign_bin()?)
            .args(["relay", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/tcp/0/ws"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("the relay has no stdout")?;
        // Read to the end, so that the relay never writes into a closed pipe.
        let (send, addresses) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening ") {
                    let _ = send.send(address.to_owned());
                }
            }
        });
        let (mut address, mut websocket) = (None, None);
        while address.is_none() || websocket.is_none() {
            let Ok(next) = addresses.recv_timeout(Duration::from_secs(20)) else {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the relay did not print its addresses");
            };
            if next.contains("/ws/") { websocket = Some(next) } else { address = Some(next) }
        }
        Ok(Relay { child, address: address.unwrap_or_default(), websocket: websocket.unwrap_or_default() })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's libfaketime (package faketime, which `scripts/test` installs).
fn libfaketime() -> Result<PathBuf> {
    let found = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    found.context("libfaketime is missing: install Debian's faketime (scripts/test does)")
}

/// What a CLI call printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Fails unless the command succeeded.
    pub fn ok(self) -> Result<Run> {
        if self.code != 0 {
            bail!("command failed ({}): {}{}", self.code, self.stdout, self.stderr);
        }
        Ok(self)
    }
}

/// One party's node: a data dir and, while started, its `serve` process.
#[derive(Debug)]
pub struct Node {
    /// The data dir.
    pub dir: PathBuf,
    child: Option<Child>,
    /// The network namespace it lives in and its address there (see
    /// [`crate::lan`]); `None`: this machine's loopback.
    host: Option<(String, String)>,
    /// A clock offset for libfaketime (`-400d`), set with [`Node::set_clock`].
    clock: Option<String>,
}

impl Node {
    /// A new data dir with an identity.
    pub fn init(name: &str, contact: &str) -> Result<Node> {
        Node::init_on(name, contact, None)
    }

    /// A new data dir with an identity, for a node living in a network
    /// namespace at an address (or on loopback for `None`).
    pub fn init_on(name: &str, contact: &str, host: Option<(String, String)>) -> Result<Node> {
        Node::init_at(scratch_dir(&name.to_lowercase().replace(' ', "-"))?, name, contact, host)
    }

    /// A new identity in the data dir `dir` (an empty folder: a small disk, say).
    pub fn init_at(dir: PathBuf, name: &str, contact: &str, host: Option<(String, String)>) -> Result<Node> {
        let node = Node { dir, child: None, host, clock: None };
        let flag = if contact.contains('@') { "--email" } else { "--phone" };
        node.cli(&["init", "--name", name, flag, contact])?.ok()?;
        Ok(node)
    }

    /// A new, empty data dir: no identity yet, as on a first run.
    pub fn empty(label: &str) -> Result<Node> {
        Ok(Node { dir: scratch_dir(label)?, child: None, host: None, clock: None })
    }

    /// Runs `countersign` with no command, as a person starting the app does
    /// (on an empty data dir, the web app then asks who they are), and
    /// returns the web app's sign-in link it prints.
    pub fn start_app(&mut self) -> Result<String> {
        let log_path = self.dir.join("serve.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
        let start = std::fs::metadata(&log_path)?.len();
        // No desktop here: the link is printed, not opened.
        let child = self
            .command()?
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let printed = std::fs::read(&log_path).unwrap_or_default();
            let printed = String::from_utf8_lossy(printed.get(usize::try_from(start)?..).unwrap_or_default()).into_owned();
            if let Some(link) = printed.split_whitespace().find(|w| w.starts_with("http://") && w.contains("/app/login?code=")) {
                return Ok(link.to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("`countersign` in {} printed no sign-in link: {}", self.dir.display(), self.log())
    }

    /// Runs this node's processes (`serve` and the CLI) with a clock off by
    /// `offset` (libfaketime's syntax: `-400d`, `+2h`); timers are left alone.
    pub fn set_clock(&mut self, offset: &str) {
        self.clock = Some(offset.to_owned());
    }

    /// `countersign --data-dir DIR`, inside the node's namespace if it has
    /// one, under its fake clock if it has one.
    pub fn command(&self) -> Result<Command> {
        let mut program: Vec<std::ffi::OsString> = Vec::new();
        if let Some((namespace, _)) = &self.host {
            program.extend(["ip", "netns", "exec", namespace.as_str()].map(Into::into));
        }
        program.push(countersign_bin()?.into());
        let mut command = Command::new(&program[0]);
        command.args(&program[1..]).arg("--data-dir").arg(&self.dir);
        if let Some(offset) = &self.clock {
            // libfaketime preloaded into the node itself (the `faketime`
            // program would run it as a child, under another process id).
            command.env("LD_PRELOAD", libfaketime()?).env("FAKETIME", offset).env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        Ok(command)
    }

    /// Runs `countersign --data-dir DIR args…`.
    pub fn cli(&self, args: &[&str]) -> Result<Run> {
        let output = self.command()?.args(args).stdin(Stdio::null()).output()?;
        Ok(output.into())
    }

    /// Runs `countersign --data-dir DIR args…` in the background (for a
    /// command that waits, such as `join` while its download is interrupted).
    pub fn cli_in_background(&self, args: &[&str]) -> Result<Child> {
        let child = self.command()?.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        Ok(child)
    }

    /// Starts `serve` on loopback and waits until its API answers.
    pub fn start(&mut self, extra: &[&str]) -> Result<()> {
        self.start_with_env(extra, &[])
    }

    /// Starts `serve` with extra environment variables (secrets such as
    /// the SMS gateway's key are given that way).
    pub fn start_with_env(&mut self, extra: &[&str], env: &[(&str, &str)]) -> Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("serve.log"))?;
        let listen = format!("/ip4/{}/tcp/0", self.host.as_ref().map_or("127.0.0.1", |(_, address)| address.as_str()));
        let child = self
            .command()?
            .args(["serve", "--listen", &listen, "--no-mdns", "--test-tools"])
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let info: Option<Value> = std::fs::read(self.dir.join("api.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
            if info.as_ref().and_then(|i| i["pid"].as_u64()) == Some(u64::from(pid)) && self.cli(&["list"])?.code == 0 {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("node in {} did not start: {}", self.dir.display(), std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default())
    }

    /// Stops `serve` gracefully (SIGTERM).
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Kills `serve` at once (SIGKILL), as a crash or power loss would.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// `status ENVELOPE --json`, read into the node's own type.
    pub fn status(&self, envelope: &str) -> Result<Summary> {
        let run = self.cli(&["status", envelope, "--json"])?.ok()?;
        serde_json::from_str(&run.stdout).with_context(|| format!("`status --json` printed what a Summary is not: {}", run.stdout))
    }

    /// Waits until `check` holds for the envelope's status (or fails after
    /// `timeout`): follows `countersign watch ENVELOPE --json`, which prints
    /// each new state as the node announces it.
    pub fn wait_for(&self, envelope: &str, timeout: Duration, what: &str, check: impl Fn(&Summary) -> bool) -> Result<Summary> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            let mut watch = Watch::start(self, envelope)?;
            while let Some(line) = watch.next_line(deadline) {
                let summary: Summary =
                    serde_json::from_str(&line).with_context(|| format!("`watch --json` printed what a Summary is not: {line}"))?;
                if check(&summary) {
                    return Ok(summary);
                }
                last = Some(summary);
            }
            // `watch` ended: the envelope ended (and the check may never hold),
            // or is not on this node yet. Look again shortly.
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("{}: timed out waiting for {what}; last status: {last:?}", self.dir.display())
    }

    /// A one-time link that opens the node's web app signed in (`countersign app`).
    pub fn app_link(&self) -> Result<String> {
        let run = self.cli(&["app"])?.ok()?;
        run.stdout.lines().find(|l| l.starts_with("http://")).map(str::to_owned).context("`countersign app` printed no link")
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Sends `pdf` from `sender` to a director and a client; returns the envelope
/// id and their two invitation links.
pub fn send(sender: &Node, pdf: &Path, title: &str) -> Result<(String, String, String)> {
    let qr = sender.dir.join("qr");
    let pdf = pdf.to_string_lossy().into_owned();
    let qr_dir = qr.to_string_lossy().into_owned();
    let args = [
        "send",
        "--pdf",
        &pdf,
        "--title",
        title,
        "--signer",
        "Dmitri Director:dmitri@acme.test",
        "--client",
        "Carl Client:+15550100",
        "--qr-dir",
        &qr_dir,
    ];
    let run = sender.cli(&args)?.ok()?;
    let envelope = run.stdout.lines().next().and_then(|l| l.strip_prefix("Envelope ")).context("no envelope id printed")?.to_owned();
    let links: Vec<String> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("https://") && l.contains(countersign_shared::invite::WEB_PATH))
        .map(str::to_owned)
        .collect();
    // The director's and the client's first (colleagues who follow the team come after).
    if links.len() < 2 {
        bail!("expected two invitation links, got {}", run.stdout);
    }
    Ok((envelope, links[0].clone(), links[1].clone()))
}

/// A running `countersign watch ENVELOPE --json`, its lines read on a thread.
struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    fn start(node: &Node, envelope: &str) -> Result<Watch> {
        let mut child = node
            .command()?
            .args(["watch", envelope, "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("watch has no stdout")?;
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Watch { child, lines })
    }

    /// The next state printed before `deadline`; `None` once `watch` has
    /// ended or the deadline passed.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
