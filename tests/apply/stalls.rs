//! IMS stops answering in the middle of an apply (the emulator's `silent` fault: every request
//! accepted, none answered, connections kept open). The apply says so while it waits, ends
//! within `[cloud] unresponsive_timeout` plus one `request_timeout` with exit 1 and an error
//! naming the endpoint, and keeps its journal: once IMS answers again, one apply converges with
//! no duplicate and no orphan.

use std::process::Stdio;
use std::time::{Duration, Instant};

use imsform::emulator::{Emulator, Faults};

use crate::env::{TestEnv, image, manifest, text};

const KEYS: [&str; 10] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"];
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
const UNRESPONSIVE: Duration = Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_ims_ends_the_apply_in_bounded_time_and_one_apply_converges_after() {
    let cloud = |_: &Emulator| {
        format!(
            "request_timeout = \"{}s\"\nunresponsive_timeout = \"{}s\"\n",
            REQUEST_TIMEOUT.as_secs(),
            UNRESPONSIVE.as_secs()
        )
    };
    let apply = "[apply]\nrequests_per_second = 200\njob_timeout = \"2m\"\n";
    let builder = Emulator::builder();
    let env = TestEnv::start_with(builder, Duration::from_secs(2), &cloud, apply).await;
    let images: Vec<String> = KEYS.iter().map(|k| image(k, k, "")).collect();
    env.manifest(&manifest(&images));
    let child = env
        .command(&["apply", "--auto-approve", "--parallelism", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.live_images().len() < 3 {
        assert!(Instant::now() < deadline, "the apply created nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.emulator.set_faults(Faults {
        silent: true,
        ..Faults::default()
    });
    let cut = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let took = cut.elapsed();
    println!("silent IMS: the apply exited {took:.1?} after IMS went silent");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        took <= UNRESPONSIVE + REQUEST_TIMEOUT,
        "{took:?}\n{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ims = format!("IMS ({})", env.emulator.uri());
    for expected in [
        // An attempt that timed out, as it happened.
        format!("{ims}: "),
        "timed out after 4s (attempt 1); retrying in".to_owned(),
        // The heartbeat, instead of `still registering…`.
        format!("{ims} has not answered for "),
        // The end, naming the endpoint and its silence.
        format!("Error: {ims} stopped answering: no request to it was answered for 12 s"),
    ] {
        assert!(stderr.contains(&expected), "{expected}\n{}", text(&out));
    }
    assert!(!env.state().pending.is_empty() || env.state().images.len() < KEYS.len());

    env.emulator.set_faults(Faults::default());
    let out = env.apply_converges().await;
    assert!(out.contains("Apply complete!"), "{out}");
    env.assert_cloud_matches(&KEYS);
}
