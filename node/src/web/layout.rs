//! The frame every page shares (head, top bar, footer) and small pieces
//! several pages use: stage badges, field-kind names, relative times.

use maud::{DOCTYPE, Markup, html};

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
    /// A document page (no entry is current).
    Document,
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
                    nav aria-label="Main" {
                        a href="/app" aria-current=[(nav == Nav::Pipeline).then_some("page")] { "Pipeline" }
                        a href="/app/new" aria-current=[(nav == Nav::New).then_some("page")] { "New document" }
                        a href="/app/templates" aria-current=[(nav == Nav::Templates).then_some("page")] { "Templates" }
                        a href="/app/join" aria-current=[(nav == Nav::Join).then_some("page")] { "Join" }
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

/// The words for a field kind.
pub(super) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "signature" => "Signature",
        "stamp" => "Stamp",
        "date" => "Date",
        "text" => "Text",
        "company_details" => "Company details",
        _ => "Field",
    }
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
pub(super) fn stage_badge(stage: &str, waiting_for: &str) -> Markup {
    let (class, text) = match stage {
        "completed" => ("badge ok", "Completed".to_owned()),
        "declined" => ("badge bad", "Declined".to_owned()),
        "voided" => ("badge bad", "Voided".to_owned()),
        "awaiting" => ("badge wait", format!("Waiting for {waiting_for}")),
        _ => ("badge", "Draft".to_owned()),
    };
    html! { span class=(class) { (text) } }
}

/// `text` for a URL's query string.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
