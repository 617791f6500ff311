//! `POST /api/v1/verify`: a PDF in (raw body or a multipart form upload), the
//! report out. Nothing is written to disk or logged: the bytes live only in
//! memory for the length of the request.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use countersign_shared::verify::{Report, Verdict, verify};

use crate::http::AppState;
use crate::http::error::AppError;

/// Verifies an uploaded PDF.
pub(super) async fn verify_upload(State(state): State<AppState>, request: Request) -> Result<Json<Report>, AppError> {
    let is_form =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    let pdf = if is_form { read_form(request, &state).await? } else { read_raw(request, state.upload_limit).await? };
    if pdf.is_empty() {
        return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "The upload is empty: choose a PDF file."));
    }
    let report = tokio::task::spawn_blocking(move || verify(&pdf))
        .await
        .map_err(|_| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "The check failed; please try again."))?;
    answer(report)
}

/// Readable Countersign documents get their report (valid or not); files that
/// are not checkable get 422 with the reason.
fn answer(report: Report) -> Result<Json<Report>, AppError> {
    let no_log = report.envelope.is_none();
    if report.verdict == Verdict::Unreadable || no_log {
        let error = report.summary.clone();
        return Err(AppError { status: StatusCode::UNPROCESSABLE_ENTITY, error, report: Some(Box::new(report)) });
    }
    Ok(Json(report))
}

fn too_large(limit: usize) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("The file is larger than {} MB, the most this verifier accepts.", limit / 1024 / 1024),
    )
}

async fn read_raw(request: Request, limit: usize) -> Result<Bytes, AppError> {
    axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| too_large(limit))
}

async fn read_form(request: Request, state: &AppState) -> Result<Bytes, AppError> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, format!("The form upload could not be read: {}", e.body_text())))?;
    loop {
        let field = form.next_field().await.map_err(|_| too_large(state.upload_limit))?;
        let Some(field) = field else {
            return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "The form has no file: choose a PDF file."));
        };
        if field.file_name().is_some() || field.name() == Some("file") {
            return field.bytes().await.map_err(|_| too_large(state.upload_limit));
        }
    }
}
