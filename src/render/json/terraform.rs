//! The parts of Terraform's JSON format every kind shares: the provider imsform names, the
//! resource header (`address`, `mode`, `type`, `name`, `index`, `provider_name`), the values
//! representation (`planned_values`, `prior_state`, `show --json`), the configuration
//! representation and the small values Terraform writes beside them (`sensitive_values`,
//! `before_sensitive`, expressions). The kinds' modules (`image.rs`, `replica.rs`) fill these
//! with their attributes; nothing here knows a kind beyond [`Kind`]'s names.

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};

use crate::manifest::model::{Address, InstanceAddress, Kind};

/// The provider imsform's resources belong to, as Terraform names providers (a registry host,
/// a namespace, a type). Resource types are `imsform_*`, so the provider's local name is
/// `imsform`; no provider of that name is published, and none needs to be: readers use the
/// name to group resources, and a policy that selects on it keeps working.
pub const PROVIDER: &str = "registry.terraform.io/imsform/imsform";

/// The provider's local name: the key of `configuration.provider_config` and each configured
/// resource's `provider_config_key`.
pub const PROVIDER_KEY: &str = "imsform";

/// The version of every kind's attribute schema (Terraform's `schema_version`).
pub const SCHEMA_VERSION: u32 = 0;

/// The version of the state representation (`prior_state`, `show --json`), as Terraform's.
pub const STATE_FORMAT_VERSION: &str = "1.0";

/// The mode of every imsform resource.
pub const MANAGED: &str = "managed";

/// Terraform's `provider_name`: always [`PROVIDER`]. Not read back (the document is
/// re-rendered and compared).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct ProviderName;

impl Serialize for ProviderName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(PROVIDER)
    }
}

/// `{}`: an object with nothing in it (`sensitive_values`: imsform has no sensitive values).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Empty {}

/// Terraform's `before_sensitive` / `after_sensitive`: `false` where the object is null, `{}`
/// (no sensitive value) where it exists. Derived; not read back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sensitive(pub bool);

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 {
            Empty {}.serialize(serializer)
        } else {
            serializer.serialize_bool(false)
        }
    }
}

impl Sensitive {
    pub fn of<T>(object: &Option<T>) -> Sensitive {
        Sensitive(object.is_some())
    }
}

/// An expression of the configuration whose value is known as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Constant<T> {
    pub constant_value: T,
}

/// An expression of the configuration that refers to other values, by address.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct References {
    pub references: Vec<String>,
}

impl References {
    pub fn to(addresses: &[&str]) -> References {
        References {
            references: addresses.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// One resource instance in the values representation: `planned_values`, `prior_state` and
/// `show --json` list these, with the kind's attributes as `values`.
#[derive(Serialize, Deserialize)]
pub struct JsonInstance<'a, V> {
    pub address: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    /// The `for_each` key: a replica's region; absent for an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Cow<'a, str>>,
    #[serde(skip_deserializing)]
    pub provider_name: ProviderName,
    pub schema_version: u32,
    pub values: V,
    #[serde(skip_deserializing)]
    pub sensitive_values: Empty,
    /// Terraform's: the state marks the object tainted (only in `prior_state` and `show`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

impl<'a, V> JsonInstance<'a, V> {
    /// The entry of an instance of `kind` at `address` (of `image`, at `index`) with
    /// `values`.
    pub fn new(
        (address, kind): (Cow<'a, str>, Kind),
        image: &'a Address,
        index: Option<&'a str>,
        values: V,
        tainted: bool,
    ) -> JsonInstance<'a, V> {
        JsonInstance {
            address,
            mode: Cow::Borrowed(MANAGED),
            kind: Cow::Borrowed(kind.type_name()),
            name: Cow::Borrowed(image.key()),
            index: index.map(Cow::Borrowed),
            provider_name: ProviderName,
            schema_version: SCHEMA_VERSION,
            values,
            sensitive_values: Empty {},
            tainted,
        }
    }

    /// The entry's address, checked against its `type`, `name`, `index` and `mode`.
    pub fn read_address(&self) -> Result<InstanceAddress, String> {
        let address = InstanceAddress::parse(&self.address)?;
        let fits = self.kind == address.kind().type_name()
            && self.name == address.image().key()
            && self.index.as_deref() == address.index()
            && self.mode == MANAGED
            && self.schema_version == SCHEMA_VERSION;
        if !fits {
            return Err(format!(
                "{address}: type, name, index, mode and schema_version do not match the address"
            ));
        }
        Ok(address)
    }
}

/// One resource block of the configuration representation, with the kind's expressions.
#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "E: Deserialize<'de>, F: Deserialize<'de>"))]
pub struct JsonConfigResource<'a, E, F> {
    pub address: Cow<'a, str>,
    pub mode: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub provider_config_key: Cow<'a, str>,
    pub expressions: E,
    pub schema_version: u32,
    /// The block's `for_each`: one instance per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each_expression: Option<F>,
}

impl<'a, E, F> JsonConfigResource<'a, E, F> {
    /// The block of `kind` for the image at `image`, at `address`.
    pub fn new(
        address: Cow<'a, str>,
        kind: Kind,
        image: &'a Address,
        expressions: E,
        for_each: Option<F>,
    ) -> JsonConfigResource<'a, E, F> {
        JsonConfigResource {
            address,
            mode: Cow::Borrowed(MANAGED),
            kind: Cow::Borrowed(kind.type_name()),
            name: Cow::Borrowed(image.key()),
            provider_config_key: Cow::Borrowed(PROVIDER_KEY),
            expressions,
            schema_version: SCHEMA_VERSION,
            for_each_expression: for_each,
        }
    }

    /// Whether the block's `type`, `name`, `mode` and provider fit `kind` and `image`.
    pub fn fits(&self, kind: Kind, image: &Address) -> bool {
        self.kind == kind.type_name()
            && self.name == image.key()
            && self.mode == MANAGED
            && self.provider_config_key == PROVIDER_KEY
            && self.schema_version == SCHEMA_VERSION
    }
}

/// `planned_values`, and the `values` of the state representation.
#[derive(Serialize, Deserialize)]
pub struct Values<R> {
    pub root_module: Module<R>,
}

impl<R> Default for Values<R> {
    fn default() -> Values<R> {
        Values {
            root_module: Module::default(),
        }
    }
}

/// The root module: imsform has no other.
#[derive(Serialize, Deserialize)]
pub struct Module<R> {
    pub resources: Vec<R>,
}

impl<R> Default for Module<R> {
    fn default() -> Module<R> {
        Module {
            resources: Vec::new(),
        }
    }
}

/// `configuration.provider_config`: the one provider.
#[derive(Serialize, Deserialize)]
pub struct ProviderConfigs<'a> {
    pub imsform: ProviderConfig<'a>,
}

/// The provider's configuration: its names and, when the plan knows it, its region.
#[derive(Serialize, Deserialize)]
pub struct ProviderConfig<'a> {
    pub name: Cow<'a, str>,
    pub full_name: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressions: Option<ProviderExpressions<'a>>,
}

/// `[cloud] region`, as written in `imsform.toml`.
#[derive(Serialize, Deserialize)]
pub struct ProviderExpressions<'a> {
    pub region: Constant<Cow<'a, str>>,
}

impl<'a> ProviderConfigs<'a> {
    pub fn new(region: Option<&'a str>) -> ProviderConfigs<'a> {
        ProviderConfigs {
            imsform: ProviderConfig {
                name: Cow::Borrowed(PROVIDER_KEY),
                full_name: Cow::Borrowed(PROVIDER),
                expressions: region.map(|region| ProviderExpressions {
                    region: Constant {
                        constant_value: Cow::Borrowed(region),
                    },
                }),
            },
        }
    }

    /// The region the configuration names, when it does.
    pub fn region(self) -> Option<String> {
        let expressions = self.imsform.expressions?;
        Some(expressions.region.constant_value.into_owned())
    }
}

/// One entry of `relevant_attributes`: an attribute that changed outside imsform and that the
/// plan's diff reads.
#[derive(Serialize, Deserialize)]
pub struct RelevantAttribute<'a> {
    pub resource: Cow<'a, str>,
    /// The path of the attribute: its name, and a tag's key under `tags`.
    pub attribute: Vec<Cow<'a, str>>,
}

/// Terraform's `output_changes`: a map from output name to its change, kept in the order the
/// plan lists them. Derived; not read back.
pub struct OutputChanges<'a, C>(pub Vec<(Cow<'a, str>, C)>);

impl<C> Default for OutputChanges<'_, C> {
    fn default() -> Self {
        OutputChanges(Vec::new())
    }
}

impl<C: Serialize> Serialize for OutputChanges<'_, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, change)| (name, change)))
    }
}
