//! The two texts an image and each of its replicas carry, `name` and `description`, read and
//! checked by IMS's rules (`crate::ims`) where they are written. Shared by `fields.rs` (an
//! image) and `replicas.rs` (its copies), so it imports neither.

use marked_yaml::Node;

use super::diagnostic::Diagnostic;
use super::walk::{Spanned, Walker};
use crate::ims;

/// An image's or a replica's `name`; `None` (reported) when IMS would refuse it.
pub(super) fn name(walker: &mut Walker<'_>, node: &Node, what: &str) -> Option<Spanned<String>> {
    let name = walker.text(node, what)?;
    if ims::is_valid_name(&name.value) {
        return Some(name);
    }
    let problem = if name.value.is_empty() {
        "is empty".to_owned()
    } else if name.value.chars().count() > ims::NAME_MAX {
        format!("is longer than {} characters", ims::NAME_MAX)
    } else if name.value.starts_with(' ') || name.value.ends_with(' ') {
        "starts or ends with a space".to_owned()
    } else {
        "holds a character IMS refuses".to_owned()
    };
    walker.push(
        Diagnostic::error(format!("{what} {problem}"))
            .at(name.label)
            .hint("1-128 characters: letters, digits, space, `-`, `.`, `_`; no leading or trailing space"),
    );
    None
}

/// An image's or a replica's `description`; `None` (reported) when IMS would refuse it.
pub(super) fn description(
    walker: &mut Walker<'_>,
    node: &Node,
    what: &str,
) -> Option<Spanned<String>> {
    let text = walker.text(node, what)?;
    if ims::is_valid_description(&text.value) {
        return Some(text);
    }
    let problem = if text.value.chars().count() > ims::DESCRIPTION_MAX {
        format!("is longer than {} characters", ims::DESCRIPTION_MAX)
    } else {
        "holds a carriage return, `<` or `>`".to_owned()
    };
    walker.push(
        Diagnostic::error(format!("{what} {problem}"))
            .at(text.label)
            .hint("IMS refuses descriptions over 1024 characters or with CR, `<`, `>`"),
    );
    None
}
