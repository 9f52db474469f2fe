//! [`ClientOptions`]: how a [`super::Client`] behaves besides where it connects (retry policy,
//! rate limit, page size, the clock that dates signatures). Plain data with defaults.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::request;
use super::retry::RetryPolicy;

/// The clock that dates signatures (`X-Sdk-Date`); injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How a [`Client`] behaves besides where it connects.
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
