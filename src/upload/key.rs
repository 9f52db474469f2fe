//! Content-addressed object keys (design.md section 13): the object of image `web` built from
//! a file whose SHA-256 starts `0a1b…` is `<prefix>web-0a1b2c3d4e5f6a7b.qcow2`, so a new build
//! gets a new key (and the plan replaces the image) while an unchanged file keeps its key.
//! Pure.

/// `object_prefix` when a manifest sets none.
pub const DEFAULT_PREFIX: &str = "imsform/";
/// How many hex digits of the SHA-256 go into the key.
pub const DIGEST_CHARS: usize = 16;
/// The longest object key OBS accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// `<prefix><image key>-<first 16 hex of sha256>.<extension>`; `extension` without its dot,
/// lower-cased here.
pub fn object_key(prefix: &str, image_key: &str, sha256_hex: &str, extension: &str) -> String {
    let short = &sha256_hex[..sha256_hex.len().min(DIGEST_CHARS)];
    format!(
        "{prefix}{image_key}-{short}.{}",
        extension.to_ascii_lowercase()
    )
}

/// The `image_url` IMS registers: `bucket:key`.
pub fn image_url(bucket: &str, key: &str) -> String {
    format!("{bucket}:{key}")
}

/// The file's extension, lower-cased, when IMS registers files of that format.
pub fn register_extension(path: &std::path::Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    crate::ims::register_extension(name)
}

/// Why `prefix` cannot start object keys, if it cannot: OBS keys are UTF-8 up to 1024 bytes;
/// IMS refuses keys with spaces (IMG.0175); a leading `/` or a `//` makes an empty path
/// segment; control characters cannot travel in a URL.
pub fn prefix_problem(prefix: &str) -> Option<&'static str> {
    if prefix.starts_with('/') {
        Some("starts with `/`")
    } else if prefix.contains("//") {
        Some("holds an empty path segment (`//`)")
    } else if prefix.chars().any(char::is_whitespace) {
        Some("holds a space; IMS refuses object names with spaces (IMG.0175)")
    } else if prefix.chars().any(char::is_control) || prefix.contains('\\') {
        Some("holds a control character or `\\`")
    } else if prefix.len() > MAX_KEY_BYTES - 200 {
        Some("is longer than 824 bytes; OBS keys are at most 1024")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b";

    #[test]
    fn keys_are_named_by_prefix_image_digest_and_extension() {
        assert_eq!(
            object_key(DEFAULT_PREFIX, "web", SHA, "QCOW2"),
            "imsform/web-0a1b2c3d4e5f6a7b.qcow2"
        );
        assert_eq!(
            object_key("", "db_1", SHA, "raw"),
            "db_1-0a1b2c3d4e5f6a7b.raw"
        );
        assert_eq!(image_url("images", "a/b.vhd"), "images:a/b.vhd");
        assert_eq!(
            register_extension(std::path::Path::new("build/out.VHD")),
            Some("vhd")
        );
        assert_eq!(register_extension(std::path::Path::new("out.iso")), None);
        assert_eq!(register_extension(std::path::Path::new("noext")), None);
    }

    #[test]
    fn prefixes_that_would_make_bad_keys_are_named() {
        assert_eq!(prefix_problem("imsform/"), None);
        assert_eq!(prefix_problem(""), None);
        assert!(prefix_problem("/abs/").is_some());
        assert!(prefix_problem("a//b/").is_some());
        assert!(prefix_problem("my images/").unwrap().contains("IMG.0175"));
        assert!(prefix_problem(&"a".repeat(900)).is_some());
    }
}
