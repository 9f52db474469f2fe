//! A slow registration off a terminal: the heartbeat keeps the log moving, and meanwhile the
//! state lock names its holder by user name and a waiting command says that it waits.

use std::time::{Duration, Instant};

use imsform::emulator::Emulator;
use imsform::state::lock::read_holder;

use crate::ONE_IMAGE;
use crate::support::{Dir, finish};

/// This user's name as `id -un` reads it from the user database.
fn user_name() -> String {
    let output = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_slow_registration_prints_a_heartbeat_and_its_lock_names_the_user() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator: Emulator = runtime.block_on(async {
        Emulator::builder()
            .job_duration(Duration::from_secs(13))
            .start()
            .await
            .unwrap()
    });
    let uri = emulator.uri();
    let toml = format!(
        "[cloud]\nregion = \"{}\"\nendpoint = \"{uri}\"\niam_endpoint = \"{uri}\"\n",
        emulator.region()
    );
    let dir = Dir::new(&toml, ONE_IMAGE);
    let with_credentials = |args: &[&str]| {
        let mut command = dir.command(args);
        command
            .env("HW_ACCESS_KEY", emulator.access_key())
            .env("HW_SECRET_KEY", emulator.secret_key())
            .env("HW_PROJECT_ID", emulator.project_id())
            .env_remove("USER")
            .env_remove("LOGNAME");
        command
    };
    let mut apply = with_credentials(&["apply", "--auto-approve"]);
    let started = Instant::now();
    let applying = std::thread::spawn(move || finish(&mut apply));

    let lock = dir.file("imsform.state.json.lock");
    let holder = loop {
        if let Some(holder) = read_holder(&lock) {
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "apply never locked"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let user = user_name();
    assert!(
        holder.who.starts_with(&format!("{user}@")),
        "{holder:?}, user {user}"
    );
    assert!(!holder.who.starts_with("uid"), "{holder:?}");

    let waiting = finish(&mut with_credentials(&["plan", "--lock-timeout", "1s"]));
    assert_eq!(waiting.code, 1, "{}", waiting.stderr);
    let first = waiting.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Acquiring state lock… held by lock "),
        "{}",
        waiting.stderr
    );
    assert!(first.contains(&format!("{user}@")), "{first}");
    assert!(first.ends_with("waiting up to 1s."), "{first}");

    let run = applying.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let beats: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("images.web: still registering… ["))
        .collect();
    assert!(!beats.is_empty(), "no heartbeat in {}", run.stderr);
    // Timestamped like every other line, and within 10 s of the phase that began the wait.
    let beat = beats[0];
    assert_eq!(beat.as_bytes()[2], b':', "{beat}");
    let seconds: u64 = beat
        .split('[')
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{beat}"));
    assert!((10..=12).contains(&seconds), "{beat}");
    assert!(run.stderr.contains("images.web: created"), "{}", run.stderr);
}
