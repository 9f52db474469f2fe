//! [`ClientOptions`]: how a [`super::Client`] behaves besides where it connects (retry policy,
//! rate limit, page size, the clock that dates signatures, when a silent endpoint counts as
//! unresponsive). Plain data with defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::request;
use super::retry::RetryPolicy;
use crate::cli::config::{ApplyConfig, CloudConfig};

/// `[cloud] unresponsive_timeout` by default.
pub const DEFAULT_UNRESPONSIVE: Duration = Duration::from_secs(180);

/// The clock that dates signatures (`X-Sdk-Date`); injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How a [`super::Client`] behaves besides where it connects.
#[derive(Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Client-side limit across all requests; 0 = unlimited.
    pub requests_per_second: u32,
    /// Requests allowed at once before pacing starts.
    pub burst: u32,
    /// `limit` of list requests (1-1000).
    pub page_size: usize,
    pub clock: Clock,
    /// An endpoint that answers no request for this long is unresponsive for the rest of the
    /// run (`[cloud] unresponsive_timeout`, see [`super::liveness`]).
    pub unresponsive: Duration,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            retry: RetryPolicy::default(),
            requests_per_second: 20,
            burst: 10,
            page_size: request::PAGE_SIZE,
            clock: Arc::new(Utc::now),
            unresponsive: DEFAULT_UNRESPONSIVE,
        }
    }
}

impl ClientOptions {
    /// The defaults with `[apply] requests_per_second` (a burst of at most one second's
    /// worth), `[cloud] request_timeout` (each attempt) and `unresponsive_timeout`.
    pub fn from_config(cloud: &CloudConfig, apply: &ApplyConfig) -> ClientOptions {
        let defaults = ClientOptions::default();
        ClientOptions {
            retry: RetryPolicy {
                attempt_timeout: cloud.request_timeout,
                ..defaults.retry
            },
            requests_per_second: apply.requests_per_second,
            burst: defaults.burst.min(apply.requests_per_second.max(1)),
            unresponsive: cloud.unresponsive_timeout,
            ..defaults
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("retry", &self.retry)
            .field("requests_per_second", &self.requests_per_second)
            .field("burst", &self.burst)
            .field("page_size", &self.page_size)
            .field("unresponsive", &self.unresponsive)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_config_takes_the_rate_the_timeouts_and_bounds_the_burst() {
        let apply = |rate| ApplyConfig {
            parallelism: 10,
            requests_per_second: rate,
            job_timeout: Duration::from_secs(1800),
            poll_interval: None,
        };
        let mut cloud = CloudConfig::at_endpoint("https://ims.example", "cn-north-4", None);
        let options = ClientOptions::from_config(&cloud, &apply(20));
        assert_eq!((options.requests_per_second, options.burst), (20, 10));
        assert_eq!(options.retry, RetryPolicy::default());
        assert_eq!(options.retry.attempt_timeout, Duration::from_secs(60));
        assert_eq!(options.unresponsive, Duration::from_secs(180));
        cloud.request_timeout = Duration::from_secs(10);
        cloud.unresponsive_timeout = Duration::from_secs(30);
        let options = ClientOptions::from_config(&cloud, &apply(3));
        assert_eq!((options.requests_per_second, options.burst), (3, 3));
        assert_eq!(options.page_size, 1000);
        assert_eq!(options.retry.attempt_timeout, Duration::from_secs(10));
        assert_eq!(options.unresponsive, Duration::from_secs(30));
    }
}
