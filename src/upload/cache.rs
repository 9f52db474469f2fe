//! The digest cache: `.imsform/digests.json` in the working directory, mapping a file's
//! canonical path to its [`Fingerprint`] and SHA-256. A plan of an unchanged file reads its
//! metadata, not its bytes. Written atomically (`crate::atomic_file`); a missing or unreadable
//! cache is an empty one (it is only a cache), and entries of files that no longer exist are
//! dropped on save.
//!
//! A file modified less than [`RACY_WINDOW`] before it was hashed is not cached: a write in the
//! same clock tick as the hashing could leave the same fingerprint on new content (git's "racy
//! clean" problem).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::digest::sha256_file;
use super::fingerprint::Fingerprint;

/// The cache file, relative to the working directory.
pub const CACHE_FILE: &str = ".imsform/digests.json";
/// Files modified this recently are hashed but not cached.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fingerprint: Fingerprint,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: BTreeMap<PathBuf, Entry>,
}

/// A file's digest, and whether the file was read to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Canonical (absolute, symbolic links resolved).
    pub path: PathBuf,
    /// Lower-case hex.
    pub sha256: String,
    pub fingerprint: Fingerprint,
    /// `false` when the digest came from the cache.
    pub read: bool,
}

/// The digest cache of one working directory.
#[derive(Debug)]
pub struct DigestCache {
    file: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
    dirty: bool,
}

impl DigestCache {
    /// The cache of working directory `dir` (empty when there is none yet or it is unreadable).
    pub fn open(dir: &Path) -> DigestCache {
        let file = dir.join(CACHE_FILE);
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|stored| stored.version == FORMAT_VERSION)
            .map(|stored| stored.entries)
            .unwrap_or_default();
        DigestCache {
            file,
            entries,
            dirty: false,
        }
    }

    /// The SHA-256 of the file at `path`: from the cache when its fingerprint is unchanged,
    /// else read as a stream (blocking; call it off the async threads) and remembered. An
    /// error when the file cannot be read or changes while it is read.
    pub fn sha256(&mut self, path: &Path) -> std::io::Result<FileDigest> {
        let path = std::fs::canonicalize(path)?;
        let before = Fingerprint::of(&path)?;
        if let Some(entry) = self.entries.get(&path).filter(|e| e.fingerprint == before) {
            return Ok(FileDigest {
                sha256: entry.sha256.clone(),
                path,
                fingerprint: before,
                read: false,
            });
        }
        let started = SystemTime::now();
        let (sha256, read) = sha256_file(&path)?;
        let after = Fingerprint::of(&path)?;
        if after != before || read != before.size {
            return Err(std::io::Error::other(format!(
                "{} changed while it was being read; run again once it is written",
                path.display()
            )));
        }
        if !is_racy(before.mtime_ns, started) {
            let entry = Entry {
                fingerprint: before,
                sha256: sha256.clone(),
            };
            self.entries.insert(path.clone(), entry);
            self.dirty = true;
        }
        Ok(FileDigest {
            path,
            sha256,
            fingerprint: before,
            read: true,
        })
    }

    /// Writes the cache if it changed, without the entries of files that are gone.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.entries.retain(|path, _| path.exists());
        if let Some(parent) = self.file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let stored = Stored {
            version: FORMAT_VERSION,
            entries: std::mem::take(&mut self.entries),
        };
        let bytes = serde_json::to_vec_pretty(&stored).map_err(std::io::Error::other);
        self.entries = stored.entries;
        crate::atomic_file::write(&self.file, &bytes?)?;
        self.dirty = false;
        Ok(())
    }
}

/// Whether a file modified at `mtime_ns` may still be written in the tick its hashing began.
fn is_racy(mtime_ns: i128, started: SystemTime) -> bool {
    let started_ns = started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as i128);
    started_ns - mtime_ns < RACY_WINDOW.as_nanos() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose modification time lies an hour back, so it is not "racy".
    fn settled_file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(hour_ago).unwrap();
        path
    }

    #[test]
    fn an_unchanged_file_is_not_read_again_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = settled_file(dir.path(), "disk.qcow2", b"abc");
        let mut cache = DigestCache::open(dir.path());
        let first = cache.sha256(&path).unwrap();
        assert!(first.read);
        assert!(first.sha256.starts_with("ba7816bf"));
        cache.save().unwrap();
        let mut again = DigestCache::open(dir.path());
        let second = again.sha256(&path).unwrap();
        assert!(!second.read, "the cache answered");
        assert_eq!(second.sha256, first.sha256);
        let path = settled_file(dir.path(), "disk.qcow2", b"abd");
        let third = again.sha256(&path).unwrap();
        assert!(third.read);
        assert_ne!(third.sha256, first.sha256);
    }

    #[test]
    fn fresh_files_are_hashed_but_not_cached_and_gone_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.raw");
        std::fs::write(&fresh, b"x").unwrap();
        let gone = settled_file(dir.path(), "gone.raw", b"y");
        let mut cache = DigestCache::open(dir.path());
        assert!(cache.sha256(&fresh).unwrap().read);
        assert!(cache.sha256(&fresh).unwrap().read, "racy: not cached");
        cache.sha256(&gone).unwrap();
        std::fs::remove_file(&gone).unwrap();
        cache.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(CACHE_FILE)).unwrap();
        assert!(!text.contains("gone.raw"), "{text}");
        std::fs::write(dir.path().join(CACHE_FILE), "garbage").unwrap();
        assert!(DigestCache::open(dir.path()).entries.is_empty());
    }
}
