//! Test toolkit for the whole-system tests in `tests/`: the real-world PDF
//! corpus kept in `tests/corpus`, and the third-party PDF tools (qpdf, poppler's
//! pdftoppm) that check our output. `scripts/test` installs the tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod app;
pub mod browser;
pub mod crafted;
pub mod disk;
pub mod lan;
pub mod mail;
pub mod nodes;
pub mod raster;
pub mod verifier;

use anyhow::{Context, Result, bail};

/// The corpus folder: `tests/corpus` in the repository (real-world PDFs,
/// CC-BY-SA-4.0, licence file beside them).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The encrypted corpus file and its user password.
pub const ENCRYPTED: (&str, &str) = ("libreoffice-writer-password.pdf", "openpassword");

/// Every corpus PDF a user could sign (all but the encrypted one), by name.
pub fn signable_corpus() -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).context("the corpus folder tests/corpus is missing")? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".pdf") && name != ENCRYPTED.0 {
            files.push((name, std::fs::read(&path)?));
        }
    }
    files.sort();
    if files.len() < 8 {
        bail!("expected the 8 signable corpus PDFs, found {}", files.len());
    }
    Ok(files)
}

/// A fresh scratch folder under the system temp dir.
pub fn scratch_dir(label: &str) -> Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir =
        std::env::temp_dir().join(format!("countersign-test-{}-{label}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    // An earlier run whose process had the same id may have left it: start empty.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// What `qpdf --check` says of a file: its exit code (0 clean, 2 errors,
/// 3 warnings) and its output.
pub fn qpdf_check(pdf: &[u8]) -> Result<(i32, String)> {
    let dir = scratch_dir("qpdf")?;
    let path = dir.join("file.pdf");
    std::fs::write(&path, pdf)?;
    let output = Command::new("qpdf").arg("--check").arg(&path).output().context("qpdf is not installed (scripts/test installs it)")?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.code().unwrap_or(-1), text))
}

/// What pyHanko, a third-party PDF signature validator, says of a file.
#[derive(Debug)]
pub struct PyHankoReport {
    /// The exit code: 0 when every signature is valid.
    pub code: i32,
    /// One line per signature, in signing order:
    /// `field:certificate-sha256:INTACT:TRUSTED,<coverage>[,<modifications>]`.
    pub lines: Vec<String>,
    /// Everything it printed, for failure messages.
    pub output: String,
}

/// Where pyHanko's command is: the virtual environment `scripts/test` makes in
/// `target/pyhanko`, or `COUNTERSIGN_PYHANKO`.
pub fn pyhanko_command() -> PathBuf {
    if let Some(path) = std::env::var_os("COUNTERSIGN_PYHANKO") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyhanko/bin/pyhanko")
}

/// Runs `pyhanko sign validate` on `pdf` with `trust` (PEM certificates) as
/// the only trust roots, judging validity at the signatures' claimed times.
pub fn pyhanko_validate(pdf: &[u8], trust: &[Vec<u8>]) -> Result<PyHankoReport> {
    let dir = scratch_dir("pyhanko")?;
    let path = dir.join("file.pdf");
    std::fs::write(&path, pdf)?;
    let mut command = Command::new(pyhanko_command());
    command.args(["sign", "validate", "--trust-replace", "--no-revocation-check"]);
    for (index, pem) in trust.iter().enumerate() {
        let cert = dir.join(format!("trust-{index}.pem"));
        std::fs::write(&cert, pem)?;
        command.arg("--trust").arg(cert);
    }
    let output = command.arg(&path).output().context("pyHanko is not installed (scripts/test installs it in target/pyhanko)")?;
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines = stdout.lines().filter(|l| l.contains(':')).map(str::to_owned).collect();
    let output_text = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    Ok(PyHankoReport { code: output.status.code().unwrap_or(-1), lines, output: output_text })
}

/// A DER certificate as PEM.
pub fn pem(der: &[u8]) -> Vec<u8> {
    countersign_shared::pades::certificate::to_pem(der).into_bytes()
}

/// Renders every page as viewers show it (the crop box) with poppler's
/// `pdftoppm` at `dpi` into PNG files, in page order.
pub fn pdftoppm(pdf: &[u8], dpi: u32) -> Result<Vec<PathBuf>> {
    let dir = scratch_dir("pdftoppm")?;
    let path = dir.join("file.pdf");
    std::fs::write(&path, pdf)?;
    let output = Command::new("pdftoppm")
        .args(["-cropbox", "-r", &dpi.to_string(), "-png"])
        .arg(&path)
        .arg(dir.join("page"))
        .output()
        .context("pdftoppm is not installed (scripts/test installs poppler-utils)")?;
    if !output.status.success() {
        bail!("pdftoppm failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut pages: Vec<PathBuf> =
        std::fs::read_dir(&dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "png")).collect();
    pages.sort();
    Ok(pages)
}

/// The RGB pixel at (x, y) of a PNG file (origin top-left).
pub fn pixel(png_path: &Path, x: u32, y: u32) -> Result<[u8; 3]> {
    let file = std::fs::File::open(png_path)?;
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    if x >= info.width || y >= info.height {
        bail!("pixel ({x}, {y}) is outside the {}×{} page", info.width, info.height);
    }
    let channels = info.color_type.samples();
    let at = (y as usize * info.width as usize + x as usize) * channels;
    Ok(match channels {
        1 | 2 => [buf[at]; 3],
        _ => [buf[at], buf[at + 1], buf[at + 2]],
    })
}

/// The width and height of a PNG file.
pub fn png_size(png_path: &Path) -> Result<(u32, u32)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_path)?));
    let reader = decoder.read_info()?;
    Ok((reader.info().width, reader.info().height))
}
