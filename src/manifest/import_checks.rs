//! The checks of `import:` entries across all files and against the images (part of
//! assembling): two entries for one image id, two for one address, and an address with no
//! block in the manifests (an image that is not defined, or a replica region the image does not
//! list). Each duplicate shows both places. Pure: no state, no cloud (those checks are
//! `crate::adopt::check_imports`, at plan time).

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::{Diagnostic, Label};
use super::document::RawImage;
use super::imports::{Import, ImportTarget, RawImport};
use super::model::Address;

/// The entries that pass, in file order; every problem pushed to `diagnostics`.
pub fn check(
    raw: Vec<RawImport>,
    images: &BTreeMap<Address, RawImage>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Import> {
    let mut by_id: BTreeMap<String, Label> = BTreeMap::new();
    let mut by_target: BTreeMap<ImportTarget, Label> = BTreeMap::new();
    let mut imports = Vec::new();
    for entry in raw {
        let mut ok = defined(&entry, images, diagnostics);
        if let Some(first) = by_id.get(&entry.id.value) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "two `import` entries take image `{}`",
                    entry.id.value
                ))
                .at(entry.id.label.clone().with_note("imported again here"))
                .also(first.clone().with_note("first imported here"))
                .hint("an image is managed at one address: keep one entry"),
            );
            ok = false;
        } else {
            by_id.insert(entry.id.value.clone(), entry.id.label.clone());
        }
        if let Some(first) = by_target.get(&entry.to.value) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "two `import` entries import into `{}`",
                    entry.to.value
                ))
                .at(entry.to.label.clone().with_note("imported into again here"))
                .also(first.clone().with_note("first imported into here"))
                .hint("an address holds one image: keep the entry with the right id"),
            );
            ok = false;
        } else {
            by_target.insert(entry.to.value.clone(), entry.to.label.clone());
        }
        if ok {
            imports.push(Import {
                to: entry.to.value,
                id: entry.id.value,
                to_label: entry.to.label,
                id_label: entry.id.label,
            });
        }
    }
    imports
}

/// The images some `import` entry takes (not replicas): two images of one name are allowed
/// when they already exist, see `assemble::check_names`.
pub fn imported_images(raw: &[RawImport]) -> BTreeSet<Address> {
    raw.iter()
        .filter_map(|entry| match &entry.to.value {
            ImportTarget::Image(address) => Some(address.clone()),
            ImportTarget::Replica { .. } => None,
        })
        .collect()
}

/// Whether the entry's address has a block in the manifests; reports it when not.
fn defined(
    entry: &RawImport,
    images: &BTreeMap<Address, RawImage>,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let target = &entry.to.value;
    let Some(image) = images.get(target.image()) else {
        diagnostics.push(
            Diagnostic::error(format!(
                "`import` into `{}`, which is not defined",
                target.image()
            ))
            .at(entry.to.label.clone())
            .hint(
                "an import needs the image's block in the manifests, so imsform knows what it \
                 should look like (`imsform query --generate-config-out FILE` writes both)",
            ),
        );
        return false;
    };
    let Some(region) = target.region() else {
        return true;
    };
    if image.fields.replicas.contains_key(region) {
        return true;
    }
    diagnostics.push(
        Diagnostic::error(format!(
            "`import` into `{target}`, but `{}` has no replica in `{region}`",
            target.image()
        ))
        .at(entry.to.label.clone())
        .also(image.label.clone().with_note("defined here"))
        .hint(format!(
            "add `replicas: {{ {region}: {{}} }}` to `{}`",
            target.image()
        )),
    );
    false
}
