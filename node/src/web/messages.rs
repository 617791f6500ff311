//! Messages this node cannot send itself: without email or SMS settings its
//! invitations and notices wait for the person to send them by hand. Each is
//! offered with a copy button and a link that opens the person's own mail or
//! messages app, then marked as sent.
//!
//! - `/app/messages`: every message waiting, by document.
//! - `POST /app/messages/{id}/sent`: the person sent it.
//! - [`panel`]: the same list for one document, on its page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::AppState;
use crate::envelopes::ToForward;
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// `GET /app/messages`.
pub(super) async fn page(State(state): State<AppState>) -> Result<Markup, WebError> {
    let messages = state.node.to_forward().await?;
    let body = html! {
        div.toolbar { div.grow { h1 { "Messages to send" } } }
        @if messages.is_empty() {
            section.panel { p { "Nothing waits: every message has gone out." } }
        } @else {
            (panel(&messages, "/app/messages"))
        }
    };
    Ok(layout::page("Messages to send", Nav::Document, &["document.js"], body))
}

/// The list of `messages` waiting to be sent by hand; a message marked sent
/// comes back to `back` (a page of this app).
pub(super) fn panel(messages: &[ToForward], back: &str) -> Markup {
    let missing = match (messages.iter().any(|m| m.by_email), messages.iter().any(|m| !m.by_email)) {
        (true, false) => "email settings",
        (false, true) => "SMS settings",
        _ => "email or SMS settings",
    };
    html! {
        section.panel #to-forward {
            h2 { "Messages for you to send" }
            p.small.muted {
                "This node has no " (missing) " yet, so it does not send these messages itself: each waits here. "
                "Copy it, or open it in your mail or messages app, and send it; then mark it sent. "
                a href="/app/settings" { "Set up email and SMS" } " and they go out by themselves."
            }
            @for message in messages {
                (one(message, back))
            }
        }
    }
}

fn one(message: &ToForward, back: &str) -> Markup {
    let text_id = format!("forward-{}", message.id);
    let (open_label, copied) = if message.by_email { ("Open in my mail app", "email") } else { ("Open in my messages app", "text") };
    html! {
        div.forward data-message=(message.id) {
            p {
                strong { (message.kind.describe()) } " to " (message.to_name) span.small.muted { " · " (message.to) }
            }
            @if message.by_email {
                p.small { "Subject: " (message.subject) }
            }
            @if message.kind == crate::envelopes::MessageKind::Completion && message.by_email {
                // A mail app's link carries no attachment: the PDF is attached by hand.
                p.small { "Attach the signed PDF: " a href={ "/app/e/" (message.envelope) "/final.pdf" } download { "download it" } "." }
            }
            label.visually-hidden for=(text_id) { "The " (copied) " to send" }
            textarea.mono id=(text_id) readonly rows=(if message.by_email { 6 } else { 3 }) { (message.text) }
            div.actions {
                button.small-button type="button" data-copy=(text_id) { "Copy" }
                a.button.small-button href=(layout::compose_link(&message.to, &message.subject, &message.text)) { (open_label) }
                form method="post" action={ "/app/messages/" (message.id) "/sent" } {
                    input type="hidden" name="back" value=(back);
                    button.small-button type="submit" { "Mark as sent" }
                }
            }
        }
    }
}

/// What "Mark as sent" posts.
#[derive(Debug, Deserialize)]
pub(super) struct Sent {
    back: String,
}

/// `POST /app/messages/{id}/sent`.
pub(super) async fn sent(State(state): State<AppState>, Path(id): Path<String>, Form(form): Form<Sent>) -> Result<Response, WebError> {
    state.node.forwarded(id).await?;
    // Only back to one of our own pages (and nothing a header cannot hold).
    let ours = form.back.starts_with("/app/") && form.back.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let back = if ours { form.back.as_str() } else { "/app" };
    Ok(Redirect::to(back).into_response())
}
