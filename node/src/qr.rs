//! Invite links as QR codes: in the terminal, and as PNG and SVG files.

use qrcode::render::{svg, unicode};
use qrcode::{Color, EcLevel, QrCode};

/// Why a link could not be drawn as a QR code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The link is longer than a QR code holds.
    #[error("the link does not fit a QR code: {0}")]
    TooLong(#[from] qrcode::types::QrError),
    /// The PNG could not be written.
    #[error("the QR code's PNG could not be written: {0}")]
    Png(#[from] png::EncodingError),
}

fn code(link: &str) -> Result<QrCode, QrError> {
    Ok(QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)?)
}

/// The QR code drawn with half-block characters, for a terminal.
pub fn terminal(link: &str) -> Result<String, QrError> {
    Ok(code(link)?.render::<unicode::Dense1x2>().dark_color(unicode::Dense1x2::Light).light_color(unicode::Dense1x2::Dark).build())
}

/// The QR code as an SVG document.
pub fn svg(link: &str) -> Result<String, QrError> {
    Ok(code(link)?.render::<svg::Color<'_>>().min_dimensions(256, 256).build())
}

/// The QR code as a black-on-white PNG, `scale` pixels per module.
pub fn png(link: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    let code = code(link)?;
    let modules = code.width() as u32;
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        for dy in 0..scale {
            let row = ((my + quiet) * scale + dy) * side;
            let start = (row + (mx + quiet) * scale) as usize;
            pixels[start..start + scale as usize].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    drop(writer);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_every_form() {
        let link = "countersign://join/AQIDBAUGBwgJ";
        assert!(terminal(link).unwrap().lines().count() > 10);
        assert!(svg(link).unwrap().starts_with("<?xml"));
        assert!(png(link, 4).unwrap().starts_with(b"\x89PNG"));
    }
}
