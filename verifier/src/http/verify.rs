//! `POST /api/v1/verify`: a PDF in (raw body or a multipart form upload), the
//! report out. Nothing is written to disk or logged: the bytes live only in
//! memory for the length of the request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use countersign_shared::verify::{Report, Verdict, memory_to_check, verify_until};
use futures::StreamExt;

use crate::http::AppState;
use crate::http::error::AppError;

/// Verifies an uploaded PDF: the upload under its deadline, then the check
/// under its own, in a check slot.
pub(super) async fn verify_upload(State(state): State<AppState>, request: Request) -> Result<Json<Report>, AppError> {
    // Behind no proxy, the peer's address is the client's.
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let turn = state.clients.enter(client)?;
    let declared = declared_len(&request, state.upload_limit)?;
    let upload_memory = state.memory.reserve(if declared > 0 { declared } else { state.upload_limit })?;
    let is_form =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    let upload = async { if is_form { read_form(request, &state).await } else { read_raw(request, state.upload_limit).await } };
    let pdf = tokio::time::timeout(state.upload_timeout, upload)
        .await
        .map_err(|_| AppError::new(StatusCode::REQUEST_TIMEOUT, "The upload took too long; try again on a faster connection."))??;
    if pdf.is_empty() {
        return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "The upload is empty: choose a PDF file."));
    }
    // Reading the file takes memory in proportion to it: room for that, in
    // place of the upload's, or 503 now.
    drop(upload_memory);
    let check_memory = state.memory.reserve(memory_to_check(pdf.len()))?;
    let failed = || AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "The check failed; please try again.");
    let permit = state.checks.clone().acquire_owned().await.map_err(|_| failed())?;
    let stop = Arc::new(AtomicBool::new(false));
    let trusted = Arc::clone(&state.trusted);
    let stop_flag = Arc::clone(&stop);
    let mut check = tokio::task::spawn_blocking(move || {
        // Held until the check really ends, even after its answer has gone:
        // a client cannot start new checks while its stopped ones still run.
        let _held = (permit, check_memory, turn);
        verify_until(&pdf, &trusted, &|| stop_flag.load(Ordering::Relaxed))
    });
    let outcome = tokio::select! {
        done = &mut check => done.map_err(|_| failed())?,
        () = tokio::time::sleep(state.check_timeout) => {
            // The check sees the flag at its next step and ends, freeing its slot.
            stop.store(true, Ordering::Relaxed);
            return Err(AppError::new(StatusCode::REQUEST_TIMEOUT, "Checking this file took too long and was stopped."));
        }
    };
    match outcome {
        Ok(report) => answer(report),
        Err(_) => Err(AppError::new(StatusCode::REQUEST_TIMEOUT, "Checking this file took too long and was stopped.")),
    }
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

/// The size the client declared, refused at once when over the limit.
fn declared_len(request: &Request, limit: usize) -> Result<usize, AppError> {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(len) if len > limit.saturating_add(FORM_OVERHEAD) => Err(too_large(limit)),
        Some(len) => Ok(len),
        None => Ok(0),
    }
}

/// Room a multipart form needs beyond the file itself (boundaries, headers).
const FORM_OVERHEAD: usize = 64 * 1024;

fn interrupted() -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "The upload was interrupted before the whole file arrived.")
}

/// Appends `chunk` to the upload, refusing to grow past the limit.
fn append(pdf: &mut Vec<u8>, chunk: &[u8], limit: usize) -> Result<(), AppError> {
    if pdf.len().saturating_add(chunk.len()) > limit {
        return Err(too_large(limit));
    }
    pdf.extend_from_slice(chunk);
    Ok(())
}

/// Reads the body into one buffer sized from `Content-Length`: a 20 MB file
/// takes 20 MB while it waits, not a list of chunks and then a copy of them.
async fn read_raw(request: Request, limit: usize) -> Result<Vec<u8>, AppError> {
    let declared = declared_len(&request, limit)?;
    let mut pdf = Vec::with_capacity(declared.min(limit));
    let mut chunks = request.into_body().into_data_stream();
    while let Some(chunk) = chunks.next().await {
        append(&mut pdf, &chunk.map_err(|_| interrupted())?, limit)?;
    }
    Ok(pdf)
}

async fn read_form(request: Request, state: &AppState) -> Result<Vec<u8>, AppError> {
    let limit = state.upload_limit;
    let declared = declared_len(&request, limit)?;
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, format!("The form upload could not be read: {}", e.body_text())))?;
    loop {
        let field = form.next_field().await.map_err(|_| interrupted())?;
        let Some(mut field) = field else {
            return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "The form has no file: choose a PDF file."));
        };
        if field.file_name().is_some() || field.name() == Some("file") {
            let mut pdf = Vec::with_capacity(declared.min(limit));
            while let Some(chunk) = field.chunk().await.map_err(|_| interrupted())? {
                append(&mut pdf, &chunk, limit)?;
            }
            return Ok(pdf);
        }
    }
}
