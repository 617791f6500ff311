//! The whole signing scenario: three real nodes talking libp2p over loopback.
//!
//! Anna (company staff) prepares a contract with fields and sends it; Dmitri,
//! the director, joins with his invitation link and signs with signature and
//! stamp; Carl, the client, joins with his link, fills in his details and
//! signs. Each node has its own data dir and key and runs in this process;
//! they exchange only signed entries (Automerge sync) and blobs (by hash).
//! The three final PDFs are compared byte for byte and verified.
//!
//! ```text
//! cargo run --release --example contract [-- --pdf my.pdf --out DIR]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use countersign_node::app::requests::{CreateRequest, FieldInput, PartyInput, SignRequest};
use countersign_node::datadir::{DataDir, Profile};
use countersign_node::envelopes::{Stage, Summary};
use countersign_node::party::random_secret;
use countersign_node::running::{NodeOptions, RunningNode};
use countersign_shared::EnvelopeId;
use countersign_shared::model::Role;
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

const WAIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let pdf = match &args.pdf {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => contract_pdf(2),
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let scratch = std::env::temp_dir().join(format!("countersign-contract-{}", std::process::id()));

    let [anna, dmitri, carl] = step("Three nodes start: Anna (sales), Dmitri (director), Carl (client)", async {
        let mut nodes = Vec::new();
        for (name, contact) in [("Anna Sales", "anna@acme.test"), ("Dmitri Director", "dmitri@acme.test"), ("Carl Client", "+15550100")] {
            let data = DataDir::resolve(Some(scratch.join(name.split(' ').next().unwrap_or(name).to_lowercase())))?;
            data.init(&Profile { name: name.into(), contact: Some(contact.into()) }, random_secret())?;
            let node = RunningNode::start(&data, NodeOptions::default()).await?;
            println!("   {name}: {}", node.info().await?.addresses.join(" "));
            nodes.push(node);
        }
        nodes.try_into().map_err(|_| anyhow::anyhow!("three nodes"))
    })
    .await?;

    let created = step("Anna prepares the contract (6 fields) and sends it: director first, then client", async {
        let document = anna.put_document(pdf.clone()).await.context("this PDF cannot be signed")?;
        if !document.removed.is_empty() {
            println!("   preparing removed: {}", document.removed.join("; "));
        }
        // The same preparing, here, gives the pages the fields are laid out on.
        let prepared = countersign_shared::source::prepare(&pdf)?;
        Ok(anna.create(contract_request(&prepared.bytes, document.hash.parse()?)).await?)
    })
    .await?;
    let envelope: EnvelopeId = created.envelope.parse()?;
    println!("   envelope {envelope}");
    for invite in &created.invites {
        println!("   invitation for {} ({}): {}…", invite.name, invite.contact, &invite.link[..72]);
    }

    step("Dmitri opens his link: his node fetches the envelope and the PDF from Anna's and joins", async {
        dmitri.join(created.invites[0].link.clone(), None).await?;
        Ok(dmitri.wait_for(envelope, WAIT, |s| s.missing_blobs.is_empty()).await?)
    })
    .await?;
    step("Carl opens his link from the SMS and joins", async {
        carl.join(created.invites[1].link.clone(), None).await?;
        Ok(carl.wait_for(envelope, WAIT, |s| s.missing_blobs.is_empty()).await?)
    })
    .await?;

    let carl_signature = carl.put_blob(signature_png(2)).await?;
    let carl_request = SignRequest {
        signature: Some(carl_signature),
        stamp: None,
        texts: vec![("Client name".into(), "Carl Client".into()), ("Client address".into(), "1 Main St, Springfield".into())],
    };
    step("Carl tries to sign before the director", async {
        match carl.sign(envelope, carl_request.clone()).await {
            Ok(_) => bail!("Carl's node let him sign first"),
            Err(refusal) => {
                println!("   {refusal}");
                Ok(())
            }
        }
    })
    .await?;

    let mut latency = Duration::ZERO;
    step("Dmitri signs with his signature and the company stamp", async {
        let signature = dmitri.put_blob(signature_png(1)).await?;
        let stamp = dmitri.put_blob(stamp_png()).await?;
        let signed_at = Instant::now();
        dmitri.sign(envelope, SignRequest { signature: Some(signature), stamp: Some(stamp), texts: vec![] }).await?;
        carl.wait_for(envelope, WAIT, |s| s.my_turn).await?;
        latency = signed_at.elapsed();
        println!("   Carl's node shows it is his turn {:.1} ms after Dmitri signed", latency.as_secs_f64() * 1000.0);
        Ok(())
    })
    .await?;
    step("Carl fills in his name and address and signs", async { Ok(carl.sign(envelope, carl_request).await?) }).await?;

    let finals = step("Every node has the final PDF", async {
        let complete = |s: &Summary| s.stage == Stage::Completed && s.missing_blobs.is_empty();
        let mut finals = Vec::new();
        for node in [&anna, &dmitri, &carl] {
            node.wait_for(envelope, WAIT, complete).await?;
            finals.push(node.final_pdf(envelope).await?);
        }
        Ok(finals)
    })
    .await?;
    if finals[0] != finals[1] || finals[0] != finals[2] {
        bail!("the three final PDFs differ");
    }
    println!("   byte-identical on all three nodes: {} bytes", finals[0].len());
    let final_path = args.out.join("final.pdf");
    std::fs::write(&final_path, &finals[0]).with_context(|| format!("cannot write {}", final_path.display()))?;
    std::fs::write(args.out.join("original.pdf"), &pdf).context("cannot write the original")?;

    let report = step("The verifier checks the final PDF", async { Ok(verify(&finals[0])) }).await?;
    println!("   verdict: {:?} — {}", report.verdict, report.summary);
    for party in &report.parties {
        let key = party.fingerprint.as_deref().unwrap_or("-");
        let time = party.claimed_time.as_deref().unwrap_or("-");
        println!("   {}. {} ({}), key {key}, signed {time}", party.position, party.name, party.role.label());
    }
    for signature in &report.pdf_signatures {
        let state = if signature.valid { "verifies" } else { "DOES NOT VERIFY" };
        let certificate = match (&signature.certificate_subject, &signature.certificate_issuer) {
            (Some(subject), Some(issuer)) if subject == issuer => "self-issued certificate".to_owned(),
            (_, Some(issuer)) => format!("certificate issued by {issuer}"),
            _ => "no valid certificate".to_owned(),
        };
        println!("   PDF signature {} ({}) by {}: {state}, {certificate}", signature.position, signature.field, signature.signer);
    }
    drop((anna, dmitri, carl));
    let _ = std::fs::remove_dir_all(&scratch);
    println!("\nWrote {} — check it: cargo run -p countersign-verifier -- check {}", final_path.display(), final_path.display());
    println!("Total {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    if report.verdict != Verdict::Valid {
        bail!("the final PDF did not verify");
    }
    Ok(())
}

/// The contract's parties and its fields on the first and last pages.
fn contract_request(pdf: &[u8], document: countersign_shared::Hash) -> CreateRequest {
    let terms = contract_terms(pdf);
    let names: Vec<String> = terms.parties.iter().map(|p| p.name.clone()).collect();
    let fields = terms
        .fields
        .iter()
        .map(|f| FieldInput {
            label: f.label.clone(),
            kind: f.kind,
            page: f.page,
            rect: f.rect,
            party: names[usize::from(f.assignee)].clone(),
            required: Some(f.required),
        })
        .collect();
    CreateRequest {
        title: terms.title,
        document,
        parties: vec![
            PartyInput {
                name: names[0].clone(),
                role: Role::CompanySigner,
                contact: "dmitri@acme.test".into(),
                order: Some(1),
                stamp_required: Some(true),
            },
            PartyInput {
                name: names[1].clone(),
                role: Role::Client,
                contact: "+15550100".into(),
                order: Some(2),
                stamp_required: Some(false),
            },
        ],
        fields: Some(fields),
        verifier_url: None,
        confirm_by_code: false,
        invite_all_now: false,
        placed: None,
    }
}

/// Runs one step, printing its name and how long it took.
async fn step<T>(name: &str, run: impl Future<Output = Result<T>>) -> Result<T> {
    let started = Instant::now();
    let result = run.await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(_) => println!("✓ {name} ({ms:.1} ms)"),
        Err(e) => println!("✗ {name} ({ms:.1} ms): {e:#}"),
    }
    result
}
