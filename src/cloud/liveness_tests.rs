use super::*;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn an_endpoint_owes_nothing_until_asked_and_any_answer_ends_the_silence() {
    let mut silence = Silence::default();
    assert_eq!(silence.silent_for(s(100)), None);
    assert_eq!(silence.deadline(s(30)), None);
    silence.sent(s(100));
    assert_eq!(silence.silent_for(s(112)), Some(s(12)));
    assert_eq!(silence.deadline(s(30)), Some(s(130)));
    silence.answered(s(113));
    assert_eq!(
        silence.silent_for(s(200)),
        None,
        "answered, nothing in flight"
    );
    assert_eq!(silence.deadline(s(30)), None);
}

#[test]
fn the_silence_runs_from_the_first_unanswered_attempt_across_retries() {
    let mut silence = Silence::default();
    // A stalled list: three attempts of 10 s, with backoffs of 1 s and 2 s between them.
    silence.sent(s(0));
    silence.unanswered(s(10));
    assert_eq!(silence.silent_for(s(11)), Some(s(10)), "frozen while idle");
    silence.sent(s(11));
    assert_eq!(
        silence.silent_for(s(15)),
        Some(s(14)),
        "the backoff is not counted"
    );
    silence.unanswered(s(21));
    silence.sent(s(23));
    assert_eq!(silence.deadline(s(30)), Some(s(33)));
    assert_eq!(silence.silent_for(s(33)), Some(s(30)));
}

#[test]
fn a_slow_attempt_does_not_hide_the_answers_of_others() {
    let mut silence = Silence::default();
    silence.sent(s(0)); // stalled
    silence.sent(s(5));
    silence.answered(s(6));
    assert_eq!(
        silence.silent_for(s(20)),
        Some(s(14)),
        "silent since the last answer"
    );
    assert_eq!(silence.deadline(s(30)), Some(s(36)));
    // Attempts overlapping a silence all see the same deadline.
    silence.sent(s(21));
    assert_eq!(silence.deadline(s(30)), Some(s(36)));
    silence.unanswered(s(25));
    assert_eq!(
        silence.deadline(s(30)),
        Some(s(36)),
        "the first one is still in flight"
    );
}

#[test]
fn time_when_nothing_is_asked_is_not_silence() {
    let mut silence = Silence::default();
    silence.sent(s(0));
    silence.unanswered(s(10)); // e.g. a create whose answer was lost
    // Nothing asked for 10 minutes, then a lookup.
    silence.sent(s(610));
    assert_eq!(silence.silent_for(s(615)), Some(s(15)));
    assert_eq!(silence.deadline(s(30)), Some(s(630)));
}

#[tokio::test(start_paused = true)]
async fn a_tracker_declares_its_endpoint_unresponsive_once_and_refuses_later_attempts() {
    let liveness = Liveness::new(s(30));
    let tracker = liveness.tracker("IMS", "https://ims.example");
    assert_eq!(tracker.label(), "IMS (https://ims.example)");
    let mut gone = liveness.unresponsive();
    let attempt = tracker.begin().unwrap();
    tokio::time::advance(s(12)).await;
    assert_eq!(
        liveness.silences(s(10)),
        [("IMS (https://ims.example)".to_owned(), s(12))]
    );
    assert!(liveness.silences(s(13)).is_empty());
    let started = Instant::now();
    let declared = attempt.expired().await;
    assert_eq!(started.elapsed(), s(18), "30 s after the attempt was sent");
    assert_eq!(declared.endpoint, "IMS (https://ims.example)");
    assert_eq!(declared.silent_for, s(30));
    gone.changed().await.unwrap();
    assert_eq!(gone.borrow().as_ref(), Some(&declared));
    drop(attempt);
    assert_eq!(
        tracker.begin().unwrap_err(),
        declared,
        "nothing more is sent"
    );
    let same = liveness.tracker("IMS", "https://ims.example");
    assert!(same.begin().is_err(), "one tracker per endpoint");
    assert!(
        liveness
            .tracker("IAM", "https://ims.example")
            .begin()
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn an_answer_moves_the_deadline_of_every_attempt_in_flight() {
    let liveness = Liveness::new(s(30));
    let tracker = liveness.tracker("IMS", "https://ims.example");
    let stalled = tracker.begin().unwrap();
    tokio::time::advance(s(20)).await;
    let quick = tracker.begin().unwrap();
    quick.answered();
    drop(quick);
    let started = Instant::now();
    stalled.expired().await;
    assert_eq!(started.elapsed(), s(30), "30 s after the last answer");
}

#[test]
fn notices_are_kept_in_order_and_bounded() {
    let liveness = Liveness::new(s(30));
    for n in 0..(NOTICES_KEPT + 5) {
        liveness.notice(format!("n{n}"));
    }
    let notices = liveness.take_notices();
    assert_eq!(notices.len(), NOTICES_KEPT);
    assert_eq!(notices[0], "n5");
    assert!(liveness.take_notices().is_empty());
}
