//! `/app`: the pipeline, every envelope on a board by stage, with filters.
//! The board refreshes itself (`board.js` polls `/app/board`) so a peer's
//! change shows without a reload.

use axum::extract::{Query, State};
use countersign_shared::model::Role;
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::AppState;
use crate::clock::now_ms;
use crate::drafts::SavedDraft;
use crate::envelopes::{ListItem, Stage};
use crate::web::WebError;
use crate::web::layout::{self, Nav};

/// Cards shown per column; the rest are counted (filter to find them).
const CARDS_PER_COLUMN: usize = 40;

/// The board's columns, in the order work flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Draft,
    CompanySigner,
    Client,
    Completed,
    Stopped,
}

impl Column {
    const ALL: [Column; 5] = [Column::Draft, Column::CompanySigner, Column::Client, Column::Completed, Column::Stopped];

    fn of(item: &ListItem) -> Column {
        match item.stage {
            Stage::Completed => Column::Completed,
            Stage::Declined | Stage::Voided => Column::Stopped,
            Stage::Awaiting if item.next_roles.contains(&Role::CompanySigner) => Column::CompanySigner,
            Stage::Awaiting => Column::Client,
            Stage::Draft => Column::Draft,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Column::Draft => "Draft",
            Column::CompanySigner => "Company signer",
            Column::Client => "Client",
            Column::Completed => "Completed",
            Column::Stopped => "Declined or voided",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Column::Draft => "draft",
            Column::CompanySigner => "company",
            Column::Client => "client",
            Column::Completed => "completed",
            Column::Stopped => "stopped",
        }
    }
}

/// The filters, from the query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filter {
    /// Words to find in the title or a party's name.
    #[serde(default)]
    q: String,
    /// `me`, `team` (me and my colleagues), `others` or empty for anyone.
    #[serde(default)]
    creator: String,
    /// The colleagues' keys (hex; not from the query: the directory's).
    #[serde(skip)]
    team: Vec<String>,
}

impl Filter {
    fn keeps(&self, item: &ListItem) -> bool {
        let creator_ok = match self.creator.as_str() {
            "me" => item.creator == "you",
            "team" => item.creator == "you" || self.team.contains(&item.creator_key),
            "others" => item.creator != "you",
            _ => true,
        };
        let words = self.q.trim().to_lowercase();
        let text_ok = words.is_empty()
            || words
                .split_whitespace()
                .all(|word| item.title.to_lowercase().contains(word) || item.parties.iter().any(|p| p.to_lowercase().contains(word)));
        creator_ok && text_ok
    }

    /// Drafts are this node's own: shown unless only others' documents are asked for.
    fn keeps_draft(&self, saved: &SavedDraft) -> bool {
        let words = self.q.trim().to_lowercase();
        let text_ok = words.split_whitespace().all(|word| {
            saved.draft.title.to_lowercase().contains(word) || saved.draft.parties.iter().any(|p| p.name.to_lowercase().contains(word))
        });
        self.creator != "others" && text_ok
    }

    fn query(&self) -> String {
        format!("q={}&creator={}", layout::url_encode(&self.q), layout::url_encode(&self.creator))
    }
}

/// `?welcome=1`: the first run's setup just made the identity.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Welcome {
    #[serde(default)]
    welcome: Option<u8>,
}

/// The filter with the colleagues' keys, when it asks for the team's documents.
async fn with_team(state: &AppState, mut filter: Filter) -> Filter {
    if filter.creator == "team" {
        filter.team = state.node.team().await.map(|team| team.members.into_iter().map(|m| m.key.to_string()).collect()).unwrap_or_default();
    }
    filter
}

/// `GET /app`.
pub(super) async fn page(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
    Query(welcome): Query<Welcome>,
) -> Result<Markup, WebError> {
    let me = match welcome.welcome {
        Some(_) => state.node.info().await.ok(),
        None => None,
    };
    let filter = with_team(&state, filter).await;
    let list = state.node.list().await?;
    let drafts = state.node.drafts().await.unwrap_or_default();
    let undelivered = state.node.undelivered().await.unwrap_or_default();
    let to_forward = state.node.to_forward().await.unwrap_or_default().len();
    let board = board_markup(&list, &drafts, &filter);
    let failing = undelivered.iter().filter(|m| m.attempts > 0).count();
    let clock_warning = state.node.info().await.ok().and_then(|info| info.clock_warning).map(|warning| {
        let mut letters = warning.chars();
        letters.next().map(|first| first.to_uppercase().chain(letters).collect::<String>()).unwrap_or_default()
    });
    let body = html! {
        @if let Some(me) = &me {
            div.notice.ok #welcome role="status" {
                p { strong { "Welcome, " (me.name) "." } " Your signing key was made on this computer and never leaves it; its fingerprint is " span.mono { (me.fingerprint) } "." }
                p { "To send a document for signing, start a " a href="/app/new" { "new document" } ". To sign one someone sent you, open the link in their message, or paste it in " a href="/app/join" { "Join" } "." }
                p { "Working with colleagues? Bring them in under " a href="/app/team" { "Your company" } ", and set up email and SMS in " a href="/app/settings" { "Settings" } " so that invitations go out by themselves." }
            }
        }
        @if let Some(warning) = &clock_warning {
            p.notice.bad role="alert" { "⚠ " (warning) }
        }
        @if failing > 0 {
            p.notice.bad role="status" {
                strong { (failing) " message(s) could not be sent yet" }
                " (" (undelivered.iter().find_map(|m| m.last_error.as_deref()).unwrap_or("")) "). This node tries again by itself, unless one was refused for good; each document page lists its own."
            }
        }
        @if to_forward > 0 {
            p.notice #to-forward-notice role="status" {
                (to_forward) " message(s) wait for you to send them: email or SMS is not set up on this node yet. "
                a href="/app/messages" { "See them" } " · " a href="/app/settings" { "Set up email and SMS" }
            }
        }
        div.toolbar {
            div.grow { h1 { "Pipeline" } p.muted { (list.len()) @if list.len() == 1 { " document" } @else { " documents" } } }
            a.button.primary href="/app/new" { "+ New document" }
        }
        form.toolbar #filters method="get" action="/app" role="search" {
            div.grow {
                label for="q" { "Find" }
                input #q type="search" name="q" value=(filter.q) placeholder="Title or party name";
            }
            div {
                label for="creator" { "Created by" }
                select #creator name="creator" {
                    option value="" selected[filter.creator.is_empty()] { "Anyone" }
                    option value="me" selected[filter.creator == "me"] { "Me" }
                    option value="team" selected[filter.creator == "team"] { "My team" }
                    option value="others" selected[filter.creator == "others"] { "Others" }
                }
            }
            button type="submit" { "Filter" }
        }
        div #board data-query=(filter.query()) aria-live="polite" { (board) }
    };
    Ok(layout::page("Pipeline", Nav::Pipeline, &["board.js"], body))
}

/// `GET /app/board`: the board alone, for the page to refresh itself.
pub(super) async fn board(State(state): State<AppState>, Query(filter): Query<Filter>) -> Result<Markup, WebError> {
    let filter = with_team(&state, filter).await;
    let list = state.node.list().await?;
    let drafts = state.node.drafts().await.unwrap_or_default();
    Ok(board_markup(&list, &drafts, &filter))
}

fn board_markup(list: &[ListItem], drafts: &[SavedDraft], filter: &Filter) -> Markup {
    let now = now_ms();
    let kept: Vec<&ListItem> = list.iter().filter(|item| filter.keeps(item)).collect();
    let drafts: Vec<&SavedDraft> = drafts.iter().filter(|saved| filter.keeps_draft(saved)).collect();
    html! {
        div.board {
            @for column in Column::ALL {
                @let cards: Vec<&&ListItem> = kept.iter().filter(|item| Column::of(item) == column).collect();
                @let unsent = if column == Column::Draft { drafts.as_slice() } else { &[] };
                section.column id={ "col-" (column.id()) } aria-labelledby={ "h-" (column.id()) } {
                    h2 id={ "h-" (column.id()) } { (column.title()) span.count { (cards.len() + unsent.len()) } }
                    @if cards.is_empty() && unsent.is_empty() {
                        p.empty { "Nothing here" }
                    }
                    @for saved in unsent.iter().take(CARDS_PER_COLUMN) {
                        (draft_card(saved, now))
                    }
                    @for item in cards.iter().take(CARDS_PER_COLUMN) {
                        (card(item, now))
                    }
                    @if cards.len() > CARDS_PER_COLUMN {
                        p.more { (cards.len() - CARDS_PER_COLUMN) " more: use Find to narrow" }
                    }
                }
            }
        }
    }
}

/// A document being prepared, not sent yet: back to the editor, or discard.
fn draft_card(saved: &SavedDraft, now: u64) -> Markup {
    let document = saved.document.to_string();
    let title = saved.draft.title.trim();
    let people: Vec<&str> = saved.draft.parties.iter().map(|p| p.name.trim()).filter(|n| !n.is_empty()).collect();
    html! {
        article.card.draft data-draft=(document) {
            h3 { a href={ "/app/new/" (document) } { @if title.is_empty() { "Untitled document" } @else { (title) } } }
            p.meta { @if people.is_empty() { "No people yet" } @else { (people.join(" → ")) } }
            div.row {
                span.badge { "Not sent" }
                span.meta { "saved " (layout::age(saved.saved_ms, now)) " ago" }
            }
            form.row method="post" action={ "/app/new/" (document) "/discard" } {
                a.button.small-button href={ "/app/new/" (document) } { "Continue" }
                button.small-button.danger type="submit" { "Discard" }
            }
        }
    }
}

fn card(item: &ListItem, now: u64) -> Markup {
    let (signed, of) = item.signed;
    let percent = (signed * 100).checked_div(of).unwrap_or(0);
    let waiting = !item.next.is_empty() && item.stage == Stage::Awaiting;
    html! {
        article.card.mine[item.my_turn] data-envelope=(item.id) {
            h3 { a href={ "/app/e/" (item.id) } { (item.title) } }
            p.meta { (item.parties.join(" → ")) }
            div.row {
                @if item.my_turn {
                    span.badge.you { "Your turn" }
                } @else if waiting {
                    span.meta { "Next: " (item.next.join(", ")) }
                } @else {
                    (layout::stage_badge(item.stage, ""))
                }
                span.meta title="Time in this stage" { "for " (layout::age(item.stage_since_ms, now)) }
            }
            div.progress role="progressbar" aria-label="Signatures" aria-valuemin="0" aria-valuemax=(of) aria-valuenow=(signed) {
                span style={ "width:" (percent) "%" } {}
            }
            div.row {
                span.meta { "by " (item.creator) " · " (signed) "/" (of) " signed" }
                @if waiting && !item.my_turn {
                    a.button.small-button href={ "/app/e/" (item.id) "#remind" } { "Remind" }
                }
            }
        }
    }
}
