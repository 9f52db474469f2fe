//! An existing image as a manifest can carry it: the [`ImageAttrs`] whose manifest block,
//! loaded, equals what an import records of the image (so the first plan after it shows the
//! import and nothing else), or why no manifest can say it. Only what manifests carry: nothing
//! the server derives (`__os_type`, sizes, checksums), and the token tag left out. Pure.
//!
//! - `image_url`: the file of `__data_origin` (`file,<bucket:object>`) when IMS reports one
//!   that a manifest accepts, else `unknown` (`crate::manifest::unknown_source`: never a
//!   replacement until the user names the file).
//! - `disk_format`: with a known file, what its extension gives (left out of the block): IMS
//!   reports the format it converted the file to, not the one asked at creation (design.md
//!   section 3), and an import records the manifest's. With `unknown`, IMS's format, written
//!   when it is not `zvhd2`.
//! - `share_with`: the image's members, every status (what refresh records).

use std::collections::BTreeSet;

use crate::cloud::RemoteImage;
use crate::ims;
use crate::manifest::model::{ImageAttrs, TOKEN_TAG};
use crate::manifest::unknown_source::{UNKNOWN_IMAGE_URL, is_unknown};
use crate::manifest::{DISK_FORMATS, USER_TAGS_MAX, derived_disk_format};

/// The `image_url` a manifest gives `image`: IMS's file, or `unknown`.
pub fn manifest_url(image: &RemoteImage) -> String {
    image
        .image_url
        .as_deref()
        .filter(|url| ims::is_registrable_url(url))
        .unwrap_or(UNKNOWN_IMAGE_URL)
        .to_owned()
}

/// The attributes of `image` as a manifest states them, or why it cannot. `image.members`
/// are its members when they were read (`None`: it has none).
pub fn manifest_attrs(image: &RemoteImage) -> Result<ImageAttrs, String> {
    if image.name.is_empty() {
        return Err("it has no name, and a manifest needs one".to_owned());
    }
    if !ims::is_valid_name(&image.name) {
        return Err(format!("its name {:?} breaks IMS's name rules", image.name));
    }
    let os_version = image
        .os_version
        .clone()
        .filter(|os| !os.trim().is_empty())
        .ok_or("IMS reports no os_version for it")?;
    if !ims::MIN_DISK_RANGE.contains(&image.min_disk) {
        return Err(format!(
            "its min_disk is {}, and a manifest needs 1-1024",
            image.min_disk
        ));
    }
    let description = image.description.clone().filter(|d| !d.is_empty());
    if description
        .as_deref()
        .is_some_and(|d| !ims::is_valid_description(d))
    {
        return Err("its description breaks IMS's description rules".to_owned());
    }
    let image_url = manifest_url(image);
    let reported = image
        .disk_format
        .as_deref()
        .and_then(|text| DISK_FORMATS.into_iter().find(|f| f.as_str() == text));
    let disk_format = reported
        .filter(|_| is_unknown(&image_url))
        .unwrap_or_else(|| derived_disk_format(&image_url));
    Ok(ImageAttrs {
        name: image.name.clone(),
        image_url,
        os_version,
        disk_format,
        min_disk: image.min_disk,
        min_ram: image.min_ram,
        description,
        tags: user_tags(image)?,
        protected: image.protected,
        share_with: members(image)?,
    })
}

/// Whether a manifest must write `disk_format` (it differs from what `image_url` gives).
pub fn writes_disk_format(attrs: &ImageAttrs) -> bool {
    attrs.disk_format != derived_disk_format(&attrs.image_url)
}

fn user_tags(image: &RemoteImage) -> Result<std::collections::BTreeMap<String, String>, String> {
    let tags: std::collections::BTreeMap<String, String> = image
        .tags
        .iter()
        .filter(|(key, _)| key.as_str() != TOKEN_TAG)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if tags.len() > USER_TAGS_MAX {
        return Err(format!(
            "it has {} tags, and a manifest holds at most {USER_TAGS_MAX} (imsform uses one)",
            tags.len()
        ));
    }
    let bad = tags
        .iter()
        .find(|(key, value)| !ims::is_valid_tag_key(key) || !ims::is_valid_tag_value(value));
    if let Some((key, value)) = bad {
        return Err(format!("its tag {key}={value} breaks IMS's tag rules"));
    }
    Ok(tags)
}

fn members(image: &RemoteImage) -> Result<BTreeSet<String>, String> {
    let members: BTreeSet<String> = image
        .members
        .iter()
        .flat_map(|members| members.keys().cloned())
        .collect();
    if let Some(bad) = members.iter().find(|m| !ims::is_project_id(m)) {
        return Err(format!(
            "it is shared with {bad}, which is not a project id (`share_with` lists projects)"
        ));
    }
    if members.len() > ims::MEMBERS_MAX {
        return Err(format!("it has {} members", members.len()));
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::adopt::fixtures::image;
    use crate::cloud::MemberStatus;
    use crate::manifest::model::DiskFormat;

    #[test]
    fn an_image_becomes_what_its_manifest_block_loads_to() {
        let mut web = image("i-1", "web");
        web.tags = BTreeMap::from([
            ("team".into(), "platform".into()),
            (TOKEN_TAG.into(), "another-state".into()),
        ]);
        web.description = Some("Base image".into());
        web.min_ram = 2048;
        web.protected = true;
        let project = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281".to_owned();
        web.members = Some(BTreeMap::from([(project.clone(), MemberStatus::Pending)]));
        let attrs = manifest_attrs(&web).unwrap();
        assert_eq!(attrs.image_url, "bucket:web.qcow2");
        assert_eq!(
            attrs.disk_format,
            DiskFormat::Qcow2,
            "the file's, not IMS's zvhd2"
        );
        assert!(!writes_disk_format(&attrs));
        assert_eq!(
            attrs.tags,
            BTreeMap::from([("team".into(), "platform".into())])
        );
        assert_eq!(attrs.description.as_deref(), Some("Base image"));
        assert_eq!((attrs.min_ram, attrs.protected), (2048, true));
        assert_eq!(attrs.share_with, BTreeSet::from([project]));
    }

    #[test]
    fn an_unreported_file_is_unknown_and_odd_images_are_refused_with_a_reason() {
        let mut copy = image("i-2", "copy");
        copy.image_url = None;
        copy.disk_format = Some("qcow2".into());
        let attrs = manifest_attrs(&copy).unwrap();
        assert_eq!(attrs.image_url, UNKNOWN_IMAGE_URL);
        assert!(writes_disk_format(&attrs), "unknown gives zvhd2");
        copy.image_url = Some("bucket:disk.iso".into());
        assert_eq!(manifest_url(&copy), UNKNOWN_IMAGE_URL);
        let refused = |change: &dyn Fn(&mut RemoteImage), reason: &str| {
            let mut odd = image("i-3", "odd");
            change(&mut odd);
            let error = manifest_attrs(&odd).unwrap_err();
            assert!(error.contains(reason), "{error}");
        };
        refused(&|i| i.name = String::new(), "no name");
        refused(&|i| i.name = "a;b".into(), "name rules");
        refused(&|i| i.os_version = None, "no os_version");
        refused(&|i| i.min_disk = 0, "min_disk is 0");
        refused(&|i| i.description = Some("<b>".into()), "description rules");
        refused(
            &|i| {
                i.tags = (0..10).map(|n| (format!("k{n}"), "v".into())).collect();
            },
            "10 tags",
        );
        refused(
            &|i| {
                i.members = Some(BTreeMap::from([(
                    "domain-x".into(),
                    MemberStatus::Accepted,
                )]))
            },
            "not a project id",
        );
    }
}
