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
