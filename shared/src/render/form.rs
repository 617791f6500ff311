//! The fields on the pages: laid out once in the first step, filled step by step.

use std::collections::BTreeMap;

use lopdf::{Dictionary, Object, ObjectId, Stream};

use crate::font::{self, Subset};
use crate::log::{ValidEntry, Value};
use crate::model::{Field, FieldKind, Slot};
use crate::render::attachments::Images;
use crate::render::certificate::{self, Picture};
use crate::render::image::{MAX_DOCUMENT_PIXELS, to_pdf_image};
use crate::render::signature;
use crate::render::{IdAllocator, RenderError};
use crate::source::names::unique_name;
use crate::source::{PageGeometry, Source};
use crate::state::EnvelopeState;
use crate::typeset::{MIN_SIZE, PAD, fitted_lines, num, show_lines};

/// The resource name of the step's font (see [`crate::font`]) in the
/// resources Countersign writes itself (appearances, the certificate pages).
/// Where a font joins the source's resources (a page, the form's default
/// resources) it takes a name made from the envelope id, unused there (see
/// `source::names`).
pub(crate) const FONT: &str = "CSFont";

/// A field's widget as laid out: its object and its dictionary before filling.
#[derive(Debug, Clone)]
pub(crate) struct Widget {
    pub(crate) id: ObjectId,
    pub(crate) dict: Dictionary,
    /// Width and height as seen, and the rotation that keeps content upright.
    pub(crate) size: (f32, f32),
    pub(crate) upright: [f32; 6],
}

/// Everything later steps fill.
#[derive(Debug)]
pub(crate) struct Form {
    fields: Vec<Widget>,
    certificate_rows: BTreeMap<Slot, Widget>,
    certificate_closing: Widget,
    /// The signature fields in signing order, and the object the first
    /// signature's dictionary gets (the catalog's DocMDP points at it).
    signature_fields: Vec<(ObjectId, Dictionary)>,
    pub(crate) first_signature: ObjectId,
    /// How many more image pixels the document may draw (see `image`).
    pixels_left: u64,
}

fn name(text: &str) -> Object {
    Object::Name(text.as_bytes().to_vec())
}

fn reals(values: &[f32]) -> Object {
    Object::Array(values.iter().map(|v| Object::Real((v * 100.0).round() / 100.0)).collect())
}

impl Form {
    /// Lays out step 1: document-id lines, field widgets, certificate pages,
    /// AcroForm; the text drawn is shown in step 1's `font`.
    pub(crate) fn lay_out(
        source: &Source,
        state: &EnvelopeState,
        font: &mut Subset,
        ids: &mut IdAllocator,
        objects: &mut BTreeMap<u32, Object>,
    ) -> Result<Self, RenderError> {
        let terms = state.terms();
        let catalog = source.doc.get_dictionary(source.root).cloned().unwrap_or_default();
        let mut acro = match catalog.get(b"AcroForm").ok().map(|a| source.doc.dereference(a)) {
            Some(Ok((_, Object::Dictionary(existing)))) => existing.clone(),
            _ => Dictionary::new(),
        };
        let form_resources = match acro.get(b"DR").ok().map(|r| source.doc.dereference(r)) {
            Some(Ok((_, Object::Dictionary(dr)))) => dr.clone(),
            _ => Dictionary::new(),
        };
        // The form's default font, which `/DA` names: Helvetica, for a
        // viewer that redraws a field; Countersign's appearances use the
        // step's embedded font.
        let helvetica = ids.next()?;
        // A name the source's content cannot have used on purpose: it is
        // taken from the envelope id, which depends on the source's hash.
        let font_name = format!("CS{}", &state.envelope().to_string()[..16]);
        let (form_resources, form_font) = with_font(&form_resources, source, helvetica, &font_name);
        let mut font_dict = Dictionary::new();
        font_dict.set("Type", name("Font"));
        font_dict.set("Subtype", name("Type1"));
        font_dict.set("BaseFont", name("Helvetica"));
        font_dict.set("Encoding", name("WinAnsiEncoding"));
        objects.insert(helvetica.0, Object::Dictionary(font_dict));

        let save_state = ids.next()?;
        objects.insert(save_state.0, Object::Stream(Stream::new(Dictionary::new(), b"q\n".to_vec())));

        let envelope = state.envelope();
        let id_line = format!("Countersign envelope {envelope} · check at {}/e/{envelope}", terms.verifier_url.trim_end_matches('/'));
        let mut fields = Vec::with_capacity(terms.fields.len());
        let mut annots_by_page: BTreeMap<usize, Vec<Object>> = BTreeMap::new();
        for (index, field) in terms.fields.iter().enumerate() {
            let page_index = (field.page as usize).saturating_sub(1).min(source.pages.len() - 1);
            let page = &source.pages[page_index];
            let assignee = terms.party(field.assignee).map_or("", |p| p.name.as_str());
            let widget = field_widget(index, field, assignee, page.id, &page.geometry, &form_font, ids)?;
            annots_by_page.entry(page_index).or_default().push(Object::Reference(widget.id));
            fields.push(widget);
        }
        // Each resources dictionary gains the font once (pages share them).
        let mut page_fonts: BTreeMap<ObjectId, String> = BTreeMap::new();
        for page in &source.pages {
            if page_fonts.contains_key(&page.resources) {
                continue;
            }
            let resources = source.doc.get_dictionary(page.resources).cloned().unwrap_or_default();
            let (resources, name) = with_font(&resources, source, font.id, &font_name);
            objects.insert(page.resources.0, Object::Dictionary(resources));
            page_fonts.insert(page.resources, name);
        }
        for (index, page) in source.pages.iter().enumerate() {
            let mut dict = source.doc.get_dictionary(page.id).cloned().unwrap_or_default();
            let suffix = ids.next()?;
            let page_font = page_fonts.get(&page.resources).map_or(font_name.as_str(), String::as_str);
            let line = id_line_content(&page.geometry, &id_line, page_font, font);
            objects.insert(suffix.0, Object::Stream(Stream::new(Dictionary::new(), line)));
            let mut contents = vec![Object::Reference(save_state)];
            match dict.get(b"Contents").ok().map(|c| source.doc.dereference(c)) {
                Some(Ok((Some(id), Object::Stream(_)))) => contents.push(Object::Reference(id)),
                Some(Ok((_, Object::Array(parts)))) => contents.extend(parts.iter().cloned()),
                _ => {}
            }
            contents.push(Object::Reference(suffix));
            dict.set("Contents", Object::Array(contents));
            if let Some(new) = annots_by_page.remove(&index) {
                let mut annots = match dict.get(b"Annots").ok().map(|a| source.doc.dereference(a)) {
                    Some(Ok((_, Object::Array(existing)))) => existing.clone(),
                    _ => Vec::new(),
                };
                annots.extend(new);
                dict.set("Annots", Object::Array(annots));
            }
            objects.insert(page.id.0, Object::Dictionary(dict));
        }

        let certificate = certificate::lay_out(state, source, font, &form_font, ids, objects)?;
        let mut pages_root = source.doc.get_dictionary(source.pages_root).cloned().unwrap_or_default();
        let mut kids = pages_root.get(b"Kids").and_then(Object::as_array).cloned().unwrap_or_default();
        kids.extend(certificate.pages.iter().map(|page| Object::Reference(*page)));
        pages_root.set("Kids", Object::Array(kids));
        let count = pages_root.get(b"Count").and_then(Object::as_i64).unwrap_or(source.pages.len() as i64);
        pages_root.set("Count", count + certificate.pages.len() as i64);
        objects.insert(source.pages_root.0, Object::Dictionary(pages_root));

        let mut catalog = catalog;
        let acro_form = ids.next()?;
        let mut all_fields = match acro.get(b"Fields").ok().map(|f| source.doc.dereference(f)) {
            Some(Ok((_, Object::Array(existing)))) => existing.clone(),
            _ => Vec::new(),
        };
        all_fields.extend(fields.iter().map(|w| Object::Reference(w.id)));
        all_fields.extend(certificate.rows.values().chain([&certificate.closing]).map(|w| Object::Reference(w.id)));
        all_fields.extend(certificate.signature_fields.iter().map(|(id, _)| Object::Reference(*id)));
        acro.set("Fields", Object::Array(all_fields));
        // The document has signatures, and may only be appended to.
        acro.set("SigFlags", 3);
        acro.set("DR", Object::Dictionary(form_resources));
        if !acro.has(b"DA") {
            acro.set("DA", Object::string_literal(format!("/{form_font} 0 Tf 0 g")));
        }
        objects.insert(acro_form.0, Object::Dictionary(acro));
        catalog.set("AcroForm", Object::Reference(acro_form));
        let first_signature = ids.next()?;
        signature::certify_catalog(&mut catalog, &source.doc.version, first_signature);
        objects.insert(source.root.0, Object::Dictionary(catalog));

        for widget in fields.iter().chain(certificate.rows.values()).chain([&certificate.closing]) {
            objects.insert(widget.id.0, Object::Dictionary(widget.dict.clone()));
        }
        for (id, dict) in &certificate.signature_fields {
            objects.insert(id.0, Object::Dictionary(dict.clone()));
        }
        Ok(Form {
            fields,
            certificate_rows: certificate.rows,
            certificate_closing: certificate.closing,
            signature_fields: certificate.signature_fields,
            first_signature,
            pixels_left: MAX_DOCUMENT_PIXELS,
        })
    }

    /// Points the signature field of the `position`th signer (from 0) at its
    /// signature dictionary `signature`.
    pub(crate) fn sign_field(&self, position: usize, signature: ObjectId, objects: &mut BTreeMap<u32, Object>) {
        if let Some((id, dict)) = self.signature_fields.get(position) {
            let mut dict = dict.clone();
            dict.set("V", Object::Reference(signature));
            objects.insert(id.0, Object::Dictionary(dict));
        }
    }

    /// Fills the fields of `slot` and its box on the certificate, from `log`,
    /// the entries its step embeds; the last signer's step also fills the
    /// closing box. Text is shown in the step's `font`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fill(
        &mut self,
        slot: Slot,
        state: &EnvelopeState,
        log: &[&ValidEntry],
        images: &Images<'_>,
        font: &mut Subset,
        ids: &mut IdAllocator,
        objects: &mut BTreeMap<u32, Object>,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), RenderError> {
        let terms = state.terms();
        let Some(record) = state.signature(slot) else { return Ok(()) };
        let signer = terms.party(slot).map_or("", |p| p.name.as_str());
        let mut pictures = Vec::new();
        for (index, value) in &record.values {
            let (Some(widget), Some(field)) = (self.fields.get(usize::from(*index)), terms.fields.get(usize::from(*index))) else {
                continue;
            };
            let (shown, appearance) = match value {
                Value::Text(text) => (Some(text.as_str()), text_appearance(widget, text, field.kind == FieldKind::CompanyDetails, font)),
                Value::Image { hash, .. } => {
                    if stop() {
                        return Err(RenderError::Interrupted);
                    }
                    let bytes = images.get(hash).ok_or_else(|| RenderError::MissingBlob(hash.short()))?;
                    let what = format!("the {} image of {signer}", field.label);
                    let (appearance, picture) = image_appearance(widget, bytes, &what, &mut self.pixels_left, ids, objects)?;
                    pictures.push(picture);
                    (None, appearance)
                }
            };
            fill_widget(widget, shown, appearance, ids, objects)?;
        }
        if let Some(row) = self.certificate_rows.get(&slot) {
            let text = certificate::signer_text(state, slot, log);
            let appearance = certificate::box_appearance(row, &pictures, &text, font);
            fill_widget(row, Some(&text), appearance, ids, objects)?;
        }
        if terms.signing_order().last() == Some(&slot) {
            let text = certificate::closing_text(state, log);
            let appearance = certificate::box_appearance(&self.certificate_closing, &[], &text, font);
            fill_widget(&self.certificate_closing, Some(&text), appearance, ids, objects)?;
        }
        Ok(())
    }
}

/// Gives a widget its appearance and, for text, its value.
fn fill_widget(
    widget: &Widget,
    text: Option<&str>,
    appearance: Stream,
    ids: &mut IdAllocator,
    objects: &mut BTreeMap<u32, Object>,
) -> Result<(), RenderError> {
    let mut dict = widget.dict.clone();
    if let Some(text) = text {
        dict.set("V", lopdf::text_string(text));
    }
    let ap = ids.next()?;
    objects.insert(ap.0, Object::Stream(appearance));
    let mut ap_dict = Dictionary::new();
    ap_dict.set("N", Object::Reference(ap));
    dict.set("AP", Object::Dictionary(ap_dict));
    objects.insert(widget.id.0, Object::Dictionary(dict));
    Ok(())
}

/// A merged field-and-widget dictionary for one of the envelope's fields.
fn field_widget(
    index: usize,
    field: &Field,
    assignee: &str,
    page: ObjectId,
    geometry: &PageGeometry,
    form_font: &str,
    ids: &mut IdAllocator,
) -> Result<Widget, RenderError> {
    let id = ids.next()?;
    let mut dict = widget_dict(
        &format!("countersign-{index}"),
        &format!("{} ({assignee})", field.label),
        page,
        geometry.user_rect(field.rect),
        geometry.rotate,
    );
    if field.kind.is_image() {
        // A read-only pushbutton: its appearance shows the image. (A `/Sig`
        // field here would be an unsigned signature field whose appearance
        // changes, which a certified document does not allow.)
        dict.set("FT", name("Btn"));
        dict.set("Ff", 1 + 65536);
    } else {
        dict.set("FT", name("Tx"));
        let multiline = if field.kind == FieldKind::CompanyDetails { 4096 } else { 0 };
        dict.set("Ff", 1 + multiline);
        dict.set("DA", Object::string_literal(format!("/{form_font} 0 Tf 0 g")));
    }
    Ok(Widget { id, dict, size: (field.rect.width, field.rect.height), upright: geometry.upright_matrix() })
}

/// The keys every Countersign widget has.
pub(crate) fn widget_dict(field_name: &str, tooltip: &str, page: ObjectId, rect: [f32; 4], rotate: i64) -> Dictionary {
    let mut dict = Dictionary::new();
    dict.set("Type", name("Annot"));
    dict.set("Subtype", name("Widget"));
    dict.set("T", lopdf::text_string(field_name));
    dict.set("TU", lopdf::text_string(tooltip));
    dict.set("Rect", reals(&rect));
    dict.set("P", Object::Reference(page));
    dict.set("F", 4);
    let mut mk = Dictionary::new();
    mk.set("R", rotate);
    dict.set("MK", Object::Dictionary(mk));
    dict
}

/// The font dictionary of `resources`, resolved one level.
fn fonts_of(resources: &Dictionary, source: &Source) -> Option<Dictionary> {
    match resources.get(b"Font").ok().map(|f| source.doc.dereference(f)) {
        Some(Ok((_, Object::Dictionary(fonts)))) => Some(fonts.clone()),
        _ => None,
    }
}

/// `resources` with Countersign's font added under `base` or, if they use
/// it already, a name they do not use (fonts resolved one level), and that name.
fn with_font(resources: &Dictionary, source: &Source, font: ObjectId, base: &str) -> (Dictionary, String) {
    let mut resources = resources.clone();
    let mut fonts = fonts_of(&resources, source).unwrap_or_default();
    let name = unique_name(Some(&fonts), base);
    fonts.set(name.as_str(), Object::Reference(font));
    resources.set("Font", Object::Dictionary(fonts));
    (resources, name)
}

/// The content that closes the page's graphics state and draws the id line
/// (its font named `font_name` in the page's resources).
fn id_line_content(geometry: &PageGeometry, line: &str, font_name: &str, font: &mut Subset) -> Vec<u8> {
    let [a, b, c, d, e, f] = geometry.seen_to_user();
    let (width, _) = geometry.visible_size();
    let size = (width - 24.0) / font::width(line).max(1.0);
    let size = size.clamp(3.0, 6.0);
    let mut out = format!(
        "\nQ\nq {} {} {} {} {} {} cm BT /{font_name} {} Tf 0.35 g 12 8 Td ",
        num(a),
        num(b),
        num(c),
        num(d),
        num(e),
        num(f),
        num(size)
    )
    .into_bytes();
    out.extend_from_slice(&font.show(line));
    out.extend_from_slice(b" Tj ET Q\n");
    out
}

pub(crate) fn form_xobject(widget: &Widget, content: Vec<u8>, resources: Dictionary) -> Stream {
    let mut dict = Dictionary::new();
    dict.set("Type", name("XObject"));
    dict.set("Subtype", name("Form"));
    dict.set("BBox", reals(&[0.0, 0.0, widget.size.0, widget.size.1]));
    dict.set("Matrix", reals(&widget.upright));
    dict.set("Resources", Object::Dictionary(resources));
    Stream::new(dict, content)
}

/// A text appearance: one line fitted to the box, or wrapped lines.
pub(crate) fn text_appearance(widget: &Widget, text: &str, multiline: bool, font: &mut Subset) -> Stream {
    let (width, height) = widget.size;
    let mut content = format!("/Tx BMC q BT /{FONT} ").into_bytes();
    if multiline {
        let (size, lines) = fitted_lines(text, width - 2.0 * PAD, height - 2.0 * PAD, 10.0);
        let leading = size * 1.2;
        content.extend(format!("{} Tf 0 g {} TL {} {} Td ", num(size), num(leading), num(PAD), num(height - PAD - size)).bytes());
        show_lines(&mut content, &lines, |line| font.show(line));
    } else {
        let line = text.replace('\n', " ");
        let fit = (width - 2.0 * PAD) / font::width(&line).max(0.1);
        let size = (height * 0.7).min(12.0).min(fit).max(MIN_SIZE);
        let baseline = (height - size * 0.7) / 2.0;
        content.extend(format!("{} Tf 0 g {} {} Td ", num(size), num(PAD), num(baseline)).bytes());
        content.extend_from_slice(&font.show(&line));
        content.extend_from_slice(b" Tj ");
    }
    content.extend_from_slice(b"ET Q EMC\n");
    let mut fonts = Dictionary::new();
    fonts.set(FONT, Object::Reference(font.id));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    form_xobject(widget, content, resources)
}

/// An image appearance: the image scaled to fit the box, centred, aspect kept.
fn image_appearance(
    widget: &Widget,
    bytes: &[u8],
    what: &str,
    pixels_left: &mut u64,
    ids: &mut IdAllocator,
    objects: &mut BTreeMap<u32, Object>,
) -> Result<(Stream, Picture), RenderError> {
    let image = to_pdf_image(bytes, what, pixels_left)?;
    let mut stream = image.image;
    if let Some(mask) = image.mask {
        let mask_id = ids.next()?;
        objects.insert(mask_id.0, Object::Stream(mask));
        stream.dict.set("SMask", Object::Reference(mask_id));
    }
    let image_id = ids.next()?;
    objects.insert(image_id.0, Object::Stream(stream));
    let (width, height) = widget.size;
    let scale = (width / image.width as f32).min(height / image.height as f32);
    let (w, h) = (image.width as f32 * scale, image.height as f32 * scale);
    let content = format!("q {} 0 0 {} {} {} cm /Im0 Do Q\n", num(w), num(h), num((width - w) / 2.0), num((height - h) / 2.0));
    let mut xobjects = Dictionary::new();
    xobjects.set("Im0", Object::Reference(image_id));
    let mut resources = Dictionary::new();
    resources.set("XObject", Object::Dictionary(xobjects));
    let picture = Picture { id: image_id, width: image.width, height: image.height };
    Ok((form_xobject(widget, content.into_bytes(), resources), picture))
}
