//! [`ClientOptions`]: how a [`super::Client`] behaves besides where it connects (retry policy,
//! rate limit, page size, the clock that dates signatures, when a silent endpoint counts as
//! unresponsive). Plain data with defaults; the command line derives them from `[cloud]` and
//! `[apply]` (`ClientOptions::from_config`, `cli/config.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::request;
use super::retry::RetryPolicy;
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
