//! The checks of the manifests' replicas that need the configuration, made before the state is
//! read or the cloud is asked anything, and what a run reaches beyond its own region and
//! project ([`Reach`]) (part of `context.rs`). Pure.
//!
//! - A replica in the source's own region is refused: a cross-region copy needs another region.
//! - On a real cloud, a replica region must be configured under `[cloud.regions.REGION]` (an
//!   empty table is enough): a typo in a region name is caught here, not after a copy job has
//!   failed. The local cloud serves any region a manifest names.
//! - `[cloud] copy_agency` must be set when any image has a replica: IMS copies across
//!   regions under that IAM agency.

use std::collections::BTreeSet;

use crate::cli::config::CloudConfig;
use crate::error::Error;
use crate::manifest::model::{Manifests, replica_address};
use crate::state::State;

/// What a run may reach besides its own region and project: the regions of replicas and the
/// consumer projects of members. The local cloud serves them all (a consumer project as a
/// project of its own region, since IMS shares only within a region).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub regions: BTreeSet<String>,
    pub consumers: BTreeSet<String>,
}

/// What a run reaches: `named` (by the manifests or the plan) and what the state's records and
/// journal name.
pub fn reached(mut named: Reach, state: Option<&State>) -> Reach {
    if let Some(state) = state {
        named.regions.extend(state.replica_regions());
        named.consumers.extend(state.member_projects());
    }
    named
}

/// Every problem of the manifests' replicas under `cloud`, each at its place in the
/// manifests; all of them in one error.
pub fn check(cloud: &CloudConfig, manifests: &Manifests) -> Result<(), Error> {
    let problems = problems(cloud, manifests);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(problems.join("\n")))
}

fn problems(cloud: &CloudConfig, manifests: &Manifests) -> Vec<String> {
    let mut problems = Vec::new();
    for spec in manifests.images.values() {
        for (region, replica) in &spec.replicas {
            let at = format!(
                "{}: {}",
                replica.location,
                replica_address(&spec.address, region)
            );
            if *region == cloud.region {
                problems.push(format!(
                    "{at}: the image itself is in {region}; a replica must be in another region"
                ));
            } else if !cloud.local && !cloud.regions.contains_key(region) {
                problems.push(format!(
                    "{at}: region {region} is not configured; add `[cloud.regions.{region}]` to \
                     imsform.toml (with `project` when the copies go to a project other than \
                     the region's default one)"
                ));
            }
        }
        if !spec.replicas.is_empty() && cloud.copy_agency.is_none() {
            problems.push(format!(
                "{}: {} has replicas, but `[cloud] copy_agency` is not set: name the IAM agency \
                 IMS copies images to other regions under",
                spec.location, spec.address
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cli::config::RegionConfig;
    use crate::manifest::model::{Location, ReplicaSpec};
    use crate::plan::fixtures::{attrs, manifests, spec};

    fn with_replicas(regions: &[&str]) -> Manifests {
        let mut image = spec("web", attrs("web"));
        for (line, region) in regions.iter().enumerate() {
            let location = Location {
                file: "images.yaml".into(),
                line: line + 10,
                column: 7,
            };
            let replica = ReplicaSpec {
                name: None,
                description: None,
                location,
            };
            image.replicas.insert((*region).to_owned(), replica);
        }
        manifests([image])
    }

    fn cloud(local: bool, agency: Option<&str>, regions: &[&str]) -> CloudConfig {
        let mut cloud = CloudConfig::at_endpoint("https://ims.example", "cn-north-4", None);
        cloud.local = local;
        cloud.copy_agency = agency.map(str::to_owned);
        cloud.regions = regions
            .iter()
            .map(|r| ((*r).to_owned(), RegionConfig::default()))
            .collect::<BTreeMap<_, _>>();
        cloud
    }

    #[test]
    fn own_region_unknown_regions_and_a_missing_agency_are_each_named_at_their_place() {
        let manifests = with_replicas(&["cn-north-4", "cn-south-1", "ap-southeast-1"]);
        let found = problems(&cloud(false, None, &["cn-south-1"]), &manifests);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].starts_with("images.yaml:12:7: images.web.replicas[\"ap-southeast-1\"]:")
                && found[0].contains("add `[cloud.regions.ap-southeast-1]`"),
            "{}",
            found[0]
        );
        assert!(found[1].contains("a replica must be in another region"));
        assert!(found[2].contains("`[cloud] copy_agency` is not set"));
    }

    #[test]
    fn the_local_cloud_knows_every_region_and_no_replica_needs_nothing() {
        let manifests = with_replicas(&["cn-south-1", "ap-southeast-1"]);
        assert!(problems(&cloud(true, Some("ims_admin"), &[]), &manifests).is_empty());
        let none = with_replicas(&[]);
        assert!(problems(&cloud(false, None, &[]), &none).is_empty());
        assert!(check(&cloud(false, Some("a"), &["cn-south-1"]), &manifests).is_err());
    }
}
