//! The emulator's OBS over loopback HTTP: raw signed requests for what the client never sends
//! (another storage class, ranges, a bucket of another region), the registration checks IMS
//! makes of the object, `--bucket` on the command line, and objects kept across a restart.

use std::time::Duration;

use imsform::emulator::Emulator;
use imsform::obs::{Family, sign};

use super::support::*;

/// Sends a path-style OBS request signed with `secret` in `family`'s dialect.
async fn obs(
    base: &str,
    (access_key, secret): (&str, &str),
    (method, path, query): (&str, &str, &[(&str, &str)]),
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let family = if headers.iter().any(|(name, _)| name.starts_with("x-amz-")) {
        Family::Aws
    } else {
        Family::Obs
    };
    let date = chrono::Utc::now().format(sign::DATE_FORMAT).to_string();
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.push(("Date".into(), date));
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let resource = sign::with_sub_resources(path.to_owned(), &query, family);
    let to_sign = sign::string_to_sign(method, &pairs, family, &resource);
    let authorization = sign::authorization(family, access_key, &sign::signature(secret, &to_sign));
    let mut url = format!("{base}{path}");
    if !query.is_empty() {
        let text: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        url = format!("{url}?{}", text.join("&"));
    }
    let mut request = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .header("Authorization", authorization)
        .body(body);
    for (name, value) in pairs {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

fn keys(emulator: &Emulator) -> (&str, &str) {
    (emulator.access_key(), emulator.secret_key())
}

async fn put(emulator: &Emulator, base: &str, key: &str, class: &str, body: &[u8]) {
    let path = format!("/images/{key}");
    let headers = [
        ("x-obs-storage-class", class),
        ("Content-Type", "application/octet-stream"),
    ];
    let reply = obs(
        base,
        keys(emulator),
        ("PUT", &path, &[]),
        &headers,
        body.to_vec(),
    )
    .await;
    assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
}

/// Registers `url` on a new image and waits for the job's end.
async fn register(api: &Api, url: &str) -> serde_json::Value {
    let id = api.create_ok(&format!("img-{}", url.len())).await;
    let reply = api.register(&id, url).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.wait_job(reply.body["job_id"].as_str().unwrap()).await
}

#[tokio::test]
async fn registration_checks_the_object_as_ims_does_for_buckets_it_serves() {
    let builder = Emulator::builder()
        .region("cn-north-4")
        .region("ap-southeast-1")
        .bucket("images")
        .bucket_in("ap-southeast-1", "sg-images")
        .job_duration(Duration::from_millis(50));
    let api = Api::start(builder).await;
    let base = api.emulator.obs_uri();
    put(&api.emulator, &base, "ok.qcow2", "STANDARD", b"disk").await;
    put(&api.emulator, &base, "warm.qcow2", "WARM", b"disk").await;
    let sg = api.emulator.obs_uri_of("ap-southeast-1").unwrap();
    let path = "/sg-images/far.qcow2";
    let reply = obs(
        &sg,
        keys(&api.emulator),
        ("PUT", path, &[]),
        &[],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(reply.status(), 200);
    let job = register(&api, "images:ok.qcow2").await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    for (url, code) in [
        ("images:missing.qcow2", "IMG.0057"),
        ("images:warm.qcow2", "IMG.0058"),
        ("sg-images:far.qcow2", "IMG.0058"),
    ] {
        let job = register(&api, url).await;
        assert_eq!(
            (job["status"].as_str(), job["error_code"].as_str()),
            (Some("FAIL"), Some(code)),
            "{url}: {job}"
        );
    }
    let elsewhere = register(&api, "not-served:any.qcow2").await;
    assert_eq!(
        elsewhere["status"], "SUCCESS",
        "buckets it does not serve register as before"
    );
}

#[tokio::test]
async fn objects_read_back_whole_or_by_range_with_metadata_and_class() {
    let emulator = Emulator::builder().bucket("images").start().await.unwrap();
    let base = emulator.obs_uri();
    let headers = [
        ("x-obs-meta-imsform-sha256", "abc"),
        ("x-obs-storage-class", "COLD"),
    ];
    let reply = obs(
        &base,
        keys(&emulator),
        ("PUT", "/images/a%20b.raw", &[]),
        &headers,
        b"0123456789".to_vec(),
    )
    .await;
    assert_eq!(reply.status(), 200);
    let head = obs(
        &base,
        keys(&emulator),
        ("HEAD", "/images/a%20b.raw", &[]),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(head.headers()["content-length"], "10");
    assert_eq!(head.headers()["x-obs-meta-imsform-sha256"], "abc");
    assert_eq!(head.headers()["x-obs-storage-class"], "COLD");
    let range = [("Range", "bytes=2-4")];
    let part = obs(
        &base,
        keys(&emulator),
        ("GET", "/images/a%20b.raw", &[]),
        &range,
        Vec::new(),
    )
    .await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 2-4/10");
    assert_eq!(part.bytes().await.unwrap().as_ref(), b"234");
    let aws = [("x-amz-meta-k", "v")];
    let reply = obs(
        &base,
        keys(&emulator),
        ("PUT", "/images/s3.raw", &[]),
        &aws,
        b"s3".to_vec(),
    )
    .await;
    assert_eq!(reply.status(), 200, "the S3 V2 dialect is accepted");
    assert!(reply.headers().contains_key("x-amz-request-id"));
    let missing = obs(
        &base,
        keys(&emulator),
        ("GET", "/images/none", &[]),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("<Code>NoSuchKey</Code>")
    );
    let nobucket = obs(
        &base,
        keys(&emulator),
        ("HEAD", "/other", &[]),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(nobucket.status(), 404);
    let wrong = obs(
        &base,
        (emulator.access_key(), "wrong"),
        ("GET", "/images/s3.raw", &[]),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(wrong.status(), 403);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("SignatureDoesNotMatch")
    );
    let chunked = [("Content-Encoding", "aws-chunked")];
    let refused = obs(
        &base,
        keys(&emulator),
        ("PUT", "/images/c.raw", &[]),
        &chunked,
        b"x".to_vec(),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert_eq!(emulator.stats()["GET /{bucket}/{object}"], 3);
}

#[tokio::test]
async fn buckets_of_other_regions_redirect_and_the_cli_creates_buckets_per_region() {
    let (mut child, line) = emulator_process(&[
        "--listen",
        "127.0.0.1:0",
        "--region",
        "cn-north-4",
        "--region",
        "ap-southeast-1",
        "--bucket",
        "images",
        "--bucket",
        "ap-southeast-1:sg-images",
    ]);
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let keys = (
        info["access_key"].as_str().unwrap(),
        info["secret_key"].as_str().unwrap(),
    );
    let home = info["obs_endpoint"].as_str().unwrap().to_owned();
    let sg = info["regions"]["ap-southeast-1"]["obs_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let head = |base: String, path: &'static str| async move {
        obs(&base, keys, ("HEAD", path, &[]), &[], Vec::new())
            .await
            .status()
            .as_u16()
    };
    let statuses = [
        head(home.clone(), "/images").await,
        head(sg.clone(), "/sg-images").await,
        head(home.clone(), "/sg-images").await,
        head(sg, "/images").await,
    ];
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(statuses, [200, 200, 301, 301]);
}

#[tokio::test]
async fn objects_survive_a_restart_beside_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("world.json");
    let builder = || {
        Emulator::builder()
            .credentials("AKOBSPERSIST00000000", "sk")
            .bucket("images")
            .data_file(&data)
    };
    let emulator = builder().start().await.unwrap();
    put(
        &emulator,
        &emulator.obs_uri(),
        "kept.raw",
        "STANDARD",
        b"kept",
    )
    .await;
    emulator.shutdown().await;
    assert!(dir.path().join("world.obs").is_dir());
    let emulator = builder().start().await.unwrap();
    let base = emulator.obs_uri();
    let reply = obs(
        &base,
        keys(&emulator),
        ("GET", "/images/kept.raw", &[]),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.bytes().await.unwrap().as_ref(), b"kept");
}
