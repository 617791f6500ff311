//! `/app/new`: prepare and send, as Bitrix24.Sign's "create, complete the
//! data, send": upload a PDF, see its pages, place fields by dragging on
//! them, add the parties, send. The invite links and QR codes then show on
//! the document page.
//!
//! The editor (`prepare.js`) keeps the draft as JSON in a hidden input; the
//! server checks it all and, when something is wrong, shows the editor again
//! with the same draft and a message next to each wrong input. Nothing is
//! sent until everything is right.

use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use countersign_shared::hash::Hash;
use countersign_shared::model::{Contact, FieldKind, Role};
use countersign_shared::source::{self, ActiveContent, PageGeometry};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::documents;
use crate::net::command::{CreateRequest, FieldInput, PartyInput};
use crate::templates::Draft;
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// The largest PDF the app takes.
const MAX_PDF: usize = 100 * 1024 * 1024;
/// The smallest field side, in points.
const MIN_FIELD: f32 = 10.0;

/// A message for one input of a form: `key` names it (`title`,
/// `party-0-contact`, `field-2`, `pdf`, `general`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct InputError {
    pub(super) key: String,
    pub(super) message: String,
}

fn input_error(key: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError { key: key.into(), message: message.into() }
}

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
    let mut pdf = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
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
    match state.node.put_blob(prepared.bytes).await {
        Ok(hash) => {
            let removed = if removed.is_empty() { String::new() } else { format!("&removed={}", removed.join(",")) };
            Redirect::to(&format!("/app/new/{hash}?title={}{removed}", layout::url_encode(&title))).into_response()
        }
        Err(e) => refuse(e.to_string()),
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
    let draft = Draft {
        title: query.title,
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
            let errors = [input_error("general", "The form arrived damaged; please try again.")];
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &Draft::default(), &errors, None)).into_response());
        }
    };
    let errors = check(&draft, &pages);
    if !errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &draft, &errors, None)).into_response());
    }
    let request = create_request(&draft, hash);
    match state.node.create(request).await {
        Ok(created) => Ok(Redirect::to(&format!("/app/e/{}?sent=1", created.envelope)).into_response()),
        Err(e) => {
            let errors = [input_error("general", e.to_string())];
            Ok((StatusCode::UNPROCESSABLE_ENTITY, editor_page(hash, &pages, &draft, &errors, None)).into_response())
        }
    }
}

/// What the node takes to send `draft` over the PDF `document`.
pub(super) fn create_request(draft: &Draft, document: Hash) -> CreateRequest {
    CreateRequest {
        title: draft.title.trim().to_owned(),
        document,
        parties: draft.parties.clone(),
        fields: if draft.fields.is_empty() { None } else { Some(field_inputs(draft)) },
        verifier_url: None,
        confirm_by_code: draft.confirm_by_code,
    }
}

/// The uploaded PDF's hash and page geometry.
pub(super) async fn uploaded(state: &AppState, hash: &str) -> Result<(Hash, Vec<PageGeometry>), ApiError> {
    let hash: Hash = hash.parse().map_err(|_| ApiError::not_found("no such upload"))?;
    let pdf = state.node.blob(hash).await?;
    let info = source::inspect(&pdf).map_err(|e| ApiError::invalid(format!("this PDF cannot be signed: {e}")))?;
    Ok((hash, info.pages))
}

/// Every problem with a draft, each keyed to its input.
pub(super) fn check(draft: &Draft, pages: &[PageGeometry]) -> Vec<InputError> {
    let mut errors = Vec::new();
    if draft.title.trim().is_empty() {
        errors.push(input_error("title", "Give the document a title."));
    }
    if draft.parties.is_empty() {
        errors.push(input_error("general", "Add at least one person who signs."));
    }
    for (i, party) in draft.parties.iter().enumerate() {
        if party.name.trim().is_empty() {
            errors.push(input_error(format!("party-{i}-name"), "Enter a name."));
        }
        if let Err(e) = Contact::parse(&party.contact) {
            errors.push(input_error(format!("party-{i}-contact"), format!("Enter an email address or a phone number ({e}).")));
        }
        if party.order.is_some_and(|o| o == 0 || o > 9) {
            errors.push(input_error(format!("party-{i}-order"), "The signing order is a number from 1 to 9."));
        }
    }
    if !draft.parties.iter().any(|p| p.role != Role::Viewer) {
        errors.push(input_error("general", "At least one party must sign (company signer or client)."));
    }
    if !draft.fields.is_empty() {
        for (i, party) in draft.parties.iter().enumerate().filter(|(_, p)| p.role != Role::Viewer) {
            let has = |kind: FieldKind| draft.fields.iter().any(|f| f.party == i && f.kind == kind);
            let key = format!("party-{i}-fields");
            if !has(FieldKind::Signature) {
                errors.push(input_error(key, "Place a signature field for this person."));
            } else if party.stamp_required.unwrap_or(false) && !has(FieldKind::Stamp) {
                errors.push(input_error(key, "A stamp is required from this person: place a stamp field for them."));
            }
        }
    }
    for (i, field) in draft.fields.iter().enumerate() {
        let key = format!("field-{i}");
        let Some(page) = usize::try_from(field.page).ok().and_then(|p| p.checked_sub(1)).and_then(|p| pages.get(p)) else {
            errors.push(input_error(key, "This field is on a page the document does not have."));
            continue;
        };
        let (width, height) = page.visible_size();
        let inside = field.x >= -0.5
            && field.y >= -0.5
            && field.x + field.width <= width + 0.5
            && field.y + field.height <= height + 0.5
            && [field.x, field.y, field.width, field.height].iter().all(|v| v.is_finite());
        if !inside {
            errors.push(input_error(key, "This field is partly off the page: drag it onto the page."));
        } else if field.width < MIN_FIELD || field.height < MIN_FIELD {
            errors.push(input_error(key, "This field is too small to fill: make it larger."));
        }
        match draft.parties.get(field.party) {
            None => errors.push(input_error(format!("field-{i}"), "This field's party was removed: choose another.")),
            Some(party) if party.role == Role::Viewer => {
                errors.push(input_error(format!("field-{i}"), "A viewer does not sign: give this field to someone who does."));
            }
            Some(_) => {}
        }
    }
    errors
}

/// The fields as the node takes them, with labels people read ("Signature – Dmitri Director").
fn field_inputs(draft: &Draft) -> Vec<FieldInput> {
    let mut used: Vec<String> = Vec::new();
    draft
        .fields
        .iter()
        .map(|field| {
            let party = draft.parties.get(field.party).map_or("", |p| p.name.trim());
            let base = match field.label.trim() {
                "" => format!("{} – {party}", field.kind.label()),
                named => named.to_owned(),
            };
            let mut label = base.clone();
            let mut n = 2;
            while used.contains(&label) {
                label = format!("{base} ({n})");
                n += 1;
            }
            used.push(label.clone());
            FieldInput {
                label,
                kind: field.kind,
                page: field.page,
                x: field.x,
                y: field.y,
                width: field.width,
                height: field.height,
                party: (field.party + 1).to_string(),
                required: Some(true),
            }
        })
        .collect()
}

pub(super) fn editor_page(hash: Hash, pages: &[PageGeometry], draft: &Draft, errors: &[InputError], notice: Option<&str>) -> Markup {
    let sizes: Vec<[f32; 2]> = pages.iter().map(|p| p.visible_size().into()).collect();
    let general: Vec<&InputError> = errors.iter().filter(|e| e.key == "general").collect();
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
                    h2 style="margin-top:1.25rem" { "Fields" }
                    label for="field-party" { "Fields for" }
                    select #field-party {}
                    div.kinds role="group" aria-label="Field type to place" {
                        @for kind in FieldKind::ALL {
                            button type="button" data-kind=(kind.name()) aria-pressed="false" { (kind.label()) }
                        }
                    }
                    p.muted.small { "Drag on a page to draw the field; drag it to move, its corner to resize; arrow keys move a selected field, Delete removes it." }
                    ul.fieldlist #fieldlist {}
                    p.error #err-fields role="alert" {}
                    input #draft type="hidden" name="draft";
                    div.actions { button.primary #send type="submit" { "Send for signing" } }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::FieldDraft;

    fn a4() -> Vec<PageGeometry> {
        vec![PageGeometry { bounds: [0.0, 0.0, 595.0, 842.0], rotate: 0 }; 2]
    }

    fn party(name: &str, role: Role, contact: &str) -> PartyInput {
        PartyInput { name: name.into(), role, contact: contact.into(), order: None, stamp_required: None }
    }

    fn field(page: u32, x: f32, y: f32, party: usize) -> FieldDraft {
        FieldDraft { kind: FieldKind::Signature, page, x, y, width: 150.0, height: 40.0, party, label: String::new() }
    }

    fn keys(draft: &Draft) -> Vec<String> {
        check(draft, &a4()).into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn a_good_draft_passes() {
        let draft = Draft {
            title: "Agreement".into(),
            parties: vec![party("Dmitri", Role::CompanySigner, "d@acme.test"), party("Carl", Role::Client, "+15550100")],
            fields: vec![field(1, 40.0, 40.0, 0), field(2, 300.0, 40.0, 1)],
            ..Draft::default()
        };
        assert_eq!(keys(&draft), Vec::<String>::new());
        let mut stamped = draft.clone();
        stamped.parties[0].stamp_required = Some(true);
        assert_eq!(keys(&stamped), ["party-0-fields"], "a stamp required but no stamp field");
        let mut unsigned = draft;
        unsigned.fields.pop();
        assert_eq!(keys(&unsigned), ["party-1-fields"], "a signer without a signature field");
    }

    #[test]
    fn each_problem_is_named_next_to_its_input() {
        let draft = Draft {
            title: " ".into(),
            parties: vec![party("", Role::CompanySigner, "nobody"), party("Vera", Role::Viewer, "v@acme.test")],
            fields: vec![field(1, 500.0, 40.0, 0), field(3, 40.0, 40.0, 0), field(1, 40.0, 40.0, 1), field(1, 40.0, 40.0, 7)],
            ..Draft::default()
        };
        assert_eq!(keys(&draft), ["title", "party-0-name", "party-0-contact", "field-0", "field-1", "field-2", "field-3"]);
        let messages: Vec<String> = check(&draft, &a4()).into_iter().map(|e| e.message).collect();
        assert!(messages[3].contains("off the page"), "{messages:?}");
        assert!(messages[4].contains("page the document does not have"), "{messages:?}");
        assert!(messages[5].contains("viewer does not sign"), "{messages:?}");
    }

    #[test]
    fn only_viewers_is_not_a_document_anyone_signs() {
        let draft =
            Draft { title: "T".into(), parties: vec![party("Vera", Role::Viewer, "v@acme.test")], fields: vec![], ..Draft::default() };
        assert_eq!(keys(&draft), ["general"]);
    }
}
