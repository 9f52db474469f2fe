//! `import:` blocks (Terraform 1.5's import blocks, design.md section 12): a top-level list of
//! `{ to: ADDRESS, id: IMAGE_ID }` that takes an existing image, or a copy in another region,
//! under an address of the manifests. ADDRESS is an image (`images.web`) or one of its replicas
//! (`images.web.replicas["cn-south-1"]`, the id then being the copy's in that region).
//!
//! This file owns the validated type ([`Import`], [`ImportTarget`]) and the reading of one
//! file's entries, each problem a diagnostic at its place. The checks across entries and
//! against the images (two blocks for one id or one address, an address with no block) are in
//! `import_checks.rs`; what needs the state or the cloud (an unknown id, an image not active,
//! one managed elsewhere) is `crate::adopt::check_imports`, which the planner calls.

use std::fmt;

use marked_yaml::Node;

use super::diagnostic::{Diagnostic, Label};
use super::model::{Address, Location, replica_address};
use super::walk::{MappingRef, Spanned, Walker};
use crate::ims;

/// The keys of an `import` entry.
pub const IMPORT_KEYS: [&str; 2] = ["to", "id"];

/// Where an import puts the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImportTarget {
    /// An image: `images.<key>`.
    Image(Address),
    /// A replica of an image: `images.<key>.replicas["REGION"]`.
    Replica { image: Address, region: String },
}

impl ImportTarget {
    /// Parses `images.<key>` or `images.<key>.replicas["REGION"]`.
    pub fn parse(text: &str) -> Result<ImportTarget, String> {
        let Some((image, rest)) = text.split_once(".replicas[") else {
            return Address::parse(text).map(ImportTarget::Image);
        };
        let image = Address::parse(image)?;
        let region = rest
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix("\"]"))
            .filter(|region| ims::is_region_name(region))
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a replica address: replica addresses look like \
                     `images.<key>.replicas[\"cn-south-1\"]`"
                )
            })?;
        Ok(ImportTarget::Replica {
            image,
            region: region.to_owned(),
        })
    }

    /// The image the target is, or is a replica of.
    pub fn image(&self) -> &Address {
        match self {
            ImportTarget::Image(image) | ImportTarget::Replica { image, .. } => image,
        }
    }

    /// The replica's region; `None` for an image.
    pub fn region(&self) -> Option<&str> {
        match self {
            ImportTarget::Image(_) => None,
            ImportTarget::Replica { region, .. } => Some(region),
        }
    }
}

impl fmt::Display for ImportTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportTarget::Image(image) => write!(f, "{image}"),
            ImportTarget::Replica { image, region } => f.write_str(&replica_address(image, region)),
        }
    }
}

/// One validated `import` entry: its target has a block in the manifests, and no other entry
/// names the same id or the same address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub to: ImportTarget,
    /// The image id (in the replica's region for a replica).
    pub id: String,
    /// Where `to` was written, for refusals at plan time.
    pub to_label: Label,
    /// Where `id` was written.
    pub id_label: Label,
}

impl Import {
    /// `file:line:col` of the entry's `to`.
    pub fn location(&self) -> Location {
        let (line, column) = self
            .to_label
            .snippet
            .as_ref()
            .map_or((0, 0), |snippet| (snippet.line, snippet.column));
        Location {
            file: self.to_label.file.clone(),
            line,
            column,
        }
    }
}

/// One entry as read from a file, before the checks across entries.
#[derive(Debug, Clone)]
pub struct RawImport {
    pub to: Spanned<ImportTarget>,
    pub id: Spanned<String>,
}

/// An IMS image id as imsform accepts it: 1-64 letters, digits, `-` or `_` (IMS ids are UUIDs).
pub fn is_image_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads a file's `import:` list into `out`; bad entries are reported and left out.
pub fn read_imports(walker: &mut Walker<'_>, node: &Node, out: &mut Vec<RawImport>) {
    let Some(entries) = walker.list(node, "`import`") else {
        return;
    };
    for entry in entries {
        let Some(mapping) = walker.mapping(entry, "an `import` entry") else {
            continue;
        };
        walker.unknown_keys(mapping, &IMPORT_KEYS, "an `import` entry");
        let to = target(walker, entry, mapping);
        let id = image_id(walker, entry, mapping);
        if let (Some(to), Some(id)) = (to, id) {
            out.push(RawImport { to, id });
        }
    }
}

/// The entry's `side` node, or a diagnostic at the entry.
fn required<'n>(
    walker: &mut Walker<'_>,
    entry: &Node,
    mapping: MappingRef<'n>,
    side: &str,
) -> Option<&'n Node> {
    let node = mapping.get(side);
    if node.is_none() {
        walker.push(
            Diagnostic::error(format!("an `import` entry has no `{side}`"))
                .at(walker.label(entry))
                .hint("write `- { to: images.web, id: <image id> }`"),
        );
    }
    node
}

fn target(
    walker: &mut Walker<'_>,
    entry: &Node,
    mapping: MappingRef<'_>,
) -> Option<Spanned<ImportTarget>> {
    let node = required(walker, entry, mapping, "to")?;
    let text = walker.string(node, "`import.to`")?;
    match ImportTarget::parse(&text.value) {
        Ok(target) => Some(Spanned {
            value: target,
            label: text.label,
        }),
        Err(message) => {
            walker.push(Diagnostic::error(message).at(text.label));
            None
        }
    }
}

fn image_id(
    walker: &mut Walker<'_>,
    entry: &Node,
    mapping: MappingRef<'_>,
) -> Option<Spanned<String>> {
    let node = required(walker, entry, mapping, "id")?;
    let id = walker.string(node, "`import.id`")?;
    if is_image_id(&id.value) {
        return Some(id);
    }
    walker.push(
        Diagnostic::error(format!("`{}` is not an image id", id.value))
            .at(id.label)
            .hint("an IMS image id such as `imsform query` lists: 1-64 letters, digits, `-`, `_`"),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_images_and_replicas_and_print_back() {
        let image = ImportTarget::parse("images.web").unwrap();
        assert_eq!(image, ImportTarget::Image(Address::from_key("web")));
        assert_eq!(image.region(), None);
        let text = "images.web.replicas[\"cn-south-1\"]";
        let replica = ImportTarget::parse(text).unwrap();
        assert_eq!(replica.image(), &Address::from_key("web"));
        assert_eq!(replica.region(), Some("cn-south-1"));
        assert_eq!(replica.to_string(), text);
        for bad in [
            "web",
            "images.Web",
            "images.web.replicas[cn-south-1]",
            "images.web.replicas[\"CN South\"]",
            "images.web.replicas[\"cn-south-1\"",
            "images.web.replicas[\"\"]",
        ] {
            assert!(ImportTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_ids_are_short_words() {
        assert!(is_image_id("0b7f3b2c-1d2e-4f50-8a9b-0c1d2e3f4a5b"));
        assert!(!is_image_id(""));
        assert!(!is_image_id("has space"));
        assert!(!is_image_id(&"a".repeat(65)));
    }
}
