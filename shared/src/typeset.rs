//! Text for PDF content streams: lines wrapped to a width and shown one under
//! the other, numbers as content streams write them, and, for the form values
//! that source normalisation draws in the standard Helvetica font, WinAnsi
//! encoding and an estimate of Helvetica's widths.
//!
//! The final PDF's own text is drawn in the embedded font (see
//! [`crate::font`]); in Helvetica, characters WinAnsi lacks are drawn as `?`.

/// Encodes `text` in WinAnsi, one byte per character.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// A PDF literal string `( … )` holding `bytes`, escaped.
pub(crate) fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'(');
    for &b in bytes {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// The operators that show `lines` one under the other (the text leading
/// set before): `(line) Tj T* (line) Tj …`, each line's string made by `encode`.
pub(crate) fn show_lines(content: &mut Vec<u8>, lines: &[String], mut encode: impl FnMut(&str) -> Vec<u8>) {
    for (index, line) in lines.iter().enumerate() {
        if index > 0 {
            content.extend_from_slice(b"T* ");
        }
        content.extend_from_slice(&encode(line));
        content.extend_from_slice(b" Tj ");
    }
}

/// A Helvetica string: `text` in WinAnsi, as a literal.
pub(crate) fn helvetica_string(text: &str) -> Vec<u8> {
    literal(&win_ansi(text))
}

/// Approximate width of `text` in Helvetica at size 1: close enough to fit text
/// into a field, never used for anything that must be exact.
pub(crate) fn approx_width(text: &str) -> f32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.25,
            ' ' | 'f' | 't' | 'r' | '(' | ')' | '-' | '/' | 'I' => 0.32,
            'm' | 'w' | 'M' | 'W' | '@' => 0.85,
            'A'..='Z' | '0'..='9' => 0.64,
            _ => 0.54,
        })
        .sum()
}

/// A number as content streams write it: at most two decimals, no exponent.
pub(crate) fn num(value: f32) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{}", rounded as i64)
    } else {
        let text = format!("{rounded:.2}");
        text.trim_end_matches('0').to_owned()
    }
}

/// Splits text into lines that fit `width` at font size `size`, measured by
/// `measure` (a line's width at size 1). A word longer than a line stays whole.
pub(crate) fn wrap(text: &str, width: f32, size: f32, measure: impl Fn(&str) -> f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if !line.is_empty() && measure(&candidate) * size > width {
                lines.push(std::mem::take(&mut line));
                line = word.to_owned();
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        assert_eq!(literal(&win_ansi("a(b)\\ €")), b"(a\\(b\\)\\\\ \x80)".to_vec());
        assert_eq!(win_ansi("Жора"), b"????".to_vec());
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.5), "-0.5");
    }

    #[test]
    fn wraps_long_text() {
        let lines = wrap("one two three four five six", 60.0, 10.0, approx_width);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four five six");
    }
}
