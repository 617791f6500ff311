//! Hostile source PDFs, written byte by byte the way an attacker would, one
//! per class of attack on "what the signers saw is what the final shows",
//! and files made to knock a reader over.
//!
//! [`RawPdf`] writes objects exactly as given (no library tidies them up),
//! with a classic cross-reference table, and can add incremental updates and
//! arbitrary bytes at the end.

use std::fmt::Write as _;

/// A PDF written object by object, exactly as given.
#[derive(Debug, Clone)]
pub struct RawPdf {
    bytes: Vec<u8>,
    /// Where the last cross-reference section starts.
    startxref: usize,
}

impl RawPdf {
    /// A file of `objects` (number, body without `obj`/`endobj`), then a
    /// cross-reference table and a trailer with `trailer` inside `<< >>`.
    pub fn new(objects: &[(u32, Vec<u8>)], trailer: &str) -> Self {
        let mut pdf = RawPdf { bytes: b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(), startxref: 0 };
        pdf.section(objects, trailer, None);
        pdf
    }

    /// Adds an incremental update holding `objects`.
    pub fn update(mut self, objects: &[(u32, Vec<u8>)], trailer: &str) -> Self {
        let previous = self.startxref;
        self.section(objects, trailer, Some(previous));
        self
    }

    fn section(&mut self, objects: &[(u32, Vec<u8>)], trailer: &str, prev: Option<usize>) {
        let mut offsets = Vec::new();
        for (number, body) in objects {
            offsets.push((*number, self.bytes.len()));
            self.bytes.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
            self.bytes.extend_from_slice(body);
            self.bytes.extend_from_slice(b"\nendobj\n");
        }
        self.startxref = self.bytes.len();
        let mut xref = String::from("xref\n");
        if prev.is_none() {
            xref.push_str("0 1\n0000000000 65535 f\r\n");
        }
        for (number, offset) in &offsets {
            let _ = write!(xref, "{number} 1\n{offset:010} 00000 n\r\n");
        }
        let prev = prev.map(|p| format!("/Prev {p} ")).unwrap_or_default();
        let _ = write!(xref, "trailer\n<< {trailer} {prev}>>\nstartxref\n{}\n%%EOF\n", self.startxref);
        self.bytes.extend_from_slice(xref.as_bytes());
    }

    /// The file as written.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The file with `tail` replacing its last `%%EOF` line.
    pub fn with_tail(&self, tail: &[u8]) -> Vec<u8> {
        let mut bytes = self.bytes.clone();
        bytes.truncate(bytes.len() - b"%%EOF\n".len());
        bytes.extend_from_slice(tail);
        bytes
    }
}

/// A stream object's body.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// A page's text in Helvetica (`/F1`) at `(x, y)`.
pub fn text(x: u32, y: u32, size: u32, line: &str) -> String {
    format!("BT /F1 {size} Tf {x} {y} Td ({line}) Tj ET\n")
}

/// The usual first objects: catalog 1, pages 2, page 3 (content 4, `F1` is
/// Helvetica object 5), with `resources` and `page_extra` added to the page.
pub fn one_page(content: &str, resources: &str, page_extra: &str, catalog_extra: &str) -> Vec<(u32, Vec<u8>)> {
    vec![
        (1, format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>").into_bytes()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec()),
        (
            3,
            format!("<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> {resources} >> {page_extra} >>")
                .into_bytes(),
        ),
        (4, stream("", content.as_bytes())),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()),
    ]
}

/// The contract's text: a title and a price clause.
pub fn contract_text(price: &str) -> String {
    let mut content = text(72, 760, 20, "Consulting agreement");
    content.push_str(&text(72, 700, 12, "1. The consultant advises the client on its accounting system."));
    content.push_str(&text(72, 680, 12, &format!("2. The client pays {price}.")));
    content.push_str(&text(72, 660, 12, "3. Either party may end this agreement with 30 days notice."));
    content
}

/// Class 1, parser disagreement: revision 1 says one price, revision 2
/// another, and the last `startxref` is not closed by `%%EOF` (lopdf reads
/// revision 1, most readers revision 2).
pub fn two_prices_unterminated() -> Vec<u8> {
    let first = RawPdf::new(&one_page(&contract_text("EUR 12,000"), "", "", ""), "/Size 6 /Root 1 0 R");
    let second = first.update(&[(4, stream("", contract_text("EUR 120,000").as_bytes()))], "/Size 6 /Root 1 0 R");
    second.with_tail(b"%%EO\n")
}

/// Class 1, variant: a whole second document's worth of bytes after `%%EOF`.
pub fn data_after_the_end() -> Vec<u8> {
    let mut bytes = RawPdf::new(&one_page(&contract_text("EUR 12,000"), "", "", ""), "/Size 6 /Root 1 0 R").bytes();
    bytes.extend_from_slice(b"4 0 obj\n<< /Length 20 >>\nstream\nBT (EUR 120,000) ET\nendstream\nendobj\n");
    bytes
}

/// Class 2, resource-name collision: the page draws its price with a font
/// named `CSHelv` (Courier), the name the renderer once gave its own font,
/// and the form's default resources use it too.
pub fn font_named_like_the_renderers() -> Vec<u8> {
    let content = format!("{}BT /CSHelv 14 Tf 72 620 Td (Total: EUR 4,000 per month) Tj ET\n", contract_text("the amount below"));
    let mut objects = one_page(&content, "", "", "/AcroForm << /Fields [] /DR << /Font << /CSHelv 6 0 R >> >> >>");
    objects[2] = (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R /CSHelv 6 0 R >> >> >>".to_vec());
    objects.push((6, b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>".to_vec()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// Class 3, dangling references: the page draws `/Im1` and shows an
/// annotation, both objects that do not exist (readers draw nothing). The
/// renderer once numbered its own objects from `/Size`, so they came to
/// exist in the final: a signer's image under a clause nobody saw.
pub fn references_to_objects_not_there() -> Vec<u8> {
    let content = format!("{}q 200 0 0 80 72 450 cm /Im1 Do Q\n", contract_text("EUR 12,000"));
    let objects = one_page(&content, "/XObject << /Im1 9 0 R /Im2 12 0 R /Im3 15 0 R >>", "/Annots [10 0 R 11 0 R]", "");
    RawPdf::new(&objects, "/Size 6 /Root 1 0 R").bytes()
}

/// Class 4, `/Size` near 2^32: an allocator counting from it wraps around.
pub fn size_near_the_top() -> Vec<u8> {
    RawPdf::new(&one_page(&contract_text("EUR 12,000"), "", "", ""), "/Size 4294967295 /Root 1 0 R").bytes()
}

/// Every kind of active content at once, and a web link that must stay.
pub fn active_content() -> Vec<u8> {
    let catalog = "/OpenAction << /S /JavaScript /JS (app.alert('hi')) >> /Names << /JavaScript 20 0 R >> \
                   /AcroForm << /Fields [] /XFA 21 0 R /NeedAppearances true >>";
    let page_extra = "/AA << /O << /S /JavaScript /JS (this.print()) >> >> /Annots [22 0 R 23 0 R 24 0 R 25 0 R]";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", page_extra, catalog);
    objects.extend([
        (20, b"<< /Names [(init) << /S /JavaScript /JS (app.alert('run')) >>] >>".to_vec()),
        (21, stream("", b"<xdp:xdp/>")),
        // A link that launches a program.
        (22, b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A << /S /Launch /F (calc.exe) >> >>".to_vec()),
        // A link to a web address: kept.
        (23, b"<< /Type /Annot /Subtype /Link /Rect [72 580 300 600] /A << /S /URI /URI (https://acme.test/terms) >> >>".to_vec()),
        // Printed, never shown on screen (Print + NoView).
        (
            24,
            b"<< /Type /Annot /Subtype /FreeText /Rect [72 300 400 330] /F 36 /DA (/Helv 12 Tf 0 g) /Contents (Price doubled) >>".to_vec(),
        ),
        // A media player.
        (25, b"<< /Type /Annot /Subtype /Screen /Rect [72 200 200 260] >>".to_vec()),
    ]);
    RawPdf::new(&objects, "/Size 26 /Root 1 0 R").bytes()
}

/// A document with layers (optional content).
pub fn with_layers() -> Vec<u8> {
    let catalog = "/OCProperties << /OCGs [6 0 R] /D << /ON [6 0 R] >> >>";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "", catalog);
    objects.push((6, b"<< /Type /OCG /Name (Screen only) >>".to_vec()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A form field named like Countersign's own.
pub fn with_a_reserved_field_name() -> Vec<u8> {
    let catalog = "/AcroForm << /Fields [6 0 R] >>";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "/Annots [6 0 R]", catalog);
    objects.push((6, b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (countersign-0) /Rect [72 100 300 120] /P 3 0 R >>".to_vec()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// An object stream whose index names `count` objects at one offset, where
/// a large array sits (a reader that parses each from its offset does the
/// work `count` times).
pub fn object_stream_bomb(count: u32) -> Vec<u8> {
    let array = format!("[{}]", "0 ".repeat(50_000));
    let index: String = (0..count).map(|i| format!("{} 0 ", 100 + i)).collect();
    let mut data = index.clone().into_bytes();
    data.extend_from_slice(array.as_bytes());
    let dict = format!("/Type /ObjStm /N {count} /First {}", index.len());
    let page_extra = format!("/Extra [{}]", (0..count).map(|i| format!("{} 0 R", 100 + i)).collect::<Vec<_>>().join(" "));
    let mut objects = one_page(&contract_text("EUR 12,000"), "", &page_extra, "");
    objects.push((6, stream(&dict, &data)));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A classic cross-reference table that points `count` entries at one object.
pub fn many_entries_at_one_place(count: u32) -> Vec<u8> {
    let objects = one_page(&contract_text("EUR 12,000"), "", "", "");
    let mut pdf = RawPdf::new(&objects, "/Size 6 /Root 1 0 R").bytes();
    let offset = memchr::memmem::find(&pdf, b"4 0 obj").unwrap_or(0);
    let startxref = pdf.len();
    let mut xref = format!("xref\n0 {}\n0000000000 65535 f\r\n", count + 6);
    let object_offsets = [
        memchr::memmem::find(&pdf, b"1 0 obj").unwrap_or(0),
        memchr::memmem::find(&pdf, b"2 0 obj").unwrap_or(0),
        memchr::memmem::find(&pdf, b"3 0 obj").unwrap_or(0),
        offset,
        memchr::memmem::find(&pdf, b"5 0 obj").unwrap_or(0),
    ];
    for at in object_offsets {
        let _ = write!(xref, "{at:010} 00000 n\r\n");
    }
    for _ in 0..count {
        let _ = write!(xref, "{offset:010} 00000 n\r\n");
    }
    let _ = write!(xref, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{startxref}\n%%EOF\n", count + 6);
    pdf.extend_from_slice(xref.as_bytes());
    pdf
}

/// A file whose only cross-reference data is a stream that inflates to `megabytes` MB.
pub fn xref_stream_bomb(megabytes: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    for (number, body) in one_page(&contract_text("EUR 12,000"), "", "", "") {
        pdf.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        pdf.extend_from_slice(&body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let zeros = vec![0u8; megabytes * 1024 * 1024];
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9);
    let at = pdf.len();
    let entries = zeros.len() / 5;
    let body = stream(&format!("/Type /XRef /Size {entries} /W [1 2 2] /Root 1 0 R /Filter /FlateDecode"), &packed);
    pdf.extend_from_slice(b"6 0 obj\n");
    pdf.extend_from_slice(&body);
    pdf.extend_from_slice(format!("\nendobj\nstartxref\n{at}\n%%EOF\n").as_bytes());
    pdf
}

/// Where the attacks below draw or hide their mark: a box under the
/// contract's clauses, in points from the page's lower-left corner.
pub const MARK: [u32; 4] = [72, 400, 200, 50];

/// A form drawing the mark, black, in its own coordinates.
fn mark_form() -> Vec<u8> {
    let [_, _, width, height] = MARK;
    stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 {width} {height}]"), format!("0 g 0 0 {width} {height} re f").as_bytes())
}

/// The drawing instructions that put the mark's form `name` in its place.
fn draw_mark(name: &str) -> String {
    let [x, y, _, _] = MARK;
    format!("q 1 0 0 1 {x} {y} cm /{name} Do Q\n")
}

/// Optional content with no `/OCProperties`: a membership dictionary that
/// hides its content when all its layers are off (some readers: then hidden,
/// as no layer is known to be on; others draw it).
pub fn layer_without_properties() -> Vec<u8> {
    let [x, y, width, height] = MARK;
    let content = format!("{}/Span /P0 BDC 0 g {x} {y} {width} {height} re f EMC\n", contract_text("EUR 12,000"));
    let mut objects = one_page(&content, "/Properties << /P0 6 0 R >>", "", "");
    objects.push((6, b"<< /Type 8 0 R /OCGs [7 0 R] /P /AllOff >>".to_vec()));
    objects.push((7, b"<< /Type /OCG /Name (Hidden) >>".to_vec()));
    // The type named through a reference, which readers follow.
    objects.push((8, b"/OCMD".to_vec()));
    RawPdf::new(&objects, "/Size 9 /Root 1 0 R").bytes()
}

/// A filled text field with no appearance, whose background is black: some
/// readers draw the field from its value, others draw nothing.
pub fn field_without_appearance() -> Vec<u8> {
    let [x, y, width, height] = MARK;
    let catalog = "/AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) >>";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "/Annots [6 0 R]", catalog);
    objects.push((
        6,
        format!(
            "<< /Type /Annot /Subtype /Widget /FT /Tx /T (price) /V (EUR 120,000) /Rect [{x} {y} {} {}] /P 3 0 R /MK << /BG [0] >> /F 4 >>",
            x + width,
            y + height
        )
        .into_bytes(),
    ));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A page-tree node with no `/Type` that has both kids and drawing of its
/// own: most readers show its kid, some show the node.
pub fn page_node_without_type() -> Vec<u8> {
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [6 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec()),
        (6, b"<< /Parent 2 0 R /Kids [3 0 R] /Count 1 /Contents 7 0 R /Resources << /XObject << /M 8 0 R >> >> >>".to_vec()),
        (3, b"<< /Type /Page /Parent 6 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec()),
        (4, stream("", contract_text("EUR 12,000").as_bytes())),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()),
        (7, stream("", draw_mark("M").as_bytes())),
        (8, mark_form()),
    ];
    RawPdf::new(&objects, "/Size 9 /Root 1 0 R").bytes()
}

/// An annotation whose `/AS` names no appearance state: most readers draw
/// nothing, some draw its `/Off` state (here, the mark).
pub fn state_that_is_not_there() -> Vec<u8> {
    let [x, y, width, height] = MARK;
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "/Annots [6 0 R]", "");
    objects.push((
        6,
        format!(
            "<< /Type /Annot /Subtype /Square /Rect [{x} {y} {} {}] /F 4 /AS /Shown /AP << /N << /Off 7 0 R >> >> >>",
            x + width,
            y + height
        )
        .into_bytes(),
    ));
    objects.push((7, mark_form()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// A page with `/Contents` twice, once spelled with a NUL byte: readers that
/// keep names as C strings take the second.
pub fn nul_in_a_name() -> Vec<u8> {
    let mut objects = one_page(&contract_text("EUR 12,000"), "/XObject << /M 7 0 R >>", "/Contents#00 6 0 R", "");
    objects.push((6, stream("", format!("{}{}", contract_text("EUR 120,000"), draw_mark("M")).as_bytes())));
    objects.push((7, mark_form()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// A page whose `/Parent` is not the node that lists it; the two nodes give
/// it different resources (the mark, or an empty form, under one name).
pub fn parent_that_is_not_the_tree_parent() -> Vec<u8> {
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [6 0 R 7 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec()),
        (
            6,
            b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> /XObject << /M 8 0 R >> >> >>"
                .to_vec(),
        ),
        (7, b"<< /Type /Pages /Parent 2 0 R /Kids [] /Count 0 /Resources << /Font << /F1 5 0 R >> /XObject << /M 9 0 R >> >> >>".to_vec()),
        (3, b"<< /Type /Page /Parent 7 0 R /Contents 4 0 R >>".to_vec()),
        (4, stream("", format!("{}{}", contract_text("EUR 12,000"), draw_mark("M")).as_bytes())),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()),
        (8, mark_form()),
        (9, stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1]", b"")),
    ];
    RawPdf::new(&objects, "/Size 10 /Root 1 0 R").bytes()
}

/// A page whose `/Resources` is not a dictionary, under a node whose
/// resources hold the mark: some readers skip the bad value and inherit,
/// others take it as empty.
pub fn resources_that_are_not_a_dictionary() -> Vec<u8> {
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (
            2,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> /XObject << /M 6 0 R >> >> >>"
                .to_vec(),
        ),
        (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources 0 >>".to_vec()),
        (4, stream("", format!("{}{}", contract_text("EUR 12,000"), draw_mark("M")).as_bytes())),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()),
        (6, mark_form()),
    ];
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A link whose action is a stream object: readers take the stream's
/// dictionary as the action (here, launching a program).
pub fn action_in_a_stream() -> Vec<u8> {
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "/Annots [6 0 R]", "");
    objects.push((6, b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A 7 0 R >>".to_vec()));
    objects.push((7, stream("/S /Launch /F (calc.exe)", b"")));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// `pages` pages that inherit one resource dictionary holding `values`
/// numbers (a reader that copies it into each page holds pages × values).
pub fn resources_inherited_by_many_pages(pages: u32, values: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + i)).collect();
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (
            2,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} /MediaBox [0 0 595 842] /Resources << /X [{}] >> >>",
                kids.join(" "),
                "0 ".repeat(values)
            )
            .into_bytes(),
        ),
    ];
    objects.extend((0..pages).map(|i| (10 + i, b"<< /Type /Page /Parent 2 0 R >>".to_vec())));
    RawPdf::new(&objects, &format!("/Size {} /Root 1 0 R", 10 + pages)).bytes()
}

/// `holders` dictionaries that all name one `/Annots` array of `length`
/// entries (a reader that walks the array once per holder does holders × length).
pub fn one_annotation_list_named_everywhere(holders: u32, length: u32) -> Vec<u8> {
    let mut objects =
        one_page(&contract_text("EUR 12,000"), "", &format!("/Extra [{}]", "<< /Annots 6 0 R >> ".repeat(holders as usize)), "");
    objects.push((6, format!("[{}]", "7 0 R ".repeat(length as usize)).into_bytes()));
    objects.push((7, b"<< /Type /Annot /Subtype /Square /Rect [0 0 1 1] >>".to_vec()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// `actions` event actions deep inside `depth` nested dictionaries with long
/// keys (a reader that copies the path to each one does actions × depth × key).
pub fn actions_deep_inside(depth: usize, actions: usize) -> Vec<u8> {
    let mut value = format!("[{}]", "<< /AA << /O << /S /JavaScript /JS (1) >> >> >> ".repeat(actions));
    for level in 0..depth {
        value = format!("<< /K{level:0>1000} {value} >>");
    }
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "", "");
    objects.push((6, value.into_bytes()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A field holding a large value with `kids` references to one widget, in a
/// form that asks readers to draw its values (a reader that copies what a
/// field passes down for each kid holds kids × value).
pub fn large_value_passed_to_many_kids(values: usize, kids: u32) -> Vec<u8> {
    let catalog = "/AcroForm << /Fields [6 0 R] /NeedAppearances true >>";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "/Annots [7 0 R]", catalog);
    objects.push((
        6,
        format!("<< /FT /Tx /T (big) /V [{}] /Kids [{}] >>", "(x) ".repeat(values), "7 0 R ".repeat(kids as usize)).into_bytes(),
    ));
    objects.push((7, b"<< /Type /Annot /Subtype /Widget /Parent 6 0 R /Rect [72 100 300 120] /P 3 0 R >>".to_vec()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// A reference to an object the file does not have, numbered right after
/// its last one (found by fuzzing): readers read it as null, and it must
/// not come to name an object preparing adds.
pub fn reference_to_the_next_number() -> Vec<u8> {
    RawPdf::new(&one_page(&contract_text("EUR 12,000"), "", "", "/Metadata 6 0 R"), "/Size 6 /Root 1 0 R").bytes()
}

/// A page drawing part whose dictionary says its data is in another file:
/// one reader skips the part, others draw the data in this file (the mark).
pub fn content_said_to_be_elsewhere() -> Vec<u8> {
    let mut objects = one_page(&contract_text("EUR 12,000"), "/XObject << /M 7 0 R >>", "", "");
    objects[2] = (
        3,
        b"<< /Type /Page /Parent 2 0 R /Contents [4 0 R 6 0 R] /Resources << /Font << /F1 5 0 R >> /XObject << /M 7 0 R >> >> >>".to_vec(),
    );
    objects.push((6, stream("/F (terms.dat)", draw_mark("M").as_bytes())));
    objects.push((7, mark_form()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// A page drawing part with an empty `/Filter` and the inline-image
/// abbreviation `/F /AHx`: readers that take `/F` first decode the hex (the
/// mark), the others read the hex digits as drawing instructions.
pub fn filter_abbreviation_beside_filter() -> Vec<u8> {
    let hex: String = draw_mark("M").bytes().map(|b| format!("{b:02X}")).collect();
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "", "");
    objects[2] = (
        3,
        b"<< /Type /Page /Parent 2 0 R /Contents [4 0 R 6 0 R] /Resources << /Font << /F1 5 0 R >> /XObject << /M 7 0 R >> >> >>".to_vec(),
    );
    objects.push((6, stream("/Filter [] /F /AHx", format!("{hex}>\n").as_bytes())));
    objects.push((7, mark_form()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}

/// Text drawn in render mode 11, which some readers fill and others hide.
pub fn text_render_mode_out_of_range() -> Vec<u8> {
    let [x, y, _, _] = MARK;
    let content = format!("{}BT /F1 40 Tf 11 Tr {x} {y} Td (EUR 120,000) Tj ET\n", contract_text("EUR 12,000"));
    RawPdf::new(&one_page(&content, "", "", ""), "/Size 6 /Root 1 0 R").bytes()
}

/// A form named in the drawing with a NUL byte: poppler cuts the name short
/// and draws the mark, other readers find no such form.
pub fn nul_in_a_drawn_name() -> Vec<u8> {
    let content = format!("{}{}", contract_text("EUR 12,000"), draw_mark("M#00junk"));
    let mut objects = one_page(&content, "/XObject << /M 6 0 R >>", "", "");
    objects.push((6, mark_form()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// A grey colour given two components: poppler ignores it, MuPDF takes the first.
pub fn colour_with_too_many_components() -> Vec<u8> {
    let [x, y, width, height] = MARK;
    let content = format!("{}1 g 0 0 sc {x} {y} {width} {height} re f\n", contract_text("EUR 12,000"));
    RawPdf::new(&one_page(&content, "", "", ""), "/Size 6 /Root 1 0 R").bytes()
}

/// A page whose list of drawing parts holds `null`: poppler draws nothing
/// of the page, other readers draw its parts (the mark).
pub fn contents_with_a_null_part() -> Vec<u8> {
    let content = format!("{}{}", contract_text("EUR 12,000"), draw_mark("M"));
    let mut objects = one_page(&content, "/XObject << /M 6 0 R >>", "", "");
    objects[2] = (
        3,
        b"<< /Type /Page /Parent 2 0 R /Contents [4 0 R null] /Resources << /Font << /F1 5 0 R >> /XObject << /M 6 0 R >> >> >>".to_vec(),
    );
    objects.push((6, mark_form()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// One web link action of `uri_len` bytes named by `holders` dictionaries
/// (a reader that copies the address for each holder does holders × length).
pub fn one_address_named_by_many_links(holders: usize, uri_len: usize) -> Vec<u8> {
    let page_extra = format!("/Extra [{}]", "<< /A 6 0 R >> ".repeat(holders));
    let mut objects = one_page(&contract_text("EUR 12,000"), "", &page_extra, "");
    objects.push((6, format!("<< /S /URI /URI (https://{}) >>", "x".repeat(uri_len)).into_bytes()));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// `pages` pages that all name one list of `parts` drawing parts (a reader
/// that copies the list for each page holds pages × parts).
pub fn drawing_list_shared_by_many_pages(pages: u32, parts: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 10 + i)).collect();
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, format!("<< /Type /Pages /Kids [{}] /Count {pages} /MediaBox [0 0 595 842] >>", kids.join(" ")).into_bytes()),
        (3, format!("[{}]", "4 0 R ".repeat(parts)).into_bytes()),
        (4, stream("", b"0 0 m")),
    ];
    objects.extend((0..pages).map(|i| (10 + i, b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>".to_vec())));
    RawPdf::new(&objects, &format!("/Size {} /Root 1 0 R", 10 + pages)).bytes()
}

/// One page listing `times` times one part that inflates to `megabytes` MB
/// (a reader decodes it each time: times × megabytes).
pub fn one_large_part_listed_many_times(times: usize, megabytes: usize) -> Vec<u8> {
    let data = "0 0 m\n".repeat(megabytes * 1024 * 1024 / 6);
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(data.as_bytes(), 9);
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "", "");
    objects[2] = (
        3,
        format!("<< /Type /Page /Parent 2 0 R /Contents [{}] /Resources << /Font << /F1 5 0 R >> >> >>", "6 0 R ".repeat(times))
            .into_bytes(),
    );
    objects.push((6, stream("/Filter /FlateDecode", &packed)));
    RawPdf::new(&objects, "/Size 7 /Root 1 0 R").bytes()
}

/// The files whose cost is the product of two of their sizes in a naive
/// reader (hundreds of gigabytes, or hours, each), by name: the tests
/// prepare them and the hostile bench times them.
pub fn files_that_multiply_a_readers_work() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("resources inherited by 2,000 pages", resources_inherited_by_many_pages(2_000, 200_000)),
        ("one annotation list named 100,000 times", one_annotation_list_named_everywhere(100_000, 200_000)),
        ("100,000 actions 96 levels deep", actions_deep_inside(96, 100_000)),
        ("a large value passed to 100,000 kids", large_value_passed_to_many_kids(200_000, 100_000)),
        ("a 1 MB address named by 100,000 links", one_address_named_by_many_links(100_000, 1_000_000)),
        ("one list of 100,000 drawing parts on 2,000 pages", drawing_list_shared_by_many_pages(2_000, 100_000)),
        ("an 8 MB drawing part listed 10,000 times", one_large_part_listed_many_times(10_000, 8)),
        ("a 1 MB value inherited by 10,000 kids", large_value_inherited_by_distinct_kids(1_000_000, 10_000)),
        ("a large link destination listed 100,000 times", link_with_a_large_destination_listed_many_times(100_000, 100_000)),
        ("a string of 4,000,000 backslashes", string_of_backslashes(4_000_000)),
    ]
}

/// A blank page: no /Contents at all (readers draw nothing), its size
/// inherited from the page tree.
pub fn page_without_contents() -> Vec<u8> {
    let objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_vec()),
        (3, b"<< /Type /Page /Parent 2 0 R /Resources << >> >>".to_vec()),
    ];
    RawPdf::new(&objects, "/Size 4 /Root 1 0 R").bytes()
}

/// A page drawing a string of `count` backslashes (each escaped: a writer
/// that looks up every byte among the string's escapes takes count² steps).
pub fn string_of_backslashes(count: usize) -> Vec<u8> {
    let mut content = contract_text("EUR 12,000");
    content.push_str(&format!("BT /F1 1 Tf 72 20 Td ({}) Tj ET\n", "\\\\".repeat(count)));
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(content.as_bytes(), 9);
    let mut objects = one_page("", "", "", "");
    objects[3] = (4, stream("/Filter /FlateDecode", &packed));
    RawPdf::new(&objects, "/Size 6 /Root 1 0 R").bytes()
}

/// A field holding a value of `value_len` bytes with `kids` distinct kids,
/// in a form that asks readers to draw its values (a reader that copies the
/// value into each kid holds kids × value).
pub fn large_value_inherited_by_distinct_kids(value_len: usize, kids: u32) -> Vec<u8> {
    let catalog = "/AcroForm << /Fields [6 0 R] /NeedAppearances true >>";
    let mut objects = one_page(&contract_text("EUR 12,000"), "", "", catalog);
    let kid_refs: Vec<String> = (0..kids).map(|i| format!("{} 0 R", 10 + i)).collect();
    objects.push((6, format!("<< /FT /Tx /T (big) /V ({}) /Kids [{}] >>", "x".repeat(value_len), kid_refs.join(" ")).into_bytes()));
    objects.extend((0..kids).map(|i| (10 + i, b"<< /Parent 6 0 R >>".to_vec())));
    RawPdf::new(&objects, &format!("/Size {} /Root 1 0 R", 10 + kids)).bytes()
}

/// One link listed `times` times whose destination is an array of `values`
/// values (a reader that copies it for each listing holds times × values).
pub fn link_with_a_large_destination_listed_many_times(times: usize, values: usize) -> Vec<u8> {
    let mut objects = one_page(&contract_text("EUR 12,000"), "", &format!("/Annots [{}]", "6 0 R ".repeat(times)), "");
    objects.push((6, b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /Dest 7 0 R >>".to_vec()));
    objects.push((7, format!("[3 0 R /XYZ {}]", "0 ".repeat(values)).into_bytes()));
    RawPdf::new(&objects, "/Size 8 /Root 1 0 R").bytes()
}
