//! `/app/new`: prepare and send, as Bitrix24.Sign's "create, complete the
//! data, send": upload a PDF, see its pages, place fields by dragging on
//! them, add the parties, send. The invite links and QR codes then show on
//! the document page.
//!
//! The editor (`prepare.js`) keeps the draft as JSON in a hidden input; the
//! server checks it all and, when something is wrong, shows the editor again
//! with the same draft and a message next to each wrong input. Nothing is
//! sent until everything is right.

use axum::Json;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use countersign_shared::hash::Hash;
use countersign_shared::model::{FieldKind, Role};
use countersign_shared::source::{ActiveContent, PageGeometry};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::app::requests::PartyInput;
use crate::documents;
use crate::drafts::{Draft, DraftProblem};
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// The largest PDF the app takes.
const MAX_PDF: usize = 100 * 1024 * 1024;

/// `GET /app/new`.
pub(super) async fn upload_form(State(state): State<AppState>) -> Markup {
    let templates = state.node.templates().await.unwrap_or_default();
    let from_templates = html! {
        @if !templates.is_empty() {
            section.panel.narrow {
                h2 { "Or start from a template" }
                ul {
                    @for template in &templates {
                        li { a href={ "/app/templates/" (template.id) } { (template.name) } }
                    }
                }
            }
        }
    };
    upload_page("", None, from_templates)
}

fn upload_page(title: &str, error: Option<&str>, after: Markup) -> Markup {
    let body = html! {
        section.panel.narrow {
            h1 { "New document" }
            p.lede { "Upload the PDF to be signed. Next you place the fields and add the people who sign." }
            form method="post" action="/app/new" enctype="multipart/form-data" {
                label for="title" { "Title" }
                input #title type="text" name="title" value=(title) placeholder="e.g. Service agreement with Acme";
                label for="pdf" { "PDF file" }
                input #pdf type="file" name="pdf" accept="application/pdf,.pdf" required aria-describedby="err-pdf";
                p.error #err-pdf role="alert" { @if let Some(error) = error { (error) } }
                div.actions { button.primary type="submit" { "Upload and continue" } }
            }
        }
        (after)
    };
    layout::page("New document", Nav::New, &[], body)
}

/// `POST /app/new`: stores the PDF if Countersign can sign it, then opens the editor.
pub(super) async fn upload(State(state): State<AppState>, mut form: Multipart) -> Response {
    let mut title = String::new();
    let mut file_name = String::new();
    let mut pdf = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "pdf" {
                    file_name = field.file_name().unwrap_or_default().to_owned();
                }
                let Ok(bytes) = field.bytes().await else {
                    return (StatusCode::PAYLOAD_TOO_LARGE, upload_page(&title, Some("The upload was cut off or is too large."), html! {}))
                        .into_response();
                };
                match name.as_str() {
                    "title" => title = String::from_utf8_lossy(&bytes).trim().to_owned(),
                    "pdf" => pdf = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return (StatusCode::BAD_REQUEST, upload_page(&title, Some("The upload was cut off or is too large."), html! {}))
                    .into_response();
            }
        }
    }
    let refuse = |message: String| (StatusCode::UNPROCESSABLE_ENTITY, upload_page(&title, Some(&message), html! {})).into_response();
    if pdf.is_empty() {
        return refuse("Choose a PDF file.".into());
    }
    if pdf.len() > MAX_PDF {
        return refuse(format!("This file is larger than {} MB.", MAX_PDF / 1024 / 1024));
    }
    let prepared = match documents::prepare(pdf).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(format!("{}.", capitalized(&e.to_string()))),
    };
    let removed: Vec<String> =
        prepared.removed.keys().filter_map(|kind| serde_json::to_value(kind).ok()?.as_str().map(str::to_owned)).collect();
    let title = if title.is_empty() { title_from_file_name(&file_name) } else { title.clone() };
    match state.node.put_blob(prepared.bytes).await {
        Ok(hash) => {
            // Kept from the start: leaving the page loses nothing (the same
            // PDF uploaded again goes back to its draft).
            if matches!(state.node.kept_draft(hash).await, Ok(None))
                && let Err(e) = state.node.keep_draft(hash, new_draft(title.clone())).await
            {
                tracing::warn!("the new draft could not be kept: {e}");
            }
            let removed = if removed.is_empty() { String::new() } else { format!("&removed={}", removed.join(",")) };
            Redirect::to(&format!("/app/new/{hash}?title={}{removed}", layout::url_encode(&title))).into_response()
        }
        Err(e) => refuse(e.to_string()),
    }
}

/// A title from an uploaded file's name: "service_agreement-2026.pdf"
/// gives "Service agreement 2026".
fn title_from_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.strip_suffix(".pdf").or_else(|| base.strip_suffix(".PDF")).unwrap_or(base);
    let words: Vec<&str> = stem.split(['_', '-', ' ', '.']).filter(|w| !w.is_empty()).collect();
    capitalized(&words.join(" ").chars().take(120).collect::<String>())
}

/// A new draft: a company signer (stamp required) and a client, no fields yet.
fn new_draft(title: String) -> Draft {
    Draft {
        title,
        parties: vec![
            PartyInput {
                name: String::new(),
                role: Role::CompanySigner,
                contact: String::new(),
                order: Some(1),
                stamp_required: Some(true),
            },
            PartyInput { name: String::new(), role: Role::Client, contact: String::new(), order: Some(2), stamp_required: Some(false) },
        ],
        fields: Vec::new(),
        confirm_by_code: false,
        invite_all_now: false,
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `?title=&removed=` of the editor: the title typed at upload, and the kinds
/// of active content preparing removed (see [`ActiveContent`]).
#[derive(Debug, Default, Deserialize)]
pub(super) struct EditorQuery {
    #[serde(default)]
    title: String,
    #[serde(default)]
    removed: String,
}

/// `GET /app/new/{hash}`: the editor for an uploaded PDF.
pub(super) async fn editor(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    Query(query): Query<EditorQuery>,
) -> Result<Markup, WebError> {
    let (hash, pages) = uploaded(&state, &hash).await?;
    // The draft kept as the person worked, or a new one.
    let draft = match state.node.kept_draft(hash).await? {
        Some(saved) => saved.draft,
        None => new_draft(query.title),
    };
    let removed: Vec<&str> = query
        .removed
        .split(',')
        .filter_map(|code| serde_json::from_value::<ActiveContent>(serde_json::Value::String(code.to_owned())).ok())
        .map(ActiveContent::describe)
        .collect();
    let notice = (!removed.is_empty()).then(|| {
        format!(
            "Countersign prepared this PDF so that every reader shows the same pages and nothing else happens when it opens. It took out or drew into the pages: {}. Check the pages before you send.",
            removed.join("; ")
        )
    });
    Ok(editor_page(hash, &pages, &draft, &[], notice.as_deref()))
}

/// `GET /app/e/{id}/again`: the editor over a declined envelope's PDF,
/// with its title, people and fields, to correct and send as a new envelope.
pub(super) async fn again(State(state): State<AppState>, Path(id): Path<String>) -> Result<Markup, WebError> {
    let summary = state.node.status(crate::api::envelope_id(&id)?).await?;
    if !summary.created_by_me || summary.stage != crate::envelopes::Stage::Declined {
        return Err(ApiError::new(crate::api::error::ErrorKind::Refused, "only the sender of a declined document sends it again").into());
    }
    let (hash, pages) = uploaded(&state, &summary.document).await?;
    let who = match &summary.status {
        countersign_shared::state::Status::Declined { slot, reason } => {
            let name = summary.parties.iter().find(|p| p.slot == *slot).map_or("A party", |p| p.name.as_str());
            format!("{name} declined “{}”: {reason}. ", summary.title)
        }
        _ => String::new(),
    };
    let notice = format!(
        "{who}Correct the people or fields and send it again: it goes out as a new envelope, and the declined one stays as it was. To change the PDF itself, start a new document."
    );
    Ok(editor_page(hash, &pages, &Draft::again(&summary), &[], Some(&notice)))
}

/// The draft as the hidden input posts it.
#[derive(Debug, Deserialize)]
pub(super) struct SendForm {
    pub(super) draft: String,
}

/// `POST /app/new/{hash}`: checks the draft and sends the envelope.
pub(super) async fn send(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    Form(form): Form<SendForm>,
) -> Result<Response, WebError> {
    let (hash, pages) = uploaded(&state, &hash).await?;
    let draft: Draft = match serde_json::from_str(&form.draft) {
        Ok(draft) => draft,
        Err(_) => {
            let errors = [DraftProblem::new("general", "The form arrived damaged; please try again.")];
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &Draft::default(), &errors, None)).into_response());
        }
    };
    let errors = draft.problems(&pages);
    if !errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &draft, &errors, None)).into_response());
    }
    let request = draft.to_request(hash);
    match state.node.create(request).await {
        Ok(created) => {
            state.node.forget_draft(hash).await?;
            Ok(Redirect::to(&format!("/app/e/{}?sent=1", created.envelope)).into_response())
        }
        Err(e) => {
            let errors = [DraftProblem::new("general", e.to_string())];
            Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &draft, &errors, None)).into_response())
        }
    }
}

/// `POST /app/new/{hash}/draft` (the draft as JSON): keeps the draft as the
/// person works (the editor saves after each change).
pub(super) async fn keep(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    Json(draft): Json<Draft>,
) -> Result<StatusCode, WebError> {
    let (hash, _) = uploaded(&state, &hash).await?;
    state.node.keep_draft(hash, draft).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /app/new/{hash}/discard`: forgets the draft (the PDF stays a blob).
pub(super) async fn discard(State(state): State<AppState>, Path(hash): Path<String>) -> Result<Response, WebError> {
    let hash: Hash = hash.parse().map_err(|_| ApiError::not_found("no such draft"))?;
    state.node.forget_draft(hash).await?;
    Ok(Redirect::to("/app").into_response())
}

/// What the node takes to send `draft` over the PDF `document`.
/// The uploaded PDF's hash and page geometry.
pub(super) async fn uploaded(state: &AppState, hash: &str) -> Result<(Hash, Vec<PageGeometry>), ApiError> {
    let hash: Hash = hash.parse().map_err(|_| ApiError::not_found("no such upload"))?;
    Ok((hash, state.node.document_pages(hash).await?))
}

pub(super) fn editor_page(hash: Hash, pages: &[PageGeometry], draft: &Draft, errors: &[DraftProblem], notice: Option<&str>) -> Markup {
    let sizes: Vec<[f32; 2]> = pages.iter().map(|p| p.visible_size().into()).collect();
    let general: Vec<&DraftProblem> = errors.iter().filter(|e| e.key == "general").collect();
    let body = html! {
        div.toolbar {
            div.grow {
                h1 { "Prepare and send" }
                p.muted { (pages.len()) " pages · choose a field type and a person, then drag on the page to place it" }
            }
        }
        @if let Some(notice) = notice {
            p.notice #removed-notice { (notice) }
        }
        @for error in &general {
            p.notice.bad role="alert" { (error.message) }
        }
        noscript { p.notice.bad { "Placing fields needs JavaScript." } }
        div.workspace #editor data-hash=(hash.to_string()) data-pages=(to_json(&sizes)) data-draft=(to_json(draft)) data-errors=(to_json(errors)) {
            div.pages #pages {
                @for (index, [width, height]) in sizes.iter().enumerate() {
                    div.page data-page=(index + 1) style={ "aspect-ratio:" (width) "/" (height) } {
                        img src={ "/app/preview/" (hash.to_string()) "/" (index + 1) } alt={ "Page " (index + 1) } loading=(if index < 2 { "eager" } else { "lazy" });
                        span.pageno aria-hidden="true" { (index + 1) " / " (sizes.len()) }
                    }
                }
            }
            aside.sidebar.panel {
                form #send-form method="post" action={ "/app/new/" (hash.to_string()) } {
                    input type="hidden" name="document" value=(hash.to_string());
                    label for="title" { "Title" }
                    input #title type="text" value=(draft.title) aria-describedby="err-title" required;
                    p.error #err-title role="alert" {}
                    h2 style="margin-top:1.25rem" { "Parties" }
                    p.muted.small { "Company signers sign first (order 1), then clients (order 2). Viewers only watch." }
                    div #parties {}
                    button #add-party type="button" { "+ Add a person" }
                    label.check {
                        input #confirm-by-code type="checkbox" checked[draft.confirm_by_code];
                        "Confirm phone numbers with a one-time code by SMS"
                    }
                    label.check {
                        input #invite-all-now type="checkbox" checked[draft.invite_all_now];
                        "Let clients read it now (each person is otherwise invited when their turn comes)"
                    }
                    h2 style="margin-top:1.25rem" { "Fields" }
                    label for="field-party" { "Fields for" }
                    select #field-party {}
                    div.kinds role="group" aria-label="Field type to place" {
                        @for kind in FieldKind::ALL {
                            button type="button" data-kind=(kind.name()) aria-pressed="false" { (kind.label()) }
                        }
                    }
                    p.muted.small #mode-hint aria-live="polite" { "Choose a field type, then drag on a page to draw the field. Drag a field to move it, its corner to resize; arrow keys move a selected field, Delete removes it." }
                    ul.fieldlist #fieldlist {}
                    p.error #err-fields role="alert" {}
                    input #draft type="hidden" name="draft";
                    div.actions { button.primary #send type="submit" { "Send for signing" } span.small.muted #save-state aria-live="polite" {} }
                    details.save-template {
                        summary { "Save as a template" }
                        p.small.muted { "Keeps the PDF, the fields and the parties (leave names empty to fill them each time), to send again or many at once from a spreadsheet." }
                        label for="template-name" { "Template name" }
                        input #template-name type="text" name="template_name" value=(draft.title);
                        button #save-template type="submit" formaction="/app/templates" formnovalidate { "Save template" }
                    }
                }
            }
        }
    };
    layout::page("Prepare and send", Nav::New, &["prepare.js"], body)
}

/// JSON for a `data-` attribute (maud escapes the quotes).
fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
