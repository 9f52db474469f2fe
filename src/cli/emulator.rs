//! `imsform emulator`: run the local IMS emulator in the foreground until Ctrl-C (or SIGTERM),
//! then shut down gracefully.
//!
//! Once it accepts connections it prints exactly one JSON line on stdout with the endpoint and
//! the credentials to use (generated when not given), and the first region's OBS endpoint, so
//! scripts can read it. With several regions or projects the line also lists every region's
//! IMS and OBS endpoints and every project.

use serde_json::json;

use crate::cli::Outcome;
use crate::cli::args::{EmulatorArgs, GlobalArgs, PaginationStyle};
use crate::emulator::{self, Emulator, Pagination};
use crate::error::Error;

fn pagination(style: PaginationStyle) -> Pagination {
    match style {
        PaginationStyle::PageInfo => Pagination::PageInfo,
        PaginationStyle::Next => Pagination::Next,
        PaginationStyle::None => Pagination::None,
    }
}

pub async fn run(_global: &GlobalArgs, args: EmulatorArgs) -> Result<Outcome, Error> {
    let listen = emulator::loopback_address(&args.listen)?;
    let mut builder = Emulator::builder()
        .listen(listen)
        .job_duration(args.job_duration)
        .pagination(pagination(args.pagination))
        .image_quota(args.image_quota);
    if let (Some(access_key), Some(secret_key)) = (&args.access_key, &args.secret_key) {
        builder = builder.credentials(access_key, secret_key);
    }
    if let Some(project_id) = &args.project_id {
        builder = builder.project_id(project_id);
    }
    if let Some(data) = &args.data {
        builder = builder.data_file(data);
    }
    for region in &args.regions {
        builder = builder.region(region);
    }
    for project in &args.projects {
        builder = builder.project(project);
    }
    for bucket in &args.buckets {
        builder = match bucket.split_once(':') {
            Some((region, name)) => builder.bucket_in(region, name),
            None => builder.bucket(bucket),
        };
    }
    let running = builder.start().await?;
    // The one line scripts read: the secret key is printed on purpose, it is the emulator's own
    // throwaway credential (or the one the caller passed in).
    let fields = [
        ("endpoint", running.uri()),
        ("access_key", running.access_key().to_owned()),
        ("secret_key", running.secret_key().to_owned()),
        ("project_id", running.project_id().to_owned()),
        ("region", running.region().to_owned()),
        ("obs_endpoint", running.obs_uri()),
    ];
    // Built by hand to keep the documented key order (serde_json sorts object keys).
    let mut line = fields
        .iter()
        .map(|(key, value)| format!("{}:{}", json!(key), json!(value)))
        .collect::<Vec<_>>()
        .join(",");
    if running.projects().len() > 1 {
        line.push_str(&format!(
            ",\"regions\":{},\"projects\":{}",
            regions(&running),
            json!(running.projects())
        ));
    }
    println!("{{{line}}}");
    interrupted().await.map_err(|source| Error::Io {
        context: "waiting for Ctrl-C".to_owned(),
        source,
    })?;
    eprintln!("imsform emulator: shutting down");
    running.shutdown().await;
    Ok(Outcome::Success)
}

/// `{"REGION": {"endpoint", "project_id", "obs_endpoint"}}` for every region.
fn regions(running: &Emulator) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = running
        .endpoints()
        .into_iter()
        .map(|(region, endpoint)| {
            let project_id = running.project_named(&region).unwrap_or_default();
            let obs_endpoint = running.obs_uri_of(&region).unwrap_or_default();
            let entry = json!({
                "endpoint": endpoint,
                "project_id": project_id,
                "obs_endpoint": obs_endpoint,
            });
            (region, entry)
        })
        .collect();
    serde_json::Value::Object(map)
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn interrupted() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
