//! The generated file checked by the real loader before it is written: loaded together with
//! the manifests already there (their `defaults` merge into every image, their variables are
//! substituted), each adopted image's block must give exactly the attributes, replicas and
//! import entries the image has. An image whose block would not is moved to the skipped ones
//! with the fields that differ, so the file never plans a change right after the import
//! (adoption.md section 1: the complaint about generated configuration). Pure: the caller loads.

use super::generate::{Adopted, Generation};
use crate::manifest::Import;
use crate::manifest::imports::ImportTarget;
use crate::manifest::model::{Address, Field, ImageAttrs, ImageSpec, Manifests};

/// Each adopted image whose loaded block differs from the image, and how.
pub fn mismatches(
    generation: &Generation,
    loaded: &Manifests,
    imports: &[Import],
) -> Vec<(Address, String)> {
    generation
        .adopted
        .iter()
        .filter_map(|adopted| {
            let problem = match loaded.images.get(&adopted.address) {
                None => "the loader did not keep its block".to_owned(),
                Some(spec) => differences(adopted, spec, imports)?,
            };
            Some((adopted.address.clone(), problem))
        })
        .collect()
}

/// What differs between `adopted` and its loaded block; `None`: nothing.
fn differences(adopted: &Adopted, spec: &ImageSpec, imports: &[Import]) -> Option<String> {
    let fields: Vec<&str> = Field::ALL
        .into_iter()
        .filter(|field| !same(*field, &adopted.attrs, &spec.attrs))
        .map(Field::as_str)
        .collect();
    if !fields.is_empty() {
        return Some(format!(
            "with the manifests already there (their `defaults`), its block would give another \
             {}: write the image's block by hand",
            fields.join(", ")
        ));
    }
    let regions: Vec<&String> = spec.replicas.keys().collect();
    let expected: Vec<&String> = adopted.replicas.keys().collect();
    let replicas_differ = regions != expected
        || adopted.replicas.iter().any(|(region, replica)| {
            let name = replica.name.as_ref().unwrap_or(&adopted.attrs.name);
            let description = replica
                .description
                .as_ref()
                .or(adopted.attrs.description.as_ref());
            spec.replica_attrs(region) != Some((name.clone(), description.cloned()))
        });
    if replicas_differ {
        return Some("its block would give other replicas than its copies".to_owned());
    }
    let imported = |target: ImportTarget, id: &str| {
        imports
            .iter()
            .any(|entry| entry.to == target && entry.id == id)
    };
    let image = ImportTarget::Image(adopted.address.clone());
    let all_imported = imported(image, &adopted.id)
        && adopted.replicas.iter().all(|(region, replica)| {
            let target = ImportTarget::Replica {
                image: adopted.address.clone(),
                region: region.clone(),
            };
            imported(target, &replica.id)
        });
    (!all_imported).then(|| "its import entries would not load".to_owned())
}

fn same(field: Field, a: &ImageAttrs, b: &ImageAttrs) -> bool {
    match field {
        Field::Name => a.name == b.name,
        Field::ImageUrl => a.image_url == b.image_url,
        Field::OsVersion => a.os_version == b.os_version,
        Field::DiskFormat => a.disk_format == b.disk_format,
        Field::MinDisk => a.min_disk == b.min_disk,
        Field::MinRam => a.min_ram == b.min_ram,
        Field::Description => a.description == b.description,
        Field::Tags => a.tags == b.tags,
        Field::Protected => a.protected == b.protected,
        Field::ShareWith => a.share_with == b.share_with,
    }
}

/// The adopted images a problem on `line` (1-based) of the generated `text` is about: the image
/// whose block, or whose import entry, holds the line. `None` for the header and the section
/// keys.
pub fn blamed(text: &str, line: usize) -> Option<Address> {
    let mut current = None;
    for written in text.lines().take(line) {
        let key = written
            .strip_prefix("  - to: ")
            .map(|to| to.trim_matches('\''))
            .and_then(|to| ImportTarget::parse(to).ok())
            .map(|target| target.image().clone())
            .or_else(|| {
                let key = written.strip_prefix("  ")?.strip_suffix(':')?;
                Address::parse(&format!("{}{key}", Address::PREFIX)).ok()
            });
        match key {
            Some(address) => current = Some(address),
            None if !written.starts_with("    ") => current = None,
            None => {}
        }
    }
    current
}
