//! Images: create metadata (`POST /v2/images`), show, delete (asynchronous) and the image JSON
//! as IMS renders it (`__` fields as strings). Validation uses `crate::ims`'s rules so the
//! emulator and manifest validation agree. Updates live in `update.rs`, tags in `tags.rs`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::Config;
use super::model::{Caller, Image, Status};
use super::reply::{ApiError, Reply, parse_body};
use super::tags;
use super::world::Shared;
use crate::ims;

/// The time format of `created_at` and `updated_at`.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `__os_type`, `__platform` and `__os_bit` derived from `__os_version`.
pub fn os_facts<'a>(config: &'a Config, os_version: &str) -> (&'static str, &'a str, &'static str) {
    let platform = config.platform_of(os_version).unwrap_or("Other");
    let os_type = if platform == "Windows" {
        "Windows"
    } else if os_version.contains("Linux") || platform != "Other" {
        "Linux"
    } else {
        "Other"
    };
    let bits = if os_version.contains("32bit") || os_version.contains("32 bit") {
        "32"
    } else {
        "64"
    };
    (os_type, platform, bits)
}

/// The image object as IMS returns it.
pub fn render(image: &Image, config: &Config) -> Value {
    let (os_type, platform, bits) = os_facts(config, &image.os_version);
    let mut object = json!({
        "id": image.id,
        "name": image.name,
        "status": image.status.as_str(),
        "visibility": "private",
        "protected": image.protected,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "tags": tags::rendered(&image.tags),
        "created_at": timestamp(image.created_at),
        "updated_at": timestamp(image.updated_at),
        "self": format!("/v2/images/{}", image.id),
        "file": format!("/v2/images/{}/file", image.id),
        "schema": "/v2/schemas/image",
        "owner": image.owner,
        "checksum": image.checksum,
        "size": image.size,
        "virtual_size": null,
        "virtual_env_type": "FusionCompute",
        "enterprise_project_id": "0",
        "__image_source_type": "uds",
        "__image_size": image.size.unwrap_or(0).to_string(),
        "__isregistered": "true",
        "__imagetype": "private",
        "__os_version": image.os_version,
        "__os_type": os_type,
        "__platform": platform,
        "__os_bit": bits,
        "__root_origin": "file",
    });
    if let Some(map) = object.as_object_mut() {
        if let Some(active_at) = image.active_at {
            map.insert("active_at".into(), timestamp(active_at).into());
        }
        if let Some(origin) = &image.data_origin {
            map.insert("__data_origin".into(), origin.clone().into());
        }
        for (name, value) in &image.attributes {
            map.insert(name.clone(), value.clone().into());
        }
    }
    object
}

/// The body of `POST /v2/images`; every field optional.
#[derive(Debug, Deserialize)]
struct CreateBody {
    #[serde(rename = "__os_version")]
    os_version: Option<String>,
    visibility: Option<String>,
    name: Option<String>,
    protected: Option<bool>,
    container_format: Option<String>,
    disk_format: Option<String>,
    tags: Option<Vec<String>>,
    min_ram: Option<i64>,
    min_disk: Option<i64>,
}

/// Checks a name the way IMS does: IMG.0002 when too long, IMG.0003 when malformed.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > ims::NAME_MAX {
        return Err(ApiError::bad(
            "IMG.0002",
            "The image name exceeds 128 characters.",
        ));
    }
    if !ims::is_valid_name(name) {
        return Err(ApiError::bad("IMG.0003", "The image name is invalid."));
    }
    Ok(())
}

/// Checks a description: IMG.0004 when too long, IMG.0054 when it holds CR, `<` or `>`.
pub fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > ims::DESCRIPTION_MAX {
        return Err(ApiError::bad(
            "IMG.0004",
            "The description exceeds 1024 characters.",
        ));
    }
    if !ims::is_valid_description(description) {
        return Err(ApiError::bad("IMG.0054", "The description is invalid."));
    }
    Ok(())
}

fn validated(body: CreateBody, config: &Config, owner: String) -> Result<Image, ApiError> {
    let name = body.name.unwrap_or_default();
    if !name.is_empty() {
        check_name(&name)?;
    }
    if body.visibility.as_deref().is_some_and(|v| v != "private") {
        return Err(ApiError::bad(
            "IMG.0024",
            "Only private images can be created.",
        ));
    }
    let container_format = body.container_format.unwrap_or_else(|| "bare".into());
    if container_format != "bare" {
        return Err(ApiError::bad("IMG.0001", "container_format must be bare."));
    }
    let disk_format = body.disk_format.unwrap_or_else(|| "zvhd2".into());
    if !["zvhd2", "vhd", "zvhd", "raw", "qcow2", "iso"].contains(&disk_format.as_str()) {
        return Err(ApiError::bad("IMG.0001", "The disk_format is invalid."));
    }
    let min_disk = match body.min_disk {
        None => 0,
        Some(disk) => u32::try_from(disk)
            .ok()
            .filter(|disk| ims::MIN_DISK_RANGE.contains(disk))
            .ok_or_else(|| ApiError::bad("IMG.0055", "min_disk must be 1-1024 GB."))?,
    };
    let min_ram = u64::try_from(body.min_ram.unwrap_or(0))
        .map_err(|_| ApiError::bad("IMG.0055", "min_ram must not be negative."))?;
    let os_version = body
        .os_version
        .unwrap_or_else(|| ims::DEFAULT_OS_VERSION.to_owned());
    if config.platform_of(&os_version).is_none() {
        return Err(ApiError::bad(
            "IMG.0056",
            format!("The OS version {os_version:?} is invalid."),
        ));
    }
    let tags = tags::parse_strings(body.tags.unwrap_or_default())?;
    let now = Utc::now();
    Ok(Image {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        status: Status::Queued,
        protected: body.protected.unwrap_or(false),
        container_format,
        disk_format,
        min_disk,
        min_ram,
        os_version,
        created_at: now,
        updated_at: now,
        active_at: None,
        tags,
        attributes: BTreeMap::new(),
        size: None,
        checksum: None,
        data_origin: None,
        owner,
        members: BTreeMap::new(),
        gone_at: None,
    })
}

/// `POST /v2/images`: a `queued` image, 201.
pub async fn create(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Reply {
    let image = validated(parse_body(&body)?, &shared.config, caller.project)?;
    let quota = shared.config.image_quota;
    let config = shared.config.clone();
    shared
        .run(move |world| {
            world.check_quota(&image.owner, quota)?;
            let rendered = render(&image, &config);
            world.images.insert(image.id.clone(), image);
            world.dirty = true;
            Ok((StatusCode::CREATED, Json(rendered)).into_response())
        })
        .await
}

/// `GET /v2/images/{image_id}`.
pub async fn show(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Reply {
    let config = shared.config.clone();
    shared
        .run(move |world| {
            let image = world.image(&caller.project, &id)?;
            Ok(Json(render(image, &config)).into_response())
        })
        .await
}

/// `DELETE /v2/images/{image_id}`: 204 at once; the image lingers in its last status.
pub async fn delete(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    if !body.iter().all(u8::is_ascii_whitespace) {
        let _: Value = parse_body(&body)?;
    }
    let linger = shared.config.delete_linger;
    shared
        .run(move |world| {
            let now = world.now;
            let image = world.image_mut(&caller.project, &id)?;
            if image.protected {
                return Err(ApiError::bad("IMG.0028", "The image is protected."));
            }
            if image.status == Status::Saving {
                return Err(ApiError::bad(
                    "IMG.0090",
                    "An image that is being created cannot be deleted.",
                ));
            }
            if image.gone_at.is_none() {
                image.gone_at = Some(now + linger);
                world.dirty = true;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        })
        .await
}
