//! Active content: whatever could make a reader show or do something other
//! than draw the pages. Prepare removes it (after `flatten` has drawn the
//! annotations into the pages); the strict reader reports any a source still
//! holds (a node that skipped preparing).
//!
//! Kept: links and outline entries that go to a page of the document or to
//! a web or mail address, page navigation (next, previous, first, last
//! page), and an opening view that goes to a page. Removed: scripts, actions
//! run on events, every other action and action chains, portfolio views,
//! alternate images for printing, OPI proxies. What prepare cannot make
//! unambiguous is refused elsewhere (layers, earlier signatures).
//!
//! Every object is visited once, to a bounded depth: the cost is linear in
//! the document.

use std::collections::{BTreeMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::{Deserialize, Serialize};

use crate::source::pages::resolved;
use crate::source::{MAX_DEPTH, remove_key};

/// A kind of content prepare removes or turns into page content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActiveContent {
    /// JavaScript run by the document or by an action.
    Script,
    /// An action run when the document opens, other than going to a page.
    OpenAction,
    /// Actions run on events: a page opening, a field left, the file printed, ….
    TriggeredAction,
    /// A link or outline action other than going to a page or to a web or
    /// mail address (submitting a form, launching a file, …), or a chain of actions.
    Action,
    /// An XFA form, which some readers show instead of the pages.
    Xfa,
    /// A portfolio view, which shows attached files instead of the document.
    Portfolio,
    /// An image's alternate for printing, or an OPI proxy for a print shop's image.
    PrintAlternate,
    /// An annotation that is printed but not shown on screen.
    PrintOnly,
    /// An annotation or form field with no appearance of its own, which
    /// readers draw differently or not at all.
    UndrawnAnnotation,
    /// Form fields and annotations, drawn into the pages (they can no longer be edited).
    Flattened,
    /// The request that readers draw form values themselves (prepare draws them).
    NeedAppearances,
}

impl ActiveContent {
    /// What it is, in a few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            ActiveContent::Script => "JavaScript",
            ActiveContent::OpenAction => "an action run when the document opens",
            ActiveContent::TriggeredAction => "actions run on events (opening a page, leaving a field, printing)",
            ActiveContent::Action => "link actions other than going to a page or a web address",
            ActiveContent::Xfa => "an XFA form",
            ActiveContent::Portfolio => "a portfolio view",
            ActiveContent::PrintAlternate => "images that print differently from what the screen shows",
            ActiveContent::PrintOnly => "annotations printed but not shown on screen",
            ActiveContent::UndrawnAnnotation => "annotations and form fields without an appearance of their own",
            ActiveContent::Flattened => "form fields and annotations, now drawn into the pages",
            ActiveContent::NeedAppearances => "the request that readers draw form values themselves",
        }
    }
}

/// What an action does, as far as keeping it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Goes to a page of this document.
    GoTo,
    /// Opens a web or mail address.
    Web,
    /// Turns the page (next, previous, first, last).
    Navigate,
    /// Anything else, or a chain of actions.
    Remove,
}

/// What `action` does, as far as keeping it goes.
pub(crate) fn action_kind(doc: &Document, action: &Dictionary) -> Verdict {
    if action.has(b"Next") {
        return Verdict::Remove;
    }
    match action.get(b"S").and_then(Object::as_name).ok() {
        Some(b"GoTo") if action.has(b"D") => Verdict::GoTo,
        Some(b"Named") => match action.get(b"N").map(|n| resolved(doc, n)) {
            Ok(Object::Name(name)) if matches!(name.as_slice(), b"NextPage" | b"PrevPage" | b"FirstPage" | b"LastPage") => {
                Verdict::Navigate
            }
            _ => Verdict::Remove,
        },
        Some(b"URI") => {
            let Ok(Object::String(uri, _)) = action.get(b"URI").map(|u| resolved(doc, u)) else { return Verdict::Remove };
            // The scheme only, without copying the address: one action may be
            // named by many links.
            let web = [&b"http://"[..], b"https://", b"mailto:"]
                .iter()
                .any(|scheme| uri.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme)));
            if web { Verdict::Web } else { Verdict::Remove }
        }
        _ => Verdict::Remove,
    }
}

fn is_script(action: &Dictionary) -> bool {
    action.has(b"JS") || action.get(b"S").and_then(Object::as_name).is_ok_and(|s| s == b"JavaScript")
}

/// Keys removed wherever they are, with what they are.
const REMOVED_KEYS: [(&[u8], ActiveContent); 7] = [
    (b"AA", ActiveContent::TriggeredAction),
    (b"JavaScript", ActiveContent::Script),
    (b"AlternatePresentations", ActiveContent::Script),
    (b"Collection", ActiveContent::Portfolio),
    (b"XFA", ActiveContent::Xfa),
    (b"Alternates", ActiveContent::PrintAlternate),
    (b"OPI", ActiveContent::PrintAlternate),
];

/// What to do with an action found under `key` of a dictionary.
fn judge_action(doc: &Document, key: &[u8], value: &Object) -> Option<ActiveContent> {
    let action = match resolved(doc, value) {
        Object::Dictionary(dict) => dict,
        Object::Stream(stream) => return Some(if is_script(&stream.dict) { ActiveContent::Script } else { ActiveContent::Action }),
        Object::Array(_) if key == b"OpenAction" => return None,
        _ if key == b"OpenAction" => return Some(ActiveContent::OpenAction),
        _ => return None,
    };
    // `/A` of a structure element holds attributes, not an action.
    if key == b"A" && !action.has(b"S") {
        return None;
    }
    let kind = action_kind(doc, action);
    let kept = match key {
        b"OpenAction" => kind == Verdict::GoTo,
        _ => kind != Verdict::Remove,
    };
    match (kept, is_script(action), key) {
        (true, _, _) => None,
        (false, true, _) => Some(ActiveContent::Script),
        (false, false, b"OpenAction") => Some(ActiveContent::OpenAction),
        (false, false, _) => Some(ActiveContent::Action),
    }
}

/// Removes active content from every object of `doc`; counts it in `removed`.
pub(crate) fn neutralise(doc: &mut Document, removed: &mut BTreeMap<ActiveContent, usize>) {
    let ids: Vec<ObjectId> = doc.objects.keys().copied().collect();
    for id in ids {
        // Take the object out to change it while reading the others.
        let Some(mut object) = doc.objects.remove(&id) else { continue };
        clean(&mut object, doc, removed, 0);
        doc.objects.insert(id, object);
    }
}

fn clean(object: &mut Object, doc: &Document, removed: &mut BTreeMap<ActiveContent, usize>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let dict = match object {
        Object::Dictionary(dict) => dict,
        Object::Stream(stream) => &mut stream.dict,
        Object::Array(items) => {
            for item in items {
                clean(item, doc, removed, depth + 1);
            }
            return;
        }
        _ => return,
    };
    for (key, kind) in REMOVED_KEYS {
        if remove_key(dict, key).is_some() {
            *removed.entry(kind).or_insert(0) += 1;
        }
    }
    for key in [&b"A"[..], b"OpenAction", b"PA"] {
        if let Some(kind) = dict.get(key).ok().and_then(|value| judge_action(doc, key, value)) {
            remove_key(dict, key);
            *removed.entry(kind).or_insert(0) += 1;
        }
    }
    for (_, value) in dict.iter_mut() {
        clean(value, doc, removed, depth + 1);
    }
}

/// The active content `doc` holds (a source in normal form should hold none),
/// by kind, with how many places hold it.
pub(crate) fn find(doc: &Document, pages: &[ObjectId]) -> BTreeMap<ActiveContent, usize> {
    let mut found = BTreeMap::new();
    for object in doc.objects.values() {
        look(object, doc, &mut found, 0);
    }
    // The form was drawn into the pages; of the annotations, links remain.
    let catalog = doc.trailer.get(b"Root").and_then(Object::as_reference).ok().and_then(|root| doc.get_dictionary(root).ok());
    if catalog.is_some_and(|catalog| catalog.has(b"AcroForm")) {
        *found.entry(ActiveContent::Flattened).or_insert(0) += 1;
    }
    let mut seen = HashSet::new();
    for page in pages {
        let annots = doc.get_dictionary(*page).ok().and_then(|p| p.get(b"Annots").ok());
        match annots {
            None => {}
            Some(Object::Array(items)) if items.iter().all(is_kept_link) => {}
            Some(Object::Reference(id)) if !seen.insert(*id) => {}
            Some(_) => *found.entry(ActiveContent::Flattened).or_insert(0) += 1,
        }
    }
    found
}

fn look(object: &Object, doc: &Document, found: &mut BTreeMap<ActiveContent, usize>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let dict = match object {
        Object::Dictionary(dict) => dict,
        Object::Stream(stream) => &stream.dict,
        Object::Array(items) => {
            for item in items {
                look(item, doc, found, depth + 1);
            }
            return;
        }
        _ => return,
    };
    for (key, kind) in REMOVED_KEYS {
        if dict.has(key) {
            *found.entry(kind).or_insert(0) += 1;
        }
    }
    if dict.has(b"NeedAppearances") {
        *found.entry(ActiveContent::NeedAppearances).or_insert(0) += 1;
    }
    for key in [&b"A"[..], b"OpenAction", b"PA"] {
        if let Some(kind) = dict.get(key).ok().and_then(|value| judge_action(doc, key, value)) {
            *found.entry(kind).or_insert(0) += 1;
        }
    }
    for (_, value) in dict.iter() {
        look(value, doc, found, depth + 1);
    }
}

/// Whether a page's annotation is a link as `flatten` writes it: direct,
/// with a rectangle, no border, and a destination or an action (which
/// `look` judges like every other).
fn is_kept_link(item: &Object) -> bool {
    let Object::Dictionary(link) = item else { return false };
    let plain = link.iter().all(|(key, _)| matches!(key.as_slice(), b"Type" | b"Subtype" | b"Rect" | b"Border" | b"Dest" | b"A"));
    let border = matches!(link.get(b"Border"), Ok(Object::Array(b)) if b.len() == 3 && b.iter().all(|v| v.as_i64().ok() == Some(0)));
    let target = link.has(b"Dest") != link.has(b"A");
    plain && border && target && link.get(b"Subtype").and_then(Object::as_name).is_ok_and(|s| s == b"Link") && link.has(b"Rect")
}
