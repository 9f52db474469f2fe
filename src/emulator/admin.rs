//! The admin API real IMS does not have, under `/__emulator/` and unsigned: statistics, the
//! whole world (images of every project and region, in every status, with their members),
//! fault injection and reset.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::config::Config;
use super::faults::Faults;
use super::images::render;
use super::model::Image;
use super::reply::{ApiError, Reply};
use super::world::Shared;

/// `GET /__emulator/stats`: requests counted by `"METHOD /route/template"`.
pub async fn stats(State(shared): State<Shared>) -> Reply {
    let stats = shared.run(|world| world.stats.clone()).await;
    Ok(Json(json!({ "requests": stats })).into_response())
}

/// `GET /__emulator/images`: every image, with `__emulator_deleting` for pending deletes.
pub async fn images(State(shared): State<Shared>) -> Reply {
    let config = shared.config.clone();
    let images = shared
        .run(move |world| {
            world
                .images
                .values()
                .map(|image| with_facts(image, &config))
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(json!({ "images": images })).into_response())
}

/// `POST /__emulator/faults`: replaces the fault set (`{}` clears it).
pub async fn faults(State(shared): State<Shared>, body: Bytes) -> Reply {
    let faults: Faults = if body.iter().all(u8::is_ascii_whitespace) {
        Faults::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|error| ApiError::bad("IMG.0001", format!("Invalid faults: {error}")))?
    };
    let echo = serde_json::to_value(&faults).unwrap_or_default();
    shared.run(move |world| world.set_faults(faults)).await;
    Ok(Json(json!({ "faults": echo })).into_response())
}

/// `POST /__emulator/reset`: an empty world with the start-up faults.
pub async fn reset(State(shared): State<Shared>) -> Reply {
    shared.reset().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An image as IMS renders it, plus what only the emulator knows: whether a delete is
/// pending (`__emulator_deleting`), its region (`__emulator_region`) and its members with their
/// statuses (`__emulator_members`).
pub fn with_facts(image: &Image, config: &Config) -> Value {
    let mut rendered = render(image, config);
    rendered["__emulator_deleting"] = image.gone_at.is_some().into();
    rendered["__emulator_region"] = config.region_of(&image.owner).unwrap_or_default().into();
    rendered["__emulator_members"] = image
        .members
        .iter()
        .map(|(id, member)| (id.clone(), member.status.as_str().into()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    rendered
}
