//! Signatures, dates, security and auth tokens, projects, the IAM stub, and info routes.

use imsform::emulator::Emulator;
use imsform::sign;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn signatures_dates_and_projects_are_checked_like_the_gateway() {
    let emulator = Emulator::builder()
        .temporary_credentials("TEMPAK0000000000000X", "temp-secret", "sts-token-1")
        .auth_token("good-token")
        .expired_token("old-token")
        .start()
        .await
        .unwrap();
    let mut api = Api::new(emulator);
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );

    api.secret_key = "wrong".into();
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.secret_key = api.emulator.secret_key().to_owned();
    api.access_key = "UNKNOWNAK00000000000".into();
    let reply = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_gateway(&reply, 401, "APIG.0301");
    assert!(
        reply.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("ak not exist")
    );
    api.access_key = api.emulator.access_key().to_owned();

    let skewed = chrono::Utc::now() - chrono::Duration::minutes(16);
    api.date = Some(skewed.format(sign::DATE_FORMAT).to_string());
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    let close = chrono::Utc::now() - chrono::Duration::minutes(14);
    api.date = Some(close.format(sign::DATE_FORMAT).to_string());
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    api.date = Some("yesterday".into());
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.date = None;

    // A body changed after signing no longer matches; an unsigned request is refused.
    api.tamper = Some(br#"{"name":"other"}"#.to_vec());
    let tampered = api.create(json!({"name": "signed"})).await;
    assert_gateway(&tampered, 401, "APIG.0301");
    assert!(
        tampered.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("verify aksk signature fail")
    );
    api.tamper = None;
    let url = format!("{}/v2/images", api.emulator.uri());
    let unsigned = api.http.get(&url).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    api.project = None;
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.project = Some("0".repeat(32));
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.project = Some(api.pid());
    let other = format!(
        "/v1/{}/jobs/ffffffffffffffffffffffffffffffff",
        "1".repeat(32)
    );
    assert_gateway(&api.send("GET", &other, &[], None).await, 401, "APIG.0301");

    // Temporary credentials need their security token, which is signed.
    api.access_key = "TEMPAK0000000000000X".into();
    api.secret_key = "temp-secret".into();
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.security_token = Some("sts-token-1".into());
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    api.security_token = Some("sts-token-2".into());
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
    api.security_token = None;

    api.auth_token = Some("good-token".into());
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    api.auth_token = Some("old-token".into());
    let expired = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_gateway(&expired, 401, "APIG.0301");
    assert!(
        expired.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    api.auth_token = Some("made-up".into());
    assert_gateway(
        &api.send("GET", "/v2/cloudimages", &[], None).await,
        401,
        "APIG.0301",
    );
}

#[tokio::test]
async fn signed_queries_with_spaces_colons_and_utf8_verify() {
    let api = Api::fast().await;
    let id = api.create(json!({"name": "web server 01"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = [
        ("name", "web server 01"),
        ("created_at", "gt:2000-01-01T00:00:00Z"),
        ("tag", "ключ=значение"),
    ];
    let reply = api.send("GET", "/v2/cloudimages", &query[..2], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["images"][0]["id"], id);
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &query, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_iam_stub_answers_project_lookups_without_x_project_id() {
    let mut api = Api::fast().await;
    api.project = None;
    let region = api.emulator.region().to_owned();
    let reply = api
        .send("GET", "/v3/projects", &[("name", &region)], None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["projects"][0]["id"], api.pid());
    assert_eq!(reply.body["projects"][0]["name"], region);
    let other = api
        .send("GET", "/v3/projects", &[("name", "eu-west-0")], None)
        .await;
    assert_eq!(other.body["projects"], json!([]));
    api.secret_key = "wrong".into();
    assert_gateway(
        &api.send("GET", "/v3/projects", &[("name", &region)], None)
            .await,
        401,
        "APIG.0301",
    );
}

#[tokio::test]
async fn quota_os_versions_and_unknown_routes() {
    let api = Api::fast().await;
    api.create_ok("counted").await;
    for path in [
        "/v1/cloudimages/quota".to_owned(),
        format!("/v1/{}/cloudimages/quota", api.pid()),
    ] {
        let reply = api.send("GET", &path, &[], None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body["quotas"]["resources"][0],
            json!({"type": "image", "used": 1, "quota": 100, "min": 1, "max": 1000})
        );
    }
    let versions = api
        .send("GET", "/v1/cloudimages/os_version", &[], None)
        .await
        .body;
    let ubuntu = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["platform"] == "Ubuntu")
        .unwrap();
    assert!(
        ubuntu["version_list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["os_version"] == "Ubuntu 22.04 server 64bit"
                && v["os_bit"] == 64
                && v["os_type"] == "Linux")
    );
    assert_gateway(
        &api.send("GET", "/v2/nothing-here", &[], None).await,
        404,
        "APIG.0101",
    );
    assert_gateway(
        &api.send("DELETE", "/v2/cloudimages", &[], None).await,
        404,
        "APIG.0101",
    );
}

#[tokio::test]
async fn repeated_signature_failures_lock_the_access_key_when_enabled() {
    let emulator = Emulator::builder()
        .lockout(3, std::time::Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut api = Api::new(emulator);
    let right = api.secret_key.clone();
    for _ in 0..2 {
        api.secret_key = "wrong".into();
        assert_eq!(
            api.send("GET", "/v2/cloudimages", &[], None).await.status,
            401
        );
    }
    api.secret_key = right.clone();
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200,
        "a success resets the count"
    );
    api.secret_key = "wrong".into();
    for _ in 0..3 {
        assert_eq!(
            api.send("GET", "/v2/cloudimages", &[], None).await.status,
            401
        );
    }
    api.secret_key = right;
    let locked = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_gateway(&locked, 401, "APIG.0301");
    assert!(
        locked.body["error_msg"]
            .as_str()
            .unwrap()
            .contains("reach the limit")
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}
