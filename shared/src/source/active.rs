//! Active content: whatever could make a reader show or do something other
//! than draw the pages. Prepare removes it; the strict reader reports any a
//! source still holds (a node that skipped preparing).
//!
//! Kept: links to a page or to a web or mail address, named navigation
//! (next page, …), and an opening view that goes to a page. Removed: scripts,
//! actions run on events, other actions (submit a form, launch a file, …),
//! action chains, XFA forms, media annotations, annotations printed but not
//! shown, pointer-over and pressed appearances, portfolio views, and the
//! request that readers redraw form fields themselves.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, ObjectId};
use serde::{Deserialize, Serialize};

use crate::source::MAX_DEPTH;
use crate::source::pages::{dictionary, resolved};

/// A kind of active content.
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
    /// A link or button action other than going to a page or to a web or mail
    /// address (submitting a form, launching a file, …), or a chain of actions.
    Action,
    /// An XFA form, which some readers show instead of the pages.
    Xfa,
    /// Sound, video or 3D content.
    Media,
    /// An annotation that is printed but not shown on screen.
    PrintOnly,
    /// An appearance shown only while the pointer is over, or presses, an annotation.
    PointerAppearance,
    /// A portfolio view, which shows attached files instead of the document.
    Portfolio,
    /// The request that readers draw form fields themselves rather than show their appearances.
    NeedAppearances,
}

impl ActiveContent {
    /// What it is, in a few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            ActiveContent::Script => "JavaScript",
            ActiveContent::OpenAction => "an action run when the document opens",
            ActiveContent::TriggeredAction => "actions run on events (opening a page, leaving a field, printing)",
            ActiveContent::Action => "link or button actions other than going to a page or a web address",
            ActiveContent::Xfa => "an XFA form",
            ActiveContent::Media => "sound, video or 3D content",
            ActiveContent::PrintOnly => "annotations printed but not shown on screen",
            ActiveContent::PointerAppearance => "appearances shown only under the mouse pointer",
            ActiveContent::Portfolio => "a portfolio view",
            ActiveContent::NeedAppearances => "the request that readers redraw form fields",
        }
    }
}

/// One step into an object: a dictionary key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Key(Vec<u8>),
    Index(usize),
}

/// What is removed where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    /// The key of the dictionary at the path.
    Key(Vec<u8>),
    /// This item of the array at the path (edits apply from the last, so
    /// removing one item never moves another edit's target).
    Item(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edit {
    object: ObjectId,
    path: Vec<Step>,
    change: Change,
    kind: ActiveContent,
}

/// The active content in `doc`, by kind, with how many places hold it.
pub(crate) fn find(doc: &Document) -> BTreeMap<ActiveContent, usize> {
    count(&edits(doc))
}

/// Removes the active content from `doc`; returns what was removed.
pub(crate) fn neutralise(doc: &mut Document) -> BTreeMap<ActiveContent, usize> {
    let edits = edits(doc);
    for edit in edits.iter().rev() {
        apply(doc, edit);
    }
    count(&edits)
}

fn count(edits: &[Edit]) -> BTreeMap<ActiveContent, usize> {
    let mut kinds = BTreeMap::new();
    for edit in edits {
        *kinds.entry(edit.kind).or_insert(0) += 1;
    }
    kinds
}

fn edits(doc: &Document) -> Vec<Edit> {
    let mut finder = Finder { doc, edits: Vec::new() };
    if let Ok(catalog) = doc.trailer.get(b"Root").and_then(Object::as_reference) {
        finder.catalog(catalog);
    }
    for (id, object) in &doc.objects {
        let mut path = Vec::new();
        finder.walk(*id, object, &mut path, 0);
    }
    finder.edits.sort();
    finder.edits.dedup();
    finder.edits
}

struct Finder<'a> {
    doc: &'a Document,
    edits: Vec<Edit>,
}

impl Finder<'_> {
    fn edit(&mut self, object: ObjectId, path: &[Step], change: Change, kind: ActiveContent) {
        self.edits.push(Edit { object, path: path.to_vec(), change, kind });
    }

    /// Where a value that may be a reference lives: its own object, or inside `object` at `path`.
    fn place(&self, value: &Object, object: ObjectId, path: &[Step], key: &[u8]) -> (ObjectId, Vec<Step>) {
        match value {
            Object::Reference(id) => (*id, Vec::new()),
            _ => {
                let mut inner = path.to_vec();
                inner.push(Step::Key(key.to_vec()));
                (object, inner)
            }
        }
    }

    /// The catalog's own entries: document scripts, XFA, portfolios, redrawn fields.
    fn catalog(&mut self, catalog: ObjectId) {
        let doc = self.doc;
        let Some(Object::Dictionary(dict)) = doc.objects.get(&catalog) else { return };
        if dict.has(b"Collection") {
            self.edit(catalog, &[], Change::Key(b"Collection".to_vec()), ActiveContent::Portfolio);
        }
        if let Ok(names) = dict.get(b"Names") {
            let (object, path) = self.place(names, catalog, &[], b"Names");
            if let Some(names) = dictionary(doc, names) {
                for (key, kind) in [(&b"JavaScript"[..], ActiveContent::Script), (b"AlternatePresentations", ActiveContent::Script)] {
                    if names.has(key) {
                        self.edit(object, &path, Change::Key(key.to_vec()), kind);
                    }
                }
            }
        }
        if let Ok(form) = dict.get(b"AcroForm") {
            let (object, path) = self.place(form, catalog, &[], b"AcroForm");
            if let Some(form) = dictionary(doc, form) {
                if form.has(b"XFA") {
                    self.edit(object, &path, Change::Key(b"XFA".to_vec()), ActiveContent::Xfa);
                }
                if form.get(b"NeedAppearances").and_then(Object::as_bool).unwrap_or(false) {
                    self.edit(object, &path, Change::Key(b"NeedAppearances".to_vec()), ActiveContent::NeedAppearances);
                } else if form.has(b"NeedAppearances") {
                    // `false` means nothing, but is one more way to spell the same form.
                    self.edit(object, &path, Change::Key(b"NeedAppearances".to_vec()), ActiveContent::NeedAppearances);
                }
            }
        }
    }

    fn walk(&mut self, object: ObjectId, value: &Object, path: &mut Vec<Step>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Object::Dictionary(dict) => self.dict(object, dict, path, depth),
            Object::Stream(stream) => self.dict(object, &stream.dict, path, depth),
            Object::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    path.push(Step::Index(index));
                    self.walk(object, item, path, depth + 1);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn dict(&mut self, object: ObjectId, dict: &Dictionary, path: &mut Vec<Step>, depth: usize) {
        let doc = self.doc;
        if dict.has(b"AA") {
            self.edit(object, path, Change::Key(b"AA".to_vec()), ActiveContent::TriggeredAction);
        }
        if let Ok(open) = dict.get(b"OpenAction") {
            let keep = match resolved(doc, open) {
                Object::Array(_) => true,
                Object::Dictionary(action) => action_kind(doc, action) == Verdict::GoTo,
                _ => false,
            };
            if !keep {
                let kind = if matches!(resolved(doc, open), Object::Dictionary(a) if is_script(a)) {
                    ActiveContent::Script
                } else {
                    ActiveContent::OpenAction
                };
                self.edit(object, path, Change::Key(b"OpenAction".to_vec()), kind);
            }
        }
        if let Ok(Object::Dictionary(action)) = dict.get(b"A").map(|a| resolved(doc, a))
            && action.has(b"S")
            && action_kind(doc, action) == Verdict::Remove
        {
            let kind = if is_script(action) { ActiveContent::Script } else { ActiveContent::Action };
            self.edit(object, path, Change::Key(b"A".to_vec()), kind);
        }
        if let Ok(appearances) = dict.get(b"AP") {
            let (place, inner) = self.place(appearances, object, path, b"AP");
            if let Some(appearances) = dictionary(doc, appearances) {
                for key in [&b"D"[..], b"R"] {
                    if appearances.has(key) {
                        self.edit(place, &inner, Change::Key(key.to_vec()), ActiveContent::PointerAppearance);
                    }
                }
            }
        }
        if let Ok(annots) = dict.get(b"Annots") {
            let (place, inner) = self.place(annots, object, path, b"Annots");
            if let Object::Array(items) = resolved(doc, annots) {
                for (index, item) in items.iter().enumerate() {
                    if let Some(kind) = dictionary(doc, item).and_then(hidden_annotation) {
                        self.edit(place, &inner, Change::Item(index), kind);
                    }
                }
            }
        }
        for (key, value) in dict.iter() {
            path.push(Step::Key(key.clone()));
            self.walk(object, value, path, depth + 1);
            path.pop();
        }
    }
}

/// What an action does, as far as keeping it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Goes to a page of this document.
    GoTo,
    /// Opens a web or mail address, or navigates (next page, …).
    Harmless,
    /// Anything else, or a chain of actions.
    Remove,
}

fn action_kind(doc: &Document, action: &Dictionary) -> Verdict {
    if action.has(b"Next") {
        return Verdict::Remove;
    }
    match action.get(b"S").and_then(Object::as_name).ok() {
        Some(b"GoTo") => Verdict::GoTo,
        Some(b"Named") => Verdict::Harmless,
        Some(b"URI") => {
            let uri = match action.get(b"URI").map(|u| resolved(doc, u)) {
                Ok(Object::String(uri, _)) => uri.to_ascii_lowercase(),
                _ => return Verdict::Remove,
            };
            let web = [&b"http://"[..], b"https://", b"mailto:"].iter().any(|scheme| uri.starts_with(scheme));
            if web { Verdict::Harmless } else { Verdict::Remove }
        }
        _ => Verdict::Remove,
    }
}

fn is_script(action: &Dictionary) -> bool {
    action.has(b"JS") || action.get(b"S").and_then(Object::as_name).is_ok_and(|s| s == b"JavaScript")
}

/// Whether an annotation must go: media, or printed but hidden on screen.
fn hidden_annotation(annotation: &Dictionary) -> Option<ActiveContent> {
    let subtype = annotation.get(b"Subtype").and_then(Object::as_name).ok()?;
    if matches!(subtype, b"Movie" | b"Sound" | b"Screen" | b"RichMedia" | b"3D") {
        return Some(ActiveContent::Media);
    }
    let flags = annotation.get(b"F").and_then(Object::as_i64).unwrap_or(0);
    let (hidden, print, no_view) = (flags & 2 != 0, flags & 4 != 0, flags & 32 != 0);
    (print && (hidden || no_view)).then_some(ActiveContent::PrintOnly)
}

fn apply(doc: &mut Document, edit: &Edit) {
    let Some(mut value) = doc.objects.get_mut(&edit.object) else { return };
    for step in &edit.path {
        let next = match (value, step) {
            (Object::Dictionary(dict), Step::Key(key)) => dict.get_mut(key).ok(),
            (Object::Stream(stream), Step::Key(key)) => stream.dict.get_mut(key).ok(),
            (Object::Array(items), Step::Index(index)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return };
        value = next;
    }
    match (value, &edit.change) {
        (Object::Dictionary(dict), Change::Key(key)) => {
            dict.remove(key);
        }
        (Object::Stream(stream), Change::Key(key)) => {
            stream.dict.remove(key);
        }
        (Object::Array(items), Change::Item(index)) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}
