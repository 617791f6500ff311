//! Text for PDF content streams: lines wrapped to a width and shown one under
//! the other, and numbers as content streams write them. The text itself is
//! drawn in the document's font (see [`crate::font`]).

use crate::font;

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

/// The smallest size text is drawn at in a field, and the field's inner padding.
pub(crate) const MIN_SIZE: f32 = 4.0;
pub(crate) const PAD: f32 = 2.0;

/// Lines of `text` wrapped to `width`, and the largest size up to `largest`
/// (down to [`MIN_SIZE`]) at which they fit `height`.
pub(crate) fn fitted_lines(text: &str, width: f32, height: f32, largest: f32) -> (f32, Vec<String>) {
    let mut size = largest;
    let mut lines = wrap(text, width, size, font::width);
    while size > MIN_SIZE && lines.len() as f32 * size * 1.2 > height {
        size -= 0.5;
        lines = wrap(text, width, size, font::width);
    }
    (size, lines)
}

/// Whether `text` shows whole in a field of `width` × `height` points as
/// the renderer draws it (wrapped when `multiline`, else on one line), at
/// [`MIN_SIZE`] or larger: a value that does not is cut off in the PDF.
pub(crate) fn fits(text: &str, width: f32, height: f32, multiline: bool) -> bool {
    let (width, height) = (width - 2.0 * PAD, height - 2.0 * PAD);
    if multiline {
        let (size, lines) = fitted_lines(text, width, height, 10.0);
        lines.len() as f32 * size * 1.2 <= height + 0.01 && lines.iter().all(|line| font::width(line) * size <= width + 0.01)
    } else {
        font::width(&text.replace('\n', " ")) * MIN_SIZE <= width + 0.01 && height >= MIN_SIZE
    }
}

/// `text` cut to fit `width` at font size `size`, ending in "…" where cut.
pub(crate) fn cut_to_fit(text: &str, width: f32, size: f32) -> String {
    if font::width(text) * size <= width {
        return text.to_owned();
    }
    let mut cut = String::with_capacity(text.len());
    let room = width - font::width("…") * size;
    let mut used = 0.0;
    for c in text.chars() {
        used += font::width(c.encode_utf8(&mut [0; 4])) * size;
        if used > room {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut
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
/// `measure` (a piece of text's width at size 1). A word longer than a line
/// stays whole. Each word is measured once, so the cost is linear.
pub(crate) fn wrap(text: &str, width: f32, size: f32, measure: impl Fn(&str) -> f32) -> Vec<String> {
    let space = measure(" ");
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in paragraph.split(' ') {
            let word_width = measure(word);
            if line.is_empty() {
                line.push_str(word);
                line_width = word_width;
            } else if (line_width + space + word_width) * size > width {
                lines.push(std::mem::take(&mut line));
                line.push_str(word);
                line_width = word_width;
            } else {
                line.push(' ');
                line.push_str(word);
                line_width += space + word_width;
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
    fn writes_numbers_as_content_streams_do() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.5), "-0.5");
    }

    #[test]
    fn wraps_long_text() {
        let lines = wrap("one two three four five six", 60.0, 10.0, crate::font::width);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four five six");
    }
}
