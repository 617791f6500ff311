//! Deterministic keys, documents, images and ready-made envelopes for tests,
//! examples and benchmarks (feature `test-utils`).
//!
//! Nothing here is random: the same calls give the same bytes, so tests can
//! compare renders and golden vectors can be committed.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Document, Object, Stream};

use crate::hash::{EnvelopeId, Hash};
use crate::invite::Invitation;
use crate::keys::SecretKey;
use crate::log::{Act, Entry, ImageFormat, RawEntry, Value};
use crate::model::{Contact, DocumentRef, Field, FieldKind, Party, Rect, Role, Slot, Terms};
use crate::pades::certificate::{Issuer, issue};
use crate::render::Blobs;
use crate::source::{inspect, prepare};
use crate::state::{EnvelopeState, fold};
use crate::time::UtcOffset;

/// A fixed time: 2026-11-28 09:00:00 UTC, in Unix ms.
pub const T0: u64 = 1_795_856_400_000;
/// The verifier address used in test envelopes.
pub const VERIFIER: &str = "https://verify.countersign.test";

/// The key numbered `n`.
pub fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}

/// `pdf` prepared for signing (in normal form); panics if it cannot be.
pub fn prepared(pdf: &[u8]) -> Vec<u8> {
    match prepare(pdf) {
        Ok(prepared) => prepared.bytes,
        Err(e) => panic!("the PDF cannot be prepared: {e}"),
    }
}

/// `pdf` written in normal form as it is, without the rest of preparing:
/// what a node that skipped preparing could make; panics if lopdf cannot load it.
pub fn unprepared_normal_form(pdf: &[u8]) -> Vec<u8> {
    let doc = crate::source::lenient::load(pdf).unwrap_or_else(|e| panic!("the PDF cannot be loaded: {e}"));
    crate::source::normal::write(&doc, crate::source::normal::StreamData::Inline).unwrap_or_else(|e| panic!("cannot be written: {e}"))
}

/// A contract PDF of `pages` pages of plain text, made with lopdf and prepared.
pub fn contract_pdf(pages: usize) -> Vec<u8> {
    prepared(&contract_pdf_as_made(pages))
}

/// The contract PDF as lopdf writes it, before preparing.
pub fn contract_pdf_as_made(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Times-Roman".to_vec()));
    let font_id = doc.add_object(font);
    let mut kids = Vec::new();
    for page in 1..=pages {
        let mut text = String::from("BT /F1 20 Tf 72 760 Td (Consulting agreement) Tj ET\n");
        text.push_str(&format!("BT /F1 11 Tf 72 730 Td 14 TL (Page {page} of {pages}) Tj T* "));
        for line in CLAUSES {
            text.push_str(&format!("({line}) ' "));
        }
        text.push_str("ET\n");
        if page == pages {
            text.push_str("BT /F1 11 Tf 72 250 Td (For the company:) Tj 280 0 Td (For the client:) Tj ET\n");
        }
        let content_id = doc.add_object(Stream::new(Dictionary::new(), text.into_bytes()));
        let mut fonts = Dictionary::new();
        fonts.set("F1", Object::Reference(font_id));
        let mut resources = Dictionary::new();
        resources.set("Font", Object::Dictionary(fonts));
        let mut page_dict = Dictionary::new();
        page_dict.set("Type", Object::Name(b"Page".to_vec()));
        page_dict.set("Parent", Object::Reference(pages_id));
        page_dict.set("Resources", Object::Dictionary(resources));
        page_dict.set("Contents", Object::Reference(content_id));
        kids.push(Object::Reference(doc.add_object(page_dict)));
    }
    let mut pages_dict = Dictionary::new();
    pages_dict.set("Type", Object::Name(b"Pages".to_vec()));
    pages_dict.set("Count", pages as i64);
    pages_dict.set("MediaBox", Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]));
    pages_dict.set("Kids", Object::Array(kids));
    doc.objects.insert(pages_id, Object::Dictionary(pages_dict));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(pages_id));
    let catalog_id = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut out = Vec::new();
    // Saving into memory cannot fail.
    let _ = doc.save_to(&mut out);
    out
}

const CLAUSES: [&str; 8] = [
    "1. The consultant advises the client on the migration of its accounting system.",
    "2. The work starts on 1 December 2026 and ends on 31 March 2027.",
    "3. The client pays EUR 12,000 in three monthly instalments of EUR 4,000.",
    "4. Each party keeps the other's information confidential.",
    "5. Either party may end this agreement with 30 days' written notice.",
    "6. The consultant's liability is limited to the fees paid.",
    "7. This agreement is governed by the law of the company's seat.",
    "8. The parties sign in order: the company first, then the client.",
];

/// A one-page PDF of `width` × `height` points that draws `content`, as
/// lopdf writes it (not prepared).
pub fn one_page_pdf(width: f32, height: f32, content: &[u8]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(Stream::new(Dictionary::new(), content.to_vec()));
    let mut page = Dictionary::new();
    page.set("Type", Object::Name(b"Page".to_vec()));
    page.set("Parent", Object::Reference(pages_id));
    page.set("MediaBox", Object::Array(vec![0.into(), 0.into(), Object::Real(width), Object::Real(height)]));
    page.set("Contents", Object::Reference(content));
    let page = doc.add_object(page);
    let mut pages = Dictionary::new();
    pages.set("Type", Object::Name(b"Pages".to_vec()));
    pages.set("Kids", Object::Array(vec![Object::Reference(page)]));
    pages.set("Count", 1);
    doc.objects.insert(pages_id, Object::Dictionary(pages));
    let mut catalog = Dictionary::new();
    catalog.set("Type", Object::Name(b"Catalog".to_vec()));
    catalog.set("Pages", Object::Reference(pages_id));
    let catalog = doc.add_object(catalog);
    doc.trailer.set("Root", Object::Reference(catalog));
    let mut bytes = Vec::new();
    if let Err(e) = doc.save_to(&mut bytes) {
        panic!("the one-page PDF is not written: {e}");
    }
    bytes
}

/// A PNG of `width`×`height` drawn by `paint(x, y) -> [r, g, b, a]`.
pub fn png(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).flat_map(|(x, y)| paint(x, y)).collect();
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&pixels);
    }
    out
}

/// A handwritten-looking signature in blue ink on a transparent background.
pub fn signature_png(variant: u32) -> Vec<u8> {
    png(300, 100, move |x, y| {
        let t = x as f32 / 300.0 * std::f32::consts::TAU * (2.0 + variant as f32 * 0.5);
        let curve = 50.0 + 28.0 * t.sin() * (1.0 - x as f32 / 400.0);
        if (y as f32 - curve).abs() < 2.5 && x > 10 && x < 290 { [20, 40, 160, 255] } else { [0, 0, 0, 0] }
    })
}

/// A round red company stamp on a transparent background.
pub fn stamp_png() -> Vec<u8> {
    png(160, 160, |x, y| {
        let (dx, dy) = (x as f32 - 80.0, y as f32 - 80.0);
        let r = (dx * dx + dy * dy).sqrt();
        if (70.0..76.0).contains(&r) || (50.0..53.0).contains(&r) || (r < 20.0 && (dx.abs() < 4.0 || dy.abs() < 4.0)) {
            [200, 30, 40, 220]
        } else {
            [0, 0, 0, 0]
        }
    })
}

/// Slots of the standard contract.
pub const DIRECTOR: Slot = 0;
/// The client's slot.
pub const CLIENT: Slot = 1;

/// The standard contract's terms on `pdf`: director (order 1, stamp required)
/// and client (order 2); fields on the first and last pages.
pub fn contract_terms(pdf: &[u8]) -> Terms {
    let info = inspect(pdf).ok();
    let pages = info.as_ref().map_or(1, |i| i.pages.len()) as u32;
    let (w, _) = info.as_ref().and_then(|i| i.pages.last()).map_or((595.0, 842.0), |p| p.visible_size());
    let rect = |x: f32, y: f32, width: f32, height: f32| Rect { x, y, width, height };
    let field = |label: &str, kind, page, rect, assignee, required| Field { label: label.into(), kind, page, rect, assignee, required };
    let half = w / 2.0;
    Terms {
        title: "Consulting agreement".into(),
        document: DocumentRef { hash: Hash::of(pdf), len: pdf.len() as u64, pages },
        parties: vec![
            Party {
                name: "Dmitri Director".into(),
                role: Role::CompanySigner,
                contact: Contact::Email("dmitri@acme.test".into()),
                order: 1,
                stamp_required: true,
            },
            Party {
                name: "Carl Client".into(),
                role: Role::Client,
                contact: Contact::Phone("+15550100".into()),
                order: 2,
                stamp_required: false,
            },
        ],
        fields: vec![
            field("Company signature", FieldKind::Signature, pages, rect(40.0, 150.0, 160.0, 55.0), DIRECTOR, true),
            field("Company stamp", FieldKind::Stamp, pages, rect(40.0, 60.0, 80.0, 80.0), DIRECTOR, false),
            field("Date", FieldKind::Date, pages, rect(130.0, 100.0, 90.0, 18.0), DIRECTOR, true),
            field("Client name", FieldKind::Text, 1, rect(half, 80.0, half - 50.0, 18.0), CLIENT, true),
            field("Client address", FieldKind::Text, 1, rect(half, 55.0, half - 50.0, 18.0), CLIENT, true),
            field("Client signature", FieldKind::Signature, pages, rect(half, 150.0, 160.0, 55.0), CLIENT, true),
        ],
        verifier_url: VERIFIER.into(),
    }
}

/// An envelope being played through in a test: every entry and blob so far.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The source PDF.
    pub pdf: Vec<u8>,
    /// The envelope id.
    pub envelope: EnvelopeId,
    /// Every entry made, valid or not, in the order made.
    pub entries: Vec<RawEntry>,
    /// The images.
    pub blobs: Blobs,
    /// Invitations by slot.
    pub invites: BTreeMap<Slot, (Invitation, RawEntry)>,
    clock: u64,
}

/// The creator's key in a scenario.
pub fn creator() -> SecretKey {
    key(1)
}

/// The company's certificate authority in a scenario: its certificate (DER) and key.
pub fn company_authority() -> (Vec<u8>, SecretKey) {
    let key = key(90);
    match crate::pades::certificate::issue_authority(&key, "Acme Ltd", T0) {
        Ok(certificate) => (certificate, key),
        Err(e) => panic!("cannot issue the CA certificate: {e}"),
    }
}

/// The key of the party at `slot` in a scenario.
pub fn party_key(slot: Slot) -> SecretKey {
    key(10 + slot)
}

/// Where each test author's clock is: the company (creator and director) in
/// Moscow, UTC+03:00; the client in New York, UTC-05:00; anyone else at UTC.
pub fn utc_offset_of(author: &crate::keys::PublicKey) -> UtcOffset {
    let minutes = if *author == creator().public() || *author == party_key(DIRECTOR).public() {
        180
    } else if *author == party_key(CLIENT).public() {
        -300
    } else {
        0
    };
    UtcOffset::from_minutes(minutes).unwrap_or_default()
}

impl Scenario {
    /// Created and every party invited, nobody joined.
    pub fn invited(pdf: Vec<u8>, terms: Terms) -> Self {
        let create = Entry {
            envelope: None,
            parents: vec![],
            author: creator().public(),
            claimed_time: T0,
            utc_offset: utc_offset_of(&creator().public()),
            act: Act::Create(terms.clone()),
        }
        .sign(&creator());
        let envelope = EnvelopeId::from(create.id());
        let mut scenario = Scenario { pdf, envelope, entries: vec![create], blobs: Blobs::new(), invites: BTreeMap::new(), clock: T0 };
        for slot in 0..terms.parties.len() as Slot {
            let invitation = Invitation {
                envelope,
                slot,
                secret: crate::invite::InviteSecret([100 + slot; 16]),
                expires_at: T0 + 14 * 86_400_000,
                inviter: creator().public(),
                addresses: vec![],
            };
            let act = Act::Invite { slot, invite_key: invitation.invite_key(), expires_at: invitation.expires_at };
            let invite = scenario.append(&creator(), act);
            scenario.invites.insert(slot, (invitation, invite));
        }
        scenario
    }

    /// Created, invited and every party joined.
    pub fn joined(pdf: Vec<u8>, terms: Terms) -> Self {
        let mut scenario = Self::invited(pdf, terms);
        let slots: Vec<Slot> = scenario.invites.keys().copied().collect();
        for slot in slots {
            scenario.join(slot);
        }
        scenario
    }

    /// The standard contract, everyone joined, on a 2-page generated PDF.
    pub fn contract() -> Self {
        let pdf = contract_pdf(2);
        let terms = contract_terms(&pdf);
        Self::joined(pdf, terms)
    }

    /// Created and invited on `pdf` with the standard contract's terms; the
    /// director joins with a certificate from the company's CA, the client
    /// with its own.
    pub fn certified(pdf: Vec<u8>) -> Self {
        let terms = contract_terms(&pdf);
        let mut scenario = Self::invited(pdf, terms);
        let (ca, ca_key) = company_authority();
        scenario.join_certified_by(DIRECTOR, Issuer::Authority { certificate: &ca, key: &ca_key });
        scenario.join(CLIENT);
        scenario
    }

    /// The standard one-page contract, director certified by the company's
    /// CA, completed.
    pub fn certified_contract() -> Self {
        let mut scenario = Self::certified(contract_pdf(1));
        scenario.director_signs();
        scenario.client_signs();
        scenario
    }

    /// The standard contract, completed.
    pub fn signed_contract() -> Self {
        let mut scenario = Self::contract();
        scenario.director_signs();
        scenario.client_signs();
        scenario
    }

    /// The next claimed time (a minute later each act).
    pub fn tick(&mut self) -> u64 {
        self.clock += 60_000;
        self.clock
    }

    /// Signs `act` by `key` on top of every entry so far that is valid, keeps it and returns it.
    pub fn append(&mut self, key: &SecretKey, act: Act) -> RawEntry {
        let parents = self.state().heads();
        let entry = self.entry(key, parents, act);
        self.entries.push(entry.clone());
        entry
    }

    /// An entry by `key` with explicit parents (not kept).
    pub fn entry(&mut self, key: &SecretKey, parents: Vec<crate::hash::EntryId>, act: Act) -> RawEntry {
        let claimed_time = self.tick();
        Entry { envelope: Some(self.envelope), parents, author: key.public(), claimed_time, utc_offset: utc_offset_of(&key.public()), act }
            .sign(key)
    }

    /// The party at `slot` joins with its invitation and a self-signed certificate.
    pub fn join(&mut self, slot: Slot) -> RawEntry {
        let key = party_key(slot);
        self.join_certified_by(slot, Issuer::Itself(&key))
    }

    /// The party at `slot` joins with a certificate issued by `issuer`.
    pub fn join_certified_by(&mut self, slot: Slot, issuer: Issuer<'_>) -> RawEntry {
        let (invitation, invite) = self.invites[&slot].clone();
        let key = party_key(slot);
        let certificates = self.certificate(slot, issuer);
        self.append(&key, Act::Join { slot, invite: invite.id(), proof: invitation.prove(&key.public()), certificates })
    }

    /// The certificate chain of the party at `slot`, issued by `issuer`.
    pub fn certificate(&self, slot: Slot, issuer: Issuer<'_>) -> Vec<Vec<u8>> {
        self.certificate_of(&party_key(slot).public(), slot, issuer)
    }

    /// A certificate chain naming the party at `slot` for any `key`.
    pub fn certificate_of(&self, key: &crate::keys::PublicKey, slot: Slot, issuer: Issuer<'_>) -> Vec<Vec<u8>> {
        let terms = self.terms();
        let Some(party) = terms.party(slot) else { panic!("no party {slot}") };
        match issue(key, &party.name, &party.contact, issuer, T0) {
            Ok(chain) => chain,
            Err(e) => panic!("cannot issue a certificate: {e}"),
        }
    }

    /// A `Join` of `slot` by `key` with the slot's invitation (whoever holds
    /// the link can make one) and a certificate of its own, on `parents`
    /// (not kept).
    pub fn join_by(&mut self, key: &SecretKey, slot: Slot, parents: Vec<crate::hash::EntryId>) -> RawEntry {
        let (invitation, invite) = self.invites[&slot].clone();
        let certificates = self.certificate_of(&key.public(), slot, Issuer::Itself(key));
        self.entry(key, parents, Act::Join { slot, invite: invite.id(), proof: invitation.prove(&key.public()), certificates })
    }

    /// The envelope's terms.
    pub fn terms(&self) -> Terms {
        match &self.entries[0].entry().act {
            Act::Create(terms) => terms.clone(),
            _ => panic!("the first entry is not a Create"),
        }
    }

    /// The party at `slot` seals its signing step: signs what
    /// [`crate::render::seal_message`] says and appends the `Seal`.
    pub fn seal(&mut self, slot: Slot) -> RawEntry {
        let message = match crate::render::seal_message(&self.pdf, &self.state(), &self.blobs, slot) {
            Ok(message) => message,
            Err(e) => panic!("cannot seal: {e}"),
        };
        let value = party_key(slot).sign(&message);
        self.append(&party_key(slot), Act::Seal { slot, value })
    }

    /// Adds an image blob, returning its value.
    pub fn image(&mut self, bytes: Vec<u8>) -> Value {
        let hash = Hash::of(&bytes);
        let value = Value::Image { hash, len: bytes.len() as u64, format: ImageFormat::sniff(&bytes).unwrap_or(ImageFormat::Png) };
        self.blobs.insert(hash, bytes);
        value
    }

    /// The values the standard director gives: signature, stamp, date.
    pub fn director_values(&mut self) -> Vec<(u16, Value)> {
        vec![(0, self.image(signature_png(1))), (1, self.image(stamp_png())), (2, Value::Text("2026-11-28".into()))]
    }

    /// Other values the director could give: another signature and date.
    pub fn other_director_values(&mut self) -> Vec<(u16, Value)> {
        vec![(0, self.image(signature_png(9))), (1, self.image(stamp_png())), (2, Value::Text("2026-12-31".into()))]
    }

    /// The values the standard client gives.
    pub fn client_values(&mut self) -> Vec<(u16, Value)> {
        vec![(3, Value::Text("Carl Client".into())), (4, Value::Text("1 Main St, Springfield".into())), (5, self.image(signature_png(2)))]
    }

    /// The director signs the standard contract (and seals the step); returns the `Sign`.
    pub fn director_signs(&mut self) -> RawEntry {
        let values = self.director_values();
        let sign = self.append(&party_key(DIRECTOR), Act::Sign { slot: DIRECTOR, values });
        self.seal(DIRECTOR);
        sign
    }

    /// The director signs the standard contract but has not sealed the step yet.
    pub fn director_signs_without_seal(&mut self) -> RawEntry {
        let values = self.director_values();
        self.append(&party_key(DIRECTOR), Act::Sign { slot: DIRECTOR, values })
    }

    /// The client signs the standard contract (and seals the step); returns the `Sign`.
    pub fn client_signs(&mut self) -> RawEntry {
        let values = self.client_values();
        let sign = self.append(&party_key(CLIENT), Act::Sign { slot: CLIENT, values });
        self.seal(CLIENT);
        sign
    }

    /// The folded state of every entry so far.
    pub fn state(&self) -> EnvelopeState {
        match fold(self.envelope, self.entries.clone()) {
            Ok(state) => state,
            Err(e) => panic!("scenario envelope does not fold: {e}"),
        }
    }

    /// The rendered PDF of the state so far.
    pub fn render(&self) -> Vec<u8> {
        match crate::render::render(&self.pdf, &self.state(), &self.blobs) {
            Ok(rendered) => rendered.bytes,
            Err(e) => panic!("scenario does not render: {e}"),
        }
    }
}

/// A one-page PDF of about `bytes` bytes, prepared: the contract text plus a
/// large photo-like image (incompressible pseudo-random pixels).
pub fn large_pdf(bytes: usize) -> Vec<u8> {
    let base = contract_pdf_as_made(1);
    let Ok(mut doc) = Document::load_mem(&base) else { return base };
    let side = ((bytes / 3) as f64).sqrt() as u32;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let pixels: Vec<u8> = (0..(side as usize * side as usize * 3))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let mut image = Dictionary::new();
    image.set("Type", Object::Name(b"XObject".to_vec()));
    image.set("Subtype", Object::Name(b"Image".to_vec()));
    image.set("Width", i64::from(side));
    image.set("Height", i64::from(side));
    image.set("ColorSpace", Object::Name(b"DeviceRGB".to_vec()));
    image.set("BitsPerComponent", 8);
    let image_id = doc.add_object(Stream::new(image, pixels).with_compression(false));
    let Some((_, page_id)) = doc.get_pages().into_iter().next() else { return base };
    let content = doc.add_object(Stream::new(Dictionary::new(), b"q 200 0 0 200 300 400 cm /Photo Do Q".to_vec()));
    if let Ok(page) = doc.get_dictionary_mut(page_id) {
        let mut xobjects = Dictionary::new();
        xobjects.set("Photo", Object::Reference(image_id));
        if let Ok(Object::Dictionary(resources)) = page.get_mut(b"Resources") {
            resources.set("XObject", Object::Dictionary(xobjects));
        }
        let old = page.get(b"Contents").cloned().unwrap_or(Object::Null);
        page.set("Contents", Object::Array(vec![old, Object::Reference(content)]));
    }
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    prepared(&out)
}

/// A valid log of `len` entries: the standard contract created, then invites
/// re-issued to the client until the log is that long (a linear chain).
pub fn long_log(len: usize) -> (EnvelopeId, Vec<RawEntry>) {
    let pdf = contract_pdf(1);
    let terms = contract_terms(&pdf);
    let mut scenario = Scenario::invited(pdf, terms);
    let mut head = scenario.entries.last().map(RawEntry::id);
    while scenario.entries.len() < len {
        let act = Act::Invite { slot: CLIENT, invite_key: key(200).public(), expires_at: T0 + 86_400_000 };
        let entry = scenario.entry(&creator(), head.into_iter().collect(), act);
        head = Some(entry.id());
        scenario.entries.push(entry);
    }
    (scenario.envelope, scenario.entries)
}

/// A log built to make folding slow: `invites` re-invitations of the client
/// in a chain, then `joins` Joins by fresh keys with wrong proofs, each
/// naming one of those invitations and building on the chain's head.
pub fn hostile_log(invites: usize, joins: usize) -> (EnvelopeId, Vec<RawEntry>) {
    let (envelope, mut entries) = long_log(invites + 1);
    let Some(head) = entries.last().map(RawEntry::id) else { return (envelope, entries) };
    let invite_ids: Vec<crate::hash::EntryId> = entries[1..].iter().map(RawEntry::id).collect();
    for n in 0..joins {
        let mut seed = [7u8; 32];
        seed[..8].copy_from_slice(&(n as u64).to_le_bytes());
        let joiner = SecretKey::from_seed(seed);
        let act = Act::Join {
            slot: CLIENT,
            invite: invite_ids[n % invite_ids.len().max(1)],
            proof: joiner.sign(b"not the invite secret"),
            certificates: vec![],
        };
        let entry = Entry {
            envelope: Some(envelope),
            parents: vec![head],
            author: joiner.public(),
            claimed_time: T0,
            utc_offset: UtcOffset::UTC,
            act,
        }
        .sign(&joiner);
        entries.push(entry);
    }
    (envelope, entries)
}

/// A completed contract, then `seconds` more signatures by the director,
/// each made beside the first on its parents: what a signer who wants to
/// take their signature back can add, and every one must be settled.
pub fn equivocating_log(seconds: usize) -> (EnvelopeId, Vec<RawEntry>) {
    let mut scenario = Scenario::contract();
    let first = scenario.director_signs();
    scenario.client_signs();
    let values = scenario.director_values();
    for n in 0..seconds as u64 {
        let entry = Entry {
            claimed_time: first.entry().claimed_time + 1 + n,
            act: Act::Sign { slot: DIRECTOR, values: values.clone() },
            ..first.entry().clone()
        };
        scenario.entries.push(entry.sign(&party_key(DIRECTOR)));
    }
    (scenario.envelope, scenario.entries)
}
