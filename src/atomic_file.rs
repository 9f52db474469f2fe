//! Atomic replacement of a file: a temporary file in the same directory, created with mode 0600,
//! written, fsynced, renamed over the target, then the directory fsynced.
//!
//! Guarantee: at every instant the target holds either its complete old content or the complete
//! new content, even if the process is killed or the machine loses power (given a file system
//! that honours fsync and atomic rename, as ext4, xfs and btrfs do). A process killed mid-write
//! leaves a `.<name>.*.tmp` file behind; [`remove_stale_temps`] clears them under the lock.
//!
//! Caveat: the rename replaces a symbolic link at `path` with a regular file.
//!
//! It must never write the target path directly.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes` atomically; the file ends with mode 0600.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .suffix(TEMP_SUFFIX)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|error| error.error)?;
    File::open(dir)?.sync_all()
}

/// Removes temporary files left by writers of `path` that were killed mid-write. Only safe while
/// holding the lock that every writer of `path` takes.
pub fn remove_stale_temps(path: &Path) -> std::io::Result<()> {
    let prefix = temp_prefix(path);
    for entry in std::fs::read_dir(parent(path))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(TEMP_SUFFIX) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_with_mode_0600_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn stale_temps_of_this_file_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::fs::write(dir.path().join(".f.json.abc.tmp"), "x").unwrap();
        std::fs::write(dir.path().join(".g.json.abc.tmp"), "x").unwrap();
        remove_stale_temps(&path).unwrap();
        assert!(!dir.path().join(".f.json.abc.tmp").exists());
        assert!(dir.path().join(".g.json.abc.tmp").exists());
    }
}
