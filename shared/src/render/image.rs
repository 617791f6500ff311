//! Signature and stamp images as PDF image XObjects.
//!
//! PNGs are decoded and re-encoded (8 bits per channel, alpha as a soft mask, so
//! a transparent stamp stays transparent). JPEGs go in as they are
//! (`/DCTDecode`). Compression is miniz_oxide at a fixed level, pinned in the
//! workspace so every node produces the same bytes.

use lopdf::{Dictionary, Object, Stream};

use crate::render::RenderError;

/// Largest image side in pixels.
pub(crate) const MAX_SIDE: u32 = 4096;
/// Most image pixels one document draws in all: a small PNG can hold a
/// large, plain image, and drawing it costs in proportion to its pixels.
pub(crate) const MAX_DOCUMENT_PIXELS: u64 = 64 * 1024 * 1024;

/// A decoded image ready to become PDF objects.
#[derive(Debug)]
pub(crate) struct PdfImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) image: Stream,
    pub(crate) mask: Option<Stream>,
}

/// Turns image bytes into an image XObject (and soft mask), if its pixels
/// fit in `pixels_left` (which they then use up).
pub(crate) fn to_pdf_image(bytes: &[u8], what: &str, pixels_left: &mut u64) -> Result<PdfImage, RenderError> {
    let bad = |why: String| RenderError::BadImage { what: what.to_owned(), why };
    if bytes.starts_with(b"\x89PNG") {
        png_image(bytes, pixels_left).map_err(bad)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg_image(bytes, pixels_left).map_err(bad)
    } else {
        Err(bad("it is neither a PNG nor a JPEG".into()))
    }
}

/// Checks an image's size, before its pixels are decoded.
fn check_size(width: u32, height: u32, pixels_left: &mut u64) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("it is {width}×{height} pixels; at most {MAX_SIDE}×{MAX_SIDE} is allowed"));
    }
    *pixels_left = pixels_left
        .checked_sub(u64::from(width) * u64::from(height))
        .ok_or_else(|| format!("the document's images have more than {MAX_DOCUMENT_PIXELS} pixels in all"))?;
    Ok(())
}

fn png_image(bytes: &[u8], pixels_left: &mut u64) -> Result<PdfImage, String> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("the PNG cannot be read ({e})"))?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(width, height, pixels_left)?;
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).map_err(|e| format!("the PNG cannot be read ({e})"))?;
    pixels.truncate(frame.buffer_size());
    let (space, color, alpha) = match frame.color_type {
        png::ColorType::Grayscale => ("DeviceGray", pixels, None),
        png::ColorType::GrayscaleAlpha => split_alpha::<1, 2>("DeviceGray", &pixels),
        png::ColorType::Rgb => ("DeviceRGB", pixels, None),
        png::ColorType::Rgba => split_alpha::<3, 4>("DeviceRGB", &pixels),
        png::ColorType::Indexed => return Err("the PNG palette could not be expanded".into()),
    };
    let image = flate_image(width, height, space, &color);
    let mask = alpha.filter(|a| a.iter().any(|&v| v != 255)).map(|a| flate_image(width, height, "DeviceGray", &a));
    Ok(PdfImage { width, height, image, mask })
}

/// Splits interleaved colour+alpha samples into colour samples and an alpha
/// channel (a soft mask in PDF). Sizes are constants so the copies inline.
fn split_alpha<const COLOR: usize, const STRIDE: usize>(space: &'static str, pixels: &[u8]) -> (&'static str, Vec<u8>, Option<Vec<u8>>) {
    let count = pixels.len() / STRIDE;
    let (mut color, mut alpha) = (vec![0; count * COLOR], vec![0; count]);
    for ((px, color), alpha) in pixels.chunks_exact(STRIDE).zip(color.chunks_exact_mut(COLOR)).zip(&mut alpha) {
        color.copy_from_slice(&px[..COLOR]);
        *alpha = px[COLOR];
    }
    (space, color, Some(alpha))
}

fn flate_image(width: u32, height: u32, space: &str, samples: &[u8]) -> Stream {
    let mut dict = image_dict(width, height, space);
    dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    let data = miniz_oxide::deflate::compress_to_vec_zlib(samples, 1);
    Stream::new(dict, data).with_compression(false)
}

fn image_dict(width: u32, height: u32, space: &str) -> Dictionary {
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Image".to_vec()));
    dict.set("Width", i64::from(width));
    dict.set("Height", i64::from(height));
    dict.set("ColorSpace", Object::Name(space.as_bytes().to_vec()));
    dict.set("BitsPerComponent", 8);
    dict
}

fn jpeg_image(bytes: &[u8], pixels_left: &mut u64) -> Result<PdfImage, String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(|e| format!("the JPEG cannot be read ({e})"))?;
    let info = decoder.info().ok_or("the JPEG has no image header")?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_size(width, height, pixels_left)?;
    let space = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => "DeviceGray",
        jpeg_decoder::PixelFormat::RGB24 => "DeviceRGB",
        jpeg_decoder::PixelFormat::CMYK32 => "DeviceCMYK",
        jpeg_decoder::PixelFormat::L16 => return Err("16-bit JPEGs are not supported".into()),
    };
    let mut dict = image_dict(width, height, space);
    dict.set("Filter", Object::Name(b"DCTDecode".to_vec()));
    Ok(PdfImage { width, height, image: Stream::new(dict, bytes.to_vec()).with_compression(false), mask: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_images_share_one_pixel_budget() {
        let mut left = MAX_DOCUMENT_PIXELS;
        for _ in 0..4 {
            assert!(check_size(MAX_SIDE, MAX_SIDE, &mut left).is_ok());
        }
        assert_eq!(left, 0);
        let refused = check_size(1, 1, &mut left).unwrap_err();
        assert!(refused.contains("pixels in all"), "{refused}");
        let mut fresh = MAX_DOCUMENT_PIXELS;
        assert!(check_size(MAX_SIDE + 1, 1, &mut fresh).is_err());
    }
}
