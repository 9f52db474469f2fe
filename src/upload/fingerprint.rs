//! A file's [`Fingerprint`]: size, modification time and inode, read from its metadata without
//! reading its content. Two equal fingerprints are taken to mean an unchanged file (as make,
//! rsync and git's index do); a journaled upload whose file's fingerprint changed is aborted.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    pub inode: u64,
}

impl Fingerprint {
    /// The fingerprint of the file at `path` (following symbolic links).
    pub fn of(path: &Path) -> std::io::Result<Fingerprint> {
        let meta = std::fs::metadata(path)?;
        Ok(Fingerprint {
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            inode: meta.ino(),
        })
    }

    /// Whether the file at `path` still has this fingerprint (a missing file does not).
    pub fn matches(&self, path: &Path) -> bool {
        Fingerprint::of(path).is_ok_and(|now| now == *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.qcow2");
        std::fs::write(&path, b"one").unwrap();
        let first = Fingerprint::of(&path).unwrap();
        assert_eq!(first.size, 3);
        assert!(first.matches(&path));
        // A new file under the same name: another inode, whatever the clock's resolution.
        let other = dir.path().join("new");
        std::fs::write(&other, b"two").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(!first.matches(&path));
        assert!(!first.matches(&dir.path().join("missing")));
    }
}
