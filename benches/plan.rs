//! Planning 10,000 images: the CPU time of `plan::plan` alone and with each rendering.
//! design.md section 7's target: parsing and planning 10,000 entries under 200 ms.
//! Run with `cargo bench --bench plan`. Prints figures; asserts nothing about speed.

use std::hint::black_box;
use std::time::{Duration, Instant};

// The fixtures file is shared with the engine's unit tests, which name these modules through
// `crate::`.
use imsform::{cloud, manifest, plan, state};

#[path = "../src/plan/fixtures.rs"]
#[allow(dead_code, reason = "not every builder is used here")]
mod fixtures;

use fixtures::{attrs, manifests, record, spec, state, view_of};
use plan::{Plan, PlanOptions};

const IMAGES: usize = 10_000;
const RUNS: usize = 15;

/// CPU time of this thread, from the scheduler's accounting; wall time where unavailable.
fn cpu_now() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The median CPU time of `RUNS` runs of `work`.
fn measure(label: &str, mut work: impl FnMut()) {
    let mut samples: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let (cpu, wall) = (cpu_now(), Instant::now());
            work();
            match (cpu, cpu_now()) {
                (Some(start), Some(end)) => end - start,
                _ => wall.elapsed(),
            }
        })
        .collect();
    samples.sort();
    let clock = if cpu_now().is_some() { "CPU" } else { "wall" };
    println!(
        "{label:<40} median {:>8.2} ms  min {:>8.2} ms  ({clock}, {RUNS} runs)",
        samples[RUNS / 2].as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3
    );
}

fn main() {
    let keys: Vec<&'static str> = (0..IMAGES)
        .map(|i| &*Box::leak(format!("img-{i:05}").into_boxed_str()))
        .collect();
    // All managed; 1% edited in place, 0.5% replaced, 0.5% new, 0.5% removed.
    let state = state(
        keys.iter()
            .map(|k| (*k, record(&format!("id-{k}"), attrs(k)))),
    );
    let desired = manifests(
        keys.iter()
            .enumerate()
            .filter(|(i, _)| i % 200 != 1)
            .map(|(i, k)| {
                let mut wanted = attrs(k);
                match i % 200 {
                    0 | 100 => wanted.min_ram = 4096,
                    50 => wanted.min_disk = 80,
                    _ => {}
                }
                spec(k, wanted)
            }),
    );
    let view = view_of(&state);
    let options = PlanOptions::default();
    let make = || plan::plan(&desired, Some(&state), Some(&view), &options).unwrap();
    let sample: Plan = make();
    let counts = sample.counts();
    println!(
        "{IMAGES} images: {} to add, {} to change, {} to destroy",
        counts.add, counts.change, counts.destroy
    );
    measure("plan", || drop(black_box(make())));
    measure("plan + human rendering", || {
        let mut out = Vec::with_capacity(1 << 20);
        imsform::render::human::write_plan(&mut out, &make(), false).unwrap();
        black_box(out);
    });
    measure("plan + JSON rendering", || {
        let mut out = Vec::with_capacity(1 << 20);
        imsform::render::json::write_plan(&mut out, &make()).unwrap();
        black_box(out);
    });
    measure("plan + markdown rendering (60,000 chars)", || {
        black_box(imsform::render::markdown::render(&make(), 60_000));
    });
}
