//! The cost of one apply step's save, by backend and by the number of managed images
//! (design.md section 9: a save should cost the same at 100 images and at 10,000). For each
//! size the state is stored once, then the create protocol's four saves are repeated (journal
//! the intent, record the image id, record the job id, move the image into `images`), each
//! timed around `Store::change` (how the apply saves a step: the edit and the save of only the
//! records it touched) and, for comparison, around `Store::save` of the whole state (how
//! `state mv`/`rm` and `import` save). Prints the median and the 90th percentile per save; asserts
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
    Edit, ImageRecord, Location, LockOptions, PendingEntry, PendingOperation, State, Store, edit,
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

/// How a step reaches the store.
#[derive(Clone, Copy)]
enum Path {
    /// `Store::change`, as the apply saves each step: only the touched records.
    Change,
    /// `Store::save` of the whole new state, compared with the last commit (state mv/rm, import).
    Save,
}

/// One step's edit of the state.
type Step = Box<dyn Fn(&mut Edit<'_>)>;

/// The create protocol's four edits for image `i`.
fn create_protocol(i: usize) -> [Step; 4] {
    let token = format!("{:026}", i);
    let set = |field: usize, token: String| -> Step {
        Box::new(move |edit| {
            let entry = edit.pending_mut().iter_mut().find(|e| {
                matches!(&e.operation, PendingOperation::Create { token: t, .. } if *t == token)
            });
            if let Some(PendingEntry {
                operation:
                    PendingOperation::Create {
                        image_id, job_id, ..
                    },
                ..
            }) = entry
            {
                *if field == 0 { image_id } else { job_id } = Some(format!("id-{field}"));
            }
        })
    };
    let address = Address::from_key(&format!("new-{i}"));
    let entry = PendingEntry {
        address: address.clone(),
        operation: PendingOperation::Create {
            token: token.clone(),
            attributes: Box::new(record(i).attributes),
            image_id: None,
            job_id: None,
            replaces: None,
        },
        started_at: "2026-12-02T10:00:00Z".to_owned(),
    };
    let done = token.clone();
    [
        Box::new(move |edit| edit.pending_mut().push(entry.clone())),
        set(0, token.clone()),
        set(1, token),
        Box::new(move |edit| {
            edit.pending_mut().retain(|e| {
                !matches!(&e.operation, PendingOperation::Create { token: t, .. } if *t == done)
            });
            edit.insert_image(address.clone(), record(i));
        }),
    ]
}

/// The four saves of `steps` creates by `path`, each timed with its edit (for `Save`, the
/// caller's copy is edited first, outside the timing, as `Store::save` receives it made).
fn create_steps(store: &mut Store, path: Path, base: usize, steps: usize) -> Vec<Duration> {
    let mut state = match path {
        Path::Save => store.state_or_new(),
        Path::Change => State::new(String::new()),
    };
    let mut times = Vec::with_capacity(steps * 4);
    for step in 0..steps {
        for edit in create_protocol(base + step) {
            let started = match path {
                Path::Change => {
                    let started = Instant::now();
                    store.change(|state| edit(state)).expect("save");
                    started
                }
                Path::Save => {
                    edit::apply(&mut state, |state| edit(state));
                    let started = Instant::now();
                    store.save(&state).expect("save");
                    started
                }
            };
            times.push(started.elapsed());
        }
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
            ..FileSettings::default()
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
    println!("| backend | managed images | path | median | p90 |");
    println!("| --- | --- | --- | --- | --- |");
    for images in [100, 10_000] {
        for (path, label) in [
            (Path::Change, "Store::change (apply)"),
            (Path::Save, "Store::save (whole)"),
        ] {
            let mut locations = vec![(
                "local file",
                Location::Local(dir.path().join(format!("state-{images}-{label}.json"))),
            )];
            if let Some(settings) = &pg {
                let mut settings = settings.clone();
                let kind = matches!(path, Path::Save) as u8;
                settings.workspace = format!("bench-{images}-{kind}-{}", std::process::id());
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
                let times = create_steps(&mut store, path, images, steps);
                let (median, p90) = summary(times);
                println!("| {name} | {images} | {label} | {median:.2?} | {p90:.2?} |");
            }
        }
    }
}
