//! Builders of plan inputs for the engine's tests, the rendering snapshots and the bench:
//! manifests, state records and remote images made directly from the model types. Test-only
//! (`#[cfg(test)]` here; included by path from tests/plan_render.rs and benches/plan.rs).

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::{
    Address, DiskFormat, ImageAttrs, ImageSpec, Lifecycle, Location, Manifests, Moved,
};
use crate::plan::{
    Action, Change, Drift, ImageChange, ImageDrift, ImageRecovery, Plan, PlanError, PlanOptions,
    Reason, Recovery, RemoteView, ReplicaChange, ReplicaDrift, ReplicaRecovery, plan,
};
use crate::state::{ImageRecord, Observed, PendingEntry, PendingOperation, State};

pub fn addr(key: &str) -> Address {
    Address::from_key(key)
}

pub fn attrs(key: &str) -> ImageAttrs {
    ImageAttrs {
        name: format!("{key}-image"),
        image_url: format!("images:{key}/disk.qcow2"),
        os_version: "Ubuntu 22.04 server 64bit".into(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 1024,
        description: None,
        tags: BTreeMap::from([("team".into(), "platform".into())]),
        protected: false,
        share_with: BTreeSet::new(),
    }
}

fn location() -> Location {
    Location {
        file: "images.yaml".into(),
        line: 1,
        column: 1,
    }
}

pub fn spec(key: &str, attrs: ImageAttrs) -> ImageSpec {
    ImageSpec {
        address: addr(key),
        attrs,
        lifecycle: Lifecycle::default(),
        location: location(),
        replicas: std::collections::BTreeMap::new(),
    }
}

pub fn manifests(specs: impl IntoIterator<Item = ImageSpec>) -> Manifests {
    Manifests {
        images: specs.into_iter().map(|s| (s.address.clone(), s)).collect(),
        moved: Vec::new(),
    }
}

pub fn moved(from: &str, to: &str) -> Moved {
    Moved {
        from: addr(from),
        to: addr(to),
        location: location(),
    }
}

pub fn record(id: &str, attrs: ImageAttrs) -> ImageRecord {
    ImageRecord {
        id: id.into(),
        attributes: attrs,
        observed: Some(Observed {
            status: "active".into(),
            checksum: None,
            size: None,
            updated_at: None,
        }),
        tainted: None,
        replicas: std::collections::BTreeMap::new(),
    }
}

pub fn state(records: impl IntoIterator<Item = (&'static str, ImageRecord)>) -> State {
    State {
        identity: None,
        format_version: crate::state::FORMAT_VERSION,
        lineage: "3f1c2a9e-0000-4000-8000-000000000001".into(),
        serial: 7,
        imsform_version: "0.1.0".into(),
        images: records.into_iter().map(|(k, r)| (addr(k), r)).collect(),
        pending: Vec::new(),
    }
}

pub fn pending(key: &str, operation: PendingOperation) -> PendingEntry {
    PendingEntry {
        address: addr(key),
        operation,
        started_at: "2026-11-22T10:00:00Z".into(),
    }
}

pub fn pending_create(key: &str, token: &str, image_id: Option<&str>) -> PendingEntry {
    pending(
        key,
        PendingOperation::Create {
            token: token.into(),
            attributes: Box::new(attrs(key)),
            image_id: image_id.map(Into::into),
            job_id: None,
            replaces: None,
        },
    )
}

/// The image the cloud reports for `attrs` (as created by imsform: it carries a token tag).
pub fn remote(id: &str, attrs: &ImageAttrs, status: ImageStatus) -> RemoteImage {
    let mut tags = attrs.tags.clone();
    tags.insert(
        crate::manifest::model::TOKEN_TAG.into(),
        format!("tok-{id}"),
    );
    RemoteImage {
        id: id.into(),
        name: attrs.name.clone(),
        status,
        tags,
        os_version: Some(attrs.os_version.clone()),
        // The cloud converts formats on registration: never compared.
        disk_format: Some("zvhd2".into()),
        min_disk: attrs.min_disk,
        min_ram: attrs.min_ram,
        description: attrs.description.clone(),
        protected: attrs.protected,
        checksum: Some("abc".into()),
        size: Some(1 << 30),
        created_at: None,
        image_url: Some(attrs.image_url.clone()),
        copied_from: None,
        updated_at: None,
        members: None,
    }
}

/// A view that reports every record of `state` unchanged and active.
pub fn view_of(state: &State) -> RemoteView {
    RemoteView {
        images: state
            .images
            .values()
            .map(|r| {
                (
                    r.id.clone(),
                    remote(&r.id, &r.attributes, ImageStatus::Active),
                )
            })
            .collect(),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    }
}

/// Plans one image `web`: state record `img-1` with `applied`, cloud reporting `seen` (None: no
/// refresh), manifests asking for `wanted`.
pub fn one(applied: ImageAttrs, seen: Option<ImageAttrs>, wanted: ImageAttrs) -> ImageChange {
    let state = state([("web", record("img-1", applied))]);
    let view = seen.map(|a| RemoteView {
        images: BTreeMap::from([("img-1".into(), remote("img-1", &a, ImageStatus::Active))]),
        by_token: BTreeMap::new(),
        unmanaged_names: BTreeMap::new(),
        untracked: BTreeMap::new(),
        regions: BTreeMap::new(),
        untracked_copies: Vec::new(),
    });
    let plan = plan(
        &manifests([spec("web", wanted)]),
        Some(&state),
        view.as_ref(),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.changes.len(), 1);
    plan.image_changes()[0].clone()
}

/// One edit of a test's attributes.
pub type Edit = fn(&mut ImageAttrs);

pub fn run(desired: &Manifests, state: &State, options: &PlanOptions) -> Result<Plan, PlanError> {
    plan(desired, Some(state), Some(&view_of(state)), options)
}

pub fn actions(plan: &Plan) -> Vec<(String, Action, Option<Reason>)> {
    plan.image_changes()
        .iter()
        .map(|c| (c.address.key().to_owned(), c.action, c.reason))
        .collect()
}

/// The plan's one lists, one kind at a time: what the unit tests of each kind look at.
pub trait Kinds {
    fn image_changes(&self) -> Vec<&ImageChange>;
    fn image_changes_mut(&mut self) -> Vec<&mut ImageChange>;
    fn replica_changes(&self) -> Vec<&ReplicaChange>;
    fn image_drift(&self) -> Vec<&ImageDrift>;
    fn replica_drift(&self) -> Vec<&ReplicaDrift>;
    fn image_recovery(&self) -> Vec<&ImageRecovery>;
    fn replica_recovery(&self) -> Vec<&ReplicaRecovery>;
}

impl Kinds for Plan {
    fn image_changes(&self) -> Vec<&ImageChange> {
        self.images().collect()
    }

    fn image_changes_mut(&mut self) -> Vec<&mut ImageChange> {
        let changes = self.changes.iter_mut();
        changes
            .filter_map(|c| match c {
                Change::Image(c) => Some(c),
                Change::Replica(_) => None,
            })
            .collect()
    }

    fn replica_changes(&self) -> Vec<&ReplicaChange> {
        let changes = self.changes.iter();
        changes
            .filter_map(|c| match c {
                Change::Replica(c) => Some(c),
                Change::Image(_) => None,
            })
            .collect()
    }

    fn image_drift(&self) -> Vec<&ImageDrift> {
        let drift = self.drift.iter();
        drift
            .filter_map(|d| match d {
                Drift::Image(d) => Some(d),
                Drift::Replica(_) => None,
            })
            .collect()
    }

    fn replica_drift(&self) -> Vec<&ReplicaDrift> {
        let drift = self.drift.iter();
        drift
            .filter_map(|d| match d {
                Drift::Replica(d) => Some(d),
                Drift::Image(_) => None,
            })
            .collect()
    }

    fn image_recovery(&self) -> Vec<&ImageRecovery> {
        let recovery = self.recovery.iter();
        recovery
            .filter_map(|r| match r {
                Recovery::Image(r) => Some(r),
                Recovery::Replica(_) => None,
            })
            .collect()
    }

    fn replica_recovery(&self) -> Vec<&ReplicaRecovery> {
        let recovery = self.recovery.iter();
        recovery
            .filter_map(|r| match r {
                Recovery::Replica(r) => Some(r),
                Recovery::Image(_) => None,
            })
            .collect()
    }
}
