//! Images built from a local file (`file:` + `bucket:`) before the upload is a resource kind
//! of the plan (design.md sections 11 and 13; issue 22): `validate` checks them fully, and
//! the OBS client, the digest cache and the emulator's OBS are ready, but plan and apply do not
//! upload yet. Until they do, a run whose manifests have such images stops here with a clear
//! message instead of planning a registration of an object nobody uploaded. Part of
//! `context.rs`.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::manifest::model::Address;
use crate::manifest::upload::UploadSpec;

/// Refuses `uploads` (every image with `file:`), naming each at its place in the manifests.
pub fn refuse_until_planned(uploads: &BTreeMap<Address, UploadSpec>) -> Result<(), Error> {
    if uploads.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = uploads
        .iter()
        .map(|(address, upload)| {
            format!("{}: {address}: `file: {}`", upload.location, upload.written)
        })
        .collect();
    lines.push(
        "images with `file:` are valid, but plan and apply do not upload files yet: upload the \
         file to OBS and give `image_url: BUCKET:KEY` for now"
            .to_owned(),
    );
    Err(Error::Usage(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::model::Location;

    #[test]
    fn file_images_are_named_at_their_place() {
        assert!(refuse_until_planned(&BTreeMap::new()).is_ok());
        let upload = UploadSpec {
            path: "/b/web.qcow2".into(),
            written: "web.qcow2".into(),
            bucket: "images".into(),
            object_prefix: "imsform/".into(),
            extension: "qcow2",
            delete_after_register: false,
            location: Location {
                file: "images.yaml".into(),
                line: 4,
                column: 11,
            },
        };
        let uploads = BTreeMap::from([(Address::from_key("web"), upload)]);
        let message = refuse_until_planned(&uploads).unwrap_err().to_string();
        assert!(
            message.starts_with("images.yaml:4:11: images.web: `file: web.qcow2`\n"),
            "{message}"
        );
    }
}
