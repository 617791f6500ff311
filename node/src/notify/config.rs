//! The notification settings: `notify.toml` in the data dir, written by hand
//! or by the web app's settings page. The secrets (the SMTP password, the SMS
//! gateway's key) never go in it: they come from environment variables or,
//! when set in the settings page, from the owner-only `notify-secrets.toml`;
//! they are never logged or shown.
//!
//! ```toml
//! [email]                      # without it, emails go to the outbox folder
//! host = "smtp.example.com"
//! port = 587
//! security = "starttls"        # "starttls", "tls" or "none" (loopback tests)
//! user = "sign@acme.test"      # the password is read from COUNTERSIGN_SMTP_PASSWORD
//! from = "Acme signing <sign@acme.test>"
//!
//! [sms]                        # without it, texts go to the outbox folder
//! url = "https://api.sms.example/v1/messages"
//! method = "POST"
//! content_type = "application/json"
//! body = '{"to": "{to}", "text": "{text}"}'   # {to} and {text}, escaped for JSON
//! # the Authorization header is read from COUNTERSIGN_SMS_AUTH
//!
//! [reminders]
//! every_days = 3               # 0 turns automatic reminders off
//!
//! [completion]
//! notify_me = true             # email (or text) my own contact when a document completes
//!
//! [codes]                      # confirming phone numbers, when the sender asks for it
//! valid_minutes = 5
//! max_tries = 5
//! ```

use serde::{Deserialize, Serialize};

use crate::datadir::{DataDir, write_atomic};

/// The environment variable holding the SMTP password.
pub const SMTP_PASSWORD_ENV: &str = "COUNTERSIGN_SMTP_PASSWORD";
/// The environment variable holding the SMS gateway's `Authorization` header.
pub const SMS_AUTH_ENV: &str = "COUNTERSIGN_SMS_AUTH";

/// The file of the secrets set in the settings page (owner-only).
pub const SECRETS_FILE: &str = "notify-secrets.toml";

/// The secrets: the environment's, else the settings page's.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// The SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<String>,
    /// The SMS gateway's `Authorization` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_auth: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |secret: &Option<String>| if secret.is_some() { "set" } else { "unset" };
        f.debug_struct("Secrets").field("smtp_password", &shown(&self.smtp_password)).field("sms_auth", &shown(&self.sms_auth)).finish()
    }
}

/// All notification settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Email over SMTP.
    pub email: Option<EmailConfig>,
    /// Texts through an HTTP gateway.
    pub sms: Option<SmsConfig>,
    /// Automatic reminders.
    #[serde(default)]
    pub reminders: Reminders,
    /// Completion notices.
    #[serde(default)]
    pub completion: Completion,
    /// One-time codes that confirm a phone number.
    #[serde(default)]
    pub codes: crate::codes::CodePolicy,
    /// The secrets (not in `notify.toml`).
    #[serde(skip)]
    pub secrets: Secrets,
}

impl NotifyConfig {
    /// The SMTP password: the environment's, else the settings page's.
    pub fn smtp_password(&self) -> Option<String> {
        std::env::var(SMTP_PASSWORD_ENV).ok().or_else(|| self.secrets.smtp_password.clone())
    }

    /// The SMS gateway's `Authorization` header: the environment's, else the settings page's.
    pub fn sms_auth(&self) -> Option<String> {
        std::env::var(SMS_AUTH_ENV).ok().or_else(|| self.secrets.sms_auth.clone())
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// No encryption: only for a server on this machine.
    None,
}

/// SMTP settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Server name.
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// Encryption.
    #[serde(default)]
    pub security: Security,
    /// Login, if the server wants one (password from [`SMTP_PASSWORD_ENV`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The sender, `Name <address>` or `address`.
    pub from: String,
}

/// SMS gateway settings: enough to call most providers' REST APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway's address.
    pub url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default = "post")]
    pub method: String,
    /// The body's content type.
    #[serde(default = "json")]
    pub content_type: String,
    /// The body, with `{to}` and `{text}` filled in (escaped for JSON when the
    /// content type is JSON, for a form otherwise).
    pub body: String,
}

impl SmsConfig {
    /// Whether the body is a JSON document (else a form).
    pub fn is_json(&self) -> bool {
        self.content_type.to_ascii_lowercase().contains("json")
    }
}

fn post() -> String {
    "POST".into()
}

fn json() -> String {
    "application/json".into()
}

/// Automatic reminders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// Days between reminders to a party who has not acted (fractions allowed; 0 = never).
    pub every_days: f64,
}

impl Default for Reminders {
    fn default() -> Self {
        Reminders { every_days: 3.0 }
    }
}

/// Completion notices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// Whether this node tells its own person when a document completes,
    /// is declined or voided.
    pub notify_me: bool,
}

impl Default for Completion {
    fn default() -> Self {
        Completion { notify_me: true }
    }
}

/// Why `notify.toml` was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {why}", path.display())]
    Unreadable {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        why: String,
    },
    /// The file is not valid TOML of the settings (a typo, a wrong type).
    #[error("{} is not valid: {why}", path.display())]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// Where and what.
        why: String,
    },
    /// A setting would misbehave (a secret sent in clear, codes that cannot be used).
    #[error("{}: {why}", path.display())]
    Unsafe {
        /// The file.
        path: std::path::PathBuf,
        /// Which setting and what to do.
        why: &'static str,
    },
}

/// The file's name in the data dir.
pub const FILE: &str = "notify.toml";

impl NotifyConfig {
    /// Reads `notify.toml` from the data dir (defaults when it is absent).
    pub fn load(data: &DataDir) -> Result<NotifyConfig, ConfigError> {
        let mut config: NotifyConfig = read_toml(&data.path(FILE))?.unwrap_or_default();
        config.check().map_err(|why| ConfigError::Unsafe { path: data.path(FILE), why })?;
        config.secrets = read_toml(&data.path(SECRETS_FILE))?.unwrap_or_default();
        Ok(config)
    }
}

/// A TOML file read into `T`; `None` when there is no such file.
fn read_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<Option<T>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| ConfigError::Invalid { path: path.to_path_buf(), why: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::Unreadable { path: path.to_path_buf(), why: e.to_string() }),
    }
}

/// What the settings page changes: the email and SMS channels, and the
/// secrets (`None` keeps the one saved; an empty text removes it).
#[derive(Clone, Default)]
pub struct Channels {
    /// Email over SMTP, or none (emails wait to be sent by hand).
    pub email: Option<EmailConfig>,
    /// The SMS gateway, or none (texts wait to be sent by hand).
    pub sms: Option<SmsConfig>,
    /// A new SMTP password.
    pub smtp_password: Option<String>,
    /// A new `Authorization` header for the gateway.
    pub sms_auth: Option<String>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |secret: &Option<String>| if secret.is_some() { "given" } else { "kept" };
        f.debug_struct("Channels")
            .field("email", &self.email)
            .field("sms", &self.sms)
            .field("smtp_password", &shown(&self.smtp_password))
            .field("sms_auth", &shown(&self.sms_auth))
            .finish()
    }
}

impl NotifyConfig {
    /// Writes `channels` into the data dir's `notify.toml` (the file's other
    /// settings kept) and the secrets file, once they pass the same checks
    /// as a file written by hand; answers the settings now in force.
    pub fn save_channels(data: &DataDir, channels: &Channels) -> Result<NotifyConfig, ConfigError> {
        let path = data.path(FILE);
        let mut table: toml::Table = read_toml(&path)?.unwrap_or_default();
        let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid { path: path.clone(), why: e.to_string() };
        let sections = [
            ("email", channels.email.as_ref().map(toml::Value::try_from).transpose()),
            ("sms", channels.sms.as_ref().map(toml::Value::try_from).transpose()),
        ];
        for (key, section) in sections {
            match section.map_err(|e| invalid(&e))? {
                Some(section) => table.insert(key.into(), section),
                None => table.remove(key),
            };
        }
        let text = toml::to_string(&table).map_err(|e| invalid(&e))?;
        let mut config: NotifyConfig = toml::from_str(&text).map_err(|e| invalid(&e))?;
        config.check().map_err(|why| ConfigError::Unsafe { path: path.clone(), why })?;
        let mut secrets: Secrets = read_toml(&data.path(SECRETS_FILE))?.unwrap_or_default();
        let replace = |kept: &mut Option<String>, given: &Option<String>| {
            if let Some(given) = given {
                *kept = (!given.is_empty()).then(|| given.clone());
            }
        };
        replace(&mut secrets.smtp_password, &channels.smtp_password);
        replace(&mut secrets.sms_auth, &channels.sms_auth);
        if secrets.sms_auth.as_deref().is_some_and(|auth| !crate::settings::fits_a_header(auth)) {
            return Err(ConfigError::Unsafe { path, why: "the SMS gateway's authorization cannot be sent as a header (no line breaks)" });
        }
        let unwritable = |e: crate::datadir::DataDirError| ConfigError::Unreadable { path: path.clone(), why: e.to_string() };
        let secrets_text = toml::to_string(&secrets).map_err(|e| invalid(&e))?;
        write_atomic(&data.path(SECRETS_FILE), secrets_text.as_bytes(), true).map_err(unwritable)?;
        write_atomic(&path, text.as_bytes(), true).map_err(unwritable)?;
        config.secrets = secrets;
        Ok(config)
    }
}

impl NotifyConfig {
    /// Refuses settings that would misbehave: secrets sent in clear to
    /// another machine, reminders every instant, codes that cannot be used.
    pub fn check(&self) -> Result<(), &'static str> {
        if let Some(email) = &self.email
            && email.security == Security::None
            && email.user.is_some()
            && !crate::settings::is_loopback(&email.host.to_ascii_lowercase())
        {
            return Err("security = \"none\" would send the SMTP password in clear; use starttls or tls");
        }
        if let Some(sms) = &self.sms {
            match crate::settings::web_address(&sms.url) {
                Some(address) if address.secure || crate::settings::is_loopback(&address.host) => {}
                Some(_) => return Err("the SMS gateway must be an https:// address (its key would travel in clear)"),
                None => return Err("the SMS gateway's address is not a web address (https://…, with no user name in it)"),
            }
            if !crate::settings::fits_a_header(&sms.content_type) {
                return Err("the SMS content type cannot be sent as a header (no line breaks)");
            }
            if sms.is_json() && serde_json::from_str::<serde_json::Value>(&sms.body).is_err() {
                return Err("the SMS body must be JSON when its content type is (put {to} and {text} inside its strings)");
            }
        }
        let days = self.reminders.every_days;
        if !days.is_finite() || days < 0.0 {
            return Err("reminders.every_days must be a number of days, 0 for none");
        }
        if !self.codes.valid_minutes.is_finite() || self.codes.valid_minutes <= 0.0 || self.codes.max_tries == 0 {
            return Err("codes.valid_minutes must be above 0 and codes.max_tries at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_reads_and_a_typo_is_refused() {
        let text = r#"
            [email]
            host = "127.0.0.1"
            port = 2525
            security = "none"
            from = "Acme <sign@acme.test>"
            [sms]
            url = "http://127.0.0.1:9/sms"
            body = '{"to": "{to}", "text": "{text}"}'
            [reminders]
            every_days = 0.5
        "#;
        let config: NotifyConfig = toml::from_str(text).unwrap();
        assert_eq!(config.email.unwrap().security, Security::None);
        assert_eq!(config.sms.unwrap().method, "POST");
        assert!((config.reminders.every_days - 0.5).abs() < f64::EPSILON);
        assert!(config.completion.notify_me);
        assert!(toml::from_str::<NotifyConfig>("[email]\nhots = \"x\"\nport = 1\nfrom = \"a@b.c\"").is_err());
        assert!(config_ok(text));
    }

    fn config_ok(text: &str) -> bool {
        toml::from_str::<NotifyConfig>(text).is_ok_and(|c| c.check().is_ok())
    }

    #[test]
    fn settings_that_leak_secrets_or_misbehave_are_refused() {
        assert!(!config_ok("[email]\nhost = \"smtp.example.com\"\nport = 25\nsecurity = \"none\"\nuser = \"u\"\nfrom = \"a@b.c\""));
        assert!(!config_ok("[sms]\nurl = \"http://sms.example.com/send\"\nbody = \"{text}\""));
        assert!(!config_ok("[sms]\nurl = \"https://sms.example.com/send\"\nbody = \"{text}\""));
        assert!(config_ok(
            "[sms]\nurl = \"https://sms.example.com/send\"\ncontent_type = \"application/x-www-form-urlencoded\"\nbody = \"text={text}\""
        ));
        assert!(!config_ok("[reminders]\nevery_days = nan"));
        assert!(!config_ok("[reminders]\nevery_days = -1"));
        assert!(!config_ok("[codes]\nvalid_minutes = 5\nmax_tries = 0"));
    }

    #[test]
    fn the_settings_page_writes_channels_that_read_back_keeps_the_rest_and_keeps_secrets_apart() {
        let dir = std::env::temp_dir().join(format!("countersign-config-{}", crate::party::random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = DataDir::resolve(Some(dir.clone())).unwrap();
        std::fs::write(data.path(FILE), "[reminders]\nevery_days = 5\n").unwrap();
        let email = EmailConfig {
            host: "smtp.acme.test".into(),
            port: 587,
            security: Security::Starttls,
            user: Some("sign".into()),
            from: "sign@acme.test".into(),
        };
        let channels = Channels { email: Some(email.clone()), smtp_password: Some("s3cret".into()), ..Channels::default() };
        let saved = NotifyConfig::save_channels(&data, &channels).unwrap();
        let loaded = NotifyConfig::load(&data).unwrap();
        assert_eq!(loaded.email, Some(email.clone()));
        assert_eq!(loaded.reminders.every_days, 5.0, "what was set by hand stays");
        assert_eq!(loaded.secrets.smtp_password.as_deref(), Some("s3cret"));
        assert_eq!(saved.secrets, loaded.secrets);
        assert!(!std::fs::read_to_string(data.path(FILE)).unwrap().contains("s3cret"), "no secret in notify.toml");
        assert!(!format!("{loaded:?}").contains("s3cret"), "nor in Debug output");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data.path(SECRETS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the secrets file is the owner's only: {mode:o}");
        }
        // Not given again: kept; given empty: removed; email off: the section goes.
        NotifyConfig::save_channels(&data, &Channels { email: Some(email), ..Channels::default() }).unwrap();
        assert_eq!(NotifyConfig::load(&data).unwrap().secrets.smtp_password.as_deref(), Some("s3cret"));
        NotifyConfig::save_channels(&data, &Channels { smtp_password: Some(String::new()), ..Channels::default() }).unwrap();
        let cleared = NotifyConfig::load(&data).unwrap();
        assert_eq!((cleared.email, cleared.secrets.smtp_password), (None, None));
        // An SMS gateway over plain http elsewhere is refused, and nothing is written.
        for url in ["HTTP://sms.example/send", "http://localhost:1@evil.example/"] {
            let sms = SmsConfig { url: url.into(), method: "POST".into(), content_type: "application/json".into(), body: "{}".into() };
            assert!(NotifyConfig::save_channels(&data, &Channels { sms: Some(sms), ..Channels::default() }).is_err(), "{url}");
        }
        assert!(NotifyConfig::load(&data).unwrap().sms.is_none());
    }
}
