//! The JSON rendering of a plan, shaped like Terraform's `show -json` where it applies and
//! documented by `schema/plan.schema.json` (a test validates rendered plans against it).
//! Serialized from borrowed structs (plans of 10,000 images render in milliseconds), so keys
//! come out in declaration order and the output is stable.
//!
//! The same types read a document back (owned through `Cow`): a saved plan file is this
//! document plus an envelope, and `planfile` turns it back into the [`Plan`] apply carries out.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::model::{Address, DiskFormat, ImageAttrs, ReplaceOrder};
use crate::plan::{
    Action, Drift, FieldChange, Move, NameCollision, Plan, PlanMode, Recovery, ReplicaDrift,
    ReplicaRecovery, ResourceChange, StatusChange, Targeting, Untracked, UntrackedAction,
};
use crate::state::{ImageRecord, Taint};

mod replica;

pub use replica::{JsonReplicaChange, REPLICA_TYPE};

/// The version of this JSON format.
pub const FORMAT_VERSION: &str = "1.0";

/// Writes `plan` as one JSON document and a newline.
pub fn write_plan(out: &mut impl Write, plan: &Plan) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &JsonPlan::of(plan))?;
    writeln!(out)
}

/// The JSON document of `plan`.
pub fn to_value(plan: &Plan) -> Value {
    // Serializing plain data with string keys into a Value cannot fail.
    serde_json::to_value(JsonPlan::of(plan)).unwrap_or(Value::Null)
}

/// Terraform's resource `type` of an image.
pub const RESOURCE_TYPE: &str = "imsform_image";

/// The document. `'static` when read back (every borrowed part is then owned).
#[derive(Serialize, Deserialize)]
pub struct JsonPlan<'a> {
    pub format_version: Cow<'a, str>,
    pub imsform_version: Cow<'a, str>,
    /// RFC 3339; when the plan was made.
    pub timestamp: Option<Cow<'a, str>>,
    pub mode: PlanMode,
    pub lineage: Option<Cow<'a, str>>,
    pub serial: Option<u64>,
    pub refreshed: bool,
    /// Terraform's: whether applying would change anything.
    pub applyable: bool,
    /// Terraform's: false when targeting may have left changes out.
    pub complete: bool,
    /// Terraform's: imsform never writes a plan that failed, so always false.
    pub errored: bool,
    /// The `--target`/`--exclude` patterns in effect, `null` when none.
    pub targeting: Option<Cow<'a, Targeting>>,
    /// The images' changes, then the replicas'.
    pub resource_changes: Vec<JsonResource<'a>>,
    pub resource_drift: Vec<JsonDrift<'a>>,
    pub recovery: Cow<'a, [Recovery]>,
    pub untracked: Vec<JsonUntracked<'a>>,
    /// `moved` entries that rename a state address.
    pub moved: Cow<'a, [Move]>,
    /// Planned creates named like images that imsform does not manage.
    pub name_collisions: Cow<'a, [NameCollision]>,
    /// Replicas changed outside imsform; absent when none.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub replica_drift: Cow<'a, [ReplicaDrift]>,
    /// What the recovery of the journal's copies and replica deletes will do; absent when none.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub replica_recovery: Cow<'a, [ReplicaRecovery]>,
    pub summary: Summary,
}

/// An image of this lineage the state does not know, and what the plan does with it.
#[derive(Serialize, Deserialize)]
pub struct JsonUntracked<'a> {
    pub image_id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub status: Cow<'a, str>,
    pub token: Cow<'a, str>,
    /// `report` (left alone), `adopt` or `delete`.
    pub action: Cow<'a, str>,
    /// The address it is adopted at (`adopt`), or would be with `--adopt-untracked` (`report`).
    pub address: Option<Cow<'a, Address>>,
    /// For `adopt`: the record the state takes, as the plan diffed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Cow<'a, ImageRecord>>,
    /// A copy's region (a replica region), absent for the configured region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Cow<'a, str>>,
}

impl<'a> JsonUntracked<'a> {
    fn of(untracked: &'a Untracked) -> JsonUntracked<'a> {
        let (action, address, record) = match &untracked.action {
            UntrackedAction::Report { matches } => ("report", matches.as_ref(), None),
            UntrackedAction::Adopt { address, record } => {
                ("adopt", Some(address), Some(Cow::Borrowed(&**record)))
            }
            UntrackedAction::Delete => ("delete", None, None),
        };
        JsonUntracked {
            image_id: Cow::Borrowed(&untracked.image_id),
            name: Cow::Borrowed(&untracked.name),
            status: Cow::Borrowed(&untracked.status),
            token: Cow::Borrowed(&untracked.token),
            action: Cow::Borrowed(action),
            address: address.map(Cow::Borrowed),
            record,
            region: untracked.region.as_deref().map(Cow::Borrowed),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub has_changes: bool,
}

impl<'a> JsonPlan<'a> {
    pub fn of(plan: &'a Plan) -> JsonPlan<'a> {
        let counts = plan.counts();
        JsonPlan {
            format_version: Cow::Borrowed(FORMAT_VERSION),
            imsform_version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            timestamp: plan.timestamp.as_deref().map(Cow::Borrowed),
            mode: plan.mode,
            lineage: plan
                .prior_state
                .as_ref()
                .map(|s| Cow::Borrowed(&*s.lineage)),
            serial: plan.prior_state.as_ref().map(|s| s.serial),
            refreshed: plan.refreshed,
            applyable: plan.has_changes(),
            complete: plan.targeting.is_none(),
            errored: false,
            targeting: plan.targeting.as_ref().map(Cow::Borrowed),
            resource_changes: plan
                .changes
                .iter()
                .map(|c| JsonResource::Image(Box::new(JsonChange::of(c))))
                .chain(
                    plan.replicas
                        .iter()
                        .map(|c| JsonResource::Replica(Box::new(JsonReplicaChange::of(c)))),
                )
                .collect(),
            resource_drift: plan.drift.iter().map(JsonDrift::of).collect(),
            recovery: Cow::Borrowed(&plan.recovery),
            untracked: plan.untracked.iter().map(JsonUntracked::of).collect(),
            moved: Cow::Borrowed(&plan.moves),
            name_collisions: Cow::Borrowed(&plan.name_collisions),
            replica_drift: Cow::Borrowed(&plan.replica_drift),
            replica_recovery: Cow::Borrowed(&plan.replica_recovery),
            summary: Summary {
                add: counts.add,
                change: counts.change,
                destroy: counts.destroy,
                has_changes: plan.has_changes(),
            },
        }
    }
}

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

/// One entry of `resource_changes`: an image's change or a replica's (`type` tells them
/// apart; an image's body has keys a replica's lacks, which is how they are read back).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonResource<'a> {
    Image(Box<JsonChange<'a>>),
    Replica(Box<JsonReplicaChange<'a>>),
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
    pub replace_paths: Vec<[Cow<'a, str>; 1]>,
    pub field_changes: Cow<'a, [FieldChange]>,
}

/// `after_unknown`: `{"id": true, "status": true}` for new images, `{}` otherwise.
#[derive(Serialize, Deserialize)]
pub struct Unknown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
}

/// Terraform's `change.actions`.
pub fn actions(action: Action) -> &'static [&'static str] {
    match action {
        Action::NoOp => &["no-op"],
        Action::Create => &["create"],
        Action::Update => &["update"],
        Action::Replace {
            order: ReplaceOrder::CreateBeforeDestroy,
        } => &["create", "delete"],
        Action::Replace {
            order: ReplaceOrder::DestroyBeforeCreate,
        } => &["delete", "create"],
        Action::Delete => &["delete"],
    }
}

/// The action whose Terraform `actions` list is `words`.
pub fn action_of(words: &[Cow<'_, str>]) -> Option<Action> {
    let replace = |order| Action::Replace { order };
    [
        Action::NoOp,
        Action::Create,
        Action::Update,
        replace(ReplaceOrder::CreateBeforeDestroy),
        replace(ReplaceOrder::DestroyBeforeCreate),
        Action::Delete,
    ]
    .into_iter()
    .find(|candidate| actions(*candidate).iter().eq(words.iter()))
}

fn borrowed(words: &'static [&'static str]) -> Vec<Cow<'static, str>> {
    words.iter().map(|w| Cow::Borrowed(*w)).collect()
}

/// `type`, `name` and `mode` of an address, as Terraform names a managed resource.
fn resource_words(address: &Address) -> (Cow<'static, str>, Cow<'_, str>, Cow<'static, str>) {
    (
        Cow::Borrowed(RESOURCE_TYPE),
        Cow::Borrowed(address.key()),
        Cow::Borrowed("managed"),
    )
}

impl<'a> JsonChange<'a> {
    fn of(change: &'a ResourceChange) -> JsonChange<'a> {
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
            image_id: id.map(Cow::Borrowed),
            action_reason: change.reason.map(|r| Cow::Borrowed(r.as_str())),
            taint: change.taint.as_ref().map(Cow::Borrowed),
            member_status: (!change.member_status.is_empty())
                .then_some(Cow::Borrowed(&change.member_status)),
            change: ChangeBody {
                actions: borrowed(actions(change.action)),
                before: change.before.as_ref().map(|b| object(b, id, status)),
                after: change.after.as_ref().map(|a| {
                    let kept = (!creates).then_some(());
                    object(a, kept.and(id), kept.and(status))
                }),
                after_unknown: Unknown {
                    id: unknown,
                    status: unknown,
                },
                replace_paths: change
                    .field_changes
                    .iter()
                    .filter(|c| c.forces_replacement)
                    .map(|c| [Cow::Borrowed(c.field.as_str())])
                    .collect(),
                field_changes: Cow::Borrowed(&change.field_changes),
            },
        }
    }
}

/// One object changed outside imsform, shaped like a resource change.
#[derive(Serialize, Deserialize)]
pub struct JsonDrift<'a> {
    pub address: Cow<'a, Address>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    pub image_id: Cow<'a, str>,
    pub change: DriftBody<'a>,
}

#[derive(Serialize, Deserialize)]
pub struct DriftBody<'a> {
    pub actions: Vec<Cow<'a, str>>,
    pub before: Object<'a>,
    pub after: Option<Object<'a>>,
    pub field_changes: Cow<'a, [FieldChange]>,
    /// The status before and after, when it changed to one that matters (`killed`, `deleted`).
    pub status_change: Option<Cow<'a, StatusChange>>,
}

impl<'a> JsonDrift<'a> {
    fn of(drift: &'a Drift) -> JsonDrift<'a> {
        let id = Some(drift.image_id.as_str());
        let before_status = drift.status.as_ref().map(|s| s.before.as_str());
        let after_status = drift.status.as_ref().map(|s| s.after.as_str());
        let (kind, name, mode) = resource_words(&drift.address);
        JsonDrift {
            address: Cow::Borrowed(&drift.address),
            kind,
            name,
            mode,
            image_id: Cow::Borrowed(&drift.image_id),
            change: DriftBody {
                actions: borrowed(if drift.deleted() {
                    &["delete"]
                } else {
                    &["update"]
                }),
                before: object(&drift.before, id, before_status),
                after: drift.after.as_ref().map(|a| object(a, id, after_status)),
                field_changes: Cow::Borrowed(&drift.field_changes),
                status_change: drift.status.as_ref().map(Cow::Borrowed),
            },
        }
    }
}
