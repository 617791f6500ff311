//! The web app's stylesheet and scripts, compiled into the binary (no
//! front-end build step, nothing fetched from elsewhere).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("board.js", "text/javascript; charset=utf-8", include_str!("assets/board.js")),
    ("prepare.js", "text/javascript; charset=utf-8", include_str!("assets/prepare.js")),
    ("document.js", "text/javascript; charset=utf-8", include_str!("assets/document.js")),
    ("sign.js", "text/javascript; charset=utf-8", include_str!("assets/sign.js")),
    ("join.js", "text/javascript; charset=utf-8", include_str!("assets/join.js")),
];

/// `GET /app/assets/{name}`.
pub(super) async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, mime, body)) => ([(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "no-cache")], *body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
