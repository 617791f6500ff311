//! `GET /app/preview/{hash}/{page}`: one page of a stored PDF as a PNG, drawn
//! by hayro (pure Rust) on the node, so the browser needs no PDF viewer.
//!
//! Pages are drawn on demand, in a blocking thread, one page at a time (the
//! first page of a long document shows without waiting for the rest), and
//! kept in a small cache keyed by the PDF's hash. A PDF that makes the
//! renderer fail gets a plain error instead of a picture, never a crash.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use countersign_shared::hash::Hash;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

use crate::api::AppState;
use crate::api::error::ApiError;

/// Width of a preview in pixels: sharp on a laptop, light on a phone.
const PREVIEW_WIDTH: f32 = 1000.0;
/// The most pixels one preview may have (1000 × 2000).
const MAX_PIXELS: f32 = 2_000_000.0;
/// Pages kept drawn.
const CACHE_PAGES: usize = 96;

type Key = (Hash, u32);

#[derive(Debug, Default)]
struct Cache {
    pages: HashMap<Key, Arc<Vec<u8>>>,
    order: VecDeque<Key>,
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// `GET /app/preview/{hash}/{page}`, pages from 1.
pub(super) async fn page(State(state): State<AppState>, Path((hash, page)): Path<(String, String)>) -> Response {
    match preview(&state, &hash, &page).await {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=86400")], png.to_vec()).into_response(),
        Err(error) => (error.status(), error.message).into_response(),
    }
}

async fn preview(state: &AppState, hash: &str, page: &str) -> Result<Arc<Vec<u8>>, ApiError> {
    let hash: Hash = hash.parse().map_err(|_| ApiError::invalid("not a document hash"))?;
    let page: u32 = page.trim_end_matches(".png").parse().map_err(|_| ApiError::invalid("not a page number"))?;
    if let Some(png) = CACHE.lock().unwrap_or_else(PoisonError::into_inner).pages.get(&(hash, page)) {
        return Ok(png.clone());
    }
    let pdf = state.node.blob(hash).await?;
    let png = tokio::task::spawn_blocking(move || draw(pdf, page))
        .await
        .map_err(|_| ApiError::new(crate::api::error::ErrorKind::Internal, "the page could not be drawn"))??;
    let png = Arc::new(png);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.order.len() >= CACHE_PAGES
        && let Some(oldest) = cache.order.pop_front()
    {
        cache.pages.remove(&oldest);
    }
    cache.order.push_back((hash, page));
    cache.pages.insert((hash, page), png.clone());
    Ok(png)
}

/// Draws page `number` (from 1) of `pdf` as a PNG.
pub(super) fn draw(pdf: Vec<u8>, number: u32) -> Result<Vec<u8>, ApiError> {
    let cannot = |why: &str| ApiError::invalid(format!("page {number} cannot be shown: {why}"));
    // Only a prepared source is drawn: its drawing instructions are bounded
    // and mean one thing (a document from another node may be anything).
    countersign_shared::source::inspect(&pdf).map_err(|e| cannot(&e.to_string()))?;
    let drawn = catch_unwind(AssertUnwindSafe(|| {
        let pdf = Pdf::new(pdf).map_err(|_| cannot("the PDF cannot be read"))?;
        let pages = pdf.pages();
        let index = usize::try_from(number)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|i| *i < pages.len())
            .ok_or_else(|| cannot("no such page"))?;
        let page = &pages[index];
        let (width, height) = page.render_dimensions();
        // As wide as a preview is, but never more pixels than a tall A4 page
        // would take (a PDF from another node may declare any size).
        let fit_width = PREVIEW_WIDTH / width.max(1.0);
        let fit_pixels = (MAX_PIXELS / (width.max(1.0) * height.max(1.0))).sqrt();
        let scale = fit_width.min(fit_pixels).min(4.0);
        let settings = PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE };
        let pixmap = render(page, &RenderCache::new(), &InterpreterSettings::default(), &RenderSettings::default(), &settings);
        pixmap.into_png().map_err(|_| cannot("the picture cannot be encoded"))
    }));
    drawn.unwrap_or_else(|_| Err(cannot("the renderer failed on this PDF")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_shared::test_utils::{contract_pdf, contract_pdf_as_made};

    #[test]
    fn only_a_prepared_document_is_drawn() {
        let png = draw(contract_pdf(2), 2).expect("a prepared page is drawn");
        assert!(png.starts_with(b"\x89PNG"));
        let refused = draw(contract_pdf_as_made(2), 1).expect_err("an unprepared document is not drawn");
        assert!(refused.message.contains("not prepared by Countersign"), "{}", refused.message);
    }
}
