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

use crate::api::AppState;
use crate::api::error::ApiError;
use crate::web::layout::{self, Nav};

/// `GET /app/join`.
pub(super) async fn form() -> Markup {
    join_page("", None)
}

fn join_page(link: &str, error: Option<&str>) -> Markup {
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
                div.actions { button.primary type="submit" { "Join" } }
            }
        }
    };
    layout::page("Join", Nav::Join, &["join.js"], body)
}

/// The pasted link, and the texted code when one was asked for.
#[derive(Debug, Deserialize)]
pub(super) struct JoinForm {
    #[serde(default)]
    link: String,
    #[serde(default)]
    code: String,
}

/// `POST /app/join`: joins, then opens the document.
pub(super) async fn join(State(state): State<AppState>, Form(form): Form<JoinForm>) -> Response {
    let link = form.link.trim().to_owned();
    if link.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, join_page("", Some("Paste the invitation link."))).into_response();
    }
    let code = match form.code.trim() {
        "" => None,
        typed => match crate::api::parse_code(typed) {
            Ok(code) => Some(code),
            Err(e) => return (e.status(), join_page(&link, Some(&format!("{}; ask for a new code if needed", e.message)))).into_response(),
        },
    };
    match state.node.join(link.clone(), code).await {
        Ok(envelope) => Redirect::to(&format!("/app/e/{envelope}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            (e.status(), join_page(&link, Some(&e.message))).into_response()
        }
    }
}
