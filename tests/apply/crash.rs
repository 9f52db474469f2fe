//! The crash test: `imsform apply` killed with SIGKILL at random moments spread over a whole
//! apply (creates, updates, replaces in both orders, destroys, member jobs adding and removing
//! consumer projects), then applied again ONCE. That one apply must exit 0 and leave an empty
//! journal, a valid state and exactly the desired images (no orphan, no duplicate name, no
//! leftover replaced image) shared with exactly the desired projects, and a plan after it must
//! have no changes. `IMSFORM_CRASH_RUNS` sets the number of runs (default 50),
//! spread over `IMSFORM_CRASH_WORKERS` independent directories and emulators (default 4).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use imsform::state::{PendingOperation, State, Store};
use rand::Rng;

use crate::env::{CONSUMERS, TestEnv, image, manifest, text};

const DBC: &str = "    lifecycle: { replace_order: destroy_before_create }\n";
const P1: &str = CONSUMERS[0];
const P2: &str = CONSUMERS[1];
const P3: &str = CONSUMERS[2];

fn share(projects: &[&str]) -> String {
    format!("    share_with: [{}]\n", projects.join(", "))
}

/// Two generations of manifests; each transition creates, updates, replaces (both orders) and
/// destroys, and adds and removes members (of updated, replaced, created and kept images).
fn generation(which: usize) -> (String, Vec<&'static str>) {
    if which.is_multiple_of(2) {
        let yaml = manifest(&[
            image(
                "a",
                "alpha",
                &format!(
                    "    description: first\n    tags: {{ v: one }}\n{}",
                    share(&[P1, P2])
                ),
            ),
            image("b", "bravo", &share(&[P1])),
            image("c", "charlie", &format!("{DBC}{}", share(&[P1]))),
            image("d", "delta", &share(&[P2])),
        ]);
        (yaml, vec!["alpha", "bravo", "charlie", "delta"])
    } else {
        let yaml = manifest(&[
            image(
                "a",
                "alpha-2",
                &format!(
                    "    description: second\n    tags: {{ v: two, w: x }}\n{}",
                    share(&[P2, P3])
                ),
            ),
            image("b", "bravo", "").replace("min_disk: 40", "min_disk: 60"),
            image("c", "charlie", &format!("{DBC}{}", share(&[P1])))
                .replace("Ubuntu 22.04 server 64bit", "Debian GNU/Linux 12.0.0 64bit"),
            image("e", "echo", &share(&[P3])),
        ]);
        (yaml, vec!["alpha-2", "bravo", "charlie", "echo"])
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
         apply needed {} ({} kills left a journal to recover)",
        tally.runs,
        tally.orphans,
        tally.duplicates,
        tally.leftover_replaced,
        tally.invalid_states,
        tally.failed_applies,
        tally.wrong_images,
        tally.wrong_members,
        tally.second_apply_needed,
        tally.journaled
    );
    assert_eq!(tally.runs, runs);
    assert_eq!(tally.problems(), [0; 8], "{tally:?}");
}

/// `runs` kill-and-recover cycles in one directory and emulator.
async fn crash_worker(runs: usize) -> Tally {
    let env = TestEnv::new().await;
    // Warm-up: both transitions once, uninterrupted, to learn how long an apply takes.
    let mut typical = Duration::ZERO;
    for which in 0..2 {
        env.manifest(&generation(which).0);
        let started = Instant::now();
        env.apply_converges().await;
        typical = typical.max(started.elapsed());
    }
    let mut tally = Tally::default();
    for run in 0..runs {
        let (yaml, names) = generation(run);
        env.manifest(&yaml);
        let delay = rand::rng().random_range(Duration::ZERO..=typical);
        env.apply_killed_after(delay).await;
        tally.add(check_run(&env, &names, &wanted_members(run)).await);
    }
    tally
}

/// The images the journal says are being deleted or replaced.
fn being_replaced(state: &State) -> BTreeSet<String> {
    state
        .pending
        .iter()
        .filter_map(|entry| match &entry.operation {
            PendingOperation::Delete { image_id } => Some(image_id.clone()),
            PendingOperation::Create { replaces, .. } => replaces.clone(),
            // Images of other regions: these tests have no replicas.
            PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => None,
            PendingOperation::Members { .. } => None,
        })
        .collect()
}

/// Recovers with ONE apply, then counts what is wrong.
async fn check_run(
    env: &TestEnv,
    names: &[&str],
    members: &BTreeMap<&str, BTreeSet<&str>>,
) -> Tally {
    let mut tally = Tally {
        runs: 1,
        ..Tally::default()
    };
    let state_path = env.path().join("imsform.state.json");
    let replaced = match Store::read(&state_path) {
        Ok(state) => {
            tally.journaled = usize::from(state.as_ref().is_some_and(|s| !s.pending.is_empty()));
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
    let known: BTreeSet<&String> = state.images.values().map(|r| &r.id).collect();
    tally.orphans = live.keys().filter(|id| !known.contains(id)).count();
    tally.leftover_replaced = live.keys().filter(|id| replaced.contains(*id)).count();
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for image in live.values() {
        *by_name
            .entry(image["name"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    tally.duplicates = by_name.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let live_names: Vec<&str> = by_name.keys().copied().collect();
    let mut wanted = names.to_vec();
    wanted.sort_unstable();
    if live_names != wanted {
        eprintln!("wrong images: {live_names:?} vs {wanted:?}");
        tally.wrong_images += 1;
    }
    tally.wrong_members = wrong_members(env, &state, members);
    let plan = env.run(&["plan", "--detailed-exitcode"]).await;
    if plan.status.code() != Some(0) {
        eprintln!("a second apply would be needed: {}", text(&plan));
        tally.second_apply_needed += 1;
    }
    tally
}

/// The state's images whose members, in the cloud or as recorded, are not the manifests'.
fn wrong_members(env: &TestEnv, state: &State, wanted: &BTreeMap<&str, BTreeSet<&str>>) -> usize {
    let mut wrong = 0;
    for record in state.images.values() {
        let expected: BTreeSet<String> = wanted
            .get(record.attributes.name.as_str())
            .map(|projects| projects.iter().map(|p| (*p).to_owned()).collect())
            .unwrap_or_default();
        let live = env.emulator.members_of(&record.id);
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
