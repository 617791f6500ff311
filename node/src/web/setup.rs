//! The first run, in the browser: a node started on a new data dir has no
//! identity yet, so its server first serves only `/app/setup`, which asks
//! for the person's name and email or phone and creates the identity. The
//! node then starts, and the same server (same port, same sign-in) serves
//! the whole app. Nobody types a command.
//!
//! The server switches by [`Phase`]: [`front`] hands each request to the
//! setup pages, waits while the node starts, or hands it to the app.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router, middleware};
use countersign_shared::model::Contact;
use maud::{Markup, html};
use serde::Deserialize;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::api::{Gate, guard};
use crate::datadir::{DataDir, Profile};
use crate::party::random_secret;
use crate::web::layout::{self, Nav};

/// How long a request waits for the node to start before it is told to retry.
const START_WAIT: Duration = Duration::from_secs(30);

/// Where the server is.
#[derive(Debug, Clone)]
pub enum Phase {
    /// The data dir has no identity: only the setup pages answer.
    Setup,
    /// The identity is being made (one request got there first).
    Creating,
    /// The identity exists; the node is starting.
    Starting,
    /// The node runs: the app answers.
    Running(Router),
    /// The node could not start; why.
    Failed(String),
}

/// What the setup pages share.
#[derive(Debug, Clone)]
struct SetupState {
    gate: Gate,
    data: DataDir,
    phase: Arc<watch::Sender<Phase>>,
}

impl FromRef<SetupState> for Gate {
    fn from_ref(state: &SetupState) -> Gate {
        state.gate.clone()
    }
}

/// The server's router: the setup pages while `phase` is [`Phase::Setup`],
/// the app once it is [`Phase::Running`].
pub fn front(gate: Gate, data: DataDir, phase: Arc<watch::Sender<Phase>>) -> Router {
    let setup = setup_router(SetupState { gate, data, phase: phase.clone() });
    Router::new().fallback(move |request: Request| {
        let (setup, mut phase) = (setup.clone(), phase.subscribe());
        async move {
            let settled = |p: &Phase| !matches!(p, Phase::Creating | Phase::Starting);
            let current = match tokio::time::timeout(START_WAIT, phase.wait_for(settled)).await {
                Ok(Ok(current)) => Some(current.clone()),
                _ => None,
            };
            let Some(current) = current else {
                let page = layout::bare("Still starting", "Your node is still starting. Reload this page in a moment.");
                return (StatusCode::SERVICE_UNAVAILABLE, page).into_response();
            };
            match current {
                Phase::Running(app) => app.oneshot(request).await.into_response(),
                Phase::Failed(why) => (StatusCode::SERVICE_UNAVAILABLE, layout::bare("Your node could not start", &why)).into_response(),
                Phase::Setup | Phase::Creating | Phase::Starting => setup.oneshot(request).await.into_response(),
            }
        }
    })
}

fn setup_router(state: SetupState) -> Router {
    Router::new()
        .route("/app/login", get(super::login))
        .route("/api/v1/login", axum::routing::post(login_link))
        .route("/app/setup", get(form).post(create))
        .route("/app/assets/{name}", get(super::assets::serve))
        .fallback(elsewhere)
        .layer(middleware::from_fn_with_state(state.gate.clone(), guard))
        .with_state(state)
}

/// `POST /api/v1/login` during setup: `countersign` run again opens the
/// setup page in a new tab.
async fn login_link(State(state): State<SetupState>) -> axum::Json<crate::api::LoginLink> {
    let url = format!("http://127.0.0.1:{}/app/login?code={}", state.gate.port, state.gate.sessions.new_code());
    axum::Json(crate::api::LoginLink { url })
}

/// Every other page leads to the setup; the API says the node is not ready.
async fn elsewhere(uri: Uri) -> Response {
    if uri.path().starts_with("/app") {
        Redirect::to("/app/setup").into_response()
    } else {
        let message = "this node has no identity yet: finish setting it up in the web app";
        crate::api::error::ApiError::new(crate::api::error::ErrorKind::Unavailable, message).into_response()
    }
}

/// What the setup form sends.
#[derive(Debug, Default, Deserialize)]
struct Identity {
    name: String,
    #[serde(default)]
    contact: String,
    /// A colleague's link, to join the company's directory at once.
    #[serde(default)]
    team_link: String,
}

/// Where a colleague link given at setup waits for the node to start (it
/// joins the company's directory then; see [`take_team_link`]).
const TEAM_LINK_FILE: &str = "team-link";

/// The colleague link given at setup, if any (read once).
pub fn take_team_link(data: &DataDir) -> Option<String> {
    let path = data.path(TEAM_LINK_FILE);
    let link = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    Some(link.trim().to_owned()).filter(|l| !l.is_empty())
}

/// `GET /app/setup`.
async fn form(State(state): State<SetupState>) -> Response {
    if !matches!(*state.phase.borrow(), Phase::Setup) {
        return Redirect::to("/app").into_response();
    }
    page(&Identity::default(), &[]).into_response()
}

/// `POST /app/setup`: creates the identity, then lets the node start.
async fn create(State(state): State<SetupState>, Form(identity): Form<Identity>) -> Response {
    if !matches!(*state.phase.borrow(), Phase::Setup) {
        return Redirect::to("/app").into_response();
    }
    let mut problems = Vec::new();
    let name = identity.name.trim();
    if name.is_empty() {
        problems.push(("name", "Enter your name as it should appear on the documents you sign.".to_owned()));
    } else if let Err(e) = countersign_shared::font::check_text(name) {
        problems.push(("name", format!("Your name: {e}.")));
    }
    let contact = identity.contact.trim();
    if !contact.is_empty()
        && let Err(e) = Contact::parse(contact)
    {
        problems.push(("contact", format!("{e}.")));
    }
    let team_link = identity.team_link.trim();
    if !team_link.is_empty()
        && let Err(e) = crate::directory::ColleagueLink::parse(team_link)
    {
        problems.push(("team_link", format!("This is not a colleague link ({e}): copy it again, or leave it empty.")));
    }
    if !problems.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, page(&identity, &problems)).into_response();
    }
    let profile = Profile { name: name.to_owned(), contact: (!contact.is_empty()).then(|| contact.to_owned()) };
    // One request makes the identity (a double click sends two).
    let claimed = state.phase.send_if_modified(|phase| match phase {
        Phase::Setup => {
            *phase = Phase::Creating;
            true
        }
        _ => false,
    });
    if !claimed {
        return Redirect::to("/app").into_response();
    }
    let data = state.data.clone();
    let team_link = team_link.to_owned();
    let made = tokio::task::spawn_blocking(move || {
        let key = data.init(&profile, random_secret())?;
        // The identity is made: a link that cannot be kept is only lost (it
        // can be pasted again under Your company).
        if !team_link.is_empty()
            && let Err(e) = crate::datadir::write_atomic(&data.path(TEAM_LINK_FILE), team_link.as_bytes(), true)
        {
            tracing::warn!("the colleague link given at setup cannot be kept: {e}");
        }
        Ok::<_, crate::datadir::DataDirError>(key)
    })
    .await;
    match made {
        Ok(Ok(_)) => {
            tracing::info!("created this node's identity in {}", state.data.root().display());
            state.phase.send_replace(Phase::Starting);
            let next = if identity.team_link.trim().is_empty() { "/app?welcome=1" } else { "/app/team?joining=1" };
            Redirect::to(next).into_response()
        }
        Ok(Err(e)) => {
            state.phase.send_replace(Phase::Setup);
            (StatusCode::INTERNAL_SERVER_ERROR, page(&identity, &[("general", e.to_string())])).into_response()
        }
        Err(_) => {
            state.phase.send_replace(Phase::Setup);
            (StatusCode::INTERNAL_SERVER_ERROR, page(&identity, &[("general", "creating the identity stopped unexpectedly".into())]))
                .into_response()
        }
    }
}

fn page(identity: &Identity, problems: &[(&str, String)]) -> Markup {
    let problem = |key: &str| problems.iter().find(|(k, _)| *k == key).map(|(_, m)| m.as_str());
    let body = html! {
        section.panel.narrow #setup {
            h1 { "Welcome to Countersign" }
            p.lede {
                "Sign documents with the people you work with, straight from this computer: your documents and your signing key stay here. "
                "First, tell us who you are."
            }
            @if let Some(message) = problem("general") {
                p.notice.bad role="alert" { (message) }
            }
            form #setup-form method="post" action="/app/setup" {
                label for="name" { "Your name" }
                input #name type="text" name="name" value=(identity.name) required autocomplete="name" aria-describedby="err-name" autofocus;
                p.error #err-name role="alert" { @if let Some(m) = problem("name") { (m) } }
                p.small.muted { "As it appears on the documents you sign and on their certificate page." }
                label for="contact" { "Email or mobile number" }
                input #contact type="text" name="contact" value=(identity.contact) autocomplete="email" placeholder="you@company.com or +44 7700 900123" aria-describedby="err-contact";
                p.error #err-contact role="alert" { @if let Some(m) = problem("contact") { (m) } }
                p.small.muted { "Where you are told that a document waits for you or is signed by everyone. You may leave it empty." }
                label for="team_link" { "A colleague's link (optional)" }
                input.mono #team_link type="text" name="team_link" value=(identity.team_link) placeholder="countersign://team/…" aria-describedby="err-team_link";
                p.error #err-team_link role="alert" { @if let Some(m) = problem("team_link") { (m) } }
                p.small.muted { "When a colleague gave you one: you join your company, and documents for you reach this computer by themselves." }
                div.actions { button.primary type="submit" { "Start" } }
            }
        }
    };
    layout::page("Welcome", Nav::Setup, &[], body)
}
