//! `schema/state.schema.json`: generated from the [`State`] types with schemars, so the schema
//! cannot drift from what serde reads and writes. A test (tests/state.rs) fails when the
//! committed file differs from [`generate`]; `IMSFORM_WRITE_SCHEMA=1 cargo test --test state
//! schema` rewrites it.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::State;
use crate::manifest::model::Address;

/// The `$id` of the state schema.
pub const SCHEMA_ID: &str = "https://imsform.dev/schema/state.schema.json";

/// The state schema as pretty JSON with a final newline.
pub fn generate() -> String {
    let schema = schemars::schema_for!(State);
    // Serializing a `serde_json::Value` tree cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

impl JsonSchema for Address {
    fn schema_name() -> Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An image address: `images.<key>`.",
            "pattern": "^images\\.[a-z0-9][a-z0-9_-]{0,62}$"
        })
    }
}
