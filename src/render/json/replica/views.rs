//! The replica kind in Terraform's views of a plan: its entry in the values representation
//! (`index` is the region), and an image's `replicas` as one configuration block whose
//! `for_each` holds each region's entry as written, and the reading back of both.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::terraform::{Constant, JsonConfigResource, JsonInstance, References};
use super::{ReplicaObject, object};
use crate::manifest::model::{Address, InstanceAddress, Kind};
use crate::plan::{Action, ReplicaChange, ReplicaInstance, ReplicaOverrides, ReplicasConfig};

/// A replica in the values representation.
pub type ReplicaEntry<'a> = JsonInstance<'a, ReplicaObject<'a>>;

/// An image's `replicas` block: one instance per key of its `for_each`.
pub type ReplicasBlock<'a> = JsonConfigResource<
    'a,
    ReplicaExpressions,
    Constant<Cow<'a, BTreeMap<String, ReplicaOverrides>>>,
>;

/// The replica of the state before the plan.
pub(in super::super) fn prior(instance: &ReplicaInstance) -> ReplicaEntry<'_> {
    let region = instance.region.as_str();
    let values = object(&instance.attrs, region, Some(&instance.id));
    let address = (Cow::Owned(instance.address().to_string()), Kind::Replica);
    JsonInstance::new(address, &instance.image, Some(region), values, false)
}

/// The replica after the change, when it is kept or created.
pub(in super::super) fn planned(change: &ReplicaChange) -> Option<ReplicaEntry<'_>> {
    let creates = matches!(change.action, Action::Create | Action::Replace { .. });
    let region = change.region.as_str();
    let id = change.prior_id.as_deref().filter(|_| !creates);
    let values = object(change.after.as_ref()?, region, id);
    let address = (Cow::Owned(change.address().to_string()), Kind::Replica);
    Some(JsonInstance::new(
        address,
        &change.image,
        Some(region),
        values,
        false,
    ))
}

impl ReplicaEntry<'static> {
    /// The instance this entry describes, or what is wrong with it.
    pub(in super::super) fn read(self) -> Result<ReplicaInstance, String> {
        let InstanceAddress::Replica { image, region } = self.read_address()? else {
            return Err(format!("{}: not a replica address", self.address));
        };
        let Some(id) = self.values.id.as_deref() else {
            return Err(format!(
                "{}: a replica of the state has an id",
                self.address
            ));
        };
        if self.values.region != region {
            return Err(format!("{}: values.region is not the index", self.address));
        }
        Ok(ReplicaInstance {
            id: id.to_owned(),
            attrs: self.values.attrs(),
            image,
            region,
        })
    }
}

/// How a replica's attributes follow from its block: the region is the `for_each` key, the
/// name and description the entry's own or else the source image's, the source its image's id.
/// Derived from the block's address; not read back.
#[derive(Default, Serialize, Deserialize)]
pub struct ReplicaExpressions {
    #[serde(skip_deserializing)]
    pub region: References,
    #[serde(skip_deserializing)]
    pub name: References,
    #[serde(skip_deserializing)]
    pub description: References,
    #[serde(skip_deserializing)]
    pub source_id: References,
}

/// The suffix of a `replicas` block's address after its image's.
const BLOCK_SUFFIX: &str = ".replicas";

/// An image's `replicas` block of the configuration.
pub(in super::super) fn block(config: &ReplicasConfig) -> ReplicasBlock<'_> {
    let image = config.image.as_str();
    let expressions = ReplicaExpressions {
        region: References::to(&["each.key"]),
        name: References::to(&["each.value.name", &format!("{image}.name"), image]),
        description: References::to(&[
            "each.value.description",
            &format!("{image}.description"),
            image,
        ]),
        source_id: References::to(&[&format!("{image}.id"), image]),
    };
    let for_each = Constant {
        constant_value: Cow::Borrowed(&config.regions),
    };
    let address = Cow::Owned(format!("{image}{BLOCK_SUFFIX}"));
    JsonConfigResource::new(
        address,
        Kind::Replica,
        &config.image,
        expressions,
        Some(for_each),
    )
}

impl ReplicasBlock<'static> {
    /// The configured replicas this block describes, or what is wrong with it.
    pub(in super::super) fn read(self) -> Result<ReplicasConfig, String> {
        let not_a_block = || format!("{}: not a replicas block", self.address);
        let image = self
            .address
            .strip_suffix(BLOCK_SUFFIX)
            .ok_or_else(not_a_block)?;
        let image = Address::parse(image)?;
        if !self.fits(Kind::Replica, &image) {
            return Err(not_a_block());
        }
        let regions = self.for_each_expression.ok_or_else(not_a_block)?;
        Ok(ReplicasConfig {
            image,
            regions: regions.constant_value.into_owned(),
        })
    }
}
