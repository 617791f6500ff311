//! The node's layers point one way: the HTTP layer (`api`, `web`, and the
//! CLI that drives it) over the node's core (`running`, `party`, `envelopes`,
//! `templates`, `notify`, …) over the network (`net`) and storage
//! (`datadir`, `blobs`, `envelope_doc`) over `countersign-shared`. This
//! reads the sources and fails when a module below the HTTP layer names one
//! above it, or knows axum. (Email bodies are HTML too: `notify` may use
//! maud, as the web pages do.)

#![allow(clippy::expect_used)] // a test stops on a missing source file

use std::path::{Path, PathBuf};

/// The HTTP layer and the programs over it: everything else is below.
const ABOVE: [&str; 7] = ["api.rs", "api/", "web.rs", "web/", "cli.rs", "cli/", "client.rs"];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the node's sources") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_module_below_the_http_layer_names_one_above_it_or_knows_axum() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let below: Vec<(String, String)> = files
        .iter()
        .map(|path| (path.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/"), path))
        .filter(|(name, _)| name != "main.rs" && !ABOVE.iter().any(|above| name.starts_with(above)))
        .map(|(name, path)| (name, std::fs::read_to_string(path).expect("a source file")))
        .collect();
    assert!(below.iter().any(|(name, _)| name == "net/event_loop.rs"), "the sources were not found");
    let mut wrong = Vec::new();
    for (name, text) in &below {
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let upward =
                ["crate::api", "crate::web", "crate::cli", "crate::client", "axum::", "use axum"].iter().find(|n| code.contains(*n));
            if let Some(upward) = upward {
                wrong.push(format!("{name}:{}: {upward}", number + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "below the HTTP layer, yet naming it:\n{}", wrong.join("\n"));
}
