//! Where fields go when the sender gives none: a column per signing party on
//! the last page, the way a contract's signature block is laid out.
//!
//! Company signers get a signature, a stamp when required, and a date; clients
//! get their name, their address and a signature. Labels are "Company
//! signature", "Client address", …, with the party's name added when two
//! parties share a role.

use countersign_shared::model::{Field, FieldKind, Party, Rect, Role, Slot};
use countersign_shared::source::PageGeometry;

/// Default fields for `parties` on a document whose pages are `pages`.
pub fn default_fields(parties: &[Party], pages: &[PageGeometry]) -> Vec<Field> {
    let Some(last) = pages.last() else { return vec![] };
    let page = pages.len() as u32;
    let (width, _) = last.visible_size();
    let signers: Vec<(Slot, &Party)> =
        parties.iter().enumerate().filter(|(_, p)| p.role.signs()).filter_map(|(i, p)| Slot::try_from(i).ok().map(|s| (s, p))).collect();
    let columns = signers.len().max(1) as f32;
    let column = ((width - 60.0) / columns).min(260.0);
    let mut fields = Vec::new();
    for (index, (slot, party)) in signers.iter().enumerate() {
        let x = 30.0 + index as f32 * column;
        let w = (column - 20.0).max(40.0);
        let shared_role = signers.iter().filter(|(_, p)| p.role == party.role).count() > 1;
        let prefix = match party.role {
            Role::CompanySigner => "Company",
            Role::Client => "Client",
            Role::Viewer => continue,
        };
        let label = |what: &str| if shared_role { format!("{prefix} {what} ({})", party.name) } else { format!("{prefix} {what}") };
        let mut add = |label: String, kind, y: f32, height: f32, width: f32| {
            fields.push(Field { label, kind, page, rect: Rect { x, y, width, height }, assignee: *slot, required: true });
        };
        add(label("signature"), FieldKind::Signature, 150.0, 50.0, w.min(170.0));
        match party.role {
            Role::CompanySigner => {
                // The stamp below the date, the date below the signature: nothing covers anything.
                if party.stamp_required {
                    add(label("stamp"), FieldKind::Stamp, 40.0, 80.0, 80.0);
                }
                let date = if shared_role { format!("Date ({})", party.name) } else { "Date".to_owned() };
                add(date, FieldKind::Date, 125.0, 16.0, w.min(120.0));
            }
            _ => {
                add(label("name"), FieldKind::Text, 110.0, 16.0, w);
                add(label("address"), FieldKind::Text, 88.0, 16.0, w);
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_shared::model::Contact;

    #[test]
    fn a_company_signer_and_a_client_get_the_usual_block() {
        let parties = vec![
            Party {
                name: "D".into(),
                role: Role::CompanySigner,
                contact: Contact::Email("d@a.test".into()),
                order: 1,
                stamp_required: true,
            },
            Party { name: "C".into(), role: Role::Client, contact: Contact::Phone("+15550100".into()), order: 2, stamp_required: false },
        ];
        let page = PageGeometry { bounds: [0.0, 0.0, 595.0, 842.0], rotate: 0 };
        let fields = default_fields(&parties, &[page, page]);
        let labels: Vec<&str> = fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["Company signature", "Company stamp", "Date", "Client signature", "Client name", "Client address"]);
        assert!(fields.iter().all(|f| f.page == 2 && f.rect.x + f.rect.width <= 595.0));
        for (i, a) in fields.iter().enumerate() {
            for b in &fields[i + 1..] {
                let apart = a.rect.x + a.rect.width <= b.rect.x
                    || b.rect.x + b.rect.width <= a.rect.x
                    || a.rect.y + a.rect.height <= b.rect.y
                    || b.rect.y + b.rect.height <= a.rect.y;
                assert!(apart, "{} covers {}", a.label, b.label);
            }
        }
    }
}
