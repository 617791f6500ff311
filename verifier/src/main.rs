//! `countersign-verifier`: check a Countersign final PDF.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use countersign_verifier::check::{EXIT_UNREADABLE, check_bytes, exit_code, plain_text};

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
    },
}

/// Largest file `check` reads.
const MAX_FILE: u64 = 512 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file, json } => {
            let bytes = match read(&file) {
                Ok(bytes) => bytes,
                Err(message) => {
                    eprintln!("countersign-verifier: {message}");
                    return ExitCode::from(EXIT_UNREADABLE);
                }
            };
            let report = check_bytes(&bytes);
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("countersign-verifier: cannot write the report: {e}"),
                }
            } else {
                print!("{}", plain_text(&report));
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
