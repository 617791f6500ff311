//! The node's local HTTP API, on 127.0.0.1 only.
//!
//! The `countersign` CLI (and later the web app) drives the node through it.
//! It is protected so that other local users and web pages cannot use it:
//! every request needs the bearer token from the data dir's owner-only
//! `api.json`, the `Host` must be the loopback address (no DNS rebinding), and
//! a browser's cross-site `Origin` is refused.
//!
//! Routes (all JSON unless noted):
//! - `GET  /api/v1/node`: this node's peer id, key and addresses.
//! - `POST /api/v1/blobs` (raw bytes): stores a PDF or image, answers its hash.
//! - `POST /api/v1/envelopes`: creates and sends an envelope.
//! - `GET  /api/v1/envelopes`, `GET /api/v1/envelopes/{id}`: the pipeline, one envelope.
//! - `POST /api/v1/join`: joins with an invite link.
//! - `POST /api/v1/envelopes/{id}/sign`, `.../decline`: acts.
//! - `GET  /api/v1/envelopes/{id}/final.pdf`: the final PDF.
//! - `GET  /api/v1/transfers`: blobs arriving, with progress.

pub mod error;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use countersign_shared::hash::EnvelopeId;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::api::error::{ApiError, ErrorKind};
use crate::net::command::{Command, CreateRequest, Reply, SignRequest};

/// Largest upload (a PDF or an image).
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    commands: mpsc::Sender<Command>,
    token: String,
    port: u16,
}

/// `POST /api/v1/join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The invitation link.
    pub link: String,
}

/// `POST .../decline`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeclineRequest {
    /// Why.
    pub reason: String,
}

/// The router, for a node listening on `port`, guarded by `token`.
pub fn app(commands: mpsc::Sender<Command>, token: String, port: u16) -> Router {
    let state = AppState { commands, token, port };
    Router::new()
        .route("/api/v1/node", get(|s: State<AppState>| ask(s, Command::Info)))
        .route("/api/v1/blobs", post(put_blob))
        .route("/api/v1/envelopes", post(create).get(|s: State<AppState>| ask(s, Command::List)))
        .route("/api/v1/envelopes/{id}", get(status))
        .route("/api/v1/envelopes/{id}/sign", post(sign))
        .route("/api/v1/envelopes/{id}/decline", post(decline))
        .route("/api/v1/envelopes/{id}/final.pdf", get(export))
        .route("/api/v1/envelopes/{id}/raw", post(import_raw))
        .route("/api/v1/join", post(join))
        .route("/api/v1/transfers", get(|s: State<AppState>| ask(s, Command::Transfers)))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Refuses requests without the token, for another host, or from a web page.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host_ok = header_str(headers, header::HOST)
        .is_some_and(|host| host == format!("127.0.0.1:{}", state.port) || host == format!("localhost:{}", state.port));
    let origin_ok = header_str(headers, header::ORIGIN).is_none_or(|origin| origin == format!("http://127.0.0.1:{}", state.port));
    let expected = format!("Bearer {}", state.token);
    let token_ok = header_str(headers, header::AUTHORIZATION).is_some_and(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()));
    if !(host_ok && origin_ok && token_ok) {
        return ApiError::new(ErrorKind::Forbidden, "this API is for the node's own user: the token from the data dir is required")
            .into_response();
    }
    next.run(request).await
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Sends a command and waits for its reply.
async fn ask<T: Serialize>(State(state): State<AppState>, make: impl FnOnce(Reply<T>) -> Command) -> Result<Json<T>, ApiError> {
    Ok(Json(call(&state, make).await?))
}

async fn call<T>(state: &AppState, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ApiError> {
    let (reply, answer) = oneshot::channel();
    state.commands.send(make(reply)).await.map_err(|_| ApiError::new(ErrorKind::Internal, "the node is shutting down"))?;
    match tokio::time::timeout(Duration::from_secs(90), answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(ApiError::new(ErrorKind::Internal, "the node dropped the request")),
        Err(_) => Err(ApiError::new(ErrorKind::Unavailable, "the node did not answer in time")),
    }
}

fn envelope_id(text: &str) -> Result<EnvelopeId, ApiError> {
    text.parse().map_err(|_| ApiError::invalid(format!("'{text}' is not an envelope id (64 hexadecimal digits)")))
}

#[derive(Debug, Serialize)]
struct Stored {
    hash: String,
}

async fn put_blob(State(state): State<AppState>, body: Bytes) -> Result<Json<Stored>, ApiError> {
    let hash = call(&state, |reply| Command::PutBlob(body.to_vec(), reply)).await?;
    Ok(Json(Stored { hash: hash.to_string() }))
}

async fn create(state: State<AppState>, Json(request): Json<CreateRequest>) -> impl IntoResponse {
    ask(state, |reply| Command::Create(Box::new(request), reply)).await.map(|created| (StatusCode::CREATED, created))
}

async fn status(state: State<AppState>, Path(id): Path<String>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    ask(state, |reply| Command::Status(envelope, reply)).await
}

async fn sign(state: State<AppState>, Path(id): Path<String>, Json(request): Json<SignRequest>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    ask(state, |reply| Command::Sign(envelope, request, reply)).await
}

async fn decline(state: State<AppState>, Path(id): Path<String>, Json(request): Json<DeclineRequest>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    ask(state, |reply| Command::Decline(envelope, request.reason, reply)).await
}

async fn export(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let envelope = envelope_id(&id)?;
    let pdf = call(&state, |reply| Command::Export(envelope, reply)).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

async fn import_raw(state: State<AppState>, Path(id): Path<String>, body: Bytes) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    ask(state, |reply| Command::ImportRaw(envelope, body.to_vec(), reply)).await
}

async fn join(state: State<AppState>, Json(request): Json<JoinRequest>) -> impl IntoResponse {
    ask(state, |reply| Command::Join(request.link, reply)).await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use tower::ServiceExt as _;

    use super::*;
    use crate::net::command::NodeInfo;

    /// A router whose "node" answers `Info` and nothing else.
    fn router() -> Router {
        let (commands, mut inbox) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(command) = inbox.recv().await {
                if let Command::Info(reply) = command {
                    let info = NodeInfo {
                        peer_id: "12D3test".into(),
                        key: String::new(),
                        fingerprint: String::new(),
                        name: "Anna".into(),
                        addresses: vec![],
                    };
                    let _ = reply.send(Ok(info));
                }
            }
        });
        app(commands, "s3cret".into(), 4242)
    }

    async fn status(headers: &[(&str, &str)]) -> StatusCode {
        let mut request = HttpRequest::get("/api/v1/node");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        router().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn only_the_token_holder_on_loopback_gets_in() {
        let host = ("host", "127.0.0.1:4242");
        let token = ("authorization", "Bearer s3cret");
        assert_eq!(status(&[host, token]).await, StatusCode::OK);
        assert_eq!(status(&[("host", "localhost:4242"), token]).await, StatusCode::OK);
        assert_eq!(status(&[host]).await, StatusCode::FORBIDDEN, "no token");
        assert_eq!(status(&[host, ("authorization", "Bearer guess")]).await, StatusCode::FORBIDDEN, "wrong token");
        assert_eq!(status(&[("host", "evil.example:4242"), token]).await, StatusCode::FORBIDDEN, "DNS rebinding");
        assert_eq!(status(&[host, token, ("origin", "https://evil.example")]).await, StatusCode::FORBIDDEN, "a web page");
    }
}
