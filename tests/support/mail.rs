//! Real mail and SMS ends for the notification tests: Python's aiosmtpd (the
//! Debian package python3-aiosmtpd, which `scripts/test` installs) as the SMTP
//! server on loopback, storing what it receives in a Maildir; and a small
//! HTTP server standing in for an SMS gateway, recording every request and
//! answering as scripted.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// The Python that has aiosmtpd (Debian's, not a pyenv one).
const PYTHON: &str = "/usr/bin/python3";

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// An SMTP server on loopback.
#[derive(Debug)]
pub struct SmtpServer {
    child: Child,
    /// Its port.
    pub port: u16,
    maildir: PathBuf,
}

/// One received email, decoded.
#[derive(Debug, Clone)]
pub struct Email {
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// Attachments: file name and bytes.
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl SmtpServer {
    /// Starts aiosmtpd on a free port (another one when the one chosen was
    /// taken meanwhile by a process of another test).
    pub fn start_anywhere() -> Result<SmtpServer> {
        let mut last = None;
        for _ in 0..5 {
            match SmtpServer::start(free_port()?) {
                Ok(server) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("aiosmtpd did not start")))
    }

    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub fn start(port: u16) -> Result<SmtpServer> {
        let maildir = crate::scratch_dir("maildir")?;
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub))?;
        }
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("python3 is missing")?;
        let mut server = SmtpServer { child, port, maildir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("aiosmtpd did not start (scripts/test installs python3-aiosmtpd)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Something answering on the port is not proof that it is ours: a
        // server that could not bind it (another test's process has it) stops.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = server.child.try_wait()? {
            bail!("aiosmtpd stopped ({status}): port {port} is taken by another process");
        }
        Ok(server)
    }

    /// Every email received so far.
    pub fn emails(&self) -> Result<Vec<Email>> {
        let mut emails = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(folder)) else { continue };
            for entry in entries {
                emails.push(decode(&std::fs::read(entry?.path())?)?);
            }
        }
        Ok(emails)
    }

    /// Waits until an email matching `check` has arrived.
    pub fn wait_for(&self, what: &str, check: impl Fn(&Email) -> bool) -> Result<Email> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(email) = self.emails()?.into_iter().find(|e| check(e)) {
                return Ok(email);
            }
            if Instant::now() > deadline {
                bail!("no email {what} arrived; received: {:?}", self.emails()?.iter().map(|e| (&e.to, &e.subject)).collect::<Vec<_>>());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes a raw email (an SMTP delivery, or an `.eml` in a node's outbox).
pub fn decode(raw: &[u8]) -> Result<Email> {
    let mail = mailparse::parse_mail(raw)?;
    let header =
        |name: &str| mail.headers.iter().find(|h| h.get_key_ref().eq_ignore_ascii_case(name)).map(|h| h.get_value()).unwrap_or_default();
    let mut email = Email { to: header("To"), subject: header("Subject"), text: String::new(), attachments: Vec::new() };
    let mut parts = vec![&mail];
    while let Some(part) = parts.pop() {
        parts.extend(part.subparts.iter());
        let disposition = part.get_content_disposition();
        if disposition.disposition == mailparse::DispositionType::Attachment {
            let name = disposition.params.get("filename").cloned().unwrap_or_default();
            email.attachments.push((name, part.get_body_raw()?));
        } else if part.ctype.mimetype == "text/plain" {
            email.text = part.get_body()?;
        }
    }
    Ok(email)
}

/// One request the SMS gateway received.
#[derive(Debug, Clone)]
pub struct SmsRequest {
    /// `POST`, `PUT`…
    pub method: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

impl SmsRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A stand-in SMS gateway: answers the first requests with the scripted
/// statuses (e.g. 503), every later one with 200.
#[derive(Debug)]
pub struct SmsGateway {
    /// Its address, e.g. `http://127.0.0.1:1234/messages`.
    pub url: String,
    requests: Arc<Mutex<Vec<SmsRequest>>>,
}

impl SmsGateway {
    /// Starts the gateway on a free port.
    pub fn start(first_statuses: Vec<u16>) -> Result<SmsGateway> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/messages", listener.local_addr()?);
        let requests: Arc<Mutex<Vec<SmsRequest>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = seen.lock().map(|r| r.len()).unwrap_or(0);
                let status = first_statuses.get(n).copied().unwrap_or(200);
                if let Ok(request) = answer(stream, status)
                    && let Ok(mut all) = seen.lock()
                {
                    all.push(request);
                }
            }
        });
        Ok(SmsGateway { url, requests })
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<SmsRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until an accepted (2xx) request matching `check` arrived.
    pub fn wait_for(&self, what: &str, check: impl Fn(&SmsRequest) -> bool) -> Result<SmsRequest> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(request) = self.requests().into_iter().find(|r| r.status == 200 && check(r)) {
                return Ok(request);
            }
            if Instant::now() > deadline {
                bail!("no SMS {what} reached the gateway; it got: {:?}", self.requests());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn answer(stream: TcpStream, status: u16) -> Result<SmsRequest> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let method = line.split_whitespace().next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let reason = if status == 200 { "OK" } else { "Service Unavailable" };
    let mut stream = stream;
    write!(stream, "HTTP/1.1 {status} {reason}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")?;
    Ok(SmsRequest { method, headers, body: String::from_utf8_lossy(&body).into_owned(), status })
}
