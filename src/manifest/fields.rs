//! One image's fields (or `defaults`), read and checked where they are written: every rule of
//! design.md section 3 and ims-api.md section 6 that concerns a single value. Values that fail
//! are reported and left out, so merging and cross-checks see only good values. The checks of
//! `name` and `description`, which replicas share, are `naming.rs`.
//!
//! The IMS rules themselves live in `crate::ims`; this file must not re-implement them.
//! `name`, `image_url`, `os_version`, `description` and tag values may hold `${var.NAME}`
//! (substituted by [`Walker::text`] before the checks); the other fields are taken literally.

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::Node;

use super::diagnostic::{Diagnostic, Label};
use super::model::{DiskFormat, Field, ReplaceOrder, TOKEN_TAG};
use super::naming::{description, name};
use super::replicas::{RawReplica, read_replicas};
use super::unknown_source::{UNKNOWN_IMAGE_URL, is_unknown};
use super::upload::{self, RawFile};
use super::walk::{MappingRef, Spanned, Walker, closest};
use crate::ims;

/// The keys of an image (and of `defaults`).
pub const IMAGE_KEYS: [&str; 16] = [
    "name",
    "image_url",
    "os_version",
    "disk_format",
    "min_disk",
    "min_ram",
    "description",
    "tags",
    "protected",
    "share_with",
    "lifecycle",
    "replicas",
    "file",
    "bucket",
    "object_prefix",
    "delete_file_after_register",
];

/// The keys of `lifecycle`.
pub const LIFECYCLE_KEYS: [&str; 3] = ["prevent_destroy", "ignore_changes", "replace_order"];

/// The accepted `disk_format` values.
pub const DISK_FORMATS: [DiskFormat; 6] = [
    DiskFormat::Zvhd2,
    DiskFormat::Zvhd,
    DiskFormat::Vhd,
    DiskFormat::Raw,
    DiskFormat::Qcow2,
    DiskFormat::Iso,
];

/// The accepted `replace_order` values.
pub const REPLACE_ORDERS: [&str; 2] = ["create_before_destroy", "destroy_before_create"];

/// The fields of one image or of `defaults`, each present only when written and valid.
#[derive(Debug, Clone, Default)]
pub struct ImageFields {
    pub name: Option<Spanned<String>>,
    pub image_url: Option<Spanned<String>>,
    pub os_version: Option<Spanned<String>>,
    pub disk_format: Option<Spanned<DiskFormat>>,
    pub min_disk: Option<Spanned<u32>>,
    pub min_ram: Option<Spanned<u32>>,
    pub description: Option<Spanned<String>>,
    /// Where `tags:` was written, if it was.
    pub tags_label: Option<Label>,
    pub tags: BTreeMap<String, Spanned<String>>,
    pub protected: Option<Spanned<bool>>,
    pub share_with: Option<Spanned<BTreeSet<String>>>,
    pub prevent_destroy: Option<bool>,
    pub ignore_changes: Option<BTreeSet<Field>>,
    pub replace_order: Option<ReplaceOrder>,
    /// `replicas` by region, and where `replicas:` was written (refused in `defaults`).
    pub replicas: BTreeMap<String, RawReplica>,
    pub replicas_label: Option<Label>,
    /// `file` (refused in `defaults`), `bucket`, `object_prefix`, `delete_file_after_register`.
    pub file: Option<RawFile>,
    pub bucket: Option<Spanned<String>>,
    pub object_prefix: Option<Spanned<String>>,
    pub delete_file_after_register: Option<Spanned<bool>>,
    /// Keys written, valid or not: a required field written wrongly is not also "missing".
    pub written: BTreeSet<&'static str>,
}

/// Reads an image mapping (or `defaults`); `what` names it in messages.
pub fn read_image(walker: &mut Walker<'_>, mapping: MappingRef<'_>, what: &str) -> ImageFields {
    walker.unknown_keys(mapping, &IMAGE_KEYS, what);
    let mut fields = ImageFields::default();
    for (key, value) in mapping.iter() {
        let Some(&known) = IMAGE_KEYS.iter().find(|k| **k == key.as_str()) else {
            continue;
        };
        fields.written.insert(known);
        let at = format!("`{known}` of {what}");
        match known {
            "name" => fields.name = name(walker, value, &at),
            "image_url" => fields.image_url = image_url(walker, value, &at),
            "os_version" => fields.os_version = os_version(walker, value, &at),
            "disk_format" => fields.disk_format = disk_format(walker, value, &at),
            "min_disk" => fields.min_disk = walker.integer(value, &at, ims::MIN_DISK_RANGE),
            "min_ram" => fields.min_ram = walker.integer(value, &at, 0..=u32::MAX),
            "description" => fields.description = description(walker, value, &at),
            "tags" => {
                fields.tags_label = Some(walker.key_label(key));
                fields.tags = tags(walker, value, &at);
            }
            "protected" => fields.protected = walker.bool(value, &at),
            "replicas" => {
                fields.replicas_label = Some(walker.key_label(key));
                fields.replicas = read_replicas(walker, value, what);
            }
            "share_with" => fields.share_with = share_with(walker, value, &at),
            "file" => fields.file = upload::file(walker, value, &at),
            "bucket" => fields.bucket = upload::bucket(walker, value, &at),
            "object_prefix" => fields.object_prefix = upload::object_prefix(walker, value, &at),
            "delete_file_after_register" => {
                fields.delete_file_after_register = walker.bool(value, &at);
            }
            // The one key left of IMAGE_KEYS: `lifecycle`.
            _ => lifecycle(walker, value, &mut fields, what),
        }
    }
    fields
}

fn image_url(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let url = walker.text(node, what)?;
    if is_unknown(&url.value) {
        return Some(url);
    }
    let Some((bucket, object)) = url.value.split_once(':') else {
        walker.push(
            Diagnostic::error(format!("{what} is not `bucket:object`"))
                .at(url.label)
                .hint(format!(
                    "write the OBS bucket, a colon and the object's key, e.g. \
                     `images:ubuntu/base.qcow2` (or `{UNKNOWN_IMAGE_URL}` for an adopted image \
                     whose file IMS does not report)"
                )),
        );
        return None;
    };
    let problem = if !ims::is_valid_bucket(bucket) {
        Some((
            format!("`{bucket}` is not a valid OBS bucket name"),
            "3-63 characters of lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit".to_owned(),
        ))
    } else if object.is_empty() || object.starts_with('/') {
        Some((
            format!("{what} has an empty object key or one starting with `/`"),
            "the object key follows the colon without a leading slash".to_owned(),
        ))
    } else if ims::register_extension(object).is_none() {
        Some((
            format!("{what} does not end with an image format IMS can register"),
            format!(
                "the file's extension must be one of: {}",
                ims::REGISTER_EXTENSIONS.join(", ")
            ),
        ))
    } else {
        None
    };
    match problem {
        None => Some(url),
        Some((message, hint)) => {
            walker.push(Diagnostic::error(message).at(url.label).hint(hint));
            None
        }
    }
}

fn os_version(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let os = walker.text(node, what)?;
    if os.value.trim().is_empty() {
        walker.push(
            Diagnostic::error(format!("{what} is empty"))
                .at(os.label)
                .hint(format!("e.g. `{}`", ims::OS_VERSIONS[1].1)),
        );
        return None;
    }
    if !ims::is_known_os_version(&os.value) {
        let known = ims::OS_VERSIONS.iter().map(|(_, version)| *version);
        let hint = match closest(&os.value, known) {
            Some(near) => format!("did you mean `{near}`? IMS refuses versions it does not list"),
            None => "IMS refuses versions it does not list; `GET /v1/cloudimages/os_version` gives the region's list".to_owned(),
        };
        walker.push(
            Diagnostic::warning(format!(
                "{what} `{}` is not a known IMS OS version",
                os.value
            ))
            .at(os.label.clone())
            .hint(hint),
        );
    }
    Some(os)
}

fn disk_format(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<DiskFormat>> {
    let text = walker.string(node, what)?;
    let found = DISK_FORMATS.iter().find(|f| f.as_str() == text.value);
    if found.is_none() {
        let names: Vec<&str> = DISK_FORMATS.iter().map(|f| f.as_str()).collect();
        walker.push(
            Diagnostic::error(format!("{what} `{}` is not a disk format", text.value))
                .at(text.label.clone())
                .hint(format!("one of: {}", names.join(", "))),
        );
    }
    found.map(|&value| Spanned {
        value,
        label: text.label,
    })
}

fn tags(walker: &mut Walker<'_>, node: &Node, what: &str) -> BTreeMap<String, Spanned<String>> {
    let mut tags = BTreeMap::new();
    let Some(mapping) = walker.mapping(node, what) else {
        return tags;
    };
    for (key, value) in mapping.iter() {
        let label = walker.key_label(key);
        let key = key.as_str();
        let tag_value = walker.text(value, &format!("the value of tag `{key}`"));
        if key == TOKEN_TAG {
            walker.push(
                Diagnostic::error(format!("tag key `{TOKEN_TAG}` is reserved"))
                    .at(label)
                    .hint("imsform writes this tag itself to recognise the images it creates"),
            );
            continue;
        }
        if !ims::is_valid_tag_key(key) {
            walker.push(
                Diagnostic::error(format!("tag key `{key}` is not valid"))
                    .at(label)
                    .hint(format!(
                        "1-{} characters: letters, digits, `_`, `-`, `.`",
                        ims::TAG_KEY_MAX
                    )),
            );
            continue;
        }
        let Some(tag_value) = tag_value else { continue };
        if !ims::is_valid_tag_value(&tag_value.value) {
            walker.push(
                Diagnostic::error(format!("the value of tag `{key}` is not valid"))
                    .at(tag_value.label)
                    .hint(format!(
                        "0-{} characters: letters, digits, `_`, `-`, `.`",
                        ims::TAG_VALUE_MAX
                    )),
            );
            continue;
        }
        tags.insert(key.to_owned(), tag_value);
    }
    tags
}

/// Consumer project ids: 32 lower-case hex digits each, at most [`ims::MEMBERS_MAX`]; a
/// project listed twice is a warning.
fn share_with(
    walker: &mut Walker<'_>,
    node: &Node,
    what: &str,
) -> Option<Spanned<BTreeSet<String>>> {
    let label = walker.label(node);
    let items = walker.list(node, what)?;
    let mut projects = BTreeSet::new();
    let mut valid = true;
    for item in items {
        let Some(project) = walker.text(item, &format!("an entry of {what}")) else {
            valid = false;
            continue;
        };
        if !ims::is_project_id(&project.value) {
            valid = false;
            walker.push(
                Diagnostic::error(format!("`{}` in {what} is not a project id", project.value))
                    .at(project.label)
                    .hint("a consumer project id: 32 lower-case hex digits, as IAM shows it"),
            );
        } else if !projects.insert(project.value.clone()) {
            walker.push(
                Diagnostic::warning(format!(
                    "project `{}` is listed twice in {what}",
                    project.value
                ))
                .at(project.label),
            );
        }
    }
    if projects.len() > ims::MEMBERS_MAX {
        walker.push(
            Diagnostic::error(format!(
                "{what} lists {} projects; IMS allows at most {} members per image",
                projects.len(),
                ims::MEMBERS_MAX
            ))
            .at(label.clone()),
        );
        return None;
    }
    valid.then_some(Spanned {
        value: projects,
        label,
    })
}

fn lifecycle(walker: &mut Walker<'_>, node: &Node, fields: &mut ImageFields, what: &str) {
    let context = format!("`lifecycle` of {what}");
    let Some(mapping) = walker.mapping(node, &context) else {
        return;
    };
    walker.unknown_keys(mapping, &LIFECYCLE_KEYS, &context);
    for (key, value) in mapping.iter() {
        match key.as_str() {
            "prevent_destroy" => {
                let at = format!("`lifecycle.prevent_destroy` of {what}");
                fields.prevent_destroy = walker.bool(value, &at).map(|b| b.value);
            }
            "replace_order" => fields.replace_order = replace_order(walker, value, what),
            "ignore_changes" => fields.ignore_changes = ignore_changes(walker, value, what),
            _ => {}
        }
    }
}

fn replace_order(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<ReplaceOrder> {
    let text = walker.string(node, &format!("`lifecycle.replace_order` of {what}"))?;
    match text.value.as_str() {
        "create_before_destroy" => Some(ReplaceOrder::CreateBeforeDestroy),
        "destroy_before_create" => Some(ReplaceOrder::DestroyBeforeCreate),
        other => {
            walker.push(
                Diagnostic::error(format!("`{other}` is not a replace order"))
                    .at(text.label)
                    .hint(format!("one of: {}", REPLACE_ORDERS.join(", "))),
            );
            None
        }
    }
}

fn ignore_changes(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<BTreeSet<Field>> {
    let at = format!("`lifecycle.ignore_changes` of {what}");
    let items = walker.list(node, &at)?;
    let mut fields = BTreeSet::new();
    let mut valid = true;
    for item in items {
        let Some(text) = walker.string(item, &format!("an entry of {at}")) else {
            valid = false;
            continue;
        };
        match Field::ALL.iter().find(|f| f.as_str() == text.value) {
            Some(field) if fields.insert(*field) => {}
            Some(_) => walker.push(
                Diagnostic::warning(format!("`{}` is listed twice in {at}", text.value))
                    .at(text.label),
            ),
            None => {
                valid = false;
                let near = closest(&text.value, Field::ALL.iter().map(|f| f.as_str()));
                let hint = match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("fields: {}", Field::ALL.map(Field::as_str).join(", ")),
                };
                walker.push(
                    Diagnostic::error(format!("`{}` is not an image field", text.value))
                        .at(text.label)
                        .hint(hint),
                );
            }
        }
    }
    valid.then_some(fields)
}
