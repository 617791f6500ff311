//! `/app/settings`: what a company sets once, in the browser. The public
//! verifier's address (in every final PDF's QR code), the company's profile
//! (filled into company-details fields), email and SMS (with a test message),
//! and the company's certificate authority. Each section saves on its own;
//! a secret (the SMTP password, the SMS gateway's key) is never shown again,
//! only said to be saved.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::AppState;
use crate::app::requests::SettingsView;
use crate::notify::config::{Channels, EmailConfig, Security, SmsConfig};
use crate::settings::{CompanyProfile, Settings};
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// The sections of the page, each a form of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Documents,
    Email,
    Sms,
    Test,
    Authority,
}

impl Section {
    fn id(self) -> &'static str {
        match self {
            Section::Documents => "documents",
            Section::Email => "email",
            Section::Sms => "sms",
            Section::Test => "test",
            Section::Authority => "authority",
        }
    }

    fn from_id(id: &str) -> Option<Section> {
        [Section::Documents, Section::Email, Section::Sms, Section::Test, Section::Authority].into_iter().find(|s| s.id() == id)
    }
}

/// What happened in a section: saved, or what went wrong.
struct Outcome {
    section: Section,
    ok: bool,
    message: String,
}

/// `?saved=email`: the section just saved.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Saved {
    #[serde(default)]
    saved: String,
}

/// `GET /app/settings`.
pub(super) async fn page(State(state): State<AppState>, Query(saved): Query<Saved>) -> Result<Markup, WebError> {
    let view = state.node.settings().await?;
    let outcome = Section::from_id(&saved.saved).map(|section| Outcome { section, ok: true, message: "Saved.".into() });
    Ok(render(&view, outcome.as_ref()))
}

async fn answer(state: &AppState, section: Section, result: Result<String, String>) -> Result<Response, WebError> {
    match result {
        Ok(_) if section != Section::Test => {
            Ok(Redirect::to(&format!("/app/settings?saved={}#{}", section.id(), section.id())).into_response())
        }
        Ok(message) => Ok(render(&state.node.settings().await?, Some(&Outcome { section, ok: true, message })).into_response()),
        Err(message) => {
            let page = render(&state.node.settings().await?, Some(&Outcome { section, ok: false, message }));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// The documents section's form.
#[derive(Debug, Deserialize)]
pub(super) struct DocumentsForm {
    #[serde(default)]
    verifier_url: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    company_address: String,
    #[serde(default)]
    company_registration: String,
    #[serde(default)]
    company_vat: String,
}

/// `POST /app/settings/documents`.
pub(super) async fn save_documents(State(state): State<AppState>, Form(form): Form<DocumentsForm>) -> Result<Response, WebError> {
    let follow_team = state.node.settings().await?.settings.follow_team;
    let settings = Settings {
        follow_team,
        verifier_url: Some(form.verifier_url),
        company: CompanyProfile {
            name: form.company_name,
            address: form.company_address,
            registration: form.company_registration,
            vat: form.company_vat,
        },
    }
    .tidied();
    let result = match settings.problems().into_iter().next() {
        Some(problem) => Err(problem.message),
        None => state.node.save_settings(settings).await.map(|()| String::new()).map_err(|e| e.to_string()),
    };
    answer(&state, Section::Documents, result).await
}

/// The email section's form (no `Debug`: it holds the password).
#[derive(Deserialize)]
#[allow(missing_debug_implementations)]
pub(super) struct EmailForm {
    #[serde(default)]
    host: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    /// Ticked: the saved password is removed.
    #[serde(default)]
    forget_password: Option<String>,
    #[serde(default)]
    from: String,
}

/// `POST /app/settings/email`: an empty server turns email off.
pub(super) async fn save_email(State(state): State<AppState>, Form(form): Form<EmailForm>) -> Result<Response, WebError> {
    let current = state.node.settings().await?;
    let result = match email_config(&form) {
        Ok(email) => {
            // A new password replaces the saved one; the box removes it; otherwise it is kept.
            let smtp_password = secret_change(form.forget_password.is_some(), form.password);
            let channels = Channels { email, sms: current.sms, smtp_password, sms_auth: None };
            state.node.save_channels(channels).await.map(|()| String::new()).map_err(|e| e.to_string())
        }
        Err(message) => Err(message),
    };
    answer(&state, Section::Email, result).await
}

fn email_config(form: &EmailForm) -> Result<Option<EmailConfig>, String> {
    let host = form.host.trim();
    if host.is_empty() {
        return Ok(None);
    }
    let security = match form.security.as_str() {
        "tls" => Security::Tls,
        "none" => Security::None,
        _ => Security::Starttls,
    };
    let port = match form.port.trim() {
        "" if security == Security::Tls => 465,
        "" => 587,
        given => given.parse::<u16>().ok().filter(|p| *p > 0).ok_or("The port is a number such as 587 or 465.")?,
    };
    let from = form.from.trim();
    if from.is_empty() {
        return Err("Give the address the emails come from, e.g. Acme signing <sign@acme.example>.".into());
    }
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(format!("'{from}' is not an email address (write it as sign@acme.example or Acme <sign@acme.example>)."));
    }
    let user = Some(form.user.trim().to_owned()).filter(|u| !u.is_empty());
    Ok(Some(EmailConfig { host: host.to_owned(), port, security, user, from: from.to_owned() }))
}

/// The SMS section's form (no `Debug`: it holds the gateway's key).
#[derive(Deserialize)]
#[allow(missing_debug_implementations)]
pub(super) struct SmsForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    auth: String,
    /// Ticked: the saved key is removed.
    #[serde(default)]
    forget_auth: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    content_type: String,
}

/// `POST /app/settings/sms`: an empty gateway turns SMS off.
pub(super) async fn save_sms(State(state): State<AppState>, Form(form): Form<SmsForm>) -> Result<Response, WebError> {
    let current = state.node.settings().await?;
    let url = form.url.trim();
    // The method is kept as set by hand (the page sets only POST).
    let method = current.sms.as_ref().map_or_else(|| "POST".to_owned(), |s| s.method.clone());
    let sms = (!url.is_empty()).then(|| SmsConfig {
        url: url.to_owned(),
        method,
        content_type: Some(form.content_type.trim()).filter(|t| !t.is_empty()).unwrap_or("application/json").to_owned(),
        body: Some(form.body.trim()).filter(|b| !b.is_empty()).unwrap_or(DEFAULT_SMS_BODY).to_owned(),
    });
    let sms_auth = secret_change(form.forget_auth.is_some(), form.auth);
    let channels = Channels { email: current.email, sms, smtp_password: None, sms_auth };
    let result = state.node.save_channels(channels).await.map(|()| String::new()).map_err(|e| e.to_string());
    answer(&state, Section::Sms, result).await
}

/// What a secret field asks for, as [`Channels`] takes it: the box ticked
/// removes the saved secret (`Some("")`), a new one replaces it, an empty
/// field keeps it (`None`).
fn secret_change(remove: bool, given: String) -> Option<String> {
    match (remove, given.is_empty()) {
        (true, _) => Some(String::new()),
        (false, true) => None,
        (false, false) => Some(given),
    }
}

/// The body most gateways take.
const DEFAULT_SMS_BODY: &str = r#"{"to": "{to}", "text": "{text}"}"#;

/// The test section's form.
#[derive(Debug, Deserialize)]
pub(super) struct TestForm {
    #[serde(default)]
    to: String,
}

/// `POST /app/settings/test`: sends a test message now and says how it went.
pub(super) async fn send_test(State(state): State<AppState>, Form(form): Form<TestForm>) -> Result<Response, WebError> {
    let result = state.node.test_message(form.to.trim().to_owned()).await.map_err(|e| e.to_string());
    answer(&state, Section::Test, result).await
}

/// The authority section's form.
#[derive(Debug, Deserialize)]
pub(super) struct AuthorityForm {
    #[serde(default)]
    organization: String,
}

/// `POST /app/settings/authority`.
pub(super) async fn create_authority(State(state): State<AppState>, Form(form): Form<AuthorityForm>) -> Result<Response, WebError> {
    let organization = form.organization.trim().to_owned();
    let result = if organization.is_empty() {
        Err("Give the company's name, as its certificates show it.".to_owned())
    } else {
        state.node.create_authority(organization).await.map(|()| String::new()).map_err(|e| e.to_string())
    };
    answer(&state, Section::Authority, result).await
}

fn render(view: &SettingsView, outcome: Option<&Outcome>) -> Markup {
    let said = |section: Section| -> Markup {
        html! {
            @if let Some(outcome) = outcome.filter(|o| o.section == section) {
                p class={ "notice " (if outcome.ok { "ok" } else { "bad" }) } role=(if outcome.ok { "status" } else { "alert" }) #{ "said-" (section.id()) } { (outcome.message) }
            }
        }
    };
    let settings = &view.settings;
    let company = &settings.company;
    let email = view.email.as_ref();
    let sms = view.sms.as_ref();
    let secret_hint = |saved: bool| if saved { "Saved: leave empty to keep it" } else { "" };
    let body = html! {
        div.toolbar { div.grow { h1 { "Settings" } p.muted { "For this computer's node. Nothing here leaves it." } } }
        section.panel.narrow #documents {
            h2 { "Documents" }
            (said(Section::Documents))
            form method="post" action="/app/settings/documents" {
                label for="verifier_url" { "Public verifier" }
                input #verifier_url type="url" name="verifier_url" value=(settings.verifier_url.as_deref().unwrap_or_default()) placeholder=(crate::app::DEFAULT_VERIFIER);
                p.small.muted { "Where anyone checks a signed PDF: its address is in the QR code of every document sent from here, and in the invitation links. Empty: " (crate::app::DEFAULT_VERIFIER) "." }
                h3 style="margin-top:1rem" { "Your company" }
                p.small.muted { "Filled in for you where a document asks for your company's details." }
                label for="company_name" { "Name" }
                input #company_name type="text" name="company_name" value=(company.name) autocomplete="organization";
                label for="company_address" { "Registered address" }
                input #company_address type="text" name="company_address" value=(company.address) autocomplete="street-address";
                label for="company_registration" { "Registration number" }
                input #company_registration type="text" name="company_registration" value=(company.registration);
                label for="company_vat" { "VAT number" }
                input #company_vat type="text" name="company_vat" value=(company.vat);
                div.actions { button.primary type="submit" { "Save" } }
            }
        }
        section.panel.narrow #email {
            h2 { "Email" }
            p.small.muted {
                @if email.is_some() { "Invitations and notices go out by email through this server." }
                @else { "Not set up: emails wait in the app for you to send them by hand. Your email provider's settings page gives these values (SMTP)." }
            }
            (said(Section::Email))
            form method="post" action="/app/settings/email" {
                label for="email-host" { "SMTP server" }
                input #email-host type="text" name="host" value=(email.map(|e| e.host.as_str()).unwrap_or_default()) placeholder="smtp.example.com";
                label for="email-security" { "Security" }
                select #email-security name="security" {
                    @let security = email.map(|e| e.security).unwrap_or_default();
                    option value="starttls" selected[security == Security::Starttls] { "STARTTLS (port 587)" }
                    option value="tls" selected[security == Security::Tls] { "TLS (port 465)" }
                    option value="none" selected[security == Security::None] { "None (a server on this computer only)" }
                }
                label for="email-port" { "Port" }
                input #email-port type="text" inputmode="numeric" name="port" value=(email.map(|e| e.port.to_string()).unwrap_or_default()) placeholder="587";
                label for="email-user" { "User name" }
                input #email-user type="text" name="user" value=(email.and_then(|e| e.user.as_deref()).unwrap_or_default()) autocomplete="off";
                label for="email-password" { "Password" }
                input #email-password type="password" name="password" autocomplete="new-password" placeholder=(secret_hint(view.smtp_password_saved));
                @if view.smtp_password_saved {
                    label.check { input type="checkbox" name="forget_password"; "Remove the saved password" }
                }
                label for="email-from" { "From" }
                input #email-from type="text" name="from" value=(email.map(|e| e.from.as_str()).unwrap_or_default()) placeholder="Acme signing <sign@acme.example>";
                div.actions { button.primary type="submit" { "Save" } }
            }
        }
        section.panel.narrow #sms {
            h2 { "Text messages (SMS)" }
            p.small.muted {
                @if sms.is_some() { "Texts go out through this gateway." }
                @else { "Not set up: texts wait in the app for you to send them from your phone. Your SMS provider's API page gives the address and key." }
            }
            (said(Section::Sms))
            form method="post" action="/app/settings/sms" {
                label for="sms-url" { "Gateway address" }
                input #sms-url type="url" name="url" value=(sms.map(|s| s.url.as_str()).unwrap_or_default()) placeholder="https://api.sms.example/v1/messages";
                label for="sms-auth" { "Authorization header" }
                input #sms-auth type="password" name="auth" autocomplete="new-password" placeholder=(secret_hint(view.sms_auth_saved));
                @if view.sms_auth_saved {
                    label.check { input type="checkbox" name="forget_auth"; "Remove the saved key" }
                }
                label for="sms-body" { "Request body" }
                input.mono #sms-body type="text" name="body" value=(sms.map(|s| s.body.as_str()).unwrap_or(DEFAULT_SMS_BODY));
                p.small.muted { "{to} and {text} are filled in for each message." }
                label for="sms-content-type" { "Content type" }
                input #sms-content-type type="text" name="content_type" value=(sms.map(|s| s.content_type.as_str()).unwrap_or("application/json"));
                div.actions { button.primary type="submit" { "Save" } }
            }
        }
        section.panel.narrow #test {
            h2 { "Send a test message" }
            p.small.muted { "To an email address or a phone number, with the settings above." }
            (said(Section::Test))
            form method="post" action="/app/settings/test" {
                label for="test-to" { "Send to" }
                input #test-to type="text" name="to" required placeholder="you@acme.example or +447700900123";
                div.actions { button type="submit" { "Send a test message" } }
            }
        }
        section.panel.narrow #authority {
            h2 { "Company certificate authority" }
            (said(Section::Authority))
            @if let Some(authority) = &view.authority {
                p { "This node signs for " strong { (authority.name) } ": its people's certificates are issued by the company's CA." }
                p.small.muted { "Its fingerprint, for clients who check it: " span.mono { (authority.fingerprint) } }
            } @else {
                p.small.muted { "Without one, each person's key certifies itself. With one, every company signature chains to a single certificate your clients trust once." }
                form method="post" action="/app/settings/authority" {
                    label for="organization" { "Company name on the certificates" }
                    input #organization type="text" name="organization" value=(company.name) required;
                    div.actions { button type="submit" { "Create the company's CA" } }
                }
            }
        }
    };
    layout::page("Settings", Nav::Settings, &[], body)
}
