//! Where an image's file comes from once `defaults` are merged in: `image_url` (an object
//! already in OBS) or `file` + `bucket` (a local file imsform uploads), never both; the upload
//! keys on an `image_url` image are errors, since they would be silently ignored. Pure.

use super::diagnostic::Diagnostic;
use super::document::RawImage;
use super::fields::ImageFields;
use super::upload::UploadSpec;
use crate::upload::key;

/// The image's source: `Ok(None)` for an `image_url` image, `Ok(Some(spec))` for a file image,
/// `Err(())` when the upload fields contradict each other (reported).
pub fn merge(
    image: &RawImage,
    defaults: &ImageFields,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<UploadSpec>, ()> {
    let own = &image.fields;
    let address = &image.address;
    let Some(file) = &own.file else {
        if own.written.contains("file") {
            return Err(());
        }
        return only_with_file(image, diagnostics);
    };
    if let Some(url) = &own.image_url {
        diagnostics.push(
            Diagnostic::error(format!(
                "image `{address}` gives both `image_url` and `file`"
            ))
            .at(file.label.clone().with_note("the file to upload"))
            .also(url.label.clone().with_note("an object already in OBS"))
            .hint(
                "keep `file` (and `bucket`) to have imsform upload the file, or `image_url` alone",
            ),
        );
        return Err(());
    }
    let Some(bucket) = own.bucket.as_ref().or(defaults.bucket.as_ref()) else {
        if !own.written.contains("bucket") && !defaults.written.contains("bucket") {
            diagnostics.push(
                Diagnostic::error(format!("image `{address}` has `file` but no `bucket`"))
                    .at(file.label.clone())
                    .hint("set `bucket` on the image or in `defaults`: the OBS bucket the file goes to, in the image's region"),
            );
        }
        return Err(());
    };
    let prefix = own
        .object_prefix
        .as_ref()
        .or(defaults.object_prefix.as_ref());
    let delete = own
        .delete_file_after_register
        .as_ref()
        .or(defaults.delete_file_after_register.as_ref());
    let location = file.label.location();
    Ok(Some(UploadSpec {
        path: file.path.clone(),
        written: file.written.clone(),
        bucket: bucket.value.clone(),
        object_prefix: prefix.map_or_else(|| key::DEFAULT_PREFIX.to_owned(), |p| p.value.clone()),
        extension: file.extension,
        delete_after_register: delete.is_some_and(|d| d.value),
        location,
    }))
}

/// The upload keys an `image_url` image wrote on itself: each is an error (they would be
/// silently ignored). Set in `defaults`, they apply to the images with `file` only.
fn only_with_file(
    image: &RawImage,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<UploadSpec>, ()> {
    let own = &image.fields;
    let labels = [
        ("bucket", own.bucket.as_ref().map(|b| &b.label)),
        (
            "object_prefix",
            own.object_prefix.as_ref().map(|p| &p.label),
        ),
        (
            "delete_file_after_register",
            own.delete_file_after_register.as_ref().map(|d| &d.label),
        ),
    ];
    let mut clean = true;
    for (name, label) in labels {
        if let Some(label) = label {
            clean = false;
            diagnostics.push(
                Diagnostic::error(format!("`{name}` of image `{}` applies only to an image with `file`", image.address))
                    .at(label.clone())
                    .hint("an image with `image_url` registers an object already in OBS; give `file` to have imsform upload one"),
            );
        }
    }
    if clean { Ok(None) } else { Err(()) }
}
