//! The plan-time refusals of `import` entries (issue 21: each at the entry's file:line:col,
//! nothing sent to the cloud): what needs the state and the refreshed images, not only the
//! manifests (those are `manifest::import_checks`). Pure; the planner calls
//! [`check_imports`] with what refresh read, and imports [`pending_imports`].
//!
//! An entry whose address already holds its id is done (Terraform's rule: the block may stay),
//! never refused. Otherwise refused:
//! - an id the state binds at another address (records, replicas, journal);
//! - an address the state already binds to another image;
//! - an unknown id: not among the project's private images of the region (for a replica, of
//!   the replica's region); when a read by id found it, the message says whose and what it is
//!   (an image shared with the project, another project's, a public one);
//! - an image that is not `active`;
//! - for a replica: a copy that is not of the image's own image (the state's record, or the
//!   id the image's own entry imports), or an image that has no image yet.

use std::collections::BTreeMap;

use super::bound::Bound;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::imports::{Import, ImportTarget};
use crate::manifest::{Diagnostic, Label};
use crate::state::State;

/// An image read by id that is not a private image of the project: whose it is and its
/// `__imagetype` (`shared`, `gold`, `market`, or `private` of another project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub owner: String,
    pub image_type: String,
}

/// What refresh read, as the checks need it.
#[derive(Debug, Clone, Copy)]
pub struct ImportFacts<'a> {
    /// The configured region and project.
    pub region: &'a str,
    pub project_id: &'a str,
    /// The project's private images of the region, by id.
    pub images: &'a BTreeMap<String, RemoteImage>,
    /// The project's private images of each replica region read, by region and id.
    pub regions: &'a BTreeMap<String, BTreeMap<String, RemoteImage>>,
    /// Ids of entries found neither above: what a read by id found of them.
    pub foreign: &'a BTreeMap<String, Foreign>,
}

/// The entries still to import: those whose address does not already hold their id.
pub fn pending_imports<'i>(imports: &'i [Import], state: Option<&State>) -> Vec<&'i Import> {
    let bound = Bound::of(state);
    imports
        .iter()
        .filter(|entry| !is_done(entry, &bound))
        .collect()
}

fn is_done(entry: &Import, bound: &Bound) -> bool {
    bound.address_of(entry.to.region(), &entry.id) == Some(entry.to.to_string().as_str())
}

/// Every refusal of `imports` against `state` and `facts`, each at its entry.
pub fn check_imports(
    imports: &[Import],
    state: Option<&State>,
    facts: ImportFacts<'_>,
) -> Vec<Diagnostic> {
    let bound = Bound::of(state);
    imports
        .iter()
        .filter(|entry| !is_done(entry, &bound))
        .filter_map(|entry| refusal(entry, imports, state, &bound, facts))
        .collect()
}

fn refusal(
    entry: &Import,
    imports: &[Import],
    state: Option<&State>,
    bound: &Bound,
    facts: ImportFacts<'_>,
) -> Option<Diagnostic> {
    let (to, id) = (&entry.to, entry.id.as_str());
    let at_id = || entry.id_label.clone();
    if let Some(other) = bound.address_of(to.region(), id) {
        return Some(error(
            format!("image {id} is already managed as {other}"),
            at_id(),
            "an image is managed at one address: remove this entry (`imsform state mv` renames \
             an address)",
        ));
    }
    if let Some(held) = held_by(state, to) {
        return Some(error(
            format!("{to} already manages image {held}"),
            entry.to_label.clone(),
            format!(
                "remove this entry, or run `imsform state rm {to}` first to manage image {id} \
                 there instead (image {held} is not deleted)"
            ),
        ));
    }
    let region = to.region().unwrap_or(facts.region);
    let listed = match to.region() {
        None => facts.images.get(id),
        Some(region) => facts.regions.get(region).and_then(|images| images.get(id)),
    };
    let Some(image) = listed else {
        return Some(unknown(entry, region, facts));
    };
    if image.status != ImageStatus::Active {
        return Some(error(
            format!("image {id} is {}, not active", image.status.as_str()),
            at_id(),
            "imsform imports only images whose registration has finished (`queued` has no \
             file, `saving` is being registered, `killed` is broken)",
        ));
    }
    match to {
        ImportTarget::Image(_) => None,
        ImportTarget::Replica { image: source, .. } => {
            wrong_source(entry, image, source_id(state, imports, source), facts)
        }
    }
}

/// The image the state binds at `to`, when it is not nothing.
fn held_by(state: Option<&State>, to: &ImportTarget) -> Option<String> {
    let record = state?.images.get(to.image())?;
    match to.region() {
        None => Some(record.id.clone()),
        Some(region) => record.replicas.get(region).map(|r| r.id.clone()),
    }
}

/// The id of the image `address` is or will be: the state's record, else its own entry's.
fn source_id(
    state: Option<&State>,
    imports: &[Import],
    address: &crate::manifest::model::Address,
) -> Option<String> {
    let recorded = state
        .and_then(|state| state.images.get(address))
        .map(|record| record.id.clone());
    recorded.or_else(|| {
        let own = ImportTarget::Image(address.clone());
        imports.iter().find(|e| e.to == own).map(|e| e.id.clone())
    })
}

fn wrong_source(
    entry: &Import,
    copy: &RemoteImage,
    source: Option<String>,
    facts: ImportFacts<'_>,
) -> Option<Diagnostic> {
    let image = entry.to.image();
    let Some(source) = source else {
        return Some(error(
            format!("{image} has no image yet, so {} has no source", entry.to),
            entry.to_label.clone(),
            format!("import {image} too (an `import` entry with its id), or create it first"),
        ));
    };
    let expected = (facts.region.to_owned(), source.clone());
    if copy.copied_from.as_ref() == Some(&expected) {
        return None;
    }
    let reported = match &copy.copied_from {
        Some((region, id)) => format!("IMS reports it as a copy of {id} of {region}"),
        None => "IMS reports no source image for it".to_owned(),
    };
    Some(error(
        format!(
            "image {} is not a copy of {image}'s image {source}",
            entry.id
        ),
        entry.id_label.clone(),
        format!("{reported}; a replica is a copy of its image"),
    ))
}

fn unknown(entry: &Import, region: &str, facts: ImportFacts<'_>) -> Diagnostic {
    let id = &entry.id;
    let project = facts.project_id;
    let message = match facts.foreign.get(id) {
        Some(found) if found.owner != project => format!(
            "image {id} is not a private image of project {project}: it is a {} image of \
             project {}",
            found.image_type, found.owner
        ),
        Some(found) => format!(
            "image {id} is not a private image of project {project}: it is a {} image",
            found.image_type
        ),
        None => format!("there is no image {id} in project {project} of region {region}"),
    };
    error(
        message,
        entry.id_label.clone(),
        "imsform imports the project's own private images; `imsform query` lists those no \
         address manages",
    )
}

fn error(message: String, label: Label, hint: impl Into<String>) -> Diagnostic {
    Diagnostic::error(message).at(label).hint(hint)
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
