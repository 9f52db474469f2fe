//! One manifest file's top level: `images`, `defaults`, `moved`, `import` and `variables`, read into
//! unmerged parts with their places. Merging across files happens in `assemble.rs`. The
//! `variables` declarations are read first ([`read_variables`]), before the rest of any file,
//! since every file's strings may refer to any file's variables.

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::diagnostic::{Diagnostic, Label};
use super::fields::{ImageFields, read_image};
use super::imports::{RawImport, read_imports};
use super::model::{Address, is_valid_key};
use super::unknown_source::{UNKNOWN_IMAGE_URL, is_unknown};
use super::variables::{Declared, read_declarations};
use super::walk::{MappingRef, Spanned, Walker};

/// The top-level keys of a manifest.
pub const TOP_KEYS: [&str; 5] = ["images", "defaults", "moved", "import", "variables"];

/// The keys of a `moved` entry.
pub const MOVED_KEYS: [&str; 2] = ["from", "to"];

/// One image as written, before `defaults` are merged in.
#[derive(Debug, Clone)]
pub struct RawImage {
    pub address: Address,
    /// Where the key was written.
    pub label: Label,
    pub fields: ImageFields,
}

/// One `moved` entry with valid addresses.
#[derive(Debug, Clone)]
pub struct RawMoved {
    pub from: Spanned<Address>,
    pub to: Spanned<Address>,
}

/// What one file contributes.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// `defaults` and where its key was written.
    pub defaults: Option<(ImageFields, Label)>,
    pub images: Vec<RawImage>,
    pub moved: Vec<RawMoved>,
    pub imports: Vec<RawImport>,
}

/// Reads a file's `variables:` declarations (the top level's other keys are left to
/// [`read_document`]).
pub fn read_variables(walker: &mut Walker<'_>, root: &MarkedMappingNode) -> Vec<Declared> {
    let Some(node) = root.get_node("variables") else {
        return Vec::new();
    };
    match walker.mapping(node, "`variables`") {
        Some(mapping) => read_declarations(walker, mapping),
        None => Vec::new(),
    }
}

/// Reads a file's top-level mapping, but for `variables` ([`read_variables`]).
pub fn read_document(walker: &mut Walker<'_>, root: &MarkedMappingNode) -> Document {
    let root = MappingRef::Node(root);
    walker.unknown_keys(root, &TOP_KEYS, "the manifest's top level");
    let mut document = Document::default();
    for (key, value) in root.iter() {
        match key.as_str() {
            "defaults" => {
                if let Some(mapping) = walker.mapping(value, "`defaults`") {
                    let fields = read_image(walker, mapping, "`defaults`");
                    check_defaults(walker, &fields);
                    document.defaults = Some((fields, walker.key_label(key)));
                }
            }
            "images" => read_images(walker, value, &mut document),
            "moved" => read_moved(walker, value, &mut document),
            "import" => read_imports(walker, value, &mut document.imports),
            _ => {}
        }
    }
    document
}

/// What `defaults` cannot hold: `replicas` (each image names its own) and the unknown-source
/// `image_url` (every image without its own file would become one that cannot be built).
fn check_defaults(walker: &mut Walker<'_>, fields: &ImageFields) {
    if let Some(label) = &fields.replicas_label {
        walker.push(
            Diagnostic::error("`replicas` cannot be set in `defaults`")
                .at(label.clone())
                .hint("each image names its own replicas; move it to the images"),
        );
    }
    if let Some(url) = fields.image_url.as_ref().filter(|u| is_unknown(&u.value)) {
        walker.push(
            Diagnostic::error(format!(
                "`image_url: {UNKNOWN_IMAGE_URL}` cannot be set in `defaults`"
            ))
            .at(url.label.clone())
            .hint("it marks one adopted image whose file is not known; set it on that image"),
        );
    }
    if let Some(file) = &fields.file {
        walker.push(
            Diagnostic::error("`file` cannot be set in `defaults`")
                .at(file.label.clone())
                .hint(
                    "each image names its own file; `bucket` and `object_prefix` may be defaults",
                ),
        );
    }
}

fn read_images(walker: &mut Walker<'_>, node: &Node, document: &mut Document) {
    let Some(images) = walker.mapping(node, "`images`") else {
        return;
    };
    for (key, value) in images.iter() {
        let label = walker.key_label(key);
        if !is_valid_key(key.as_str()) {
            walker.push(
                Diagnostic::error(format!("`{}` is not a valid image key", key.as_str()))
                    .at(label.clone())
                    .hint("1-63 of a-z, 0-9, `_`, `-`, starting with a letter or digit"),
            );
        }
        let address = Address::from_key(key.as_str());
        let what = format!("image `{address}`");
        let Some(mapping) = walker.mapping(value, &what) else {
            continue;
        };
        let fields = read_image(walker, mapping, &what);
        if is_valid_key(key.as_str()) {
            document.images.push(RawImage {
                address,
                label,
                fields,
            });
        }
    }
}

fn read_moved(walker: &mut Walker<'_>, node: &Node, document: &mut Document) {
    let Some(entries) = walker.list(node, "`moved`") else {
        return;
    };
    for entry in entries {
        let Some(mapping) = walker.mapping(entry, "a `moved` entry") else {
            continue;
        };
        walker.unknown_keys(mapping, &MOVED_KEYS, "a `moved` entry");
        let from = moved_address(walker, entry, mapping, "from");
        let to = moved_address(walker, entry, mapping, "to");
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if from.value == to.value {
            walker.push(
                Diagnostic::error(format!("`moved` from `{}` to itself", from.value))
                    .at(to.label)
                    .hint("remove the entry"),
            );
            continue;
        }
        document.moved.push(RawMoved { from, to });
    }
}

fn moved_address(
    walker: &mut Walker<'_>,
    entry: &Node,
    mapping: MappingRef<'_>,
    side: &str,
) -> Option<Spanned<Address>> {
    let Some(node) = mapping.get(side) else {
        walker.push(
            Diagnostic::error(format!("a `moved` entry has no `{side}`"))
                .at(walker.label(entry))
                .hint("write `- { from: images.old-key, to: images.new-key }`"),
        );
        return None;
    };
    let text = walker.string(node, &format!("`moved.{side}`"))?;
    match Address::parse(&text.value) {
        Ok(address) => Some(Spanned {
            value: address,
            label: text.label,
        }),
        Err(message) => {
            walker.push(Diagnostic::error(message).at(text.label));
            None
        }
    }
}
