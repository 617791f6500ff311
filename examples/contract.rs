//! The whole signing scenario in one process.
//!
//! Anna (company staff) prepares a contract with fields and sends it; Dmitri,
//! the director, signs with signature and stamp; Carl, the client, fills in
//! his details and signs. The three are three identities that exchange only
//! signed entries and blobs, exactly as their nodes do over the network. Each
//! renders the final PDF, the three files are compared byte for byte, and the
//! result is verified.
//!
//! ```text
//! cargo run --release --example contract [-- --pdf my.pdf --out DIR]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use countersign_node::party::{Party, SignInput};
use countersign_shared::invite::Invitation;
use countersign_shared::test_utils::{contract_pdf, contract_terms, signature_png, stamp_png};
use countersign_shared::verify::{Verdict, verify};

/// Runs the whole signing scenario and writes the final PDF.
#[derive(Debug, Parser)]
struct Args {
    /// Your own PDF to sign (fields go on its first and last pages). Default: a bundled 2-page contract.
    #[arg(long)]
    pdf: Option<PathBuf>,
    /// Where to write the PDFs.
    #[arg(long, default_value = "contract-out")]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let pdf = match &args.pdf {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => contract_pdf(2),
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut anna = Party::generate("Anna Sales");
    let mut dmitri = Party::generate("Dmitri Director");
    let mut carl = Party::generate("Carl Client");

    let (envelope, invitations) =
        step("Anna prepares the contract: 6 fields, director then client, and sends it", || Ok(anna.create(&pdf, contract_terms(&pdf))?))?;
    println!("   envelope {envelope}");
    let links: Vec<String> = invitations.iter().map(Invitation::to_link).collect();
    println!("   invite for Dmitri: {}", links[0]);
    println!("   invite for Carl:   {}", links[1]);

    step("Dmitri opens his invitation link and joins", || {
        dmitri.receive(&anna.packet(envelope)?)?;
        dmitri.join(&Invitation::parse(&links[0])?)?;
        anna.receive(&dmitri.packet(envelope)?)?;
        Ok(())
    })?;
    step("Carl opens his link from the SMS and joins", || {
        carl.receive(&anna.packet(envelope)?)?;
        carl.join(&Invitation::parse(&links[1])?)?;
        anna.receive(&carl.packet(envelope)?)?;
        dmitri.receive(&anna.packet(envelope)?)?;
        Ok(())
    })?;

    let carl_input = SignInput {
        texts: vec![("Client name".into(), "Carl Client".into()), ("Client address".into(), "1 Main St, Springfield".into())],
        images: vec![("Client signature".into(), signature_png(2))],
    };
    step("Carl tries to sign before the director", || match carl.sign(envelope, &carl_input) {
        Ok(_) => bail!("Carl's node let him sign first"),
        Err(refusal) => {
            println!("   {refusal}");
            Ok(())
        }
    })?;

    step("Dmitri signs with his signature and the company stamp", || {
        let input = SignInput {
            texts: vec![],
            images: vec![("Company signature".into(), signature_png(1)), ("Company stamp".into(), stamp_png())],
        };
        dmitri.sign(envelope, &input)?;
        let packet = dmitri.packet(envelope)?;
        anna.receive(&packet)?;
        carl.receive(&packet)?;
        Ok(())
    })?;
    step("Carl fills in his name and address and signs", || {
        carl.sign(envelope, &carl_input)?;
        let packet = carl.packet(envelope)?;
        anna.receive(&packet)?;
        dmitri.receive(&packet)?;
        Ok(())
    })?;

    let finals = step("Each party renders the final PDF", || {
        Ok([anna.final_pdf(envelope)?, dmitri.final_pdf(envelope)?, carl.final_pdf(envelope)?])
    })?;
    if finals[0] != finals[1] || finals[0] != finals[2] {
        bail!("the three final PDFs differ");
    }
    println!("   byte-identical on all three nodes: {} bytes", finals[0].len());
    let final_path = args.out.join("final.pdf");
    std::fs::write(&final_path, &finals[0]).with_context(|| format!("cannot write {}", final_path.display()))?;
    std::fs::write(args.out.join("original.pdf"), &pdf).context("cannot write the original")?;

    let report = step("The verifier checks the final PDF", || Ok(verify(&finals[0])))?;
    println!("   verdict: {:?} — {}", report.verdict, report.summary);
    for party in &report.parties {
        println!(
            "   {}. {} ({}), key {}, signed {}",
            party.position,
            party.name,
            party.role.label(),
            party.fingerprint.as_deref().unwrap_or("-"),
            party.claimed_time.as_deref().unwrap_or("-")
        );
    }
    println!("\nWrote {} (check it: cargo run -p countersign-verifier -- check {})", final_path.display(), final_path.display());
    println!("Total {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    if report.verdict != Verdict::Valid {
        bail!("the final PDF did not verify");
    }
    Ok(())
}

/// Runs one step, printing its name and how long it took.
fn step<T>(name: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    let result = run();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(_) => println!("✓ {name} ({ms:.1} ms)"),
        Err(e) => println!("✗ {name} ({ms:.1} ms): {e:#}"),
    }
    result
}
