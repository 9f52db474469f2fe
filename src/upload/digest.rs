//! Digests of files read as a stream through one fixed buffer: the SHA-256 that names an
//! uploaded object, and the MD5 of a byte range that a part's `Content-MD5` carries. Memory
//! use does not grow with the file. Blocking: async callers run these on
//! `tokio::task::spawn_blocking`.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

/// The read buffer: large enough that the hash, not the system calls, sets the pace.
pub const BUFFER: usize = 1024 * 1024;

/// The SHA-256 (lower-case hex) of the file at `path` and the number of bytes read.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// The binary MD5 of `len` bytes of `file` from `offset`; an error when the file is shorter.
pub fn md5_range(file: &File, offset: u64, len: u64) -> std::io::Result<[u8; 16]> {
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; BUFFER.min(usize::try_from(len).unwrap_or(BUFFER)).max(1)];
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from((len - done).min(buffer.len() as u64)).unwrap_or(buffer.len());
        let read = file.read_at(&mut buffer[..want], offset + done)?;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than the part: it changed",
            ));
        }
        hasher.update(&buffer[..read]);
        done += read as u64;
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_answers_across_buffer_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (sha, read) = sha256_file(&path).unwrap();
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(read, 3);
        let big: Vec<u8> = (0..BUFFER * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &big).unwrap();
        assert_eq!(
            sha256_file(&path).unwrap().0,
            hex::encode(Sha256::digest(&big))
        );
        let file = File::open(&path).unwrap();
        let range = md5_range(&file, 5, BUFFER as u64 + 3).unwrap();
        assert_eq!(range, <[u8; 16]>::from(Md5::digest(&big[5..BUFFER + 8])));
        assert!(md5_range(&file, big.len() as u64 - 1, 2).is_err());
    }
}
