//! The organization's certificate authority, kept in `<data-dir>/authority/`.
//!
//! By default each party's key certifies itself, and a person checking the
//! PDF trusts each signer's certificate one by one. A company can instead
//! create one CA (`countersign authority create`), copy it to the nodes of
//! the people who sign for it (`countersign authority import`), and hand
//! `certificate.pem` to its clients once: every signature of the company then
//! chains to that root. The CA key signs certificates only; whoever holds it
//! can certify a key in the company's name, so it stays on the company's own
//! machines (on Unix the folder and the key are readable by the owner only).

use std::fs;
use std::path::Path;

use countersign_shared::SecretKey;
use countersign_shared::log::rules::MAX_ISSUER_NAME;
use countersign_shared::pades::certificate::{certifies, describe, issue_authority, to_pem};

use crate::clock::now_ms;
use crate::datadir::{DataDir, DataDirError, write_atomic};
use crate::party::{Authority, random_secret};

const FOLDER: &str = "authority";
const CERTIFICATE: &str = "certificate.der";
const CERTIFICATE_PEM: &str = "certificate.pem";
const KEY: &str = "key";

/// The data dir's CA, if it has one.
pub fn load(data: &DataDir) -> Result<Option<Authority>, DataDirError> {
    load_from(&data.path(FOLDER))
}

fn load_from(folder: &Path) -> Result<Option<Authority>, DataDirError> {
    let (certificate_path, key_path) = (folder.join(CERTIFICATE), folder.join(KEY));
    if !certificate_path.exists() && !key_path.exists() {
        return Ok(None);
    }
    let read =
        |path: &Path| fs::read(path).map_err(|source| DataDirError::Io { what: "cannot read", path: path.display().to_string(), source });
    let certificate = read(&certificate_path)?;
    let seed: [u8; 32] =
        read(&key_path)?.try_into().map_err(|_| DataDirError::Damaged(key_path.display().to_string(), "not a 32-byte key".into()))?;
    let key = SecretKey::from_seed(seed);
    if !certifies(&certificate, &key.public()) {
        let why = "not the certificate of the key beside it".to_owned();
        return Err(DataDirError::Damaged(certificate_path.display().to_string(), why));
    }
    Ok(Some(Authority { certificate, key }))
}

/// Creates the data dir's CA for `organization`; returns the path of its PEM certificate.
pub fn create(data: &DataDir, organization: &str) -> anyhow::Result<std::path::PathBuf> {
    if organization.trim().is_empty() {
        anyhow::bail!("--organization must not be empty");
    }
    check_name(organization.trim())?;
    if load(data)?.is_some() {
        anyhow::bail!("{} already has a certificate authority", data.root().display());
    }
    let key = SecretKey::from_seed(random_secret());
    let certificate = issue_authority(&key, organization.trim(), now_ms())?;
    save(data, &Authority { certificate, key })
}

/// Copies the CA of another data dir (a folder `authority` inside `from`, or that folder itself).
pub fn import(data: &DataDir, from: &Path) -> anyhow::Result<std::path::PathBuf> {
    let folder = if from.join(FOLDER).is_dir() { from.join(FOLDER) } else { from.to_path_buf() };
    let Some(authority) = load_from(&folder)? else {
        anyhow::bail!("{} holds no certificate authority ({CERTIFICATE} and {KEY})", folder.display());
    };
    let name = describe(std::slice::from_ref(&authority.certificate)).map(|c| c.subject).unwrap_or_default();
    check_name(&name)?;
    save(data, &authority)
}

/// A CA's name is printed on every signing certificate its signers' keys
/// appear on: one short line the PDF can show, as the rules require.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.len() > MAX_ISSUER_NAME {
        anyhow::bail!("the organization's name is longer than {MAX_ISSUER_NAME} bytes");
    }
    countersign_shared::font::check_line(name).map_err(|e| anyhow::anyhow!("the organization's name: {e}"))
}

fn save(data: &DataDir, authority: &Authority) -> anyhow::Result<std::path::PathBuf> {
    let folder = data.path(FOLDER);
    fs::create_dir_all(&folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&folder, fs::Permissions::from_mode(0o700))?;
    }
    write_atomic(&folder.join(KEY), &authority.key.to_seed(), true)?;
    write_atomic(&folder.join(CERTIFICATE), &authority.certificate, false)?;
    let pem = folder.join(CERTIFICATE_PEM);
    write_atomic(&pem, to_pem(&authority.certificate).as_bytes(), false)?;
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_is_made_only_under_a_name_every_signing_certificate_can_show() {
        let dir = std::env::temp_dir().join(format!("countersign-authority-{}", crate::party::random_hex()));
        let data = DataDir::resolve(Some(dir.clone())).unwrap();
        for refused in ["Acme\nPhone confirmed by a texted code", "株式会社アクメ", &"Acme ".repeat(60)] {
            assert!(create(&data, refused).is_err(), "{refused:?}");
        }
        assert!(load(&data).unwrap().is_none(), "nothing was kept");
        create(&data, "ООО «Акме»").unwrap();
        assert!(load(&data).unwrap().is_some());
        let _ = std::fs::remove_dir_all(dir);
    }
}
