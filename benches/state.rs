//! The cost of one apply step's save, by backend and by the number of managed images
//! (design.md section 9: a save should cost the same at 100 images and at 10,000). For each
//! size the state is stored once, then the create protocol's four saves are repeated (journal
//! the intent, record the image id, record the job id, move the image into `images`), each
//! timed around `Store::save`. Prints the median and the 90th percentile per save; asserts
//! nothing. PostgreSQL comes from `tests/pg/server.rs` (a throwaway server when none is
//! configured). `IMSFORM_BENCH_STEPS` (default 50 creates) scales it.

#[path = "../tests/pg/server.rs"]
#[allow(
    dead_code,
    reason = "the bench needs the server's address, not its TLS port"
)]
mod server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use imsform::manifest::model::Address;
use imsform::state::backend::pg::{FileSettings, Settings};
use imsform::state::{
    ImageRecord, Location, LockOptions, PendingEntry, PendingOperation, State, Store,
};

fn record(i: usize) -> ImageRecord {
    serde_json::from_value(serde_json::json!({
        "id": format!("{:08x}-0000-4000-8000-{:012x}", i, i),
        "attributes": {
            "name": format!("bench-image-{i}"),
            "image_url": format!("platform-images:bench/{i}/disk-2026.11.qcow2"),
            "os_version": "Ubuntu 22.04 server 64bit",
            "disk_format": "qcow2",
            "min_disk": 40,
            "min_ram": 1024,
            "description": "an image of the benchmark fleet",
            "tags": { "team": "platform", "tier": "base", "managed-by": "imsform" },
            "protected": false
        },
        "observed": { "status": "active", "checksum": "0123456789abcdef", "size": 2147483648u64,
                      "updated_at": "2026-11-30T10:00:00Z" }
    }))
    .expect("a valid record")
}

fn fleet(lineage: &str, images: usize) -> State {
    let mut state = State::new(lineage.to_owned());
    state.images = (0..images)
        .map(|i| (Address::from_key(&format!("img-{i}")), record(i)))
        .collect::<BTreeMap<_, _>>();
    state
}

/// The four saves of `steps` creates, timed.
fn create_steps(store: &mut Store, base: usize, steps: usize) -> Vec<Duration> {
    let mut state = store.state_or_new();
    let mut times = Vec::with_capacity(steps * 4);
    let mut timed = |store: &mut Store, state: &State| {
        let started = Instant::now();
        store.save(state).expect("save");
        times.push(started.elapsed());
    };
    for step in 0..steps {
        let i = base + step;
        let address = Address::from_key(&format!("new-{i}"));
        let attributes = Box::new(record(i).attributes);
        state.pending.push(PendingEntry {
            address: address.clone(),
            operation: PendingOperation::Create {
                token: format!("{:026}", i),
                attributes,
                image_id: None,
                job_id: None,
                replaces: None,
            },
            started_at: "2026-12-02T10:00:00Z".to_owned(),
        });
        timed(store, &state);
        for field in 0..2 {
            if let Some(PendingOperation::Create {
                image_id, job_id, ..
            }) = state.pending.last_mut().map(|entry| &mut entry.operation)
            {
                *if field == 0 { image_id } else { job_id } = Some(format!("id-{i}"));
            }
            timed(store, &state);
        }
        state.pending.pop();
        state.images.insert(address, record(i));
        timed(store, &state);
    }
    times
}

fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn main() {
    let steps = std::env::var("IMSFORM_BENCH_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().expect("a temp dir");
    let pg = server::server().map(|server| {
        let file = FileSettings {
            conn_str: Some(server.url.clone()),
            schema: Some("bench".to_owned()),
            workspace: None,
        };
        let env = |name: &str| match name {
            "PGPASSWORD" => server.password.clone(),
            _ => None,
        };
        Settings::resolve(&file, &env).expect("the bench server's settings")
    });
    println!(
        "one apply step's save (median / p90 of {} saves per row)",
        steps * 4
    );
    println!("| backend | managed images | median | p90 |");
    println!("| --- | --- | --- | --- |");
    for images in [100, 10_000] {
        let mut locations = vec![(
            "local file",
            Location::Local(dir.path().join(format!("state-{images}.json"))),
        )];
        if let Some(settings) = &pg {
            let mut settings = settings.clone();
            settings.workspace = format!("bench-{images}-{}", std::process::id());
            locations.push(("postgresql", Location::Pg(settings)));
        }
        for (name, location) in locations {
            let lock = LockOptions {
                operation: "bench",
                timeout: None,
            };
            let mut store = Store::open_at(&location, lock).expect("open");
            let lineage = store.state_or_new().lineage;
            store
                .save(&fleet(&lineage, images))
                .expect("the first save");
            let (median, p90) = summary(create_steps(&mut store, images, steps));
            println!("| {name} | {images} | {median:.2?} | {p90:.2?} |");
        }
    }
}
