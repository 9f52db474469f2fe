//! The JSON rendering of a plan, shaped like Terraform's `show -json` where it applies and
//! documented by `schema/plan.schema.json` (a test validates rendered plans against it).
//! Serialized from borrowed structs (plans of 10,000 images render in milliseconds), so keys
//! come out in declaration order and the output is stable.
//!
//! The same types read a document back (owned through `Cow`): a saved plan file is this
//! document plus an envelope, and `planfile` turns it back into the [`Plan`] apply carries out.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::model::{Address, ReplaceOrder};
use crate::plan::{
    Action, Change, Drift, ImageRecovery, Move, NameCollision, Plan, PlanMode, Recovery,
    ReplicaRecovery, Targeting, Untracked, UntrackedAction,
};
use crate::state::ImageRecord;

mod image;
mod replica;
mod state;
pub mod terraform;
mod views;

pub use image::{ChangeBody, DriftBody, JsonChange, JsonDrift, Object};
pub use replica::{JsonReplicaChange, JsonReplicaDrift};
pub use state::{JsonState, write_state};
pub use views::{JsonBlock, JsonConfiguration, JsonEntry, JsonOutput};

use terraform::{OutputChanges, RelevantAttribute, Values};

/// The version of this JSON format: Terraform's JSON plan format version it follows (readers
/// accept any 1.x).
pub const FORMAT_VERSION: &str = "1.2";

/// Writes `plan` as one JSON document and a newline, through a buffer: a terminal's stdout
/// is line-buffered, and a plan of 10,000 images has millions of lines.
pub fn write_plan(out: &mut impl Write, plan: &Plan) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &JsonPlan::of(plan))?;
    writeln!(out)?;
    out.flush()
}

/// The JSON document of `plan`.
pub fn to_value(plan: &Plan) -> Value {
    // Serializing plain data with string keys into a Value cannot fail.
    serde_json::to_value(JsonPlan::of(plan)).unwrap_or(Value::Null)
}

/// The document. `'static` when read back (every borrowed part is then owned).
#[derive(Serialize, Deserialize)]
pub struct JsonPlan<'a> {
    pub format_version: Cow<'a, str>,
    /// Terraform's key, which readers of plans look for: the imsform that made the plan.
    pub terraform_version: Cow<'a, str>,
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
    /// Terraform's: the instances after apply. Derived from the changes.
    #[serde(skip_deserializing)]
    pub planned_values: Values<JsonEntry<'a>>,
    /// Every instance's change: the images', then the replicas'.
    pub resource_changes: Vec<JsonResource<'a>>,
    /// Every object changed outside imsform, in the shape of `resource_changes`.
    pub resource_drift: Vec<JsonResourceDrift<'a>>,
    /// Terraform's: the attributes drift changed that the plan reads. Derived from the drift.
    #[serde(skip_deserializing)]
    pub relevant_attributes: Vec<RelevantAttribute<'a>>,
    /// Terraform's: each image's output (what `imsform output` prints) before and after.
    /// Derived from the changes.
    #[serde(skip_deserializing)]
    pub output_changes: OutputChanges<'a, JsonOutput<'a>>,
    /// Terraform's: the state the plan was diffed against; absent without a state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_state: Option<JsonState<'a>>,
    /// Terraform's: the provider and the manifests' resource blocks.
    pub configuration: JsonConfiguration<'a>,
    /// What the recovery of each journal entry will do: an image's entries, then a replica's.
    pub recovery: Vec<JsonRecovery<'a>>,
    pub untracked: Vec<JsonUntracked<'a>>,
    /// `moved` entries that rename a state address.
    pub moved: Cow<'a, [Move]>,
    /// Planned creates named like images that imsform does not manage.
    pub name_collisions: Cow<'a, [NameCollision]>,
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
    /// Images imported (issue 21); left out when none, so plans without imports read as before.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub import: usize,
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
            terraform_version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
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
            planned_values: views::planned_values(plan),
            resource_changes: plan.changes.iter().map(JsonResource::of).collect(),
            resource_drift: plan.drift.iter().map(JsonResourceDrift::of).collect(),
            relevant_attributes: views::relevant_attributes(plan),
            output_changes: views::output_changes(plan),
            prior_state: JsonState::prior(plan),
            configuration: JsonConfiguration::of(plan),
            recovery: plan.recovery.iter().map(JsonRecovery::of).collect(),
            untracked: plan.untracked.iter().map(JsonUntracked::of).collect(),
            moved: Cow::Borrowed(&plan.moves),
            name_collisions: Cow::Borrowed(&plan.name_collisions),
            summary: Summary {
                import: counts.import,
                add: counts.add,
                change: counts.change,
                destroy: counts.destroy,
                has_changes: plan.has_changes(),
            },
        }
    }
}

/// One entry of `resource_changes`, by kind (the JSON's one seam to the kinds: `image.rs`,
/// `replica.rs`). `type` tells them apart; an image's body has keys a replica's lacks, which is
/// how they are read back.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonResource<'a> {
    Image(Box<JsonChange<'a>>),
    Replica(Box<JsonReplicaChange<'a>>),
}

impl<'a> JsonResource<'a> {
    fn of(change: &'a Change) -> JsonResource<'a> {
        match change {
            Change::Image(c) => JsonResource::Image(Box::new(JsonChange::of(c))),
            Change::Replica(c) => JsonResource::Replica(Box::new(JsonReplicaChange::of(c))),
        }
    }

    /// The change this entry describes, or what is wrong with it.
    pub fn read(self) -> Result<Change, String>
    where
        'a: 'static,
    {
        match self {
            JsonResource::Image(entry) => entry.read().map(Change::Image),
            JsonResource::Replica(entry) => entry.read().map(Change::Replica),
        }
    }
}

/// One entry of `resource_drift`, by kind.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonResourceDrift<'a> {
    Image(Box<JsonDrift<'a>>),
    Replica(Box<JsonReplicaDrift<'a>>),
}

impl<'a> JsonResourceDrift<'a> {
    fn of(drift: &'a Drift) -> JsonResourceDrift<'a> {
        match drift {
            Drift::Image(d) => JsonResourceDrift::Image(Box::new(JsonDrift::of(d))),
            Drift::Replica(d) => JsonResourceDrift::Replica(Box::new(JsonReplicaDrift::of(d))),
        }
    }

    /// The drift this entry describes, or what is wrong with it.
    pub fn read(self) -> Result<Drift, String>
    where
        'a: 'static,
    {
        match self {
            JsonResourceDrift::Image(entry) => entry.read().map(Drift::Image),
            JsonResourceDrift::Replica(entry) => entry.read().map(Drift::Replica),
        }
    }
}

/// One entry of `recovery`, by kind: the journal entry as written and what recovering it does
/// (an image's entry names its `address`, a replica's its `image` and `region`).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonRecovery<'a> {
    Image(Cow<'a, ImageRecovery>),
    Replica(Cow<'a, ReplicaRecovery>),
}

impl<'a> JsonRecovery<'a> {
    fn of(recovery: &'a Recovery) -> JsonRecovery<'a> {
        match recovery {
            Recovery::Image(r) => JsonRecovery::Image(Cow::Borrowed(r)),
            Recovery::Replica(r) => JsonRecovery::Replica(Cow::Borrowed(r)),
        }
    }

    /// The recovery this entry describes.
    pub fn read(self) -> Recovery {
        match self {
            JsonRecovery::Image(r) => Recovery::Image(r.into_owned()),
            JsonRecovery::Replica(r) => Recovery::Replica(r.into_owned()),
        }
    }
}

/// Terraform's `type`, `name` and `mode` must match the address; what is wrong otherwise.
fn check_resource(
    address: &impl std::fmt::Display,
    kind: crate::manifest::model::Kind,
    words: (&str, &str, &str),
    name: &Address,
) -> Result<(), String> {
    let (type_name, key, mode) = words;
    if type_name != kind.type_name() || mode != "managed" || key != name.key() {
        return Err(format!(
            "{address}: type, name and mode must be {}, {}, managed",
            kind.type_name(),
            name.key()
        ));
    }
    Ok(())
}

/// The reason named `text`, or what is wrong with it.
fn read_reason(
    address: &impl std::fmt::Display,
    text: Option<Cow<'_, str>>,
) -> Result<Option<crate::plan::Reason>, String> {
    text.map(|text| {
        crate::plan::Reason::parse(&text)
            .ok_or_else(|| format!("{address}: unknown action_reason `{text}`"))
    })
    .transpose()
}

/// `after_unknown`: `{"id": true, "status": true}` for new images, `{}` otherwise.
#[derive(Default, Serialize, Deserialize)]
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

pub(crate) fn borrowed(words: &'static [&'static str]) -> Vec<Cow<'static, str>> {
    words.iter().map(|w| Cow::Borrowed(*w)).collect()
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
