//! List filters and the three pagination styles, extension and native.

use imsform::emulator::Pagination;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn list_filters_match_exactly() {
    let api = Api::fast().await;
    let active = api.active("alpha").await;
    let queued = api.create(json!({"name": "beta", "protected": true, "disk_format": "qcow2", "tags": ["env=prod"]})).await.body["id"].as_str().unwrap().to_owned();
    let l = "/v2/cloudimages";
    let owner = api.pid();
    assert_eq!(
        ids(&api, l, &[("__imagetype", "private"), ("owner", &owner)])
            .await
            .len(),
        2
    );
    assert!(ids(&api, l, &[("__imagetype", "gold")]).await.is_empty());
    assert!(ids(&api, l, &[("owner", "someone-else")]).await.is_empty());
    assert_eq!(ids(&api, l, &[("id", &active)]).await, vec![active.clone()]);
    assert_eq!(
        ids(&api, l, &[("name", "beta")]).await,
        vec![queued.clone()]
    );
    assert!(
        ids(&api, l, &[("name", "bet")]).await.is_empty(),
        "name is an exact match"
    );
    assert_eq!(
        ids(&api, l, &[("status", "active")]).await,
        vec![active.clone()]
    );
    assert_eq!(
        ids(&api, l, &[("tag", "env=prod")]).await,
        vec![queued.clone()]
    );
    assert!(ids(&api, l, &[("tag", "env=dev")]).await.is_empty());
    assert_eq!(
        ids(&api, l, &[("protected", "true")]).await,
        vec![queued.clone()]
    );
    assert_eq!(
        ids(&api, l, &[("protected", "false")]).await,
        vec![active.clone()]
    );
    assert_eq!(
        ids(&api, l, &[("disk_format", "qcow2")]).await,
        vec![queued.clone()]
    );
    assert_eq!(
        ids(
            &api,
            l,
            &[
                ("__os_type", "Linux"),
                ("__platform", "Ubuntu"),
                ("min_disk", "40")
            ]
        )
        .await,
        vec![active.clone()]
    );
    let created = api.image(&active).await.unwrap()["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ids(&api, l, &[("created_at", &format!("gte:{created}"))])
            .await
            .len(),
        2
    );
    assert!(
        ids(&api, l, &[("created_at", &format!("lt:{created}"))])
            .await
            .is_empty()
    );
    assert!(
        ids(&api, l, &[("created_at", "gt:2999-01-01 00:00:00")])
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&api, l, &[("updated_at", "neq:2000-01-01T00:00:00Z")])
            .await
            .len(),
        2
    );
    assert_eq!(
        ids(&api, l, &[("created_at", "eq:2000-01-01T00:00:00Z")])
            .await
            .len(),
        0
    );
    assert_eq!(
        ids(&api, l, &[("created_at", "lte:2999-01-01T00:00:00Z")])
            .await
            .len(),
        2
    );
    let by_name = ids(&api, l, &[("sort_key", "name"), ("sort_dir", "asc")]).await;
    assert_eq!(by_name, [active.clone(), queued.clone()]);
    let by_name = ids(&api, l, &[("sort_key", "name"), ("sort_dir", "desc")]).await;
    assert_eq!(by_name, [queued.clone(), active.clone()]);
    for query in [
        [("limit", "1001")],
        [("created_at", "after:2020-01-01T00:00:00Z")],
        [("sort_key", "owner")],
        [("marker", "nope")],
    ] {
        let reply = api.send("GET", l, &query, None).await;
        assert_eq!((reply.status, reply.code()), (400, "IMG.0001"), "{query:?}");
    }
    let reply = api.send("GET", l, &[("__imagetype", "weird")], None).await;
    assert_eq!(reply.code(), "IMG.0024");
    // The native list takes the same filters.
    assert_eq!(
        ids(&api, "/v2/images", &[("name", "alpha")]).await,
        [active]
    );
}

#[tokio::test]
async fn the_three_pagination_styles_walk_every_image_once() {
    for style in [Pagination::PageInfo, Pagination::Next, Pagination::None] {
        let (api, all) = world_of(style, 7).await;
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = vec![("limit", "3"), ("sort_key", "id"), ("sort_dir", "asc")];
            if let Some(marker) = &marker {
                query.push(("marker", marker));
            }
            let reply = api.send("GET", "/v2/cloudimages", &query, None).await;
            let page: Vec<String> = reply.body["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect();
            pages += 1;
            seen.extend(page.clone());
            let next = match style {
                Pagination::PageInfo => reply.body["page_info"]["next_marker"]
                    .as_str()
                    .map(str::to_owned),
                Pagination::Next => reply.body["next"].as_str().map(|next| {
                    assert!(
                        next.starts_with("/v2/cloudimages?") && next.contains("limit=3"),
                        "{next}"
                    );
                    marker_of(next)
                }),
                Pagination::None => {
                    assert!(
                        reply.body.get("page_info").is_none() && reply.body.get("next").is_none()
                    );
                    (page.len() == 3).then(|| page.last().unwrap().clone())
                }
            };
            match next {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all, "{style:?}");
        assert_eq!(pages, 3, "{style:?}");
    }
}

#[tokio::test]
async fn the_native_list_is_glance_style_with_a_default_limit_of_25() {
    let (api, all) = world_of(Pagination::PageInfo, 27).await;
    let reply = api.send("GET", "/v2/images", &[], None).await;
    assert_eq!(reply.body["images"].as_array().unwrap().len(), 25);
    assert_eq!(reply.body["first"], "/v2/images");
    assert_eq!(reply.body["schema"], "/v2/schemas/images");
    let next = reply.body["next"].as_str().unwrap();
    let marker = &marker_of(next);
    let rest = ids(&api, "/v2/images", &[("marker", marker)]).await;
    assert_eq!(rest.len(), 2);
    let reply = api
        .send("GET", "/v2/images", &[("marker", marker)], None)
        .await;
    assert!(reply.body.get("next").is_none());
    let cloud = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_eq!(
        cloud.body["images"].as_array().unwrap().len(),
        27,
        "the extension list defaults to 500"
    );
    assert!(cloud.body.get("page_info").is_none());
    assert_eq!(all.len(), 27);
}
