//! The emulator over real loopback HTTP: every endpoint, error and fault, with requests signed
//! by `imsform::sign::sign` exactly as the client signs them.

use std::time::Duration;

use imsform::emulator::{Emulator, Faults, Pagination, RateLimit};
use imsform::sign;
use serde_json::{Value, json};

const URL: &str = "my-bucket:images/web.qcow2";

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["error_code"].as_str())
            .unwrap_or("")
    }

    fn request_id(&self) -> String {
        self.headers["x-request-id"].to_str().unwrap().to_owned()
    }
}

/// A signing client with knobs to break the signature on purpose.
struct Api {
    emulator: Emulator,
    http: reqwest::Client,
    access_key: String,
    secret_key: String,
    project: Option<String>,
    security_token: Option<String>,
    auth_token: Option<String>,
    date: Option<String>,
}

impl Api {
    fn new(emulator: Emulator) -> Self {
        Api {
            access_key: emulator.access_key().to_owned(),
            secret_key: emulator.secret_key().to_owned(),
            project: Some(emulator.project_id().to_owned()),
            emulator,
            http: reqwest::Client::new(),
            security_token: None,
            auth_token: None,
            date: None,
        }
    }

    async fn start(builder: imsform::emulator::EmulatorBuilder) -> Self {
        Api::new(builder.start().await.unwrap())
    }

    async fn fast() -> Self {
        Api::start(
            Emulator::builder()
                .job_duration(Duration::from_millis(100))
                .delete_linger(Duration::from_millis(100)),
        )
        .await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let content_type = if body.is_empty() {
            "application/json"
        } else {
            "application/json;charset=utf-8"
        };
        self.send_raw(method, path, query, content_type, body).await
    }

    async fn send_raw(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let date = self
            .date
            .clone()
            .unwrap_or_else(|| chrono::Utc::now().format(sign::DATE_FORMAT).to_string());
        let mut headers = vec![
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("X-Sdk-Date".to_owned(), date),
            ("Host".to_owned(), self.emulator.address().to_string()),
        ];
        if let Some(project) = &self.project {
            headers.push(("X-Project-Id".to_owned(), project.clone()));
        }
        if let Some(token) = &self.security_token {
            headers.push(("X-Security-Token".to_owned(), token.clone()));
        }
        if let Some(token) = &self.auth_token {
            headers.push(("X-Auth-Token".to_owned(), token.clone()));
        } else {
            let signed = sign::sign(
                method,
                path,
                &query,
                &mut headers,
                &body,
                &self.access_key,
                &self.secret_key,
            );
            headers.push(("Authorization".to_owned(), signed.authorization));
        }
        let mut url = format!("{}{}", self.emulator.uri(), path);
        if !query.is_empty() {
            url = format!("{url}?{}", sign::canonical_query(&query));
        }
        let mut request = self.http.request(method.parse().unwrap(), url).body(body);
        for (name, value) in headers.iter().filter(|(n, _)| n != "Host") {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        let id = headers
            .get("x-request-id")
            .expect("every response has X-Request-Id");
        let id = id.to_str().unwrap();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        Reply {
            status,
            headers,
            body,
        }
    }

    fn pid(&self) -> String {
        self.emulator.project_id().to_owned()
    }

    async fn create(&self, body: Value) -> Reply {
        self.send("POST", "/v2/images", &[], Some(&body)).await
    }

    async fn create_ok(&self, name: &str) -> String {
        let reply = self
            .create(
                json!({"name": name, "__os_version": "Ubuntu 22.04 server 64bit", "min_disk": 40}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    async fn register(&self, id: &str, url: &str) -> Reply {
        self.send(
            "PUT",
            &format!("/v1/cloudimages/{id}/upload"),
            &[],
            Some(&json!({"image_url": url})),
        )
        .await
    }

    async fn job(&self, job: &str) -> Reply {
        self.send("GET", &format!("/v1/{}/jobs/{job}", self.pid()), &[], None)
            .await
    }

    /// Polls the job until it ends; returns the final job JSON.
    async fn wait_job(&self, job: &str) -> Value {
        for _ in 0..200 {
            let reply = self.job(job).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            if matches!(reply.body["status"].as_str(), Some("SUCCESS" | "FAIL")) {
                return reply.body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("job {job} never ended");
    }

    async fn active(&self, name: &str) -> String {
        let id = self.create_ok(name).await;
        let reply = self.register(&id, URL).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let job = reply.body["job_id"].as_str().unwrap().to_owned();
        assert_eq!(self.wait_job(&job).await["status"], "SUCCESS");
        id
    }

    async fn image(&self, id: &str) -> Option<Value> {
        let reply = self
            .send("GET", "/v2/cloudimages", &[("id", id)], None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["images"].as_array().unwrap().first().cloned()
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__emulator/{path}", self.emulator.uri());
        let mut request = self.http.request(method.parse().unwrap(), url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn the_register_lifecycle_queued_saving_active() {
    let api = Api::fast().await;
    let created = api
        .create(
            json!({"name": "web-base", "__os_version": "Ubuntu 22.04 server 64bit",
            "min_disk": 40, "tags": ["team=web", "env=prod"], "protected": false}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let image = &created.body;
    let id = image["id"].as_str().unwrap();
    assert_eq!(image["status"], "queued");
    assert_eq!(image["self"], format!("/v2/images/{id}"));
    assert_eq!(image["file"], format!("/v2/images/{id}/file"));
    assert_eq!(image["schema"], "/v2/schemas/image");
    assert_eq!(image["owner"], api.pid());
    assert_eq!(image["__image_size"], "0");
    assert_eq!(image["__isregistered"], "true");
    assert_eq!(image["__os_type"], "Linux");
    assert_eq!(image["__platform"], "Ubuntu");
    assert_eq!(image["__os_bit"], "64");
    assert_eq!(image["__imagetype"], "private");
    assert_eq!(image["disk_format"], "zvhd2");
    assert_eq!(image["tags"], json!(["env=prod", "team=web"]));
    assert!(image["created_at"].as_str().unwrap().ends_with('Z'));

    let reply = api.register(id, URL).await;
    assert_eq!(reply.status, 200);
    let job = reply.body["job_id"].as_str().unwrap().to_owned();
    assert_eq!(job.len(), 32);
    let first = api.job(&job).await.body;
    assert!(
        matches!(first["status"].as_str(), Some("INIT" | "RUNNING")),
        "{first}"
    );
    assert_eq!(first["job_type"], "imsNativeImportImageJob");
    assert_eq!(first["end_time"], "");
    assert_eq!(api.image(id).await.unwrap()["status"], "saving");
    let done = api.wait_job(&job).await;
    assert_eq!(done["status"], "SUCCESS");
    assert_eq!(done["entities"]["image_id"], id);
    assert_eq!(done["error_code"], Value::Null);
    assert_eq!(done["fail_reason"], Value::Null);
    assert!(!done["end_time"].as_str().unwrap().is_empty());
    let active = api.image(id).await.unwrap();
    assert_eq!(active["status"], "active");
    assert_eq!(active["disk_format"], "zvhd2");
    let size = active["size"].as_u64().unwrap();
    assert!(size > 0);
    assert_eq!(active["__image_size"], size.to_string());
    assert_eq!(active["checksum"].as_str().unwrap().len(), 32);
    assert_eq!(active["__data_origin"], format!("file,{URL}"));
}

#[tokio::test]
async fn failed_registrations_kill_the_image_with_img_0057() {
    let faults = Faults {
        fail_urls: vec!["my-bucket:bad.qcow2".into()],
        ..Faults::default()
    };
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(50))
            .faults(faults),
    )
    .await;
    for url in ["my-bucket:bad.qcow2", "my-bucket:notes.txt"] {
        let id = api.create_ok("doomed").await;
        let job = api.register(&id, url).await.body["job_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let done = api.wait_job(&job).await;
        assert_eq!(done["status"], "FAIL", "{done}");
        assert_eq!(done["error_code"], "IMG.0057");
        assert!(done["fail_reason"].as_str().unwrap().contains(url));
        assert_eq!(done["entities"], json!({}));
        assert_eq!(api.image(&id).await.unwrap()["status"], "killed");
    }
    // A catalogue of OBS objects: anything outside it fails, anything inside succeeds.
    api.emulator.set_faults(Faults {
        obs_objects: Some(vec![URL.into()]),
        ..Faults::default()
    });
    let id = api.create_ok("missing").await;
    let job = api.register(&id, "my-bucket:absent.qcow2").await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.wait_job(&job).await["error_code"], "IMG.0057");
    let id = api.create_ok("present").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.wait_job(&job).await["status"], "SUCCESS");
}

#[tokio::test]
async fn register_refuses_bad_urls_unknown_images_and_images_not_queued() {
    let api = Api::fast().await;
    let id = api.active("once").await;
    let again = api.register(&id, URL).await;
    assert_eq!((again.status, again.code()), (400, "IMG.0046"));
    let missing = api
        .register("00000000-0000-0000-0000-000000000000", URL)
        .await;
    assert_eq!((missing.status, missing.code()), (404, "IMG.0027"));
    let queued = api.create_ok("q").await;
    for (url, code) in [
        ("no-colon.qcow2", "IMG.0017"),
        ("Bad_Bucket:x.qcow2", "IMG.0109"),
        (":x.qcow2", "IMG.0068"),
    ] {
        let reply = api.register(&queued, url).await;
        assert_eq!((reply.status, reply.code()), (400, code), "{url}");
    }
    let no_url = api
        .send(
            "PUT",
            &format!("/v1/cloudimages/{queued}/upload"),
            &[],
            Some(&json!({})),
        )
        .await;
    assert_eq!(no_url.code(), "IMG.0001");
}

#[tokio::test]
async fn the_progress_endpoint_reports_a_growing_percent_and_unknown_jobs_are_404() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_millis(300))).await;
    let id = api.create_ok("progress").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/cloudimages/job/{job}");
    let mut seen = Vec::new();
    loop {
        let reply = api.send("GET", &path, &[], None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["entities"]["image_id"], id);
        seen.push(reply.body["entities"]["process_percent"].as_f64().unwrap());
        if reply.body["status"] == "SUCCESS" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        seen.len() >= 3 && seen[0] < 1.0 && *seen.last().unwrap() == 1.0,
        "{seen:?}"
    );
    let unknown = api
        .send(
            "GET",
            "/v1/cloudimages/job/ffffffffffffffffffffffffffffffff",
            &[],
            None,
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "IMG.0027"));
    let unknown = api.job("ffffffffffffffffffffffffffffffff").await;
    assert_eq!((unknown.status, unknown.code()), (404, "IMG.0027"));
}

#[tokio::test(start_paused = true)]
async fn jobs_follow_tokio_time_so_paused_tests_are_instant() {
    let api = Api::start(Emulator::builder().job_duration(Duration::from_secs(600))).await;
    let id = api.create_ok("paused").await;
    let job = api.register(&id, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.job(&job).await.body["status"], "INIT");
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(api.job(&job).await.body["status"], "RUNNING");
    tokio::time::advance(Duration::from_secs(301)).await;
    assert_eq!(api.job(&job).await.body["status"], "SUCCESS");
    assert_eq!(api.image(&id).await.unwrap()["status"], "active");
}

#[tokio::test]
async fn delete_is_asynchronous_and_refuses_protected_and_saving_images() {
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(400))
            .delete_linger(Duration::from_millis(150)),
    )
    .await;
    let id = api.create_ok("short-lived").await;
    let reply = api
        .send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    assert_eq!(
        api.image(&id).await.unwrap()["status"],
        "queued",
        "still listed in its last status"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(api.image(&id).await.is_none());
    let gone = api
        .send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    assert_eq!((gone.status, gone.code()), (404, "IMG.0027"));

    let protected = api
        .create(json!({"name": "keep", "protected": true}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = api
        .send("DELETE", &format!("/v2/images/{protected}"), &[], None)
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0028"));

    let saving = api.create_ok("busy").await;
    api.register(&saving, URL).await;
    let body = json!({"delete_backup": false});
    let reply = api
        .send("DELETE", &format!("/v2/images/{saving}"), &[], Some(&body))
        .await;
    assert_eq!((reply.status, reply.code()), (400, "IMG.0090"));
}

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
