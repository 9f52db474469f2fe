//! Facts about IMS that both sides of the wire rely on: documented limits and value sets
//! (ims-api.md sections 6 and 10). Manifest validation checks them before any request; the
//! emulator enforces them the way IMS does. Keeping one copy keeps the two in agreement.

/// Image names: 1-128 characters.
pub const NAME_MAX: usize = 128;
/// `__description`: at most 1024 characters.
pub const DESCRIPTION_MAX: usize = 1024;
/// Key/value tags: at most 10 per image.
pub const TAGS_MAX: usize = 10;
/// Tag keys: 1-36 characters.
pub const TAG_KEY_MAX: usize = 36;
/// Tag values: 0-43 characters.
pub const TAG_VALUE_MAX: usize = 43;
/// `min_disk` in GB (section 10: 1-1024).
pub const MIN_DISK_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;
/// Members (consumer projects) per system-disk image (ims-distribution.md section 3.7).
pub const MEMBERS_MAX: usize = 256;
/// `__os_version` when none is given.
pub const DEFAULT_OS_VERSION: &str = "Other Linux(64 bit)";

/// A project id as IAM writes it: 32 lower-case hex digits.
pub fn is_project_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// File extensions (lower case) that `PUT /v1/cloudimages/{id}/upload` accepts.
pub const REGISTER_EXTENSIONS: [&str; 10] = [
    "zvhd", "qcow2", "vhd", "raw", "vhdx", "qed", "vdi", "qcow", "zvhd2", "vmdk",
];

/// A region id (`cn-north-4`): lower-case letters, digits and `-`, as it goes into host names.
pub fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Letters, digits, space, `-`, `.`, `_`; 1-128 characters; no leading or trailing space.
pub fn is_valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=NAME_MAX).contains(&count)
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '_'))
}

/// At most 1024 characters, no carriage return, `<` or `>`.
pub fn is_valid_description(description: &str) -> bool {
    description.chars().count() <= DESCRIPTION_MAX
        && !description.chars().any(|c| matches!(c, '\r' | '<' | '>'))
}

/// Letters, digits, `_`, `-`, `.` (section 10).
fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// A tag key: 1-36 characters of letters, digits, `_`, `-`, `.`.
pub fn is_valid_tag_key(key: &str) -> bool {
    (1..=TAG_KEY_MAX).contains(&key.chars().count()) && key.chars().all(is_tag_char)
}

/// A tag value: 0-43 characters of letters, digits, `_`, `-`, `.`.
pub fn is_valid_tag_value(value: &str) -> bool {
    value.chars().count() <= TAG_VALUE_MAX && value.chars().all(is_tag_char)
}

/// OBS bucket names: 3-63 characters of lower-case letters, digits, `-` and `.`, starting and
/// ending with a letter or digit, no `..`, not an IP address.
pub fn is_valid_bucket(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| edge(b) || b == b'-' || b == b'.')
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && !bucket.contains("..")
        && bucket.parse::<std::net::Ipv4Addr>().is_err()
}

/// The register format of an `image_url`'s object, from its extension (lower-cased), if accepted.
pub fn register_extension(image_url: &str) -> Option<&'static str> {
    let (_, extension) = image_url.rsplit_once('.')?;
    let extension = extension.to_ascii_lowercase();
    REGISTER_EXTENSIONS
        .iter()
        .copied()
        .find(|known| *known == extension)
}

/// Whether `image_url` is an OBS `bucket:object` IMS can register: a valid bucket, an object
/// key that is not empty and does not start with `/`, an accepted extension (manifest
/// validation explains each failure on its own).
pub fn is_registrable_url(image_url: &str) -> bool {
    image_url.split_once(':').is_some_and(|(bucket, object)| {
        is_valid_bucket(bucket)
            && !object.is_empty()
            && !object.starts_with('/')
            && register_extension(object).is_some()
    })
}

/// A realistic built-in list of `__os_version` values (ims-api.md section 6.1). The emulator
/// serves and enforces it by default; `validate` warns about values outside it.
pub const OS_VERSIONS: &[(&str, &str)] = &[
    ("Ubuntu", "Ubuntu 24.04 server 64bit"),
    ("Ubuntu", "Ubuntu 22.04 server 64bit"),
    ("Ubuntu", "Ubuntu 20.04 server 64bit"),
    ("Ubuntu", "Ubuntu 19.04 server 64bit"),
    ("Ubuntu", "Ubuntu 18.04 server 64bit"),
    ("Ubuntu", "Ubuntu 16.04 server 64bit"),
    ("Ubuntu", "Ubuntu 14.04 server 64bit"),
    ("CentOS", "CentOS 7.6 64bit"),
    ("CentOS", "CentOS 7.9 64bit"),
    ("CentOS", "CentOS 8.0 64bit"),
    ("Debian", "Debian GNU/Linux 10.0.0 64bit"),
    ("Debian", "Debian GNU/Linux 11.1.0 64bit"),
    ("Debian", "Debian GNU/Linux 12.0.0 64bit"),
    ("EulerOS", "EulerOS 2.9 64bit"),
    ("EulerOS", "EulerOS 2.10 64bit"),
    ("openEuler", "openEuler 20.03 64bit"),
    ("openEuler", "openEuler 22.03 64bit"),
    ("SUSE", "SUSE Linux Enterprise Server 15 SP1 64bit"),
    ("Oracle Linux", "Oracle Linux Server release 7.6 64bit"),
    ("Red Hat", "Redhat Linux Enterprise 8.0 64bit"),
    ("Fedora", "Fedora 30 64bit"),
    ("openSUSE", "openSUSE 15.1 64bit"),
    ("CoreOS", "CoreOS 1068.10.0"),
    ("Huawei Cloud EulerOS", "Huawei Cloud EulerOS 2.0 64bit"),
    ("Windows", "Windows Server 2016 Standard 64bit"),
    ("Windows", "Windows Server 2019 Standard 64bit"),
    ("Other", "Other Linux(64 bit)"),
    ("Other", "Other(32 bit)"),
];

/// Whether `os_version` is in [`OS_VERSIONS`].
pub fn is_known_os_version(os_version: &str) -> bool {
    OS_VERSIONS.iter().any(|(_, known)| *known == os_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_urls() {
        assert!(is_registrable_url("my-bucket:dir/web.qcow2"));
        for bad in [
            "web.qcow2",
            "my-bucket:",
            "my-bucket:/web.qcow2",
            "My_Bucket:web.qcow2",
        ] {
            assert!(!is_registrable_url(bad), "{bad}");
        }
        assert!(!is_registrable_url("my-bucket:web.iso"));
    }

    #[test]
    fn names() {
        assert!(is_valid_name("ubuntu-22.04_base 2"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(" leading"));
        assert!(!is_valid_name("trailing "));
        assert!(!is_valid_name("semi;colon"));
        assert!(is_valid_name(&"a".repeat(128)));
        assert!(!is_valid_name(&"a".repeat(129)));
    }

    #[test]
    fn descriptions() {
        assert!(is_valid_description("Base image\nfor the web tier"));
        assert!(!is_valid_description("a\r\nb"));
        assert!(!is_valid_description("<b>"));
        assert!(!is_valid_description(&"d".repeat(1025)));
    }

    #[test]
    fn tags() {
        assert!(is_valid_tag_key("team.web-1_a"));
        assert!(!is_valid_tag_key(""));
        assert!(!is_valid_tag_key(&"k".repeat(37)));
        assert!(!is_valid_tag_key("a=b"));
        assert!(is_valid_tag_value(""));
        assert!(!is_valid_tag_value(&"v".repeat(44)));
        assert!(!is_valid_tag_value("with space"));
    }

    #[test]
    fn buckets_and_extensions() {
        assert!(is_valid_bucket("platform-images"));
        assert!(!is_valid_bucket("ab"));
        assert!(!is_valid_bucket("Upper"));
        assert!(!is_valid_bucket("a..b"));
        assert!(!is_valid_bucket("-ab"));
        assert!(!is_valid_bucket("192.168.1.1"));
        assert_eq!(register_extension("b:ubuntu/base.QCOW2"), Some("qcow2"));
        assert_eq!(register_extension("b:x.iso"), None);
        assert_eq!(register_extension("b:noext"), None);
    }

    #[test]
    fn os_versions() {
        assert!(is_known_os_version("Ubuntu 22.04 server 64bit"));
        assert!(!is_known_os_version("Ubuntu 22.04"));
    }
}
