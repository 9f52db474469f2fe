//! The test DSL: a client that signs every request with `imsform::sign::sign` exactly as the
//! real client does, with knobs to break the signature on purpose, and small assertions.

use std::time::Duration;

use imsform::emulator::{Emulator, Pagination};
use imsform::sign;
use serde_json::{Value, json};

pub const URL: &str = "my-bucket:images/web.qcow2";

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["error_code"].as_str())
            .unwrap_or("")
    }

    pub fn request_id(&self) -> String {
        self.headers["x-request-id"].to_str().unwrap().to_owned()
    }
}

/// A signing client with knobs to break the signature on purpose.
pub struct Api {
    pub emulator: Emulator,
    pub http: reqwest::Client,
    pub access_key: String,
    pub secret_key: String,
    pub project: Option<String>,
    pub security_token: Option<String>,
    pub auth_token: Option<String>,
    pub date: Option<String>,
    /// Sent instead of the signed body, to break the signature.
    pub tamper: Option<Vec<u8>>,
    /// The region whose endpoint requests go to (the first region when `None`).
    pub region: Option<String>,
}

impl Api {
    pub fn new(emulator: Emulator) -> Self {
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
            region: None,
        }
    }

    /// The endpoint requests go to.
    pub fn base(&self) -> String {
        match &self.region {
            Some(region) => self.emulator.uri_of(region).expect("a served region"),
            None => self.emulator.uri(),
        }
    }

    /// Acts as the project named `name` (a region's default project is named like the region)
    /// through the endpoint of its `region`.
    pub fn act_as(&mut self, name: &str, region: &str) {
        self.project = self.emulator.project_named(name).map(str::to_owned);
        self.region = Some(region.to_owned());
    }

    pub async fn start(builder: imsform::emulator::EmulatorBuilder) -> Self {
        Api::new(builder.start().await.unwrap())
    }

    pub async fn fast() -> Self {
        Api::start(
            Emulator::builder()
                .job_duration(Duration::from_millis(100))
                .delete_linger(Duration::from_millis(100)),
        )
        .await
    }

    pub async fn send(
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

    pub async fn send_raw(
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
    pub async fn try_send(
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
            (
                "Host".to_owned(),
                self.base().trim_start_matches("http://").to_owned(),
            ),
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
        let mut url = format!("{}{}", self.base(), path);
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

    /// The first region's default project.
    pub fn pid(&self) -> String {
        self.emulator.project_id().to_owned()
    }

    /// The project requests act as.
    pub fn acting(&self) -> String {
        self.project.clone().unwrap_or_default()
    }

    pub async fn create(&self, body: Value) -> Reply {
        self.send("POST", "/v2/images", &[], Some(&body)).await
    }

    pub async fn create_ok(&self, name: &str) -> String {
        let reply = self
            .create(
                json!({"name": name, "__os_version": "Ubuntu 22.04 server 64bit", "min_disk": 40}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn register(&self, id: &str, url: &str) -> Reply {
        self.send(
            "PUT",
            &format!("/v1/cloudimages/{id}/upload"),
            &[],
            Some(&json!({"image_url": url})),
        )
        .await
    }

    pub async fn job(&self, job: &str) -> Reply {
        self.send(
            "GET",
            &format!("/v1/{}/jobs/{job}", self.acting()),
            &[],
            None,
        )
        .await
    }

    /// Polls the job until it ends; returns the final job JSON.
    pub async fn wait_job(&self, job: &str) -> Value {
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

    pub async fn active(&self, name: &str) -> String {
        let id = self.create_ok(name).await;
        let reply = self.register(&id, URL).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let job = reply.body["job_id"].as_str().unwrap().to_owned();
        assert_eq!(self.wait_job(&job).await["status"], "SUCCESS");
        id
    }

    pub async fn image(&self, id: &str) -> Option<Value> {
        let reply = self
            .send("GET", "/v2/cloudimages", &[("id", id)], None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["images"].as_array().unwrap().first().cloned()
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__emulator/{path}", self.emulator.uri());
        let mut request = self.http.request(method.parse().unwrap(), url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        assert_eq!(response.headers()["x-request-id"].len(), 32);
        response.json().await.unwrap_or(Value::Null)
    }
}

pub async fn ids(api: &Api, path: &str, query: &[(&str, &str)]) -> Vec<String> {
    let reply = api.send("GET", path, query, None).await;
    assert_eq!(reply.status, 200, "{query:?}: {}", reply.body);
    reply.body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `marker` of a `next` link.
pub fn marker_of(link: &str) -> String {
    let query = link.split_once('?').unwrap().1;
    sign::parse_query(query)
        .into_iter()
        .find(|(k, _)| k == "marker")
        .unwrap()
        .1
}

pub async fn world_of(pagination: Pagination, count: usize) -> (Api, Vec<String>) {
    let api = Api::start(Emulator::builder().pagination(pagination)).await;
    let mut all = Vec::new();
    for i in 0..count {
        all.push(api.create_ok(&format!("img-{i:02}")).await);
    }
    all.sort();
    (api, all)
}

pub fn assert_gateway(reply: &Reply, status: u16, code: &str) {
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

pub async fn statuses(api: &Api, count: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(api.send("GET", "/v2/cloudimages", &[], None).await.status);
    }
    out
}

/// Starts `imsform emulator ARGS` and reads its start-up line; the caller stops it.
pub fn emulator_process(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let binary = assert_cmd::cargo::cargo_bin("imsform");
    let mut child = std::process::Command::new(&binary)
        .arg("emulator")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// Runs `imsform emulator ARGS`, reads its start-up line, and stops it.
pub fn startup_line(args: &[&str]) -> String {
    let (mut child, line) = emulator_process(args);
    child.kill().unwrap();
    child.wait().unwrap();
    line
}
