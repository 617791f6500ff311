//! The node's layers point one way:
//!
//! ```text
//! http (api, web, cli, client, desktop) → app (app, handle, running, drafts, templates, notify, codes)
//!                                   → net (libp2p only)
//!                                   → store (envelopes, party, blobs, datadir, directory, settings, …) → countersign-shared
//! ```
//!
//! This reads the sources and fails when a module names a module of a layer
//! it may not use (`net` and `store` do not know each other), when anything
//! below the HTTP layer knows axum, or when anything but `net` and the code
//! that starts it knows libp2p. (Email bodies are HTML too: `notify` may use
//! maud, as the web pages do.)

#![allow(clippy::expect_used)] // a test stops on a missing source file

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Http,
    App,
    Net,
    Store,
}

impl Layer {
    /// The layers this one may name.
    fn may_use(self) -> &'static [Layer] {
        match self {
            Layer::Http => &[Layer::Http, Layer::App, Layer::Net, Layer::Store],
            Layer::App => &[Layer::App, Layer::Net, Layer::Store],
            Layer::Net => &[Layer::Net],
            Layer::Store => &[Layer::Store],
        }
    }
}

/// Every top-level module of the node and its layer.
const MODULES: [(&str, Layer); 28] = [
    ("main", Layer::Http),
    ("api", Layer::Http),
    ("web", Layer::Http),
    ("cli", Layer::Http),
    ("client", Layer::Http),
    ("desktop", Layer::Http),
    ("app", Layer::App),
    ("handle", Layer::App),
    ("running", Layer::App),
    ("drafts", Layer::App),
    ("templates", Layer::App),
    ("notify", Layer::App),
    ("codes", Layer::App),
    ("net", Layer::Net),
    ("error", Layer::Store),
    ("clock", Layer::Store),
    ("datadir", Layer::Store),
    ("blobs", Layer::Store),
    ("envelopes", Layer::Store),
    ("party", Layer::Store),
    ("documents", Layer::Store),
    ("authority", Layer::Store),
    ("fields", Layer::Store),
    ("qr", Layer::Store),
    ("directory", Layer::Store),
    ("settings", Layer::Store),
    ("NodeError", Layer::Store),
    ("lib", Layer::Store),
];

fn layer_of(module: &str) -> Option<Layer> {
    MODULES.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

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

/// The top-level modules `line` names as `crate::<module>` or in `crate::{…}`.
fn named_modules(line: &str) -> Vec<&str> {
    let mut named = Vec::new();
    for (at, found) in line.match_indices("crate::") {
        if line[..at].ends_with('$') || line[..at].ends_with("::") {
            continue;
        }
        let rest = &line[at + found.len()..];
        match rest.strip_prefix('{') {
            Some(group) => named.extend(top_level_items(group)),
            None => named.push(first_segment(rest)),
        }
    }
    named.retain(|name| !name.is_empty() && *name != "self");
    named
}

/// The first path segment of each item of a `{…}` group (up to its closing brace).
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(first_segment(group[start..at].trim_start()));
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(first_segment(group[start..at].trim_start()));
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(first_segment(group[start..].trim_start()));
    items
}

fn first_segment(path: &str) -> &str {
    let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(path.len());
    &path[..end]
}

#[test]
fn every_module_names_only_modules_of_the_layers_beneath_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(files.len() > 40, "the sources were not found");
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
        let module = name.split(['/', '.']).next().expect("a file name");
        let Some(layer) = layer_of(module) else {
            wrong.push(format!("{name}: a module in no layer (add it to MODULES)"));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("a source file");
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for named in named_modules(code) {
                match layer_of(named) {
                    Some(used) if layer.may_use().contains(&used) => {}
                    Some(used) => wrong.push(format!("{name}:{}: {layer:?} names crate::{named} ({used:?})", number + 1)),
                    None => wrong.push(format!("{name}:{}: crate::{named} is in no layer", number + 1)),
                }
            }
            let knows = |what: &str| code.contains(&format!("{what}::")) || code.starts_with(&format!("use {what}"));
            if layer != Layer::Http && knows("axum") {
                wrong.push(format!("{name}:{}: axum below the HTTP layer", number + 1));
            }
            let starts_network = matches!(module, "net" | "running" | "cli" | "main");
            if !starts_network && knows("libp2p") {
                wrong.push(format!("{name}:{}: libp2p outside the network layer", number + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "layers crossed:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_crossing() {
    assert_eq!(named_modules("use crate::web::layout; let x = crate::net::Tag(1);"), ["web", "net"]);
    assert_eq!(named_modules("use crate::{api, web::{a, b}, self};"), ["api", "web"]);
    assert!(!Layer::Store.may_use().contains(&Layer::App));
    assert!(!Layer::Net.may_use().contains(&Layer::Store));
}
