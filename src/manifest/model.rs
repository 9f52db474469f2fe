//! The validated manifest model. Values of these types have passed every check of
//! `imsform validate`; plan and apply rely on that and never re-validate.
//!
//! [`ImageAttrs`] is also what the state records as "attributes as last applied", so the plan
//! compares like with like.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// The reserved tag key that carries a create's journal token (design.md section 6).
pub const TOKEN_TAG: &str = "imsform-token";

/// An image's address: `images.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// The prefix every address starts with.
    pub const PREFIX: &'static str = "images.";

    /// The address of the image with manifest key `key` (the key is assumed valid).
    pub fn from_key(key: &str) -> Address {
        Address(format!("{}{key}", Self::PREFIX))
    }

    /// Parses `images.<key>`, checking the key's syntax `[a-z0-9][a-z0-9_-]{0,62}`.
    pub fn parse(text: &str) -> Result<Address, String> {
        let key = text.strip_prefix(Self::PREFIX).ok_or_else(|| {
            format!("`{text}` is not an image address: addresses look like `images.<key>`")
        })?;
        if is_valid_key(key) {
            Ok(Address(text.to_owned()))
        } else {
            Err(format!(
                "`{key}` is not a valid image key: 1-63 of a-z, 0-9, `_`, `-`, starting with a \
                 letter or digit"
            ))
        }
    }

    /// The manifest key, without the `images.` prefix.
    pub fn key(&self) -> &str {
        &self.0[Self::PREFIX.len()..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The `disk_format` of the image metadata.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DiskFormat {
    Zvhd2,
    Zvhd,
    Vhd,
    Raw,
    Qcow2,
    Iso,
}

impl DiskFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskFormat::Zvhd2 => "zvhd2",
            DiskFormat::Zvhd => "zvhd",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Iso => "iso",
        }
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attributes imsform manages on one image: what the manifest asks for, and what the state
/// records as last applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ImageAttrs {
    pub name: String,
    /// `bucket:object` in OBS.
    pub image_url: String,
    pub os_version: String,
    pub disk_format: DiskFormat,
    /// GB.
    pub min_disk: u32,
    /// MB; 0 means no limit.
    pub min_ram: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User tags; never contains [`TOKEN_TAG`].
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub protected: bool,
    /// The consumer projects (32-hex project ids of the same region) the image is shared with.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub share_with: BTreeSet<String>,
}

/// One attribute of [`ImageAttrs`], as named in manifests, `ignore_changes` and plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    ImageUrl,
    OsVersion,
    DiskFormat,
    MinDisk,
    MinRam,
    Description,
    Tags,
    Protected,
    ShareWith,
}

/// What a change of a [`Field`] costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `PATCH /v2/cloudimages/{id}` or the tag API.
    InPlace,
    /// A new image (`# forces replacement`).
    Replace,
    /// IMS has no supported update: the plan fails with an explanation.
    Unsupported,
}

impl Field {
    pub const ALL: [Field; 10] = [
        Field::Name,
        Field::ImageUrl,
        Field::OsVersion,
        Field::DiskFormat,
        Field::MinDisk,
        Field::MinRam,
        Field::Description,
        Field::Tags,
        Field::Protected,
        Field::ShareWith,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::ImageUrl => "image_url",
            Field::OsVersion => "os_version",
            Field::DiskFormat => "disk_format",
            Field::MinDisk => "min_disk",
            Field::MinRam => "min_ram",
            Field::Description => "description",
            Field::Tags => "tags",
            Field::Protected => "protected",
            Field::ShareWith => "share_with",
        }
    }

    pub fn change_kind(self) -> ChangeKind {
        match self {
            Field::Name | Field::MinRam | Field::Description | Field::Tags | Field::ShareWith => {
                ChangeKind::InPlace
            }
            Field::ImageUrl | Field::OsVersion | Field::DiskFormat | Field::MinDisk => {
                ChangeKind::Replace
            }
            Field::Protected => ChangeKind::Unsupported,
        }
    }

    /// Whether the cloud can change this field outside imsform (so drift is judged on it).
    pub fn can_drift(self) -> bool {
        matches!(
            self,
            Field::Name | Field::MinRam | Field::Description | Field::Tags | Field::ShareWith
        )
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `lifecycle.replace_order`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    #[default]
    CreateBeforeDestroy,
    DestroyBeforeCreate,
}

/// `lifecycle`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub ignore_changes: BTreeSet<Field>,
    pub replace_order: ReplaceOrder,
}

/// Where something was written: for messages that point back at the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: std::path::PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One validated image of the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub address: Address,
    pub attrs: ImageAttrs,
    pub lifecycle: Lifecycle,
    /// Where the image's key was written.
    pub location: Location,
    /// Copies of the image kept in other regions, by region (design.md section 10).
    pub replicas: BTreeMap<String, ReplicaSpec>,
}

/// One `replicas` entry: a copy of the image in another region, at the child address
/// `images.<key>.replicas["REGION"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSpec {
    /// `None`: the source image's name.
    pub name: Option<String>,
    /// `None`: the source image's description.
    pub description: Option<String>,
    /// Where the region was written.
    pub location: Location,
}

impl ImageSpec {
    /// The name and description `region`'s replica should have: its own, else the source's.
    pub fn replica_attrs(&self, region: &str) -> Option<(String, Option<String>)> {
        let replica = self.replicas.get(region)?;
        Some((
            replica
                .name
                .clone()
                .unwrap_or_else(|| self.attrs.name.clone()),
            replica
                .description
                .clone()
                .or_else(|| self.attrs.description.clone()),
        ))
    }
}

/// The address of an image's replica in `region`: `images.<key>.replicas["REGION"]`.
pub fn replica_address(image: &Address, region: &str) -> String {
    InstanceAddress::Replica {
        image: image.clone(),
        region: region.to_owned(),
    }
    .to_string()
}

/// The kinds of resource instance imsform manages (design.md section 11). The one list of the
/// kinds: adding a kind adds a variant here and one module per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An image: `images.<key>` (its members are its `share_with` attribute).
    Image,
    /// A copy of an image in another region: `images.<key>.replicas["REGION"]`.
    Replica,
}

impl Kind {
    /// Terraform's resource `type` of the kind.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Image => "imsform_image",
            Kind::Replica => "imsform_image_replica",
        }
    }

    /// The word that opens the kind's blocks in plans (`image "web" {`).
    pub fn block_word(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Replica => "replica",
        }
    }
}

/// A resource instance's typed address. Ordered by kind, then image, then index: a plan lists
/// every image before the first replica, as it always has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceAddress {
    Image(Address),
    Replica { image: Address, region: String },
}

impl InstanceAddress {
    pub fn kind(&self) -> Kind {
        match self {
            InstanceAddress::Image(_) => Kind::Image,
            InstanceAddress::Replica { .. } => Kind::Replica,
        }
    }

    /// The image the instance belongs to (itself for an image): targeting an image takes its
    /// replicas with it, and a replica's failure is reported at its image.
    pub fn image(&self) -> &Address {
        match self {
            InstanceAddress::Image(image) | InstanceAddress::Replica { image, .. } => image,
        }
    }

    /// Terraform's `index` (`for_each` key): a replica's region; `None` for an image.
    pub fn index(&self) -> Option<&str> {
        match self {
            InstanceAddress::Image(_) => None,
            InstanceAddress::Replica { region, .. } => Some(region),
        }
    }

    /// The label of the instance's block in plans: the image key, or the replica's region.
    pub fn label(&self) -> &str {
        self.index().unwrap_or_else(|| self.image().key())
    }

    /// Parses `images.<key>` or `images.<key>.replicas["REGION"]`.
    pub fn parse(text: &str) -> Result<InstanceAddress, String> {
        let Some((image, rest)) = text.split_once(".replicas[\"") else {
            return Address::parse(text).map(InstanceAddress::Image);
        };
        let region = rest
            .strip_suffix("\"]")
            .filter(|r| !r.is_empty() && !r.contains('"'))
            .ok_or_else(|| {
                format!("`{text}` is not a replica address: `images.<key>.replicas[\"REGION\"]`")
            })?;
        Ok(InstanceAddress::Replica {
            image: Address::parse(image)?,
            region: region.to_owned(),
        })
    }
}

impl fmt::Display for InstanceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceAddress::Image(image) => write!(f, "{image}"),
            InstanceAddress::Replica { image, region } => {
                write!(f, "{image}.replicas[\"{region}\"]")
            }
        }
    }
}

impl From<Address> for InstanceAddress {
    fn from(image: Address) -> InstanceAddress {
        InstanceAddress::Image(image)
    }
}

impl Serialize for InstanceAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InstanceAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        InstanceAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A `moved` entry: rename an address without replacing its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from: Address,
    pub to: Address,
    pub location: Location,
}

/// All manifests of a run, merged and validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifests {
    pub images: BTreeMap<Address, ImageSpec>,
    pub moved: Vec<Moved>,
}

impl Manifests {
    /// Every region some image keeps a replica in.
    pub fn replica_regions(&self) -> BTreeSet<String> {
        self.images
            .values()
            .flat_map(|spec| spec.replicas.keys().cloned())
            .collect()
    }

    /// Every consumer project an image is to be shared with.
    pub fn member_projects(&self) -> BTreeSet<String> {
        self.images
            .values()
            .flat_map(|spec| spec.attrs.share_with.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_expose_their_key() {
        let address = Address::parse("images.ubuntu-2204_base").unwrap();
        assert_eq!(address.key(), "ubuntu-2204_base");
        assert_eq!(address, Address::from_key("ubuntu-2204_base"));
        assert!(Address::parse("image.x").is_err());
        assert!(Address::parse("images.-x").is_err());
        assert!(Address::parse("images.Upper").is_err());
        assert!(Address::parse(&format!("images.{}", "a".repeat(64))).is_err());
        assert!(Address::parse(&format!("images.{}", "a".repeat(63))).is_ok());
    }
}
