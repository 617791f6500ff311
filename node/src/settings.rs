//! The node's own settings, made in the web app's settings page and kept in
//! `settings.toml`: the public verifier that documents sent from here name
//! (its address is in every final PDF's QR code), and the company's profile,
//! which fills the company-details fields its people sign.
//!
//! ```toml
//! verifier_url = "https://verify.acme.example"
//!
//! [company]
//! name = "Acme Ltd"
//! address = "1 High Street, Springfield"
//! registration = "12345678"
//! vat = "GB123456789"
//! ```

use serde::{Deserialize, Serialize};

use crate::datadir::{DataDir, DataDirError, write_atomic};

/// The file, in the data dir.
const FILE: &str = "settings.toml";

/// The longest text a setting takes.
const MAX_TEXT: usize = 500;

/// The settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The public verifier's address for documents sent from this node
    /// (`None`: Countersign's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_url: Option<String>,
    /// The company this node's person works for.
    #[serde(default)]
    pub company: CompanyProfile,
    /// This person follows the team's documents (a manager): colleagues'
    /// nodes add them as a viewer to every document they send.
    #[serde(default)]
    pub follow_team: bool,
}

/// The company's details, as company-details fields show them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyProfile {
    /// The company's name.
    #[serde(default)]
    pub name: String,
    /// Its registered address.
    #[serde(default)]
    pub address: String,
    /// Its registration number.
    #[serde(default)]
    pub registration: String,
    /// Its VAT number.
    #[serde(default)]
    pub vat: String,
}

impl CompanyProfile {
    /// The details as one line, as a field holds them ("Acme Ltd, 1 High
    /// Street, Reg. no. …, VAT …"); empty when nothing is set.
    pub fn as_text(&self) -> String {
        let lines = [
            self.name.trim().to_owned(),
            self.address.trim().to_owned(),
            labelled("Reg. no.", &self.registration),
            labelled("VAT", &self.vat),
        ];
        lines.into_iter().filter(|line| !line.is_empty()).collect::<Vec<_>>().join(", ")
    }
}

fn labelled(label: &str, value: &str) -> String {
    if value.trim().is_empty() { String::new() } else { format!("{label} {}", value.trim()) }
}

/// What is wrong with a setting, for a person; `key` names its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// The input (`verifier_url`, `company`).
    pub key: &'static str,
    /// What to do.
    pub message: String,
}

impl Settings {
    /// The data dir's settings (the defaults when there is no file yet).
    pub fn load(data: &DataDir) -> Result<Settings, DataDirError> {
        let path = data.path(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| DataDirError::Damaged(path.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(DataDirError::Io { what: "cannot read the settings", path: path.display().to_string(), source }),
        }
    }

    /// Writes the settings, once they pass [`Settings::problems`].
    pub fn save(&self, data: &DataDir) -> Result<(), DataDirError> {
        let text = toml::to_string(self).map_err(|e| DataDirError::Damaged(FILE.into(), e.to_string()))?;
        write_atomic(&data.path(FILE), text.as_bytes(), false)
    }

    /// The settings as given in a form: texts trimmed, an empty verifier
    /// address meaning Countersign's own, the address without a final `/`.
    pub fn tidied(mut self) -> Settings {
        self.verifier_url = self.verifier_url.map(|url| url.trim().trim_end_matches('/').to_owned()).filter(|url| !url.is_empty());
        let company = &mut self.company;
        for text in [&mut company.name, &mut company.address, &mut company.registration, &mut company.vat] {
            *text = text.trim().to_owned();
        }
        self
    }

    /// What stops these settings from being saved.
    pub fn problems(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        if let Some(url) = &self.verifier_url
            && let Err(message) = check_verifier_url(url)
        {
            problems.push(SettingProblem { key: "verifier_url", message });
        }
        let company = &self.company;
        if [&company.name, &company.address, &company.registration, &company.vat].iter().any(|text| text.chars().count() > MAX_TEXT) {
            problems.push(SettingProblem { key: "company", message: format!("Each company detail takes at most {MAX_TEXT} characters.") });
        }
        problems
    }
}

/// A verifier address people's phones open from a QR code: `https://` and
/// a host, nothing a link could be turned into something else with
/// (`http://` only for this machine, where tests run their verifier).
fn check_verifier_url(url: &str) -> Result<(), String> {
    let not_web = || "That is not a web address: give the verifier's address, e.g. https://verify.example.com".to_owned();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/:%".contains(c);
    if url.len() > 200 || !url.chars().all(allowed) {
        return Err(not_web());
    }
    match web_address(url) {
        Some(WebAddress { secure: true, .. }) => Ok(()),
        Some(WebAddress { secure: false, host }) if is_loopback(&host) => Ok(()),
        Some(_) => Err("The verifier's address starts with https://, e.g. https://verify.example.com".into()),
        None => Err(not_web()),
    }
}

/// A web address's scheme and host, read as browsers read them.
#[derive(Debug, PartialEq, Eq)]
pub struct WebAddress {
    /// `https` (else `http`).
    pub secure: bool,
    /// The host, lowercase.
    pub host: String,
}

/// `https://` or `http://` (any case) and a host, with no user part; `None`
/// for anything else.
pub fn web_address(address: &str) -> Option<WebAddress> {
    let parsed = url::Url::parse(address.trim()).ok()?;
    let secure = match parsed.scheme() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    (!host.is_empty()).then_some(WebAddress { secure, host })
}

/// Whether `text` can go in an HTTP header (no line breaks or other control characters).
pub fn fits_a_header(text: &str) -> bool {
    text.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Whether `host` is this machine.
pub fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_company_profile_reads_as_lines_and_empty_parts_are_left_out() {
        let company =
            CompanyProfile { name: "Acme Ltd".into(), address: "1 High Street".into(), registration: String::new(), vat: " GB123 ".into() };
        assert_eq!(company.as_text(), "Acme Ltd, 1 High Street, VAT GB123");
        assert_eq!(CompanyProfile::default().as_text(), "");
    }

    #[test]
    fn only_a_web_address_is_a_verifier() {
        let with = |url: &str| Settings { verifier_url: Some(url.into()), ..Settings::default() }.tidied().problems();
        assert!(with("https://verify.acme.example/").is_empty());
        assert_eq!(
            Settings { verifier_url: Some(" https://v.example/ ".into()), ..Settings::default() }.tidied().verifier_url.as_deref(),
            Some("https://v.example")
        );
        assert!(with("http://127.0.0.1:8080").is_empty(), "a verifier on this machine");
        for bad in [
            "javascript:alert(1)",
            "http://verify.example",
            "https://",
            "https://a b",
            "https://x\"><script>",
            "ftp://x",
            "http://localhost.evil.example",
            "http://localhost:1@evil.example/",
        ] {
            assert_eq!(with(bad).len(), 1, "{bad}");
        }
    }
}
