//! [`ClientOptions`]: how a [`super::Client`] behaves besides where it connects (retry policy,
//! rate limit, page size, the clock that dates signatures). Plain data with defaults; the
//! command line derives them from `[apply]` (`ClientOptions::from_apply`, `cli/config.rs`).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::request;
use super::retry::RetryPolicy;

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
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            retry: RetryPolicy::default(),
            requests_per_second: 20,
            burst: 10,
            page_size: request::PAGE_SIZE,
            clock: Arc::new(Utc::now),
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
            .finish_non_exhaustive()
    }
}
