//! The verifier's web service: `app(config)` is the whole router.
//!
//! - `GET  /`: the page to check a PDF; `GET /e/{id}`: the page a
//!   certificate's QR code opens; `GET /join`: where invitation links land;
//!   `GET /sign` and `/guest/{*file}`: the guest signer ([`guest`]).
//! - `POST /api/v1/verify`: raw PDF body or multipart form; the report as
//!   JSON (200 for a Countersign document, valid or not; 422 when the file is
//!   not a PDF, is encrypted, is cut short or carries no Countersign log; 413 over the
//!   upload limit; 408 when the upload or the check takes too long; 429 when
//!   the client has too many checks going; 503 when uploads fill the memory
//!   set aside for them).
//! - `GET  /api/openapi.json`, `GET /healthz`.
//!
//! # Layout
//! - `verify`: the API; `page`: the HTML pages; `openapi`: the API's
//!   description; `error`: JSON errors; [`limits`]: per-client and memory limits.

pub mod error;
pub mod guest;
pub mod limits;
mod openapi;
mod page;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use countersign_shared::verify::TrustedRoots;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::http::limits::{Clients, UploadMemory};

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Largest upload in bytes.
    pub upload_limit: usize,
    /// Public base address.
    pub public_url: String,
    /// Checks running at once: two per core. Verification is pure CPU work;
    /// the second per core covers the moments a thread hands over its result,
    /// more only add switching. A check takes its slot once its file is here.
    pub checks: Arc<Semaphore>,
    /// The checks each client address has going.
    pub clients: Arc<Clients>,
    /// Memory for uploads.
    pub memory: UploadMemory,
    /// How long an upload may take to arrive.
    pub upload_timeout: Duration,
    /// How long a check may take.
    pub check_timeout: Duration,
    /// The certificate authorities this verifier vouches for.
    pub trusted: Arc<TrustedRoots>,
    /// The guest signer's page, when this verifier serves it.
    pub guest: Option<guest::GuestFiles>,
}

impl AppState {
    /// The state for `config`, trusting `trusted`.
    pub fn new(config: &Config, trusted: TrustedRoots) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        AppState {
            upload_limit: config.upload_limit(),
            public_url: config.public_url.clone(),
            checks: Arc::new(Semaphore::new(cores * 2)),
            clients: Arc::new(Clients::new(config.per_client)),
            memory: UploadMemory::new(config.upload_memory_mb),
            upload_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            check_timeout: Duration::from_millis(config.check_timeout_ms.max(1)),
            trusted: Arc::new(trusted),
            guest: None,
        }
    }
}

/// The service for `config`, trusting no certificate authority.
pub fn app(config: &Config) -> Router {
    app_with(AppState::new(config, TrustedRoots::none()))
}

/// The service with `state`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so that the
/// per-client limit knows who each client is (without it, every request
/// counts as one anonymous client).
pub fn app_with(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::home))
        .route("/e/{id}", get(page::envelope))
        .route("/join", get(page::join))
        .route("/assets/join.js", get(page::join_script))
        .route("/assets/verify.js", get(page::verify_script))
        .route("/sign", get(guest::page))
        .route("/guest/{*file}", get(guest::file))
        .route("/api/v1/verify", post(verify::verify_upload))
        .route("/api/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/healthz", get(|| async { "ok" }))
        // Uploads are read and limited by `verify` itself.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
