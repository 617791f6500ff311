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
