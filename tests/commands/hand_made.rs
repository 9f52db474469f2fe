//! The world of the `query` tests: an emulator with a replica region and a consumer project,
//! filled through its HTTP API as a team's hands would have (images registered concurrently,
//! a description, a member, a copy to the second region), and the small helpers the tests share.

use std::collections::BTreeMap;
use std::time::Duration;

use imsform::cloud::distribution::CopyToRegion;
use imsform::cloud::{CloudApi, CreateImage, ImageStatus, WatchConfig};
use imsform::manifest::model::DiskFormat;

use crate::support::{Cloud, Dir, Run};

pub const SOUTH: &str = "cn-south-1";
pub const CONSUMER: &str = "5f3c0e1d2b4a49f6a8e7c6d5b4a39281";
pub const PLAIN: usize = 200;

/// The images made by hand, by role.
pub struct HandMade {
    pub web: String,
    pub builds: Vec<String>,
    pub db: String,
    pub queued: String,
    pub copy: String,
}

pub fn cloud() -> Cloud {
    Cloud::start_with(|builder| {
        builder
            .region("cn-north-4")
            .region(SOUTH)
            .project_with_id("cn-north-4_consumer", CONSUMER)
            .image_quota(1000)
    })
}

/// A directory of `cloud` with no manifest yet, replica region `cn-south-1` configured.
pub fn empty_dir(cloud: &Cloud) -> Dir {
    let dir = Dir::new(&cloud.toml_with_regions(&[SOUTH]), "");
    std::fs::remove_file(dir.file("images.yaml")).unwrap();
    dir
}

fn create(name: &str, min_ram: u32, tags: &[(&str, &str)]) -> CreateImage {
    CreateImage {
        name: name.to_owned(),
        os_version: "Ubuntu 22.04 server 64bit".to_owned(),
        disk_format: DiskFormat::Qcow2,
        min_disk: 40,
        min_ram,
        protected: false,
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// Creates and registers every image of `creates` (from `bucket:<name>.qcow2`) concurrently,
/// and waits until none is `saving`.
async fn register_all(cloud: &Cloud, creates: Vec<CreateImage>) -> Vec<String> {
    let client = cloud.client();
    let made = futures_util::future::join_all(creates.iter().map(|create| async move {
        let image = client.create_metadata(create).await.unwrap();
        let url = format!("bucket:{}.qcow2", create.name);
        client.register(&image.id, &url).await.unwrap();
        image.id
    }))
    .await;
    for _ in 0..200 {
        let saving = client.images_in_status(&ImageStatus::Saving).await.unwrap();
        if saving.is_empty() {
            return made;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("registrations never finished");
}

pub async fn wait(cloud: &Cloud, job: &str) -> imsform::cloud::JobReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let cadence = WatchConfig::local(Some(Duration::from_millis(50)));
    let report = cloud.client().wait_job(job, &cadence, deadline).await;
    report.unwrap()
}

/// Fills the emulator as a team's hands would have.
pub fn fill(cloud: &Cloud) -> HandMade {
    cloud.block_on(async {
        let client = cloud.client();
        let mut creates = vec![
            create("web", 0, &[("team", "platform"), ("owner", "ops")]),
            create("build", 0, &[]),
            create("build", 0, &[]),
            create("db", 2048, &[]),
        ];
        creates.extend((0..PLAIN).map(|i| create(&format!("plain-{i:03}"), 0, &[])));
        let ids = register_all(cloud, creates).await;
        let (web, db) = (ids[0].clone(), ids[3].clone());
        let description = imsform::cloud::AttrUpdate::Description(Some("Web tier".into()));
        client.update(&web, &[description]).await.unwrap();
        let queued = client.create_metadata(&create("half-made", 0, &[])).await;
        let job = CloudApi::add_members(client, &web, &[CONSUMER.to_owned()]).await;
        wait(cloud, &job.unwrap()).await;
        let copy = CopyToRegion {
            name: "web".into(),
            description: Some("Web tier".into()),
            region: SOUTH.into(),
            project_name: SOUTH.into(),
            agency_name: "ims_admin_agency".into(),
        };
        let job = client.copy_to_region(&web, &copy).await.unwrap();
        let report = wait(cloud, &job).await;
        HandMade {
            web,
            builds: ids[1..3].to_vec(),
            db,
            queued: queued.unwrap().id,
            copy: report.job.image_id.expect("the copy's id"),
        }
    })
}

pub fn query(cloud: &Cloud, dir: &Dir, args: &[&str]) -> Run {
    let mut all = vec!["query", "--no-color"];
    all.extend(args);
    cloud.run(dir, &all)
}

/// Requests served by route since `before`, for the routes that moved.
pub fn served_since(cloud: &Cloud, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let moved = |(route, n): (String, u64)| {
        let since = n - before.get(&route).copied().unwrap_or(0);
        (since > 0).then_some((route, since))
    };
    cloud
        .emulator
        .stats()
        .into_iter()
        .filter_map(moved)
        .collect()
}
