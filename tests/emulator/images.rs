//! Create validation, updates (both PATCH routes) and tags.

use imsform::emulator::Emulator;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn updates_only_active_images_and_replace_of_an_absent_attribute_is_img_0035() {
    let api = Api::fast().await;
    let queued = api.create_ok("not-yet").await;
    let ops = json!([{"op": "replace", "path": "/name", "value": "renamed"}]);
    let reply = api
        .send(
            "PATCH",
            &format!("/v2/cloudimages/{queued}"),
            &[],
            Some(&ops),
        )
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0046"));

    let id = api.active("web").await;
    let path = format!("/v2/cloudimages/{id}");
    let reply = api.send("PATCH", &path, &[], Some(&ops)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["name"], "renamed");

    let replace = json!([{"op": "replace", "path": "/__description", "value": "first"}]);
    let reply = api.send("PATCH", &path, &[], Some(&replace)).await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0035"));
    let add = json!([{"op": "add", "path": "/__description", "value": "first"}]);
    assert_eq!(
        api.send("PATCH", &path, &[], Some(&add)).await.body["__description"],
        "first"
    );
    let reply = api.send("PATCH", &path, &[], Some(&replace)).await;
    assert_eq!(reply.status, 200);
    let ops = json!([{"op": "replace", "path": "/min_ram", "value": "2048"},
                     {"op": "add", "path": "/max_ram", "value": "4096"}]);
    let reply = api.send("PATCH", &path, &[], Some(&ops)).await;
    assert_eq!(
        (reply.body["min_ram"].clone(), reply.body["max_ram"].clone()),
        (json!(2048), json!("4096"))
    );
    let remove = json!([{"op": "remove", "path": "/__description"}]);
    assert!(
        api.send("PATCH", &path, &[], Some(&remove))
            .await
            .body
            .get("__description")
            .is_none()
    );

    for (ops, code) in [
        (
            json!([{"op": "replace", "path": "/name", "value": "bad;name"}]),
            "IMG.0003",
        ),
        (
            json!([{"op": "replace", "path": "/name", "value": "n".repeat(129)}]),
            "IMG.0002",
        ),
        (
            json!([{"op": "add", "path": "/__description", "value": "<b>"}]),
            "IMG.0054",
        ),
        (
            json!([{"op": "add", "path": "/__description", "value": "d".repeat(1025)}]),
            "IMG.0004",
        ),
        (
            json!([{"op": "add", "path": "/hw_firmware_type", "value": "efi"}]),
            "IMG.0141",
        ),
        (
            json!([{"op": "replace", "path": "/status", "value": "active"}]),
            "IMG.0001",
        ),
        (
            json!([{"op": "move", "path": "/name", "value": "x"}]),
            "IMG.0001",
        ),
        (json!({"op": "replace"}), "IMG.0001"),
    ] {
        let reply = api.send("PATCH", &path, &[], Some(&ops)).await;
        assert_eq!((reply.status, reply.code()), (400, code), "{ops}");
    }
    // A failing batch changes nothing.
    let mixed = json!([{"op": "replace", "path": "/name", "value": "half"},
                       {"op": "replace", "path": "/name", "value": "bad;"}]);
    api.send("PATCH", &path, &[], Some(&mixed)).await;
    assert_eq!(api.image(&id).await.unwrap()["name"], "renamed");
    let missing = api
        .send(
            "PATCH",
            "/v2/cloudimages/00000000-0000-0000-0000-000000000000",
            &[],
            Some(&ops),
        )
        .await;
    assert_eq!((missing.status, missing.code()), (404, "IMG.0027"));
}

#[tokio::test]
async fn the_native_patch_takes_a_json_patch_content_type_signed_unsigned_payload() {
    let api = Api::fast().await;
    let id = api.active("native").await;
    let body = br#"[{"op": "replace", "path": "/name", "value": "native-2"}]"#.to_vec();
    let path = format!("/v2/images/{id}");
    let reply = api
        .send_raw(
            "PATCH",
            &path,
            &[],
            "application/openstack-images-v2.1-json-patch",
            body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["name"], "native-2");
    let body = br#"[{"replace": "/name", "value": "native-3"}]"#.to_vec();
    let reply = api
        .send_raw(
            "PATCH",
            &path,
            &[],
            "application/openstack-images-v2.0-json-patch",
            body,
        )
        .await;
    assert_eq!(reply.body["name"], "native-3");
    let shown = api.send("GET", &path, &[], None).await;
    assert_eq!(
        (shown.status, shown.body["name"].clone()),
        (200, json!("native-3"))
    );
    let missing = api
        .send(
            "GET",
            "/v2/images/00000000-0000-0000-0000-000000000000",
            &[],
            None,
        )
        .await;
    assert_eq!((missing.status, missing.code()), (404, "IMG.0027"));
}

#[tokio::test]
async fn tags_follow_the_key_value_rules_limits_and_idempotence() {
    let api = Api::fast().await;
    let id = api.create_ok("tagged").await;
    let base = format!("/v2/{}/images/{id}/tags", api.pid());
    let batch = |action: &str, tags: Value| json!({"action": action, "tags": tags});
    let reply = api
        .send(
            "POST",
            &format!("{base}/action"),
            &[],
            Some(&batch(
                "create",
                json!([{"key": "env", "value": "prod"}, {"key": "team", "value": ""}]),
            )),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = api
        .send(
            "POST",
            &base,
            &[],
            Some(&json!({"tag": {"key": "env", "value": "dev"}})),
        )
        .await;
    assert_eq!(reply.status, 204);
    let listed = api.send("GET", &base, &[], None).await;
    assert_eq!(
        listed.body,
        json!({"tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": ""}]})
    );
    assert_eq!(
        api.image(&id).await.unwrap()["tags"],
        json!(["env=dev", "team="])
    );

    for tags in [
        json!([{"key": "", "value": "x"}]),
        json!([{"key": "k".repeat(37), "value": "x"}]),
        json!([{"key": "k", "value": "v".repeat(44)}]),
        json!([{"key": "a b", "value": "x"}]),
        json!([{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]),
    ] {
        let reply = api
            .send(
                "POST",
                &format!("{base}/action"),
                &[],
                Some(&batch("create", tags.clone())),
            )
            .await;
        assert_eq!((reply.status, reply.code()), (400, "IMG.0115"), "{tags}");
    }
    let many: Vec<Value> = (0..9)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let reply = api
        .send(
            "POST",
            &format!("{base}/action"),
            &[],
            Some(&batch("create", json!(many))),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (400, "IMG.0116"),
        "2 + 9 > 10"
    );
    let reply = api
        .send(
            "POST",
            &format!("{base}/action"),
            &[],
            Some(&batch("create", json!(many[..8]))),
        )
        .await;
    assert_eq!(reply.status, 204, "2 + 8 = 10");
    let reply = api
        .send(
            "POST",
            &base,
            &[],
            Some(&json!({"tag": {"key": "eleventh", "value": "v"}})),
        )
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0116"));
    let reply = api
        .send(
            "POST",
            &base,
            &[],
            Some(&json!({"tag": {"key": "env", "value": "overwrite-ok"}})),
        )
        .await;
    assert_eq!(
        reply.status, 204,
        "overwriting an existing key stays within 10"
    );

    let delete = batch(
        "delete",
        json!([{"key": "env", "value": "overwrite-ok"}, {"key": "absent", "value": ""}]),
    );
    assert_eq!(
        api.send("POST", &format!("{base}/action"), &[], Some(&delete))
            .await
            .status,
        204
    );
    assert_eq!(
        api.send("POST", &format!("{base}/action"), &[], Some(&delete))
            .await
            .status,
        204,
        "idempotent"
    );
    let reply = api
        .send(
            "POST",
            &format!("{base}/action"),
            &[],
            Some(&batch("Create", json!([]))),
        )
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0001"));

    assert_eq!(
        api.send("DELETE", &format!("{base}/team"), &[], None)
            .await
            .status,
        204
    );
    let again = api.send("DELETE", &format!("{base}/team"), &[], None).await;
    assert_eq!(again.status, 404);

    let native = format!("/v2/images/{id}/tags/plain_tag");
    assert_eq!(
        api.send("DELETE", &format!("{base}/k0"), &[], None)
            .await
            .status,
        204
    );
    assert_eq!(api.send("PUT", &native, &[], None).await.status, 204);
    assert!(
        api.image(&id).await.unwrap()["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("plain_tag="))
    );
    assert_eq!(api.send("DELETE", &native, &[], None).await.status, 204);
    assert_eq!(api.send("DELETE", &native, &[], None).await.status, 404);
    let reply = api
        .send("PUT", &format!("/v2/images/{id}/tags/a.b"), &[], None)
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0115"));
    let missing = api
        .send(
            "GET",
            &format!("/v2/{}/images/nope/tags", api.pid()),
            &[],
            None,
        )
        .await;
    assert_eq!((missing.status, missing.code()), (404, "IMG.0027"));
}

#[tokio::test]
async fn create_validates_like_ims() {
    let api = Api::start(Emulator::builder().image_quota(3)).await;
    for (body, code) in [
        (
            json!({"name": "x", "__os_version": "Plan 9 64bit"}),
            "IMG.0056",
        ),
        (json!({"name": "x", "min_disk": 0}), "IMG.0055"),
        (json!({"name": "x", "min_disk": 1025}), "IMG.0055"),
        (json!({"name": "x", "min_ram": -1}), "IMG.0055"),
        (json!({"name": "bad/name"}), "IMG.0003"),
        (json!({"name": "n".repeat(129)}), "IMG.0002"),
        (json!({"name": "x", "visibility": "public"}), "IMG.0024"),
        (json!({"name": "x", "disk_format": "ova"}), "IMG.0001"),
        (json!({"name": "x", "tags": ["bad key=v"]}), "IMG.0115"),
        (
            json!({"name": "x", "tags": (0..11).map(|i| format!("k{i}=v")).collect::<Vec<_>>()}),
            "IMG.0116",
        ),
    ] {
        let reply = api.create(body.clone()).await;
        assert_eq!((reply.status, reply.code()), (400, code), "{body}");
        assert!(reply.body["error"]["message"].is_string());
    }
    let empty = api
        .send_raw("POST", "/v2/images", &[], "application/json", Vec::new())
        .await;
    assert_eq!(empty.code(), "IMG.0007");
    let garbage = api
        .send_raw(
            "POST",
            "/v2/images",
            &[],
            "application/json",
            b"{nope".to_vec(),
        )
        .await;
    assert_eq!(garbage.code(), "IMG.0001");
    let defaults = api.create(json!({})).await.body;
    assert_eq!(defaults["__os_version"], "Other Linux(64 bit)");
    assert_eq!(defaults["disk_format"], "zvhd2");
    assert_eq!(defaults["container_format"], "bare");
    let windows = api
        .create(json!({"name": "w", "__os_version": "Windows Server 2019 Standard 64bit"}))
        .await
        .body;
    assert_eq!(
        (windows["__os_type"].clone(), windows["__platform"].clone()),
        (json!("Windows"), json!("Windows"))
    );
    api.create(json!({"name": "third"})).await;
    let over = api.create(json!({"name": "fourth"})).await;
    assert_eq!((over.status, over.code()), (400, "IMG.0015"));

    let custom =
        Api::start(Emulator::builder().os_versions(vec![("Plan9".into(), "Plan 9 64bit".into())]))
            .await;
    assert_eq!(
        custom
            .create(json!({"__os_version": "Plan 9 64bit"}))
            .await
            .status,
        201
    );
    assert_eq!(
        custom
            .create(json!({"__os_version": "Ubuntu 22.04 server 64bit"}))
            .await
            .code(),
        "IMG.0056"
    );
}
