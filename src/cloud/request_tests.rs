//! Unit tests of [`super`]: the wire shape of every operation and its authentication headers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::manifest::model::DiskFormat;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

fn body(request: &ApiRequest) -> Value {
    serde_json::from_slice(request.body.as_deref().unwrap()).unwrap()
}

fn aksk(token: Option<&str>) -> Credentials {
    Credentials::AkSk {
        access_key: "AK".into(),
        secret_key: "SK".into(),
        security_token: token.map(str::to_owned),
    }
}

fn context(project: Option<&str>) -> HeaderContext<'_> {
    HeaderContext {
        host: "127.0.0.1:8787",
        path_prefix: "",
        project_id: project,
        sdk_date: "20240115T083000Z",
        user_agent: "imsform/test",
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[test]
fn create_metadata_body_matches_the_sdk_model() {
    let create = CreateImage {
        name: "web".into(),
        os_version: "Ubuntu 22.04 server 64bit".into(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram: 1024,
        protected: false,
        tags: BTreeMap::from([
            ("team".to_owned(), "platform".to_owned()),
            ("imsform-token".to_owned(), "01TOKEN".to_owned()),
        ]),
    };
    let request = create_metadata(&create);
    assert_eq!(
        (request.method, request.path.as_str()),
        ("POST", "/v2/images")
    );
    assert!(!request.idempotent);
    assert_eq!(request.content_type, "application/json;charset=utf-8");
    assert_eq!(
        body(&request),
        json!({
            "__os_version": "Ubuntu 22.04 server 64bit", "name": "web", "disk_format": "qcow2",
            "min_disk": 40, "min_ram": 1024, "protected": false, "visibility": "private",
            "container_format": "bare", "tags": ["imsform-token=01TOKEN", "team=platform"]
        })
    );
}

#[test]
fn register_job_delete_paths() {
    let request = register("img/1", "bucket:dir/file.qcow2");
    assert_eq!(request.path, "/v1/cloudimages/img%2F1/upload");
    assert_eq!(request.method, "PUT");
    assert!(!request.idempotent);
    assert_eq!(
        body(&request),
        json!({"image_url": "bucket:dir/file.qcow2"})
    );
    assert_eq!(job(PROJECT, "j1").path, format!("/v1/{PROJECT}/jobs/j1"));
    assert_eq!(job_progress("j1").path, "/v1/cloudimages/job/j1");
    let request = delete("i1");
    assert_eq!(
        (request.method, request.path.as_str()),
        ("DELETE", "/v2/images/i1")
    );
    assert!(request.idempotent && request.body.is_none());
    assert_eq!(request.content_type, "application/json;charset=utf-8");
    assert_eq!(get_image("i1").content_type, "application/json");
}

#[test]
fn list_query_is_canonical() {
    let request = list_images(
        PROJECT,
        1000,
        &[("tag".into(), "imsform-token=01X".into())],
        Some("m1"),
    );
    assert_eq!(
        request.query_string(),
        format!("__imagetype=private&limit=1000&marker=m1&owner={PROJECT}&tag=imsform-token%3D01X")
    );
    assert_eq!(get_image("i1").query_string(), "id=i1");
    let iam = list_projects("cn-north-4");
    assert_eq!(
        (iam.service, iam.query_string().as_str()),
        (Service::Iam, "name=cn-north-4")
    );
}

#[test]
fn update_ops_and_tag_actions() {
    let name = update_op(&AttrUpdate::Name("new".into()), "replace");
    assert_eq!(
        name,
        json!({"op": "replace", "path": "/name", "value": "new"})
    );
    let ram = update_op(&AttrUpdate::MinRam(2048), "add");
    assert_eq!(ram, json!({"op": "add", "path": "/min_ram", "value": 2048}));
    let desc = update_op(&AttrUpdate::Description(Some("d".into())), "replace");
    assert_eq!(
        desc,
        json!({"op": "replace", "path": "/__description", "value": "d"})
    );
    let gone = update_op(&AttrUpdate::Description(None), "replace");
    assert_eq!(gone, json!({"op": "remove", "path": "/__description"}));
    let request = update("i1", vec![name]);
    assert_eq!(
        (request.method, request.path.as_str()),
        ("PATCH", "/v2/cloudimages/i1")
    );
    assert_eq!(
        body(&request),
        json!([{"op": "replace", "path": "/name", "value": "new"}])
    );
    let tags = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let request = tags_action(PROJECT, "i1", "create", &tags);
    assert_eq!(request.path, format!("/v2/{PROJECT}/images/i1/tags/action"));
    assert_eq!(
        body(&request),
        json!({"action": "create", "tags": [{"key": "k", "value": "v"}]})
    );
}

#[test]
fn aksk_headers_are_signed_with_project_and_security_token() {
    let request = get_image("i1");
    let headers = auth_headers(&request, &aksk(Some("ST")), context(Some(PROJECT)));
    assert_eq!(header(&headers, "Host"), Some("127.0.0.1:8787"));
    assert_eq!(header(&headers, "X-Project-Id"), Some(PROJECT));
    assert_eq!(header(&headers, "X-Security-Token"), Some("ST"));
    assert_eq!(header(&headers, "X-Sdk-Date"), Some("20240115T083000Z"));
    assert_eq!(header(&headers, "Content-Type"), Some("application/json"));
    assert_eq!(header(&headers, "X-Auth-Token"), None);
    let authorization = header(&headers, "Authorization").unwrap();
    let parsed = crate::sign::parse_authorization(authorization).unwrap();
    assert_eq!(parsed.access_key, "AK");
    assert_eq!(
        parsed.signed_headers,
        [
            "content-type",
            "host",
            "user-agent",
            "x-project-id",
            "x-sdk-date",
            "x-security-token"
        ]
    );
    // The emulator's check: recompute from what is on the wire.
    let signed: Vec<(String, String)> = parsed
        .signed_headers
        .iter()
        .map(|name| (name.clone(), header(&headers, name).unwrap().to_owned()))
        .collect();
    let canonical = crate::sign::canonical_request(
        "GET",
        "/v2/cloudimages",
        &crate::sign::parse_query(&request.query_string()),
        &signed,
        crate::sign::EMPTY_SHA256,
    );
    let to_sign = crate::sign::string_to_sign("20240115T083000Z", &canonical);
    assert!(crate::sign::signature_matches(
        "SK",
        &to_sign,
        &parsed.signature
    ));
}

#[test]
fn iam_lookup_has_no_project_header() {
    let headers = auth_headers(&list_projects("r"), &aksk(None), context(None));
    assert_eq!(header(&headers, "X-Project-Id"), None);
    assert_eq!(header(&headers, "X-Security-Token"), None);
    assert!(header(&headers, "Authorization").is_some());
}

#[test]
fn token_auth_sends_the_token_and_no_signature() {
    let creds = Credentials::Token {
        token: "TOK".into(),
    };
    let headers = auth_headers(&get_image("i1"), &creds, context(Some(PROJECT)));
    assert_eq!(header(&headers, "X-Auth-Token"), Some("TOK"));
    assert_eq!(header(&headers, "X-Project-Id"), Some(PROJECT));
    assert_eq!(header(&headers, "Authorization"), None);
    assert_eq!(header(&headers, "X-Sdk-Date"), None);
}

#[test]
fn path_prefix_is_part_of_the_signed_path() {
    let mut ctx = context(Some(PROJECT));
    ctx.path_prefix = "/ims";
    let with_prefix = auth_headers(&delete("i1"), &aksk(None), ctx);
    let without = auth_headers(&delete("i1"), &aksk(None), context(Some(PROJECT)));
    assert_ne!(
        header(&with_prefix, "Authorization"),
        header(&without, "Authorization")
    );
}
