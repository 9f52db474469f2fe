//! Lists 10,000 private images from the emulator over loopback HTTP and prints the number of
//! list requests and the wall time (design.md section 7: at most ceil(images / page size) + 2
//! list requests). Seeding goes through the client's own create calls. `cargo bench --bench list`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imsform::cloud::{Client, CloudApi, CreateImage};
use imsform::emulator::Emulator;

// The fixtures file is shared with the executor's unit tests, which name these modules through
// `crate::`.
use imsform::{cloud, emulator, manifest};

#[path = "../src/cloud/emulated.rs"]
mod emulated;

use emulated::{client_of, ubuntu_image};

const IMAGES: usize = 10_000;
const IN_FLIGHT: usize = 32;
const ROUNDS: usize = 5;

fn image(index: usize) -> CreateImage {
    CreateImage {
        min_ram: 1024,
        tags: BTreeMap::from([
            ("team".to_owned(), "platform".to_owned()),
            ("imsform-token".to_owned(), format!("BENCH{index:05}")),
        ]),
        ..ubuntu_image(&format!("bench-{index:05}"))
    }
}

async fn seed(cloud: &Arc<Client>) {
    let mut tasks: tokio::task::JoinSet<Result<(), imsform::cloud::CloudError>> =
        tokio::task::JoinSet::new();
    for index in 0..IMAGES {
        if tasks.len() >= IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            done.expect("seeding task").expect("create");
        }
        let cloud = cloud.clone();
        tasks.spawn(async move { cloud.create_metadata(&image(index)).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("seeding task").expect("create");
    }
}

#[tokio::main]
async fn main() {
    let emulator = Emulator::builder()
        .image_quota(IMAGES + 1)
        .start()
        .await
        .expect("emulator");
    let cloud = Arc::new(client_of(&emulator));
    let started = Instant::now();
    seed(&cloud).await;
    println!("seeded {IMAGES} images in {:.2?}", started.elapsed());

    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..ROUNDS {
        let before = cloud.requests_sent();
        let lists_before = emulator
            .stats()
            .get("GET /v2/cloudimages")
            .copied()
            .unwrap_or(0);
        let started = Instant::now();
        let images = cloud.list_private_images().await.expect("list");
        let elapsed = started.elapsed();
        let lists = emulator
            .stats()
            .get("GET /v2/cloudimages")
            .copied()
            .unwrap_or(0)
            - lists_before;
        assert_eq!(images.len(), IMAGES);
        println!(
            "listed {} images: {} requests sent ({lists} list requests at the emulator, bound {}), {elapsed:.2?}",
            images.len(),
            cloud.requests_sent() - before,
            IMAGES.div_ceil(cloud.page_size()) + 2,
        );
        times.push(elapsed);
    }
    times.sort();
    parse_only(&emulator);
    println!(
        "list wall time over {ROUNDS} rounds: min {:.2?}, median {:.2?}",
        times[0],
        times[ROUNDS / 2]
    );
}

/// The client's share: parsing the same 10,000 images as ten 1000-image pages, no HTTP.
fn parse_only(emulator: &Emulator) {
    let rendered = emulator.images();
    let pages: Vec<serde_json::Value> = rendered
        .chunks(1000)
        .map(|chunk| serde_json::json!({ "images": chunk }))
        .collect();
    let bytes: Vec<Vec<u8>> = pages
        .iter()
        .map(|page| page.to_string().into_bytes())
        .collect();
    let started = Instant::now();
    let mut parsed = 0;
    for body in &bytes {
        let value: serde_json::Value = serde_json::from_slice(body).expect("json");
        parsed += imsform::cloud::wire::parse_page(&value, 1000)
            .expect("page")
            .images
            .len();
    }
    println!(
        "client-side parse of {parsed} images ({} KiB of JSON): {:.2?}",
        bytes.iter().map(Vec::len).sum::<usize>() / 1024,
        started.elapsed()
    );
}
