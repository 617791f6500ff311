//! `countersign-verifier`: check a Countersign final PDF.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use countersign_verifier::check::{EXIT_UNREADABLE, check_bytes, exit_code, plain_text};
use countersign_verifier::config::{Config, read_trusted_roots};
use countersign_verifier::http::{AppState, app_with};

// Verification allocates many small objects on several threads at once;
// mimalloc serves that faster than glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Checks Countersign documents.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a final PDF. Exits 0 when it is a complete, intact, correctly
    /// ordered signed document, 1 when it is not, 2 when it cannot be read.
    Check {
        /// The PDF to check.
        file: PathBuf,
        /// Prints the report as JSON.
        #[arg(long)]
        json: bool,
        /// A PEM file of a certificate authority you trust (repeatable):
        /// signers it certified are shown as vouched for.
        #[arg(long = "trust", value_name = "PEM")]
        trust: Vec<PathBuf>,
    },
    /// Serves the verifier's page and API until ctrl-c.
    Serve {
        /// Address to serve on (overrides the config file).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// A TOML config file (listen, upload_limit_mb, upload_memory_mb, per_client, request_timeout_secs, check_timeout_ms, public_url, trusted_roots, guest_dir, guest_relay).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Largest upload in MB (overrides the config file).
        #[arg(long)]
        upload_limit_mb: Option<usize>,
        /// The service's public address (overrides the config file).
        #[arg(long)]
        public_url: Option<String>,
        /// A PEM file of a certificate authority to vouch for (repeatable; adds to the config file's).
        #[arg(long = "trusted-root", value_name = "PEM")]
        trusted_roots: Vec<PathBuf>,
        /// The guest signer's build to serve at /sign (scripts/build-guest makes guest/web/dist).
        #[arg(long)]
        guest_dir: Option<PathBuf>,
        /// The relay guests reach nodes through: a WebSocket multiaddress.
        #[arg(long)]
        guest_relay: Option<String>,
    },
}

/// Largest file `check` reads.
const MAX_FILE: u64 = 512 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { listen, config, upload_limit_mb, public_url, trusted_roots, guest_dir, guest_relay } => {
            let config = match config.map(|path| Config::load(&path)).transpose() {
                Ok(config) => config.unwrap_or_default(),
                Err(e) => {
                    eprintln!("countersign-verifier: {e}");
                    return ExitCode::from(EXIT_UNREADABLE);
                }
            };
            let config = Config {
                listen: listen.unwrap_or(config.listen),
                upload_limit_mb: upload_limit_mb.unwrap_or(config.upload_limit_mb),
                public_url: public_url.unwrap_or(config.public_url),
                trusted_roots: config.trusted_roots.iter().cloned().chain(trusted_roots).collect(),
                guest_dir: guest_dir.or(config.guest_dir),
                guest_relay: guest_relay.or(config.guest_relay),
                ..config
            };
            match serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("countersign-verifier: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { file, json, trust } => {
            let trusted = match read_trusted_roots(&trust) {
                Ok(trusted) => trusted,
                Err(e) => {
                    eprintln!("countersign-verifier: {e:#}");
                    return ExitCode::from(EXIT_UNREADABLE);
                }
            };
            let bytes = match read(&file) {
                Ok(bytes) => bytes,
                Err(message) => {
                    eprintln!("countersign-verifier: {message}");
                    return ExitCode::from(EXIT_UNREADABLE);
                }
            };
            let report = check_bytes(&bytes, &trusted);
            let text = if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => text + "\n",
                    Err(e) => {
                        eprintln!("countersign-verifier: cannot write the report: {e}");
                        return ExitCode::from(EXIT_UNREADABLE);
                    }
                }
            } else {
                plain_text(&report, now_ms())
            };
            // A reader that stops early (`| head -1`) closes the pipe: that is
            // not an error, and the exit code still says the verdict.
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => eprintln!("countersign-verifier: cannot write the report: {e}"),
            }
            ExitCode::from(exit_code(&report))
        }
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?.len();
    if size > MAX_FILE {
        return Err(format!("{shown} is {} MB; files over {} MB are not checked", size >> 20, MAX_FILE >> 20));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))
}

/// Runs the service until ctrl-c.
fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,countersign_verifier=info"))
        .log_internal_errors(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let trusted = config.trusted()?;
    let guest = config.guest()?;
    runtime.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(config.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        println!(
            "Countersign verifier on http://{} (uploads up to {} MB, kept nowhere; {} trusted root certificates)",
            listener.local_addr()?,
            config.upload_limit_mb,
            trusted.len()
        );
        if guest.is_some() {
            println!("Guest signers sign at /sign, reaching nodes through {}", config.guest_relay.as_deref().unwrap_or_default());
        }
        let app = app_with(AppState { guest, ..AppState::new(&config, trusted) });
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// This computer's clock, in Unix ms (a report flags signing times claimed
/// far ahead of it).
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
