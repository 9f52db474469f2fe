//! Bytes to a checked [`State`] and back. Pure: no file system; the caller passes the bytes and
//! the path only names the file in errors.
//!
//! Parsing refuses, each with its own error: an empty file; anything that is not one complete
//! JSON object (a truncated file included); a key present twice in any JSON object (serde_json
//! would silently keep the last, losing e.g. one of two records of the same address); a
//! `format_version` newer than [`FORMAT_VERSION`]; unknown fields; an invalid address or a
//! lineage that is not a UUID.
//!
//! Older formats are migrated in memory by [`migrate`]. Format 0 is the pre-release shape:
//! `images` was a list of records each carrying its `address`, and there was no
//! `imsform_version` and no `pending`. The store persists a migration at its first save and
//! keeps the original as `imsform.state.json.format-0.backup`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{FORMAT_VERSION, State, StateError};
use crate::manifest::model::Address;

/// A parsed state and the format it was migrated from, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub state: State,
    pub migrated_from: Option<u64>,
}

/// Parses and checks the bytes of a state file.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, StateError> {
    if bytes.is_empty() {
        return Err(StateError::Empty {
            path: path.to_owned(),
        });
    }
    let fail = |message: String| StateError::Parse {
        path: path.to_owned(),
        message,
    };
    if let Some(encoding) = byte_order_mark(bytes) {
        return Err(fail(format!(
            "it starts with a {encoding} byte order mark; imsform writes UTF-8 without one (was \
             the file re-saved by an editor?)"
        )));
    }
    serde_json::from_slice::<NoDuplicateKeys>(bytes).map_err(|error| fail(describe(&error)))?;
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(fail(
            "the top level is not a JSON object; an imsform state is one `{ … }`".to_owned(),
        ));
    }
    let probe: VersionProbe =
        serde_json::from_slice(bytes).map_err(|error| fail(describe(&error)))?;
    let (state, migrated_from) = match probe.format_version {
        FORMAT_VERSION_U64 => (
            serde_json::from_slice::<State>(bytes).map_err(|error| fail(describe(&error)))?,
            None,
        ),
        found if found > FORMAT_VERSION_U64 => {
            return Err(StateError::NewerFormat {
                path: path.to_owned(),
                found,
            });
        }
        found => {
            let value: Value = serde_json::from_slice(bytes).map_err(|e| fail(describe(&e)))?;
            let migrated = migrate(value, found).map_err(fail)?;
            let state = serde_json::from_value::<State>(migrated)
                .map_err(|error| fail(format!("after migration from format {found}: {error}")))?;
            (state, Some(found))
        }
    };
    check(&state).map_err(fail)?;
    Ok(Parsed {
        state,
        migrated_from,
    })
}

/// The bytes imsform writes for a state: pretty JSON and a final newline.
pub fn serialize(state: &State) -> Result<Vec<u8>, StateError> {
    let mut bytes = serde_json::to_vec_pretty(state)
        .map_err(|error| StateError::Invalid(format!("cannot serialize the state: {error}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The lineage and serial of a state file of any format, if it has them.
pub fn lineage_and_serial(bytes: &[u8]) -> Option<(String, u64)> {
    #[derive(serde::Deserialize)]
    struct Probe {
        lineage: String,
        serial: u64,
    }
    let probe: Probe = serde_json::from_slice(bytes).ok()?;
    Some((probe.lineage, probe.serial))
}

/// Rewrites a state of format `from` into the current format, one step at a time.
pub fn migrate(mut value: Value, from: u64) -> Result<Value, String> {
    let mut version = from;
    while version < FORMAT_VERSION_U64 {
        value = match version {
            0 => migrate_0_to_1(value)?,
            other => return Err(format!("format {other} is unknown; no migration exists")),
        };
        version += 1;
    }
    Ok(value)
}

const FORMAT_VERSION_U64: u64 = FORMAT_VERSION as u64;

#[derive(serde::Deserialize)]
struct VersionProbe {
    format_version: u64,
}

/// Format 0: `images` is a list of `{address, id, attributes}`; no `imsform_version`, no
/// `pending`.
fn migrate_0_to_1(value: Value) -> Result<Value, String> {
    let Value::Object(mut object) = value else {
        return Err("the state is not a JSON object".to_owned());
    };
    let images = match object.remove("images") {
        Some(Value::Array(images)) => images,
        _ => return Err("format 0 expects `images` to be a list".to_owned()),
    };
    let mut by_address = Map::new();
    for image in images {
        let Value::Object(mut record) = image else {
            return Err("format 0: an entry of `images` is not an object".to_owned());
        };
        let Some(Value::String(address)) = record.remove("address") else {
            return Err("format 0: an entry of `images` has no `address`".to_owned());
        };
        if by_address.contains_key(&address) {
            return Err(format!("duplicate address `{address}` in `images`"));
        }
        by_address.insert(address, Value::Object(record));
    }
    object.insert("format_version".to_owned(), Value::from(1));
    object.insert("images".to_owned(), Value::Object(by_address));
    object
        .entry("imsform_version")
        .or_insert_with(|| Value::from("0.0.0-pre"));
    object
        .entry("pending")
        .or_insert_with(|| Value::Array(Vec::new()));
    Ok(Value::Object(object))
}

/// What the types cannot say: addresses and the lineage are well-formed.
fn check(state: &State) -> Result<(), String> {
    uuid::Uuid::parse_str(&state.lineage)
        .map_err(|_| format!("lineage `{}` is not a UUID", state.lineage))?;
    let addresses = state
        .images
        .keys()
        .chain(state.pending.iter().map(|entry| &entry.address));
    for address in addresses {
        Address::parse(address.as_str())?;
    }
    Ok(())
}

/// The encoding a byte order mark at the start of `bytes` announces, if any.
fn byte_order_mark(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Some("UTF-8")
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16")
    } else {
        None
    }
}

fn describe(error: &serde_json::Error) -> String {
    if error.is_eof() {
        format!(
            "the file ends early at line {} column {} (truncated?)",
            error.line(),
            error.column()
        )
    } else {
        error.to_string()
    }
}

/// Walks any JSON value and fails on the first object that holds a key twice.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_top_level_other_than_an_object_is_named_plainly() {
        for text in ["[]", " null\n", "42", "\"imsform\""] {
            let error = super::parse(std::path::Path::new("s.json"), text.as_bytes()).unwrap_err();
            assert_eq!(
                error.to_string(),
                "s.json is not a valid imsform state: the top level is not a JSON object; an \
                 imsform state is one `{ … }`",
                "{text}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_named() {
        for (bytes, encoding) in [
            (&b"\xEF\xBB\xBF{}"[..], "UTF-8"),
            (b"\xFF\xFE{\0}\0", "UTF-16"),
        ] {
            let error = super::parse(std::path::Path::new("s.json"), bytes).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("starts with a {encoding} byte order mark")),
                "{error}"
            );
        }
    }

    use super::*;

    fn parse_text(text: &str) -> Result<Parsed, String> {
        parse(Path::new("s.json"), text.as_bytes()).map_err(|error| error.to_string())
    }

    const LINEAGE: &str = "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11";

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let text = format!(
            r#"{{"format_version":1,"lineage":"{LINEAGE}","serial":1,"imsform_version":"x",
            "images":{{}},"pending":[{{"a":1,"a":2}}]}}"#
        );
        let error = parse_text(&text).unwrap_err();
        assert!(error.contains("duplicate key `a` at line 2"), "{error}");
    }

    #[test]
    fn truncated_and_whitespace_only_files_are_refused() {
        let error = parse_text(r#"{"format_version": 1, "lin"#).unwrap_err();
        assert!(
            error.contains("ends early at line 1 column 26 (truncated?)"),
            "{error}"
        );
        assert!(parse_text("  \n").unwrap_err().contains("ends early"));
    }

    #[test]
    fn a_state_without_format_version_is_refused() {
        let error = parse_text(r#"{"lineage": "x"}"#).unwrap_err();
        assert!(error.contains("missing field `format_version`"), "{error}");
    }

    #[test]
    fn an_unknown_older_format_cannot_be_migrated() {
        assert!(
            migrate(Value::Null, 0)
                .unwrap_err()
                .contains("not a JSON object")
        );
        let value = serde_json::json!({"format_version": 0, "images": {}});
        assert!(migrate(value, 0).unwrap_err().contains("to be a list"));
    }

    #[test]
    fn lineage_must_be_a_uuid_and_addresses_valid() {
        let text = r#"{"format_version":1,"lineage":"nope","serial":1,"imsform_version":"x",
            "images":{}}"#;
        assert!(
            parse_text(text)
                .unwrap_err()
                .contains("lineage `nope` is not a UUID")
        );
        let text = format!(
            r#"{{"format_version":1,"lineage":"{LINEAGE}","serial":1,"imsform_version":"x",
            "images":{{}},"pending":[{{"address":"web","started_at":"t",
            "operation":{{"kind":"delete","image_id":"i"}}}}]}}"#
        );
        assert!(
            parse_text(&text)
                .unwrap_err()
                .contains("`web` is not an image address")
        );
    }
}
