//! A node's data dir: where it lives, the lock that keeps one process per
//! dir, the identity key, and atomic durable writes.
//!
//! ```text
//! <data-dir>/
//!   lock            held by the running node (one process per data dir)
//!   key             the ed25519 secret seed (owner-only)
//!   identity        the key's public half (hex): a damaged key is caught, not used
//!   profile.toml    the person's name and contact
//!   api.json        the local API's port and token (owner-only), written by `serve`
//!   envelopes/      one Automerge document per envelope: <envelope-id>.automerge
//!   blobs/          PDFs and images by BLAKE3 hash; partial/ holds transfers in progress
//!   verified.bin    ids of entries whose signatures were checked (start-up skips them)
//!   notify/, outbox/, templates/, codes/   messages, templates, one-time codes
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use countersign_shared::keys::SecretKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The file holding the key's public half.
const IDENTITY: &str = "identity";

/// The environment variable that overrides the default data dir.
pub const DATA_DIR_ENV: &str = "COUNTERSIGN_DATA_DIR";

/// A data dir problem, with what to do about it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// No data dir was given and none could be found.
    #[error("no data dir: pass --data-dir or set {DATA_DIR_ENV}")]
    NoDefault,
    /// The data dir has not been initialised.
    #[error("{0} is not a Countersign data dir yet; run `countersign --data-dir {0} init --name ...` first")]
    NotInitialised(String),
    /// `init` on a data dir that already has a key.
    #[error("{0} already holds a Countersign identity; it is never overwritten")]
    AlreadyInitialised(String),
    /// Another process holds the lock.
    #[error("another Countersign node is already running on {0}")]
    Locked(String),
    /// A file could not be read or written.
    #[error("{}", io_message(what, path, source))]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is damaged.
    #[error("{0} is damaged: {1}")]
    Damaged(String, String),
}

/// Who the person behind the node is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Their name.
    pub name: String,
    /// Email or phone.
    pub contact: Option<String>,
}

/// Where a running node's local API is, and the token that opens it.
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiInfo {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Bearer token; never logged.
    pub token: String,
    /// The node's process id.
    pub pid: u32,
}

impl std::fmt::Debug for ApiInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiInfo").field("port", &self.port).field("token", &"redacted").field("pid", &self.pid).finish()
    }
}

/// A data dir on disk.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// An I/O error for a person: a full disk says so, and what to do.
fn io_message(what: &str, path: &str, source: &std::io::Error) -> String {
    match source.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            format!("the disk is full: {what} ({path}); free some space, and the node carries on by itself")
        }
        _ => format!("{what} ({path}): {source}"),
    }
}

impl DataDirError {
    /// Whether the disk is full (or the user's quota used up).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, DataDirError::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded))
    }
}

/// The folders of a data dir that [`write_atomic`] writes into.
const WRITTEN_FOLDERS: [&str; 13] = [
    "",
    "drafts",
    "envelopes",
    "blobs",
    "templates",
    "codes",
    "outbox",
    "notify",
    "notify/events",
    "notify/pending",
    "notify/sent",
    "notify/failed",
    "notify/forward",
];

/// Removes the temporary files of writes that did not finish in `dir`
/// (exactly [`write_atomic`]'s `.<name>.<pid>.tmp`): a crash leaves them.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name
            .strip_prefix('.')
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|rest| rest.rsplit_once('.'))
            .is_some_and(|(file, pid)| !file.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if ours && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DataDirError + 'a {
    move |source| DataDirError::Io { what, path: path.display().to_string(), source }
}

impl DataDir {
    /// The data dir to use: `explicit`, else the environment variable, else the platform default.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self, DataDirError> {
        let root = explicit
            .or_else(|| std::env::var_os(DATA_DIR_ENV).map(PathBuf::from))
            .or_else(|| directories::ProjectDirs::from("org", "Countersign", "countersign").map(|d| d.data_dir().to_path_buf()))
            .ok_or(DataDirError::NoDefault)?;
        Ok(DataDir { root })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes what writes cut short by a crash left behind (call with the
    /// lock held, before anything is written).
    pub fn remove_leftovers(&self) {
        for folder in WRITTEN_FOLDERS {
            remove_leftovers(&self.path(folder));
        }
    }

    /// A file or folder in the data dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates the data dir with a new identity.
    pub fn init(&self, profile: &Profile, seed: [u8; 32]) -> Result<SecretKey, DataDirError> {
        let key_path = self.path("key");
        if key_path.exists() {
            return Err(DataDirError::AlreadyInitialised(self.root.display().to_string()));
        }
        for dir in ["", "envelopes", "blobs", "blobs/partial"] {
            let path = self.path(dir);
            fs::create_dir_all(&path).map_err(io("cannot create the data dir", &path))?;
        }
        write_atomic(&key_path, &seed, true)?;
        write_atomic(&self.path(IDENTITY), SecretKey::from_seed(seed).public().to_string().as_bytes(), false)?;
        let text = toml::to_string(profile).map_err(|e| DataDirError::Damaged("profile".into(), e.to_string()))?;
        write_atomic(&self.path("profile.toml"), text.as_bytes(), false)?;
        Ok(SecretKey::from_seed(seed))
    }

    /// Whether the data dir holds an identity (`init` or the first-run setup made it).
    pub fn is_initialised(&self) -> bool {
        self.path("key").exists()
    }

    /// The identity's secret key.
    pub fn key(&self) -> Result<SecretKey, DataDirError> {
        let path = self.path("key");
        if !path.exists() {
            return Err(DataDirError::NotInitialised(self.root.display().to_string()));
        }
        let bytes = fs::read(&path).map_err(io("cannot read the key", &path))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| DataDirError::Damaged(path.display().to_string(), "not a 32-byte key".into()))?;
        let key = SecretKey::from_seed(seed);
        // Any 32 bytes are a key: a damaged file would make the node somebody
        // else without a word. The public half written at `init` says who it is.
        let identity = self.path(IDENTITY);
        match fs::read_to_string(&identity) {
            Ok(text) if text.trim() == key.public().to_string() => {}
            Ok(_) => {
                return Err(DataDirError::Damaged(
                    path.display().to_string(),
                    format!(
                        "it does not match this node's identity in {}: one of the two files was damaged; restore the data dir from a backup (the node will not start as somebody else)",
                        identity.display()
                    ),
                ));
            }
            // A data dir from before `identity` existed: it is written now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&identity, key.public().to_string().as_bytes(), false)?;
            }
            Err(e) => return Err(io("cannot read the identity", &identity)(e)),
        }
        Ok(key)
    }

    /// The profile.
    pub fn profile(&self) -> Result<Profile, DataDirError> {
        let path = self.path("profile.toml");
        let text = fs::read_to_string(&path).map_err(|_| DataDirError::NotInitialised(self.root.display().to_string()))?;
        toml::from_str(&text).map_err(|e| DataDirError::Damaged(path.display().to_string(), e.to_string()))
    }

    /// Takes the data dir's lock for this process, for as long as the returned file lives.
    pub fn lock(&self) -> Result<File, DataDirError> {
        let path = self.path("lock");
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io("cannot open the lock", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(_) => Err(DataDirError::Locked(self.root.display().to_string())),
        }
    }

    /// Where the running node's API is (`None` also for a damaged file).
    pub fn api_info(&self) -> Option<ApiInfo> {
        self.read_api_info().ok().flatten()
    }

    /// Where the running node's API is: `None` when no node has written it,
    /// an error that says so when the file is damaged.
    pub fn read_api_info(&self) -> Result<Option<ApiInfo>, DataDirError> {
        let path = self.path("api.json");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            DataDirError::Damaged(
                path.display().to_string(),
                format!("{e}; if the node is running, stop it and start it again (`serve` writes the file anew)"),
            )
        })
    }

    /// Records the running node's API (owner-only file).
    pub fn write_api_info(&self, info: &ApiInfo) -> Result<(), DataDirError> {
        let text = serde_json::to_vec(info).map_err(|e| DataDirError::Damaged("api.json".into(), e.to_string()))?;
        write_atomic(&self.path("api.json"), &text, true)
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the
/// new one, never a mix: temp file, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8], owner_only: bool) -> Result<(), DataDirError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if owner_only {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = owner_only;
    let written = options.open(&temp).map_err(io("cannot write", &temp)).and_then(|mut file| {
        file.write_all(bytes).map_err(io("cannot write", &temp))?;
        file.sync_all().map_err(io("cannot flush to disk", &temp))
    });
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path).map_err(io("cannot replace", path))) {
        // Nothing half-written stays behind (on a full disk it would only fill it more).
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("countersign-datadir-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn init_then_read_back_and_never_overwrite() {
        let dir = DataDir::resolve(Some(temp_dir("init"))).unwrap();
        let profile = Profile { name: "Anna".into(), contact: Some("anna@acme.test".into()) };
        let key = dir.init(&profile, [4; 32]).unwrap();
        assert_eq!(dir.key().unwrap().public(), key.public());
        assert_eq!(dir.profile().unwrap(), profile);
        assert!(matches!(dir.init(&profile, [5; 32]), Err(DataDirError::AlreadyInitialised(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path("key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key must be readable by its owner only");
        }
    }

    #[test]
    fn one_process_per_data_dir() {
        let dir = DataDir::resolve(Some(temp_dir("lock"))).unwrap();
        dir.init(&Profile { name: "D".into(), contact: None }, [6; 32]).unwrap();
        let held = dir.lock().unwrap();
        assert!(matches!(dir.lock(), Err(DataDirError::Locked(_))));
        drop(held);
        assert!(dir.lock().is_ok());
    }

    #[test]
    fn uninitialised_dirs_say_what_to_do() {
        let dir = DataDir::resolve(Some(temp_dir("empty"))).unwrap();
        let message = dir.key().unwrap_err().to_string();
        assert!(message.contains("countersign --data-dir") && message.contains("init"), "{message}");
    }
}
