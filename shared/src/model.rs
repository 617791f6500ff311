//! The envelope's terms: the document, the parties and the fields, as fixed by
//! the `Create` entry (P1).

use serde::{Deserialize, Serialize};

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::Hash;

/// Longest name, title, contact or text value, in bytes.
pub const MAX_TEXT: usize = 1_000;
/// Most parties in one envelope.
pub const MAX_PARTIES: usize = 32;
/// Most fields in one envelope.
pub const MAX_FIELDS: usize = 256;
/// The largest page side PDF allows (ISO 32000-1, annex C), in points: no box is larger.
pub const MAX_PAGE_SIDE: f32 = 14_400.0;

/// A party's index in the envelope's party list.
pub type Slot = u8;

/// What a party does in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Signs for the company (e.g. the director). Order 1 by default.
    #[serde(alias = "signer")]
    CompanySigner,
    /// The company's counterparty. Order 2 by default.
    Client,
    /// Sees the envelope but never signs (e.g. a manager following the deal).
    Viewer,
}

impl Role {
    /// Whether the role signs.
    pub fn signs(self) -> bool {
        !matches!(self, Role::Viewer)
    }

    /// How the role reads in a report.
    pub fn label(self) -> &'static str {
        match self {
            Role::CompanySigner => "company signer",
            Role::Client => "client",
            Role::Viewer => "viewer",
        }
    }

    fn tag(self) -> u8 {
        match self {
            Role::CompanySigner => 1,
            Role::Client => 2,
            Role::Viewer => 3,
        }
    }

    fn from_tag(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(Role::CompanySigner),
            2 => Ok(Role::Client),
            3 => Ok(Role::Viewer),
            tag => Err(DecodeError::UnknownTag { what: "role", tag }),
        }
    }
}

/// How a party is reached (and, for a phone, confirmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    /// An email address.
    Email(String),
    /// A phone number in international form, e.g. `+15550100`.
    Phone(String),
}

impl Contact {
    /// Reads `text` as an email address (has one `@`) or a phone number
    /// (`+` and digits, spaces and dashes allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some((local, domain)) = text.split_once('@') {
            if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !text.contains(char::is_whitespace) {
                return Ok(Contact::Email(text.to_owned()));
            }
            return Err(format!("'{text}' is not an email address"));
        }
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let ok = digits.starts_with('+') && (8..=16).contains(&digits.len()) && digits[1..].chars().all(|c| c.is_ascii_digit());
        if ok { Ok(Contact::Phone(digits)) } else { Err(format!("'{text}' is neither an email address nor a phone number like +15550100")) }
    }

    /// The address or number.
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Email(s) | Contact::Phone(s) => s,
        }
    }
}

impl std::fmt::Display for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One party of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    /// The person's name as it appears on the document.
    pub name: String,
    /// What they do.
    pub role: Role,
    /// How they are reached.
    pub contact: Contact,
    /// Signing order: every party of a lower order signs first (P3). Ignored for viewers.
    pub order: u8,
    /// Whether their signature must come with a stamp.
    pub stamp_required: bool,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A signature image.
    Signature,
    /// A stamp (seal) image.
    Stamp,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// Free text (a name, an address).
    Text,
    /// The company's details (name, registration, address), several lines.
    CompanyDetails,
}

impl FieldKind {
    /// Every kind, in the order an editor offers them.
    pub const ALL: [FieldKind; 5] = [FieldKind::Signature, FieldKind::Stamp, FieldKind::Date, FieldKind::Text, FieldKind::CompanyDetails];

    /// Its name in the API and the web app (as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Signature => "signature",
            FieldKind::Stamp => "stamp",
            FieldKind::Date => "date",
            FieldKind::Text => "text",
            FieldKind::CompanyDetails => "company_details",
        }
    }

    /// How it reads in a sentence's start ("Company details").
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Signature => "Signature",
            FieldKind::Stamp => "Stamp",
            FieldKind::Date => "Date",
            FieldKind::Text => "Text",
            FieldKind::CompanyDetails => "Company details",
        }
    }

    /// Whether the value is an image rather than text.
    pub fn is_image(self) -> bool {
        matches!(self, FieldKind::Signature | FieldKind::Stamp)
    }

    fn tag(self) -> u8 {
        match self {
            FieldKind::Signature => 1,
            FieldKind::Stamp => 2,
            FieldKind::Date => 3,
            FieldKind::Text => 4,
            FieldKind::CompanyDetails => 5,
        }
    }

    fn from_tag(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(FieldKind::Signature),
            2 => Ok(FieldKind::Stamp),
            3 => Ok(FieldKind::Date),
            4 => Ok(FieldKind::Text),
            5 => Ok(FieldKind::CompanyDetails),
            tag => Err(DecodeError::UnknownTag { what: "field kind", tag }),
        }
    }
}

/// A rectangle in PDF points (1/72 inch), as the page is seen: origin at the
/// lower-left corner of the visible page, after the page's rotation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Bottom edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

/// A place on the document that one party fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The label people see, e.g. "Client address". Unique in the envelope.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Page number, starting at 1.
    pub page: u32,
    /// Where on the page.
    pub rect: Rect,
    /// The party that fills it.
    pub assignee: Slot,
    /// Whether the party must fill it to sign.
    pub required: bool,
}

/// The source document, by hash and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DocumentRef {
    /// BLAKE3 of the PDF bytes.
    pub hash: Hash,
    /// Length of the PDF in bytes.
    pub len: u64,
    /// Number of pages, so fields can be checked against it.
    pub pages: u32,
}

/// Everything `Create` fixes (P1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Terms {
    /// The document's title.
    pub title: String,
    /// The source PDF.
    pub document: DocumentRef,
    /// The parties, indexed by [`Slot`].
    pub parties: Vec<Party>,
    /// The fields.
    pub fields: Vec<Field>,
    /// Base address of the public verifier, for the certificate page's QR code.
    pub verifier_url: String,
}

impl Terms {
    /// The party at `slot`, if any.
    pub fn party(&self, slot: Slot) -> Option<&Party> {
        self.parties.get(usize::from(slot))
    }

    /// The slots of the parties that sign, in signing order (ties by slot).
    pub fn signing_order(&self) -> Vec<Slot> {
        let mut slots: Vec<Slot> = (0..self.parties.len())
            .filter_map(|i| Slot::try_from(i).ok())
            .filter(|slot| self.party(*slot).is_some_and(|p| p.role.signs()))
            .collect();
        slots.sort_by_key(|slot| (self.party(*slot).map_or(0, |p| p.order), *slot));
        slots
    }

    /// The fields a party fills, with their indexes.
    pub fn fields_of(&self, slot: Slot) -> impl Iterator<Item = (usize, &Field)> {
        self.fields.iter().enumerate().filter(move |(_, f)| f.assignee == slot)
    }

    /// Whether a party must fill field `field` to sign.
    pub fn is_required(&self, field: &Field) -> bool {
        let stamp_required = field.kind == FieldKind::Stamp && self.party(field.assignee).is_some_and(|p| p.stamp_required);
        field.required || stamp_required
    }

    /// Checks the terms make sense on their own; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let text = |what: &str, value: &str| {
            if value.trim().is_empty() {
                Err(format!("{what} is empty"))
            } else if value.len() > MAX_TEXT {
                Err(format!("{what} is longer than {MAX_TEXT} bytes"))
            } else {
                crate::font::check_line(value).map_err(|e| format!("{what}: {e}"))
            }
        };
        text("the title", &self.title)?;
        text("the verifier address", &self.verifier_url)?;
        if self.parties.is_empty() || self.parties.len() > MAX_PARTIES {
            return Err(format!("an envelope needs 1 to {MAX_PARTIES} parties"));
        }
        if !self.parties.iter().any(|p| p.role.signs()) {
            return Err("no party signs".into());
        }
        for party in &self.parties {
            text("a party's name", &party.name)?;
            Contact::parse(party.contact.as_str()).map_err(|e| format!("{}: {e}", party.name))?;
            text("a party's contact", party.contact.as_str())?;
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        for (i, field) in self.fields.iter().enumerate() {
            text("a field's label", &field.label)?;
            if self.fields[..i].iter().any(|f| f.label == field.label) {
                return Err(format!("two fields are labelled '{}'", field.label));
            }
            let Some(party) = self.party(field.assignee) else {
                return Err(format!("field '{}' is assigned to no party", field.label));
            };
            if !party.role.signs() {
                return Err(format!("field '{}' is assigned to {}, a viewer", field.label, party.name));
            }
            if field.page == 0 || field.page > self.document.pages {
                return Err(format!(
                    "field '{}' is on page {}, but the document has {} pages",
                    field.label, field.page, self.document.pages
                ));
            }
            let r = field.rect;
            let within = |v: f32| v.is_finite() && (0.0..=MAX_PAGE_SIDE).contains(&v);
            if !(r.width >= 4.0 && r.height >= 4.0 && within(r.x) && within(r.y) && within(r.width) && within(r.height)) {
                return Err(format!("field '{}' is too small or off the page", field.label));
            }
            // A text field must be able to show what it asks for.
            let sample = match field.kind {
                FieldKind::Date => Some("2026-11-28"),
                kind if kind.is_image() => None,
                _ => Some("Xx"),
            };
            if let Some(sample) = sample
                && !crate::typeset::fits(sample, r.width, r.height, field.kind == FieldKind::CompanyDetails)
            {
                return Err(format!("field '{}' is too small to show a value: make it taller or wider", field.label));
            }
        }
        for party in self.parties.iter().filter(|p| p.stamp_required) {
            let slot = self.parties.iter().position(|p| std::ptr::eq(p, party));
            let has_stamp = self.fields.iter().any(|f| Some(usize::from(f.assignee)) == slot && f.kind == FieldKind::Stamp);
            if !has_stamp {
                return Err(format!("{} must stamp, but no stamp field is assigned to them", party.name));
            }
        }
        Ok(())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.str(&self.title);
        w.fixed(self.document.hash.as_bytes()).u64(self.document.len).u32(self.document.pages);
        w.u32(len_u32(self.parties.len()));
        for party in &self.parties {
            w.str(&party.name).u8(party.role.tag());
            match &party.contact {
                Contact::Email(s) => w.u8(1).str(s),
                Contact::Phone(s) => w.u8(2).str(s),
            };
            w.u8(party.order).bool(party.stamp_required);
        }
        w.u32(len_u32(self.fields.len()));
        for field in &self.fields {
            w.str(&field.label).u8(field.kind.tag()).u32(field.page);
            w.f32(field.rect.x).f32(field.rect.y).f32(field.rect.width).f32(field.rect.height);
            w.u8(field.assignee).bool(field.required);
        }
        w.str(&self.verifier_url);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let title = r.str(MAX_TEXT, "title")?.to_owned();
        let document =
            DocumentRef { hash: Hash::from_bytes(r.array("document hash")?), len: r.u64("document length")?, pages: r.u32("page count")? };
        let mut parties = Vec::new();
        for _ in 0..r.count(MAX_PARTIES, "parties")? {
            let name = r.str(MAX_TEXT, "party name")?.to_owned();
            let role = Role::from_tag(r.u8("role")?)?;
            let contact = match r.u8("contact")? {
                1 => Contact::Email(r.str(MAX_TEXT, "email")?.to_owned()),
                2 => Contact::Phone(r.str(MAX_TEXT, "phone")?.to_owned()),
                tag => return Err(DecodeError::UnknownTag { what: "contact", tag }),
            };
            let order = r.u8("order")?;
            let stamp_required = r.bool("stamp required")?;
            parties.push(Party { name, role, contact, order, stamp_required });
        }
        let mut fields = Vec::new();
        for _ in 0..r.count(MAX_FIELDS, "fields")? {
            let label = r.str(MAX_TEXT, "field label")?.to_owned();
            let kind = FieldKind::from_tag(r.u8("field kind")?)?;
            let page = r.u32("page")?;
            let rect = Rect { x: r.f32("x")?, y: r.f32("y")?, width: r.f32("width")?, height: r.f32("height")? };
            let assignee = r.u8("assignee")?;
            let required = r.bool("required")?;
            fields.push(Field { label, kind, page, rect, assignee, required });
        }
        let verifier_url = r.str(MAX_TEXT, "verifier address")?.to_owned();
        Ok(Terms { title, document, parties, fields, verifier_url })
    }
}

pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_parse_as_people_type_them() {
        assert_eq!(Contact::parse(" anna@acme.test "), Ok(Contact::Email("anna@acme.test".into())));
        assert_eq!(Contact::parse("+1 555-0100 22"), Ok(Contact::Phone("+1555010022".into())));
        assert!(Contact::parse("anna").is_err());
        assert!(Contact::parse("5550100").is_err());
        assert!(Contact::parse("a@b").is_err());
    }
}
