//! What stops an apply besides its own end, watched while it runs: SIGINT/SIGTERM, the loss of
//! the state database's connection, and a cloud endpoint that stopped answering. Each requests
//! the executor's shutdown (no new work starts; waits end at their last saved point) and says
//! why on stderr. Also feeds the progress display what the cloud's endpoints are doing (silent
//! ones, attempts that got no answer). Orchestration only: the rules live in `state` and in
//! `cloud::liveness`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::apply::{Event, ProgressSink, ShutdownTrigger};
use crate::cloud::error::whole_seconds;
use crate::cloud::{Liveness, Unresponsive};

/// The state backend lost the connection that holds the lock: no new work may start, since
/// nothing more can be journaled.
pub(super) async fn watch_loss(
    mut loss: watch::Receiver<Option<String>>,
    trigger: Arc<ShutdownTrigger>,
) {
    if let Ok(lost) = loss.wait_for(Option::is_some).await {
        let reason = lost.clone().unwrap_or_default();
        trigger.request();
        eprintln!(
            "\nThe connection to the state database was lost ({reason}): no new cloud call \
             starts; the next run resumes from the journal."
        );
    }
}

/// An endpoint stopped answering: waiting on it is pointless, and what was started is in the
/// journal.
pub(super) async fn watch_unresponsive(
    mut unresponsive: watch::Receiver<Option<Unresponsive>>,
    trigger: Arc<ShutdownTrigger>,
) {
    if let Ok(gone) = unresponsive.wait_for(Option::is_some).await {
        let Some(gone) = gone.clone() else { return };
        trigger.request();
        eprintln!(
            "\n{} stopped answering: no request to it was answered for {}. No new work \
             starts and the waits on it end; the journal keeps what was started for the next \
             apply.",
            gone.endpoint,
            whole_seconds(gone.silent_for)
        );
    }
}

/// Every second (and at each notice): the attempts that got no answer, as lines, and the
/// endpoints silent for at least `noticeable`, for the heartbeats.
pub(super) async fn report_silence(
    liveness: Arc<Liveness>,
    progress: Arc<dyn ProgressSink>,
    noticeable: Duration,
) {
    let mut shown: Option<String> = None;
    loop {
        tokio::select! {
            () = liveness.noticed() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        for line in liveness.take_notices() {
            progress.event(Event::Notice { line });
        }
        let silent: Vec<String> = liveness
            .silences(noticeable)
            .into_iter()
            .map(|(endpoint, silent)| {
                format!("{endpoint} has not answered for {}", whole_seconds(silent))
            })
            .collect();
        let what = (!silent.is_empty()).then(|| silent.join("; "));
        if what != shown {
            shown.clone_from(&what);
            progress.event(Event::Unanswered { what });
        }
    }
}

/// How long an endpoint must be silent before the heartbeats say so: 10 s, or a third of
/// `unresponsive_timeout` when that is shorter.
pub(super) fn noticeable(unresponsive: Duration) -> Duration {
    Duration::from_secs(10).min(unresponsive / 3)
}

/// First SIGINT/SIGTERM: request the shutdown. Second: exit at once.
pub(super) async fn watch_signals(trigger: Arc<ShutdownTrigger>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    trigger.request();
    eprintln!(
        "\nInterrupt received: no new work starts; in-flight steps finish and are saved. \
         Interrupt again to exit at once."
    );
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("Second interrupt: exiting now. The state journal lets the next apply resume.");
    std::process::exit(1);
}
