//! A plan over some of the manifests (`imsform plan linux.yaml`): the managed images the given
//! paths do not list may well be defined in the manifests they leave out, so the plan must not
//! destroy them for their absence. They are left out of the plan, and a note names them and the
//! files not read, unless `--destroy-unlisted` asks for the destruction. Part of `context.rs`.

use std::path::{Path, PathBuf};

use crate::manifest::model::{Address, Manifests};
use crate::plan::PlanOptions;
use crate::state::State;

/// Managed addresses a plan over a subset of the manifests cannot see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlisted {
    /// The manifest files of the directory the paths leave out.
    pub files: Vec<PathBuf>,
    /// Addresses in the state that the manifests read neither define nor move.
    pub addresses: Vec<Address>,
}

/// What the given `paths` leave out of `dir`'s manifests and which managed addresses they do
/// not list; `None` when the paths cover every manifest or every managed address is listed.
pub fn unlisted(
    paths: &[PathBuf],
    dir: &Path,
    manifests: &Manifests,
    state: Option<&State>,
) -> Option<Unlisted> {
    let files = crate::manifest::left_out(paths, dir);
    if files.is_empty() {
        return None;
    }
    let addresses = unlisted_addresses(manifests, state);
    (!addresses.is_empty()).then_some(Unlisted { files, addresses })
}

fn unlisted_addresses(manifests: &Manifests, state: Option<&State>) -> Vec<Address> {
    let moved = |address: &Address| manifests.moved.iter().any(|m| &m.from == address);
    state
        .iter()
        .flat_map(|state| state.images.keys())
        .filter(|address| !manifests.images.contains_key(*address) && !moved(address))
        .cloned()
        .collect()
}

/// Leaves the unlisted addresses out of the plan (unless `destroy_unlisted`) and returns the
/// note that says so, for stderr.
pub fn leave_alone(
    unlisted: &Unlisted,
    destroy_unlisted: bool,
    options: &mut PlanOptions,
) -> String {
    let files = join(unlisted.files.iter().map(|f| f.display().to_string()));
    let addresses = join(unlisted.addresses.iter().map(ToString::to_string));
    if destroy_unlisted {
        return format!(
            "Note: --destroy-unlisted: the managed images not in the manifests given are planned \
             for destruction: {addresses} (manifests not read: {files})."
        );
    }
    options
        .excludes
        .extend(unlisted.addresses.iter().map(ToString::to_string));
    format!(
        "Note: the paths given leave out manifests of the directory ({files}), so these managed \
         images cannot be seen and are left alone: {addresses}. Give paths that cover every \
         manifest, or pass --destroy-unlisted to destroy them."
    )
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(key: &str) -> Address {
        Address::from_key(key)
    }

    #[test]
    fn unlisted_addresses_are_left_alone_unless_asked() {
        let unlisted = Unlisted {
            files: vec![PathBuf::from("databases.yml")],
            addresses: vec![address("db"), address("cache")],
        };
        let mut options = PlanOptions::default();
        let note = leave_alone(&unlisted, false, &mut options);
        assert_eq!(options.excludes, ["images.db", "images.cache"]);
        assert!(note.contains("(databases.yml)"), "{note}");
        assert!(
            note.contains("left alone: images.db, images.cache."),
            "{note}"
        );
        let mut options = PlanOptions::default();
        let note = leave_alone(&unlisted, true, &mut options);
        assert!(options.excludes.is_empty());
        assert!(
            note.contains("planned for destruction: images.db"),
            "{note}"
        );
    }
}
