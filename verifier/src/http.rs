//! The verifier's web service: `app(config)` is the whole router.
//!
//! - `GET  /`: the page to check a PDF; `GET /e/{id}`: the page a
//!   certificate's QR code opens; `GET /join`: where invitation links land.
//! - `POST /api/v1/verify`: raw PDF body or multipart form; the report as
//!   JSON (200 for a Countersign document, valid or not; 422 when the file is
//!   not a PDF, is encrypted, is cut short or carries no Countersign log; 413 over the
//!   upload limit; 408 when the request takes too long).
//! - `GET  /api/openapi.json`, `GET /healthz`.
//!
//! # Layout
//! - `verify`: the API; `page`: the HTML pages; `openapi`: the API's
//!   description; `error`: JSON errors.

pub mod error;
mod openapi;
mod page;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::Semaphore;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Largest upload in bytes.
    pub upload_limit: usize,
    /// Public base address.
    pub public_url: String,
    /// Checks running at once: two per core. Verification is pure CPU work;
    /// the second per core covers the moments a thread hands over its result,
    /// more only add switching. Uploads beyond this still arrive concurrently
    /// and wait their turn in memory.
    pub checks: Arc<Semaphore>,
}

/// The service for `config`.
pub fn app(config: &Config) -> Router {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let state = AppState {
        upload_limit: config.upload_limit(),
        public_url: config.public_url.clone(),
        checks: Arc::new(Semaphore::new(cores * 2)),
    };
    Router::new()
        .route("/", get(page::home))
        .route("/e/{id}", get(page::envelope))
        .route("/join", get(page::join))
        .route("/api/v1/verify", post(verify::verify_upload))
        .route("/api/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/healthz", get(|| async { "ok" }))
        // Uploads are read and limited by `verify` itself.
        .layer(DefaultBodyLimit::disable())
        .layer(ConcurrencyLimitLayer::new(config.concurrency.max(1)))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs.max(1)),
        ))
        .with_state(state)
}
