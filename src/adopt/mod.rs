//! Adopting a project's existing images (design.md section 12, issue 21): what `imsform query`
//! lists, the manifest file `--generate-config-out` writes, and the plan-time checks of
//! `import:` entries. Below `cli` and beside `plan` in the data flow: it reads the manifests'
//! model, the state and the cloud's types, never the plan, renderings or apply, so the planner
//! can call [`check_imports`] and [`pending_imports`].
//!
//! - [`bound`]: the ids a state binds, and to which address;
//! - [`select`]: the images no address manages, `--name`/`--tag`, where each came from;
//! - [`attrs`]: an image as a manifest states it (`image_url: unknown` when IMS has no file);
//! - [`keys`]: manifest keys from names, with id suffixes for shared names;
//! - [`generate`]: what is adopted and what is skipped, and why; [`yaml`]: the file's text;
//!   [`verify`]: the file checked by the loader (with the manifests already there);
//! - [`listing`]: the table and the JSON of `imsform query`;
//! - [`checks`]: the plan-time refusals of import entries;
//! - [`read`]: the few requests adoption makes.

pub mod attrs;
pub mod bound;
pub mod checks;
#[cfg(test)]
mod fixtures;
pub mod generate;
pub mod keys;
pub mod listing;
pub mod read;
pub mod select;
pub mod verify;
pub mod yaml;

pub use bound::Bound;
pub use checks::{Foreign, ImportFacts, check_imports, pending_imports};
pub use generate::{Existing, Found, Generation, generate};
pub use select::{Filters, Source, unmanaged};
