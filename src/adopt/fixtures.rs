//! Builders of adoption inputs for this module's tests: images as the cloud reports them and
//! state records, made directly from the model types. Test-only.

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{Address, DiskFormat, ImageAttrs};
use crate::state::{ImageRecord, ReplicaRecord, State};

/// An active image registered from `bucket:<name>.qcow2`, made by hand (no token tag).
pub fn image(id: &str, name: &str) -> RemoteImage {
    RemoteImage {
        id: id.into(),
        name: name.into(),
        status: ImageStatus::Active,
        tags: BTreeMap::new(),
        os_version: Some("Ubuntu 22.04 server 64bit".into()),
        disk_format: Some("zvhd2".into()),
        min_disk: 40,
        min_ram: 0,
        description: None,
        protected: false,
        checksum: Some("abc".into()),
        size: Some(1 << 30),
        created_at: Some(format!("2026-11-22T10:00:{:02}Z", id.len() % 60)),
        updated_at: None,
        image_url: Some(format!("bucket:{name}.qcow2")),
        copied_from: None,
        members: None,
    }
}

/// An active copy of `source` (in `source_region`) named like it.
pub fn copy_of(id: &str, source: &RemoteImage, source_region: &str) -> RemoteImage {
    RemoteImage {
        id: id.into(),
        image_url: None,
        copied_from: Some((source_region.into(), source.id.clone())),
        ..source.clone()
    }
}

/// The attributes a record of image `name` holds.
pub fn attrs(name: &str) -> ImageAttrs {
    ImageAttrs {
        name: name.into(),
        image_url: format!("bucket:{name}.qcow2"),
        os_version: "Ubuntu 22.04 server 64bit".into(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 0,
        description: None,
        tags: BTreeMap::new(),
        protected: false,
        share_with: BTreeSet::new(),
    }
}

/// `(key, image id, replicas as (region, copy id))`.
pub type Recorded<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A state binding `images.<key>` to image `id`, with its replicas.
pub fn state_with(records: &[Recorded<'_>]) -> State {
    let mut state = State::new("3f1c2a9e-0000-4000-8000-000000000000".into());
    for (key, id, replicas) in records {
        let replicas = replicas
            .iter()
            .map(|(region, copy)| {
                let record = ReplicaRecord {
                    id: (*copy).into(),
                    project: None,
                    name: (*key).into(),
                    description: None,
                    source_id: (*id).into(),
                    observed: None,
                };
                ((*region).to_owned(), record)
            })
            .collect();
        let record = ImageRecord {
            id: (*id).into(),
            attributes: attrs(key),
            observed: None,
            tainted: None,
            replicas,
        };
        state.images.insert(Address::from_key(key), record);
    }
    state
}
