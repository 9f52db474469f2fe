//! An image's `replicas` (design.md section 10): copies kept in other regions, each written as
//! `REGION: { name?, description? }`. Checked here: the region's syntax, the keys, and the
//! name and description by the same IMS rules as an image's. What depends on the
//! configuration (a replica in the source's own region, a region the configuration does not
//! know, the copy agency) is checked when the configuration is known, at plan time
//! (`cli/context/regions.rs`).

use std::collections::BTreeMap;

use marked_yaml::Node;

use super::diagnostic::{Diagnostic, Label};
use super::naming::{description, name};
use super::walk::Walker;
use crate::ims;

/// The keys of one replica.
pub const REPLICA_KEYS: [&str; 2] = ["name", "description"];

/// One replica as written.
#[derive(Debug, Clone)]
pub struct RawReplica {
    /// `None`: the source image's name.
    pub name: Option<String>,
    /// `None`: the source image's description.
    pub description: Option<String>,
    /// Where the region key was written.
    pub label: Label,
}

/// Reads `replicas:` of an image; `what` names the image in messages. Bad entries are
/// reported and left out.
pub fn read_replicas(
    walker: &mut Walker<'_>,
    node: &Node,
    what: &str,
) -> BTreeMap<String, RawReplica> {
    let mut replicas = BTreeMap::new();
    let Some(mapping) = walker.mapping(node, &format!("`replicas` of {what}")) else {
        return replicas;
    };
    for (key, value) in mapping.iter() {
        let region = key.as_str();
        let label = walker.key_label(key);
        if !ims::is_region_name(region) {
            walker.push(
                Diagnostic::error(format!(
                    "`{region}` in `replicas` of {what} is not a region name"
                ))
                .at(label)
                .hint("a region id like `cn-south-1`: lower-case letters, digits and `-`"),
            );
            continue;
        }
        let at = format!("replica `{region}` of {what}");
        let mut replica = RawReplica {
            name: None,
            description: None,
            label,
        };
        // `{}` and an empty value both mean "as the source".
        let empty = matches!(value, Node::Scalar(s) if s.as_str().is_empty());
        if !empty && let Some(fields) = walker.mapping(value, &at) {
            walker.unknown_keys(fields, &REPLICA_KEYS, &at);
            if let Some(node) = fields.get("name") {
                replica.name = name(walker, node, &format!("`name` of {at}")).map(|n| n.value);
            }
            if let Some(node) = fields.get("description") {
                let what = format!("`description` of {at}");
                replica.description = description(walker, node, &what).map(|d| d.value);
            }
        }
        replicas.insert(region.to_owned(), replica);
    }
    replicas
}
