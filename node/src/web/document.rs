//! `/app/e/{id}`: one document. Everyone sees who signs in what order, the
//! timeline of the log, the downloads and, once complete, the verification
//! of the final PDF. The sender also sees the invitations (link, QR code,
//! ready-made email and SMS). When it is my turn, the page becomes the
//! signing page: my fields highlighted on the pages, a list that walks me
//! through them, a signature drawn, typed or uploaded, a review, then sign;
//! or decline with a reason.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use countersign_shared::model::FieldKind;
use countersign_shared::render;
use countersign_shared::source::PageGeometry;
use countersign_shared::state::Status;
use countersign_shared::verify::Verdict;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::NodeError;
use crate::api::error::ApiError;
use crate::api::{AppState, envelope_id};
use crate::app::requests::{InviteOut, SignRequest};
use crate::envelopes::{FieldSummary, Stage, Summary};
use crate::web::layout::{self, Nav};
use crate::web::{WebError, messages};

/// The largest signature or stamp image.
const MAX_IMAGE: usize = 5 * 1024 * 1024;

/// `?sent=1`, `?signed=1`: what just happened.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Flash {
    #[serde(default)]
    sent: Option<u8>,
    #[serde(default)]
    done: Option<String>,
}

/// Messages for the signing form, by input (`signature`, `stamp`, `text-3`, `general`).
type Errors = [(String, String)];

/// `GET /app/e/{id}`.
pub(super) async fn page(State(state): State<AppState>, Path(id): Path<String>, Query(flash): Query<Flash>) -> Result<Markup, WebError> {
    let envelope = envelope_id(&id)?;
    let summary = state.node.status(envelope).await?;
    render_page(&state, summary, &flash, &[], &[]).await
}

async fn render_page(
    state: &AppState,
    summary: Summary,
    flash: &Flash,
    errors: &Errors,
    texts: &[(u16, String)],
) -> Result<Markup, WebError> {
    let pages = match summary.missing_blobs.is_empty() {
        true => match summary.document.parse() {
            Ok(document) => state.node.document_pages(document).await.unwrap_or_default(),
            Err(_) => Vec::new(),
        },
        false => Vec::new(),
    };
    // A file this node cannot store (a full disk) is said so, not "arriving".
    let storage_problem = match summary.missing_blobs.is_empty() {
        true => None,
        false => state.node.transfers().await.unwrap_or_default().into_iter().filter(|t| t.envelope == summary.id).find_map(|t| t.problem),
    };
    let report = match summary.stage == Stage::Completed {
        true => state.node.final_report(&summary).await.ok(),
        false => None,
    };
    let waiting_for = summary.next.join(", ");
    let company = match summary.my_turn {
        true => state.node.settings().await.map(|view| view.settings.company.as_text()).unwrap_or_default(),
        false => String::new(),
    };
    let notice = match (flash.sent, flash.done.as_deref()) {
        (Some(_), _) => Some((
            "ok",
            "Sent. Whoever signs first is invited now, by email or SMS; each of the others when their turn comes. The links are below if you would rather share them yourself.".to_owned(),
        )),
        (_, Some("signed")) => Some(("ok", "You signed. The others are told by their nodes.".to_owned())),
        (_, Some("declined")) => Some(("bad", "You declined to sign. Everyone sees your reason.".to_owned())),
        (_, Some("voided")) => Some(("bad", "The envelope is voided; nobody can sign it any more.".to_owned())),
        (_, Some("reminded")) => {
            Some(("ok", "Reminder sent. It goes by email or SMS as this node is set up (or into its outbox folder).".to_owned()))
        }
        _ => None,
    };
    let progress = progress(&summary);
    // Only a real failure is an alarm: a message queued a moment ago is simply on its way.
    let failing: Vec<_> = summary.undelivered.iter().filter(|m| m.attempts > 0 || m.gave_up).collect();
    let body = html! {
        div #follow hidden data-envelope=(summary.id) data-progress=(progress) {}
        div.toolbar {
            div.grow {
                h1 { (summary.title) }
                p.muted { (layout::stage_badge(summary.stage, &waiting_for)) " · created " (summary.created_at) }
            }
            a.button href={ "/app/e/" (summary.id) "/original.pdf" } download { "Original PDF" }
            @if summary.stage == Stage::Completed {
                a.button.primary #download-final href={ "/app/e/" (summary.id) "/final.pdf" } download { "Final signed PDF" }
            }
        }
        @for (_, message) in errors.iter().filter(|(k, _)| k == "reason") {
            p.notice.bad role="alert" { "Not declined: " (message) }
        }
        @if let Some((class, text)) = &notice {
            p class={ "notice " (class) } role="status" { (text) }
        }
        @if let Some(stopped) = stopped(&summary) {
            (stopped)
        }
        @if !failing.is_empty() {
            div.notice.bad role="status" #undelivered {
                strong { (failing.len()) " message(s) could not be sent yet" } ": this node tries again by itself, unless one was refused for good."
                ul.small { @for message in &failing {
                    li {
                        (message.kind.describe()) " to " (message.to) " · tried " (message.attempts) " time(s) · " (message.last_error.as_deref().unwrap_or(""))
                        @if message.gave_up { strong { " · refused for good: check the address" } }
                    }
                } }
            }
        }
        @if !summary.to_forward.is_empty() {
            (messages::panel(&summary.to_forward, &format!("/app/e/{}", summary.id)))
        }
        @if let Some(problem) = &storage_problem {
            p.notice.bad role="alert" { "The document cannot be stored on this computer: " (problem) }
        } @else if !summary.missing_blobs.is_empty() {
            p.notice role="status" data-arriving { "Still arriving from the other nodes: " (summary.missing_blobs.len()) " file(s). This page reloads by itself when they are here." }
        }
        @if summary.my_turn && summary.missing_blobs.is_empty() {
            (signing(&summary, &pages, errors, texts, &company))
        } @else if summary.my_turn {
            p.notice { "It is your turn to sign: the signing page opens as soon as the document has arrived." }
        } @else if !pages.is_empty() {
            details.panel #document-pages {
                summary { "Show the pages (" (pages.len()) ") and where each person signs" }
                (pages_with_fields(&summary, &pages.iter().map(|p| p.visible_size().into()).collect::<Vec<[f32; 2]>>()))
            }
        }
        div.cols {
            div {
                (parties(&summary))
                @if summary.stage == Stage::Awaiting && !summary.my_turn {
                    (reminders(&summary))
                }
                @if !summary.open_invites.is_empty() {
                    (invitations(&summary))
                }
                (timeline(&summary))
            }
            div {
                @if let Some(report) = &report {
                    section.panel #verification {
                        h2 { "Verification of the final PDF" }
                        @if report.verdict == Verdict::Valid {
                            p.verdict.ok { "✔ " (report.summary) }
                        } @else {
                            p.verdict.bad { "✘ " (report.summary) }
                            ul { @for reason in &report.reasons { li { (reason) } } }
                        }
                        p.small.muted { "File BLAKE3 " span.mono { (report.file_hash) } }
                        @if !report.pdf_signatures.is_empty() {
                            h3 { "PDF signatures" }
                            ul.pdf-signatures {
                                @for signature in &report.pdf_signatures {
                                    li {
                                        (signature.position) ". " (signature.signer) " — "
                                        @if signature.valid { "verifies" } @else { strong { "does not verify" } }
                                        @if signature.certification { ", certifies the document" }
                                        br;
                                        span.small.muted {
                                            @match (&signature.certificate_issuer, &signature.certificate_root_fingerprint) {
                                                (Some(issuer), Some(root)) => {
                                                    "Certificate of " (signature.certificate_subject.as_deref().unwrap_or("?"))
                                                    " issued by " (issuer) ", root SHA-256 " span.mono { (root) }
                                                }
                                                _ => { "No valid certificate" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @if let Some(link) = summary.verifier_page() {
                            p { a href=(link) rel="noopener noreferrer" target="_blank" { "Anyone can check it on the public verifier ↗" } }
                        }
                    }
                }
                section.panel {
                    h2 { "Document" }
                    p.small.muted { "Envelope" }
                    p.mono { (summary.id) }
                    p.small.muted { "Original PDF, BLAKE3" }
                    p.mono { (summary.document) }
                    @if !summary.rejected.is_empty() {
                        h3 { "Entries refused" }
                        ul.small { @for rejected in &summary.rejected { li { (rejected) } } }
                    }
                    @if summary.created_by_me && summary.stage == Stage::Awaiting {
                        details {
                            summary { "Void this envelope" }
                            form method="post" action={ "/app/e/" (summary.id) "/void" } {
                                label for="void-reason" { "Reason (everyone sees it)" }
                                textarea #void-reason name="reason" required {}
                                button.danger type="submit" { "Void" }
                            }
                        }
                    }
                }
            }
        }
    };
    let scripts: &[&str] = if summary.my_turn && summary.missing_blobs.is_empty() { &["document.js", "sign.js"] } else { &["document.js"] };
    Ok(layout::page(&summary.title, Nav::Document, scripts, body))
}

/// What the document page follows: when it changes (someone signed, it
/// became my turn, a file arrived, a message waits to be sent), the page
/// reloads (document.js, through [`follow`]).
fn progress(summary: &Summary) -> String {
    let tag = serde_json::to_vec(&(summary.stage, &summary.heads, summary.missing_blobs.len(), summary.to_forward.len()));
    countersign_shared::Hash::of(&tag.unwrap_or_default()).short()
}

/// How long [`follow`] waits for a change before answering the same tag.
const FOLLOW_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `?since=TAG`: the progress the page shows.
#[derive(Debug, Deserialize)]
pub(super) struct Since {
    #[serde(default)]
    since: String,
}

/// `GET /app/e/{id}/progress?since=TAG`: the envelope's progress tag, as
/// soon as it differs from `since` (or after half a minute, unchanged).
pub(super) async fn follow(State(state): State<AppState>, Path(id): Path<String>, Query(since): Query<Since>) -> Result<String, WebError> {
    let envelope = envelope_id(&id)?;
    match state.node.wait_for(envelope, FOLLOW_WAIT, |summary| progress(summary) != since.since).await {
        Ok(summary) => Ok(progress(&summary)),
        Err(NodeError::TimedOut(_)) => Ok(since.since),
        Err(e) => Err(e.into()),
    }
}

/// A declined or voided envelope says so first: who, when, why; and the
/// sender may start again from it.
fn stopped(summary: &Summary) -> Option<Markup> {
    let (who, reason, verb) = match &summary.status {
        Status::Declined { slot, reason } => {
            let who = summary.parties.iter().find(|p| p.slot == *slot).map_or("A party", |p| p.name.as_str());
            (who, reason, "declined to sign")
        }
        Status::Voided { reason } => (summary.creator.as_str(), reason, "withdrew this document"),
        _ => return None,
    };
    let when = summary.timeline.last().map(|item| item.at.as_str()).unwrap_or_default();
    Some(html! {
        section.notice.bad #stopped role="status" {
            p { strong { (who) " " (verb) } @if !when.is_empty() { " on " (when) } "." }
            p { "Their reason: " q { (reason) } }
            p.small { "Nobody can sign it any more." }
            @if summary.created_by_me && matches!(summary.status, Status::Declined { .. }) {
                p { a.button.primary #again href={ "/app/e/" (summary.id) "/again" } { "Correct and send again" } }
            }
        }
    })
}

fn parties(summary: &Summary) -> Markup {
    html! {
        section.panel #parties {
            h2 { "People" }
            ol.parties {
                @for party in &summary.parties {
                    li {
                        div {
                            strong { (party.name) } @if party.is_me { " (you)" }
                            div.small.muted { (party.role.label()) " · " (party.contact.to_string()) }
                            @if let Some(fingerprint) = &party.fingerprint { div.small.muted { "key " span.mono { (fingerprint) } } }
                        }
                        div {
                            @if let Some(at) = &party.signed_at {
                                span.badge.ok title=(at) { "Signed" }
                            } @else if matches!(summary.status, Status::Declined { slot, .. } if slot == party.slot) {
                                span.badge.bad { "Declined" }
                            } @else if summary.next_slots.contains(&party.slot) && summary.stage == Stage::Awaiting {
                                span.badge.wait { "Their turn" }
                            } @else if !party.joined && party.role.signs() {
                                span.badge { "Invited" }
                            } @else if party.role.signs() {
                                span.badge { "Waiting" }
                            } @else {
                                span.badge { "Viewer" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The remind action: a ready-made reminder to whoever must act now.
fn reminders(summary: &Summary) -> Markup {
    let waiting: Vec<&crate::envelopes::PartySummary> = summary.parties.iter().filter(|p| summary.next_slots.contains(&p.slot)).collect();
    html! {
        section.panel #remind {
            h2 { "Remind" }
            @if summary.created_by_me {
                form method="post" action={ "/app/e/" (summary.id) "/remind" } {
                    button.primary.small-button #remind-now type="submit" { "Send a reminder now" }
                }
            }
            @for party in waiting {
                @let contact = party.contact.to_string();
                @let invited = summary.open_invites.iter().any(|i| i.slot == party.slot);
                @let message = if invited {
                    format!("Reminder: please sign \"{}\". Your invitation link was sent to you earlier; ask me if you need it again.", summary.title)
                } else {
                    format!("Reminder: please sign \"{}\" in your Countersign app. It is your turn.", summary.title)
                };
                @let subject = format!("Reminder: please sign {}", summary.title);
                @let href = layout::compose_link(&contact, &subject, &message);
                div.row.remind {
                    div { strong { (party.name) } div.small.muted { (contact) @if invited { " · has not opened the invitation yet (below)" } } }
                    a.button.small-button href=(href) { @if contact.contains('@') { "Email a reminder" } @else { "Text a reminder" } }
                }
            }
        }
    }
}

fn invitations(summary: &Summary) -> Markup {
    html! {
        section.panel #invitations {
            h2 { "Invitations" }
            p.small.muted { "Each link works once, for that person only. Send it by email or SMS, or let them scan the QR code." }
            @for invite in &summary.open_invites {
                (invitation(summary, invite))
            }
        }
    }
}

fn invitation(summary: &Summary, invite: &InviteOut) -> Markup {
    let later = summary.stage == Stage::Awaiting
        && !summary.next_slots.contains(&invite.slot)
        && summary.parties.iter().any(|p| p.slot == invite.slot && p.role.signs() && p.signed_at.is_none());
    let message = format!(
        "Please sign \"{}\" with Countersign. Open this link in the Countersign app (or scan the QR code): {}",
        summary.title, invite.link
    );
    let subject = format!("Please sign: {}", summary.title);
    let send_href = layout::compose_link(&invite.contact, &subject, &message);
    let send_label = if invite.contact.contains('@') { "Email it" } else { "Text it" };
    let qr = crate::qr::svg(&invite.link).unwrap_or_default();
    html! {
        div.invite data-slot=(invite.slot) {
            div {
                strong { (invite.name) } span.small.muted { " · " (invite.contact) }
                @if later {
                    p.small.muted { "Sent to them by itself when their turn comes. Share it now only if they should read the document first." }
                }
                label for={ "link-" (invite.slot) } { "Invitation link" }
                input.mono id={ "link-" (invite.slot) } type="text" readonly value=(invite.link);
                div.actions {
                    button.small-button type="button" data-copy={ "link-" (invite.slot) } { "Copy link" }
                    a.button.small-button href=(send_href) { (send_label) }
                }
            }
            div aria-label={ "QR code of " (invite.name) "'s invitation" } { (PreEscaped(layout::strip_xml_header(&qr))) }
        }
    }
}

/// A `mailto:` (email) or `sms:` (phone) link that opens the person's own
/// mail or messages app with `body` ready. The contact is encoded, so a
/// contact another node chose cannot add recipients or change the message
/// (`?bcc=…`).
fn timeline(summary: &Summary) -> Markup {
    html! {
        section.panel #timeline {
            h2 { "Timeline" }
            p.small.muted { "Every step is signed by whoever took it and checked by this node." }
            ol.timeline {
                @for item in &summary.timeline {
                    li {
                        strong { (item.who) } " " (item.what)
                        div.small.muted { (item.at) " · ✔ verified · entry " span.mono { (item.entry) } }
                    }
                }
            }
        }
    }
}

/// The document's pages, each field outlined: mine highlighted, filled ones
/// marked done, the others dimmed.
fn pages_with_fields(summary: &Summary, sizes: &[[f32; 2]]) -> Markup {
    html! {
        div.pages {
            @for (index, [width, height]) in sizes.iter().enumerate() {
                div.page data-page=(index + 1) style={ "aspect-ratio:" (width) "/" (height) } {
                    img src={ "/app/preview/" (summary.document) "/" (index + 1) } alt={ "Page " (index + 1) } loading=(if index < 2 { "eager" } else { "lazy" });
                    @for field in summary.fields.iter().filter(|f| f.page as usize == index + 1) {
                        @let [x, y, w, h] = field.rect;
                        div class={ "field " @if field.mine { "mine" } @else if field.value.is_some() { "done" } @else { "other" } }
                            data-field=(field.index)
                            data-kind=(field.kind.name())
                            style={ "cursor:default;left:" (x / width * 100.0) "%;top:" ((height - y - h) / height * 100.0) "%;width:" (w / width * 100.0) "%;height:" (h / height * 100.0) "%" } {
                            (field.label)
                        }
                    }
                    span.pageno aria-hidden="true" { (index + 1) " / " (sizes.len()) }
                }
            }
        }
    }
}

/// The signing workspace: pages with my fields, and the form.
/// The signing form. `company` (the settings' company profile, as text)
/// fills company-details fields not filled yet.
fn signing(summary: &Summary, pages: &[PageGeometry], errors: &Errors, texts: &[(u16, String)], company: &str) -> Markup {
    let mine: Vec<&FieldSummary> = summary.fields.iter().filter(|f| f.mine).collect();
    let needs = |kind: FieldKind| mine.iter().any(|f| f.kind == kind);
    let error = |key: &str| errors.iter().find(|(k, _)| k == key).map(|(_, m)| m.clone()).unwrap_or_default();
    let sizes: Vec<[f32; 2]> = pages.iter().map(|p| p.visible_size().into()).collect();
    html! {
        div.workspace #signing data-pages=(serde_json::to_string(&sizes).unwrap_or_default()) {
            (pages_with_fields(summary, &sizes))
            aside.sidebar.panel {
                h2 { "Your turn to sign" }
                @if let Some((_, message)) = errors.iter().find(|(k, _)| k == "general") {
                    p.notice.bad role="alert" { (message) }
                }
                p.small.muted { "Your fields, one after another:" }
                ol.walker #walker {
                    @for field in &mine {
                        li { button type="button" data-goto=(field.index) { span { (field.label) } span.small.muted { "p. " (field.page) } } }
                    }
                }
                form #sign-form method="post" action={ "/app/e/" (summary.id) "/sign" } enctype="multipart/form-data" {
                    @if needs(FieldKind::Signature) {
                        fieldset #signature-box data-for="signature" {
                            legend { "Your signature" }
                            div.tabs role="tablist" {
                                button type="button" role="tab" aria-selected="true" data-tab="draw" { "Draw" }
                                button type="button" role="tab" aria-selected="false" data-tab="type" { "Type" }
                                button type="button" role="tab" aria-selected="false" data-tab="upload" { "Upload" }
                            }
                            div data-panel="draw" {
                                canvas.pad #pad width="600" height="200" aria-label="Draw your signature here with a mouse, pen or finger" {}
                                button.small-button type="button" #clear-pad { "Clear" }
                            }
                            div data-panel="type" hidden {
                                label for="typed" { "Type your name" }
                                input.typed #typed type="text" autocomplete="name";
                            }
                            div data-panel="upload" hidden {
                                label for="signature-file" { "Signature image (PNG or JPEG)" }
                                input #signature-file type="file" name="signature" accept="image/png,image/jpeg";
                            }
                            p.error #err-signature role="alert" { (error("signature")) }
                        }
                    }
                    @if needs(FieldKind::Stamp) {
                        fieldset data-for="stamp" {
                            legend { "Company stamp" }
                            label for="stamp-file" { "Stamp image (a transparent PNG stays transparent)" }
                            input #stamp-file type="file" name="stamp" accept="image/png,image/jpeg";
                            p.error #err-stamp role="alert" { (error("stamp")) }
                        }
                    }
                    @for field in mine.iter().filter(|f| !f.kind.is_image()) {
                        @let key = format!("text-{}", field.index);
                        @let today = today();
                        @let given = texts.iter().find(|(i, _)| *i == field.index).map(|(_, v)| v.as_str()).or((field.kind == FieldKind::Date).then_some(today.as_str()));
                        div data-for=(field.index) {
                            label for=(key) { (field.label) @if field.required { " *" } }
                            @match field.kind {
                                FieldKind::Date => input id=(key) name=(key) type="date" value=[given] required[field.required] aria-describedby={ "err-" (key) };,
                                FieldKind::CompanyDetails => textarea id=(key) name=(key) rows="4" required[field.required] aria-describedby={ "err-" (key) } { (given.unwrap_or(company)) },
                                _ => input id=(key) name=(key) type="text" value=[given] required[field.required] aria-describedby={ "err-" (key) };,
                            }
                            p.error id={ "err-" (key) } role="alert" { (error(&key)) }
                        }
                    }
                    div.actions { button.primary #review type="button" { "Review and sign" } }
                    dialog #review-dialog aria-labelledby="review-title" {
                        h2 #review-title { "Review before signing" }
                        p.small.muted { "Signing is final: your signature and these values go into the document, signed with your key." }
                        ul.review #review-list {}
                        div.actions {
                            button.primary #confirm type="submit" { "Sign now" }
                            button type="button" #cancel-review { "Go back" }
                        }
                    }
                }
                details open[errors.iter().any(|(k, _)| k == "reason")] {
                    summary { "Decline to sign" }
                    form method="post" action={ "/app/e/" (summary.id) "/decline" } {
                        label for="decline-reason" { "Why? (everyone sees it)" }
                        textarea #decline-reason name="reason" required {}
                        p.error #err-reason role="alert" { (error("reason")) }
                        button.danger type="submit" { "Decline" }
                    }
                }
            }
        }
    }
}

/// `POST /app/e/{id}/sign`: the images and texts of my fields.
pub(super) async fn sign(State(state): State<AppState>, Path(id): Path<String>, mut form: Multipart) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    let summary = state.node.status(envelope).await?;
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut texts: Vec<(u16, String)> = Vec::new();
    let mut images: Vec<(String, Vec<u8>)> = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            errors.push(("general".into(), "The upload was cut off; please try again.".into()));
            break;
        };
        if let Some(index) = name.strip_prefix("text-").and_then(|i| i.parse::<u16>().ok()) {
            // A value is one line on the page: the lines of a text area are joined.
            let text = String::from_utf8_lossy(&bytes);
            texts.push((index, text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(", ")));
        } else if (name == "signature" || name == "stamp") && !bytes.is_empty() {
            images.push((name, bytes.to_vec()));
        }
    }
    let mut request = SignRequest::default();
    let mine: Vec<&FieldSummary> = summary.fields.iter().filter(|f| f.mine).collect();
    for field_kind in [FieldKind::Signature, FieldKind::Stamp] {
        if !mine.iter().any(|f| f.kind == field_kind) {
            continue;
        }
        let kind = field_kind.name();
        let what = if field_kind == FieldKind::Signature { "your signature" } else { "the company stamp" };
        let Some((_, bytes)) = images.iter().find(|(name, _)| name == kind) else {
            errors.push((kind.into(), format!("Add {what}.")));
            continue;
        };
        if bytes.len() > MAX_IMAGE {
            errors.push((kind.into(), format!("This image is larger than {} MB; use a smaller one.", MAX_IMAGE / 1024 / 1024)));
            continue;
        }
        if let Err(e) = render::check_image(bytes) {
            errors.push((kind.into(), format!("This image cannot be used: {e}.")));
            continue;
        }
        match state.node.put_blob(bytes.clone()).await {
            Ok(hash) if field_kind == FieldKind::Signature => request.signature = Some(hash),
            Ok(hash) => request.stamp = Some(hash),
            Err(e) => errors.push((kind.into(), e.to_string())),
        }
    }
    for field in mine.iter().filter(|f| !f.kind.is_image()) {
        let value = texts.iter().find(|(i, _)| *i == field.index).map(|(_, v)| v.clone()).unwrap_or_default();
        let key = format!("text-{}", field.index);
        if value.is_empty() {
            if field.required {
                errors.push((key, "This field is required.".into()));
            }
            continue;
        }
        if field.kind == FieldKind::Date && !is_date(&value) {
            errors.push((key, "Enter a date as YYYY-MM-DD.".into()));
            continue;
        }
        request.texts.push((field.label.clone(), value));
    }
    if errors.is_empty() {
        match state.node.sign(envelope, request).await {
            Ok(_) => return Ok(Redirect::to(&format!("/app/e/{id}?done=signed")).into_response()),
            Err(e) => errors.push(("general".into(), e.to_string())),
        }
    }
    let page = render_page(&state, summary, &Flash::default(), &errors, &texts).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Today's date on the person's clock, `YYYY-MM-DD`: what a date field offers first.
fn today() -> String {
    crate::clock::local_date(crate::clock::now_ms())
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && (1..=12).contains(&m.parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&d.parse::<u8>().unwrap_or(0)))
}

/// A reason, from the decline and void forms.
#[derive(Debug, Deserialize)]
pub(super) struct Reason {
    #[serde(default)]
    reason: String,
}

/// `POST /app/e/{id}/decline`.
pub(super) async fn decline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Reason>,
) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    let reason = form.reason.trim().to_owned();
    let result = if reason.is_empty() {
        Err(NodeError::invalid("Say why you decline: the sender sees it."))
    } else {
        state.node.decline(envelope, reason).await
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/app/e/{id}?done=declined")).into_response()),
        Err(e) => {
            let summary = state.node.status(envelope).await?;
            let page = render_page(&state, summary, &Flash::default(), &[("reason".to_owned(), e.to_string())], &[]).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /app/e/{id}/remind`: queues a reminder to whoever must act.
pub(super) async fn remind(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    state.node.remind(envelope).await?;
    Ok(Redirect::to(&format!("/app/e/{id}?done=reminded#remind")).into_response())
}

/// `POST /app/e/{id}/void`.
pub(super) async fn void(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Reason>,
) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::invalid("Say why the envelope is voided: everyone sees it.").into());
    }
    state.node.void(envelope, reason).await?;
    Ok(Redirect::to(&format!("/app/e/{id}?done=voided")).into_response())
}

/// `GET /app/e/{id}/original.pdf`.
pub(super) async fn original(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    let pdf = state.node.original(envelope).await?;
    Ok(pdf_response(pdf, &format!("{}-original.pdf", envelope.short())))
}

/// `GET /app/e/{id}/final.pdf`.
pub(super) async fn final_pdf(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let envelope = envelope_id(&id)?;
    let pdf = state.node.final_pdf(envelope).await?;
    Ok(pdf_response(pdf, &format!("{}-signed.pdf", envelope.short())))
}

fn pdf_response(pdf: Vec<u8>, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, "application/pdf".to_owned()), (header::CONTENT_DISPOSITION, disposition)], pdf).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_cannot_add_recipients_to_the_composed_message() {
        let link = layout::compose_link("bob@x.com?bcc=eve@evil.test", "S", "B");
        assert!(link.starts_with("mailto:bob@x.com%3Fbcc%3Deve@evil.test?subject=S&body=B"), "{link}");
        assert_eq!(layout::compose_link("+15550100", "S", "B b"), "sms:+15550100?body=B%20b");
    }

    #[test]
    fn dates_are_checked() {
        assert!(is_date("2026-11-28"));
        for bad in ["2026-13-01", "28.11.2026", "2026-1-1", "2026-11-28x", ""] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
