//! The desktop's handler for `countersign://` links: the verifier's join page
//! hands an invitation to the installed app as `countersign://join/<payload>`,
//! and the desktop runs `countersign open-link <that link>`, which opens the
//! running node's join page with the link filled in.
//!
//! On Linux (freedesktop), a handler is a `.desktop` file that names the
//! `x-scheme-handler/countersign` type, made the default with `xdg-mime`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The handler's file name in the desktop's applications folder.
pub const HANDLER_FILE: &str = "countersign-link.desktop";
const SCHEME_TYPE: &str = "x-scheme-handler/countersign";

/// What registering did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The handler file written.
    pub file: PathBuf,
    /// Whether `xdg-mime` made it the default (without it, desktops pick the
    /// handler up from the file alone once their database is refreshed).
    pub made_default: bool,
}

/// Whether this process runs in a desktop session (where links are clicked).
pub fn in_desktop_session() -> bool {
    cfg!(target_os = "linux") && (std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some())
}

/// Makes `countersign://` links run `exe open-link` with `data_dir`. Writes
/// nothing when the handler file already says exactly that.
pub fn register(exe: &Path, data_dir: &Path) -> io::Result<Registered> {
    let applications = applications_dir()?;
    std::fs::create_dir_all(&applications)?;
    let file = applications.join(HANDLER_FILE);
    let entry = handler_entry(exe, data_dir);
    if std::fs::read_to_string(&file).ok().as_deref() != Some(entry.as_str()) {
        let partial = file.with_extension("desktop.partial");
        std::fs::write(&partial, &entry)?;
        std::fs::rename(&partial, &file)?;
    }
    let made_default = Command::new("xdg-mime")
        .args(["default", HANDLER_FILE, SCHEME_TYPE])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    Ok(Registered { file, made_default })
}

fn applications_dir() -> io::Result<PathBuf> {
    let base = directories::BaseDirs::new().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no home folder"))?;
    Ok(base.data_dir().join("applications"))
}

/// The `.desktop` entry (freedesktop Desktop Entry Specification 1.5).
fn handler_entry(exe: &Path, data_dir: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=Countersign\nComment=Opens Countersign invitation links\n\
         Exec={} --data-dir {} open-link %u\nNoDisplay=true\nMimeType={SCHEME_TYPE};\n",
        exec_argument(&exe.to_string_lossy()),
        exec_argument(&data_dir.to_string_lossy()),
    )
}

/// One argument of an `Exec` line: quoted, with `"`, `` ` ``, `$` and `\`
/// escaped, and `%` doubled (a field code otherwise); then, as every value
/// of a desktop entry, its backslashes escaped once more.
fn exec_argument(argument: &str) -> String {
    let mut quoted = String::from("\"");
    for c in argument.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            '\n' | '\r' => quoted.push(' '),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted.replace('\\', "\\\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_runs_open_link_with_the_data_dir_and_quotes_odd_paths() {
        let entry = handler_entry(Path::new("/opt/count ersign/countersign"), Path::new("/home/a/My $data%"));
        assert!(entry.contains("Exec=\"/opt/count ersign/countersign\" --data-dir \"/home/a/My \\\\$data%%\" open-link %u\n"), "{entry}");
        assert!(entry.contains("MimeType=x-scheme-handler/countersign;\n"));
    }
}
