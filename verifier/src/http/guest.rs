//! The guest signer: `GET /sign` (its page) and `GET /guest/{file}` (the
//! files `guest/web` builds: the script, PDF.js's worker and what it loads on
//! demand, and the guest's core in WebAssembly). The verifier is a neutral public site: it serves
//! these files, nothing more. The invitation stays in the address's fragment,
//! the document travels between the browser and the sender's node through the
//! relay, and the key is made in the browser.
//!
//! The page runs under a strict Content-Security-Policy: scripts only from
//! here (and WebAssembly), connections only here and to the relay, nothing
//! framed, no form sent anywhere. The script carries its SHA-384 integrity
//! hash, and the page hands the core's to the script, which fetches it with it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::http::AppState;

/// The files of the guest's page, read once at start.
#[derive(Debug, Clone)]
pub struct GuestFiles {
    files: Arc<BTreeMap<String, GuestFile>>,
    relay: String,
    relay_origin: String,
}

#[derive(Debug)]
struct GuestFile {
    bytes: Vec<u8>,
    integrity: String,
}

/// The files every build holds (besides what PDF.js loads on demand, under `pdfjs/`).
const REQUIRED: [&str; 3] = ["guest.js", "pdf.worker.min.mjs", "countersign_guest.wasm"];
/// The most files a build may list.
const MAX_FILES: usize = 1024;

/// What a file is served as, by its name.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

impl GuestFiles {
    /// Reads the build in `dir` (its `manifest.json` names each file's
    /// integrity hash); guests reach nodes through `relay`, a WebSocket
    /// multiaddress (`/ip4/…/tcp/…/ws/p2p/…` or `/dns4/…/tcp/443/wss/p2p/…`).
    pub fn load(dir: &Path, relay: &str) -> anyhow::Result<Self> {
        let relay_origin = websocket_origin(relay)
            .ok_or_else(|| anyhow::anyhow!("the guest relay {relay} is not a WebSocket address (…/tcp/<port>/ws/p2p/<id>)"))?;
        let manifest = std::fs::read(dir.join("manifest.json"))
            .map_err(|e| anyhow::anyhow!("{} holds no guest build ({e}): run scripts/build-guest", dir.display()))?;
        let manifest: BTreeMap<String, String> = serde_json::from_slice(&manifest)?;
        if let Some(missing) = REQUIRED.iter().find(|name| !manifest.contains_key(**name)) {
            anyhow::bail!("the guest build's manifest does not name {missing}");
        }
        if manifest.len() > MAX_FILES {
            anyhow::bail!("the guest build's manifest names {} files, more than {MAX_FILES}", manifest.len());
        }
        let mut files = BTreeMap::new();
        for (name, integrity) in manifest {
            // Names are relative paths inside the build, read once here; a
            // request can only ever name one of them (a map lookup).
            if name.split('/').any(|part| part.is_empty() || part == "." || part == "..") || name.contains('\\') {
                anyhow::bail!("the guest build's manifest names {name:?}, which is not a file inside it");
            }
            let bytes = std::fs::read(dir.join(&name)).map_err(|e| anyhow::anyhow!("{}: {e}", dir.join(&name).display()))?;
            files.insert(name, GuestFile { bytes, integrity });
        }
        Ok(GuestFiles { files: Arc::new(files), relay: relay.to_owned(), relay_origin })
    }

    fn integrity(&self, name: &str) -> &str {
        self.files.get(name).map_or("", |f| f.integrity.as_str())
    }

    fn policy(&self) -> String {
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' {}; \
             img-src 'self' blob:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            self.relay_origin
        )
    }
}

/// `ws://host:port` (or `wss://`) of a WebSocket multiaddress.
fn websocket_origin(relay: &str) -> Option<String> {
    let parts: Vec<&str> = relay.split('/').collect();
    let host = parts.windows(2).find_map(|w| match w[0] {
        "ip4" | "dns" | "dns4" | "dns6" => Some(w[1].to_owned()),
        "ip6" => Some(format!("[{}]", w[1])),
        _ => None,
    })?;
    let port: u16 = parts.windows(2).find_map(|w| (w[0] == "tcp").then(|| w[1].parse().ok()).flatten())?;
    let scheme = if parts.contains(&"wss") || parts.windows(2).any(|w| w == ["tls", "ws"]) {
        "wss"
    } else if parts.contains(&"ws") {
        "ws"
    } else {
        return None;
    };
    let safe = host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    safe.then(|| format!("{scheme}://{host}:{port}"))
}

/// `GET /sign`: the guest signer's page.
pub(super) async fn page(State(state): State<AppState>) -> Response {
    let Some(guest) = &state.guest else {
        return (StatusCode::NOT_FOUND, "Signing in the browser is not set up on this verifier.").into_response();
    };
    let body = html! {
            body {
                main #guest data-relay=(guest.relay) data-wasm="/guest/countersign_guest.wasm"
                    data-wasm-integrity=(guest.integrity("countersign_guest.wasm")) data-worker="/guest/pdf.worker.min.mjs"
                    data-pdfjs="/guest/pdfjs/" {
                    p #state role="status" aria-live="polite" { "Opening your invitation…" }
                    h1 #title { "Sign a document" }
                    section #panel .card {}
                    section #pages aria-label="The document" {}
                    section #parties .card {}
                    p.note { "Your key is made in this browser and never leaves it. The document travels between you and the sender, not through " (state.public_url) "." }
                }
                noscript { p { "Signing in the browser needs JavaScript." } }
                script type="module" src="/guest/guest.js" integrity=(guest.integrity("guest.js")) crossorigin="anonymous" {}
            }
    };
    let page = super::page::document("Sign a document", &[STYLE], body);
    ([(header::CONTENT_SECURITY_POLICY, guest.policy()), (header::REFERRER_POLICY, "no-referrer".into())], page).into_response()
}

/// `GET /guest/{*file}`: a file the build's manifest lists, nothing else.
pub(super) async fn file(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let Some((guest, file)) = state.guest.as_ref().and_then(|guest| guest.files.get(&name).map(|file| (guest, file))) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A worker takes its policy from its own response: PDF.js's gets the page's.
    let headers = [
        (header::CONTENT_TYPE, content_type(&name).to_owned()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::CONTENT_SECURITY_POLICY, guest.policy()),
    ];
    (headers, file.bytes.clone()).into_response()
}

const STYLE: &str = r#"
:root { --ok: #0a7d32; --bad: #b3261e; --ink: #1b1f24; --muted: #5b6470; --line: #d9dee4; --accent: #2f6fde; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
main { max-width: 760px; margin: 0 auto; padding: 16px 12px 48px; }
h1 { font-size: 1.4rem; margin: 4px 0 8px; } h2 { font-size: 1.1rem; margin: 0 0 8px; }
#state { margin: 0; padding: 10px 12px; border-radius: 10px; background: #eef2f7; }
#state.ok { background: #e6f4ea; color: var(--ok); font-weight: 600; } #state.bad { background: #fce8e6; color: var(--bad); font-weight: 600; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 14px; margin-top: 12px; }
.card:empty { display: none; }
label { display: block; font-weight: 600; margin: 12px 0 4px; }
input[type=text], textarea, input:not([type]) , #code { width: 100%; font: inherit; padding: 10px; border: 1px solid #9aa5b1; border-radius: 8px; }
button, a.button { display: inline-block; font: inherit; font-weight: 600; border: 0; border-radius: 10px; padding: 12px 20px; background: var(--accent); color: #fff; text-decoration: none; margin-top: 12px; min-height: 44px; }
button:disabled { background: #9aa5b1; }
button.link { background: none; color: var(--accent); padding: 4px 0; min-height: 0; }
.pad canvas { width: 100%; aspect-ratio: 3 / 1; border: 1px dashed #9aa5b1; border-radius: 8px; touch-action: none; background: #fff; }
.tabs { display: flex; gap: 6px; } .tabs button { background: #eef2f7; color: var(--ink); padding: 8px 12px; margin: 0 0 6px; }
.tabs button[aria-selected=true] { background: var(--accent); color: #fff; }
#pages { margin-top: 12px; } .sheet { position: relative; margin: 0 auto 12px; box-shadow: 0 1px 4px rgba(0,0,0,.2); background: #fff; }
.sheet canvas { width: 100%; height: 100%; display: block; }
.field-box { position: absolute; border: 1px dashed #8a94a3; color: #5b6470; font-size: 9px; line-height: 1.1; padding: 1px 2px; overflow: hidden; border-radius: 3px; }
.field-box.mine { border: 2px solid var(--accent); background: rgba(47,111,222,.08); color: var(--accent); }
.verdict { border-radius: 12px; padding: 14px; color: #fff; font-weight: 600; } .verdict.valid { background: var(--ok); } .verdict.invalid { background: var(--bad); }
.bad { color: var(--bad); } .note { color: var(--muted); font-size: .9rem; }
ol.parties { margin: 0; padding-left: 20px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_websocket_relays_give_an_origin() {
        assert_eq!(websocket_origin("/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3KooW").as_deref(), Some("ws://127.0.0.1:4002"));
        assert_eq!(websocket_origin("/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW").as_deref(), Some("wss://relay.example.org:443"));
        assert_eq!(websocket_origin("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW"), None, "TCP is for nodes");
        assert_eq!(websocket_origin("/dns4/a'b;c/tcp/443/wss"), None, "nothing that could break the policy");
    }
}
