//! The local side of uploading an image file (design.md section 13): what names the object
//! and what tells an unchanged file from a changed one. Pure or file-only; no network, no
//! state, no manifest types, so the manifest, the planner's inputs and the OBS client
//! (`cloud::obs`) can all use it.
//!
//! - [`key`]: the content-addressed object key `<prefix><image key>-<16 hex>.<ext>` and the
//!   `bucket:key` image URL;
//! - [`fingerprint`]: (size, mtime, inode) of a file, to notice a change without reading it;
//! - [`digest`]: SHA-256 of a file as a stream (a fixed buffer, never the whole file), and the
//!   MD5 of a byte range (a part's `Content-MD5`);
//! - [`cache`]: the digest cache under `.imsform/`, keyed by path and fingerprint, so an
//!   unchanged 10 GB file is not read again; the entry point is [`cache::DigestCache::sha256`];
//! - [`progress`]: bytes sent, rate and time left of an upload in flight.
//!
//! Where the digest is computed: at plan time, not at validate time (validate reads no image
//! file's content: it only checks that the file exists, is a file, and has an extension IMS
//! registers). The planner's caller hashes each `file:` image through the cache and hands the
//! digests to the pure planner, which derives the key with [`key::object_key`].

pub mod cache;
pub mod digest;
pub mod fingerprint;
pub mod key;
pub mod progress;

pub use cache::{DigestCache, FileDigest};
pub use fingerprint::Fingerprint;
pub use progress::{Progress, ProgressSnapshot};
