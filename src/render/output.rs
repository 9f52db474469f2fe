//! `imsform output`: what a pipeline hands downstream about each managed image (id, name,
//! status, region), as text in `terraform output`'s shape or as JSON. The JSON types generate
//! `schema/output.schema.json` ([`schema`]); a test keeps the committed file equal to it.
//!
//! Built from the state alone: the status is the one last observed (by a refresh or an
//! apply), `unknown` when none was.

use std::collections::BTreeMap;
use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use crate::manifest::diagnostic::quoted;
use crate::manifest::model::Address;
use crate::state::{ImageRecord, State};

/// The format of `output --json` this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// `imsform output --json`: every managed image by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "imsform output", deny_unknown_fields)]
pub struct Outputs {
    /// The format of this document.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// Each managed image by address (`images.<key>`), in address order. With an ADDRESS
    /// argument, `output --json` prints that one [`ImageOutput`] alone.
    pub images: BTreeMap<Address, ImageOutput>,
}

/// One managed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ImageOutput {
    /// The IMS image id.
    pub id: String,
    /// The image's name as last applied.
    pub name: String,
    /// The IMS status last observed (`active`, `queued`, `saving`, `killed`, …), or `unknown`.
    pub status: String,
    /// The region of the configuration the state belongs to.
    pub region: String,
}

impl ImageOutput {
    /// One record of the state, in `region`.
    pub fn new(record: &ImageRecord, region: &str) -> ImageOutput {
        let status = record.observed.as_ref().map(|seen| seen.status.as_str());
        ImageOutput {
            id: record.id.clone(),
            name: record.attributes.name.clone(),
            status: status.unwrap_or("unknown").to_owned(),
            region: region.to_owned(),
        }
    }
}

impl Outputs {
    /// Every image of `state` (none without a state).
    pub fn new(state: Option<&State>, region: &str) -> Outputs {
        let images = state.iter().flat_map(|state| &state.images);
        Outputs {
            format_version: FORMAT_VERSION,
            images: images
                .map(|(address, record)| (address.clone(), ImageOutput::new(record, region)))
                .collect(),
        }
    }
}

/// Text: one block per image, as `terraform output` prints an object.
pub fn write_text(out: &mut impl Write, outputs: &Outputs) -> io::Result<()> {
    for (address, image) in &outputs.images {
        write!(out, "{address} = ")?;
        write_image(out, image)?;
    }
    Ok(())
}

/// Text of one image: `{`, its attributes aligned, `}`.
pub fn write_image(out: &mut impl Write, image: &ImageOutput) -> io::Result<()> {
    writeln!(out, "{{")?;
    let lines = [
        ("id", &image.id),
        ("name", &image.name),
        ("region", &image.region),
        ("status", &image.status),
    ];
    for (name, value) in lines {
        writeln!(out, "  {name:<6} = {}", quoted(value))?;
    }
    writeln!(out, "}}")
}

/// JSON of any output document, pretty, with a final newline.
pub fn write_json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// `schema/output.schema.json` as pretty JSON with a final newline.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Outputs);
    // Serializing a `serde_json::Value` tree cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Observed;

    fn record(id: &str, name: &str, status: Option<&str>) -> ImageRecord {
        let mut attributes = crate::plan::fixtures::attrs(name);
        attributes.name = name.to_owned();
        ImageRecord {
            id: id.to_owned(),
            attributes,
            observed: status.map(|status| Observed {
                status: status.to_owned(),
                checksum: None,
                size: None,
                updated_at: None,
            }),
            tainted: None,
            replicas: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn text_and_json_name_id_name_status_and_region() {
        let mut state = State::new("3f1c9a52-8d1e-4c53-9f0e-2a7b6d4e8c10".to_owned());
        state.images.insert(
            Address::from_key("web"),
            record("id-1", "web \"v2\"", Some("active")),
        );
        state
            .images
            .insert(Address::from_key("db"), record("id-2", "db", None));
        let outputs = Outputs::new(Some(&state), "cn-north-4");
        let mut text = Vec::new();
        write_text(&mut text, &outputs).unwrap();
        insta::assert_snapshot!(String::from_utf8(text).unwrap(), @r#"
        images.db = {
          id     = "id-2"
          name   = "db"
          region = "cn-north-4"
          status = "unknown"
        }
        images.web = {
          id     = "id-1"
          name   = "web \"v2\""
          region = "cn-north-4"
          status = "active"
        }
        "#);
        let json = serde_json::to_value(&outputs).unwrap();
        assert_eq!(json["images"]["images.web"]["status"], "active");
        assert_eq!(json["format_version"], 1);
        assert_eq!(Outputs::new(None, "r").images.len(), 0);
    }
}
