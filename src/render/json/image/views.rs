//! The image kind in Terraform's views of a plan: its entry in the values representation
//! (`planned_values`, `prior_state`, `show --json`), its block in `configuration` with one
//! constant expression per attribute, its output change (`imsform output`'s object), and the
//! reading back of the first two.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::super::Unknown;
use super::super::terraform::{Constant, Empty, JsonConfigResource, JsonInstance};
use super::{Object, after_object, object};
use crate::manifest::model::{DiskFormat, ImageAttrs, InstanceAddress, Kind};
use crate::plan::{Action, ImageChange, ImageConfig, ImageInstance};

/// An image in the values representation.
pub type ImageEntry<'a> = JsonInstance<'a, Object<'a>>;

/// An image block of the configuration (no `for_each`).
pub type ImageBlock<'a> = JsonConfigResource<'a, ImageExpressions<'a>, Empty>;

/// The image of the state before the plan.
pub(in super::super) fn prior(instance: &ImageInstance) -> ImageEntry<'_> {
    let values = object(
        &instance.attrs,
        Some(&instance.id),
        instance.status.as_deref(),
    );
    entry(
        instance.address.as_str(),
        &instance.address,
        values,
        instance.tainted,
    )
}

/// The image after the change, when it is kept or created.
pub(in super::super) fn planned(change: &ImageChange) -> Option<ImageEntry<'_>> {
    let values = after_object(change)?;
    Some(entry(
        change.address.as_str(),
        &change.address,
        values,
        false,
    ))
}

fn entry<'a>(
    address: &'a str,
    image: &'a crate::manifest::model::Address,
    values: Object<'a>,
    tainted: bool,
) -> ImageEntry<'a> {
    let address = (Cow::Borrowed(address), Kind::Image);
    JsonInstance::new(address, image, None, values, tainted)
}

impl ImageEntry<'static> {
    /// The instance this entry describes, or what is wrong with it.
    pub(in super::super) fn read(self) -> Result<ImageInstance, String> {
        let InstanceAddress::Image(address) = self.read_address()? else {
            return Err(format!("{}: not an image address", self.address));
        };
        let Some(id) = self.values.id.as_deref() else {
            return Err(format!("{address}: an image of the state has an id"));
        };
        Ok(ImageInstance {
            id: id.to_owned(),
            attrs: self.values.attrs(),
            status: self.values.status.as_deref().map(str::to_owned),
            tainted: self.tainted,
            address,
        })
    }
}

/// An image's attributes as the manifests give them.
#[derive(Serialize, Deserialize)]
pub struct ImageExpressions<'a> {
    pub name: Constant<Cow<'a, str>>,
    pub image_url: Constant<Cow<'a, str>>,
    pub os_version: Constant<Cow<'a, str>>,
    pub disk_format: Constant<DiskFormat>,
    pub min_disk: Constant<u32>,
    pub min_ram: Constant<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Constant<Cow<'a, str>>>,
    pub tags: Constant<Cow<'a, BTreeMap<String, String>>>,
    pub protected: Constant<bool>,
    pub share_with: Constant<Cow<'a, BTreeSet<String>>>,
}

fn constant<T>(constant_value: T) -> Constant<T> {
    Constant { constant_value }
}

/// The image's block of the configuration.
pub(in super::super) fn block(config: &ImageConfig) -> ImageBlock<'_> {
    let attrs = &config.attrs;
    let expressions = ImageExpressions {
        name: constant(Cow::Borrowed(&attrs.name)),
        image_url: constant(Cow::Borrowed(&attrs.image_url)),
        os_version: constant(Cow::Borrowed(&attrs.os_version)),
        disk_format: constant(attrs.disk_format),
        min_disk: constant(attrs.min_disk),
        min_ram: constant(attrs.min_ram),
        description: attrs
            .description
            .as_deref()
            .map(|d| constant(Cow::Borrowed(d))),
        tags: constant(Cow::Borrowed(&attrs.tags)),
        protected: constant(attrs.protected),
        share_with: constant(Cow::Borrowed(&attrs.share_with)),
    };
    let address = Cow::Borrowed(config.address.as_str());
    JsonConfigResource::new(address, Kind::Image, &config.address, expressions, None)
}

impl ImageBlock<'static> {
    /// The configured image this block describes, or what is wrong with it.
    pub(in super::super) fn read(self) -> Result<ImageConfig, String> {
        let address = crate::manifest::model::Address::parse(&self.address)?;
        if !self.fits(Kind::Image, &address) || self.for_each_expression.is_some() {
            return Err(format!("{address}: not an image block"));
        }
        let e = self.expressions;
        let attrs = ImageAttrs {
            name: e.name.constant_value.into_owned(),
            image_url: e.image_url.constant_value.into_owned(),
            os_version: e.os_version.constant_value.into_owned(),
            disk_format: e.disk_format.constant_value,
            min_disk: e.min_disk.constant_value,
            min_ram: e.min_ram.constant_value,
            description: e.description.map(|d| d.constant_value.into_owned()),
            tags: e.tags.constant_value.into_owned(),
            protected: e.protected.constant_value,
            share_with: e.share_with.constant_value.into_owned(),
        };
        Ok(ImageConfig { address, attrs })
    }
}

/// What `imsform output` prints of an image: its id, name, region and status (`null` where
/// known only after apply; no region when the plan does not know it).
#[derive(Serialize, PartialEq)]
pub struct OutputValue<'a> {
    pub id: Option<&'a str>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    pub status: Option<&'a str>,
}

/// Terraform's output change: the output's value before and after the plan.
#[derive(Serialize)]
pub struct OutputChange<'a> {
    pub actions: &'static [&'static str],
    pub before: Option<OutputValue<'a>>,
    pub after: Option<OutputValue<'a>>,
    pub after_unknown: Unknown,
    pub before_sensitive: bool,
    pub after_sensitive: bool,
}

/// The change of the image's output (named by its address), as `imsform output` will print it
/// after apply: a new image's id and status are known only then.
pub(in super::super) fn output<'a>(
    change: &'a ImageChange,
    region: Option<&'a str>,
) -> (Cow<'a, str>, OutputChange<'a>) {
    let creates = matches!(change.action, Action::Create | Action::Replace { .. });
    let status = change.prior_status.as_deref().or(Some("unknown"));
    let before = change.before.as_ref().map(|before| OutputValue {
        id: change.prior_id.as_deref(),
        name: &before.name,
        region,
        status,
    });
    let after = change.after.as_ref().map(|after| OutputValue {
        id: change.prior_id.as_deref().filter(|_| !creates),
        name: &after.name,
        region,
        status: status.filter(|_| !creates),
    });
    let actions: &'static [&'static str] = match (&before, &after) {
        (None, None) => &[],
        (None, Some(_)) => &["create"],
        (Some(_), None) => &["delete"],
        (Some(b), Some(a)) if b == a => &["no-op"],
        (Some(_), Some(_)) => &["update"],
    };
    let unknown = (after.is_some() && creates).then_some(true);
    let output = OutputChange {
        actions,
        after_unknown: Unknown {
            id: unknown,
            status: unknown,
        },
        before_sensitive: false,
        after_sensitive: false,
        before,
        after,
    };
    (Cow::Borrowed(change.address.as_str()), output)
}
