//! `countersign`: one party's node and its command line.

use clap::Parser as _;
use countersign_node::cli::{Cli, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_env("COUNTERSIGN_LOG").unwrap_or_else(|_| EnvFilter::new("warn,countersign_node=info"));
    // A log that cannot be written (a full disk) is lost, never a panic.
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false).init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("countersign: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
