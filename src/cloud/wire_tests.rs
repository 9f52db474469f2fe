//! Unit tests of [`super`]: lenient parsing of every response shape the client must accept.

use serde_json::json;

use super::*;

#[test]
fn image_with_string_numbers_and_legacy_tags() {
    let image = parse_image(&json!({
        "id": "i1", "name": "web", "status": "active",
        "tags": ["team=platform", "legacy.value", "imsform-token=01ABC", "bare"],
        "__os_version": "Ubuntu 22.04 server 64bit", "disk_format": "zvhd2",
        "min_disk": "40", "min_ram": 1024, "__description": "",
        "protected": "true", "__image_size": "123456", "size": null,
        "checksum": "abc", "created_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    assert_eq!(image.id, "i1");
    assert_eq!(image.status, ImageStatus::Active);
    assert_eq!(image.tags.get("team").map(String::as_str), Some("platform"));
    assert_eq!(image.tags.get("legacy").map(String::as_str), Some("value"));
    assert_eq!(
        image.tags.get("imsform-token").map(String::as_str),
        Some("01ABC")
    );
    assert_eq!(image.tags.get("bare").map(String::as_str), Some(""));
    assert_eq!((image.min_disk, image.min_ram), (40, 1024));
    assert_eq!(image.description, None);
    assert!(image.protected);
    assert_eq!(image.size, Some(123_456));
    assert_eq!(image.updated_at, None);
}

#[test]
fn the_registered_file_is_read_from_data_origin_only_when_it_is_a_file() {
    let with = |origin: serde_json::Value| {
        parse_image(&json!({"id": "i1", "__data_origin": origin}))
            .unwrap()
            .image_url
    };
    assert_eq!(
        with(json!("file,bucket:dir/web.qcow2")),
        Some("bucket:dir/web.qcow2".into())
    );
    assert_eq!(with(json!("instance,3f1c")), None);
    assert_eq!(with(json!("file,")), None);
    assert_eq!(with(serde_json::Value::Null), None);
}

#[test]
fn tag_value_may_contain_dots_and_equals() {
    assert_eq!(parse_tag("k=v.1=2"), ("k".into(), "v.1=2".into()));
    assert_eq!(parse_tag("k.v.1"), ("k".into(), "v.1".into()));
}

#[test]
fn image_without_id_is_skipped() {
    let page = parse_page(&json!({"images": [{"name": "x"}, {"id": "a"}]}), 1000).unwrap();
    assert_eq!(page.images.len(), 1);
}

#[test]
fn page_info_marker() {
    let page = parse_page(
        &json!({"images": [{"id": "a"}], "page_info": {"next_marker": "a"}}),
        1000,
    )
    .unwrap();
    assert_eq!(page.next, NextPage::Marker("a".into()));
}

#[test]
fn next_link_wins_and_drops_foreign_hosts() {
    let page = parse_page(
        &json!({
            "images": [{"id": "a"}],
            "next": "https://evil.example.com/v2/cloudimages?marker=a&limit=2&tag=k%3Dv",
            "page_info": {"next_marker": "ignored"}
        }),
        2,
    )
    .unwrap();
    assert_eq!(
        page.next,
        NextPage::Link {
            path: "/v2/cloudimages".into(),
            query: vec![
                ("marker".into(), "a".into()),
                ("limit".into(), "2".into()),
                ("tag".into(), "k=v".into())
            ],
        }
    );
    let relative = parse_page(
        &json!({"images": [], "next": "/v2/cloudimages?marker=b"}),
        2,
    );
    assert!(
        matches!(relative.unwrap().next, NextPage::Link { ref path, .. } if path == "/v2/cloudimages")
    );
}

#[test]
fn no_envelope_full_page_asks_with_last_id() {
    let full = parse_page(&json!({"images": [{"id": "a"}, {"id": "b"}]}), 2).unwrap();
    assert_eq!(full.next, NextPage::Marker("b".into()));
    let short = parse_page(&json!({"images": [{"id": "a"}]}), 2).unwrap();
    assert_eq!(short.next, NextPage::Done);
    let empty_marker = parse_page(
        &json!({"images": [{"id": "a"}], "page_info": {"next_marker": ""}}),
        2,
    )
    .unwrap();
    assert_eq!(empty_marker.next, NextPage::Done);
}

#[test]
fn not_a_page() {
    assert!(parse_page(&json!({"error": {}}), 10).is_none());
}

#[test]
fn job_success_failure_and_progress() {
    let ok = parse_job(
        &json!({"job_id": " j1 ", "status": "SUCCESS", "end_time": "", "error_code": null,
                "fail_reason": null, "entities": {"image_id": "i1"}}),
        "j1",
    )
    .unwrap();
    assert_eq!(ok.id, "j1");
    assert_eq!(ok.status, JobStatus::Success);
    assert_eq!(ok.image_id.as_deref(), Some("i1"));
    assert_eq!(ok.error_code, None);
    let failed = parse_job(
        &json!({"status": "FAIL", "error_code": "IMG.0057", "fail_reason": "no file", "entities": {}}),
        "j2",
    )
    .unwrap();
    assert_eq!(failed.id, "j2");
    assert_eq!(failed.status, JobStatus::Fail);
    assert_eq!(failed.image_id, None);
    assert_eq!(failed.error_code.as_deref(), Some("IMG.0057"));
    assert_eq!(failed.fail_reason.as_deref(), Some("no file"));
    let running = parse_job(
        &json!({"status": "RUNNING", "entities": {"process_percent": "0.24"}}),
        "j3",
    )
    .unwrap();
    assert_eq!(running.progress, Some(0.24));
    let init = parse_job(
        &json!({"status": "INIT", "entities": {"process_percent": 0.5}}),
        "j",
    )
    .unwrap();
    assert_eq!((init.status, init.progress), (JobStatus::Init, Some(0.5)));
    assert!(parse_job(&json!({"status": "WHAT"}), "j").is_none());
}

#[test]
fn register_job_id_is_trimmed() {
    assert_eq!(
        parse_job_id(&json!({"job_id": " abc "})),
        Some("abc".into())
    );
    assert_eq!(parse_job_id(&json!({"job_id": " "})), None);
}

#[test]
fn projects_os_versions_quota() {
    assert_eq!(
        parse_project_ids(&json!({"projects": [{"id": "p1", "name": "cn-north-4"}]})),
        Some(vec!["p1".to_owned()])
    );
    let versions = parse_os_versions(&json!([
        {"platform": "Ubuntu", "version_list": [{"os_version": "Ubuntu 22.04 server 64bit"}]},
        {"platform": "CentOS", "version_list": [{"os_version": "CentOS 7.9 64bit"}, {"os_version": "CentOS 7.9 64bit"}]}
    ]))
    .unwrap();
    assert_eq!(
        versions,
        vec!["CentOS 7.9 64bit", "Ubuntu 22.04 server 64bit"]
    );
    assert_eq!(
        parse_quota(
            &json!({"quotas": {"resources": [{"type": "image", "used": 3, "quota": "20"}]}})
        ),
        Some((3, 20))
    );
}
