//! The node's local HTTP API, on 127.0.0.1 only.
//!
//! The `countersign` CLI drives the node through it, and the same server
//! serves the web app ([`crate::web`]). It is protected so that other local
//! users and web pages cannot use it: every request needs the bearer token
//! from the data dir's owner-only `api.json` (or the web app's session
//! cookie), the `Host` must be the loopback address (no DNS rebinding), and a
//! browser's cross-site `Origin` is refused.
//!
//! Routes (all JSON unless noted):
//! - `GET  /api/v1/node`: this node's peer id, key and addresses.
//! - `POST /api/v1/documents` (raw PDF): prepares it for signing and stores it;
//!   answers its hash, pages and the active content removed.
//! - `POST /api/v1/blobs` (raw bytes): stores an image (or an already prepared PDF), answers its hash.
//! - `POST /api/v1/envelopes`: creates and sends an envelope.
//! - `GET  /api/v1/envelopes`, `GET /api/v1/envelopes/{id}`: the pipeline, one envelope.
//!   The latter carries an `ETag`; with `If-None-Match` and `?wait=SECONDS`
//!   (at most 60) it answers when the envelope has changed, or `304` when the
//!   wait is over (a long poll: `countersign watch` follows an envelope so).
//! - `POST /api/v1/join`: joins with an invite link.
//! - `POST /api/v1/envelopes/{id}/sign`, `.../decline`, `.../void` (the sender
//!   withdraws it; decline and void take `{"reason": …}`): acts; `.../remind`: remind who must act.
//! - `GET  /api/v1/envelopes/{id}/final.pdf`: the final PDF.
//! - `GET  /api/v1/transfers`: blobs arriving, with progress.
//! - `POST /api/v1/login`: a one-time sign-in link for the web app.
//! - `POST /api/v1/templates/{id}/send`: one envelope per JSON row (a CRM's deals).

pub mod error;
mod local_user;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use countersign_shared::hash::EnvelopeId;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::NodeError;
use crate::api::error::{ApiError, ErrorKind};
use crate::app::requests::{CreateRequest, SignRequest};
use crate::documents::PreparedDocument;
use crate::envelopes::Summary;
use crate::handle::NodeHandle;
use crate::web::{self, Sessions};

/// Largest upload (a PDF or an image).
pub const MAX_UPLOAD: usize = 256 * 1024 * 1024;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The node the requests act on.
    pub(crate) node: NodeHandle,
    token: String,
    /// The port the server listens on (the only `Host` and `Origin` accepted).
    pub port: u16,
    /// The web app's sign-in codes and session.
    pub sessions: Arc<Sessions>,
}

/// Who may use the server (see [`guard`]): the API's token and the web
/// app's sessions, for a server on `port`. The setup page, before the node
/// has an identity, is behind the same gate.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Bearer token; never logged.
    token: String,
    /// The port the server listens on (the only `Host` and `Origin` accepted).
    pub port: u16,
    /// The web app's sign-in codes and session.
    pub sessions: Arc<Sessions>,
}

impl Gate {
    /// The gate of a server on `port` opened by `token` or a session of `sessions`.
    pub fn new(token: String, port: u16, sessions: Arc<Sessions>) -> Gate {
        Gate { token, port, sessions }
    }
}

impl FromRef<AppState> for Gate {
    fn from_ref(state: &AppState) -> Gate {
        Gate { token: state.token.clone(), port: state.port, sessions: state.sessions.clone() }
    }
}

/// `POST /api/v1/join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The invitation link.
    pub link: String,
    /// The 6-digit code texted to the party, when the sender asked for one.
    #[serde(default)]
    pub code: Option<String>,
    /// Where the sender's node emails the final PDF (for a party whose node
    /// can only text them).
    #[serde(default)]
    pub email: Option<String>,
}

/// A code as typed: six digits, spaces allowed.
pub fn parse_code(text: &str) -> Result<u32, ApiError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid("the code is the 6 digits of the text message"));
    }
    digits.parse().map_err(|_| ApiError::invalid("the code is the 6 digits of the text message"))
}

/// `POST .../decline` and `.../void`: why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeclineRequest {
    /// Why.
    pub reason: String,
}

/// `POST /api/v1/login`'s answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginLink {
    /// Opens the web app signed in; works once, for ten minutes.
    pub url: String,
}

/// The router of `node`, behind `gate`.
pub fn app(node: NodeHandle, gate: Gate) -> Router {
    let Gate { token, port, sessions } = gate;
    let state = AppState { node, token, port, sessions };
    Router::new()
        .merge(web::router())
        .route("/app/login", get(web::login))
        .route("/api/v1/login", post(login_link))
        .route("/api/v1/templates/{id}/send", post(web::templates::api_send))
        .route("/api/v1/node", get(|State(s): State<AppState>| async move { json(s.node.info().await) }))
        .route("/api/v1/documents", post(put_document))
        .route("/api/v1/blobs", post(put_blob))
        .route("/api/v1/envelopes", post(create).get(|State(s): State<AppState>| async move { json(s.node.list().await) }))
        .route("/api/v1/envelopes/{id}", get(status))
        .route("/api/v1/envelopes/{id}/sign", post(sign))
        .route("/api/v1/envelopes/{id}/decline", post(decline))
        .route("/api/v1/envelopes/{id}/void", post(void))
        .route("/api/v1/envelopes/{id}/remind", post(remind))
        .route("/api/v1/envelopes/{id}/final.pdf", get(export))
        .route("/api/v1/envelopes/{id}/raw", post(import_raw))
        .route("/api/v1/join", post(join))
        .route("/api/v1/transfers", get(|State(s): State<AppState>| async move { json(s.node.transfers().await) }))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .layer(middleware::from_fn_with_state(Gate::from_ref(&state), guard))
        .with_state(state)
}

/// Refuses requests without the token or session, for another host, or from
/// another site. Only `/app/login` is open (it checks its one-time code).
pub(crate) async fn guard(State(state): State<Gate>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let port = state.port;
    let host_ok =
        header_str(headers, header::HOST).is_some_and(|host| host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}"));
    let origin = header_str(headers, header::ORIGIN);
    let own_origin = |o: &str| o == format!("http://127.0.0.1:{port}") || o == format!("http://localhost:{port}");
    let expected = format!("Bearer {}", state.token);
    let token_ok = header_str(headers, header::AUTHORIZATION).is_some_and(|given| same_secret(given, &expected));
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    // Another user of this machine, whatever secret they hold (see `local_user`).
    let other_user = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|ConnectInfo(client)| local_user::same_user(*client, port) == Some(false));
    let allowed = host_ok
        && !other_user
        && if token_ok {
            origin.is_none_or(own_origin)
        } else if state.sessions.signed_in(headers, port) {
            // A browser: reads may come without an Origin; acts must come from our own pages.
            if reads { origin.is_none_or(own_origin) } else { origin.is_some_and(own_origin) }
        } else {
            request.uri().path() == "/app/login" && reads
        };
    if !allowed {
        if request.uri().path().starts_with("/app") {
            return web::signed_out();
        }
        return ApiError::new(ErrorKind::Forbidden, "this API is for the node's own user: the token from the data dir is required")
            .into_response();
    }
    let mut response = next.run(request).await;
    protect(response.headers_mut());
    response
}

/// Headers that keep our pages out of other sites' frames and scripts. (The
/// referrer policy stays `same-origin`: with `no-referrer` a browser sends
/// `Origin: null` with our own forms, and the guard would refuse them.)
fn protect(headers: &mut HeaderMap) {
    let set = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        ),
    ];
    for (name, value) in set {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
}

async fn login_link(State(state): State<AppState>) -> Json<LoginLink> {
    Json(LoginLink { url: format!("http://127.0.0.1:{}/app/login?code={}", state.port, state.sessions.new_code()) })
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Compares secrets without revealing where they differ.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The node's answer as JSON, or its error as the API's.
fn json<T: Serialize>(answer: Result<T, NodeError>) -> Result<Json<T>, ApiError> {
    Ok(Json(answer?))
}

/// Reads an envelope id from a path.
pub(crate) fn envelope_id(text: &str) -> Result<EnvelopeId, ApiError> {
    text.parse().map_err(|_| ApiError::invalid(format!("'{text}' is not an envelope id (64 hexadecimal digits)")))
}

#[derive(Debug, Serialize)]
struct Stored {
    hash: String,
}

async fn put_blob(State(state): State<AppState>, body: Bytes) -> Result<Json<Stored>, ApiError> {
    let hash = state.node.put_blob(body.to_vec()).await?;
    Ok(Json(Stored { hash: hash.to_string() }))
}

async fn put_document(State(state): State<AppState>, body: Bytes) -> Result<Json<PreparedDocument>, ApiError> {
    json(state.node.put_document(body.to_vec()).await)
}

async fn create(state: State<AppState>, Json(request): Json<CreateRequest>) -> impl IntoResponse {
    json(state.node.create(request).await).map(|created| (StatusCode::CREATED, created))
}

/// `GET /api/v1/envelopes/{id}`'s query.
#[derive(Debug, Deserialize)]
struct StatusQuery {
    /// Seconds to wait for a change from the state named by `If-None-Match`.
    wait: Option<u64>,
}

/// The longest a status request waits for a change.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a waiting status request looks again even without news (the
/// messages' delivery state changes without an event).
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(1);

async fn status(State(state): State<AppState>, Path(id): Path<String>, Query(query): Query<StatusQuery>, headers: HeaderMap) -> Response {
    let answer = async {
        let envelope = envelope_id(&id)?;
        let seen = header_str(&headers, header::IF_NONE_MATCH).map(str::to_owned);
        let wait = std::time::Duration::from_secs(query.wait.unwrap_or(0)).min(LONGEST_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        state.node.status(envelope).await?;
        loop {
            let changed = |summary: &Summary| seen.as_deref() != Some(etag(summary).as_str());
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match state.node.wait_for(envelope, left.min(LOOK_AGAIN), changed).await {
                Ok(summary) => return Ok::<_, ApiError>((StatusCode::OK, [(header::ETAG, etag(&summary))], Json(summary)).into_response()),
                Err(NodeError::TimedOut(_)) if !left.is_zero() => continue,
                Err(NodeError::TimedOut(_)) => {
                    let unchanged = seen.unwrap_or_default();
                    return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, unchanged)]).into_response());
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

/// A summary's entity tag: the hash of what the API answers for it.
fn etag(summary: &Summary) -> String {
    let json = serde_json::to_vec(summary).unwrap_or_default();
    format!("\"{}\"", countersign_shared::Hash::of(&json).short())
}

async fn sign(state: State<AppState>, Path(id): Path<String>, Json(request): Json<SignRequest>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    json(state.node.sign(envelope, request).await)
}

async fn decline(state: State<AppState>, Path(id): Path<String>, Json(request): Json<DeclineRequest>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    json(state.node.decline(envelope, request.reason).await)
}

async fn void(state: State<AppState>, Path(id): Path<String>, Json(request): Json<DeclineRequest>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    json(state.node.void(envelope, request.reason).await)
}

async fn remind(state: State<AppState>, Path(id): Path<String>) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    json(state.node.remind(envelope).await)
}

async fn export(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let envelope = envelope_id(&id)?;
    let pdf = state.node.final_pdf(envelope).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

async fn import_raw(state: State<AppState>, Path(id): Path<String>, body: Bytes) -> impl IntoResponse {
    let envelope = envelope_id(&id)?;
    json(state.node.import_raw(envelope, body.to_vec()).await)
}

async fn join(state: State<AppState>, Json(request): Json<JoinRequest>) -> impl IntoResponse {
    let code = request.code.as_deref().filter(|c| !c.trim().is_empty()).map(parse_code).transpose()?;
    if let Some(email) = request.email.as_deref().map(str::trim).filter(|e| !e.is_empty())
        && !matches!(countersign_shared::model::Contact::parse(email), Ok(countersign_shared::model::Contact::Email(_)))
    {
        return Err(ApiError::invalid(format!("'{email}' is not an email address")));
    }
    let envelope = state.node.join(request.link, code).await?;
    if let Some(email) = request.email.filter(|e| !e.trim().is_empty()) {
        state.node.set_email(envelope_id(&envelope)?, email).await?;
    }
    Ok::<_, ApiError>(Json(envelope))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use tower::ServiceExt as _;

    use tokio::sync::mpsc;

    use super::*;
    use crate::app::command::Command;
    use crate::app::requests::NodeInfo;

    /// A router whose "node" answers `Info` and nothing else.
    fn router() -> Router {
        let (commands, mut inbox) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Some(command) = inbox.recv().await {
                if let Command::Info { reply } = command {
                    let info = NodeInfo {
                        peer_id: "12D3test".into(),
                        key: String::new(),
                        fingerprint: String::new(),
                        name: "Anna".into(),
                        contact: None,
                        addresses: vec![],
                        clock_warning: None,
                    };
                    let _ = reply.send(Ok(info));
                }
            }
        });
        app(NodeHandle::new(commands, tokio::sync::broadcast::channel(1).0), Gate::new("s3cret".into(), 4242, web::sessions()))
    }

    async fn status(headers: &[(&str, &str)]) -> StatusCode {
        let mut request = HttpRequest::get("/api/v1/node");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        router().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    /// A request to the test router with `headers`.
    async fn send(method: &str, path: &str, headers: &[(&str, &str)], router: &Router) -> axum::response::Response {
        let mut request = HttpRequest::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn the_web_app_signs_in_once_with_a_code_and_then_only_acts_from_its_own_pages() {
        let (commands, _inbox) = mpsc::channel(8);
        let sessions = web::sessions();
        let router =
            app(NodeHandle::new(commands, tokio::sync::broadcast::channel(1).0), Gate::new("s3cret".into(), 4242, sessions.clone()));
        let host = ("host", "127.0.0.1:4242");
        let asset = "/app/assets/app.css";
        assert_eq!(send("GET", asset, &[host], &router).await.status(), StatusCode::FORBIDDEN, "no session yet");

        let code = sessions.new_code();
        let login = send("GET", &format!("/app/login?code={code}"), &[host], &router).await;
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let cookie = login.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("countersign_4242=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let session = cookie.split(';').next().unwrap().to_owned();
        let again = send("GET", &format!("/app/login?code={code}"), &[host], &router).await;
        assert_eq!(again.status(), StatusCode::FORBIDDEN, "a code works once");
        assert_eq!(send("GET", "/app/login?code=guess", &[host], &router).await.status(), StatusCode::FORBIDDEN);

        let with_cookie = ("cookie", session.as_str());
        let page = send("GET", asset, &[host, with_cookie], &router).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::X_FRAME_OPTIONS], "DENY", "no other site may frame our pages");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(send("GET", asset, &[("host", "evil.example:4242"), with_cookie], &router).await.status(), StatusCode::FORBIDDEN);
        let act = "/app/e/00/decline";
        let own = ("origin", "http://127.0.0.1:4242");
        let other_port = ("origin", "http://127.0.0.1:9999");
        assert_eq!(send("POST", act, &[host, with_cookie], &router).await.status(), StatusCode::FORBIDDEN, "an act without Origin");
        assert_eq!(
            send("POST", act, &[host, with_cookie, other_port], &router).await.status(),
            StatusCode::FORBIDDEN,
            "another local site"
        );
        assert_ne!(send("POST", act, &[host, with_cookie, own], &router).await.status(), StatusCode::FORBIDDEN, "our own page");
        let forged = ("cookie", "countersign_4242=0000");
        assert_eq!(send("GET", asset, &[host, forged], &router).await.status(), StatusCode::FORBIDDEN, "a made-up session");
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
