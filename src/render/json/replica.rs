//! The JSON of a replica change: a `resource_changes` entry of type `imsform_image_replica`
//! at the address `images.<key>.replicas["REGION"]` (Terraform's `name` is the image key and
//! its `index` the region, as for a resource with `for_each`), and its reading back.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{Unknown, actions, borrowed};
use crate::manifest::model::{Address, replica_address};
use crate::plan::{Action, FieldChange, Reason, ReplicaAttrs, ReplicaChange};

/// Terraform's resource `type` of a replica.
pub const REPLICA_TYPE: &str = "imsform_image_replica";

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
    pub fn of(change: &'a ReplicaChange) -> JsonReplicaChange<'a> {
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
            address: Cow::Owned(change.address()),
            kind: Cow::Borrowed(REPLICA_TYPE),
            name: Cow::Borrowed(change.image.key()),
            index: Cow::Borrowed(region),
            mode: Cow::Borrowed("managed"),
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
                replace_paths,
                field_changes: Cow::Borrowed(&change.field_changes),
            },
        }
    }

    /// The change this entry describes, or what is wrong with it.
    pub fn read(self) -> Result<ReplicaChange, String> {
        let image = Address::parse(&format!("{}{}", Address::PREFIX, self.name))?;
        let region = self.index.into_owned();
        let address = replica_address(&image, &region);
        if self.address != address || self.kind != REPLICA_TYPE || self.mode != "managed" {
            return Err(format!(
                "{}: address, type and mode must be {address}, {REPLICA_TYPE}, managed",
                self.address
            ));
        }
        let action = super::action_of(&self.change.actions)
            .ok_or_else(|| format!("{address}: unknown actions {:?}", self.change.actions))?;
        let reason = match self.action_reason {
            None => None,
            Some(text) => Some(
                Reason::parse(&text)
                    .ok_or_else(|| format!("{address}: unknown action_reason `{text}`"))?,
            ),
        };
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
