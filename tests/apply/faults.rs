//! Applies under injected faults converge with no duplicate: throttling (429), 5xx, job flow
//! control (IMG.0060), dropped create and register responses, and failed registration jobs.

use imsform::emulator::{Faults, RateLimit};

use crate::env::{TestEnv, image, manifest};

fn six_images() -> (String, Vec<&'static str>) {
    let names = vec!["f1", "f2", "f3", "f4", "f5", "f6"];
    let images: Vec<String> = names
        .iter()
        .map(|n| image(n, n, "    description: under faults\n"))
        .collect();
    (manifest(&images), names)
}

/// Applies until an apply succeeds (at most `attempts`), then clears the faults and checks.
async fn converge_under(env: &TestEnv, faults: Faults, attempts: usize) -> usize {
    env.emulator.set_faults(faults);
    let mut runs = 0;
    loop {
        runs += 1;
        let apply = env.run(&["apply", "--auto-approve"]).await;
        if apply.status.success() {
            break;
        }
        assert!(
            runs < attempts,
            "no convergence after {runs} applies: {}",
            crate::env::text(&apply)
        );
    }
    env.emulator.set_faults(Faults::default());
    env.assert_no_changes().await;
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_and_lost_answers_converge_without_duplicates() {
    let env = TestEnv::new().await;
    let (yaml, names) = six_images();
    env.manifest(&yaml);
    let faults = Faults {
        seed: Some(7),
        error_rate: 0.3,
        rate_limit: Some(RateLimit {
            per_second: 30.0,
            burst: 5.0,
        }),
        max_running_jobs: Some(2),
        drop_routes: [
            ("POST /v2/images".to_owned(), 2),
            ("PUT /v1/cloudimages/{image_id}/upload".to_owned(), 1),
        ]
        .into(),
        ..Faults::default()
    };
    let runs = converge_under(&env, faults, 8).await;
    env.assert_cloud_matches(&names);
    let stats = env.emulator.stats();
    println!("transient faults: converged in {runs} apply run(s); stats {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_tainted_and_replaced_until_converged() {
    let env = TestEnv::new().await;
    let (yaml, names) = six_images();
    env.manifest(&yaml);
    let faults = Faults {
        seed: Some(11),
        job_failure_rate: 0.4,
        ..Faults::default()
    };
    let runs = converge_under(&env, faults, 10).await;
    assert!(
        runs >= 2,
        "with 40% failed jobs, the first apply should fail some"
    );
    env.assert_cloud_matches(&names);
}
