//! Errors as JSON answers, never with internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_shared::verify::Report;
use serde::Serialize;

/// An answer other than a report.
#[derive(Debug, Serialize)]
pub struct AppError {
    /// HTTP status.
    #[serde(skip)]
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub error: String,
    /// The report, when the file was read far enough to make one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<Report>>,
}

impl AppError {
    /// An error with `status` and a message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        AppError { status, error: error.into(), report: None }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}
