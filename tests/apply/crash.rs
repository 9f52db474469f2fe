//! The crash test: `imsform apply` killed with SIGKILL at random moments spread over a whole
//! apply (creates, updates, replaces in both orders, destroys, member jobs adding and removing
//! consumer projects, and cross-region copies created, renamed, replaced and deleted in a
//! second region), then applied again ONCE. That one apply must exit 0 and leave an empty
//! journal, a valid state and exactly the desired images in each region (no orphan, no
//! duplicate name, no leftover replaced image or copy) shared with exactly the desired
//! projects, and a plan after it must have no changes. `IMSFORM_CRASH_RUNS` sets the number of runs (default 50),
//! spread over `IMSFORM_CRASH_WORKERS` independent directories and emulators (default 4).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use imsform::state::{PendingOperation, State, Store};
use rand::Rng;

use crate::env::{CONSUMERS, SOUTH, TestEnv, image, manifest, text, two_regions, with_consumers};

const DBC: &str = "    lifecycle: { replace_order: destroy_before_create }\n";
const P1: &str = CONSUMERS[0];
const P2: &str = CONSUMERS[1];
const P3: &str = CONSUMERS[2];

fn share(projects: &[&str]) -> String {
    format!("    share_with: [{}]\n", projects.join(", "))
}

/// A replica in [`SOUTH`] (named like its source).
const COPY: &str = "    replicas: { ap-southeast-1: {} }\n";

/// What one generation asks for: its manifest, its images' names, and the names of their
/// copies in [`SOUTH`].
struct Generation {
    yaml: String,
    names: Vec<&'static str>,
    copies: Vec<&'static str>,
}

/// Two generations of manifests; each transition creates, updates, replaces (both orders) and
/// destroys, adds and removes members (of updated, replaced, created and kept images), and
/// creates, renames (with its source), replaces (with its source) and deletes copies.
fn generation(which: usize) -> Generation {
    if which.is_multiple_of(2) {
        let yaml = manifest(&[
            image(
                "a",
                "alpha",
                &format!(
                    "    description: first\n    tags: {{ v: one }}\n{}{COPY}",
                    share(&[P1, P2])
                ),
            ),
            image("b", "bravo", &share(&[P1])),
            image("c", "charlie", &format!("{DBC}{}{COPY}", share(&[P1]))),
            image("d", "delta", &format!("{}{COPY}", share(&[P2]))),
        ]);
        Generation {
            yaml,
            names: vec!["alpha", "bravo", "charlie", "delta"],
            copies: vec!["alpha", "charlie", "delta"],
        }
    } else {
        let yaml = manifest(&[
            image(
                "a",
                "alpha-2",
                &format!(
                    "    description: second\n    tags: {{ v: two, w: x }}\n{}{COPY}",
                    share(&[P2, P3])
                ),
            ),
            image("b", "bravo", "").replace("min_disk: 40", "min_disk: 60"),
            image("c", "charlie", &format!("{DBC}{}{COPY}", share(&[P1])))
                .replace("Ubuntu 22.04 server 64bit", "Debian GNU/Linux 12.0.0 64bit"),
            image("e", "echo", &format!("{}{COPY}", share(&[P3]))),
        ]);
        Generation {
            yaml,
            names: vec!["alpha-2", "bravo", "charlie", "echo"],
            copies: vec!["alpha-2", "charlie", "echo"],
        }
    }
}

/// The members each image name of a generation must have.
fn wanted_members(which: usize) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let entries: &[(&str, &[&str])] = if which.is_multiple_of(2) {
        &[
            ("alpha", &[P1, P2]),
            ("bravo", &[P1]),
            ("charlie", &[P1]),
            ("delta", &[P2]),
        ]
    } else {
        &[
            ("alpha-2", &[P2, P3]),
            ("bravo", &[]),
            ("charlie", &[P1]),
            ("echo", &[P3]),
        ]
    };
    entries
        .iter()
        .map(|(name, projects)| (*name, projects.iter().copied().collect()))
        .collect()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    runs: usize,
    orphans: usize,
    duplicates: usize,
    /// Images a create-before-destroy replaced that are still in the cloud.
    leftover_replaced: usize,
    invalid_states: usize,
    /// The one apply after the kill exited non-zero or left the journal non-empty.
    failed_applies: usize,
    /// The cloud did not hold exactly the desired names after the one apply.
    wrong_images: usize,
    /// A plan after the one apply still had changes: a second apply would have been needed.
    second_apply_needed: usize,
    /// Images whose members in the cloud or in the state differ from the manifests'.
    wrong_members: usize,
    /// Kills that left operations in the journal (the moments the recovery must handle).
    journaled: usize,
    /// Of those, kills that left a copy or a sharing change in the journal.
    journaled_copies: usize,
    journaled_members: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.runs += other.runs;
        self.orphans += other.orphans;
        self.duplicates += other.duplicates;
        self.leftover_replaced += other.leftover_replaced;
        self.invalid_states += other.invalid_states;
        self.failed_applies += other.failed_applies;
        self.wrong_images += other.wrong_images;
        self.second_apply_needed += other.second_apply_needed;
        self.wrong_members += other.wrong_members;
        self.journaled += other.journaled;
        self.journaled_copies += other.journaled_copies;
        self.journaled_members += other.journaled_members;
    }

    fn problems(&self) -> [usize; 8] {
        [
            self.wrong_members,
            self.orphans,
            self.duplicates,
            self.leftover_replaced,
            self.invalid_states,
            self.failed_applies,
            self.wrong_images,
            self.second_apply_needed,
        ]
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_then_one_apply_converges() {
    let runs = env_number("IMSFORM_CRASH_RUNS", 50);
    let workers = env_number("IMSFORM_CRASH_WORKERS", 4).clamp(1, runs.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let share = runs / workers + usize::from(worker < runs % workers);
        tasks.spawn(crash_worker(share));
    }
    let mut tally = Tally::default();
    while let Some(done) = tasks.join_next().await {
        tally.add(done.unwrap());
    }
    println!(
        "crash test: runs {} / orphans {} / duplicates {} / leftover replaced {} / invalid \
         states {} / failed single applies {} / wrong images {} / wrong members {} / second \
         apply needed {} ({} kills left a journal to recover, {} with a copy, {} with a sharing \
         change)",
        tally.runs,
        tally.orphans,
        tally.duplicates,
        tally.leftover_replaced,
        tally.invalid_states,
        tally.failed_applies,
        tally.wrong_images,
        tally.wrong_members,
        tally.second_apply_needed,
        tally.journaled,
        tally.journaled_copies,
        tally.journaled_members
    );
    assert_eq!(tally.runs, runs);
    assert_eq!(tally.problems(), [0; 8], "{tally:?}");
}

/// `runs` kill-and-recover cycles in one directory and emulator.
async fn crash_worker(runs: usize) -> Tally {
    let (builder, cloud) = two_regions();
    let builder = with_consumers(builder);
    let apply = "[apply]\nrequests_per_second = 200\njob_timeout = \"2m\"\n";
    let env = TestEnv::start_with(builder, Duration::from_millis(300), &cloud, apply).await;
    // Warm-up: both transitions once, uninterrupted, to learn how long an apply takes.
    let mut typical = Duration::ZERO;
    for which in 0..2 {
        env.manifest(&generation(which).yaml);
        let started = Instant::now();
        env.apply_converges().await;
        typical = typical.max(started.elapsed());
    }
    let mut tally = Tally::default();
    for run in 0..runs {
        let wanted = generation(run);
        env.manifest(&wanted.yaml);
        let delay = rand::rng().random_range(Duration::ZERO..=typical);
        env.apply_killed_after(delay).await;
        tally.add(check_run(&env, &wanted, &wanted_members(run)).await);
    }
    tally
}

/// The images and copies the journal says are being deleted or replaced.
fn being_replaced(state: &State) -> BTreeSet<String> {
    state
        .pending
        .iter()
        .filter_map(|entry| match &entry.operation {
            PendingOperation::Delete { image_id }
            | PendingOperation::DeleteReplica { image_id, .. } => Some(image_id.clone()),
            PendingOperation::Create { replaces, .. } | PendingOperation::Copy { replaces, .. } => {
                replaces.clone()
            }
            PendingOperation::Members { .. } => None,
        })
        .collect()
}

/// The live images' names in `region`, sorted, duplicates kept.
fn names_in(live: &BTreeMap<String, serde_json::Value>, region: &str) -> Vec<String> {
    let mut names: Vec<String> = live
        .values()
        .filter(|image| image["__emulator_region"] == region)
        .map(|image| image["name"].as_str().unwrap_or("").to_owned())
        .collect();
    names.sort_unstable();
    names
}

/// Recovers with ONE apply, then counts what is wrong.
async fn check_run(
    env: &TestEnv,
    wanted: &Generation,
    members: &BTreeMap<&str, BTreeSet<&str>>,
) -> Tally {
    let mut tally = Tally {
        runs: 1,
        ..Tally::default()
    };
    let state_path = env.path().join("imsform.state.json");
    let replaced = match Store::read(&state_path) {
        Ok(state) => {
            let pending = state.as_ref().map_or(&[][..], |s| s.pending.as_slice());
            let holds = |kind: fn(&PendingOperation) -> bool| {
                usize::from(pending.iter().any(|e| kind(&e.operation)))
            };
            tally.journaled = usize::from(!pending.is_empty());
            tally.journaled_copies = holds(|op| matches!(op, PendingOperation::Copy { .. }));
            tally.journaled_members = holds(|op| matches!(op, PendingOperation::Members { .. }));
            state.as_ref().map(being_replaced).unwrap_or_default()
        }
        Err(_) => {
            tally.invalid_states += 1;
            return tally;
        }
    };
    let apply = env.run(&["apply", "--auto-approve"]).await;
    let Ok(Some(state)) = Store::read(&state_path) else {
        tally.invalid_states += 1;
        return tally;
    };
    if !apply.status.success() || !state.pending.is_empty() {
        eprintln!(
            "single apply failed: {}\npending {:?}",
            text(&apply),
            state.pending
        );
        tally.failed_applies += 1;
    }
    let live = env.live_images();
    let copies = state.images.values().flat_map(|r| r.replicas.values());
    let known: BTreeSet<&String> = state
        .images
        .values()
        .map(|r| &r.id)
        .chain(copies.map(|c| &c.id))
        .collect();
    tally.orphans = live.keys().filter(|id| !known.contains(id)).count();
    tally.leftover_replaced = live.keys().filter(|id| replaced.contains(*id)).count();
    for (region, expected) in [("cn-north-4", &wanted.names), (SOUTH, &wanted.copies)] {
        let names = names_in(&live, region);
        let mut distinct = names.clone();
        distinct.dedup();
        tally.duplicates += names.len() - distinct.len();
        let mut expected = expected.clone();
        expected.sort_unstable();
        if distinct != expected {
            eprintln!("wrong images in {region}: {names:?} vs {expected:?}");
            tally.wrong_images += 1;
        }
    }
    tally.wrong_members = wrong_members(&live, &state, members);
    let plan = env.run(&["plan", "--detailed-exitcode"]).await;
    if plan.status.code() != Some(0) {
        eprintln!("a second apply would be needed: {}", text(&plan));
        tally.second_apply_needed += 1;
    }
    tally
}

/// The state's images whose members, in the cloud or as recorded, are not the manifests'.
fn wrong_members(
    live: &BTreeMap<String, serde_json::Value>,
    state: &State,
    wanted: &BTreeMap<&str, BTreeSet<&str>>,
) -> usize {
    let mut wrong = 0;
    for record in state.images.values() {
        let expected: BTreeSet<String> = wanted
            .get(record.attributes.name.as_str())
            .map(|projects| projects.iter().map(|p| (*p).to_owned()).collect())
            .unwrap_or_default();
        let shared = live
            .get(&record.id)
            .map(|i| i["__emulator_members"].clone());
        let live: BTreeSet<String> = shared
            .as_ref()
            .and_then(|m| m.as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if live != expected || record.attributes.share_with != expected {
            eprintln!(
                "wrong members of {}: cloud {live:?}, state {:?}, wanted {expected:?}",
                record.attributes.name, record.attributes.share_with
            );
            wrong += 1;
        }
    }
    wrong
}
