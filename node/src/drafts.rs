//! A document being prepared: its title, its parties and the fields placed
//! on its pages, before it is sent. The web app's editor and the templates'
//! bulk send both check a draft here and turn it into an envelope's request.

use countersign_shared::hash::Hash;
use countersign_shared::model::{Contact, FieldKind, Rect, Role};
use countersign_shared::source::PageGeometry;
use serde::{Deserialize, Serialize};

use crate::app::requests::{CreateRequest, FieldInput, PartyInput};
use crate::datadir::{DataDir, DataDirError, write_atomic};
use crate::envelopes::Summary;

/// The smallest field side, in points.
const MIN_FIELD: f32 = 10.0;

/// A document being prepared: everything `send` needs but the PDF.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Draft {
    /// The document's title.
    #[serde(default)]
    pub title: String,
    /// The parties, in the order the form lists them.
    #[serde(default)]
    pub parties: Vec<PartyInput>,
    /// The fields placed on the pages.
    #[serde(default)]
    pub fields: Vec<FieldDraft>,
    /// Parties invited by phone must also give a code texted to them.
    #[serde(default)]
    pub confirm_by_code: bool,
    /// Every invitation goes out at send, for later signers to read first.
    #[serde(default)]
    pub invite_all_now: bool,
}

/// A field placed in the editor, in points as the page is seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldDraft {
    /// What it holds.
    pub kind: FieldKind,
    /// Page, from 1.
    pub page: u32,
    /// Where on the page (`x`, `y`, `width`, `height`, beside the other keys).
    #[serde(flatten)]
    pub rect: Rect,
    /// The party's index in `parties`.
    pub party: usize,
    /// What the field asks for ("Address"); empty for the kind and the party's name.
    #[serde(default)]
    pub label: String,
}

/// Whether two boxes share some area (touching edges do not count).
fn overlap(a: &Rect, b: &Rect) -> bool {
    const SLACK: f32 = 0.5;
    a.x + a.width > b.x + SLACK && b.x + b.width > a.x + SLACK && a.y + a.height > b.y + SLACK && b.y + b.height > a.y + SLACK
}

/// A draft kept while it is prepared (the editor saves it as the person
/// works), so that leaving the page loses nothing: in `drafts/<hash>.json`,
/// one per uploaded PDF, until it is sent or discarded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedDraft {
    /// The prepared PDF (a blob on this node).
    pub document: Hash,
    /// The draft.
    pub draft: Draft,
    /// When it was last saved (Unix ms).
    pub saved_ms: u64,
}

/// The folder of saved drafts.
const DRAFTS: &str = "drafts";

fn draft_path(data: &DataDir, document: &Hash) -> std::path::PathBuf {
    data.path(DRAFTS).join(format!("{document}.json"))
}

/// Keeps `draft` of `document`, replacing the one kept before.
pub fn keep(data: &DataDir, document: Hash, draft: Draft) -> Result<(), DataDirError> {
    let dir = data.path(DRAFTS);
    std::fs::create_dir_all(&dir).map_err(|source| DataDirError::Io { what: "cannot create", path: dir.display().to_string(), source })?;
    let saved = SavedDraft { document, draft, saved_ms: crate::clock::now_ms() };
    let bytes = serde_json::to_vec_pretty(&saved).map_err(|e| DataDirError::Damaged(document.short(), e.to_string()))?;
    write_atomic(&draft_path(data, &document), &bytes, false)
}

/// The draft kept for `document`, if any.
pub fn kept(data: &DataDir, document: &Hash) -> Option<SavedDraft> {
    std::fs::read(draft_path(data, document)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// Every kept draft, the latest first (a damaged file is skipped).
pub fn all_kept(data: &DataDir) -> Vec<SavedDraft> {
    let Ok(entries) = std::fs::read_dir(data.path(DRAFTS)) else { return Vec::new() };
    let mut drafts: Vec<SavedDraft> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    drafts.sort_by_key(|saved| std::cmp::Reverse(saved.saved_ms));
    drafts
}

/// Forgets the draft of `document` (sent, or discarded).
pub fn forget(data: &DataDir, document: &Hash) {
    let _ = std::fs::remove_file(draft_path(data, document));
}

/// What is wrong with one input of a draft: `key` names it (`title`,
/// `party-0-contact`, `field-2`, `general`), `message` says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftProblem {
    /// The input it concerns.
    pub key: String,
    /// What to do, for a person.
    pub message: String,
}

impl DraftProblem {
    /// A problem with the input `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        DraftProblem { key: key.into(), message: message.into() }
    }
}

impl Draft {
    /// Every problem with the draft, each keyed to its input, for a
    /// document whose pages are `pages`; none means it can be sent.
    pub fn problems(&self, pages: &[PageGeometry]) -> Vec<DraftProblem> {
        let mut problems = Vec::new();
        if self.title.trim().is_empty() {
            problems.push(DraftProblem::new("title", "Give the document a title."));
        }
        if self.parties.is_empty() {
            problems.push(DraftProblem::new("general", "Add at least one person who signs."));
        }
        for (i, party) in self.parties.iter().enumerate() {
            if party.name.trim().is_empty() {
                problems.push(DraftProblem::new(format!("party-{i}-name"), "Enter a name."));
            }
            if let Err(e) = Contact::parse(&party.contact) {
                problems.push(DraftProblem::new(format!("party-{i}-contact"), format!("Enter an email address or a phone number ({e}).")));
            }
            if party.order.is_some_and(|o| o == 0 || o > 9) {
                problems.push(DraftProblem::new(format!("party-{i}-order"), "The signing order is a number from 1 to 9."));
            }
        }
        if !self.parties.iter().any(|p| p.role != Role::Viewer) {
            problems.push(DraftProblem::new("general", "At least one party must sign (company signer or client)."));
        }
        if !self.fields.is_empty() {
            for (i, party) in self.parties.iter().enumerate().filter(|(_, p)| p.role != Role::Viewer) {
                let has = |kind: FieldKind| self.fields.iter().any(|f| f.party == i && f.kind == kind);
                let key = format!("party-{i}-fields");
                if !has(FieldKind::Signature) {
                    problems.push(DraftProblem::new(key, "Place a signature field for this person."));
                } else if party.stamp_required.unwrap_or(false) && !has(FieldKind::Stamp) {
                    problems.push(DraftProblem::new(key, "A stamp is required from this person: place a stamp field for them."));
                }
            }
        }
        for (i, field) in self.fields.iter().enumerate() {
            let key = format!("field-{i}");
            let Some(page) = usize::try_from(field.page).ok().and_then(|p| p.checked_sub(1)).and_then(|p| pages.get(p)) else {
                problems.push(DraftProblem::new(key, "This field is on a page the document does not have."));
                continue;
            };
            let (width, height) = page.visible_size();
            let Rect { x, y, width: w, height: h } = field.rect;
            let inside =
                x >= -0.5 && y >= -0.5 && x + w <= width + 0.5 && y + h <= height + 0.5 && [x, y, w, h].iter().all(|v| v.is_finite());
            if !inside {
                problems.push(DraftProblem::new(key, "This field is partly off the page: drag it onto the page."));
            } else if w < MIN_FIELD || h < MIN_FIELD {
                problems.push(DraftProblem::new(key, "This field is too small to fill: make it larger."));
            }
            if let Some(other) =
                self.fields[..i].iter().position(|earlier| earlier.page == field.page && overlap(&earlier.rect, &field.rect))
            {
                problems.push(DraftProblem::new(
                    format!("field-{i}"),
                    format!("This field covers field {} on the same page: move one of them so that each has room.", other + 1),
                ));
            }
            match self.parties.get(field.party) {
                None => problems.push(DraftProblem::new(format!("field-{i}"), "This field's party was removed: choose another.")),
                Some(party) if party.role == Role::Viewer => {
                    problems.push(DraftProblem::new(format!("field-{i}"), "A viewer does not sign: give this field to someone who does."));
                }
                Some(_) => {}
            }
        }
        problems
    }

    /// A new draft from a declined envelope: the same title, people and
    /// fields, to correct and send again.
    pub fn again(summary: &Summary) -> Draft {
        let parties = summary
            .parties
            .iter()
            .map(|p| PartyInput {
                name: p.name.clone(),
                role: p.role,
                contact: p.contact.to_string(),
                order: Some(p.order),
                stamp_required: Some(summary.fields.iter().any(|f| f.assignee == p.slot && f.kind == FieldKind::Stamp)),
            })
            .collect();
        let fields = summary
            .fields
            .iter()
            .map(|f| {
                // The form lists the parties as the summary does (signing
                // order), not by slot.
                let party = summary.parties.iter().position(|p| p.slot == f.assignee).unwrap_or(0);
                let name = summary.parties.get(party).map_or("", |p| p.name.as_str());
                // A label the editor made itself is made again (it follows the name).
                let made = f.label == format!("{} – {name}", f.kind.label());
                FieldDraft {
                    kind: f.kind,
                    page: f.page,
                    rect: Rect { x: f.rect[0], y: f.rect[1], width: f.rect[2], height: f.rect[3] },
                    party,
                    label: if made { String::new() } else { f.label.clone() },
                }
            })
            .collect();
        Draft { title: summary.title.clone(), parties, fields, ..Draft::default() }
    }

    /// The envelope the draft makes with the prepared PDF `document`.
    pub fn to_request(&self, document: Hash) -> CreateRequest {
        CreateRequest {
            title: self.title.trim().to_owned(),
            document,
            parties: self.parties.clone(),
            fields: if self.fields.is_empty() { None } else { Some(self.field_inputs()) },
            verifier_url: None,
            confirm_by_code: self.confirm_by_code,
            invite_all_now: self.invite_all_now,
            placed: None,
        }
    }

    /// The fields as the node takes them, with labels people read ("Signature – Dmitri Director").
    fn field_inputs(&self) -> Vec<FieldInput> {
        let mut used: Vec<String> = Vec::new();
        self.fields
            .iter()
            .map(|field| {
                let party = self.parties.get(field.party).map_or("", |p| p.name.trim());
                let base = match field.label.trim() {
                    "" => format!("{} – {party}", field.kind.label()),
                    named => named.to_owned(),
                };
                let mut label = base.clone();
                let mut n = 2;
                while used.contains(&label) {
                    label = format!("{base} ({n})");
                    n += 1;
                }
                used.push(label.clone());
                FieldInput {
                    label,
                    kind: field.kind,
                    page: field.page,
                    rect: field.rect,
                    party: (field.party + 1).to_string(),
                    required: Some(true),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a4() -> Vec<PageGeometry> {
        vec![PageGeometry { bounds: [0.0, 0.0, 595.0, 842.0], rotate: 0 }; 2]
    }

    fn party(name: &str, role: Role, contact: &str) -> PartyInput {
        PartyInput { name: name.into(), role, contact: contact.into(), order: None, stamp_required: None }
    }

    fn field(page: u32, x: f32, y: f32, party: usize) -> FieldDraft {
        FieldDraft { kind: FieldKind::Signature, page, rect: Rect { x, y, width: 150.0, height: 40.0 }, party, label: String::new() }
    }

    fn keys(draft: &Draft) -> Vec<String> {
        draft.problems(&a4()).into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn a_good_draft_passes() {
        let draft = Draft {
            title: "Agreement".into(),
            parties: vec![party("Dmitri", Role::CompanySigner, "d@acme.test"), party("Carl", Role::Client, "+15550100")],
            fields: vec![field(1, 40.0, 40.0, 0), field(2, 300.0, 40.0, 1)],
            ..Draft::default()
        };
        assert_eq!(keys(&draft), Vec::<String>::new());
        let mut stamped = draft.clone();
        stamped.parties[0].stamp_required = Some(true);
        assert_eq!(keys(&stamped), ["party-0-fields"], "a stamp required but no stamp field");
        let mut unsigned = draft;
        unsigned.fields.pop();
        assert_eq!(keys(&unsigned), ["party-1-fields"], "a signer without a signature field");
    }

    #[test]
    fn fields_that_cover_each_other_are_refused_and_fields_that_touch_are_not() {
        let parties = vec![party("Dmitri", Role::CompanySigner, "d@acme.test"), party("Carl", Role::Client, "+15550100")];
        let draft = |fields| Draft { title: "T".into(), parties: parties.clone(), fields, ..Draft::default() };
        let covering = draft(vec![field(1, 40.0, 40.0, 0), field(1, 300.0, 40.0, 1), field(1, 100.0, 60.0, 1)]);
        assert_eq!(keys(&covering), ["field-2"]);
        assert!(covering.problems(&a4())[0].message.contains("covers field 1"), "{:?}", covering.problems(&a4()));
        let touching = draft(vec![field(1, 40.0, 40.0, 0), field(1, 190.0, 40.0, 1)]);
        assert_eq!(keys(&touching), Vec::<String>::new(), "side by side");
        let other_page = draft(vec![field(1, 40.0, 40.0, 0), field(2, 40.0, 40.0, 1)]);
        assert_eq!(keys(&other_page), Vec::<String>::new(), "the same place on another page");
    }

    #[test]
    fn each_problem_is_named_next_to_its_input() {
        let draft = Draft {
            title: " ".into(),
            parties: vec![party("", Role::CompanySigner, "nobody"), party("Vera", Role::Viewer, "v@acme.test")],
            fields: vec![field(1, 500.0, 40.0, 0), field(3, 40.0, 40.0, 0), field(1, 40.0, 40.0, 1), field(1, 40.0, 200.0, 7)],
            ..Draft::default()
        };
        assert_eq!(keys(&draft), ["title", "party-0-name", "party-0-contact", "field-0", "field-1", "field-2", "field-3"]);
        let messages: Vec<String> = draft.problems(&a4()).into_iter().map(|e| e.message).collect();
        assert!(messages[3].contains("off the page"), "{messages:?}");
        assert!(messages[4].contains("page the document does not have"), "{messages:?}");
        assert!(messages[5].contains("viewer does not sign"), "{messages:?}");
    }

    #[test]
    fn only_viewers_is_not_a_document_anyone_signs() {
        let draft =
            Draft { title: "T".into(), parties: vec![party("Vera", Role::Viewer, "v@acme.test")], fields: vec![], ..Draft::default() };
        assert_eq!(keys(&draft), ["general"]);
    }
}
