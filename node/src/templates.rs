//! Templates: saved drafts (see [`crate::drafts`]) to start from again: a
//! contract the company sends every week, or one envelope per row of a CRM
//! export.
//!
//! Templates stay on this node, in `templates/<id>.json` in the data dir;
//! the PDF they use is a blob of the node's store.

use std::collections::BTreeMap;
use std::fs;

use countersign_shared::hash::Hash;
use serde::{Deserialize, Serialize};

use crate::datadir::{DataDir, DataDirError, write_atomic};
use crate::drafts::Draft;

/// A saved draft and its PDF.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    /// Its id (from its name and PDF; saving again under the same name replaces it).
    pub id: String,
    /// What people call it.
    pub name: String,
    /// The PDF (a blob on this node).
    pub document: Hash,
    /// The prepared document.
    pub draft: Draft,
}

impl Template {
    /// A template named `name` of `draft` over `document`.
    pub fn new(name: &str, document: Hash, draft: Draft) -> Template {
        let id = Hash::of(format!("{}\n{document}", name.trim().to_lowercase()).as_bytes()).short();
        Template { id, name: name.trim().to_owned(), document, draft }
    }

    /// The draft for one row of data: `title` and, for each party from 1,
    /// `party{n}_name` and `party{n}_contact`; columns left out keep the
    /// template's value. Unknown columns are named in the error, so a typo
    /// in a CRM export is not silently ignored.
    pub fn fill(&self, row: &BTreeMap<String, String>) -> Result<Draft, FillError> {
        let mut draft = self.draft.clone();
        for (column, value) in row {
            let value = value.trim().to_owned();
            if column == "title" {
                draft.title = value;
                continue;
            }
            let party = column
                .strip_prefix("party")
                .and_then(|rest| rest.split_once('_'))
                .and_then(|(n, what)| Some((n.parse::<usize>().ok()?.checked_sub(1)?, what)));
            match party {
                Some((index, what)) if index < draft.parties.len() && (what == "name" || what == "contact") => {
                    let party = &mut draft.parties[index];
                    if what == "name" { party.name = value } else { party.contact = value }
                }
                _ => {
                    let known =
                        (1..=draft.parties.len()).map(|n| format!("party{n}_name, party{n}_contact")).collect::<Vec<_>>().join(", ");
                    return Err(FillError::UnknownColumn { column: column.clone(), known });
                }
            }
        }
        Ok(draft)
    }
}

/// Why a row of data does not fill a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// A column the template has no place for (a typo in a CRM export).
    #[error("unknown column '{column}' (this template takes: title, {known})")]
    UnknownColumn {
        /// The column.
        column: String,
        /// The columns it takes after `title`.
        known: String,
    },
}

fn dir(data: &DataDir) -> std::path::PathBuf {
    data.path("templates")
}

/// Saves `template` (replacing one with the same id).
pub fn save(data: &DataDir, template: &Template) -> Result<(), DataDirError> {
    let dir = dir(data);
    fs::create_dir_all(&dir).map_err(|source| DataDirError::Io { what: "cannot create", path: dir.display().to_string(), source })?;
    let bytes = serde_json::to_vec_pretty(template).map_err(|e| DataDirError::Damaged(template.id.clone(), e.to_string()))?;
    write_atomic(&dir.join(format!("{}.json", template.id)), &bytes, false)
}

/// Every template, by name. A damaged file is skipped, not fatal.
pub fn list(data: &DataDir) -> Vec<Template> {
    let Ok(entries) = fs::read_dir(dir(data)) else { return Vec::new() };
    let mut templates: Vec<Template> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    templates.sort_by_key(|t| t.name.to_lowercase());
    templates
}

/// The template with `id`.
pub fn get(data: &DataDir, id: &str) -> Option<Template> {
    if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    fs::read(dir(data).join(format!("{id}.json"))).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

#[cfg(test)]
mod tests {
    use countersign_shared::model::Role;

    use crate::app::requests::PartyInput;

    use super::*;

    fn template() -> Template {
        let party =
            |name: &str, role: Role| PartyInput { name: name.into(), role, contact: String::new(), order: None, stamp_required: None };
        let draft = Draft {
            title: "Service agreement".into(),
            parties: vec![party("Dmitri Director", Role::CompanySigner), party("", Role::Client)],
            ..Draft::default()
        };
        Template::new("Service agreement", Hash::of(b"pdf"), draft)
    }

    #[test]
    fn a_row_fills_the_title_and_the_parties() {
        let row: BTreeMap<String, String> =
            [("title", "Agreement with Acme"), ("party2_name", "Carl Client"), ("party2_contact", " +15550100 ")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let draft = template().fill(&row).unwrap();
        assert_eq!(draft.title, "Agreement with Acme");
        assert_eq!((draft.parties[1].name.as_str(), draft.parties[1].contact.as_str()), ("Carl Client", "+15550100"));
        assert_eq!(draft.parties[0].name, "Dmitri Director", "columns left out keep the template's value");
    }

    #[test]
    fn an_unknown_column_is_named() {
        for column in ["party3_name", "party0_name", "client_phone", "party1_email"] {
            let row = BTreeMap::from([(column.to_owned(), "x".to_owned())]);
            let error = template().fill(&row).unwrap_err().to_string();
            assert!(error.contains(column) && error.contains("party2_contact"), "{error}");
        }
    }
}
