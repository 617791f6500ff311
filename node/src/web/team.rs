//! `/app/team`: the company directory. Colleagues listed by name; a
//! colleague link (and its QR code) to bring someone in; a form to join with
//! a colleague's link. A document sent to a colleague then lands on their
//! board by itself (see [`crate::directory`]).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::app::requests::TeamView;
use crate::directory::Member;
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// `?joining=1`: the first run was given a colleague link; the node joins as it starts.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Joining {
    #[serde(default)]
    joining: Option<u8>,
}

/// `GET /app/team`.
pub(super) async fn page(State(state): State<AppState>, Query(joining): Query<Joining>) -> Result<Markup, WebError> {
    let view = state.node.team().await?;
    let said = "Joining your company through your colleague's node: your colleagues show here in a moment (reload the page).";
    let outcome = (joining.joining.is_some() && view.members.is_empty()).then_some(Ok(said));
    Ok(render(&view, None, outcome))
}

/// What the colleague-link form sends.
#[derive(Debug, Deserialize)]
pub(super) struct LinkForm {
    #[serde(default)]
    contact: String,
}

/// `POST /app/team/link`: a new colleague link for the colleague with this
/// email or phone, shown with its QR code.
pub(super) async fn new_link(State(state): State<AppState>, Form(form): Form<LinkForm>) -> Result<Response, WebError> {
    let view = state.node.team().await?;
    Ok(match state.node.colleague_link(form.contact.trim().to_owned()).await {
        Ok(link) => render(&view, Some(&link), None).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            (e.status(), render(&view, None, Some(Err(&format!("No link made: {}", e.message))))).into_response()
        }
    })
}

/// What the join form sends.
#[derive(Debug, Deserialize)]
pub(super) struct JoinForm {
    #[serde(default)]
    link: String,
}

/// What the follow form sends (a checkbox: present when ticked).
#[derive(Debug, Deserialize)]
pub(super) struct FollowForm {
    #[serde(default)]
    follow: Option<String>,
}

/// `POST /app/team/follow`: a manager follows the team's documents, or stops.
pub(super) async fn follow(State(state): State<AppState>, Form(form): Form<FollowForm>) -> Result<Response, WebError> {
    let follow = form.follow.is_some();
    state.node.follow_team(follow).await?;
    let said = if follow {
        "You follow the team's documents: from now on your colleagues' documents come to your board, with you as a viewer. Pick Created by: My team on the pipeline."
    } else {
        "You no longer follow the team's documents."
    };
    Ok(render(&state.node.team().await?, None, Some(Ok(said))).into_response())
}

/// `POST /app/team/join`: joins with a colleague's link.
pub(super) async fn join(State(state): State<AppState>, Form(form): Form<JoinForm>) -> Result<Response, WebError> {
    let outcome = match state.node.join_team(form.link.trim().to_owned()).await {
        Ok(()) => Ok("You joined your company's directory: your colleagues are listed below.".to_owned()),
        Err(e) => Err(ApiError::from(e)),
    };
    let view = state.node.team().await?;
    Ok(match outcome {
        Ok(message) => render(&view, None, Some(Ok(&message))).into_response(),
        Err(e) => (e.status().max(StatusCode::BAD_REQUEST), render(&view, None, Some(Err(&e.message)))).into_response(),
    })
}

fn card(member: &Member, me: bool) -> Markup {
    html! {
        li {
            div {
                strong { (member.name) } @if me { " (you)" }
                div.small.muted { (member.contact.as_deref().unwrap_or("no email or phone")) }
                div.small.muted { "key " span.mono { (member.key.fingerprint()) } }
            }
        }
    }
}

fn render(view: &TeamView, link: Option<&str>, outcome: Option<Result<&str, &str>>) -> Markup {
    let body = html! {
        div.toolbar { div.grow { h1 { "Your company" } p.muted { "Documents for a colleague listed here reach their Countersign board by themselves, with no link to pass on." } } }
        @match outcome {
            Some(Ok(message)) => p.notice.ok #team-said role="status" { (message) },
            Some(Err(message)) => p.notice.bad #team-said role="alert" { (message) },
            None => {},
        }
        div.cols {
            section.panel #members {
                h2 { "People" }
                ol.parties {
                    (card(&view.me, true))
                    @for member in &view.members { (card(member, false)) }
                }
                @if view.members.is_empty() {
                    p.small.muted { "No colleagues yet: invite one, or join your company with a colleague's link." }
                }
            }
            div {
                section.panel #invite-colleague {
                    h2 { "Invite a colleague" }
                    p.small.muted { "A link for one colleague, for a week. They paste it in their Countersign app (on its first start, or under Your company); documents for their email or phone then reach them there." }
                    @if let Some(link) = link {
                        label for="colleague-link" { "Colleague link" }
                        input.mono #colleague-link type="text" readonly value=(link);
                        div.actions { button.small-button type="button" data-copy="colleague-link" { "Copy link" } }
                        div aria-label="QR code of the colleague link" { (PreEscaped(layout::strip_xml_header(&crate::qr::svg(link).unwrap_or_default()))) }
                    } @else {
                        form method="post" action="/app/team/link" {
                            label for="colleague-contact" { "Their email or phone" }
                            input #colleague-contact type="text" name="contact" required placeholder="name@company.com or +44 7700 900123";
                            div.actions { button.primary type="submit" { "Make a colleague link" } }
                        }
                    }
                }
                section.panel #follow-team {
                    h2 { "Follow the team" }
                    form method="post" action="/app/team/follow" {
                        label.check {
                            input #follow type="checkbox" name="follow" checked[view.me.follows_team];
                            "Show me every document my colleagues send, as a viewer (for a manager)"
                        }
                        div.actions { button type="submit" { "Save" } }
                    }
                }
                section.panel #join-team {
                    h2 { "Join your company" }
                    form #join-team-form method="post" action="/app/team/join" {
                        label for="team-link" { "A colleague's link" }
                        input.mono #team-link type="text" name="link" required placeholder="countersign://team/…";
                        div.actions { button type="submit" { "Join" } }
                    }
                }
            }
        }
    };
    layout::page("Your company", Nav::Team, &["document.js"], body)
}
