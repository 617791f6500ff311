//! Blobs (PDFs and images) stored by BLAKE3 hash.
//!
//! A complete blob lives at `blobs/<hash>` and is written atomically. A blob
//! arriving in chunks grows at `blobs/partial/<hash>`, so a node killed
//! mid-transfer resumes where it stopped. It becomes a blob only once its
//! bytes hash to its name, and is flushed to disk before it is renamed into
//! place: whatever a crash leaves in a partial file, the hash check decides.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use countersign_shared::hash::Hash;

use crate::datadir::{DataDirError, write_atomic};

/// Where blobs are kept.
pub trait BlobStore: Send {
    /// The bytes of a blob, if present.
    fn get(&self, hash: &Hash) -> Option<Vec<u8>>;
    /// Whether a blob is present.
    fn has(&self, hash: &Hash) -> bool;
    /// Stores bytes, returning their hash.
    fn put(&mut self, bytes: &[u8]) -> Result<Hash, DataDirError>;
}

/// Blobs in memory (for the in-process scenario and tests).
#[derive(Debug, Default)]
pub struct MemoryBlobs(BTreeMap<Hash, Vec<u8>>);

impl BlobStore for MemoryBlobs {
    fn get(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.0.get(hash).cloned()
    }

    fn has(&self, hash: &Hash) -> bool {
        self.0.contains_key(hash)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<Hash, DataDirError> {
        let hash = Hash::of(bytes);
        self.0.entry(hash).or_insert_with(|| bytes.to_vec());
        Ok(hash)
    }
}

/// The hash of a download's bytes so far, kept from chunk to chunk so a
/// finished download is checked without reading it back.
#[derive(Debug, Clone, Default)]
pub struct Digest(Option<blake3::Hasher>);

/// Blobs in a data dir's `blobs/` folder. A blob is checked against its
/// hash each time it is read whole for use, and before it is first served
/// in a run of the node: a damaged one (a flipped bit on disk) is removed,
/// reported, and so missing again, fetched anew from the other parties like
/// any missing blob.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    dir: PathBuf,
    /// Blobs found whole in this run.
    checked: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<Hash>>>,
    /// How many damaged blobs this run removed (so that what was complete is looked at again).
    removed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// How a chunk arriving for a partial blob was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Stored; this many bytes are now held.
    Stored(u64),
    /// The blob is complete and its hash checked.
    Complete,
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> DataDirError {
    DataDirError::Io { what, path: path.display().to_string(), source }
}

impl DiskBlobs {
    /// The blob store under `dir`.
    pub fn new(dir: PathBuf) -> Result<Self, DataDirError> {
        let partial = dir.join("partial");
        fs::create_dir_all(&partial).map_err(|e| io_error("cannot create the blob folder", &partial, e))?;
        Ok(DiskBlobs { dir, checked: Default::default(), removed: Default::default() })
    }

    /// How many damaged blobs this run removed so far.
    pub fn removed(&self) -> u64 {
        self.removed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notes a blob this run wrote after hashing it.
    fn mark_whole(&self, hash: &Hash) {
        self.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(*hash);
    }

    /// Whether `bytes`, read as blob `hash`, are whole; a damaged blob is
    /// removed (so that it counts as missing and is fetched again).
    fn whole(&self, hash: &Hash, bytes: &[u8]) -> bool {
        self.judge_whole(hash, Hash::of(bytes))
    }

    /// [`Self::whole`] for a blob read from its file a piece at a time.
    fn file_whole(&self, hash: &Hash) -> bool {
        let mut hasher = blake3::Hasher::new();
        let Ok(file) = fs::File::open(self.path(hash)) else { return false };
        if hasher.update_reader(file).is_err() {
            return false;
        }
        self.judge_whole(hash, Hash::from_bytes(*hasher.finalize().as_bytes()))
    }

    fn judge_whole(&self, hash: &Hash, found: Hash) -> bool {
        // Hashed outside the lock: other reads need not wait for a large blob.
        if found == *hash {
            self.mark_whole(hash);
            return true;
        }
        tracing::warn!("blob {} is damaged on disk (its bytes no longer match its hash): removed, to be fetched again", hash.short());
        let _ = fs::remove_file(self.path(hash));
        self.removed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        false
    }

    fn path(&self, hash: &Hash) -> PathBuf {
        self.dir.join(hash.to_string())
    }

    fn partial_path(&self, hash: &Hash) -> PathBuf {
        self.dir.join("partial").join(hash.to_string())
    }

    /// Size of a complete blob.
    pub fn len(&self, hash: &Hash) -> Option<u64> {
        fs::metadata(self.path(hash)).ok().map(|m| m.len())
    }

    /// A complete blob opened to be served, with its length; checked
    /// whole first if this run has not yet (a damaged copy is removed, never
    /// passed on). Reads and hashes the whole blob then: call it off the
    /// application's task.
    pub fn open_whole(&self, hash: &Hash) -> Option<(fs::File, u64)> {
        let known_whole = self.checked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(hash);
        if !known_whole && !self.file_whole(hash) {
            return None;
        }
        let file = fs::File::open(self.path(hash)).ok()?;
        let total = file.metadata().ok()?.len();
        Some((file, total))
    }

    /// Writes what a partial blob holds to the disk now (while the rest
    /// arrives), so that completing it has little left to flush.
    pub fn flush_partial(&self, hash: &Hash) {
        if let Ok(file) = fs::File::open(self.partial_path(hash)) {
            let _ = file.sync_data();
        }
    }

    /// How many bytes of a partial blob are held (where to resume).
    pub fn partial_len(&self, hash: &Hash) -> u64 {
        fs::metadata(self.partial_path(hash)).map_or(0, |m| m.len())
    }

    /// Stores a chunk of a blob of `total` bytes at `offset`; completes the
    /// blob when the last byte arrives. A blob whose bytes do not hash to its
    /// name is deleted and reported.
    pub fn write_chunk(
        &self,
        hash: &Hash,
        total: u64,
        offset: u64,
        chunk: &[u8],
        digest: &mut Digest,
    ) -> Result<ChunkOutcome, DataDirError> {
        let path = self.partial_path(hash);
        let held = self.partial_len(hash);
        if offset != held {
            return Ok(ChunkOutcome::Stored(held));
        }
        let hasher = match &mut digest.0 {
            Some(hasher) => hasher,
            // A download resumed here: what is held is read once.
            None => {
                let mut hasher = blake3::Hasher::new();
                if held > 0 {
                    let file = fs::File::open(&path).map_err(|e| io_error("cannot read a download", &path, e))?;
                    hasher.update_reader(file).map_err(|e| io_error("cannot read a download", &path, e))?;
                }
                digest.0.insert(hasher)
            }
        };
        let mut file =
            OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_error("cannot store a download", &path, e))?;
        file.write_all(chunk).map_err(|e| io_error("cannot store a download", &path, e))?;
        hasher.update(chunk);
        let held = offset + chunk.len() as u64;
        if held < total {
            return Ok(ChunkOutcome::Stored(held));
        }
        if Hash::from_bytes(*hasher.finalize().as_bytes()) != *hash || held != total {
            let _ = fs::remove_file(&path);
            return Err(DataDirError::Damaged(
                format!("blob {}", hash.short()),
                "its bytes do not match its hash; it was discarded".into(),
            ));
        }
        file.sync_all().map_err(|e| io_error("cannot flush a download", &path, e))?;
        let target = self.path(hash);
        fs::rename(&path, &target).map_err(|e| io_error("cannot store a blob", &target, e))?;
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        self.mark_whole(hash);
        Ok(ChunkOutcome::Complete)
    }
}

impl BlobStore for DiskBlobs {
    fn get(&self, hash: &Hash) -> Option<Vec<u8>> {
        let bytes = fs::read(self.path(hash)).ok()?;
        self.whole(hash, &bytes).then_some(bytes)
    }

    fn has(&self, hash: &Hash) -> bool {
        self.path(hash).exists()
    }

    fn put(&mut self, bytes: &[u8]) -> Result<Hash, DataDirError> {
        let hash = Hash::of(bytes);
        if !self.has(&hash) {
            write_atomic(&self.path(&hash), bytes, false)?;
            // Just hashed and written: served without reading it back.
            self.mark_whole(&hash);
        }
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(label: &str) -> DiskBlobs {
        let dir = std::env::temp_dir().join(format!("countersign-blobs-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        DiskBlobs::new(dir).unwrap()
    }

    #[test]
    fn chunks_resume_and_complete_only_when_the_hash_matches() {
        let blobs = store("chunks");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let hash = Hash::of(&bytes);
        let mut digest = Digest::default();
        assert_eq!(blobs.write_chunk(&hash, 10_000, 0, &bytes[..4000], &mut digest).unwrap(), ChunkOutcome::Stored(4000));
        // A repeated or out-of-place chunk is ignored; the store says where to resume.
        assert_eq!(blobs.write_chunk(&hash, 10_000, 0, &bytes[..4000], &mut digest).unwrap(), ChunkOutcome::Stored(4000));
        assert_eq!(blobs.partial_len(&hash), 4000);
        // Resumed later (a restart): what is held is hashed once, then the rest.
        let mut resumed = Digest::default();
        assert_eq!(blobs.write_chunk(&hash, 10_000, 4000, &bytes[4000..7000], &mut resumed).unwrap(), ChunkOutcome::Stored(7000));
        assert_eq!(blobs.write_chunk(&hash, 10_000, 7000, &bytes[7000..], &mut resumed).unwrap(), ChunkOutcome::Complete);
        assert_eq!(blobs.get(&hash).unwrap(), bytes);
        let (mut file, total) = blobs.open_whole(&hash).unwrap();
        assert_eq!(total, 10_000);
        let mut served = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut served).unwrap();
        assert_eq!(served, bytes);
    }

    #[test]
    fn a_partial_copy_that_holds_every_byte_is_finished_without_more() {
        // A crash (or a full disk) between the last byte and the rename.
        let blobs = store("all-held");
        let bytes = b"every byte of the contract".to_vec();
        let hash = Hash::of(&bytes);
        let total = bytes.len() as u64;
        assert_eq!(blobs.write_chunk(&hash, total + 1, 0, &bytes, &mut Digest::default()).unwrap(), ChunkOutcome::Stored(total));
        assert_eq!(blobs.write_chunk(&hash, total, total, &[], &mut Digest::default()).unwrap(), ChunkOutcome::Complete);
        assert_eq!(blobs.get(&hash).unwrap(), bytes);
        // More bytes than the log names: discarded, to be fetched again.
        let other = Hash::of(b"x");
        assert_eq!(blobs.write_chunk(&other, 100, 0, b"too long!", &mut Digest::default()).unwrap(), ChunkOutcome::Stored(9));
        assert!(blobs.write_chunk(&other, 1, 9, &[], &mut Digest::default()).is_err());
        assert_eq!(blobs.partial_len(&other), 0);
    }

    #[test]
    fn a_blob_that_does_not_match_its_hash_is_discarded() {
        let blobs = store("liar");
        let claimed = Hash::of(b"the real contract");
        assert!(blobs.write_chunk(&claimed, 8, 0, b"a forged", &mut Digest::default()).is_err());
        assert!(!blobs.has(&claimed));
        assert_eq!(blobs.partial_len(&claimed), 0);
    }
}
