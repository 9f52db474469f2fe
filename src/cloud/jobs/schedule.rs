//! When to look at a job in flight next: a pure function of what the run has learned about its
//! jobs' durations, unit-tested without a clock. Times are durations since each watch started
//! (the registration's answer), measured at the estimated moment the cloud read its state (the
//! middle of the list request's round trip).
//!
//! # The rule
//!
//! - Without knowledge (the first jobs of a run), a job last seen running at `t` is looked at
//!   again at `t + max(floor, t / 10)`: whatever its duration `d`, its end is seen within
//!   `max(floor, d / 10)`. From 1 s to 95 s that is about 34 looks, shared by every job that
//!   started at about the same time (one list request serves them all).
//! - Once jobs have ended, each ended job brackets its duration between the last look that saw
//!   it running and the first that did not. While the brackets agree (the longest "still
//!   running" is shorter than the shortest "ended") the next job is first looked at in the
//!   middle of that range, then at its top: one or two looks per job, and each look in the
//!   middle halves the range, so the end is soon seen within the floor. When durations vary
//!   more than that, the first look is at the median of the observed ends.
//! - After these targets, the geometric rule again.
//!
//! Caveat: with knowledge, nothing is looked at before the first target, so a job that ends
//! much sooner than the run's others (an early failure) is seen at that target.

use std::collections::VecDeque;
use std::time::Duration;

/// How many ended jobs the estimate remembers: durations drift (a run's images differ).
const REMEMBERED: usize = 64;

/// What the run has observed of its jobs' durations.
#[derive(Debug, Default, Clone)]
pub(super) struct Durations {
    /// Per ended job: (last seen running, first seen ended).
    ended: VecDeque<(Option<Duration>, Duration)>,
}

impl Durations {
    /// Records a job that ended: last seen running at `running` (if ever), seen ended at `ended`.
    pub(super) fn record(&mut self, running: Option<Duration>, ended: Duration) {
        if self.ended.len() == REMEMBERED {
            self.ended.pop_front();
        }
        self.ended
            .push_back((running.filter(|r| *r < ended), ended));
    }

    /// When to look at a job next, given it was last seen running at `seen` (zero before the
    /// first look). Never earlier than `seen`; `floor` is the shortest gap of the geometric rule.
    pub(super) fn next_look(&self, seen: Duration, floor: Duration) -> Duration {
        let geometric = seen + floor.max(seen / 10);
        self.targets(floor)
            .into_iter()
            .find(|target| *target > seen)
            .unwrap_or(geometric)
    }

    /// The typical end of a job, when any ended: the median of the observed ends.
    pub(super) fn expected(&self) -> Option<Duration> {
        let mut ends: Vec<Duration> = self.ended.iter().map(|(_, end)| *end).collect();
        ends.sort();
        ends.get(ends.len() / 2).copied()
    }

    /// The looks aimed at the expected end, in order.
    fn targets(&self, floor: Duration) -> Vec<Duration> {
        let Some(shortest_end) = self.ended.iter().map(|(_, end)| *end).min() else {
            return Vec::new();
        };
        let longest_running = self.ended.iter().filter_map(|(running, _)| *running).max();
        // The resolution a bisection stops at: the floor, or a hundredth of a job.
        let resolution = floor.max(shortest_end / 100);
        match longest_running {
            Some(running) if running + resolution < shortest_end => {
                vec![running + (shortest_end - running) / 2, shortest_end]
            }
            // Converged within the resolution: a little after the shortest end absorbs the
            // jitter of when each job started.
            Some(running) if running < shortest_end + resolution => {
                vec![shortest_end + resolution]
            }
            None => vec![shortest_end],
            Some(_) => self.expected().into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The looks at one job of duration `job`, starting from `durations`.
    fn looks(durations: &Durations, job: Duration, floor: Duration) -> Vec<Duration> {
        let mut seen = Duration::ZERO;
        let mut looks = Vec::new();
        loop {
            let next = durations.next_look(seen, floor);
            assert!(next > seen, "{next:?} after {seen:?}");
            looks.push(next);
            if next >= job {
                return looks;
            }
            seen = next;
        }
    }

    #[test]
    fn without_knowledge_an_end_is_seen_within_a_tenth_of_the_job() {
        let durations = Durations::default();
        for job in [ms(50), ms(1000), ms(3000), ms(95_000), ms(600_000)] {
            let looks = looks(&durations, job, ms(10));
            let seen = *looks.last().unwrap();
            assert!(
                seen - job <= (job / 10).max(ms(10)),
                "{job:?}: seen at {seen:?}"
            );
        }
        // From 1 s to 95 s at a 1 s floor: about 34 looks.
        let count = looks(&durations, ms(95_000), ms(1000)).len();
        assert!((30..=36).contains(&count), "{count}");
    }

    #[test]
    fn learned_ends_are_bisected_down_to_the_floor() {
        let mut durations = Durations::default();
        let job = ms(1000);
        let floor = ms(10);
        let mut delays = Vec::new();
        let mut counts = Vec::new();
        for _ in 0..8 {
            let looks = looks(&durations, job, floor);
            let seen = *looks.last().unwrap();
            let running = looks.iter().rev().nth(1).copied();
            durations.record(running, seen);
            delays.push(seen - job);
            counts.push(looks.len());
        }
        // The first job pays the geometric looks; later ones one or two.
        assert!(counts[0] > 10, "{counts:?}");
        assert!(counts[1..].iter().all(|n| *n <= 2), "{counts:?}");
        assert!(*delays.last().unwrap() <= ms(20), "{delays:?}");
        assert!(delays[0] <= ms(100), "{delays:?}");
    }

    #[test]
    fn varying_durations_aim_at_the_median_then_go_geometric() {
        let mut durations = Durations::default();
        durations.record(Some(ms(9_000)), ms(10_000));
        durations.record(Some(ms(19_000)), ms(20_000));
        durations.record(Some(ms(29_000)), ms(30_000));
        assert_eq!(durations.expected(), Some(ms(20_000)));
        assert_eq!(durations.next_look(Duration::ZERO, ms(100)), ms(20_000));
        assert_eq!(durations.next_look(ms(20_000), ms(100)), ms(22_000));
    }

    #[test]
    fn the_memory_is_bounded() {
        let mut durations = Durations::default();
        for n in 0..200 {
            durations.record(None, ms(n));
        }
        assert_eq!(durations.ended.len(), REMEMBERED);
    }
}
