//! Terraform's views of a plan across the kinds (design.md section 11): `planned_values`,
//! `configuration`, `relevant_attributes` and `output_changes`, and the one seam to the kinds
//! for their entries ([`JsonEntry`], [`JsonBlock`], [`JsonOutput`]): each kind's module renders
//! and reads its own. Adding a kind adds one arm to each enum and function here.
//!
//! What is read back from a saved plan: the state's instances (`prior_state`, see `state.rs`),
//! the manifests' blocks and the provider's region (`configuration`). `planned_values`,
//! `relevant_attributes` and `output_changes` are derived from the changes and the drift; a
//! saved plan's are checked by rendering the plan read back again.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::image::{self, ImageBlock, ImageEntry, OutputChange};
use super::replica::{self, ReplicaEntry, ReplicasBlock};
use super::terraform::{Module, OutputChanges, ProviderConfigs, RelevantAttribute, Values};
use crate::manifest::model::Field;
use crate::plan::{Change, Configured, Instance, Plan, PlanMode};

/// One resource instance in the values representation, by kind. An image's values have keys a
/// replica's lack, which is how they are read back.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonEntry<'a> {
    Image(Box<ImageEntry<'a>>),
    Replica(Box<ReplicaEntry<'a>>),
}

impl<'a> JsonEntry<'a> {
    /// The entry of an instance of the state before the plan.
    pub fn prior(instance: &'a Instance) -> JsonEntry<'a> {
        match instance {
            Instance::Image(i) => JsonEntry::Image(Box::new(image::prior(i))),
            Instance::Replica(i) => JsonEntry::Replica(Box::new(replica::prior(i))),
        }
    }

    /// The entry of the instance after `change`, when it is kept or created.
    fn planned(change: &'a Change) -> Option<JsonEntry<'a>> {
        Some(match change {
            Change::Image(c) => JsonEntry::Image(Box::new(image::planned(c)?)),
            Change::Replica(c) => JsonEntry::Replica(Box::new(replica::planned(c)?)),
        })
    }

    /// The instance this entry describes, or what is wrong with it.
    pub fn read(self) -> Result<Instance, String>
    where
        'a: 'static,
    {
        match self {
            JsonEntry::Image(entry) => entry.read().map(Instance::Image),
            JsonEntry::Replica(entry) => entry.read().map(Instance::Replica),
        }
    }
}

/// `planned_values`: every instance the plan keeps or creates, with its values after apply
/// (`null` where known only then); in a refresh-only plan, the state's instances as refreshed.
pub fn planned_values(plan: &Plan) -> Values<JsonEntry<'_>> {
    let resources = if plan.mode == PlanMode::RefreshOnly {
        plan.prior_instances.iter().map(JsonEntry::prior).collect()
    } else {
        plan.changes.iter().filter_map(JsonEntry::planned).collect()
    };
    Values {
        root_module: Module { resources },
    }
}

/// One resource block of the configuration, by kind. An image block has constant expressions
/// a `replicas` block lacks, which is how they are read back.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonBlock<'a> {
    Image(Box<ImageBlock<'a>>),
    Replicas(Box<ReplicasBlock<'a>>),
}

impl<'a> JsonBlock<'a> {
    fn of(configured: &'a Configured) -> JsonBlock<'a> {
        match configured {
            Configured::Image(c) => JsonBlock::Image(Box::new(image::block(c))),
            Configured::Replicas(c) => JsonBlock::Replicas(Box::new(replica::block(c))),
        }
    }

    /// The block this entry describes, or what is wrong with it.
    pub fn read(self) -> Result<Configured, String>
    where
        'a: 'static,
    {
        match self {
            JsonBlock::Image(block) => block.read().map(Configured::Image),
            JsonBlock::Replicas(block) => block.read().map(Configured::Replicas),
        }
    }
}

/// Terraform's `configuration`: the provider (with the region, when the plan knows it) and the
/// manifests' blocks.
#[derive(Serialize, Deserialize)]
pub struct JsonConfiguration<'a> {
    pub provider_config: ProviderConfigs<'a>,
    pub root_module: Module<JsonBlock<'a>>,
}

impl<'a> JsonConfiguration<'a> {
    pub fn of(plan: &'a Plan) -> JsonConfiguration<'a> {
        JsonConfiguration {
            provider_config: ProviderConfigs::new(plan.region.as_deref()),
            root_module: Module {
                resources: plan.configuration.iter().map(JsonBlock::of).collect(),
            },
        }
    }
}

/// `relevant_attributes`: each attribute that changed outside imsform, by instance, in the
/// drift's order. The plan diffs every managed attribute against its refreshed value (drift
/// leaves out the ignored ones), so each is one the plan depends on; an object deleted outside
/// counts by its `id`.
pub fn relevant_attributes(plan: &Plan) -> Vec<RelevantAttribute<'static>> {
    let mut relevant = Vec::new();
    for drift in &plan.drift {
        let resource: Cow<'static, str> = Cow::Owned(drift.address().to_string());
        let entry = |attribute: Vec<Cow<'static, str>>| RelevantAttribute {
            resource: resource.clone(),
            attribute,
        };
        if drift.deleted() {
            relevant.push(entry(vec![Cow::Borrowed("id")]));
            continue;
        }
        for change in drift.field_changes() {
            let field = Cow::Borrowed(change.field.as_str());
            if change.field == Field::Tags && !change.tags.is_empty() {
                for tag in &change.tags {
                    relevant.push(entry(vec![field.clone(), Cow::Owned(tag.key.clone())]));
                }
            } else {
                relevant.push(entry(vec![field]));
            }
        }
    }
    relevant
}

/// One output's change, by kind: only images have outputs (what `imsform output` prints).
#[derive(Serialize)]
#[serde(untagged)]
pub enum JsonOutput<'a> {
    Image(OutputChange<'a>),
}

/// `output_changes`: the output of each image the plan looks at, by address.
pub fn output_changes(plan: &Plan) -> OutputChanges<'_, JsonOutput<'_>> {
    let region = plan.region.as_deref();
    let outputs = plan.changes.iter().filter_map(|change| match change {
        Change::Image(change) => {
            let (name, output) = image::output(change, region);
            Some((name, JsonOutput::Image(output)))
        }
        Change::Replica(_) => None,
    });
    OutputChanges(outputs.collect())
}
