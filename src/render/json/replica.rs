//! The JSON of the replica kind: a `resource_changes` or `resource_drift` entry of type
//! `imsform_image_replica` at the address `images.<key>.replicas["REGION"]` (Terraform's `name`
//! is the image key and its `index` the region, as for a resource with `for_each`), and its
//! reading back.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::terraform::{ProviderName, Sensitive};
use super::{Unknown, action_of, actions, borrowed, check_resource, read_reason};
use crate::manifest::model::{Address, InstanceAddress, Kind};
use crate::plan::{Action, FieldChange, ReplicaAttrs, ReplicaChange, ReplicaDrift};

mod views;

pub use views::{ReplicaEntry, ReplicasBlock};
pub(super) use views::{block, planned, prior};

/// One replica change.
#[derive(Serialize, Deserialize)]
pub struct JsonReplicaChange<'a> {
    pub address: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    /// The source image's key.
    pub name: Cow<'a, str>,
    /// The region.
    pub index: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(skip_deserializing)]
    pub provider_name: ProviderName,
    pub image_id: Option<Cow<'a, str>>,
    pub action_reason: Option<Cow<'a, str>>,
    pub change: ReplicaBody<'a>,
}

#[derive(Serialize, Deserialize)]
pub struct ReplicaBody<'a> {
    pub actions: Vec<Cow<'a, str>>,
    pub before: Option<ReplicaObject<'a>>,
    pub after: Option<ReplicaObject<'a>>,
    pub after_unknown: Unknown,
    #[serde(skip_deserializing)]
    pub before_sensitive: Sensitive,
    #[serde(skip_deserializing)]
    pub after_sensitive: Sensitive,
    pub replace_paths: Vec<[Cow<'a, str>; 1]>,
    pub field_changes: Cow<'a, [FieldChange]>,
}

/// A replica's attributes with its id: the same keys in `before` and `after`.
#[derive(Serialize, Deserialize)]
pub struct ReplicaObject<'a> {
    pub id: Option<Cow<'a, str>>,
    pub region: Cow<'a, str>,
    pub project: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub description: Option<Cow<'a, str>>,
    /// `null`: known after apply (the source is created by the same apply).
    pub source_id: Option<Cow<'a, str>>,
}

fn object<'a>(attrs: &'a ReplicaAttrs, region: &'a str, id: Option<&'a str>) -> ReplicaObject<'a> {
    ReplicaObject {
        id: id.map(Cow::Borrowed),
        region: Cow::Borrowed(region),
        project: Cow::Borrowed(&attrs.project),
        name: Cow::Borrowed(&attrs.name),
        description: attrs.description.as_deref().map(Cow::Borrowed),
        source_id: attrs.source_id.as_deref().map(Cow::Borrowed),
    }
}

impl ReplicaObject<'_> {
    fn attrs(&self) -> ReplicaAttrs {
        ReplicaAttrs {
            name: self.name.to_string(),
            description: self.description.as_deref().map(str::to_owned),
            project: self.project.to_string(),
            source_id: self.source_id.as_deref().map(str::to_owned),
        }
    }
}

impl<'a> JsonReplicaChange<'a> {
    pub(super) fn of(change: &'a ReplicaChange) -> JsonReplicaChange<'a> {
        let creates = matches!(change.action, Action::Create | Action::Replace { .. });
        let id = change.prior_id.as_deref();
        let region = change.region.as_str();
        let mut replace_paths = Vec::new();
        if let (Some(before), Some(after), Action::Replace { .. }) =
            (&change.before, &change.after, change.action)
        {
            if before.source_id != after.source_id {
                replace_paths.push([Cow::Borrowed("source_id")]);
            }
            if before.project != after.project {
                replace_paths.push([Cow::Borrowed("project")]);
            }
        }
        JsonReplicaChange {
            address: Cow::Owned(change.address().to_string()),
            kind: Cow::Borrowed(Kind::Replica.type_name()),
            name: Cow::Borrowed(change.image.key()),
            index: Cow::Borrowed(region),
            mode: Cow::Borrowed("managed"),
            provider_name: ProviderName,
            image_id: id.map(Cow::Borrowed),
            action_reason: change.reason.map(|r| Cow::Borrowed(r.as_str())),
            change: ReplicaBody {
                actions: borrowed(actions(change.action)),
                before: change.before.as_ref().map(|b| object(b, region, id)),
                after: change
                    .after
                    .as_ref()
                    .map(|a| object(a, region, (!creates).then_some(id).flatten())),
                after_unknown: Unknown {
                    id: creates.then_some(true),
                    status: None,
                },
                before_sensitive: Sensitive::of(&change.before),
                after_sensitive: Sensitive::of(&change.after),
                replace_paths,
                field_changes: Cow::Borrowed(&change.field_changes),
            },
        }
    }

    /// The change this entry describes, or what is wrong with it.
    pub(super) fn read(self) -> Result<ReplicaChange, String> {
        let (image, region) = read_address(&self.address, (&self.kind, &self.name, &self.mode))?;
        let action = action_of(&self.change.actions).ok_or_else(|| {
            format!(
                "{}: unknown actions {:?}",
                self.address, self.change.actions
            )
        })?;
        let reason = read_reason(&self.address, self.action_reason)?;
        Ok(ReplicaChange {
            image,
            region,
            action,
            reason,
            prior_id: self.image_id.map(Cow::into_owned),
            before: self.change.before.as_ref().map(ReplicaObject::attrs),
            after: self.change.after.as_ref().map(ReplicaObject::attrs),
            field_changes: self.change.field_changes.into_owned(),
        })
    }
}

/// The image and region of a replica entry's `address`, checked against its `type`, `name` and
/// `mode`.
fn read_address(address: &str, words: (&str, &str, &str)) -> Result<(Address, String), String> {
    let Ok(InstanceAddress::Replica { image, region }) = InstanceAddress::parse(address) else {
        return Err(format!("{address}: not a replica address"));
    };
    check_resource(&address, Kind::Replica, words, &image)?;
    Ok((image, region))
}

/// One replica changed outside imsform, shaped like a replica change.
#[derive(Serialize, Deserialize)]
pub struct JsonReplicaDrift<'a> {
    pub address: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub index: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(skip_deserializing)]
    pub provider_name: ProviderName,
    pub image_id: Cow<'a, str>,
    pub change: ReplicaDriftBody<'a>,
}

#[derive(Serialize, Deserialize)]
pub struct ReplicaDriftBody<'a> {
    pub actions: Vec<Cow<'a, str>>,
    pub before: ReplicaObject<'a>,
    pub after: Option<ReplicaObject<'a>>,
    /// Terraform's; always `{}`: what refresh read is known.
    #[serde(skip_deserializing)]
    pub after_unknown: Unknown,
    #[serde(skip_deserializing)]
    pub before_sensitive: Sensitive,
    #[serde(skip_deserializing)]
    pub after_sensitive: Sensitive,
    pub field_changes: Cow<'a, [FieldChange]>,
}

impl<'a> JsonReplicaDrift<'a> {
    pub(super) fn of(drift: &'a ReplicaDrift) -> JsonReplicaDrift<'a> {
        let (region, id) = (drift.region.as_str(), Some(drift.image_id.as_str()));
        let deleted = drift.after.is_none();
        JsonReplicaDrift {
            address: Cow::Owned(drift.address().to_string()),
            kind: Cow::Borrowed(Kind::Replica.type_name()),
            name: Cow::Borrowed(drift.image.key()),
            index: Cow::Borrowed(region),
            mode: Cow::Borrowed("managed"),
            provider_name: ProviderName,
            image_id: Cow::Borrowed(&drift.image_id),
            change: ReplicaDriftBody {
                actions: borrowed(if deleted { &["delete"] } else { &["update"] }),
                before: object(&drift.before, region, id),
                after: drift.after.as_ref().map(|a| object(a, region, id)),
                after_unknown: Unknown::default(),
                before_sensitive: Sensitive(true),
                after_sensitive: Sensitive::of(&drift.after),
                field_changes: Cow::Borrowed(&drift.field_changes),
            },
        }
    }

    /// The drift this entry describes, or what is wrong with it.
    pub(super) fn read(self) -> Result<ReplicaDrift, String> {
        let (image, region) = read_address(&self.address, (&self.kind, &self.name, &self.mode))?;
        Ok(ReplicaDrift {
            image,
            region,
            image_id: self.image_id.into_owned(),
            before: self.change.before.attrs(),
            after: self.change.after.as_ref().map(ReplicaObject::attrs),
            field_changes: self.change.field_changes.into_owned(),
        })
    }
}
