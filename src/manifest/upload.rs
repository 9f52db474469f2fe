//! An image built from a local file (design.md section 13): `file: PATH` (relative to the
//! manifest's directory) and `bucket: NAME` instead of `image_url`, with an optional
//! `object_prefix` (default `imsform/`) and `delete_file_after_register`. Read and checked here
//! where they are written (the file exists, is a file, has an extension IMS registers; the
//! bucket is a name IMS accepts; the prefix makes valid keys), merged with `defaults` in
//! `image_source.rs`, and kept beside the validated model as an [`UploadSpec`] per image
//! (`Loaded::uploads`).
//!
//! Validation reads no byte of the file: its digest, and so its object key and `image_url`,
//! are computed at plan time ([`resolve_image_urls`], fed by `crate::upload::DigestCache`).
//! Until then a file image's `attrs.image_url` is empty.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use marked_yaml::Node;

use super::diagnostic::{Diagnostic, Label};
use super::model::{Address, Location, Manifests};
use super::walk::{Spanned, Walker};
use crate::ims;
use crate::upload::key;

/// The upload keys of an image (`file` is refused in `defaults`).
pub const UPLOAD_KEYS: [&str; 4] = [
    "file",
    "bucket",
    "object_prefix",
    "delete_file_after_register",
];

/// A `file:` as written and where it is on disk.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub written: String,
    pub path: PathBuf,
    pub extension: &'static str,
    pub label: Label,
}

/// An image's file, validated: what the planner needs to name its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// The file on disk (the manifest's directory joined with what was written).
    pub path: PathBuf,
    /// As written in the manifest, for messages.
    pub written: String,
    pub bucket: String,
    /// Prepended to every key; default [`key::DEFAULT_PREFIX`].
    pub object_prefix: String,
    /// Lower-case, one of the formats IMS registers.
    pub extension: &'static str,
    /// Delete the object once the image is active (default: keep it).
    pub delete_after_register: bool,
    /// Where `file:` was written.
    pub location: Location,
}

impl UploadSpec {
    /// The content-addressed object key of image `image_key` for a file with this SHA-256.
    pub fn object_key(&self, image_key: &str, sha256: &str) -> String {
        key::object_key(&self.object_prefix, image_key, sha256, self.extension)
    }

    /// `bucket:key`, what IMS registers.
    pub fn image_url(&self, image_key: &str, sha256: &str) -> String {
        key::image_url(&self.bucket, &self.object_key(image_key, sha256))
    }
}

/// Reads `file:`: a path to an existing regular file with an extension IMS registers.
pub fn file(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<RawFile> {
    let written = walker.text(node, what)?;
    let path = walker.file.dir.join(&written.value);
    let shown = &written.value;
    let problem = match std::fs::metadata(&path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some((
            format!("{what}: `{shown}` does not exist"),
            "the path is relative to the manifest's directory; build the image file first".into(),
        )),
        Err(error) => Some((
            format!("{what}: cannot read `{shown}`: {error}"),
            String::new(),
        )),
        Ok(meta) if meta.is_dir() => Some((
            format!("{what}: `{shown}` is a directory"),
            "name the image file itself".into(),
        )),
        Ok(_) => None,
    };
    let extension = key::register_extension(&path);
    let problem = problem.or_else(|| {
        extension.is_none().then(|| {
            (
                format!("{what}: `{shown}` does not end with an image format IMS can register"),
                format!(
                    "the file's extension must be one of: {}",
                    ims::REGISTER_EXTENSIONS.join(", ")
                ),
            )
        })
    });
    if let Some((message, hint)) = problem {
        let diagnostic = Diagnostic::error(message).at(written.label);
        walker.push(if hint.is_empty() {
            diagnostic
        } else {
            diagnostic.hint(hint)
        });
        return None;
    }
    Some(RawFile {
        written: written.value,
        path,
        extension: extension?,
        label: written.label,
    })
}

/// Reads `bucket:`: a bucket name IMS accepts.
pub fn bucket(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let bucket = walker.text(node, what)?;
    if ims::is_valid_bucket(&bucket.value) {
        return Some(bucket);
    }
    walker.push(
        Diagnostic::error(format!("{what}: `{}` is not a valid OBS bucket name", bucket.value))
            .at(bucket.label)
            .hint("3-63 characters of lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit"),
    );
    None
}

/// Reads `object_prefix:`: a start for object keys that keeps them valid.
pub fn object_prefix(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let prefix = walker.text(node, what)?;
    let Some(problem) = key::prefix_problem(&prefix.value) else {
        return Some(prefix);
    };
    walker.push(
        Diagnostic::error(format!("{what} {problem}"))
            .at(prefix.label)
            .hint("e.g. `imsform/` or `images/team-a/`: keys are `<prefix><image key>-<digest>.<extension>`"),
    );
    None
}

/// Fills each file image's `attrs.image_url` with its content-addressed `bucket:key`, from the
/// file's SHA-256 as `sha256` gives it (the digest cache at plan time). Fails on the first file
/// that cannot be hashed, naming its image.
pub fn resolve_image_urls(
    manifests: &mut Manifests,
    uploads: &BTreeMap<Address, UploadSpec>,
    sha256: &mut dyn FnMut(&Path) -> std::io::Result<String>,
) -> Result<(), (Address, std::io::Error)> {
    for (address, upload) in uploads {
        let digest = sha256(&upload.path).map_err(|error| (address.clone(), error))?;
        if let Some(spec) = manifests.images.get_mut(address) {
            spec.attrs.image_url = upload.image_url(address.key(), &digest);
        }
    }
    Ok(())
}
