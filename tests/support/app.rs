//! Driving the node's web app in a browser: placing fields in the editor,
//! and reading what a node left for its person in the outbox folder.

use anyhow::Result;
use serde_json::json;

use crate::browser::Browser;
use crate::nodes::Node;

/// Drags on page `page` of the editor from one point to another, given as
/// fractions of the page's width and height (from its top-left corner).
pub fn drag_on_page(browser: &Browser, page: u32, from: (f64, f64), to: (f64, f64)) -> Result<()> {
    let (left, top, width, height) = browser.rect_in_viewport(&format!(".page[data-page=\"{page}\"]"))?;
    let at = |(fx, fy): (f64, f64)| ((left + fx * width) as i64, (top + fy * height) as i64);
    let (start, end) = (at(from), at(to));
    let middle = ((start.0 + end.0) / 2, (start.1 + end.1) / 2);
    browser.drag(&[start, middle, end])
}

/// Places a field of `kind` for the party at `party` (its index in the form).
pub fn place(browser: &Browser, party: usize, kind: &str, page: u32, from: (f64, f64), to: (f64, f64)) -> Result<()> {
    browser.execute(
        "const s = document.getElementById('field-party'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        json!([party.to_string()]),
    )?;
    browser.click(&format!(".kinds button[data-kind=\"{kind}\"]"))?;
    drag_on_page(browser, page, from, to)?;
    // Done placing this kind.
    browser.click(&format!(".kinds button[data-kind=\"{kind}\"]"))
}

/// Every message in `node`'s outbox folder (no email or SMS settings).
pub fn outbox(node: &Node) -> Vec<String> {
    std::fs::read_dir(node.dir.join("outbox"))
        .map(|entries| entries.filter_map(|e| e.ok().and_then(|e| std::fs::read_to_string(e.path()).ok())).collect())
        .unwrap_or_default()
}
