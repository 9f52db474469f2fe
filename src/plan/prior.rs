//! The two views of a plan that are not changes: the instances of the state it was diffed
//! against ([`Plan::prior_instances`], Terraform's `prior_state`) and the resource blocks of the
//! manifests ([`Plan::configuration`], Terraform's `configuration`). Pure; one pass over the
//! records and one over the manifests, so a plan of 10,000 images stays fast.
//!
//! [`Plan::prior_instances`]: super::Plan::prior_instances
//! [`Plan::configuration`]: super::Plan::configuration

use std::collections::{BTreeMap, BTreeSet};

use super::drift::{is_gone, refreshed};
use super::image::{ImageConfig, ImageInstance};
use super::instance::{Configured, Instance};
use super::refresh::RemoteView;
use super::replica::{ReplicaInstance, ReplicaOverrides, ReplicasConfig};
use super::replicas;
use crate::manifest::model::{Address, Manifests};
use crate::state::{ImageRecord, State};

/// Every instance of `records` (the state as the plan diffs it): images first, then replicas,
/// each in address order. With `remote`, an object refresh found deleted is left out and the
/// others carry the values refresh read (except the fields the manifests' `ignore_changes`
/// keep); without it, the records as written.
pub(super) fn instances(
    records: &BTreeMap<Address, ImageRecord>,
    desired: &Manifests,
    remote: Option<&RemoteView>,
    project_of: &dyn Fn(&str) -> String,
) -> Vec<Instance> {
    let empty = BTreeSet::new();
    let mut images = Vec::with_capacity(records.len());
    let mut copies = Vec::new();
    for (address, record) in records {
        let seen = remote.map(|view| view.image(&record.id));
        if !seen.is_some_and(is_gone) {
            let ignore = desired
                .images
                .get(address)
                .map_or(&empty, |spec| &spec.lifecycle.ignore_changes);
            let image = seen.flatten();
            let status = match image {
                Some(image) => Some(image.status.as_str().to_owned()),
                None => record.observed.as_ref().map(|o| o.status.clone()),
            };
            images.push(Instance::Image(ImageInstance {
                address: address.clone(),
                id: record.id.clone(),
                attrs: match image {
                    Some(image) => refreshed(&record.attributes, image, ignore),
                    None => record.attributes.clone(),
                },
                status,
                tainted: record.tainted.is_some(),
            }));
        }
        for (region, replica) in &record.replicas {
            let seen = remote.map(|view| view.replica(region, &replica.id));
            if seen.is_some_and(is_gone) {
                continue;
            }
            copies.push(Instance::Replica(ReplicaInstance {
                image: address.clone(),
                region: region.clone(),
                id: replica.id.clone(),
                attrs: replicas::current(replica, region, project_of, seen),
            }));
        }
    }
    images.extend(copies);
    images
}

/// The instances of `state` as written, for `imsform show --json`: no refresh, and a replica
/// without a recorded project in its region's default project (named like the region).
pub fn state_instances(state: &State) -> Vec<Instance> {
    instances(&state.images, &Manifests::default(), None, &|region| {
        region.to_owned()
    })
}

/// The manifests' resource blocks: every image, then every image's `replicas`, by address.
pub(super) fn configuration(desired: &Manifests) -> Vec<Configured> {
    let images = desired.images.iter().map(|(address, spec)| {
        Configured::Image(ImageConfig {
            address: address.clone(),
            attrs: spec.attrs.clone(),
        })
    });
    let replicas = desired
        .images
        .iter()
        .filter(|(_, spec)| !spec.replicas.is_empty())
        .map(|(address, spec)| {
            let regions = spec.replicas.iter().map(|(region, replica)| {
                let overrides = ReplicaOverrides {
                    name: replica.name.clone(),
                    description: replica.description.clone(),
                };
                (region.clone(), overrides)
            });
            Configured::Replicas(ReplicasConfig {
                image: address.clone(),
                regions: regions.collect(),
            })
        });
    images.chain(replicas).collect()
}
