//! The JSON of the image kind: a `resource_changes` or `resource_drift` entry of type
//! `imsform_image` at `images.<key>` (Terraform's `name` is the key), its attributes with the
//! id and status, and their reading back into the plan's image types.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::terraform::{ProviderName, Sensitive};
use super::{Unknown, action_of, actions, borrowed, check_resource, read_reason};
use crate::manifest::model::{Address, DiskFormat, ImageAttrs, Kind};
use crate::plan::{Action, FieldChange, ImageChange, ImageDrift, StatusChange};
use crate::state::Taint;

mod views;

pub use views::{ImageBlock, ImageEntry, OutputChange};
pub(super) use views::{block, output, planned, prior};

/// An image's attributes with its id and status: the same keys in `before` and `after`,
/// `null` where not known.
#[derive(Serialize, Deserialize)]
pub struct Object<'a> {
    pub id: Option<Cow<'a, str>>,
    pub name: Cow<'a, str>,
    pub image_url: Cow<'a, str>,
    pub os_version: Cow<'a, str>,
    pub disk_format: DiskFormat,
    pub min_disk: u32,
    pub min_ram: u32,
    pub description: Option<Cow<'a, str>>,
    pub tags: Cow<'a, BTreeMap<String, String>>,
    pub protected: bool,
    /// Absent in plans saved before sharing existed.
    #[serde(default)]
    pub share_with: Cow<'a, BTreeSet<String>>,
    pub status: Option<Cow<'a, str>>,
}

fn object<'a>(attrs: &'a ImageAttrs, id: Option<&'a str>, status: Option<&'a str>) -> Object<'a> {
    Object {
        id: id.map(Cow::Borrowed),
        name: Cow::Borrowed(&attrs.name),
        image_url: Cow::Borrowed(&attrs.image_url),
        os_version: Cow::Borrowed(&attrs.os_version),
        disk_format: attrs.disk_format,
        min_disk: attrs.min_disk,
        min_ram: attrs.min_ram,
        description: attrs.description.as_deref().map(Cow::Borrowed),
        tags: Cow::Borrowed(&attrs.tags),
        protected: attrs.protected,
        share_with: Cow::Borrowed(&attrs.share_with),
        status: status.map(Cow::Borrowed),
    }
}

impl Object<'_> {
    /// The attributes alone, owned.
    pub fn attrs(&self) -> ImageAttrs {
        ImageAttrs {
            name: self.name.to_string(),
            image_url: self.image_url.to_string(),
            os_version: self.os_version.to_string(),
            disk_format: self.disk_format,
            min_disk: self.min_disk,
            min_ram: self.min_ram,
            description: self.description.as_deref().map(str::to_owned),
            tags: self.tags.clone().into_owned(),
            protected: self.protected,
            share_with: self.share_with.clone().into_owned(),
        }
    }
}

/// One resource change, with Terraform's `type`, `name` and `mode`.
#[derive(Serialize, Deserialize)]
pub struct JsonChange<'a> {
    pub address: Cow<'a, Address>,
    pub previous_address: Option<Cow<'a, Address>>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(skip_deserializing)]
    pub provider_name: ProviderName,
    pub image_id: Option<Cow<'a, str>>,
    pub action_reason: Option<Cow<'a, str>>,
    /// Why a tainted image is replaced, as recorded (e.g. the failed job's code and message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taint: Option<Cow<'a, Taint>>,
    /// Each member's answer to the share, by consumer project id, as refresh read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_status: Option<Cow<'a, BTreeMap<String, String>>>,
    pub change: ChangeBody<'a>,
}

#[derive(Serialize, Deserialize)]
pub struct ChangeBody<'a> {
    pub actions: Vec<Cow<'a, str>>,
    pub before: Option<Object<'a>>,
    pub after: Option<Object<'a>>,
    pub after_unknown: Unknown,
    #[serde(skip_deserializing)]
    pub before_sensitive: Sensitive,
    #[serde(skip_deserializing)]
    pub after_sensitive: Sensitive,
    pub replace_paths: Vec<[Cow<'a, str>; 1]>,
    pub field_changes: Cow<'a, [FieldChange]>,
    /// Terraform's `change.importing`: the image an `import` entry brings under the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importing: Option<Importing<'a>>,
}

/// Terraform's `importing` object: `{"id": ...}`.
#[derive(Serialize, Deserialize)]
pub struct Importing<'a> {
    pub id: Cow<'a, str>,
}

/// `type`, `name` and `mode` of an address, as Terraform names a managed resource.
fn resource_words(address: &Address) -> (Cow<'static, str>, Cow<'_, str>, Cow<'static, str>) {
    (
        Cow::Borrowed(Kind::Image.type_name()),
        Cow::Borrowed(address.key()),
        Cow::Borrowed("managed"),
    )
}

impl<'a> JsonChange<'a> {
    pub(super) fn of(change: &'a ImageChange) -> JsonChange<'a> {
        let creates = matches!(change.action, Action::Create | Action::Replace { .. });
        let id = change.prior_id.as_deref();
        let status = change.prior_status.as_deref();
        let unknown = creates.then_some(true);
        let (kind, name, mode) = resource_words(&change.address);
        JsonChange {
            address: Cow::Borrowed(&change.address),
            previous_address: change.moved_from.as_ref().map(Cow::Borrowed),
            kind,
            name,
            mode,
            provider_name: ProviderName,
            image_id: id.map(Cow::Borrowed),
            action_reason: change.reason.map(|r| Cow::Borrowed(r.as_str())),
            taint: change.taint.as_ref().map(Cow::Borrowed),
            member_status: (!change.member_status.is_empty())
                .then_some(Cow::Borrowed(&change.member_status)),
            change: ChangeBody {
                actions: borrowed(actions(change.action)),
                before: change.before.as_ref().map(|b| object(b, id, status)),
                after: after_object(change),
                after_unknown: Unknown {
                    id: unknown,
                    status: unknown,
                },
                before_sensitive: Sensitive::of(&change.before),
                after_sensitive: Sensitive::of(&change.after),
                replace_paths: change
                    .field_changes
                    .iter()
                    .filter(|c| c.forces_replacement)
                    .map(|c| [Cow::Borrowed(c.field.as_str())])
                    .collect(),
                field_changes: Cow::Borrowed(&change.field_changes),
                importing: change.importing.as_deref().map(|id| Importing {
                    id: Cow::Borrowed(id),
                }),
            },
        }
    }
}

/// The image after the change: its id and status kept unless a new image is created.
fn after_object(change: &ImageChange) -> Option<Object<'_>> {
    let creates = matches!(change.action, Action::Create | Action::Replace { .. });
    let kept = (!creates).then_some(());
    let (id, status) = (change.prior_id.as_deref(), change.prior_status.as_deref());
    let after = change.after.as_ref()?;
    Some(object(after, kept.and(id), kept.and(status)))
}

/// One object changed outside imsform, shaped like a resource change.
#[derive(Serialize, Deserialize)]
pub struct JsonDrift<'a> {
    pub address: Cow<'a, Address>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(skip_deserializing)]
    pub provider_name: ProviderName,
    pub image_id: Cow<'a, str>,
    pub change: DriftBody<'a>,
}

#[derive(Serialize, Deserialize)]
pub struct DriftBody<'a> {
    pub actions: Vec<Cow<'a, str>>,
    pub before: Object<'a>,
    pub after: Option<Object<'a>>,
    /// Terraform's; always `{}`: what refresh read is known.
    #[serde(skip_deserializing)]
    pub after_unknown: Unknown,
    #[serde(skip_deserializing)]
    pub before_sensitive: Sensitive,
    #[serde(skip_deserializing)]
    pub after_sensitive: Sensitive,
    pub field_changes: Cow<'a, [FieldChange]>,
    /// The status before and after, when it changed to one that matters (`killed`, `deleted`).
    pub status_change: Option<Cow<'a, StatusChange>>,
}

impl<'a> JsonDrift<'a> {
    pub(super) fn of(drift: &'a ImageDrift) -> JsonDrift<'a> {
        let id = Some(drift.image_id.as_str());
        let before_status = drift.status.as_ref().map(|s| s.before.as_str());
        let after_status = drift.status.as_ref().map(|s| s.after.as_str());
        let (kind, name, mode) = resource_words(&drift.address);
        JsonDrift {
            address: Cow::Borrowed(&drift.address),
            kind,
            name,
            mode,
            provider_name: ProviderName,
            image_id: Cow::Borrowed(&drift.image_id),
            change: DriftBody {
                actions: borrowed(if drift.deleted() {
                    &["delete"]
                } else {
                    &["update"]
                }),
                before: object(&drift.before, id, before_status),
                after: drift.after.as_ref().map(|a| object(a, id, after_status)),
                after_unknown: Unknown::default(),
                before_sensitive: Sensitive(true),
                after_sensitive: Sensitive::of(&drift.after),
                field_changes: Cow::Borrowed(&drift.field_changes),
                status_change: drift.status.as_ref().map(Cow::Borrowed),
            },
        }
    }
}

impl JsonChange<'static> {
    /// The change this entry describes, or what is wrong with it.
    pub(super) fn read(self) -> Result<ImageChange, String> {
        let address = self.address.into_owned();
        let words = (&*self.kind, &*self.name, &*self.mode);
        check_resource(&address, Kind::Image, words, &address)?;
        let action = action_of(&self.change.actions)
            .ok_or_else(|| format!("{address}: unknown actions {:?}", self.change.actions))?;
        let reason = read_reason(&address, self.action_reason)?;
        let body = self.change;
        Ok(ImageChange {
            action,
            reason,
            prior_id: self.image_id.map(Cow::into_owned),
            prior_status: body
                .before
                .as_ref()
                .and_then(|b| b.status.as_deref().map(str::to_owned)),
            before: body.before.as_ref().map(Object::attrs),
            after: body.after.as_ref().map(Object::attrs),
            importing: body.importing.map(|i| i.id.into_owned()),
            field_changes: body.field_changes.into_owned(),
            moved_from: self.previous_address.map(Cow::into_owned),
            taint: self.taint.map(Cow::into_owned),
            member_status: self.member_status.map(Cow::into_owned).unwrap_or_default(),
            address,
        })
    }
}

impl JsonDrift<'static> {
    /// The drift this entry describes, or what is wrong with it.
    pub(super) fn read(self) -> Result<ImageDrift, String> {
        let address = self.address.into_owned();
        let words = (&*self.kind, &*self.name, &*self.mode);
        check_resource(&address, Kind::Image, words, &address)?;
        let body = self.change;
        Ok(ImageDrift {
            image_id: self.image_id.into_owned(),
            before: body.before.attrs(),
            after: body.after.as_ref().map(Object::attrs),
            field_changes: body.field_changes.into_owned(),
            status: body.status_change.map(Cow::into_owned),
            address,
        })
    }
}
