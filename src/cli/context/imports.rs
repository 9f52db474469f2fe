//! Carrying out `import:` entries in a plan (issue 21; part of `context.rs`). Entries whose
//! address already holds their id are done (Terraform's rule: they may stay) and ignored.
//! Every other entry is checked against what refresh read (`crate::adopt::check_imports`:
//! each refusal at the entry's file:line:col, nothing written anywhere), then planned as if
//! its image were already recorded at its address, the record being what `imsform import`
//! records of it; the plan marks each such change `importing` and its `prior_state` stays the
//! real state's. Applying records the images (one save) before anything else runs.
//!
//! Replica entries are not carried out yet: a plan with one still to import is refused, named
//! at its file:line:col, with `imsform import` as the way through. So is a plan with entries
//! to import made without reading the cloud (`--refresh=false`).

use std::collections::{BTreeMap, BTreeSet};

use crate::adopt::{ImportFacts, check_imports, pending_imports};
use crate::cli::import::imported_record;
use crate::error::Error;
use crate::manifest::model::Address;
use crate::manifest::model::Manifests;
use crate::manifest::{Import, ImportTarget, ManifestError};
use crate::plan::{Change, Plan, RemoteView, StateRef};
use crate::state::State;

/// The image ids of the entries still to import.
pub fn pending_ids<'i>(imports: &'i [Import], state: Option<&State>) -> BTreeSet<&'i str> {
    pending_imports(imports, state)
        .into_iter()
        .map(|entry| entry.id.as_str())
        .collect()
}

/// Refuses what this build cannot import yet: replica entries still to import, and entries
/// still to import when the cloud is not read.
pub fn refuse_unsupported(
    imports: &[Import],
    state: Option<&State>,
    refresh: bool,
) -> Result<(), Error> {
    let pending = pending_imports(imports, state);
    let replicas: Vec<&&Import> = pending
        .iter()
        .filter(|entry| matches!(entry.to, ImportTarget::Replica { .. }))
        .collect();
    if !replicas.is_empty() {
        let mut message = format!(
            "{} `import` {} a replica, and this build's plan imports images only; run \
             `imsform import ADDRESS ID` for each, then plan again:",
            replicas.len(),
            if replicas.len() == 1 {
                "entry imports"
            } else {
                "entries import"
            }
        );
        for entry in replicas {
            message.push_str(&format!(
                "\n  {}: imsform import '{}' {}",
                entry.location(),
                entry.to,
                entry.id
            ));
        }
        return Err(Error::Usage(message));
    }
    if !refresh && !pending.is_empty() {
        return Err(Error::Usage(format!(
            "{} `import` {} to carry out, which needs the cloud read: plan without \
             --refresh=false",
            pending.len(),
            if pending.len() == 1 {
                "entry"
            } else {
                "entries"
            }
        )));
    }
    Ok(())
}

/// The state a plan that imports starts from, and the image id each address imports.
pub type Importing = (State, BTreeMap<Address, String>);

/// Checks the entries still to import against `view`; on success, the state to plan from
/// (`None`: nothing to import) and the image id each address imports.
pub fn importing_state(
    imports: &[Import],
    state: Option<&State>,
    new_state: impl FnOnce() -> State,
    manifests: &Manifests,
    view: &RemoteView,
    facts: (&str, &str),
) -> Result<Option<Importing>, ManifestError> {
    let pending = pending_imports(imports, state);
    if pending.is_empty() {
        return Ok(None);
    }
    let foreign = BTreeMap::new();
    let facts = ImportFacts {
        region: facts.0,
        project_id: facts.1,
        images: &view.images,
        regions: &view.regions,
        foreign: &foreign,
    };
    let diagnostics = check_imports(imports, state, facts);
    if !diagnostics.is_empty() {
        return Err(ManifestError::Invalid { diagnostics });
    }
    let mut planned = state.cloned().unwrap_or_else(new_state);
    let mut importing = BTreeMap::new();
    for entry in pending {
        let ImportTarget::Image(address) = &entry.to else {
            continue;
        };
        let (Some(spec), Some(image)) = (manifests.images.get(address), view.images.get(&entry.id))
        else {
            continue;
        };
        planned
            .images
            .insert(address.clone(), imported_record(spec, image));
        importing.insert(address.clone(), entry.id.clone());
    }
    Ok(Some((planned, importing)))
}

/// Marks the changes of `plan` that import, and gives it the real state's reference and
/// instances: the images to import are not in the state yet (Terraform's `prior_state` leaves
/// them out too), and without a state there are none.
pub fn mark(plan: &mut Plan, importing: &BTreeMap<Address, String>, state: Option<&State>) {
    plan.prior_state = state.map(|s| StateRef {
        lineage: s.lineage.clone(),
        serial: s.serial,
    });
    match state {
        Some(_) => plan
            .prior_instances
            .retain(|instance| !importing.contains_key(instance.image())),
        None => plan.prior_instances.clear(),
    }
    for change in &mut plan.changes {
        if let Change::Image(change) = change
            && let Some(id) = importing.get(&change.address)
        {
            change.importing = Some(id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ImportTarget, Label};

    fn attrs(name: &str) -> crate::manifest::model::ImageAttrs {
        crate::manifest::model::ImageAttrs {
            name: name.into(),
            image_url: crate::manifest::UNKNOWN_IMAGE_URL.into(),
            os_version: "Ubuntu 22.04 server 64bit".into(),
            disk_format: crate::manifest::model::DiskFormat::Zvhd2,
            min_disk: 40,
            min_ram: 0,
            description: None,
            tags: Default::default(),
            protected: false,
            share_with: Default::default(),
        }
    }

    #[test]
    fn the_images_to_import_are_not_in_the_prior_state() {
        use crate::plan::fixtures::{attrs, manifests, record, spec, state, view_of};
        let real = state([("web", record("img-web", attrs("web")))]);
        let mut planned = real.clone();
        let new = Address::from_key("new");
        planned
            .images
            .insert(new.clone(), record("img-new", attrs("new")));
        let desired = manifests([spec("web", attrs("web")), spec("new", attrs("new"))]);
        let options = crate::plan::PlanOptions::default();
        let view = view_of(&planned);
        let plan = crate::plan::plan(&desired, Some(&planned), Some(&view), &options).unwrap();
        assert_eq!(plan.prior_instances.len(), 2);
        let importing = BTreeMap::from([(new.clone(), "img-new".to_owned())]);
        let mut marked = plan.clone();
        mark(&mut marked, &importing, Some(&real));
        let prior: Vec<String> = marked
            .prior_instances
            .iter()
            .map(|i| i.address().to_string())
            .collect();
        assert_eq!(prior, ["images.web"]);
        let imported = marked.images().find(|c| c.address == new).unwrap();
        assert_eq!(imported.importing.as_deref(), Some("img-new"));
        let mut fresh = plan;
        mark(&mut fresh, &importing, None);
        assert!(fresh.prior_instances.is_empty() && fresh.prior_state.is_none());
    }

    fn entry(to: &str, id: &str) -> Import {
        Import {
            to: ImportTarget::parse(to).unwrap(),
            id: id.to_owned(),
            to_label: Label::file("adopted.yaml"),
            id_label: Label::file("adopted.yaml"),
        }
    }

    #[test]
    fn replica_entries_still_to_import_are_refused_and_done_ones_pass() {
        let imports = [
            entry("images.web", "img-web"),
            entry("images.web.replicas[\"cn-south-1\"]", "img-copy"),
        ];
        let error = refuse_unsupported(&imports, None, true)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("1 `import` entry imports a replica"),
            "{error}"
        );
        assert!(refuse_unsupported(&imports[..1], None, true).is_ok());
        let error = refuse_unsupported(&imports[..1], None, false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--refresh=false"), "{error}");
        let mut state = State::new("lineage".into());
        let record = crate::state::ImageRecord {
            id: "img-web".into(),
            attributes: attrs("web"),
            observed: None,
            tainted: None,
            replicas: Default::default(),
        };
        state
            .images
            .insert(crate::manifest::model::Address::from_key("web"), record);
        assert!(refuse_unsupported(&imports[..1], Some(&state), false).is_ok());
        assert!(refuse_unsupported(&[], None, false).is_ok());
    }
}
