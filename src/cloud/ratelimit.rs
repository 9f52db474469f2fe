//! The client-side request rate limit shared by every request of a [`super::Client`]: a token
//! bucket of `rate` tokens per second holding at most `burst` tokens, implemented as GCRA (a
//! "theoretical arrival time" per bucket). A caller reserves its slot under a short std lock,
//! releases it, then sleeps until the slot: no lock is held across `.await`, and callers are
//! served in the order they asked.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket. `RateLimiter::new(0, _)` means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    tolerance: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `rate` requests per second on average, with up to `burst` (at least 1) at once.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        let interval = (rate > 0).then(|| Duration::from_secs(1) / rate);
        let tolerance = interval.map_or(Duration::ZERO, |i| i * burst.max(1).saturating_sub(1));
        RateLimiter {
            interval,
            tolerance,
            next: Mutex::new(None),
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        if let Some(at) = self.reserve(Instant::now()) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Reserves the next slot at or after `now`; returns when to go if that is later than now.
    fn reserve(&self, now: Instant) -> Option<Instant> {
        let interval = self.interval?;
        // A poisoned lock only means another caller panicked while holding plain data that is
        // always valid (an instant), so its value can be used as is.
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let tat = next.map_or(now, |tat| tat.max(now));
        let go = tat
            .checked_sub(self.tolerance)
            .map_or(now, |at| at.max(now));
        *next = Some(tat + interval);
        (go > now).then_some(go)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let limiter = RateLimiter::new(10, 3);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..6 {
            limiter.acquire().await;
            times.push((Instant::now() - start).as_millis());
        }
        assert_eq!(times, vec![0, 0, 0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_refills_the_bucket() {
        let limiter = RateLimiter::new(10, 2);
        limiter.acquire().await;
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(Instant::now(), start);
        limiter.acquire().await;
        assert_eq!((Instant::now() - start).as_millis(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn shared_by_concurrent_callers() {
        let limiter = std::sync::Arc::new(RateLimiter::new(20, 1));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let limiter = limiter.clone();
            tasks.spawn(async move { limiter.acquire().await });
        }
        while tasks.join_next().await.is_some() {}
        assert_eq!((Instant::now() - start).as_millis(), 450);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_rate_is_unlimited() {
        let limiter = RateLimiter::new(0, 1);
        let start = Instant::now();
        for _ in 0..100 {
            limiter.acquire().await;
        }
        assert_eq!(Instant::now(), start);
    }
}
