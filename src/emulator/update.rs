//! Image updates: `PATCH /v2/cloudimages/{id}` (JSON-patch style array) and the native
//! `PATCH /v2/images/{id}` (also the v2.0 form `{"replace":"/name","value":…}`). Only `active`
//! images (IMG.0046); `replace`/`remove` of an absent attribute -> IMG.0035; `add` on an
//! existing attribute replaces it. All operations are validated before any is applied.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::Value;

use super::images::{check_description, check_name, render};
use super::model::{Caller, Image, Status};
use super::reply::{ApiError, Reply, parse_body};
use super::world::Shared;

/// Optional string attributes that can be added, replaced and removed.
const OPTIONAL: &[&str] = &[
    "__description",
    "max_ram",
    "enterprise_project_id",
    "__support_kvm",
    "__support_xen",
    "__support_largememory",
    "__support_diskintensive",
    "__support_highperformance",
    "__support_xen_gpu_type",
    "__support_kvm_gpu_type",
    "__support_xen_hana",
    "__is_config_init",
    "hw_vif_multiqueue_enabled",
    "hw_firmware_type",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug)]
struct Change {
    op: Op,
    attribute: String,
    value: Option<String>,
}

/// Parses a PATCH body's operations as the route does; for the fuzz targets in `fuzz/`.
pub fn exercise_patch(body: &[u8]) {
    if let Ok(items) = parse_body::<Vec<Value>>(body) {
        items.iter().map(parse_change).for_each(drop);
    }
}

fn parse_change(item: &Value) -> Result<Change, ApiError> {
    let malformed = || ApiError::bad("IMG.0001", "The patch operation is malformed.");
    let object = item.as_object().ok_or_else(malformed)?;
    let (op, path) = if let Some(op) = object.get("op").and_then(Value::as_str) {
        let path = object
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(malformed)?;
        (op, path)
    } else {
        // v2.0 form: the op name is the key and the path its value.
        ["add", "replace", "remove"]
            .iter()
            .find_map(|op| {
                object
                    .get(*op)
                    .and_then(Value::as_str)
                    .map(|path| (*op, path))
            })
            .ok_or_else(malformed)?
    };
    let op = match op {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" => Op::Remove,
        _ => return Err(malformed()),
    };
    let attribute = path.strip_prefix('/').ok_or_else(malformed)?.to_owned();
    let value = match object.get("value") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        Some(Value::Bool(flag)) => Some(flag.to_string()),
        Some(_) => return Err(malformed()),
    };
    if op != Op::Remove && value.is_none() {
        return Err(ApiError::bad("IMG.0001", "add and replace need a value."));
    }
    Ok(Change {
        op,
        attribute,
        value,
    })
}

/// Applies one change to `image` (a working copy).
fn apply(image: &mut Image, change: Change) -> Result<(), ApiError> {
    let conflict = || {
        ApiError::bad(
            "IMG.0035",
            format!("The attribute {} does not exist.", change.attribute),
        )
    };
    let value = change.value.clone().unwrap_or_default();
    match change.attribute.as_str() {
        "name" if change.op != Op::Remove => {
            check_name(&value)?;
            image.name = value;
        }
        "min_ram" if change.op != Op::Remove => {
            image.min_ram = value
                .parse()
                .map_err(|_| ApiError::bad("IMG.0055", "min_ram must be a whole number."))?;
        }
        "name" | "min_ram" => {
            return Err(ApiError::bad(
                "IMG.0001",
                "This attribute cannot be removed.",
            ));
        }
        attribute if OPTIONAL.contains(&attribute) => {
            let present = image.attributes.contains_key(attribute);
            if change.op != Op::Add && !present {
                return Err(conflict());
            }
            if change.op == Op::Remove {
                image.attributes.remove(attribute);
                return Ok(());
            }
            check_optional(attribute, &value)?;
            image.attributes.insert(attribute.to_owned(), value);
        }
        attribute => {
            return Err(ApiError::bad(
                "IMG.0001",
                format!("The attribute {attribute} cannot be updated."),
            ));
        }
    }
    Ok(())
}

fn check_optional(attribute: &str, value: &str) -> Result<(), ApiError> {
    match attribute {
        "__description" => check_description(value),
        "max_ram" if value.parse::<u64>().is_err() => {
            Err(ApiError::bad("IMG.0055", "max_ram must be a whole number."))
        }
        "hw_firmware_type" if !matches!(value, "bios" | "uefi") => Err(ApiError::bad(
            "IMG.0141",
            "hw_firmware_type must be bios or uefi.",
        )),
        _ => Ok(()),
    }
}

/// Both PATCH routes.
pub async fn update(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let items: Vec<Value> = parse_body(&body)?;
    let changes = items
        .iter()
        .map(parse_change)
        .collect::<Result<Vec<_>, _>>()?;
    let config = shared.config.clone();
    shared
        .run(move |world| {
            let image = world.image(&caller.project, &id)?;
            if image.status != Status::Active {
                return Err(ApiError::bad(
                    "IMG.0046",
                    format!("The image is {}, not active.", image.status.as_str()),
                ));
            }
            let mut updated = image.clone();
            for change in changes {
                apply(&mut updated, change)?;
            }
            updated.updated_at = Utc::now();
            let rendered = render(&updated, &config);
            world.images.insert(id, updated);
            world.dirty = true;
            Ok(Json(rendered).into_response())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_patch_forms_parse_and_values_become_strings() {
        let change =
            parse_change(&json!({"op": "add", "path": "/min_ram", "value": 1024})).unwrap();
        assert_eq!((change.op, change.attribute.as_str()), (Op::Add, "min_ram"));
        assert_eq!(change.value.as_deref(), Some("1024"));
        let change = parse_change(&json!({"replace": "/name", "value": "x"})).unwrap();
        assert_eq!(
            (change.op, change.attribute.as_str()),
            (Op::Replace, "name")
        );
        let change = parse_change(&json!({"op": "remove", "path": "/max_ram"})).unwrap();
        assert_eq!((change.op, change.value), (Op::Remove, None));
        for bad in [
            json!({"op": "add", "path": "/name"}),
            json!({"op": "add", "path": "name", "value": "x"}),
            json!({"op": "copy", "path": "/name", "value": "x"}),
            json!({"op": "add", "path": "/name", "value": ["x"]}),
            json!("add"),
        ] {
            assert!(parse_change(&bad).is_err(), "{bad}");
        }
    }
}
