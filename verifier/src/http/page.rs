//! The pages people see: the verifier itself, the page a certificate's QR
//! code opens, and the landing page of invitation links. HTML from maud
//! (every value escaped) with a little JavaScript that calls the API;
//! nothing to build.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::http::AppState;

const STYLE: &str = r#"
:root { --ok: #0a7d32; --bad: #b3261e; --ink: #1b1f24; --muted: #5b6470; --line: #d9dee4; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
main { max-width: 760px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
.lead { color: var(--muted); margin: 0 0 20px; }
.drop { display: block; border: 2px dashed #9aa5b1; border-radius: 12px; background: #fff; padding: 32px 16px; text-align: center; cursor: pointer; }
.drop:focus-within, .drop.over { border-color: #2f6fde; background: #f0f5ff; }
.drop input { display: block; margin: 12px auto 0; }
.note { font-size: .9rem; color: var(--muted); margin-top: 8px; }
.verdict { margin-top: 24px; border-radius: 12px; padding: 16px 18px; color: #fff; font-weight: 600; font-size: 1.15rem; }
.verdict.valid { background: var(--ok); } .verdict.invalid { background: var(--bad); }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 14px 18px; margin-top: 14px; }
.party { border-top: 1px solid var(--line); padding: 10px 0; } .party:first-of-type { border-top: 0; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; word-break: break-all; }
ul.reasons { margin: 6px 0 0; padding-left: 20px; }
.bad { color: var(--bad); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 6px 0 0; } dt { color: var(--muted); }
"#;

const SCRIPT: &str = r#"
const input = document.getElementById('file');
const drop = document.getElementById('drop');
const out = document.getElementById('result');
const expected = document.body.dataset.envelope || '';
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function check(file) {
  out.innerHTML = '<p class="note" role="status">Checking ' + esc(file.name) + '…</p>';
  let body;
  try {
    const res = await fetch('/api/v1/verify', { method: 'POST', headers: { 'Content-Type': 'application/pdf' }, body: file });
    body = await res.json();
  } catch (e) { out.innerHTML = '<div class="verdict invalid" role="alert">The file could not be sent. Check your connection and try again.</div>'; return; }
  const report = body.report || (body.verdict ? body : null);
  const valid = report && report.verdict === 'valid';
  let html = '<div id="verdict" class="verdict ' + (valid ? 'valid' : 'invalid') + '" role="alert">' +
    (valid ? '✓ Valid: ' : '✗ Not valid: ') + esc(report ? report.summary : body.error) + '</div>';
  if (report && report.identity_summary) {
    html += '<section class="card" id="identity-summary"><strong>Who signed:</strong> ' + esc(report.identity_summary) + '</section>';
  }
  if (expected && report && report.envelope) {
    const same = report.envelope === expected;
    html += '<section class="card"><strong>' + (same && valid ? 'This is the document the code points to.' :
      same ? 'This file names the document the code points to, but it fails the check: do not rely on it.' :
      'This file is a different document from the one the code points to.') + '</strong></section>';
  }
  if (report && report.title) {
    html += '<section class="card"><h2>' + esc(report.title) + '</h2><dl><dt>Document hash</dt><dd class="mono">' + esc(report.document_hash) +
      '</dd><dt>Envelope</dt><dd class="mono">' + esc(report.envelope) + '</dd><dt>File hash</dt><dd class="mono">' + esc(report.file_hash) + '</dd></dl></section>';
    html += '<section class="card"><h2>Signers, in signing order</h2>';
    for (const p of report.parties) {
      const contact = p.contact.email || p.contact.phone || '';
      html += '<div class="party"><strong>' + p.position + '. ' + esc(p.name) + '</strong> — ' + esc(p.role.replace('_', ' ')) + ', ' + esc(contact) +
        '<dl><dt>Signed</dt><dd>' + (p.signed ? esc(p.claimed_time) + ' (time claimed by the signer)' +
          (p.claimed_time_ms > Date.now() + 86400000 ? ' — <strong>a time in the future: the signer’s clock was wrong</strong>' :
           p.claimed_time_backdated ? ' — <strong>a time before what the signature follows: this signer’s clock, or an earlier one’s, was wrong</strong>' : '') : 'not signed') + '</dd>' +
        '<dt>Key</dt><dd class="mono">' + esc(p.fingerprint || '—') + '</dd>';
      if (p.identity) {
        html += '<dt>Identity</dt><dd class="identity">' + (p.identity.trusted && p.identity.level === 'certificate' ? '<strong>Vouched for</strong>: ' : '') +
          esc(p.identity.description) + '</dd><dt>Root SHA-256</dt><dd class="mono">' + esc(p.identity.root_fingerprint) + '</dd>';
      }
      for (const v of p.values) html += '<dt>' + esc(v.label) + '</dt><dd>' + esc(v.value) + '</dd>';
      html += '</dl></div>';
    }
    html += '</section>';
    if (report.pdf_signatures && report.pdf_signatures.length) {
      html += '<section class="card"><h2>PDF signatures</h2><p class="note">Each signer\'s step also carries a standard PDF signature made with their own key, which PDF tools can check. Certificate names are claims: compare the root fingerprint with the certificate you trust.</p>';
      for (const s of report.pdf_signatures) {
        html += '<div class="party pdf-signature"><strong>' + s.position + '. ' + esc(s.signer) + '</strong> — ' +
          (s.valid ? 'verifies' : '<span class="bad">does not verify</span>') + (s.certification ? ', certifies the document' : '') +
          '<dl><dt>Certificate</dt><dd>' + (!s.certificate_subject ? 'no valid certificate' : s.certificate_subject === s.certificate_issuer ?
            esc(s.certificate_subject) + ', self-issued' : esc(s.certificate_subject) + ', issued by ' + esc(s.certificate_issuer)) + '</dd>' +
          '<dt>Root SHA-256</dt><dd class="mono">' + esc(s.certificate_root_fingerprint || '—') + '</dd>' +
          '<dt>Covers</dt><dd>bytes 0 to ' + s.covers_bytes + '</dd></dl></div>';
      }
      html += '</section>';
    }
  }
  const reasons = report ? report.reasons : [body.error];
  if (!valid && reasons.length) {
    html += '<section class="card"><h2>Why</h2><ul class="reasons">' + reasons.map(r => '<li>' + esc(r) + '</li>').join('') + '</ul></section>';
  }
  out.innerHTML = html;
}
input.addEventListener('change', () => input.files[0] && check(input.files[0]));
drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) check(e.dataTransfer.files[0]); });
"#;

/// The verifier's pages run only its own scripts, talk only to itself and
/// cannot be framed: the guest signer's keys live on this origin too.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An HTML document: its title, its style sheets (inline) and its body.
pub(super) fn document(title: &str, styles: &[&str], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                style { @for style in styles { (PreEscaped(style)) } }
            }
            (body)
        }
    }
}

/// A page: the title, what it is about, and the uploader if `uploader`.
fn page(title: &str, envelope: &str, intro: Markup, uploader: bool) -> Response {
    let body = html! {
            body data-envelope=(envelope) {
                main {
                    h1 { (title) }
                    (intro)
                    @if uploader {
                        label.drop #drop {
                            "Drop the signed PDF here, or choose it:"
                            input #file type="file" accept="application/pdf,.pdf" aria-describedby="privacy";
                        }
                        p.note #privacy { "The file is checked in memory and not kept: nothing is stored or logged." }
                        div #result aria-live="polite" {}
                    }
                }
                @if uploader {
                    script src="/assets/verify.js" {}
                }
            }
    };
    let page = document(title, &[STYLE], body);
    ([(header::CONTENT_SECURITY_POLICY, PAGE_POLICY), (header::REFERRER_POLICY, "no-referrer")], page).into_response()
}

/// `GET /assets/verify.js`: sends the chosen PDF to the API and shows the report.
pub(super) async fn verify_script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SCRIPT)
}

/// `GET /`: drop a PDF, see the verdict.
pub(super) async fn home() -> Response {
    let intro = html! {
        p.lead { "Find out whether a PDF is a complete Countersign document, unchanged since it was signed, in which order it was signed, and how each signer's identity is known." }
    };
    page("Check a signed document", "", intro, true)
}

/// `GET /e/{id}`: where a certificate's QR code leads.
pub(super) async fn envelope(Path(id): Path<String>) -> Response {
    let valid = id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit());
    let id = if valid { id.to_ascii_lowercase() } else { String::new() };
    let intro = html! {
        @if valid {
            p.lead {
                "You are about to check the document with envelope id " span.mono { (id) }
                ". Upload the PDF you received to see whether it is that document, complete and unchanged."
            }
        } @else {
            p.lead { "This link does not name a valid document. You can still check any signed PDF below." }
        }
    };
    page("Check this document", &id, intro, true)
}

/// `GET /join`: where invitation links lead. The invitation sits in the
/// address's fragment, which the browser never sends here; `join.js` reads
/// it and hands it to the installed app (`countersign://join/…`). The page
/// carries a strict Content-Security-Policy ([`JOIN_POLICY`]).
pub(super) async fn join(State(state): State<AppState>) -> impl IntoResponse {
    let intro = html! {
        p.lead { "You have been invited to sign a document with Countersign. The document travels only between the signers' own devices: it never passes through this website." }
        p.bad #no-invitation hidden { "This address holds no invitation. Open the link exactly as you received it, or ask the sender to send it again." }
        @if state.guest.is_some() {
            section.card #in-browser {
                h2 { "Sign here, in this browser" }
                p { "Nothing to install. A key is made for you in this browser and never leaves it." }
                p { a.button #sign-here href="/sign" { "Sign in this browser" } }
            }
        }
        section.card #with-app {
            h2 { "Open it in the Countersign app" }
            p { "If Countersign runs on this device, it opens your invitation on its join page." }
            p { a.button #open-app href="#" { "Open in the Countersign app" } }
        }
        section.card #without-app {
            h2 { "No Countersign app on this device?" }
            @if state.guest.is_some() {
                p { "Sign in this browser above, or install Countersign on your computer and open this same link there (or paste it into the app's Join page)." }
            } @else {
                p { "Install Countersign on your computer, start it, and open this same link there (or paste it into the app's Join page)." }
            }
            label for="invitation" { "Your invitation link" }
            input.mono #invitation type="text" readonly value="";
        }
        p.note { "Your invitation stays on this device: the part after # in the address is never sent to " (state.public_url) "." }
    };
    let body = html! {
        body {
            main { h1 { "You are invited to sign" } (intro) }
            script src="/assets/join.js" {}
        }
    };
    let page = document("You are invited to sign", &[STYLE, JOIN_STYLE], body);
    ([(header::CONTENT_SECURITY_POLICY, JOIN_POLICY), (header::REFERRER_POLICY, "no-referrer")], page)
}

/// The join page may run only the verifier's own script, send nothing
/// anywhere, and not be framed.
const JOIN_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JOIN_STYLE: &str = r#"
a.button { display: inline-block; background: #2f6fde; color: #fff; border-radius: 10px; padding: 12px 20px; font-weight: 600; text-decoration: none; }
a.button[aria-disabled="true"] { background: #9aa5b1; pointer-events: none; }
#invitation { width: 100%; padding: 8px; border: 1px solid var(--line); border-radius: 8px; margin-top: 4px; }
"#;

/// `GET /assets/join.js`: reads the invitation from the fragment.
pub(super) async fn join_script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], JOIN_SCRIPT)
}

const JOIN_SCRIPT: &str = r#""use strict";
// The invitation is the fragment: base64url, nothing else.
(function () {
  const payload = location.hash.slice(1);
  const open = document.getElementById("open-app");
  const shown = document.getElementById("invitation");
  if (!/^[A-Za-z0-9_-]{40,8192}$/.test(payload)) {
    document.getElementById("no-invitation").hidden = false;
    open.setAttribute("aria-disabled", "true");
    return;
  }
  open.href = "countersign://join/" + payload;
  const here = document.getElementById("sign-here");
  if (here) here.href = "/sign#" + payload;
  shown.value = location.href;
  shown.addEventListener("focus", () => shown.select());
})();
"#;
