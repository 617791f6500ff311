//! The `countersign` command line: `init` and `serve` work on the data dir;
//! every other command talks to the running node of that data dir.

pub mod serve;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use countersign_shared::invite::InvitationLink;
use countersign_shared::model::{Contact, Role};
use libp2p::Multiaddr;
use serde::Deserialize;

use crate::api::{DeclineRequest, JoinRequest};
use crate::app::requests::{CreateRequest, Created, FieldInput, NodeInfo, PartyInput, SignRequest, Transfer};
use crate::client::Client;
use crate::datadir::{DataDir, Profile, write_atomic};
use crate::documents::PreparedDocument;
use crate::envelopes::{ListItem, Stage, Summary};
use crate::party::random_secret;
use crate::qr;

/// Countersign: sign documents peer to peer. Without a command, starts this
/// computer's node and opens its web app (or opens the app of the node
/// already running); on a first run the app asks who you are.
#[derive(Debug, Parser)]
#[command(name = "countersign", version, about)]
pub struct Cli {
    /// The node's data dir (default: the platform's data folder; or set COUNTERSIGN_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do (nothing: start the node and open the app).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates this node's identity.
    Init {
        /// Your name, as it appears on documents.
        #[arg(long)]
        name: String,
        /// Your email address.
        #[arg(long)]
        email: Option<String>,
        /// Your phone number, e.g. +15550100.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Runs the node until ctrl-c; prints its peer id and addresses.
    Serve {
        /// libp2p address to listen on (repeatable).
        #[arg(long, default_value = ANY_PORT)]
        listen: Vec<Multiaddr>,
        /// A relay to be reachable through, e.g. /ip4/203.0.113.5/tcp/4001/p2p/12D3…
        #[arg(long)]
        relay: Option<Multiaddr>,
        /// Do not look for nodes on the local network.
        #[arg(long)]
        no_mdns: bool,
        /// Accept test-only API calls (raw entry import).
        #[arg(long, hide = true)]
        test_tools: bool,
        /// How long invitations work, in seconds (tests; default two weeks).
        #[arg(long, hide = true)]
        invite_ttl_secs: Option<u64>,
        /// Open the web app in the desktop's browser once the node runs.
        #[arg(long)]
        open: bool,
    },
    /// Opens an invitation link (web or `countersign://`) in the running
    /// node's web app, on its join page. The desktop runs this for
    /// `countersign://` links.
    OpenLink {
        /// The invitation link.
        link: String,
        /// Print the app's address instead of opening the browser.
        #[arg(long)]
        print: bool,
    },
    /// Makes `countersign://` links open this node's web app (done by itself
    /// at the first `serve` in a desktop session).
    RegisterLinks,
    /// Prints a one-time link that opens the web app of the running node.
    App {
        /// Also open it in the desktop's browser.
        #[arg(long)]
        open: bool,
    },
    /// Shows this node's peer id, key fingerprint and addresses.
    Info,
    /// Sends a PDF for signing: the company signer(s) first, then the client(s).
    Send {
        /// The PDF.
        #[arg(long)]
        pdf: PathBuf,
        /// The document's title.
        #[arg(long)]
        title: String,
        /// A company signer, "Name:email-or-phone" (repeatable; signs first).
        #[arg(long = "signer", required = true)]
        signers: Vec<String>,
        /// A client, "Name:email-or-phone" (repeatable; signs after the company).
        #[arg(long = "client")]
        clients: Vec<String>,
        /// A viewer who follows without signing, "Name:email-or-phone".
        #[arg(long = "viewer")]
        viewers: Vec<String>,
        /// Fields as JSON (default: a signature block per party on the last page).
        #[arg(long)]
        fields: Option<PathBuf>,
        /// Company signers sign without a stamp.
        #[arg(long)]
        no_stamp: bool,
        /// The verifier address printed in the certificate's QR code.
        #[arg(long)]
        verifier: Option<String>,
        /// Where to write the invitation QR codes (PNG and SVG).
        #[arg(long, default_value = "countersign-invites")]
        qr_dir: PathBuf,
        /// Parties invited by phone must also give a 6-digit code texted to them.
        #[arg(long)]
        confirm_by_code: bool,
        /// Send every invitation now, so that later signers can read the
        /// document first (by default each is invited when their turn comes).
        #[arg(long)]
        invite_all_now: bool,
    },
    /// Joins an envelope with an invitation link.
    Join {
        /// The countersign://join/… link (or the web link with the same payload).
        link: String,
        /// The 6-digit code texted to you, when the sender asked for one.
        #[arg(long)]
        code: Option<String>,
        /// Your email, where the sender's node sends the final PDF.
        #[arg(long)]
        email: Option<String>,
    },
    /// Fills your fields and signs.
    Sign {
        /// The envelope id.
        envelope: String,
        /// Your signature image (PNG or JPEG).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// The stamp image (PNG or JPEG).
        #[arg(long)]
        stamp: Option<PathBuf>,
        /// A field value, "Label=value" (repeatable).
        #[arg(long = "set")]
        values: Vec<String>,
    },
    /// Follows an envelope: prints its state now and again each time it
    /// changes, until it is completed (its final PDF ready), declined or voided.
    Watch {
        /// The envelope id.
        envelope: String,
        /// One JSON summary per line (the `status --json` shape).
        #[arg(long)]
        json: bool,
    },
    /// Declines to sign, with a reason.
    Decline {
        /// The envelope id.
        envelope: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Withdraws an envelope you sent, with a reason everyone sees (not once
    /// everyone has signed).
    Void {
        /// The envelope id.
        envelope: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reminds whoever must act now (by email or SMS, as notify.toml says).
    Remind {
        /// The envelope id.
        envelope: String,
    },
    /// The pipeline: every envelope, its stage, who must act next.
    List {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// One envelope in detail.
    Status {
        /// The envelope id.
        envelope: String,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes the final PDF.
    Export {
        /// The envelope id.
        envelope: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// The organization's certificate authority, which certifies the keys of
    /// the people who sign for the company (by default each key certifies itself).
    #[command(subcommand)]
    Authority(AuthorityCommand),
    /// Runs a public relay node (circuit relay v2) for parties behind NAT.
    Relay {
        /// Address to listen on (repeatable): TCP for nodes, WebSocket
        /// (`…/ws`) for browsers.
        #[arg(long, default_values = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/tcp/4002/ws"])]
        listen: Vec<Multiaddr>,
    },
}

/// What to do with the organization's certificate authority.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Creates the company's CA in this data dir; its certificate.pem is what
    /// clients and PDF tools trust once for every company signer.
    Create {
        /// The company's name, as certificates show it.
        #[arg(long)]
        organization: String,
    },
    /// Uses the CA of another data dir (copied to this machine) on this node too.
    Import {
        /// The other data dir, or its `authority` folder.
        #[arg(long)]
        from: PathBuf,
    },
}

/// What is escaped in a link carried in a URL's fragment (`#` above all, which
/// a web invitation link holds itself).
const FRAGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`').add(b'#').add(b'%');

/// Runs a command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let data = DataDir::resolve(cli.data_dir)?;
    let Some(command) = cli.command else { return start(data).await };
    match command {
        Command::Init { name, email, phone } => init(&data, name, email.or(phone)),
        Command::Serve { listen, relay, no_mdns, test_tools, invite_ttl_secs, open } => {
            let invite_ttl = invite_ttl_secs.map(Duration::from_secs);
            serve::serve(data, crate::running::NodeOptions { listen, relay, mdns: !no_mdns, test_tools, invite_ttl }, open).await
        }
        Command::Relay { listen } => serve::relay(listen, None).await,
        Command::Authority(command) => {
            let pem = match command {
                AuthorityCommand::Create { organization } => crate::authority::create(&data, &organization)?,
                AuthorityCommand::Import { from } => crate::authority::import(&data, &from)?,
            };
            println!("This node's certificates are now issued by the company's CA.");
            println!("Give {} to clients and PDF tools as the trust root for the company's signatures.", pem.display());
            println!("A running node uses it after a restart.");
            Ok(())
        }
        command => tokio::task::spawn_blocking(move || client_command(&data, command)).await?,
    }
}

/// `countersign` alone: opens the app of the node running on `data`, or
/// starts that node (with its defaults) and opens its app.
async fn start(data: DataDir) -> anyhow::Result<()> {
    let opened = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || client_command(&data, Command::App { open: true })).await?
    };
    match opened {
        Ok(()) => Ok(()),
        Err(e)
            if e.downcast_ref::<crate::client::ClientError>().is_some_and(|e| matches!(e, crate::client::ClientError::NotRunning(_))) =>
        {
            let options = crate::running::NodeOptions { listen: vec![ANY_PORT.parse()?], relay: None, mdns: true, ..Default::default() };
            serve::serve(data, options, true).await
        }
        Err(e) => Err(e),
    }
}

/// Where a node started without options listens: every interface, a free port.
const ANY_PORT: &str = "/ip4/0.0.0.0/tcp/0";

fn init(data: &DataDir, name: String, contact: Option<String>) -> anyhow::Result<()> {
    if name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    if let Some(contact) = &contact {
        Contact::parse(contact).map_err(anyhow::Error::msg)?;
    }
    let key = data.init(&Profile { name: name.trim().to_owned(), contact }, random_secret())?;
    println!("Created the identity of {} in {}", name.trim(), data.root().display());
    println!("key fingerprint {}", key.public().fingerprint());
    println!("Next: countersign --data-dir {} serve", data.root().display());
    Ok(())
}

fn client_command(data: &DataDir, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Send { pdf, title, signers, clients, viewers, fields, no_stamp, verifier, qr_dir, confirm_by_code, invite_all_now } => {
            let bytes = read_file(&pdf)?;
            let mut parties = Vec::new();
            for (list, role) in [(&signers, Role::CompanySigner), (&clients, Role::Client), (&viewers, Role::Viewer)] {
                for text in list {
                    let (name, contact) = text.rsplit_once(':').with_context(|| format!("'{text}' should be \"Name:email-or-phone\""))?;
                    Contact::parse(contact).map_err(anyhow::Error::msg)?;
                    let stamp_required = Some(role == Role::CompanySigner && !no_stamp);
                    parties.push(PartyInput {
                        name: name.trim().into(),
                        role,
                        contact: contact.trim().into(),
                        order: None,
                        stamp_required,
                    });
                }
            }
            let fields: Option<Vec<FieldInput>> = match fields {
                Some(path) => Some(
                    serde_json::from_slice(&read_file(&path)?).with_context(|| format!("{} is not a valid fields file", path.display()))?,
                ),
                None => None,
            };
            let client = Client::connect(data)?;
            let prepared: PreparedDocument =
                client.post_bytes("/api/v1/documents", &bytes).with_context(|| format!("{} cannot be sent", pdf.display()))?;
            if !prepared.removed.is_empty() {
                println!("Prepared for signing; removed: {}.", prepared.removed.join("; "));
            }
            let document: countersign_shared::Hash =
                prepared.hash.parse().map_err(|_| anyhow::anyhow!("the node answered a malformed document hash"))?;
            let request =
                CreateRequest { title, document, parties, fields, verifier_url: verifier, confirm_by_code, invite_all_now, placed: None };
            let created: Created = client.post("/api/v1/envelopes", &request)?;
            println!("Envelope {}", created.envelope);
            std::fs::create_dir_all(&qr_dir).with_context(|| format!("cannot create {}", qr_dir.display()))?;
            for invite in &created.invites {
                println!("\nInvitation for {} ({}):\n{}", invite.name, invite.contact, invite.link);
                let stem = qr_dir.join(format!("{}-{}", &created.envelope[..8], invite.slot + 1));
                let png = qr::png(&invite.link, 4)?;
                write_atomic(&stem.with_extension("png"), &png, false)?;
                write_atomic(&stem.with_extension("svg"), qr::svg(&invite.link)?.as_bytes(), false)?;
                println!("{}", qr::terminal(&invite.link)?);
                println!("QR code: {} (and .svg)", stem.with_extension("png").display());
            }
            Ok(())
        }
        Command::Info => {
            let info = node_info(data)?;
            println!("{} — peer id {}", info.name, info.peer_id);
            println!("key fingerprint {}", info.fingerprint);
            for address in &info.addresses {
                println!("listening {address}");
            }
            if let Some(warning) = &info.clock_warning {
                println!("warning: {warning}");
            }
            Ok(())
        }
        Command::Join { link, code, email } => {
            InvitationLink::parse(&link).map_err(|e| anyhow::anyhow!("this is not a valid invitation link: {e}"))?;
            if let Some(code) = &code {
                crate::api::parse_code(code).map_err(anyhow::Error::msg)?;
            }
            let client = Client::connect(data)?;
            let envelope: String = client.post("/api/v1/join", &JoinRequest { link, code, email })?;
            println!("Joined envelope {envelope}");
            wait_for_blobs(&client, &envelope)?;
            let summary: Summary = client.get(&format!("/api/v1/envelopes/{envelope}"))?;
            print_summary(&summary);
            Ok(())
        }
        Command::Sign { envelope, signature, stamp, values } => {
            let client = Client::connect(data)?;
            let signature = signature.map(|p| read_file(&p).and_then(|b| upload(&client, &b, &p))).transpose()?;
            let stamp = stamp.map(|p| read_file(&p).and_then(|b| upload(&client, &b, &p))).transpose()?;
            let mut texts = Vec::new();
            for value in values {
                let (label, text) = value.split_once('=').with_context(|| format!("'{value}' should be \"Label=value\""))?;
                texts.push((label.trim().to_owned(), text.trim().to_owned()));
            }
            let entry: String = client.post(&format!("/api/v1/envelopes/{envelope}/sign"), &SignRequest { signature, stamp, texts })?;
            println!("Signed (entry {}).", &entry[..16]);
            let summary: Summary = client.get(&format!("/api/v1/envelopes/{envelope}"))?;
            print_summary(&summary);
            Ok(())
        }
        Command::Decline { envelope, reason } => {
            let client = Client::connect(data)?;
            let _: String = client.post(&format!("/api/v1/envelopes/{envelope}/decline"), &DeclineRequest { reason })?;
            println!("Declined.");
            Ok(())
        }
        Command::Void { envelope, reason } => {
            let client = Client::connect(data)?;
            let _: String = client.post(&format!("/api/v1/envelopes/{envelope}/void"), &DeclineRequest { reason })?;
            println!("Voided: nobody can sign it any more.");
            Ok(())
        }
        Command::Remind { envelope } => {
            let client = Client::connect(data)?;
            let reminded: usize = client.post(&format!("/api/v1/envelopes/{envelope}/remind"), &serde_json::json!({}))?;
            println!("Reminder queued for {reminded} {}.", if reminded == 1 { "person" } else { "people" });
            Ok(())
        }
        Command::List { json } => {
            let client = Client::connect(data)?;
            let list: Vec<ListItem> = client.get("/api/v1/envelopes")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                println!("No envelopes yet.");
            }
            for s in &list {
                let next = if s.next.is_empty() { "-".to_owned() } else { s.next.join(", ") };
                let mine = if s.my_turn { "  ← your turn" } else { "" };
                let (signed, of) = s.signed;
                println!(
                    "{}  {:<10}  {signed}/{of} signed  {:<32}  next: {next}{mine}",
                    &s.id[..12],
                    s.stage.name(),
                    truncate(&s.title, 32)
                );
            }
            Ok(())
        }
        Command::Status { envelope, json } => {
            let client = Client::connect(data)?;
            let summary: Summary = client.get(&format!("/api/v1/envelopes/{envelope}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
            Ok(())
        }
        Command::Watch { envelope, json } => {
            let client = Client::connect(data)?;
            let mut seen: Option<String> = None;
            loop {
                let Some((summary, tag)) = client.status_after(&envelope, seen.as_deref(), WATCH_WAIT)? else { continue };
                if json {
                    println!("{}", serde_json::to_string(&summary)?);
                } else {
                    println!("{}", watch_line(&summary));
                }
                std::io::stdout().flush()?;
                if summary.stage.has_ended() && summary.missing_blobs.is_empty() {
                    return Ok(());
                }
                seen = Some(tag);
            }
        }
        Command::Export { envelope, out } => {
            let client = Client::connect(data)?;
            let pdf = client.get_bytes(&format!("/api/v1/envelopes/{envelope}/final.pdf"))?;
            write_atomic(&out, &pdf, false)?;
            println!("Wrote {} ({} bytes, BLAKE3 {})", out.display(), pdf.len(), countersign_shared::Hash::of(&pdf));
            Ok(())
        }
        Command::OpenLink { link, print } => {
            InvitationLink::parse(&link).map_err(|e| anyhow::anyhow!("this is not a valid invitation link: {e}"))?;
            let client = Client::connect(data)
                .map_err(|e| anyhow::anyhow!("{e}\nStart Countersign (countersign serve), then open the link again."))?;
            let login: crate::api::LoginLink = client.post("/api/v1/login", &serde_json::json!({}))?;
            // The link rides in the fragment: the browser keeps it across the
            // sign-in redirect and never sends it in a request.
            let url = format!("{}&next=join#{}", login.url, percent_encoding::utf8_percent_encode(link.trim(), FRAGMENT));
            if print {
                println!("{url}");
            } else {
                serve::open_in_browser(&url);
            }
            Ok(())
        }
        Command::RegisterLinks => {
            let exe = std::env::current_exe().context("cannot tell where this program is")?;
            let registered = crate::desktop::register(&exe, data.root())?;
            println!("countersign:// links open this node's app ({})", registered.file.display());
            if !registered.made_default {
                println!("(xdg-mime is not available: the desktop picks the handler up when its database is refreshed)");
            }
            Ok(())
        }
        Command::App { open } => {
            let client = Client::connect(data)?;
            let link: crate::api::LoginLink = client.post("/api/v1/login", &serde_json::json!({}))?;
            println!("{}", link.url);
            if open {
                serve::open_in_browser(&link.url);
            }
            Ok(())
        }
        Command::Init { .. } | Command::Serve { .. } | Command::Relay { .. } | Command::Authority(_) => Ok(()),
    }
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[derive(Debug, Deserialize)]
struct Stored {
    hash: countersign_shared::Hash,
}

fn upload(client: &Client, bytes: &[u8], path: &Path) -> anyhow::Result<countersign_shared::Hash> {
    let stored: Stored = client.post_bytes("/api/v1/blobs", bytes).with_context(|| format!("cannot upload {}", path.display()))?;
    Ok(stored.hash)
}

/// Shows the document's download until every blob is here (or two minutes pass).
fn wait_for_blobs(client: &Client, envelope: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut shown = false;
    loop {
        let summary: Summary = client.get(&format!("/api/v1/envelopes/{envelope}"))?;
        if summary.missing_blobs.is_empty() {
            if shown {
                println!();
            }
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            println!();
            bail!("the document has not arrived yet; it keeps downloading while the node runs (see `countersign status {envelope}`)");
        }
        let transfers: Vec<Transfer> = client.get("/api/v1/transfers")?;
        if let Some(problem) = transfers.iter().filter(|t| t.envelope == envelope).find_map(|t| t.problem.as_deref()) {
            println!();
            bail!("the document cannot be stored on this computer: {problem}");
        }
        let (received, total) =
            transfers.iter().filter(|t| t.envelope == envelope).fold((0u64, 0u64), |(r, t), x| (r + x.received, t + x.total.unwrap_or(0)));
        if total > 0 {
            let mb = |b: u64| b as f64 / 1_048_576.0;
            print!(
                "\rReceiving the document: {:.1} of {:.1} MB ({:.0}%)   ",
                mb(received),
                mb(total),
                received as f64 * 100.0 / total as f64
            );
            let _ = std::io::stdout().flush();
            shown = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { format!("{}…", text.chars().take(max - 1).collect::<String>()) }
}

/// How long one long poll of `watch` waits before asking again.
const WATCH_WAIT: Duration = Duration::from_secs(25);

/// `watch`'s line for one state: when, the stage, and who is waited on.
fn watch_line(s: &Summary) -> String {
    let now = crate::clock::local(crate::clock::now_ms());
    let stage = match s.stage {
        Stage::Awaiting => format!("waiting for {}", s.next.join(", ")),
        other => other.name().to_owned(),
    };
    let receiving = if s.missing_blobs.is_empty() { String::new() } else { format!(" · receiving {} file(s)", s.missing_blobs.len()) };
    format!("{now}  {}: {stage}{}{receiving}", s.title, if s.my_turn { " — your turn" } else { "" })
}

fn print_summary(s: &Summary) {
    println!("{}  ({})", s.title, s.id);
    let stage = match s.stage {
        Stage::Awaiting => format!("waiting for {}", s.next.join(", ")),
        other => other.name().to_owned(),
    };
    println!("stage: {stage}{}", if s.my_turn { " — your turn" } else { "" });
    for p in &s.parties {
        let state = match (&p.signed_at, p.joined) {
            (Some(at), _) => format!("signed {at}"),
            (None, true) => "joined".to_owned(),
            (None, false) => "invited".to_owned(),
        };
        let me = if p.is_me { " (you)" } else { "" };
        println!("  {}. {}{me}, {}, {}: {state}", p.order, p.name, p.role.label(), p.contact);
    }
    for reason in &s.rejected {
        println!("  rejected: {reason}");
    }
    if !s.missing_blobs.is_empty() {
        println!("  still receiving {} file(s)", s.missing_blobs.len());
    }
    for message in &s.undelivered {
        let why = message.last_error.as_deref().unwrap_or("not tried yet");
        let next = if message.gave_up { "refused for good: fix the address and send again" } else { "retrying" };
        println!("  undelivered {:?} to {} ({} attempts; {why}); {next}", message.kind, message.to, message.attempts);
    }
}

/// The node's identity, for tests and scripts.
pub fn node_info(data: &DataDir) -> anyhow::Result<NodeInfo> {
    Ok(Client::connect(data)?.get("/api/v1/node")?)
}
