//! The one font the final PDF draws its text with: DejaVu Sans, compiled in
//! from the `dejavu` crate, embedded by each signing step as a subset of the
//! glyphs that step shows, with a ToUnicode map so that the text can be
//! searched and copied.
//!
//! Every node embeds the same bytes: the font, the subsetter and the
//! compressor are pinned (see the workspace's `Cargo.toml`), and a step
//! numbers its glyphs in the order it first shows them.
//!
//! The font covers Latin, Greek and Cyrillic. Right-to-left scripts need
//! reordering and shaping, and Chinese, Japanese and Korean another font:
//! [`check_text`] refuses them, and any other letter the font lacks, with a
//! message that says so. The rules apply it to every text that reaches the
//! PDF, so the renderer never meets such a letter in a valid log (it would
//! draw `?`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use lopdf::{Dictionary, Object, ObjectId, Stream};
use subsetter::GlyphRemapper;
use thiserror::Error;
use ttf_parser::{Face, GlyphId};

/// The font's name in the PDF, after its subset tag.
const NAME: &str = "DejaVuSans";

/// The compiled-in font, parsed once.
fn face() -> Option<&'static Face<'static>> {
    static FACE: OnceLock<Option<Face<'static>>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(dejavu::sans::regular(), 0).ok()).as_ref()
}

/// Why a subset could not be embedded. Neither happens with the compiled-in
/// font; the caller fails closed if one does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FontError {
    /// The compiled-in font could not be read or subset.
    #[error("internal error: the document's font cannot be embedded ({0})")]
    Font(String),
    /// The file has no object numbers left for the font.
    #[error("the document has too many objects for PDF")]
    TooManyObjects,
}

/// Why a text cannot be shown in the signed PDF.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{character}' cannot be shown in the signed PDF yet: {why}")]
pub struct Unsupported {
    /// The first letter that cannot be shown.
    pub character: char,
    /// Which kind of writing it belongs to.
    pub why: &'static str,
}

/// Checks that every letter of `text` can be drawn in the PDF (line breaks
/// aside): Latin, Greek, Cyrillic and the common signs, nothing invisible.
pub fn check_text(text: &str) -> Result<(), Unsupported> {
    match text.chars().find(|c| *c != '\n' && glyph(*c).is_none()) {
        None => Ok(()),
        Some(character) => Err(Unsupported { character, why: unsupported_because(character) }),
    }
}

/// Like [`check_text`], for text that must stay on one line (a name, a
/// title, a label, a contact).
pub fn check_line(text: &str) -> Result<(), Unsupported> {
    if text.contains('\n') {
        return Err(Unsupported { character: '\n', why: "it must be one line" });
    }
    check_text(text)
}

fn unsupported_because(c: char) -> &'static str {
    if is_invisible(c) {
        "it is an invisible formatting character (a direction mark, a soft hyphen, a zero-width space…), which other programs show differently"
    } else if is_right_to_left(c) {
        "right-to-left writing (Arabic, Hebrew and others) is not supported"
    } else if is_cjk(c) {
        "Chinese, Japanese and Korean are not supported"
    } else if c.is_control() {
        "it is a control character"
    } else {
        "the document's font (Latin, Greek and Cyrillic) has no such letter"
    }
}

/// Characters that draw nothing, or differently in every program: format
/// characters (direction marks and overrides, zero-width spaces and joiners,
/// the soft hyphen, the byte-order mark…), variation selectors, line and
/// paragraph separators, and private-use letters.
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xE000..=0xF8FF
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
            | 0xF0000..
    )
}

/// Scripts written right to left (Unicode's R and AL blocks).
fn is_right_to_left(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Han, kana, hangul and their punctuation and compatibility forms.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x1100..=0x11FF | 0x2E80..=0x2FDF | 0x3000..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// The glyph that draws `c`, if the PDF may draw it.
fn glyph(c: char) -> Option<GlyphId> {
    if c.is_control() || is_invisible(c) || is_right_to_left(c) || is_cjk(c) {
        return None;
    }
    face()?.glyph_index(c).filter(|g| g.0 != 0)
}

/// How wide `text` is at font size 1, from the font's own metrics; a letter
/// the font lacks counts as `?`.
pub(crate) fn width(text: &str) -> f32 {
    let Some(face) = face() else { return 0.6 * text.chars().count() as f32 };
    let em = f32::from(face.units_per_em().max(1));
    text.chars().map(|c| f32::from(face.glyph_hor_advance(glyph(c).unwrap_or_else(question_mark)).unwrap_or(0)) / em).sum()
}

fn question_mark() -> GlyphId {
    face().and_then(|f| f.glyph_index('?')).unwrap_or(GlyphId(0))
}

/// The glyphs one signing step shows, numbered in the order first shown, and
/// the font object they will be embedded as.
#[derive(Debug)]
pub(crate) struct Subset {
    /// The font object (`Type0`) that content names.
    pub(crate) id: ObjectId,
    glyphs: GlyphRemapper,
    /// Which letter each new glyph number stands for, for ToUnicode.
    letters: BTreeMap<u16, char>,
}

impl Subset {
    pub(crate) fn new(id: ObjectId) -> Self {
        Subset { id, glyphs: GlyphRemapper::new(), letters: BTreeMap::new() }
    }

    /// The hex string `<…>` that shows `text` in this font (two bytes per
    /// glyph, Identity-H); a letter the font lacks is shown as `?`.
    pub(crate) fn show(&mut self, text: &str) -> Vec<u8> {
        let mut out = String::with_capacity(2 + 4 * text.len());
        out.push('<');
        for c in text.chars() {
            let (glyph, letter) = match glyph(c) {
                Some(glyph) => (glyph, c),
                None => (question_mark(), '?'),
            };
            let new = self.glyphs.remap(glyph.0);
            self.letters.entry(new).or_insert(letter);
            let _ = write!(out, "{new:04X}");
        }
        out.push('>');
        out.into_bytes()
    }

    /// Writes the font: the Type0 font at `self.id`, its CID font,
    /// descriptor, embedded subset (compressed) and ToUnicode map, each
    /// other object under a number from `next_id`, handed to `insert`.
    pub(crate) fn write(
        self,
        next_id: &mut dyn FnMut() -> Option<ObjectId>,
        insert: &mut dyn FnMut(ObjectId, Object),
    ) -> Result<(), FontError> {
        let face = face().ok_or_else(|| FontError::Font("it cannot be read".into()))?;
        let program = subsetter::subset(dejavu::sans::regular(), 0, &self.glyphs).map_err(|e| FontError::Font(e.to_string()))?;
        let mut next_id = || next_id().ok_or(FontError::TooManyObjects);
        let tag = subset_tag(&self.glyphs);
        let base_font = Object::Name(format!("{tag}+{NAME}").into_bytes());
        let em = f32::from(face.units_per_em().max(1));
        let scaled = |units: i16| Object::Integer((f32::from(units) * 1000.0 / em).round() as i64);

        let file = next_id()?;
        let mut file_dict = Dictionary::new();
        file_dict.set("Length1", program.len() as i64);
        file_dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&program, 6);
        insert(file, Object::Stream(Stream::new(file_dict, compressed).with_compression(false)));

        let descriptor = next_id()?;
        let bbox = face.global_bounding_box();
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"FontDescriptor".to_vec()));
        d.set("FontName", base_font.clone());
        d.set("Flags", 32);
        d.set("FontBBox", Object::Array(vec![scaled(bbox.x_min), scaled(bbox.y_min), scaled(bbox.x_max), scaled(bbox.y_max)]));
        d.set("ItalicAngle", 0);
        d.set("Ascent", scaled(face.ascender()));
        d.set("Descent", scaled(face.descender()));
        d.set("CapHeight", scaled(face.capital_height().unwrap_or(face.ascender())));
        d.set("StemV", 80);
        d.set("FontFile2", Object::Reference(file));
        insert(descriptor, Object::Dictionary(d));

        let widths = self
            .glyphs
            .remapped_gids()
            .map(|old| {
                let advance = face.glyph_hor_advance(GlyphId(old)).unwrap_or(0);
                Object::Integer((f32::from(advance) * 1000.0 / em).round() as i64)
            })
            .collect();
        let cid_font = next_id()?;
        let mut info = Dictionary::new();
        info.set("Registry", Object::string_literal("Adobe"));
        info.set("Ordering", Object::string_literal("Identity"));
        info.set("Supplement", 0);
        let mut c = Dictionary::new();
        c.set("Type", Object::Name(b"Font".to_vec()));
        c.set("Subtype", Object::Name(b"CIDFontType2".to_vec()));
        c.set("BaseFont", base_font.clone());
        c.set("CIDSystemInfo", Object::Dictionary(info));
        c.set("FontDescriptor", Object::Reference(descriptor));
        c.set("W", Object::Array(vec![0.into(), Object::Array(widths)]));
        c.set("CIDToGIDMap", Object::Name(b"Identity".to_vec()));
        insert(cid_font, Object::Dictionary(c));

        let to_unicode = next_id()?;
        insert(to_unicode, Object::Stream(Stream::new(Dictionary::new(), to_unicode_cmap(&self.letters))));

        let mut font = Dictionary::new();
        font.set("Type", Object::Name(b"Font".to_vec()));
        font.set("Subtype", Object::Name(b"Type0".to_vec()));
        font.set("BaseFont", base_font);
        font.set("Encoding", Object::Name(b"Identity-H".to_vec()));
        font.set("DescendantFonts", Object::Array(vec![Object::Reference(cid_font)]));
        font.set("ToUnicode", Object::Reference(to_unicode));
        insert(self.id, Object::Dictionary(font));
        Ok(())
    }
}

/// Six capital letters that name the subset (ISO 32000-1 §9.6.4), from its glyphs.
fn subset_tag(glyphs: &GlyphRemapper) -> String {
    let mut hasher = blake3::Hasher::new();
    for glyph in glyphs.remapped_gids() {
        hasher.update(&glyph.to_be_bytes());
    }
    hasher.finalize().as_bytes()[..6].iter().map(|b| char::from(b'A' + b % 26)).collect()
}

/// The CMap that maps each glyph number back to its letter (ISO 32000-1 §9.10.3).
fn to_unicode_cmap(letters: &BTreeMap<u16, char>) -> Vec<u8> {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = letters.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", chunk.len());
        for (glyph, letter) in chunk {
            let mut units = [0u16; 2];
            let utf16: String = letter.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(out, "<{glyph:04X}> <{utf16}>");
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_greek_and_cyrillic_are_shown_other_scripts_refused_in_plain_words() {
        assert_eq!(check_text("Дмитрий Петров, Договор № 118"), Ok(()));
        assert_eq!(check_text("Αθηνά Παπαδοπούλου, «Σύμβαση» – 5 €"), Ok(()));
        assert_eq!(check_text("Zoë Ørsted-Łukasz, 1.\nLine two"), Ok(()));
        let hebrew = check_text("חוזה").unwrap_err();
        assert_eq!(hebrew.character, 'ח');
        assert!(hebrew.to_string().contains("right-to-left"), "{hebrew}");
        assert!(check_text("Contract 契約").unwrap_err().to_string().contains("Chinese, Japanese and Korean"));
        assert!(check_text("tab\there").is_err());
        // What would read one way in a browser and another in the PDF.
        for trick in ["Pay \u{202E}0001\u{202C} EUR", "Ann\u{200B}a", "co\u{00AD}op", "\u{FEFF}Bob", "x\u{E000}"] {
            let refused = check_text(trick).unwrap_err();
            assert!(refused.to_string().contains("invisible"), "{trick:?}: {refused}");
        }
        assert_eq!(check_line("One line"), Ok(()));
        assert!(check_line("Two\nlines").unwrap_err().to_string().contains("one line"));
    }

    #[test]
    fn glyphs_are_numbered_in_the_order_shown_and_map_back_to_their_letters() {
        let mut subset = Subset::new((1, 0));
        assert_eq!(subset.show("ДаД"), b"<000100020001>".to_vec());
        assert_eq!(subset.show("契"), b"<0003>".to_vec(), "a letter the font lacks is drawn as ?");
        let cmap = String::from_utf8(to_unicode_cmap(&subset.letters)).unwrap_or_default();
        assert!(cmap.contains("<0001> <0414>") && cmap.contains("<0002> <0430>") && cmap.contains("<0003> <003F>"), "{cmap}");
        assert!(width("Ш") > width("i"));
    }
}
