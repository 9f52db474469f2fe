//! What `imsform query --generate-config-out` adopts, decided once for every image: each
//! `active` image a manifest can state gets a key and an import entry, with its copies in the
//! replica regions read as its replicas; every other image is skipped with the reason, which the
//! listing and the file's header show. Pure; the text is `yaml.rs`, the loader's check of it
//! `verify.rs`.
//!
//! Skipped, besides what no manifest can say (`attrs.rs`): images not `active` (a `queued` one
//! has no file, a `saving` one is being registered, a `killed` one is broken); images carrying
//! imsform's token tag (made by imsform: this state's are `plan --adopt-untracked`'s, another
//! state's are managed there); images an `import` entry already takes; an image named like a
//! manifest image the state does not manage yet (it is most likely that image: import it
//! there rather than twice); copies whose source is not adopted here, a second copy of one
//! source in one region, and a copy whose description a replica entry cannot state.

use std::collections::{BTreeMap, BTreeSet};

use super::attrs::manifest_attrs;
use super::keys;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::Import;
use crate::manifest::model::{Address, ImageAttrs, Manifests, TOKEN_TAG, replica_address};
use crate::state::{State, is_token_of};

/// What the manifests and the state already say.
#[derive(Debug, Clone, Copy)]
pub struct Existing<'a> {
    pub manifests: &'a Manifests,
    pub imports: &'a [Import],
    pub state: Option<&'a State>,
}

/// The images to decide on.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The configured region.
    pub region: &'a str,
    /// Its images that the state does not manage, members filled where they were read.
    pub images: &'a [RemoteImage],
    /// Per replica region read: its images that the state does not manage.
    pub copies: &'a BTreeMap<String, Vec<RemoteImage>>,
    /// `lifecycle.prevent_destroy` on every adopted image (no `--no-protect`).
    pub protect: bool,
}

/// An image to import, with the manifest block that states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub address: Address,
    pub id: String,
    pub attrs: ImageAttrs,
    pub prevent_destroy: bool,
    /// Its copies to import as replicas, by region.
    pub replicas: BTreeMap<String, AdoptedReplica>,
}

/// A copy imported as a replica; `None` fields are the source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedReplica {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// An image not adopted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub id: String,
    pub name: String,
    pub region: String,
    pub status: String,
    pub reason: String,
}

/// The decisions: adopted images by key order, skipped ones by region, name and id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generation {
    pub adopted: Vec<Adopted>,
    pub skipped: Vec<Skipped>,
}

impl Generation {
    /// Moves the image at `address` of `region` (and its replicas) to the skipped ones.
    pub fn skip(&mut self, address: &Address, region: &str, reason: &str) {
        let Some(at) = self.adopted.iter().position(|a| &a.address == address) else {
            return;
        };
        let adopted = self.adopted.remove(at);
        let active = ImageStatus::Active.as_str();
        self.skipped.push(Skipped {
            id: adopted.id,
            name: adopted.attrs.name.clone(),
            region: region.to_owned(),
            status: active.to_owned(),
            reason: reason.to_owned(),
        });
        for (replica_region, replica) in adopted.replicas {
            self.skipped.push(Skipped {
                name: replica.name.unwrap_or_else(|| adopted.attrs.name.clone()),
                id: replica.id,
                region: replica_region,
                status: active.to_owned(),
                reason: format!("its source is not adopted: {reason}"),
            });
        }
        sort_skipped(&mut self.skipped);
    }
}

fn sort_skipped(skipped: &mut [Skipped]) {
    skipped.sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
}

/// Decides on every image of `found`.
pub fn generate(existing: Existing<'_>, found: Found<'_>) -> Generation {
    let mut generation = Generation::default();
    let mut candidates = Vec::new();
    for image in found.images {
        match refusal(image, existing).map_or_else(|| manifest_attrs(image), Err) {
            Ok(attrs) => candidates.push((image, attrs)),
            Err(reason) => generation
                .skipped
                .push(skipped(image, found.region, reason)),
        }
    }
    let taken: BTreeSet<String> = existing
        .manifests
        .images
        .keys()
        .map(|address| address.key().to_owned())
        .collect();
    let names = candidates
        .iter()
        .map(|(image, _)| (image.id.as_str(), image.name.as_str()));
    let keys = keys::assign(names, &taken);
    let mut adopted: BTreeMap<String, Adopted> = BTreeMap::new();
    for (image, attrs) in candidates {
        let address = Address::from_key(&keys[&image.id]);
        let entry = Adopted {
            address,
            id: image.id.clone(),
            attrs,
            prevent_destroy: found.protect,
            replicas: BTreeMap::new(),
        };
        adopted.insert(image.id.clone(), entry);
    }
    for (region, copies) in found.copies {
        for copy in sorted(copies) {
            if let Err(reason) = replica(copy, region, found.region, existing, &mut adopted) {
                generation.skipped.push(skipped(copy, region, reason));
            }
        }
    }
    generation.adopted = adopted.into_values().collect();
    generation.adopted.sort_by(|a, b| a.address.cmp(&b.address));
    sort_skipped(&mut generation.skipped);
    generation
}

fn skipped(image: &RemoteImage, region: &str, reason: String) -> Skipped {
    Skipped {
        id: image.id.clone(),
        name: image.name.clone(),
        region: region.to_owned(),
        status: image.status.as_str().to_owned(),
        reason,
    }
}

fn sorted(images: &[RemoteImage]) -> Vec<&RemoteImage> {
    let mut sorted: Vec<&RemoteImage> = images.iter().collect();
    sorted.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    sorted
}

/// Why `image` (of any region) is not adopted, whatever its attributes; `None`: it may be.
fn refusal(image: &RemoteImage, existing: Existing<'_>) -> Option<String> {
    if image.status != ImageStatus::Active {
        return Some(format!("it is {}, not active", image.status.as_str()));
    }
    if let Some(token) = image.tags.get(TOKEN_TAG) {
        let lineage = existing.state.map(|state| state.lineage.as_str());
        return Some(if lineage.is_some_and(|l| is_token_of(l, token)) {
            "imsform made it for this state, which lost track of it: `imsform plan \
             --adopt-untracked` adopts it"
                .to_owned()
        } else {
            format!(
                "it carries imsform's token tag ({TOKEN_TAG}={token}): another state manages it"
            )
        });
    }
    if let Some(entry) = existing.imports.iter().find(|entry| entry.id == image.id) {
        return Some(format!(
            "an `import` entry already takes it into {} ({})",
            entry.to,
            entry.location()
        ));
    }
    let managed = |address: &Address| {
        existing
            .state
            .is_some_and(|state| state.images.contains_key(address))
    };
    let imported = |address: &Address| existing.imports.iter().any(|e| e.to.image() == address);
    let namesake = existing.manifests.images.values().find(|spec| {
        spec.attrs.name == image.name && !managed(&spec.address) && !imported(&spec.address)
    });
    namesake.map(|spec| {
        format!(
            "{} of the manifests ({}) has this name and no image yet: to take this one there, \
             add `{{ to: {}, id: {} }}` to `import`",
            spec.address, spec.location, spec.address, image.id
        )
    })
}

/// Adopts `copy` of `region` as a replica of the adopted image it was copied from.
fn replica(
    copy: &RemoteImage,
    region: &str,
    home: &str,
    existing: Existing<'_>,
    adopted: &mut BTreeMap<String, Adopted>,
) -> Result<(), String> {
    if let Some(reason) = refusal(copy, existing) {
        return Err(reason);
    }
    let Some((source_region, source_id)) = &copy.copied_from else {
        return Err(format!("IMS reports no source image of {home} for it"));
    };
    if source_region != home {
        return Err(format!("it is a copy of {source_id} of {source_region}"));
    }
    let Some(source) = adopted.get_mut(source_id) else {
        return Err(match managed_address(existing.state, source_id) {
            Some(address) => format!(
                "it is a copy of {address}'s image: add `replicas: {{ {region}: {{}} }}` to \
                 {address} and `{{ to: '{}', id: {} }}` to `import`",
                replica_address(&address, region),
                copy.id
            ),
            None => format!("it is a copy of {source_id}, which is not adopted"),
        });
    };
    if let Some(first) = source.replicas.get(region) {
        return Err(format!(
            "{} has another copy in {region}, adopted as its replica ({})",
            source.address, first.id
        ));
    }
    if !crate::ims::is_valid_name(&copy.name) {
        return Err(format!("its name {:?} breaks IMS's name rules", copy.name));
    }
    let description = copy.description.clone().filter(|d| !d.is_empty());
    if description.is_none() && source.attrs.description.is_some() {
        return Err(format!(
            "it has no description while {} has one, and a replica entry without a \
             description takes its source's",
            source.address
        ));
    }
    let replica = AdoptedReplica {
        id: copy.id.clone(),
        name: (copy.name != source.attrs.name).then(|| copy.name.clone()),
        description: description.filter(|d| Some(d) != source.attrs.description.as_ref()),
    };
    source.replicas.insert(region.to_owned(), replica);
    Ok(())
}

fn managed_address(state: Option<&State>, id: &str) -> Option<Address> {
    let state = state?;
    let found = state.images.iter().find(|(_, record)| record.id == id);
    found.map(|(address, _)| address.clone())
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
