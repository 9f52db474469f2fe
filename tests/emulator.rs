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
    /// Sent instead of the signed body, to break the signature.
    tamper: Option<Vec<u8>>,
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
            tamper: None,
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
        self.try_send(method, path, query, content_type, body)
            .await
            .unwrap()
    }

    /// Like `send_raw`, but a transport error (a dropped connection) is returned.
    async fn try_send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply, reqwest::Error> {
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
        let mut request = self
            .http
            .request(method.parse().unwrap(), url)
            .body(self.tamper.clone().unwrap_or(body));
        for (name, value) in headers.iter().filter(|(n, _)| n != "Host") {
            request = request.header(name, value);
        }
        let response = request.send().await?;
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
        Ok(Reply {
            status,
            headers,
            body,
        })
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

async fn ids(api: &Api, path: &str, query: &[(&str, &str)]) -> Vec<String> {
    let reply = api.send("GET", path, query, None).await;
    assert_eq!(reply.status, 200, "{query:?}: {}", reply.body);
    reply.body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

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

/// The `marker` of a `next` link.
fn marker_of(link: &str) -> String {
    let query = link.split_once('?').unwrap().1;
    sign::parse_query(query)
        .into_iter()
        .find(|(k, _)| k == "marker")
        .unwrap()
        .1
}

async fn world_of(pagination: Pagination, count: usize) -> (Api, Vec<String>) {
    let api = Api::start(Emulator::builder().pagination(pagination)).await;
    let mut all = Vec::new();
    for i in 0..count {
        all.push(api.create_ok(&format!("img-{i:02}")).await);
    }
    all.sort();
    (api, all)
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

fn assert_gateway(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.code()),
        (status, code),
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["request_id"],
        reply.request_id(),
        "the body's request_id is the header's"
    );
    assert!(reply.body["error_msg"].is_string());
}

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
async fn throttling_answers_429_with_retry_after_per_access_key() {
    let faults = Faults {
        rate_limit: Some(RateLimit {
            per_second: 0.5,
            burst: 2.0,
        }),
        ..Faults::default()
    };
    let api = Api::start(Emulator::builder().faults(faults).auth_token("tok")).await;
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    let throttled = api.send("GET", "/v2/cloudimages", &[], None).await;
    assert_gateway(&throttled, 429, "APIG.0308");
    assert_eq!(throttled.headers["retry-after"], "2");
    // Another principal has its own bucket.
    let mut other = Api::new(Emulator::builder().start().await.unwrap());
    other.emulator = api.emulator;
    other.access_key = other.emulator.access_key().to_owned();
    other.secret_key = other.emulator.secret_key().to_owned();
    other.project = Some(other.pid());
    other.auth_token = Some("tok".into());
    assert_eq!(
        other.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    // An empty fault set lifts the limit.
    other.admin("POST", "faults", Some(json!({}))).await;
    other.auth_token = None;
    assert_eq!(
        other.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}

#[tokio::test]
async fn the_job_concurrency_cap_answers_img_0060() {
    let faults = Faults {
        max_running_jobs: Some(1),
        ..Faults::default()
    };
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(200))
            .faults(faults),
    )
    .await;
    let first = api.create_ok("one").await;
    let second = api.create_ok("two").await;
    let job = api.register(&first, URL).await.body["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let capped = api.register(&second, URL).await;
    assert_eq!((capped.status, capped.code()), (400, "IMG.0060"));
    assert_eq!(
        api.image(&second).await.unwrap()["status"],
        "queued",
        "nothing happened"
    );
    api.wait_job(&job).await;
    assert_eq!(api.register(&second, URL).await.status, 200);
}

async fn statuses(api: &Api, count: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(api.send("GET", "/v2/cloudimages", &[], None).await.status);
    }
    out
}

#[tokio::test]
async fn injected_5xx_are_seeded_and_reproducible() {
    let faults = Faults {
        seed: Some(42),
        error_rate: 0.5,
        ..Faults::default()
    };
    let api = Api::start(Emulator::builder().faults(faults.clone())).await;
    let first = statuses(&api, 30).await;
    assert!(
        first.contains(&200) && first.contains(&500) && first.contains(&503),
        "{first:?}"
    );
    api.emulator.set_faults(faults);
    assert_eq!(statuses(&api, 30).await, first, "same seed, same sequence");
    let reply = loop {
        let reply = api.send("GET", "/v2/cloudimages", &[], None).await;
        if reply.status >= 500 {
            break reply;
        }
    };
    assert_gateway(&reply, reply.status, reply.code());
    api.admin("POST", "reset", None).await;
    assert_eq!(statuses(&api, 10).await.len(), 10);
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let api = Api::start(Emulator::builder().faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    }))
    .await;
    let started = std::time::Instant::now();
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn dropped_responses_close_the_connection_after_the_emulator_acted() {
    let api = Api::fast().await;
    let id = api.create_ok("dropped").await;
    api.admin(
        "POST",
        "faults",
        Some(json!({"drop_routes": {"PUT /v1/cloudimages/{image_id}/upload": 1}})),
    )
    .await;
    let body = json!({"image_url": URL}).to_string().into_bytes();
    let path = format!("/v1/cloudimages/{id}/upload");
    let error = api
        .try_send("PUT", &path, &[], "application/json", body)
        .await
        .err()
        .unwrap();
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    // The emulator acted: the image is saving and a second register is refused.
    assert_eq!(api.image(&id).await.unwrap()["status"], "saving");
    assert_eq!(api.register(&id, URL).await.code(), "IMG.0046");
    // drop_rate 1.0 drops everything; {} clears it.
    api.admin("POST", "faults", Some(json!({"drop_rate": 1.0})))
        .await;
    let listed = api.try_send(
        "GET",
        "/v2/cloudimages",
        &[],
        "application/json",
        Vec::new(),
    );
    assert!(listed.await.is_err());
    api.admin("POST", "faults", Some(json!({}))).await;
    assert_eq!(
        api.send("GET", "/v2/cloudimages", &[], None).await.status,
        200
    );
}

#[tokio::test]
async fn the_admin_api_counts_shows_every_image_and_resets() {
    let api = Api::start(
        Emulator::builder()
            .job_duration(Duration::from_millis(50))
            .delete_linger(Duration::from_secs(30)),
    )
    .await;
    let id = api.create_ok("admin").await;
    api.send("GET", "/v2/cloudimages", &[], None).await;
    api.send("GET", "/v2/cloudimages", &[("limit", "5")], None)
        .await;
    api.send("GET", &format!("/v1/{}/jobs/x", api.pid()), &[], None)
        .await;
    api.send("DELETE", &format!("/v2/images/{id}"), &[], None)
        .await;
    let stats = api.admin("GET", "stats", None).await;
    assert_eq!(stats["requests"]["GET /v2/cloudimages"], 2);
    assert_eq!(stats["requests"]["POST /v2/images"], 1);
    assert_eq!(stats["requests"]["GET /v1/{project_id}/jobs/{job_id}"], 1);
    assert_eq!(api.emulator.stats()["DELETE /v2/images/{image_id}"], 1);
    let images = api.admin("GET", "images", None).await;
    assert_eq!(images["images"][0]["id"], id);
    assert_eq!(images["images"][0]["__emulator_deleting"], true);
    assert_eq!(api.emulator.images().len(), 1);

    let recorded = api.emulator.requests();
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/v2/images");
    assert!(String::from_utf8_lossy(&recorded[0].body).contains("admin"));
    assert_eq!(recorded[2].query, "limit=5");
    for request in &recorded {
        assert!(
            request
                .headers
                .iter()
                .all(|(name, _)| name != "authorization")
        );
        assert!(request.headers.iter().any(|(name, _)| name == "x-sdk-date"));
    }
    let url = format!("{}/__emulator/faults", api.emulator.uri());
    let typo = api
        .http
        .post(&url)
        .body(r#"{"eror_rate":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), 400);

    api.admin("POST", "reset", None).await;
    assert!(
        api.admin("GET", "images", None).await["images"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(api.admin("GET", "stats", None).await["requests"], json!({}));
}

#[tokio::test]
async fn the_world_persists_atomically_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let builder = || {
        Emulator::builder()
            .credentials("AKPERSIST00000000000", "sk")
            .project_id("p1")
            .job_duration(Duration::from_millis(50))
            .data_file(&file)
    };
    let api = Api::start(builder()).await;
    let active = api.active("kept").await;
    let queued = api
        .create(json!({"name": "waiting", "tags": ["a=b"]}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&active) && text.contains(&queued));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left behind"
    );
    api.emulator.shutdown().await;

    let api = Api::start(builder()).await;
    let image = api.image(&active).await.unwrap();
    assert_eq!(
        (image["status"].clone(), image["name"].clone()),
        (json!("active"), json!("kept"))
    );
    assert_eq!(api.image(&queued).await.unwrap()["tags"], json!(["a=b"]));
    let deleted = api
        .send("DELETE", &format!("/v2/images/{queued}"), &[], None)
        .await;
    assert_eq!(deleted.status, 204);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api.send("GET", "/v2/cloudimages", &[], None).await;
    assert!(!std::fs::read_to_string(&file).unwrap().contains(&queued));

    std::fs::write(&file, "{broken").unwrap();
    assert!(builder().start().await.is_err());
}

#[tokio::test]
async fn only_loopback_addresses_are_accepted() {
    let error = Emulator::builder()
        .listen("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(imsform::emulator::loopback_address("192.168.1.1:80").is_err());
    assert!(imsform::emulator::loopback_address("localhost:80").is_err());
    assert!(imsform::emulator::loopback_address("[::1]:0").is_ok());
}

#[test]
fn the_cli_prints_one_json_line_and_refuses_non_loopback() {
    use std::io::BufRead;
    let binary = assert_cmd::cargo::cargo_bin("imsform");
    let mut child = std::process::Command::new(&binary)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--access-key",
            "AKCLI000000000000000",
            "--secret-key",
            "s3cret",
            "--region",
            "eu-west-0",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let keys: Vec<&str> = line
        .trim()
        .trim_matches(['{', '}'])
        .split(',')
        .map(|kv| kv.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "\"endpoint\"",
            "\"access_key\"",
            "\"secret_key\"",
            "\"project_id\"",
            "\"region\""
        ]
    );
    let info: Value = serde_json::from_str(&line).unwrap();
    assert!(
        info["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(info["access_key"], "AKCLI000000000000000");
    assert_eq!(info["region"], "eu-west-0");
    assert_eq!(info["project_id"].as_str().unwrap().len(), 32);

    assert_cmd::Command::new(&binary)
        .args(["emulator", "--listen", "0.0.0.0:8787"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("loopback only"));
}
