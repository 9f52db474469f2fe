//! `image_url: unknown`: the manifest form of an adopted image whose source file IMS does not
//! report (ims-api.md section 6.7: `__data_origin` is `file,<bucket:object>` only for some
//! images; a copy's, a server's or a backup's origin names no file). `imsform query
//! --generate-config-out` writes it; a user may write it too. The value is not `bucket:object`
//! (it has no colon), so it can never be mistaken for, or collide with, a real file.
//!
//! The rule the planner follows (pure, here, so every layer agrees):
//!
//! 1. **Never a replacement because of it.** A manifest saying `unknown` matches whatever the
//!    state records for `image_url` ([`image_url_change`] gives [`SourceChange::Keep`]): no
//!    diff line, no `# forces replacement`, no drift. The state keeps its record (what an
//!    import recorded: the cloud's file when IMS reports one, else `unknown` itself).
//! 2. **Setting it later replaces nothing either.** When the state records `unknown` and the
//!    manifest names a file, the source becomes known, not different:
//!    [`SourceChange::Record`], an update of the state only (apply sends nothing to the cloud,
//!    then records the manifest's `image_url`). Rebuilding from that file is `--replace ADDR`.
//! 3. **An image that must be built cannot be.** Creating an image (a new address, an image
//!    deleted outside imsform, a tainted or `killed` one) or replacing one (another field that
//!    forces replacement, `--replace`) registers a file, so it is refused at plan time when the
//!    manifest says `unknown` ([`can_register`] is false), with the image's file:line:col and
//!    the hint to set `image_url`. Nothing is sent to the cloud.
//!
//! Validation refuses `unknown` in `defaults` (every image that does not set its own file would
//! become unbuildable); on an image it is valid, with or without an import block.

/// The `image_url` of an image whose source file is not known.
pub const UNKNOWN_IMAGE_URL: &str = "unknown";

/// What a difference between the manifest's and the state's `image_url` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChange {
    /// Equal: nothing to do.
    Same,
    /// The manifest says `unknown`: keep the state's value, plan nothing.
    Keep,
    /// The state says `unknown` and the manifest names a file: record it in the state only.
    Record,
    /// Two different files: the image is replaced (`# forces replacement`).
    Replace,
}

/// Whether `image_url` is the unknown-source form.
pub fn is_unknown(image_url: &str) -> bool {
    image_url == UNKNOWN_IMAGE_URL
}

/// Whether an image with this `image_url` can be created or rebuilt (rule 3).
pub fn can_register(image_url: &str) -> bool {
    !is_unknown(image_url)
}

/// What the manifest's `desired` `image_url` means against the state's `recorded` one.
pub fn image_url_change(desired: &str, recorded: &str) -> SourceChange {
    if desired == recorded {
        SourceChange::Same
    } else if is_unknown(desired) {
        SourceChange::Keep
    } else if is_unknown(recorded) {
        SourceChange::Record
    } else {
        SourceChange::Replace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_never_replaces_and_a_file_named_later_is_only_recorded() {
        let file = "bucket:web.qcow2";
        let other = "bucket:web-2.qcow2";
        assert_eq!(image_url_change(file, file), SourceChange::Same);
        assert_eq!(image_url_change("unknown", "unknown"), SourceChange::Same);
        assert_eq!(image_url_change("unknown", file), SourceChange::Keep);
        assert_eq!(image_url_change(file, "unknown"), SourceChange::Record);
        assert_eq!(image_url_change(other, file), SourceChange::Replace);
        assert!(!can_register("unknown") && can_register(file));
        assert!(is_unknown(UNKNOWN_IMAGE_URL) && !is_unknown("unknown:x.qcow2"));
    }
}
