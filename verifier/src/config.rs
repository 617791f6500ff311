//! The verifier service's configuration: a TOML file, overridden by flags.
//!
//! ```toml
//! listen = "0.0.0.0:8080"          # address to serve on
//! upload_limit_mb = 50             # largest PDF accepted (413 above it)
//! upload_memory_mb = 2048          # uploads and checks in memory at once, in all (503 above it)
//! per_client = 8                   # checks one address may have going at once (429 above it)
//! request_timeout_secs = 30        # an upload slower than this is cut off (408)
//! check_timeout_ms = 20000         # a check longer than this is stopped (408)
//! public_url = "https://verify.example.org"   # base of links shown to people
//! trusted_roots = ["acme-ca.pem"]  # certificate authorities this verifier vouches for
//! guest_dir = "guest/web/dist"     # the guest signer's build (scripts/build-guest), served at /sign
//! guest_relay = "/dns4/relay.example.org/tcp/443/wss/p2p/12D3…"  # where guests reach nodes
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use countersign_shared::verify::TrustedRoots;
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::Encode as _;

/// How the service runs. Every field has a default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Largest upload, in MB.
    pub upload_limit_mb: usize,
    /// Memory all uploads being received or checked may take together, in MB;
    /// an upload that does not fit is answered 503 at once, never queued.
    pub upload_memory_mb: usize,
    /// Checks one client address may have going at once; more get 429.
    pub per_client: usize,
    /// Seconds an upload may take to arrive.
    pub request_timeout_secs: u64,
    /// Milliseconds a check may take once the file is here; past it the
    /// check is stopped and its thread freed.
    pub check_timeout_ms: u64,
    /// The service's public address (used in links and the QR codes of certificates).
    pub public_url: String,
    /// PEM files of the certificate authorities whose certificates this
    /// verifier vouches for (a signer certified by one is shown as trusted).
    pub trusted_roots: Vec<PathBuf>,
    /// The guest signer's build (`scripts/build-guest`), served at `/sign`
    /// when set with `guest_relay`.
    pub guest_dir: Option<PathBuf>,
    /// The relay (a WebSocket multiaddress) through which guests reach the
    /// senders' nodes.
    pub guest_relay: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            upload_limit_mb: 50,
            upload_memory_mb: 2048,
            per_client: 8,
            request_timeout_secs: 30,
            check_timeout_ms: 20_000,
            public_url: "https://verify.countersign.app".into(),
            trusted_roots: Vec::new(),
            guest_dir: None,
            guest_relay: None,
        }
    }
}

impl Config {
    /// Reads a TOML file; unknown keys are errors, missing ones take defaults.
    /// Relative `trusted_roots` are taken from the file's folder.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a valid verifier config: {e}", path.display()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        config.trusted_roots = config.trusted_roots.iter().map(|root| folder.join(root)).collect();
        config.guest_dir = config.guest_dir.map(|dir| folder.join(dir));
        Ok(config)
    }

    /// The upload limit in bytes.
    pub fn upload_limit(&self) -> usize {
        self.upload_limit_mb.saturating_mul(1024 * 1024)
    }

    /// Reads the trusted roots' PEM files (each may hold several certificates).
    pub fn trusted(&self) -> anyhow::Result<TrustedRoots> {
        read_trusted_roots(&self.trusted_roots)
    }

    /// The guest signer's files, when both its build and its relay are set.
    pub fn guest(&self) -> anyhow::Result<Option<crate::http::guest::GuestFiles>> {
        match (&self.guest_dir, &self.guest_relay) {
            (Some(dir), Some(relay)) => Ok(Some(crate::http::guest::GuestFiles::load(dir, relay)?)),
            (None, None) => Ok(None),
            _ => anyhow::bail!("the guest signer needs both guest_dir and guest_relay"),
        }
    }
}

/// The certificates in PEM files, as trusted roots.
pub fn read_trusted_roots(files: &[PathBuf]) -> anyhow::Result<TrustedRoots> {
    let mut certificates = Vec::new();
    for file in files {
        let pem = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read the trusted root {}: {e}", file.display()))?;
        let chain =
            Certificate::load_pem_chain(&pem).map_err(|e| anyhow::anyhow!("{} does not hold PEM certificates: {e}", file.display()))?;
        if chain.is_empty() {
            anyhow::bail!("{} holds no certificate", file.display());
        }
        for certificate in chain {
            certificates.push(certificate.to_der().map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?);
        }
    }
    Ok(TrustedRoots::from_certificates(certificates.iter().map(Vec::as_slice)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_leaves_out_and_typos_are_errors() {
        let config: Config = toml::from_str("upload_limit_mb = 5").unwrap();
        assert_eq!(config.upload_limit(), 5 * 1024 * 1024);
        assert_eq!(config.per_client, 8);
        assert!(toml::from_str::<Config>("upload_limit = 5").is_err());
    }
}
