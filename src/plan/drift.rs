//! Comparing attributes: the field-level diff of two [`ImageAttrs`], the refreshed view of a
//! state record (its record with the cloud's values of the fields that can drift, and of
//! `image_url` where the cloud reports it), and drift
//! detection ("Objects changed outside imsform"). Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::image::{ImageDrift, StatusChange};
use super::model::{FieldChange, TagChange};
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, ChangeKind, Field, ImageAttrs, TOKEN_TAG};
use crate::state::{ImageRecord, Observed};

/// One attribute's value, as plans show it.
pub(crate) fn field_value(attrs: &ImageAttrs, field: Field) -> Value {
    match field {
        Field::Name => Value::from(attrs.name.as_str()),
        Field::ImageUrl => Value::from(attrs.image_url.as_str()),
        Field::OsVersion => Value::from(attrs.os_version.as_str()),
        Field::DiskFormat => Value::from(attrs.disk_format.as_str()),
        Field::MinDisk => Value::from(attrs.min_disk),
        Field::MinRam => Value::from(attrs.min_ram),
        Field::Description => attrs
            .description
            .as_deref()
            .map_or(Value::Null, Value::from),
        Field::Tags => Value::Object(
            attrs
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        ),
        Field::Protected => Value::Bool(attrs.protected),
        Field::ShareWith => Value::Array(
            attrs
                .share_with
                .iter()
                .map(|p| Value::from(p.as_str()))
                .collect(),
        ),
    }
}

/// The fields of `fields` that differ between `before` and `after`, in [`Field::ALL`] order.
pub(super) fn diff_attrs(
    before: &ImageAttrs,
    after: &ImageAttrs,
    fields: impl Iterator<Item = Field>,
) -> Vec<FieldChange> {
    fields
        .filter(|&field| differs(before, after, field))
        .filter_map(|field| {
            let tags = if field == Field::Tags {
                diff_tags(&before.tags, &after.tags)
            } else {
                Vec::new()
            };
            if field == Field::Tags && tags.is_empty() {
                return None; // only the reserved token tag differs
            }
            let (b, a) = (field_value(before, field), field_value(after, field));
            (b != a).then(|| FieldChange {
                field,
                before: b,
                after: a,
                forces_replacement: field.change_kind() == ChangeKind::Replace,
                tags,
            })
        })
        .collect()
}

/// Whether `field` differs, compared natively (plans of thousands of images compare every
/// field of every image; building JSON values is kept for the few that differ).
fn differs(before: &ImageAttrs, after: &ImageAttrs, field: Field) -> bool {
    match field {
        Field::Name => before.name != after.name,
        Field::ImageUrl => before.image_url != after.image_url,
        Field::OsVersion => before.os_version != after.os_version,
        Field::DiskFormat => before.disk_format != after.disk_format,
        Field::MinDisk => before.min_disk != after.min_disk,
        Field::MinRam => before.min_ram != after.min_ram,
        Field::Description => before.description != after.description,
        Field::Tags => before.tags != after.tags,
        Field::Protected => before.protected != after.protected,
        Field::ShareWith => before.share_with != after.share_with,
    }
}

/// Tag keys added, removed or changed. The reserved token tag never appears.
fn diff_tags(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<TagChange> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| key.as_str() != TOKEN_TAG)
        .filter_map(|key| {
            let (b, a) = (before.get(key), after.get(key));
            (b != a).then(|| TagChange {
                key: key.clone(),
                before: b.cloned(),
                after: a.cloned(),
            })
        })
        .collect()
}

/// `record` with the cloud's values of the fields that can drift, except the ignored ones.
pub(crate) fn refreshed(
    record: &ImageAttrs,
    remote: &RemoteImage,
    ignore: &BTreeSet<Field>,
) -> ImageAttrs {
    let mut attrs = record.clone();
    let keep = |field: Field| field.can_drift() && !ignore.contains(&field);
    if keep(Field::Name) {
        attrs.name.clone_from(&remote.name);
    }
    if keep(Field::MinRam) {
        attrs.min_ram = remote.min_ram;
    }
    if keep(Field::Description) {
        attrs.description = remote.description.clone().filter(|d| !d.is_empty());
    }
    // image_url cannot change after registration, but the cloud may report another file than
    // the record (an image imported under a manifest naming another file): it is the truth.
    if !ignore.contains(&Field::ImageUrl)
        && let Some(url) = &remote.image_url
    {
        attrs.image_url.clone_from(url);
    }
    if keep(Field::Tags) {
        attrs.tags = remote
            .tags
            .iter()
            .filter(|(k, _)| k.as_str() != TOKEN_TAG)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    // Members are read only for images that share (design.md section 10); unread, the record
    // stands.
    if keep(Field::ShareWith)
        && let Some(members) = &remote.members
    {
        attrs.share_with = members.keys().cloned().collect();
    }
    attrs
}

/// What the state records as observed of `image`.
pub fn observed(image: &RemoteImage) -> Observed {
    Observed {
        status: image.status.as_str().to_owned(),
        checksum: image.checksum.clone(),
        size: image.size,
        updated_at: image.updated_at.clone(),
    }
}

/// Whether the cloud's view means the image is gone.
pub(super) fn is_gone(remote: Option<&RemoteImage>) -> bool {
    remote.is_none_or(|image| image.status == ImageStatus::Deleted)
}

/// What changed outside imsform for one managed image, or `None`. `remote` is what refresh saw
/// under the record's id (`None`: not found).
pub(super) fn detect(
    address: &Address,
    record: &ImageRecord,
    remote: Option<&RemoteImage>,
    ignore: &BTreeSet<Field>,
) -> Option<ImageDrift> {
    let base = ImageDrift {
        address: address.clone(),
        image_id: record.id.clone(),
        before: record.attributes.clone(),
        after: None,
        field_changes: Vec::new(),
        status: None,
    };
    let image = match remote {
        Some(image) if !is_gone(remote) => image,
        _ => return Some(base),
    };
    let after = refreshed(&record.attributes, image, ignore);
    let field_changes = diff_attrs(
        &record.attributes,
        &after,
        Field::ALL
            .into_iter()
            .filter(|f| f.can_drift() || *f == Field::ImageUrl),
    );
    let before_status = record
        .observed
        .as_ref()
        .map_or("active", |o| o.status.as_str());
    // A tainted record already knows its image failed (imsform's own registration job killed
    // it): that is the planned replace's reason, not a change made outside imsform.
    let known_failed = before_status == "killed" || record.tainted.is_some();
    let status = (image.status == ImageStatus::Killed && !known_failed).then(|| StatusChange {
        before: before_status.to_owned(),
        after: image.status.as_str().to_owned(),
    });
    if field_changes.is_empty() && status.is_none() {
        return None;
    }
    Some(ImageDrift {
        after: Some(after),
        field_changes,
        status,
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::*;
    use crate::plan::{Action, PlanOptions, Reason};

    #[test]
    fn an_image_url_the_cloud_reports_differently_is_drift_and_forces_replacement() {
        let record = record("img-1", attrs("web"));
        let mut image = remote("img-1", &attrs("web"), ImageStatus::Active);
        assert!(detect(&addr("web"), &record, Some(&image), &BTreeSet::new()).is_none());
        image.image_url = Some("bucket:other.qcow2".into());
        let drift = detect(&addr("web"), &record, Some(&image), &BTreeSet::new()).unwrap();
        assert_eq!(drift.field_changes.len(), 1);
        assert_eq!(drift.field_changes[0].field, Field::ImageUrl);
        assert_eq!(drift.field_changes[0].after, "bucket:other.qcow2");
        let ignored = BTreeSet::from([Field::ImageUrl]);
        assert!(detect(&addr("web"), &record, Some(&image), &ignored).is_none());
        // The plan shows the difference from the manifest, as a replacement.
        let state = state([("web", record)]);
        let mut view = view_of(&state);
        view.images.insert("img-1".into(), image.clone());
        let desired = manifests([spec("web", attrs("web"))]);
        let plan = crate::plan::plan(&desired, Some(&state), Some(&view), &PlanOptions::default())
            .unwrap();
        assert!(matches!(
            plan.image_changes()[0].action,
            Action::Replace { .. }
        ));
        assert_eq!(
            plan.image_changes()[0].reason,
            Some(Reason::ReplaceBecauseCannotUpdate)
        );
        assert_eq!(plan.image_drift().len(), 1);
        // Where the cloud does not report it, nothing changes.
        image.image_url = None;
        view.images.insert("img-1".into(), image);
        let plan = crate::plan::plan(&desired, Some(&state), Some(&view), &PlanOptions::default())
            .unwrap();
        assert_eq!(plan.image_changes()[0].action, Action::NoOp);
        assert!(plan.image_drift().is_empty());
    }
}
