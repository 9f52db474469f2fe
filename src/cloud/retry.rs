//! The retry policy, as pure functions: which failures are retried, how long to wait, when to
//! give up. The transport ([`super::client`]) applies it; nothing here sleeps or sends.
//!
//! # Policy
//!
//! - **Retried** (with exponential backoff and full jitter: wait a uniformly random time in
//!   `[0, min(cap, initial * 2^attempt)]`, but never less than the server's `Retry-After`):
//!   - HTTP 429 and gateway throttling `APIG.0308` / `APIGW.0308`: the request was refused
//!     before it reached IMS, so even a create is safe to send again;
//!   - `IMG.0060` (job flow control) and `IMG.0194` (too many concurrent imports): IMS refused
//!     the request, nothing happened;
//!   - connection failures (refused, DNS, TLS handshake: the request never left this machine),
//!     but only **briefly**: at most [`CONNECT_ATTEMPTS`] attempts within [`CONNECT_BUDGET`]
//!     ([`Verdict::RetryBriefly`]). An endpoint that cannot be reached is almost always a wrong
//!     address or a network down, which waiting minutes does not fix; a blip passes in seconds.
//!   - HTTP 500/502/503/504 and answers lost in flight (timeouts, resets), **only for
//!     idempotent requests** (reads, update, tag changes, delete). 500 is included because IMS
//!     and the emulator's fault injection use it for transient internal errors.
//! - **Never retried:** 401 (a wrong secret must not lock the access key after five tries), and
//!   every other 4xx: they describe the request, and sending it again changes nothing.
//! - **Non-idempotent requests** (create metadata, register) whose answer is lost or is a
//!   500/502/503/504 become [`super::CloudError::OutcomeUnknown`]: the gateway may have forwarded
//!   them. The caller resolves the outcome (create: by its token tag; register: by the image's
//!   status), never by blindly sending the request again.
//! - **Budget:** retrying stops when the next wait would take the total time spent on the
//!   request past `budget` (default 5 minutes); the error is then
//!   [`super::CloudError::BudgetExhausted`] with the attempt count and the last failure.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The most attempts of a request whose connection keeps failing.
pub const CONNECT_ATTEMPTS: u32 = 4;

/// The most time spent retrying a request whose connection keeps failing.
pub const CONNECT_BUDGET: Duration = Duration::from_secs(10);

/// Backoff and budget. Tests use small values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff ceiling (about 1 s).
    pub initial: Duration,
    /// The largest backoff ceiling (about 30 s).
    pub cap: Duration,
    /// The total time one logical request may take, retries included.
    pub budget: Duration,
    /// The timeout of each single attempt.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            budget: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// What went wrong with one attempt, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The cloud answered with an error status and code (the status as text when no code).
    Status { status: u16, code: &'a str },
    /// No connection could be made: the request was not sent.
    Connect,
    /// The request may have been sent, but no complete answer came back.
    Lost,
}

/// What to do about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Retry,
    /// The endpoint could not be reached: retry a few times within [`CONNECT_BUDGET`].
    RetryBriefly,
    Fail,
    OutcomeUnknown,
}

/// The policy's classification of a failure, for an idempotent request or not.
pub fn classify(failure: Failure<'_>, idempotent: bool) -> Verdict {
    let unsure = if idempotent {
        Verdict::Retry
    } else {
        Verdict::OutcomeUnknown
    };
    match failure {
        Failure::Connect => Verdict::RetryBriefly,
        Failure::Lost => unsure,
        Failure::Status { status: 401, .. } => Verdict::Fail,
        Failure::Status { status: 429, .. } => Verdict::Retry,
        Failure::Status { code, .. } if is_throttle_code(code) => Verdict::Retry,
        Failure::Status {
            status: 500 | 502..=504,
            ..
        } => unsure,
        Failure::Status { .. } => Verdict::Fail,
    }
}

/// Codes that mean "refused for now, nothing happened: try again later".
pub fn is_throttle_code(code: &str) -> bool {
    matches!(code, "APIG.0308" | "APIGW.0308" | "IMG.0060" | "IMG.0194")
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0 for the first retry), or `None` when it would
    /// exceed the budget given `elapsed` so far. `unit` is a uniform random number in [0, 1).
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.cap);
        let jittered = ceiling.mul_f64(unit.clamp(0.0, 1.0));
        let delay = retry_after.map_or(jittered, |floor| jittered.max(floor));
        (elapsed.saturating_add(delay) <= self.budget).then_some(delay)
    }

    /// [`RetryPolicy::next_delay`] for a request that could not connect: `None` once
    /// [`CONNECT_ATTEMPTS`] attempts were made or the wait would go past [`CONNECT_BUDGET`].
    pub fn next_connect_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        unit: f64,
    ) -> Option<Duration> {
        if attempt + 1 >= CONNECT_ATTEMPTS {
            return None;
        }
        let brief = RetryPolicy {
            budget: self.budget.min(CONNECT_BUDGET),
            ..*self
        };
        brief.next_delay(attempt, elapsed, None, unit)
    }
}

/// `Retry-After` as delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, code: &str) -> Failure<'_> {
        Failure::Status { status, code }
    }

    #[test]
    fn throttling_is_retried_for_every_request() {
        for idempotent in [true, false] {
            assert_eq!(
                classify(status(429, "APIG.0308"), idempotent),
                Verdict::Retry
            );
            assert_eq!(classify(status(429, "429"), idempotent), Verdict::Retry);
            assert_eq!(
                classify(status(400, "IMG.0060"), idempotent),
                Verdict::Retry
            );
            assert_eq!(
                classify(status(400, "IMG.0194"), idempotent),
                Verdict::Retry
            );
            assert_eq!(
                classify(Failure::Connect, idempotent),
                Verdict::RetryBriefly
            );
        }
    }

    #[test]
    fn auth_and_client_errors_are_never_retried() {
        for idempotent in [true, false] {
            assert_eq!(
                classify(status(401, "APIG.0301"), idempotent),
                Verdict::Fail
            );
            assert_eq!(classify(status(400, "IMG.0056"), idempotent), Verdict::Fail);
            assert_eq!(classify(status(404, "IMG.0027"), idempotent), Verdict::Fail);
            assert_eq!(classify(status(403, "IMG.0026"), idempotent), Verdict::Fail);
            assert_eq!(classify(status(501, "501"), idempotent), Verdict::Fail);
        }
    }

    #[test]
    fn lost_answers_depend_on_idempotence() {
        for s in [500, 502, 503, 504] {
            assert_eq!(classify(status(s, "x"), true), Verdict::Retry);
            assert_eq!(classify(status(s, "x"), false), Verdict::OutcomeUnknown);
        }
        assert_eq!(classify(Failure::Lost, true), Verdict::Retry);
        assert_eq!(classify(Failure::Lost, false), Verdict::OutcomeUnknown);
    }

    #[test]
    fn backoff_grows_to_the_cap_with_full_jitter() {
        let policy = RetryPolicy::default();
        let full = |attempt| policy.next_delay(attempt, Duration::ZERO, None, 0.999_999);
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64().round() as u64);
        assert_eq!(secs(full(0)), Some(1));
        assert_eq!(secs(full(1)), Some(2));
        assert_eq!(secs(full(4)), Some(16));
        assert_eq!(secs(full(5)), Some(30));
        assert_eq!(secs(full(60)), Some(30));
        assert_eq!(
            policy.next_delay(3, Duration::ZERO, None, 0.0),
            Some(Duration::ZERO)
        );
        assert_eq!(
            policy.next_delay(3, Duration::ZERO, None, 0.5),
            Some(Duration::from_secs(4))
        );
    }

    #[test]
    fn retry_after_is_a_floor_and_budget_is_a_ceiling() {
        let policy = RetryPolicy::default();
        let floor = Some(Duration::from_secs(7));
        assert_eq!(
            policy.next_delay(0, Duration::ZERO, floor, 0.5),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy.next_delay(0, Duration::from_secs(294), floor, 0.1),
            None
        );
        assert!(
            policy
                .next_delay(0, Duration::from_secs(293), floor, 0.1)
                .is_some()
        );
    }

    #[test]
    fn unreachable_endpoints_get_a_few_attempts_within_seconds() {
        let policy = RetryPolicy::default();
        let full = |attempt, elapsed| policy.next_connect_delay(attempt, elapsed, 0.999_999);
        let mut elapsed = Duration::ZERO;
        let mut attempt = 0;
        while let Some(delay) = full(attempt, elapsed) {
            elapsed += delay;
            attempt += 1;
        }
        assert_eq!(attempt + 1, CONNECT_ATTEMPTS, "attempts made");
        assert!(elapsed <= CONNECT_BUDGET, "{elapsed:?}");
        assert_eq!(
            full(1, Duration::from_secs(9)),
            None,
            "the wait would pass 10 s"
        );
        let small = RetryPolicy {
            budget: Duration::from_millis(100),
            ..policy
        };
        assert_eq!(
            small.next_connect_delay(0, Duration::from_millis(99), 0.5),
            None
        );
    }

    #[test]
    fn retry_after_formats() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
