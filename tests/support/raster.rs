//! Pages as three independent renderers draw them (poppler's `pdftoppm`,
//! MuPDF's `mutool draw` and hayro, the renderer of the node's previews), and pixel comparisons of two drawings of a page
//! outside the places Countersign draws on (its fields and the id line).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::scratch_dir;

/// A PDF renderer from another project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// poppler's `pdftoppm` (`scripts/test` installs poppler-utils).
    Poppler,
    /// MuPDF's `mutool draw` (`scripts/test` installs mupdf-tools).
    MuPdf,
    /// hayro (pure Rust), which draws the previews a signer looks at.
    Hayro,
}

impl Renderer {
    /// All three.
    pub const ALL: [Renderer; 3] = [Renderer::Poppler, Renderer::MuPdf, Renderer::Hayro];

    /// Draws every page (its crop box) at `dpi`.
    pub fn draw(self, pdf: &[u8], dpi: u32) -> Result<Vec<Raster>> {
        match self {
            Renderer::Poppler | Renderer::MuPdf => self.draw_with_tool(pdf, dpi),
            Renderer::Hayro => draw_with_hayro(pdf, dpi),
        }
    }

    /// Every page as the renderer's command-line tool draws it, at `dpi`.
    fn draw_with_tool(self, pdf: &[u8], dpi: u32) -> Result<Vec<Raster>> {
        let dir = scratch_dir("raster")?;
        let path = dir.join("file.pdf");
        std::fs::write(&path, pdf)?;
        let output = match self {
            Renderer::Poppler => Command::new("pdftoppm")
                .args(["-cropbox", "-r", &dpi.to_string(), "-png"])
                .arg(&path)
                .arg(dir.join("page"))
                .output()
                .context("pdftoppm is not installed (scripts/test installs poppler-utils)")?,
            Renderer::MuPdf => Command::new("mutool")
                .args(["draw", "-q", "-r", &dpi.to_string(), "-o"])
                .arg(dir.join("page-%04d.png"))
                .arg(&path)
                .output()
                .context("mutool is not installed (scripts/test installs mupdf-tools)")?,
            Renderer::Hayro => bail!("hayro has no command-line tool"),
        };
        let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        pages.sort();
        // A renderer that meets something it cannot draw (a resource the page
        // names but does not have) says so and still draws the page.
        if pages.is_empty() || (!output.status.success() && self == Renderer::Poppler) {
            bail!("{self:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let rasters = pages.iter().map(|page| Raster::read(page)).collect();
        let _ = std::fs::remove_dir_all(&dir);
        rasters
    }
}

/// Every page as the node's preview draws it, at `dpi`.
fn draw_with_hayro(pdf: &[u8], dpi: u32) -> Result<Vec<Raster>> {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings, render};

    let pdf = Pdf::new(pdf.to_vec()).map_err(|e| anyhow::anyhow!("hayro cannot read the PDF: {e:?}"))?;
    let scale = dpi as f32 / 72.0;
    let settings = PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE };
    let cache = RenderCache::new();
    Ok(pdf
        .pages()
        .iter()
        .map(|page| {
            let pixmap = render(page, &cache, &InterpreterSettings::default(), &RenderSettings::default(), &settings);
            // Drawn on white, so every pixel is opaque and needs no unpremultiplying.
            let pixels = pixmap.data().iter().map(|p| [p.r, p.g, p.b]).collect();
            Raster { width: pixmap.width().into(), height: pixmap.height().into(), pixels }
        })
        .collect())
}

/// A drawn page: RGB pixels, rows from the top.
#[derive(Clone, PartialEq, Eq)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    pixels: Vec<[u8; 3]>,
}

/// A rectangle in PDF points as the page is seen (origin at the lower-left corner).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeenRect {
    /// Left edge.
    pub x: f32,
    /// Bottom edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl std::fmt::Debug for Raster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let blank = self.pixels.iter().filter(|p| **p == [255, 255, 255]).count();
        write!(f, "Raster {}×{} ({} of {} pixels white)", self.width, self.height, blank, self.pixels.len())
    }
}

impl Raster {
    fn read(path: &Path) -> Result<Self> {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|px| match channels {
                1 | 2 => [px[0]; 3],
                _ => [px[0], px[1], px[2]],
            })
            .collect();
        Ok(Raster { width: info.width, height: info.height, pixels })
    }

    /// The pixels where `self` and `other` differ, outside `masks` (each grown
    /// by `margin` pixels for anti-aliasing), for a page `page_height` points
    /// tall drawn at `dpi`; as (x, y) from the top left.
    pub fn differences_outside(
        &self,
        other: &Raster,
        masks: &[SeenRect],
        page_height: f32,
        dpi: u32,
        margin: f32,
    ) -> Result<Vec<(u32, u32)>> {
        if (self.width, self.height) != (other.width, other.height) {
            bail!("the pages differ in size: {}×{} and {}×{}", self.width, self.height, other.width, other.height);
        }
        let scale = dpi as f32 / 72.0;
        let boxes: Vec<[f32; 4]> = masks
            .iter()
            .map(|r| {
                let left = r.x * scale - margin;
                let right = (r.x + r.width) * scale + margin;
                let top = (page_height - r.y - r.height) * scale - margin;
                let bottom = (page_height - r.y) * scale + margin;
                [left, top, right, bottom]
            })
            .collect();
        let masked = |x: u32, y: u32| {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            boxes.iter().any(|[l, t, r, b]| fx >= *l && fx <= *r && fy >= *t && fy <= *b)
        };
        let mut differences = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                let at = (y * self.width + x) as usize;
                if self.pixels[at] != other.pixels[at] && !masked(x, y) {
                    differences.push((x, y));
                }
            }
        }
        Ok(differences)
    }

    /// Whether any pixel inside `rect` (seen points, page `page_height` tall, at `dpi`) is not white.
    pub fn drawn_inside(&self, rect: SeenRect, page_height: f32, dpi: u32) -> bool {
        let scale = dpi as f32 / 72.0;
        let (left, right) = ((rect.x * scale) as u32, ((rect.x + rect.width) * scale) as u32);
        let (top, bottom) = (((page_height - rect.y - rect.height) * scale) as u32, ((page_height - rect.y) * scale) as u32);
        (top..bottom.min(self.height))
            .flat_map(|y| (left..right.min(self.width)).map(move |x| (x, y)))
            .any(|(x, y)| self.pixels[(y * self.width + x) as usize] != [255, 255, 255])
    }
}
