//! Fault injection: what can go wrong on purpose, and the per-request decisions it implies.
//!
//! A [`Faults`] value is set at start-up (builder) and replaced at run time through
//! `POST /__emulator/faults` (an empty object clears everything). Random decisions draw from
//! the [`Injector`]'s seeded RNG, so a given seed and request sequence always fail the same
//! way. Owns no HTTP routing and no images or jobs: the world holds an `Injector`, and the
//! router and handlers ask it for decisions.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::reply::ApiError;

/// A per-AK token bucket: `per_second` tokens a second, at most `burst` saved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// Every fault the emulator can inject. All optional; the default injects nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the random source behind every `*_rate` (default 0).
    pub seed: Option<u64>,
    /// 429 APIG.0308 with `Retry-After` when an AK's bucket is empty.
    pub rate_limit: Option<RateLimit>,
    /// At most this many jobs running at once; more registrations or copies -> 400 IMG.0060.
    pub max_running_jobs: Option<usize>,
    /// Share of requests (0.0-1.0) answered 500 or 503 before acting.
    pub error_rate: f64,
    /// Added to every IMS request, in milliseconds.
    pub latency_ms: u64,
    /// Registrations of these `bucket:object` URLs fail (IMG.0057).
    pub fail_urls: Vec<String>,
    /// Share of registrations and copies (0.0-1.0) that fail.
    pub job_failure_rate: f64,
    /// When set, the OBS objects that exist; registering any other URL fails (IMG.0057).
    pub obs_objects: Option<Vec<String>>,
    /// Job duration override in milliseconds (slow or fast jobs).
    pub job_duration_ms: Option<u64>,
    /// Share of requests (0.0-1.0) whose response is dropped after the emulator acted.
    pub drop_rate: f64,
    /// Per route (`"METHOD /template"`): how many of the next responses to drop after acting.
    pub drop_routes: BTreeMap<String, u32>,
    /// Stop answering: every IMS and IAM request is accepted (and counted) but never acted on
    /// nor answered, its connection kept open, as behind a link that went silent. Jobs already
    /// running go on. Lifting the fault closes those connections without an answer.
    pub silent: bool,
}

impl Faults {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
}

/// Token buckets by access key: (tokens, last refill time on the emulator clock).
#[derive(Debug, Default)]
struct TokenBuckets(BTreeMap<String, (f64, Duration)>);

/// The faults in force and what their decisions draw on: the token buckets and the random
/// source seeded from [`Faults::seed`]. The world holds one; replacing the faults replaces it.
#[derive(Debug)]
pub struct Injector {
    faults: Faults,
    buckets: TokenBuckets,
    rng: StdRng,
}

impl Injector {
    pub fn new(faults: Faults) -> Self {
        Injector {
            rng: StdRng::seed_from_u64(faults.seed.unwrap_or(0)),
            buckets: TokenBuckets::default(),
            faults,
        }
    }

    /// The latency added to every IMS request.
    pub fn latency(&self) -> Duration {
        self.faults.latency()
    }

    /// Whether requests are taken and never answered (the `silent` fault).
    pub fn silent(&self) -> bool {
        self.faults.silent
    }

    /// Lifts the `silent` fault.
    pub fn speak(&mut self) {
        self.faults.silent = false;
    }

    /// Takes a token for `access_key` at emulator time `now`; `Err(retry_after_seconds)` when
    /// throttled.
    pub fn take_token(&mut self, access_key: &str, now: Duration) -> Result<(), u64> {
        let Some(limit) = self.faults.rate_limit else {
            return Ok(());
        };
        let (tokens, last) = self
            .buckets
            .0
            .entry(access_key.to_owned())
            .or_insert((limit.burst, now));
        let refill = now.saturating_sub(*last).as_secs_f64() * limit.per_second;
        *tokens = (*tokens + refill).min(limit.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = if limit.per_second > 0.0 {
                (1.0 - *tokens) / limit.per_second
            } else {
                60.0
            };
            // Whole seconds, at least one, as Retry-After requires.
            Err((wait.ceil() as u64).max(1))
        }
    }

    /// Whether to answer this request with an injected 5xx, and which status.
    pub fn injected_error(&mut self) -> Option<u16> {
        if self.faults.error_rate <= 0.0 || !self.rng.random_bool(self.faults.error_rate.min(1.0)) {
            return None;
        }
        Some(if self.rng.random_bool(0.5) { 500 } else { 503 })
    }

    /// Whether to drop the response to a request on `route` after acting on it.
    pub fn drop_response(&mut self, route: &str) -> bool {
        if let Some(left) = self.faults.drop_routes.get_mut(route)
            && *left > 0
        {
            *left -= 1;
            return true;
        }
        self.faults.drop_rate > 0.0 && self.rng.random_bool(self.faults.drop_rate.min(1.0))
    }

    /// Why a registration of `image_url` fails, if it does.
    pub fn registration_failure(&mut self, image_url: &str) -> Option<String> {
        if crate::ims::register_extension(image_url).is_none() {
            return Some(format!(
                "The image file {image_url} has an unsupported format."
            ));
        }
        if self.faults.fail_urls.iter().any(|url| url == image_url) {
            return Some(format!("The image file {image_url} could not be read."));
        }
        if let Some(objects) = &self.faults.obs_objects
            && !objects.iter().any(|url| url == image_url)
        {
            return Some(format!("The image file {image_url} does not exist."));
        }
        let rate = self.faults.job_failure_rate;
        if rate > 0.0 && self.rng.random_bool(rate.min(1.0)) {
            return Some(format!("Failed to convert the image file {image_url}."));
        }
        None
    }

    /// Whether a copy job fails (drawn like registrations, from `job_failure_rate`).
    pub fn copy_fails(&mut self) -> bool {
        let rate = self.faults.job_failure_rate;
        rate > 0.0 && self.rng.random_bool(rate.min(1.0))
    }

    /// IMG.0060 when the injected cap on running jobs is reached by the `running` ones.
    pub fn check_flow_control(&self, running: usize) -> Result<(), ApiError> {
        if self
            .faults
            .max_running_jobs
            .is_some_and(|cap| running >= cap)
        {
            return Err(ApiError::bad(
                "IMG.0060",
                "The number of tasks exceeds the flow control limit. Try again later.",
            ));
        }
        Ok(())
    }

    /// How long a new job runs: the injected duration, else `default`.
    pub fn job_duration(&self, default: Duration) -> Duration {
        self.faults
            .job_duration_ms
            .map_or(default, Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_an_empty_object_as_none() {
        let faults: Faults = serde_json::from_str("{}").unwrap();
        assert_eq!(faults, Faults::default());
        assert!(serde_json::from_str::<Faults>(r#"{"typo":1}"#).is_err());
    }
}
