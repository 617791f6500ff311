//! `/app/join`: joining an envelope with an invitation link, pasted or
//! opened from a QR code. A link handed over as `/app/join#<link>`
//! (how the public verifier's join page sends people here) is filled in from
//! the fragment by `join.js`, so the secret never travels in a request line.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use countersign_shared::model::Contact;

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::web::layout::{self, Nav};

/// `GET /app/join`.
pub(super) async fn form(State(state): State<AppState>) -> Markup {
    join_page(&JoinForm::default(), asks_email(&state).await, None)
}

/// Whether to ask for an email for the signed PDF: this node texts its
/// person when a document is complete, but a text carries no PDF, so a
/// person without an email in their profile is asked for one.
async fn asks_email(state: &AppState) -> bool {
    let contact = state.node.info().await.ok().and_then(|info| info.contact);
    !contact.is_some_and(|c| c.contains('@'))
}

fn join_page(form: &JoinForm, ask_email: bool, error: Option<&str>) -> Markup {
    let link = form.link.as_str();
    let asks_code = error.is_some_and(|e| e.contains("code"));
    let body = html! {
        section.panel.narrow {
            h1 { "Join a document" }
            p.lede { "Paste the invitation link you received by email or SMS. Scanning its QR code with this device opens this page with the link filled in." }
            form #join-form method="post" action="/app/join" {
                label for="link" { "Invitation link" }
                textarea #link name="link" required aria-describedby="err-link" placeholder="https://…/join#…" { (link) }
                p.error #err-link role="alert" { @if let Some(error) = error { (error) } }
                @if asks_code {
                    label for="code" { "Code from the text message" }
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7";
                }
                @if ask_email {
                    label for="email" { "Your email, for the signed PDF (optional)" }
                    input #email type="email" name="email" value=(form.email) autocomplete="email" placeholder="you@example.com";
                    p.small.muted { "Once everyone has signed, the sender's node emails you the final PDF." }
                }
                div.actions { button.primary type="submit" { "Join" } }
            }
        }
    };
    layout::page("Join", Nav::Join, &["join.js"], body)
}

/// The pasted link, the texted code when one was asked for, and the email
/// for the final PDF.
#[derive(Debug, Default, Deserialize)]
pub(super) struct JoinForm {
    #[serde(default)]
    link: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    email: String,
}

/// `POST /app/join`: joins, then opens the document.
pub(super) async fn join(State(state): State<AppState>, Form(form): Form<JoinForm>) -> Response {
    let ask_email = asks_email(&state).await;
    let link = form.link.trim().to_owned();
    if link.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, join_page(&form, ask_email, Some("Paste the invitation link."))).into_response();
    }
    let email = form.email.trim().to_owned();
    if !email.is_empty() && !matches!(Contact::parse(&email), Ok(Contact::Email(_))) {
        let message = format!("'{email}' is not an email address; correct it, or leave it empty.");
        return (StatusCode::UNPROCESSABLE_ENTITY, join_page(&form, ask_email, Some(&message))).into_response();
    }
    let code = match form.code.trim() {
        "" => None,
        typed => match crate::api::parse_code(typed) {
            Ok(code) => Some(code),
            Err(e) => {
                return (e.status(), join_page(&form, ask_email, Some(&format!("{}; ask for a new code if needed", e.message))))
                    .into_response();
            }
        },
    };
    match state.node.join(link, code).await {
        Ok(envelope) => {
            if !email.is_empty()
                && let Ok(id) = crate::api::envelope_id(&envelope)
                && let Err(e) = state.node.set_email(id, email).await
            {
                tracing::warn!("joined {envelope}, but the email for its final PDF could not be written: {e}");
            }
            Redirect::to(&format!("/app/e/{envelope}")).into_response()
        }
        Err(e) => {
            let e = ApiError::from(e);
            (e.status(), join_page(&form, ask_email, Some(&e.message))).into_response()
        }
    }
}
