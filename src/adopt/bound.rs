//! Which image ids a state binds, and to which address: its records, its replicas' records and
//! every id its journal names (a create's image and the image it replaces, a delete, a member
//! change, a copy and the replica it replaces, a replica delete). An image a state binds is
//! managed: `imsform query` does not list it, and an `import` entry may not take it for another
//! address. Pure.

use std::collections::BTreeMap;

use crate::manifest::model::replica_address;
use crate::state::{PendingOperation, State};

/// The ids a state binds: in its own region, and per replica region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bound {
    /// Image id to the address that binds it, in the state's region.
    pub home: BTreeMap<String, String>,
    /// Region to (copy id to the replica address that binds it).
    pub regions: BTreeMap<String, BTreeMap<String, String>>,
}

impl Bound {
    /// What `state` binds (`None`: nothing).
    pub fn of(state: Option<&State>) -> Bound {
        let mut bound = Bound::default();
        let Some(state) = state else {
            return bound;
        };
        for (address, record) in &state.images {
            bound.home.insert(record.id.clone(), address.to_string());
            for (region, replica) in &record.replicas {
                bound.bind_in(region, &replica.id, replica_address(address, region));
            }
        }
        for entry in &state.pending {
            let address = entry.address.to_string();
            match &entry.operation {
                PendingOperation::Create {
                    image_id, replaces, ..
                } => {
                    for id in image_id.iter().chain(replaces) {
                        bound.home.insert(id.clone(), address.clone());
                    }
                }
                PendingOperation::Delete { image_id }
                | PendingOperation::Members { image_id, .. } => {
                    bound.home.insert(image_id.clone(), address);
                }
                PendingOperation::Copy {
                    region,
                    image_id,
                    replaces,
                    ..
                } => {
                    let replica = replica_address(&entry.address, region);
                    for id in image_id.iter().chain(replaces) {
                        bound.bind_in(region, id, replica.clone());
                    }
                }
                PendingOperation::DeleteReplica { region, image_id } => {
                    let replica = replica_address(&entry.address, region);
                    bound.bind_in(region, image_id, replica);
                }
            }
        }
        bound
    }

    fn bind_in(&mut self, region: &str, id: &str, address: String) {
        let ids = self.regions.entry(region.to_owned()).or_default();
        ids.insert(id.to_owned(), address);
    }

    /// The address binding `id` in `region` (`None`: the state's own region).
    pub fn address_of(&self, region: Option<&str>, id: &str) -> Option<&str> {
        let ids = match region {
            None => Some(&self.home),
            Some(region) => self.regions.get(region),
        };
        ids.and_then(|ids| ids.get(id)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::fixtures::state_with;
    use crate::manifest::model::Address;
    use crate::state::PendingEntry;

    #[test]
    fn records_replicas_and_the_journal_all_bind() {
        let mut state = state_with(&[("web", "img-web", &[("cn-south-1", "copy-web")])]);
        let entry = |operation| PendingEntry {
            address: Address::from_key("db"),
            operation,
            started_at: "2026-11-22T10:00:00Z".into(),
        };
        state.pending.push(entry(PendingOperation::Delete {
            image_id: "img-db-old".into(),
        }));
        state.pending.push(entry(PendingOperation::DeleteReplica {
            region: "cn-south-1".into(),
            image_id: "copy-db".into(),
        }));
        let bound = Bound::of(Some(&state));
        assert_eq!(bound.address_of(None, "img-web"), Some("images.web"));
        assert_eq!(bound.address_of(None, "img-db-old"), Some("images.db"));
        assert_eq!(
            bound.address_of(Some("cn-south-1"), "copy-web"),
            Some("images.web.replicas[\"cn-south-1\"]")
        );
        assert_eq!(
            bound.address_of(Some("cn-south-1"), "copy-db"),
            Some("images.db.replicas[\"cn-south-1\"]")
        );
        assert_eq!(bound.address_of(None, "copy-web"), None);
        assert_eq!(bound.address_of(Some("ap-southeast-1"), "copy-web"), None);
        assert_eq!(Bound::of(None), Bound::default());
    }
}
