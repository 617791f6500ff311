//! The frame every page shares (head, top bar, footer) and small pieces
//! several pages use: stage badges, field-kind names, relative times.

use maud::{DOCTYPE, Markup, html};

use crate::envelopes::Stage;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Which top-bar entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    /// The pipeline.
    Pipeline,
    /// A new document.
    New,
    /// Joining with a link.
    Join,
    /// Templates.
    Templates,
    /// Settings.
    Settings,
    /// The company directory.
    Team,
    /// A document page (no entry is current).
    Document,
    /// The first run's setup: no entries, nothing to go to yet.
    Setup,
}

/// A full page: `title`, the current nav entry, the scripts it needs, and its body.
pub(super) fn page(title: &str, nav: Nav, scripts: &[&str], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Countersign" }
                link rel="stylesheet" href="/app/assets/app.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/app" { span.logo aria-hidden="true" { "✒" } "Countersign" }
                    @if nav != Nav::Setup {
                        nav aria-label="Main" {
                            a href="/app" aria-current=[(nav == Nav::Pipeline).then_some("page")] { "Pipeline" }
                            a href="/app/new" aria-current=[(nav == Nav::New).then_some("page")] { "New document" }
                            a href="/app/templates" aria-current=[(nav == Nav::Templates).then_some("page")] { "Templates" }
                            a href="/app/join" aria-current=[(nav == Nav::Join).then_some("page")] { "Join" }
                            a href="/app/team" aria-current=[(nav == Nav::Team).then_some("page")] { "Your company" }
                            a href="/app/settings" aria-current=[(nav == Nav::Settings).then_some("page")] { "Settings" }
                        }
                    }
                }
                main #main { (body) }
                footer.footer { "Your documents stay on your computer and the computers of the people who sign them." }
                @for script in scripts {
                    script src={ "/app/assets/" (script) } defer {}
                }
            }
        }
    }
}

/// A page with a heading and one message (errors, signed-out).
pub(super) fn bare(title: &str, message: &str) -> Markup {
    page(
        title,
        Nav::Document,
        &[],
        html! {
            section.panel.narrow {
                h1 { (title) }
                p { (message) }
                p { a.button href="/app" { "Back to the pipeline" } }
            }
        },
    )
}

/// "3 min", "2 h", "5 days": how long ago `then_ms` was.
pub(super) fn age(then_ms: u64, now_ms: u64) -> String {
    let minutes = now_ms.saturating_sub(then_ms) / 60_000;
    match minutes {
        0 => "a moment".into(),
        1..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// A coloured badge for a stage.
pub(super) fn stage_badge(stage: Stage, waiting_for: &str) -> Markup {
    let (class, text) = match stage {
        Stage::Completed => ("badge ok", "Completed".to_owned()),
        Stage::Declined => ("badge bad", "Declined".to_owned()),
        Stage::Voided => ("badge bad", "Voided".to_owned()),
        Stage::Awaiting => ("badge wait", format!("Waiting for {waiting_for}")),
        Stage::Draft => ("badge", "Draft".to_owned()),
    };
    html! { span class=(class) { (text) } }
}

/// What a URL's query value or a `mailto:`/`sms:` part keeps as it is:
/// letters, digits and `-_.~` (RFC 3986's unreserved characters).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// What a `mailto:` or `sms:` address keeps besides: `@` and `+`.
const ADDRESS: &AsciiSet = &UNRESERVED.remove(b'@').remove(b'+');

/// `text` for a URL's query string.
pub(super) fn url_encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// An email address or phone number for a `mailto:` or `sms:` link: `@`
/// and `+` kept, everything that could end the address (`?`, `&`, `,`)
/// encoded.
pub(super) fn encode_address(contact: &str) -> String {
    utf8_percent_encode(contact, ADDRESS).to_string()
}

/// A `mailto:` (with subject) or `sms:` link that opens the person's own
/// mail or messages app with `body` filled in.
pub(super) fn compose_link(contact: &str, subject: &str, body: &str) -> String {
    let address = encode_address(contact);
    if contact.contains('@') {
        format!("mailto:{address}?subject={}&body={}", url_encode(subject), url_encode(body))
    } else {
        format!("sms:{address}?body={}", url_encode(body))
    }
}

/// An SVG document without its XML declaration, to put inside a page.
pub(super) fn strip_xml_header(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}
