//! [`Progress`] of one upload in flight: bytes sent (counted as the request bodies stream, and
//! taken back when an attempt fails), the total, and from them the rate and the time left. The
//! uploader updates it; whoever displays progress reads [`Progress::snapshot`] when it likes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared between the uploader (writer) and a display (reader).
#[derive(Debug)]
pub struct Progress {
    sent: AtomicU64,
    total: AtomicU64,
    started: Instant,
}

/// What a display shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSnapshot {
    pub sent: u64,
    pub total: u64,
    /// Bytes per second since the start.
    pub rate: f64,
    /// At the current rate; `None` before anything was sent.
    pub eta: Option<Duration>,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        Progress {
            sent: AtomicU64::new(0),
            total: AtomicU64::new(total),
            started: Instant::now(),
        }
    }

    /// `bytes` more were sent.
    pub fn add(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `bytes` counted by a failed attempt will be sent again.
    pub fn take_back(&self, bytes: u64) {
        let _ = self
            .sent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sent| {
                Some(sent.saturating_sub(bytes))
            });
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        snapshot_at(
            self.sent.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.started.elapsed(),
        )
    }
}

/// The rate and time left of `sent` of `total` bytes after `elapsed`. Pure.
pub fn snapshot_at(sent: u64, total: u64, elapsed: Duration) -> ProgressSnapshot {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        sent as f64 / seconds
    } else {
        0.0
    };
    let eta =
        (rate > 0.0).then(|| Duration::from_secs_f64(total.saturating_sub(sent) as f64 / rate));
    ProgressSnapshot {
        sent,
        total,
        rate,
        eta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_the_bytes_sent() {
        let snap = snapshot_at(50, 150, Duration::from_secs(10));
        assert_eq!(snap.rate, 5.0);
        assert_eq!(snap.eta, Some(Duration::from_secs(20)));
        assert_eq!(snapshot_at(0, 10, Duration::from_secs(1)).eta, None);
        let progress = Progress::new(100);
        progress.add(30);
        progress.take_back(40);
        assert_eq!(progress.snapshot().sent, 0);
    }
}
