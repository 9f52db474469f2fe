//! Which addresses a plan looks at (`--target`/`--exclude` globs) and the `moved` entries that
//! rename state addresses before diffing. Pure; no diffing here.

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::error::{PlanError, Problem};
use super::model::{Move, PlanOptions};
use crate::manifest::model::{Address, Manifests};
use crate::state::ImageRecord;

/// The compiled `--target`/`--exclude` globs.
pub(super) struct Selection {
    targets: Option<GlobSet>,
    excludes: GlobSet,
    /// Each pattern alone, with its option, to name the ones that match nothing.
    patterns: Vec<(&'static str, String, GlobSet)>,
}

/// How many near addresses an error about an unknown address or pattern names.
const CLOSEST: usize = 3;

impl Selection {
    pub(super) fn new(options: &PlanOptions) -> Result<Selection, PlanError> {
        let targets = if options.targets.is_empty() {
            None
        } else {
            Some(compile("--target", &options.targets)?)
        };
        let excludes = compile("--exclude", &options.excludes)?;
        let mut patterns = Vec::new();
        for (option, list) in [
            ("--target", &options.targets),
            ("--exclude", &options.excludes),
        ] {
            for pattern in list {
                let set = compile(option, std::slice::from_ref(pattern))?;
                patterns.push((option, pattern.clone(), set));
            }
        }
        Ok(Selection {
            targets,
            excludes,
            patterns,
        })
    }

    /// Refuses a `--replace` address, or a `--target` or `--exclude` pattern, that matches none
    /// of `addresses`, and patterns that together leave no address: a typo would otherwise plan nothing (or
    /// everything) and say "No changes".
    pub(super) fn check_matches(
        &self,
        addresses: &BTreeSet<&Address>,
        replace: &[Address],
    ) -> Result<(), PlanError> {
        if let Some(address) = replace.iter().find(|a| !addresses.contains(a)) {
            return Err(PlanError::UnknownReplaceAddress {
                address: address.clone(),
                closest: closest(address.as_str(), addresses.iter().copied()),
            });
        }
        for (option, pattern, set) in &self.patterns {
            if !addresses.iter().any(|a| set.is_match(a.as_str())) {
                return Err(PlanError::NoMatch {
                    option,
                    pattern: pattern.clone(),
                    closest: closest(pattern, addresses.iter().copied()),
                });
            }
        }
        if !self.patterns.is_empty() && !addresses.iter().any(|a| self.includes(a)) {
            return Err(PlanError::NothingSelected);
        }
        Ok(())
    }

    /// Whether the plan looks at `address`.
    pub(super) fn includes(&self, address: &Address) -> bool {
        let text = address.as_str();
        self.targets.as_ref().is_none_or(|set| set.is_match(text)) && !self.excludes.is_match(text)
    }
}

/// The addresses most like `text` (with or without the `images.` prefix), best first.
fn closest<'a>(text: &str, addresses: impl Iterator<Item = &'a Address>) -> Vec<Address> {
    let key = text.strip_prefix(Address::PREFIX).unwrap_or(text);
    let mut scored: Vec<(f64, &Address)> = addresses
        .map(|a| (strsim::normalized_damerau_levenshtein(key, a.key()), a))
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(y.1)));
    scored
        .into_iter()
        .take(CLOSEST)
        .map(|(_, a)| a.clone())
        .collect()
}

/// Compiles globs; a pattern without the `images.` prefix gets it (`web-*` = `images.web-*`).
fn compile(option: &'static str, patterns: &[String]) -> Result<GlobSet, PlanError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let full = if pattern.starts_with(Address::PREFIX) {
            pattern.clone()
        } else {
            format!("{}{pattern}", Address::PREFIX)
        };
        let glob = Glob::new(&full).map_err(|error| PlanError::InvalidPattern {
            option,
            pattern: pattern.clone(),
            message: error.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|error| PlanError::InvalidPattern {
        option,
        pattern: patterns.join(", "),
        message: error.to_string(),
    })
}

/// Applies the manifests' `moved` entries to the state's records, in order (so chains work).
/// A moved entry whose `from` is not in the state is ignored (already moved, or never created).
pub(super) fn apply_moves(
    desired: &Manifests,
    records: &mut BTreeMap<Address, ImageRecord>,
) -> Result<Vec<Move>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut moves = Vec::new();
    let mut froms = BTreeSet::new();
    let mut tos = BTreeSet::new();
    for moved in &desired.moved {
        let conflict = |detail: String| Problem::MovedConflict {
            from: moved.from.clone(),
            to: moved.to.clone(),
            detail: format!("{detail} ({})", moved.location),
        };
        if moved.from == moved.to {
            problems.push(conflict("an address cannot move to itself".into()));
            continue;
        }
        if !froms.insert(moved.from.clone()) {
            problems.push(conflict(format!("{} is moved more than once", moved.from)));
            continue;
        }
        if !tos.insert(moved.to.clone()) {
            problems.push(conflict(format!("two entries move to {}", moved.to)));
            continue;
        }
        if !records.contains_key(&moved.from) {
            continue;
        }
        if desired.images.contains_key(&moved.from) {
            problems.push(conflict(format!(
                "{} is still declared in the manifests; remove it or the moved entry",
                moved.from
            )));
        } else if records.contains_key(&moved.to) {
            problems.push(conflict(format!(
                "the state already has an image at {}; `imsform state rm` one of them first",
                moved.to
            )));
        } else if let Some(record) = records.remove(&moved.from) {
            records.insert(moved.to.clone(), record);
            moves.push(Move {
                from: moved.from.clone(),
                to: moved.to.clone(),
            });
        }
    }
    if problems.is_empty() {
        Ok(moves)
    } else {
        Err(problems)
    }
}
