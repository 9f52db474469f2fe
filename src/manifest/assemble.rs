//! Merging every file's [`Document`] into the validated [`Manifests`]: one `defaults` block merged
//! into each image (the image's value wins; tags and lifecycle options merge key by key), the
//! required fields, the tag budget, and the checks across files (the same address twice, two
//! images with one name unless they already exist and are imported, `moved` entries that
//! contradict the images, and the `import` entries (`import_checks.rs`). Each duplicate
//! diagnostic shows both places.
//!
//! Pure: no I/O. Single-value rules were checked when reading (`fields.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::{Diagnostic, Label};
use super::document::{Document, RawImage, RawMoved};
use super::fields::ImageFields;
use super::image_source;
use super::import_checks;
use super::imports::Import;
use super::model::{
    Address, DiskFormat, ImageAttrs, ImageSpec, Lifecycle, Location, Manifests, Moved, ReplicaSpec,
};
use super::upload::UploadSpec;
use crate::ims;

/// User tags allowed per image: one of IMS's slots is taken by imsform's token tag.
pub const USER_TAGS_MAX: usize = ims::TAGS_MAX - 1;

/// The `disk_format` to send when the manifest leaves it out: the image file's own format when
/// IMS has a disk format of that name, else `zvhd2`, IMS's default (for vmdk, vhdx, qed, vdi and
/// qcow files, which IMS converts on registration).
pub fn derived_disk_format(image_url: &str) -> DiskFormat {
    match ims::register_extension(image_url) {
        Some("qcow2") => DiskFormat::Qcow2,
        Some("vhd") => DiskFormat::Vhd,
        Some("raw") => DiskFormat::Raw,
        Some("zvhd") => DiskFormat::Zvhd,
        _ => DiskFormat::Zvhd2,
    }
}

/// The images that are built from a local file, by address.
pub type Uploads = BTreeMap<Address, UploadSpec>;

/// Merges the documents, in file order: the manifests, their `import` entries, and the file
/// images' uploads beside them.
pub fn assemble(
    documents: Vec<Document>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Manifests, Vec<Import>, Uploads) {
    let mut defaults: Option<(ImageFields, Label)> = None;
    let mut images: BTreeMap<Address, RawImage> = BTreeMap::new();
    let mut moved = Vec::new();
    let mut imports = Vec::new();
    for document in documents {
        if let Some((fields, label)) = document.defaults {
            match &defaults {
                Some((_, first)) => diagnostics.push(
                    Diagnostic::error("`defaults` is defined twice")
                        .at(label.with_note("defined again here"))
                        .also(first.clone().with_note("first defined here"))
                        .hint(
                            "one `defaults` block applies to every image of every file; keep one",
                        ),
                ),
                None => defaults = Some((fields, label)),
            }
        }
        for image in document.images {
            if let Some(first) = images.get(&image.address) {
                diagnostics.push(
                    Diagnostic::error(format!("image `{}` is defined twice", image.address))
                        .at(image.label.clone().with_note("defined again here"))
                        .also(first.label.clone().with_note("first defined here"))
                        .hint("image keys are unique across all manifest files"),
                );
                continue;
            }
            images.insert(image.address.clone(), image);
        }
        moved.extend(document.moved);
        imports.extend(document.imports);
    }
    let empty = ImageFields::default();
    let defaults = defaults.as_ref().map_or(&empty, |(fields, _)| fields);
    let mut specs = BTreeMap::new();
    let mut uploads = BTreeMap::new();
    for image in in_file_order(&images) {
        if let Some((spec, upload)) = merge(image, defaults, diagnostics) {
            if let Some(upload) = upload {
                uploads.insert(image.address.clone(), upload);
            }
            specs.insert(image.address.clone(), spec);
        }
    }
    check_names(
        &images,
        defaults,
        &import_checks::imported_images(&imports),
        diagnostics,
    );
    let moved = check_moved(moved, &images, diagnostics);
    let imports = import_checks::check(imports, &images, diagnostics);
    let manifests = Manifests {
        images: specs,
        moved,
    };
    (manifests, imports, uploads)
}

/// One image with `defaults` merged in, if every required field is there, and its upload when
/// it is built from a file (its `image_url` is then empty until plan time: `upload.rs`).
fn merge(
    image: &RawImage,
    defaults: &ImageFields,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(ImageSpec, Option<UploadSpec>)> {
    let own = &image.fields;
    let complete = check_required(image, defaults, diagnostics);
    let tags = merged_tags(image, defaults, diagnostics);
    let upload = image_source::merge(image, defaults, diagnostics).ok()?;
    let image_url = match &upload {
        Some(_) => Some(String::new()),
        None => pick(&own.image_url, &defaults.image_url).map(|url| url.value.clone()),
    };
    let (Some(tags), Some(name), Some(image_url), Some(os_version), Some(min_disk)) = (
        tags,
        pick(&own.name, &defaults.name),
        image_url,
        pick(&own.os_version, &defaults.os_version),
        pick(&own.min_disk, &defaults.min_disk),
    ) else {
        return None;
    };
    if !complete {
        return None;
    }
    let format_of = upload
        .as_ref()
        .map_or(image_url.as_str(), |u| u.written.as_str());
    let disk_format = pick(&own.disk_format, &defaults.disk_format)
        .map_or_else(|| derived_disk_format(format_of), |f| f.value);
    let attrs = ImageAttrs {
        name: name.value.clone(),
        image_url,
        os_version: os_version.value.clone(),
        disk_format,
        min_disk: min_disk.value,
        min_ram: pick(&own.min_ram, &defaults.min_ram).map_or(0, |m| m.value),
        description: pick(&own.description, &defaults.description).map(|d| d.value.clone()),
        tags,
        protected: pick(&own.protected, &defaults.protected).is_some_and(|p| p.value),
        share_with: pick(&own.share_with, &defaults.share_with)
            .map(|s| s.value.clone())
            .unwrap_or_default(),
    };
    let lifecycle = merged_lifecycle(own, defaults);
    let replicas = own
        .replicas
        .iter()
        .map(|(region, raw)| {
            let replica = ReplicaSpec {
                name: raw.name.clone(),
                description: raw.description.clone(),
                location: location(&raw.label),
            };
            (region.clone(), replica)
        })
        .collect();
    let spec = ImageSpec {
        address: image.address.clone(),
        attrs,
        lifecycle,
        location: location(&image.label),
        replicas,
    };
    Some((spec, upload))
}

/// Reports each required field neither the image nor `defaults` wrote; whether all are there.
fn check_required(
    image: &RawImage,
    defaults: &ImageFields,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let own = &image.fields;
    let mut complete = true;
    for (field, present) in [
        ("name", own.name.is_some() || defaults.name.is_some()),
        (
            "image_url",
            own.image_url.is_some() || defaults.image_url.is_some() || own.file.is_some(),
        ),
        (
            "os_version",
            own.os_version.is_some() || defaults.os_version.is_some(),
        ),
        (
            "min_disk",
            own.min_disk.is_some() || defaults.min_disk.is_some(),
        ),
    ] {
        // A field written with a bad value was reported where it is written (a bad `file`
        // stands for `image_url`).
        let written = own.written.contains(field)
            || defaults.written.contains(field)
            || (field == "image_url" && own.written.contains("file"));
        if !present && !written {
            diagnostics.push(
                Diagnostic::error(format!("image `{}` has no `{field}`", image.address))
                    .at(image.label.clone())
                    .hint(if field == "image_url" {
                        "set `image_url` on the image or in `defaults`, or `file` and `bucket` to \
                         have imsform upload a local file"
                            .to_owned()
                    } else {
                        format!("set `{field}` on the image or in `defaults`")
                    }),
            );
        }
        complete &= present;
    }
    complete
}

/// `defaults`' tags overridden key by key by the image's, if within the budget.
fn merged_tags(
    image: &RawImage,
    defaults: &ImageFields,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<BTreeMap<String, String>> {
    let own = &image.fields;
    let mut tags: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, value) in defaults.tags.iter().chain(&own.tags) {
        tags.insert(key, &value.value);
    }
    if tags.len() <= USER_TAGS_MAX {
        let owned = tags.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned()));
        return Some(owned.collect());
    }
    let at = own.tags_label.as_ref().or(defaults.tags_label.as_ref());
    diagnostics.push(
        Diagnostic::error(format!(
            "image `{}` has {} tags (with `defaults`); at most {USER_TAGS_MAX} are allowed",
            image.address,
            tags.len()
        ))
        .at(at.unwrap_or(&image.label).clone())
        .hint("IMS allows 10 tags per image and imsform uses one to track what it creates"),
    );
    None
}

/// Lifecycle options merged option by option; `ignore_changes` is taken whole.
fn merged_lifecycle(own: &ImageFields, defaults: &ImageFields) -> Lifecycle {
    Lifecycle {
        prevent_destroy: own
            .prevent_destroy
            .or(defaults.prevent_destroy)
            .unwrap_or(false),
        ignore_changes: pick(&own.ignore_changes, &defaults.ignore_changes)
            .cloned()
            .unwrap_or_default(),
        replace_order: own
            .replace_order
            .or(defaults.replace_order)
            .unwrap_or_default(),
    }
}

/// The image's own value, else the default's.
fn pick<'a, T>(own: &'a Option<T>, default: &'a Option<T>) -> Option<&'a T> {
    own.as_ref().or(default.as_ref())
}

fn location(label: &Label) -> Location {
    let (line, column) = label
        .snippet
        .as_ref()
        .map_or((0, 0), |snippet| (snippet.line, snippet.column));
    Location {
        file: label.file.clone(),
        line,
        column,
    }
}

/// Two images of one name are an error, unless they already exist: an image an `import` entry
/// takes is left out of the comparison (IMS allows duplicate names, and adopting both keeps
/// them; only a new image would add a duplicate).
fn check_names(
    images: &BTreeMap<Address, RawImage>,
    defaults: &ImageFields,
    imported: &BTreeSet<Address>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<&str, (&Address, &Label)> = BTreeMap::new();
    let new_images = in_file_order(images)
        .into_iter()
        .filter(|image| !imported.contains(&image.address));
    for image in new_images {
        let Some(name) = image.fields.name.as_ref().or(defaults.name.as_ref()) else {
            continue;
        };
        if let Some((first, first_label)) = seen.get(name.value.as_str()) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "images `{first}` and `{}` are both named `{}`",
                    image.address, name.value
                ))
                .at(name
                    .label
                    .clone()
                    .with_note(format!("name of `{}`", image.address)))
                .also(
                    (*first_label)
                        .clone()
                        .with_note(format!("name of `{first}`")),
                )
                .hint(
                    "IMS allows it, but two images with one name are never what a reviewer wants",
                ),
            );
        } else {
            seen.insert(&name.value, (&image.address, &name.label));
        }
    }
}

/// The images in the order they were written, so reports follow the files and "first" means
/// first in the files.
fn in_file_order(images: &BTreeMap<Address, RawImage>) -> Vec<&RawImage> {
    let mut ordered: Vec<&RawImage> = images.values().collect();
    ordered.sort_by(|a, b| position_key(&a.label).cmp(&position_key(&b.label)));
    ordered
}

fn position_key(label: &Label) -> (&std::path::Path, usize, usize) {
    let (line, column) = label
        .snippet
        .as_ref()
        .map_or((0, 0), |s| (s.line, s.column));
    (&label.file, line, column)
}

fn check_moved(
    moved: Vec<RawMoved>,
    images: &BTreeMap<Address, RawImage>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Moved> {
    let mut from_seen: BTreeMap<Address, Label> = BTreeMap::new();
    let mut to_seen: BTreeMap<Address, Label> = BTreeMap::new();
    let mut result = Vec::new();
    for entry in moved {
        let mut ok = true;
        if let Some(image) = images.get(&entry.from.value) {
            diagnostics.push(
                Diagnostic::error(format!("`moved` from `{}`, which is still defined", entry.from.value))
                    .at(entry.from.label.clone())
                    .also(image.label.clone().with_note("still defined here"))
                    .hint("after a move the old key must be gone from the manifests (chains of moves are not supported)"),
            );
            ok = false;
        }
        if !images.contains_key(&entry.to.value) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`moved` to `{}`, which is not defined",
                    entry.to.value
                ))
                .at(entry.to.label.clone())
                .hint("`to` must name an image of the manifests"),
            );
            ok = false;
        }
        for (side, spanned, seen) in [
            ("from", &entry.from, &mut from_seen),
            ("to", &entry.to, &mut to_seen),
        ] {
            if let Some(first) = seen.get(&spanned.value) {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "two `moved` entries have `{side}: {}`",
                        spanned.value
                    ))
                    .at(spanned.label.clone().with_note("used again here"))
                    .also(first.clone().with_note("first used here"))
                    .hint("an address can be moved once, and two images cannot become one"),
                );
                ok = false;
            } else {
                seen.insert(spanned.value.clone(), spanned.label.clone());
            }
        }
        if ok {
            result.push(Moved {
                from: entry.from.value,
                to: entry.to.value,
                location: location(&entry.from.label),
            });
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_format_is_derived_from_the_extension() {
        let cases = [
            ("b:x.qcow2", DiskFormat::Qcow2),
            ("b:x.VHD", DiskFormat::Vhd),
            ("b:x.raw", DiskFormat::Raw),
            ("b:x.zvhd", DiskFormat::Zvhd),
            ("b:x.zvhd2", DiskFormat::Zvhd2),
            ("b:x.vmdk", DiskFormat::Zvhd2),
            ("b:x.vhdx", DiskFormat::Zvhd2),
            ("b:x.qed", DiskFormat::Zvhd2),
            ("b:x.vdi", DiskFormat::Zvhd2),
            ("b:x.qcow", DiskFormat::Zvhd2),
        ];
        for (url, expected) in cases {
            assert_eq!(derived_disk_format(url), expected, "{url}");
        }
    }
}
