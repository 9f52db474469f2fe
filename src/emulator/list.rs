//! Image queries: `GET /v2/cloudimages` (extension; limit 500 by default, 1000 at most, the
//! pagination style chosen at start-up) and the native `GET /v2/images` (Glance-style
//! `first`/`next`/`schema`, limit 25). Filters are pure functions of the image JSON, so what a
//! filter matches is exactly what the client reads; `__imagetype` also needs whose the image
//! is and whether it has members ([`Seen`]).
//!
//! What a project sees (ims-distribution.md section 3.1, the emulator's reading of the
//! UNCONFIRMED points): its own images, rendered `__imagetype: private` whether shared or not,
//! and the images other projects share with it that it accepted, rendered `__imagetype:
//! shared` and `visibility: shared`. `__imagetype=private` keeps its own images;
//! `__imagetype=shared` keeps those shared *with* it and its own images that have at least one
//! member (of any status: the owner's view of what it shares, as TF's tests find an image with
//! `?id=<id>&__imagetype=shared`), so `__imagetype=shared&owner=<own project>` lists exactly
//! what a project shares, in one request.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::config::{Config, Pagination};
use super::images::render;
use super::model::{Caller, Image, MemberStatus};
use super::reply::{ApiError, Reply};
use super::world::{Shared, World};
use crate::sign;

const SORT_KEYS: &[&str] = &[
    "name",
    "container_format",
    "disk_format",
    "status",
    "id",
    "size",
    "created_at",
];

/// Query parameters matched by equality on the image JSON's field of the same name.
const EQUAL_FIELDS: &[&str] = &[
    "id",
    "name",
    "status",
    "owner",
    "visibility",
    "container_format",
    "disk_format",
    "__os_bit",
    "__os_type",
    "__platform",
    "__os_version",
    "__isregistered",
    "virtual_env_type",
];

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad("IMG.0001", message)
}

/// A parsed query.
#[derive(Debug)]
pub struct Query {
    pairs: Vec<(String, String)>,
    limit: usize,
    marker: Option<String>,
    sort_key: String,
    descending: bool,
}

impl Query {
    pub fn parse(raw: &str, default_limit: usize) -> Result<Self, ApiError> {
        let pairs = sign::parse_query(raw);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let limit = match get("limit") {
            None => default_limit,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=1000).contains(limit))
                .ok_or_else(|| bad(format!("limit {text:?} must be 1-1000.")))?,
        };
        let sort_key = get("sort_key").unwrap_or_else(|| "created_at".into());
        if !SORT_KEYS.contains(&sort_key.as_str()) {
            return Err(bad(format!("sort_key {sort_key:?} is invalid.")));
        }
        let descending = match get("sort_dir").as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(other) => return Err(bad(format!("sort_dir {other:?} is invalid."))),
        };
        Ok(Query {
            marker: get("marker"),
            pairs,
            limit,
            sort_key,
            descending,
        })
    }

    /// Whether the rendered image, seen as `seen`, passes every filter.
    fn matches(&self, image: &Value, seen: Seen) -> Result<bool, ApiError> {
        for (key, wanted) in &self.pairs {
            let field = |name: &str| image.get(name).cloned().unwrap_or(Value::Null);
            let pass = match key.as_str() {
                "__imagetype" => match wanted.as_str() {
                    "private" => seen.own,
                    "shared" => !seen.own || seen.has_members,
                    "gold" | "market" => false,
                    _ => return Err(ApiError::bad("IMG.0024", "The imagetype is invalid.")),
                },
                "protected" => {
                    field("protected")
                        .as_bool()
                        .map(|b| b.to_string())
                        .as_deref()
                        == Some(wanted.as_str())
                }
                "min_disk" | "min_ram" => field(key)
                    .as_u64()
                    .is_some_and(|n| n.to_string() == *wanted),
                "tag" => {
                    let wanted = if wanted.contains('=') {
                        wanted.clone()
                    } else {
                        format!("{wanted}=")
                    };
                    field("tags")
                        .as_array()
                        .is_some_and(|tags| tags.iter().any(|tag| tag.as_str() == Some(&wanted)))
                }
                "created_at" | "updated_at" => compare_time(field(key).as_str(), wanted)?,
                name if EQUAL_FIELDS.contains(&name) => field(name).as_str() == Some(wanted),
                _ => true,
            };
            if !pass {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Sorts, applies the marker and the limit: (page, whether more remain).
    fn page(&self, mut images: Vec<Value>) -> Result<(Vec<Value>, bool), ApiError> {
        let key = self.sort_key.as_str();
        images.sort_by(|a, b| {
            let order =
                compare_field(&a[key], &b[key]).then_with(|| compare_field(&a["id"], &b["id"]));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        let start = match &self.marker {
            None => 0,
            Some(marker) => {
                images
                    .iter()
                    .position(|image| image["id"].as_str() == Some(marker))
                    .ok_or_else(|| {
                        ApiError::bad(
                            "IMG.0001",
                            format!("The marker {marker} could not be found."),
                        )
                    })?
                    + 1
            }
        };
        let rest: Vec<Value> = images.into_iter().skip(start).collect();
        let more = rest.len() > self.limit;
        Ok((rest.into_iter().take(self.limit).collect(), more))
    }

    /// The query string for the next page: every pair but `marker`, plus `marker=<last>`.
    fn next_query(&self, last: &str) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "marker")
            .cloned()
            .collect();
        if !pairs.iter().any(|(k, _)| k == "limit") {
            pairs.push(("limit".into(), self.limit.to_string()));
        }
        pairs.push(("marker".into(), last.to_owned()));
        sign::canonical_query(&pairs)
    }
}

/// Drives a raw query through parsing, filtering, paging and the next-page link, as
/// `GET /v2/cloudimages` does; for the fuzz targets in `fuzz/` (a panic is the bug).
pub fn exercise_query(raw: &str, images: Vec<Value>) {
    let Ok(query) = Query::parse(raw, 500) else {
        return;
    };
    let mut kept = Vec::new();
    for image in images {
        match query.matches(&image, Seen::default()) {
            Ok(true) => kept.push(image),
            Ok(false) => {}
            Err(_) => return,
        }
    }
    if let Ok((page, _)) = query.page(kept)
        && let Some(last) = page.last().and_then(|image| image["id"].as_str())
    {
        query.next_query(last);
    }
}

fn compare_field(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        _ => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|time| time.and_utc())
        })
}

/// `created_at=<op>:<time>` with op in gt, gte, lt, lte, eq, neq.
fn compare_time(field: Option<&str>, wanted: &str) -> Result<bool, ApiError> {
    let (op, time) = wanted
        .split_once(':')
        .ok_or_else(|| bad(format!("{wanted:?} must be <op>:<time>.")))?;
    let time = parse_time(time).ok_or_else(|| bad(format!("The time {time:?} is invalid.")))?;
    let Some(value) = field.and_then(parse_time) else {
        return Ok(false);
    };
    Ok(match op {
        "gt" => value > time,
        "gte" => value >= time,
        "lt" => value < time,
        "lte" => value <= time,
        "eq" => value == time,
        "neq" => value != time,
        _ => return Err(bad(format!("The operator {op:?} is invalid."))),
    })
}

/// Whose an image is, as the caller sees it: what `__imagetype` filters on besides the JSON.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// The caller's own image (else one shared with it).
    own: bool,
    /// It has at least one member.
    has_members: bool,
}

/// The images `project` sees, rendered: its own, and those shared with it that it accepted.
fn visible_to(world: &World, project: &str, config: &Config) -> Vec<(Value, Seen)> {
    let accepted = |image: &Image| {
        image.owner != project
            && image
                .members
                .get(project)
                .is_some_and(|member| member.status == MemberStatus::Accepted)
    };
    let own = world.visible(project).map(|image| {
        let seen = Seen {
            own: true,
            has_members: !image.members.is_empty(),
        };
        (render(image, config), seen)
    });
    let shared = world.images.values().filter(|i| accepted(i)).map(|image| {
        let mut rendered = render(image, config);
        rendered["__imagetype"] = "shared".into();
        rendered["visibility"] = "shared".into();
        let seen = Seen {
            own: false,
            has_members: true,
        };
        (rendered, seen)
    });
    own.chain(shared).collect()
}

/// The page of matching images, and the marker of the next page when more remain.
async fn query(
    shared: &Shared,
    caller: Caller,
    query: &Query,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let config = shared.config.clone();
    let rendered = shared
        .run(move |world| visible_to(world, &caller.project, &config))
        .await;
    let mut matching = Vec::new();
    for (image, seen) in rendered {
        if query.matches(&image, seen)? {
            matching.push(image);
        }
    }
    let (page, more) = query.page(matching)?;
    let next = page
        .last()
        .and_then(|image| image["id"].as_str())
        .filter(|_| more)
        .map(str::to_owned);
    Ok((page, next))
}

/// `GET /v2/cloudimages`.
pub async fn list(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Reply {
    let parsed = Query::parse(raw.as_deref().unwrap_or(""), 500)?;
    let (images, next) = query(&shared, caller, &parsed).await?;
    let mut body = json!({ "images": images });
    if let Some(last) = next {
        match shared.config.pagination {
            Pagination::PageInfo => body["page_info"] = json!({ "next_marker": last }),
            Pagination::Next => {
                body["next"] = format!("/v2/cloudimages?{}", parsed.next_query(&last)).into();
            }
            Pagination::None => {}
        }
    }
    Ok(Json(body).into_response())
}

/// `GET /v2/images` (native): Glance-style `first`, `next` and `schema`.
pub async fn native_list(
    State(shared): State<Shared>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Reply {
    let parsed = Query::parse(raw.as_deref().unwrap_or(""), 25)?;
    let (images, next) = query(&shared, caller, &parsed).await?;
    let first_pairs: Vec<(String, String)> = parsed
        .pairs
        .iter()
        .filter(|(k, _)| k != "marker")
        .cloned()
        .collect();
    let first = match sign::canonical_query(&first_pairs) {
        query if query.is_empty() => "/v2/images".to_owned(),
        query => format!("/v2/images?{query}"),
    };
    let mut body = json!({ "images": images, "first": first, "schema": "/v2/schemas/images" });
    if let Some(last) = next {
        body["next"] = format!("/v2/images?{}", parsed.next_query(&last)).into();
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_operators() {
        let t = Some("2024-01-15T08:30:00Z");
        assert!(compare_time(t, "gt:2024-01-15T08:00:00Z").unwrap());
        assert!(!compare_time(t, "lt:2024-01-15 08:00:00").unwrap());
        assert!(compare_time(t, "eq:2024-01-15T08:30:00Z").unwrap());
        assert!(compare_time(t, "neq:2024-01-15T08:30:01Z").unwrap());
        assert!(compare_time(t, "gte:2024-01-15T08:30:00Z").unwrap());
        assert!(compare_time(t, "lte:2024-01-15T08:30:00Z").unwrap());
        assert!(compare_time(t, "xx:2024-01-15T08:30:00Z").is_err());
        assert!(compare_time(t, "2024").is_err());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(Query::parse("", 500).unwrap().limit, 500);
        assert_eq!(Query::parse("limit=1000", 500).unwrap().limit, 1000);
        assert!(Query::parse("limit=1001", 500).is_err());
        assert!(Query::parse("limit=0", 500).is_err());
        assert!(Query::parse("sort_key=owner", 500).is_err());
        assert!(Query::parse("sort_dir=up", 500).is_err());
    }
}
