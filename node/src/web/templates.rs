//! `/app/templates`: saved prepared documents. Start a document from one
//! (the editor opens with its PDF, fields and parties), or send many at once
//! from a CSV file, one envelope per row, as a CRM exports its deals. The
//! same rows as JSON go to `POST /api/v1/templates/{id}/send`.
//!
//! Each row is checked like the editor checks a draft; a bad row is reported
//! with its problems and the good rows are still sent.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use countersign_shared::hash::Hash;
use countersign_shared::source::PageGeometry;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::drafts::{Draft, DraftProblem};
use crate::templates::Template;
use crate::web::WebError;
use crate::web::layout::{self, Nav};
use crate::web::prepare;

/// Rows one bulk send takes.
const MAX_ROWS: usize = 1000;

/// `?saved=1` after saving.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Saved {
    #[serde(default)]
    saved: Option<u8>,
}

/// `GET /app/templates`.
pub(super) async fn list(State(state): State<AppState>, Query(saved): Query<Saved>) -> Result<Markup, WebError> {
    let templates = state.node.templates().await?;
    let body = html! {
        div.toolbar { div.grow { h1 { "Templates" } p.muted { "Documents prepared once, sent again and again." } } }
        @if saved.saved.is_some() {
            p.notice.ok role="status" { "Template saved." }
        }
        @if templates.is_empty() {
            section.panel.narrow {
                p { "No templates yet. Prepare a document, then open " strong { "Save as a template" } " below the Send button." }
                a.button.primary href="/app/new" { "+ New document" }
            }
        }
        @for template in &templates {
            section.panel {
                h2 { (template.name) }
                p.muted.small {
                    (template.draft.fields.len()) " fields · "
                    @for (n, party) in template.draft.parties.iter().enumerate() {
                        @if n > 0 { ", " }
                        "party" (n + 1) ": " (if party.name.is_empty() { "(filled per document)" } else { party.name.as_str() }) " – " (party.role.label())
                    }
                }
                div.actions { a.button.primary href={ "/app/templates/" (template.id) } { "Use this template" } }
                details {
                    summary { "Send many from a CSV file" }
                    p.small.muted {
                        "One envelope per row. Columns: " span.mono { (columns(template)) }
                        ". Columns left out keep the template's values."
                    }
                    form method="post" action={ "/app/templates/" (template.id) "/bulk" } enctype="multipart/form-data" {
                        label for={ "csv-" (template.id) } { "CSV file" }
                        input id={ "csv-" (template.id) } type="file" name="csv" accept=".csv,text/csv" required;
                        div.actions { button type="submit" { "Send all rows" } }
                    }
                }
            }
        }
    };
    Ok(layout::page("Templates", Nav::Templates, &[], body))
}

fn columns(template: &Template) -> String {
    let parties = (1..=template.draft.parties.len()).map(|n| format!("party{n}_name,party{n}_contact"));
    std::iter::once("title".to_owned()).chain(parties).collect::<Vec<_>>().join(",")
}

/// The editor's form, posted to save a template.
#[derive(Debug, Deserialize)]
pub(super) struct SaveForm {
    draft: String,
    document: String,
    #[serde(default)]
    template_name: String,
}

/// `POST /app/templates`: saves the editor's draft as a template.
pub(super) async fn save(State(state): State<AppState>, Form(form): Form<SaveForm>) -> Result<Response, WebError> {
    let (hash, pages) = prepare::uploaded(&state, &form.document).await?;
    let draft: Draft = serde_json::from_str(&form.draft).map_err(|_| ApiError::invalid("the form arrived damaged; please try again"))?;
    let name = form.template_name.trim();
    if name.is_empty() {
        let errors = [DraftProblem::new("general", "Give the template a name.")];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, prepare::editor_page(hash, &pages, &draft, &errors, None)).into_response());
    }
    let template = Template::new(name, hash, draft);
    state.node.save_template(template).await?;
    Ok(Redirect::to("/app/templates?saved=1").into_response())
}

/// `GET /app/templates/{id}`: the editor, starting from the template.
pub(super) async fn open(State(state): State<AppState>, Path(id): Path<String>) -> Result<Markup, WebError> {
    let template = state.node.template(id).await?;
    let (hash, pages) = prepare::uploaded(&state, &template.document.to_string()).await?;
    Ok(prepare::editor_page(hash, &pages, &template.draft, &[], None))
}

/// What happened to one row.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    /// The row, from 1 (the header is not counted).
    pub row: usize,
    /// The envelope sent, if it was.
    pub envelope: Option<String>,
    /// Its invitations (each link holds a one-time secret for that person).
    pub invites: Vec<crate::app::requests::InviteOut>,
    /// The title used.
    pub title: String,
    /// Why it was not sent.
    pub problems: Vec<String>,
}

/// Sends one envelope per row.
async fn send_rows(state: &AppState, template: &Template, rows: Vec<BTreeMap<String, String>>) -> Result<Vec<RowResult>, ApiError> {
    if rows.len() > MAX_ROWS {
        return Err(ApiError::invalid(format!("at most {MAX_ROWS} rows at once; this file has {}", rows.len())));
    }
    let (hash, pages): (Hash, Vec<PageGeometry>) = prepare::uploaded(state, &template.document.to_string()).await?;
    let mut results = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        let mut result = RowResult { row: index + 1, envelope: None, invites: Vec::new(), title: String::new(), problems: Vec::new() };
        match template.fill(&row) {
            Err(problem) => result.problems.push(problem.to_string()),
            Ok(draft) => {
                result.title = draft.title.clone();
                let problems = draft.problems(&pages);
                if problems.is_empty() {
                    let request = draft.to_request(hash);
                    match state.node.create(request).await {
                        Ok(created) => {
                            result.envelope = Some(created.envelope);
                            result.invites = created.invites;
                        }
                        Err(e) => result.problems.push(e.to_string()),
                    }
                } else {
                    result.problems = problems.into_iter().map(|p| describe(&p, &draft)).collect();
                }
            }
        }
        results.push(result);
    }
    Ok(results)
}

/// A problem found by the editor's check, in words that name the column.
fn describe(problem: &DraftProblem, draft: &Draft) -> String {
    let party = problem.key.strip_prefix("party-").and_then(|rest| rest.split_once('-'));
    match party {
        Some((n, what)) => {
            let n: usize = n.parse().unwrap_or(0);
            let name = draft.parties.get(n).map_or("", |p| p.name.as_str());
            format!("party{} {what} ({name}): {}", n + 1, problem.message)
        }
        None => problem.message.clone(),
    }
}

/// `POST /app/templates/{id}/bulk`: a CSV file, one envelope per row.
pub(super) async fn bulk(State(state): State<AppState>, Path(id): Path<String>, mut form: Multipart) -> Result<Response, WebError> {
    let template = state.node.template(id).await?;
    let mut csv = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csv") {
            csv = field.bytes().await.map_err(|_| ApiError::invalid("the file upload was cut off"))?.to_vec();
        }
    }
    let rows = read_csv(&csv).map_err(|e| ApiError::invalid(e.to_string()))?;
    let results = send_rows(&state, &template, rows).await?;
    let sent = results.iter().filter(|r| r.envelope.is_some()).count();
    let body = html! {
        div.toolbar { div.grow { h1 { "Sent from “" (template.name) "”" } p.muted { (sent) " of " (results.len()) " rows sent" } } }
        section.panel {
            table.results {
                thead { tr { th { "Row" } th { "Title" } th { "Result" } } }
                tbody {
                    @for result in &results {
                        tr {
                            td { (result.row) }
                            td { (result.title) }
                            td {
                                @if let Some(envelope) = &result.envelope {
                                    a href={ "/app/e/" (envelope) } { "✔ Sent: invitations" }
                                } @else {
                                    span.error { "✘ " (result.problems.join("; ")) }
                                }
                            }
                        }
                    }
                }
            }
            div.actions { a.button href="/app" { "To the pipeline" } }
        }
    };
    let status = if sent == results.len() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, layout::page("Sent from a template", Nav::Templates, &[], body)).into_response())
}

/// Why a CSV file gives no rows.
#[derive(Debug, thiserror::Error)]
enum CsvError {
    /// The header row cannot be read.
    #[error("the CSV file cannot be read: {0}")]
    Header(csv::Error),
    /// A row cannot be read (counted from 1 under the header).
    #[error("row {row} of the CSV file cannot be read: {source}")]
    Row {
        /// Which.
        row: usize,
        /// Why.
        source: csv::Error,
    },
    /// Only a header.
    #[error("the CSV file has no rows under its header")]
    NoRows,
}

/// Reads a CSV file with a header row into one map per row.
fn read_csv(bytes: &[u8]) -> Result<Vec<BTreeMap<String, String>>, CsvError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(bytes);
    let headers = reader.headers().map_err(CsvError::Header)?.clone();
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|source| CsvError::Row { row: n + 1, source })?;
        rows.push(headers.iter().zip(record.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect());
    }
    if rows.is_empty() {
        return Err(CsvError::NoRows);
    }
    Ok(rows)
}

/// `POST /api/v1/templates/{id}/send`: rows as JSON objects of strings.
pub async fn api_send(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(rows): Json<Vec<BTreeMap<String, String>>>,
) -> Result<Json<Vec<RowResult>>, ApiError> {
    let template = state.node.template(id).await?;
    Ok(Json(send_rows(&state, &template, rows).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_column_maps() {
        let rows =
            read_csv(b"title,party2_name,party2_contact\nDeal 1, Carl Client ,+15550100\n\"Deal, 2\",Cleo,cleo@example.com\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["party2_name"], "Carl Client");
        assert_eq!(rows[1]["title"], "Deal, 2");
    }

    #[test]
    fn bad_csv_gets_a_reason() {
        assert!(matches!(read_csv(b"title\n"), Err(CsvError::NoRows)));
        let error = read_csv(b"title,party1_name\nonly one column\n").unwrap_err();
        assert!(matches!(error, CsvError::Row { row: 1, .. }) && error.to_string().contains("row 1"), "{error}");
    }
}
