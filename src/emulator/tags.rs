//! Image tags (ims-api.md sections 1.9 and 10): stored key/value, rendered as `key=value` in
//! the image's `tags` array, at most 10 per image (IMG.0116), keys and values checked by
//! `crate::ims` (IMG.0115). Serves the key/value API, the batch action (idempotent) and the
//! native single-string API.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::model::{Caller, Image};
use super::reply::{ApiError, Reply, parse_body};
use super::world::Shared;
use crate::ims;

/// Tags as the image's `tags` array shows them.
pub fn rendered(tags: &BTreeMap<String, String>) -> Vec<String> {
    tags.iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect()
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::bad("IMG.0115", detail)
}

fn too_many() -> ApiError {
    ApiError::bad("IMG.0116", "An image can have at most 10 tags.")
}

fn check(key: &str, value: &str) -> Result<(), ApiError> {
    if !ims::is_valid_tag_key(key) {
        return Err(invalid(format!("The tag key {key:?} is invalid.")));
    }
    if !ims::is_valid_tag_value(value) {
        return Err(invalid(format!("The tag value {value:?} is invalid.")));
    }
    Ok(())
}

/// `POST /v2/images`'s `tags: ["k=v"]` strings (a string without `=` is a key with no value).
pub fn parse_strings(strings: Vec<String>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut tags = BTreeMap::new();
    for tag in strings {
        if tag.is_empty() || tag.chars().count() > 255 {
            return Err(invalid("A tag must be 1-255 characters."));
        }
        let (key, value) = tag.split_once('=').unwrap_or((tag.as_str(), ""));
        check(key, value)?;
        tags.insert(key.to_owned(), value.to_owned());
    }
    if tags.len() > ims::TAGS_MAX {
        return Err(too_many());
    }
    Ok(tags)
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Inserts `new` tags into `image` if they all pass and the total stays within 10.
fn add_all(image: &mut Image, new: &[KeyValue]) -> Result<(), ApiError> {
    for tag in new {
        check(&tag.key, &tag.value)?;
    }
    let keys: BTreeSet<&str> = image
        .tags
        .keys()
        .map(String::as_str)
        .chain(new.iter().map(|tag| tag.key.as_str()))
        .collect();
    if keys.len() > ims::TAGS_MAX {
        return Err(too_many());
    }
    for tag in new {
        image.tags.insert(tag.key.clone(), tag.value.clone());
    }
    Ok(())
}

/// Runs `f` on the image `id` and answers 204.
async fn with_image(
    shared: &Shared,
    caller: Caller,
    id: String,
    f: impl FnOnce(&mut Image) -> Result<(), ApiError> + Send,
) -> Reply {
    shared
        .run(move |world| {
            let image = world.image_mut(&caller.project, &id)?;
            f(image)?;
            image.updated_at = chrono::Utc::now();
            world.dirty = true;
            Ok(StatusCode::NO_CONTENT.into_response())
        })
        .await
}

#[derive(Debug, Deserialize)]
struct AddBody {
    tag: KeyValue,
}

/// `POST /v2/{project_id}/images/{image_id}/tags`: add or overwrite one tag.
pub async fn add(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body: AddBody = parse_body(&body)?;
    with_image(&shared, caller, id, move |image| {
        add_all(image, &[body.tag])
    })
    .await
}

#[derive(Debug, Deserialize)]
struct BatchBody {
    action: String,
    tags: Vec<KeyValue>,
}

/// `POST /v2/{project_id}/images/{image_id}/tags/action`: batch create or delete (idempotent).
pub async fn batch(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body: BatchBody = parse_body(&body)?;
    let unique: BTreeSet<&str> = body.tags.iter().map(|tag| tag.key.as_str()).collect();
    if unique.len() != body.tags.len() {
        return Err(invalid("Tag keys in one request must be unique."));
    }
    match body.action.as_str() {
        "create" => with_image(&shared, caller, id, move |image| add_all(image, &body.tags)).await,
        "delete" => {
            for tag in &body.tags {
                if tag.key.is_empty()
                    || tag.key.chars().count() > 127
                    || tag.value.chars().count() > 255
                {
                    return Err(invalid(format!("The tag key {:?} is invalid.", tag.key)));
                }
            }
            with_image(&shared, caller, id, move |image| {
                for tag in &body.tags {
                    image.tags.remove(&tag.key);
                }
                Ok(())
            })
            .await
        }
        other => Err(ApiError::bad(
            "IMG.0001",
            format!("The action {other:?} is invalid; use create or delete."),
        )),
    }
}

/// `GET /v2/{project_id}/images/{image_id}/tags`.
pub async fn list(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Reply {
    shared
        .run(move |world| {
            let image = world.image(&caller.project, &id)?;
            let tags: Vec<_> = image
                .tags
                .iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect();
            Ok(Json(json!({ "tags": tags })).into_response())
        })
        .await
}

fn remove_one(image: &mut Image, key: &str) -> Result<(), ApiError> {
    image
        .tags
        .remove(key)
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("IMG.0121", format!("The tag {key:?} does not exist.")))
}

/// `DELETE /v2/{project_id}/images/{image_id}/tags/{key}`: 404 when absent.
pub async fn delete(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((_, id, key)): Path<(String, String, String)>,
) -> Reply {
    with_image(&shared, caller, id, move |image| remove_one(image, &key)).await
}

/// `PUT /v2/images/{image_id}/tags/{tag}`: a native tag is a key with an empty value.
pub async fn native_add(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> Reply {
    let native = tag.chars().count() <= 255
        && !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !native {
        return Err(invalid(format!("The tag {tag:?} is invalid.")));
    }
    let new = [KeyValue {
        key: tag,
        value: String::new(),
    }];
    with_image(&shared, caller, id, move |image| add_all(image, &new)).await
}

/// `DELETE /v2/images/{image_id}/tags/{tag}`: 404 when absent.
pub async fn native_delete(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> Reply {
    with_image(&shared, caller, id, move |image| remove_one(image, &tag)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_tags_are_key_value_strings() {
        let tags = parse_strings(vec!["env=prod".into(), "bare".into(), "k=a=b".into()]);
        assert!(tags.is_err(), "`=` is not a tag value character");
        let tags = parse_strings(vec!["env=prod".into(), "bare".into()]).unwrap();
        assert_eq!(rendered(&tags), ["bare=", "env=prod"]);
        assert!(parse_strings(vec![String::new()]).is_err());
        let eleven = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(matches!(
            parse_strings(eleven),
            Err(ApiError::Ims {
                code: "IMG.0116",
                ..
            })
        ));
    }
}
