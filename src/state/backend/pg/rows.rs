//! The state's pieces as rows and back. Pure: no database here.
//!
//! - the shell (every top-level field but images and pending) ↔ `workspaces.meta`, lineage and
//!   serial in their own columns;
//! - each image record ↔ one `resources` row;
//! - each journal entry ↔ one `journal` row keyed by [`journal_key`], ordered by `seq`.
//!
//! A state read back is assembled into the local file's JSON and parsed by
//! [`crate::state::format::parse`], so both backends refuse the same things (newer format,
//! unknown fields, bad addresses) and migrate the same way.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::state::format;
use crate::state::{PendingEntry, PendingOperation, State, StateError};

/// The fields kept in their own columns or tables, not in `meta`.
const NOT_META: [&str; 4] = ["lineage", "serial", "images", "pending"];

/// What the rows of one workspace hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub lineage: String,
    pub serial: i64,
    pub meta: Value,
    /// address → record.
    pub resources: Vec<(String, Value)>,
    /// In journal order.
    pub journal: Vec<Value>,
}

/// `workspaces.meta` of a shell.
pub fn meta(shell: &State) -> Result<Value, StateError> {
    let mut value = to_value(shell)?;
    if let Value::Object(object) = &mut value {
        for key in NOT_META {
            object.remove(key);
        }
    }
    Ok(value)
}

/// One value per record or entry.
pub fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, StateError> {
    serde_json::to_value(value)
        .map_err(|error| StateError::Invalid(format!("cannot serialize the state: {error}")))
}

/// The key of a journal entry: the create's or copy's token, or `delete:[<region>:]<image id>`;
/// a repeated key gets `#n` so that every entry keeps its own row.
pub fn journal_key(entry: &PendingEntry) -> String {
    match &entry.operation {
        PendingOperation::Create { token, .. } => token.clone(),
        PendingOperation::Delete { image_id } => format!("delete:{image_id}"),
        PendingOperation::Copy { token, .. } => token.clone(),
        PendingOperation::DeleteReplica { region, image_id } => {
            format!("delete:{region}:{image_id}")
        }
        PendingOperation::Members { image_id, .. } => format!("members:{image_id}"),
    }
}

/// The journal as `[{key, seq, entry}]` and its keys.
pub fn journal(pending: &[PendingEntry]) -> Result<(Value, Vec<String>), StateError> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = Vec::with_capacity(pending.len());
    let mut keys = Vec::with_capacity(pending.len());
    for (seq, entry) in pending.iter().enumerate() {
        let base = journal_key(entry);
        let count = seen.entry(base.clone()).or_default();
        let key = if *count == 0 {
            base
        } else {
            format!("{base}#{count}")
        };
        *count += 1;
        rows.push(json!({ "key": key, "seq": seq, "entry": to_value(entry)? }));
        keys.push(key);
    }
    Ok((Value::Array(rows), keys))
}

/// The state the rows hold; `None` for a workspace that was created but never saved.
pub fn assemble(rows: Rows, location: &str) -> Result<Option<State>, StateError> {
    if rows.serial == 0 {
        return Ok(None);
    }
    let Value::Object(mut object) = rows.meta else {
        return Err(StateError::Parse {
            path: location.into(),
            message: "the workspace's meta is not a JSON object".to_owned(),
        });
    };
    object.insert("lineage".to_owned(), Value::from(rows.lineage));
    object.insert("serial".to_owned(), Value::from(rows.serial));
    let images: Map<String, Value> = rows.resources.into_iter().collect();
    object.insert("images".to_owned(), Value::Object(images));
    object.insert("pending".to_owned(), Value::Array(rows.journal));
    let bytes = serde_json::to_vec(&Value::Object(object))
        .map_err(|error| StateError::Invalid(error.to_string()))?;
    Ok(Some(format::parse(Path::new(location), &bytes)?.state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(image_id: &str) -> PendingEntry {
        PendingEntry {
            address: crate::manifest::model::Address::from_key("web"),
            operation: PendingOperation::Delete {
                image_id: image_id.to_owned(),
            },
            started_at: "2026-12-02T10:00:00Z".to_owned(),
        }
    }

    #[test]
    fn repeated_journal_keys_stay_apart_and_in_order() {
        let (rows, keys) = journal(&[delete("a"), delete("b"), delete("a")]).unwrap();
        assert_eq!(keys, ["delete:a", "delete:b", "delete:a#1"]);
        assert_eq!(rows[2]["seq"], 2);
        assert_eq!(rows[2]["entry"]["operation"]["image_id"], "a");
    }

    #[test]
    fn a_state_survives_rows_and_back() {
        let mut state = State::new("0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned());
        state.serial = 7;
        state.pending = vec![delete("x"), delete("y")];
        let (journal_rows, _) = journal(&state.pending).unwrap();
        let rows = Rows {
            lineage: state.lineage.clone(),
            serial: 7,
            meta: meta(&state.shell()).unwrap(),
            resources: Vec::new(),
            journal: journal_rows
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["entry"].clone())
                .collect(),
        };
        assert!(rows.meta.get("lineage").is_none() && rows.meta.get("images").is_none());
        assert_eq!(assemble(rows, "db").unwrap(), Some(state));
    }

    #[test]
    fn a_workspace_never_saved_holds_no_state_and_newer_formats_are_refused() {
        let rows = |serial, meta| Rows {
            lineage: "0b8f2b8e-6a4c-4b8e-9a57-5d0a4bfb6c11".to_owned(),
            serial,
            meta,
            resources: Vec::new(),
            journal: Vec::new(),
        };
        assert_eq!(assemble(rows(0, json!({})), "db").unwrap(), None);
        let newer = json!({"format_version": 99, "imsform_version": "9"});
        let error = assemble(rows(3, newer), "db").unwrap_err().to_string();
        assert!(
            error.contains("written by a newer imsform (format 99"),
            "{error}"
        );
    }
}
