//! The verifier service's configuration: a TOML file, overridden by flags.
//!
//! ```toml
//! listen = "0.0.0.0:8080"          # address to serve on
//! upload_limit_mb = 50             # largest PDF accepted (413 above it)
//! concurrency = 64                 # requests handled at once
//! request_timeout_secs = 30        # a slow or endless upload is cut off
//! public_url = "https://verify.example.org"   # base of links shown to people
//! ```

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// How the service runs. Every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Largest upload, in MB.
    pub upload_limit_mb: usize,
    /// Requests handled at once; more wait.
    pub concurrency: usize,
    /// Seconds a request may take, upload included.
    pub request_timeout_secs: u64,
    /// The service's public address (used in links and the QR codes of certificates).
    pub public_url: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            upload_limit_mb: 50,
            concurrency: 64,
            request_timeout_secs: 30,
            public_url: "https://verify.countersign.app".into(),
        }
    }
}

impl Config {
    /// Reads a TOML file; unknown keys are errors, missing ones take defaults.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a valid verifier config: {e}", path.display()))
    }

    /// The upload limit in bytes.
    pub fn upload_limit(&self) -> usize {
        self.upload_limit_mb.saturating_mul(1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_leaves_out_and_typos_are_errors() {
        let config: Config = toml::from_str("upload_limit_mb = 5").unwrap();
        assert_eq!(config.upload_limit(), 5 * 1024 * 1024);
        assert_eq!(config.concurrency, 64);
        assert!(toml::from_str::<Config>("upload_limit = 5").is_err());
    }
}
