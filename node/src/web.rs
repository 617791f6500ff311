//! The node's web app, for people who never type a CLI command: server-rendered
//! HTML with a little JavaScript, served by the same loopback server as the
//! API (see [`crate::api`]), under `/app`.
//!
//! - `/app`: the pipeline, a board of envelopes by stage ([`pipeline`]).
//! - `/app/new`: upload a PDF, place fields, add parties, send ([`prepare`]).
//! - `/app/e/{id}`: the document page: timeline, downloads, verification,
//!   and signing or declining when it is my turn ([`document`]).
//! - `/app/e/{id}/again`: a declined envelope, corrected and sent again ([`prepare`]).
//! - `/app/messages`: messages to send by hand, without email or SMS settings ([`messages`]).
//! - `/app/join`: join with an invitation link ([`join`]).
//! - `/app/templates`: saved documents; one envelope per CSV row ([`templates`]).
//! - `/app/preview/{hash}/{page}`: a page of a PDF as PNG ([`preview`]).
//! - `/app/team`: the company directory, colleague links ([`team`]).
//! - `/app/settings`: verifier, company, email and SMS, the company's CA ([`settings`]).
//! - `/app/setup`: the first run, before the node has an identity ([`setup`]).
//!
//! # Who may use it
//! The browser signs in with a one-time code (`countersign app` or `serve`
//! prints a link holding one): `/app/login?code=…` swaps it for a session
//! cookie named after the port (cookies do not tell ports apart, and several
//! nodes may run on one machine), `HttpOnly` and `SameSite=Strict`. The API's
//! guard accepts that cookie besides the bearer token, still checks `Host`,
//! and for anything but a read requires the page's own `Origin`, so another
//! site (or another local server on another port) cannot act through it.

mod assets;
mod document;
mod join;
mod layout;
mod messages;
mod pipeline;
mod prepare;
mod preview;
mod settings;
pub mod setup;
mod team;
pub mod templates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::api::error::ApiError;
use crate::api::{AppState, Gate};
use crate::party::random_hex;

/// How long a sign-in code printed in a link stays usable.
const LOGIN_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The web app's sessions: one-time sign-in codes and the session secret.
#[derive(Debug)]
pub struct Sessions {
    /// The cookie value of a signed-in browser (random per run).
    secret: String,
    /// Unused sign-in codes and when they were made.
    codes: Mutex<HashMap<String, Instant>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { secret: random_hex(), codes: Mutex::default() }
    }
}

impl Sessions {
    /// A new one-time sign-in code.
    pub fn new_code(&self) -> String {
        let code = random_hex();
        let mut codes = self.codes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        codes.retain(|_, made| made.elapsed() < LOGIN_CODE_LIFETIME);
        codes.insert(code.clone(), Instant::now());
        code
    }

    /// Uses up `code`: true once, if it was issued and is still fresh.
    fn redeem(&self, code: &str) -> bool {
        let mut codes = self.codes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        codes.remove(code).is_some_and(|made| made.elapsed() < LOGIN_CODE_LIFETIME)
    }

    /// Whether `headers` carry this run's session cookie for `port`.
    pub fn signed_in(&self, headers: &HeaderMap, port: u16) -> bool {
        let name = cookie_name(port);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .any(|cookie| cookie.name() == name && crate::api::same_secret(cookie.value(), &self.secret))
    }
}

fn cookie_name(port: u16) -> String {
    format!("countersign_{port}")
}

/// The web app's routes (the caller adds the guard).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(pipeline::page))
        .route("/app/board", get(pipeline::board))
        .route("/app/new", get(prepare::upload_form).post(prepare::upload))
        .route("/app/new/{hash}", get(prepare::editor).post(prepare::send))
        .route("/app/new/{hash}/draft", post(prepare::keep))
        .route("/app/new/{hash}/discard", post(prepare::discard))
        .route("/app/e/{id}", get(document::page))
        .route("/app/e/{id}/sign", post(document::sign))
        .route("/app/e/{id}/decline", post(document::decline))
        .route("/app/e/{id}/void", post(document::void))
        .route("/app/e/{id}/remind", post(document::remind))
        .route("/app/e/{id}/again", get(prepare::again))
        .route("/app/e/{id}/progress", get(document::follow))
        .route("/app/messages", get(messages::page))
        .route("/app/team", get(team::page))
        .route("/app/team/link", post(team::new_link))
        .route("/app/team/join", post(team::join))
        .route("/app/team/follow", post(team::follow))
        .route("/app/settings", get(settings::page))
        .route("/app/settings/documents", post(settings::save_documents))
        .route("/app/settings/email", post(settings::save_email))
        .route("/app/settings/sms", post(settings::save_sms))
        .route("/app/settings/test", post(settings::send_test))
        .route("/app/settings/authority", post(settings::create_authority))
        .route("/app/messages/{id}/sent", post(messages::sent))
        .route("/app/e/{id}/original.pdf", get(document::original))
        .route("/app/e/{id}/final.pdf", get(document::final_pdf))
        .route("/app/join", get(join::form).post(join::join))
        .route("/app/templates", get(templates::list).post(templates::save))
        .route("/app/templates/{id}", get(templates::open))
        .route("/app/templates/{id}/bulk", post(templates::bulk))
        .route("/app/preview/{hash}/{page}", get(preview::page))
        .route("/app/assets/{name}", get(assets::serve))
}

/// `GET /app/login?code=…`: the only web route open without a session.
#[derive(Debug, Deserialize)]
pub struct Login {
    code: String,
    /// Where to go once signed in: `join` (an invitation link handed over
    /// by the desktop rides in the fragment); otherwise the pipeline.
    next: Option<String>,
}

impl Login {
    fn next(&self) -> &'static str {
        match self.next.as_deref() {
            Some("join") => "/app/join",
            _ => "/app",
        }
    }
}

/// Swaps a one-time code for the session cookie, then opens the pipeline.
pub async fn login(State(state): State<Gate>, headers: HeaderMap, Query(login): Query<Login>) -> Response {
    if state.sessions.signed_in(&headers, state.port) {
        // Already in (the link was opened twice, or prefetched).
        return Redirect::to(login.next()).into_response();
    }
    if !state.sessions.redeem(&login.code) {
        let body = layout::bare(
            "Sign-in link used or expired",
            "This sign-in link was already used or is older than ten minutes. Run `countersign app` for a new one.",
        );
        return (StatusCode::FORBIDDEN, body).into_response();
    }
    let cookie = Cookie::build((cookie_name(state.port), state.sessions.secret.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
        .to_string();
    ([(header::SET_COOKIE, cookie)], Redirect::to(login.next())).into_response()
}

/// What a browser without a session gets.
pub fn signed_out() -> Response {
    let body = layout::bare(
        "Sign in to your node",
        "This is the Countersign app of a node on this computer. Open it with the link `countersign app` prints (or the one `countersign serve` printed at start).",
    );
    (StatusCode::FORBIDDEN, body).into_response()
}

/// Arc'd sessions for the API state.
pub fn sessions() -> Arc<Sessions> {
    Arc::new(Sessions::default())
}

/// An error shown as a page.
#[derive(Debug)]
pub struct WebError(ApiError);

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        WebError(error)
    }
}

impl From<crate::NodeError> for WebError {
    fn from(error: crate::NodeError) -> Self {
        WebError(error.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "Something went wrong" };
        (status, layout::bare(title, &self.0.message)).into_response()
    }
}
