//! [`Client`]: the one place that touches reqwest. It authenticates each request (signing with
//! the injected clock, or a token), applies the shared rate limit, the per-attempt timeout
//! (`[cloud] request_timeout`), the endpoint's liveness ([`super::liveness`]: an endpoint silent
//! for `[cloud] unresponsive_timeout` ends its attempts) and the retry policy of
//! [`super::retry`], reads error bodies into [`CloudError`], and looks the project id up
//! through IAM once per run. The operations themselves are in [`super::ops`]; one attempt and
//! its judgement are in `client/exchange.rs`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::CloudError;
use super::config::CloudConfig;
use super::credentials::Credentials;
use super::endpoint::{Endpoint, Endpoints};
use super::liveness::{Liveness, Tracker};
use super::options::{ClientOptions, Clock};
use super::ratelimit::RateLimiter;
use super::request::{self, ApiRequest, HeaderContext, Service};
use super::retry::{RetryPolicy, Verdict};
use crate::sign;

mod exchange;
use exchange::header_map;

/// An answer with an expected status.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON, or a protocol error naming the operation.
    pub fn json(&self, operation: &'static str) -> Result<Value, CloudError> {
        serde_json::from_slice(&self.body).map_err(|err| CloudError::Protocol {
            operation,
            status: self.status,
            detail: format!("the body is not JSON: {err}"),
        })
    }
}

/// The IMS client. Cheap to share behind an `Arc`; all requests share one connection pool,
/// one rate limiter and one project-id cache. `Debug` never shows a secret.
pub struct Client {
    http: reqwest::Client,
    credentials: Credentials,
    endpoints: Endpoints,
    pub(crate) region: String,
    /// The IAM project name looked up when no project id is configured.
    pub(crate) project_name: String,
    project_id: OnceCell<String>,
    retry: RetryPolicy,
    /// Shared by every client of one [`super::ClientFactory`] (all regions of a run).
    limiter: Arc<RateLimiter>,
    /// The liveness of the IMS and IAM endpoints, in the run's shared registry.
    ims_live: Arc<Tracker>,
    iam_live: Arc<Tracker>,
    liveness: Arc<Liveness>,
    page_size: usize,
    clock: Clock,
    sent: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("credentials", &self.credentials)
            .field("endpoints", &self.endpoints)
            .field("region", &self.region)
            .field("project_id", &self.project_id.get())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`'s cloud. With `config.insecure`, TLS certificates are not verified
    /// (the CLI prints the warning).
    pub fn new(
        config: &CloudConfig,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Client, CloudError> {
        let limiter = Arc::new(RateLimiter::new(options.requests_per_second, options.burst));
        let liveness = Liveness::new(options.unresponsive);
        Client::with_shared(config, credentials, options, limiter, liveness)
    }

    /// A client whose requests share `limiter` and the endpoints' `liveness` with other
    /// clients (see [`super::ClientFactory`]); `options`' own rate and unresponsiveness
    /// settings are not used.
    pub(crate) fn with_shared(
        config: &CloudConfig,
        credentials: Credentials,
        options: ClientOptions,
        limiter: Arc<RateLimiter>,
        liveness: Arc<Liveness>,
    ) -> Result<Client, CloudError> {
        let endpoints = Endpoints::from_config(config)?;
        let base = |e: &Endpoint| format!("{}{}", e.base, e.path_prefix);
        let ims_live = liveness.tracker("IMS", &base(&endpoints.ims));
        let iam_live = liveness.tracker("IAM", &base(&endpoints.iam));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(config.insecure)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(options.retry.attempt_timeout))
            .build()
            .map_err(|err| CloudError::Config(format!("cannot build the HTTP client: {err}")))?;
        let project_id = OnceCell::new_with(config.project_id.clone().filter(|p| !p.is_empty()));
        Ok(Client {
            http,
            credentials,
            endpoints,
            region: config.region.clone(),
            project_name: config
                .project_name
                .clone()
                .unwrap_or_else(|| config.region.clone()),
            project_id,
            retry: options.retry,
            limiter,
            ims_live,
            iam_live,
            liveness,
            page_size: options.page_size.clamp(1, request::PAGE_SIZE),
            clock: options.clock,
            sent: AtomicU64::new(0),
        })
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The `limit` of list requests.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The region this client talks to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The liveness of every endpoint this client (and the clients sharing its registry)
    /// calls.
    pub fn liveness(&self) -> &Arc<Liveness> {
        &self.liveness
    }

    fn tracker(&self, service: Service) -> &Tracker {
        match service {
            Service::Ims => &self.ims_live,
            Service::Iam => &self.iam_live,
        }
    }

    /// The project id: configured, or looked up once through IAM (`GET /v3/projects?name=`).
    /// The project id when it is known without a request (configured, or already looked up).
    pub fn known_project_id(&self) -> Option<&str> {
        self.project_id.get().map(String::as_str)
    }

    pub async fn project_id(&self) -> Result<&str, CloudError> {
        let id = self
            .project_id
            .get_or_try_init(|| self.lookup_project_id())
            .await?;
        Ok(id)
    }

    /// Sends `request` to IMS with `X-Project-Id`, retrying per the policy, and returns the
    /// answer when its status is one of `expect`.
    pub(crate) async fn ims(
        &self,
        request: &ApiRequest,
        expect: &[u16],
    ) -> Result<Response, CloudError> {
        let project_id = self.project_id().await?;
        self.send(request, expect, Some(project_id)).await
    }

    pub(crate) async fn send(
        &self,
        request: &ApiRequest,
        expect: &[u16],
        project_id: Option<&str>,
    ) -> Result<Response, CloudError> {
        let start = Instant::now();
        let mut attempts = 0u32;
        loop {
            self.limiter.acquire().await;
            attempts += 1;
            let attempt = self.attempt(request, project_id).await;
            let unanswered = attempt.unanswered();
            let (error, verdict, retry_after) = match self.judge(request, expect, attempt) {
                exchange::Judged::Done(response) => return Ok(response),
                exchange::Judged::Failed(error, verdict, retry_after) => {
                    (error, verdict, retry_after)
                }
            };
            let unit = rand::random::<f64>();
            let delay = match verdict {
                Verdict::Fail => {
                    self.notice(request, unanswered, attempts, &error, None);
                    return Err(error);
                }
                Verdict::OutcomeUnknown => {
                    self.notice(request, unanswered, attempts, &error, None);
                    return Err(CloudError::OutcomeUnknown {
                        operation: request.operation,
                        detail: error.to_string(),
                    });
                }
                Verdict::Retry => {
                    self.retry
                        .next_delay(attempts - 1, start.elapsed(), retry_after, unit)
                }
                Verdict::RetryBriefly => {
                    self.retry
                        .next_connect_delay(attempts - 1, start.elapsed(), unit)
                }
            };
            self.notice(request, unanswered, attempts, &error, delay);
            let Some(delay) = delay else {
                return Err(CloudError::BudgetExhausted {
                    attempts,
                    last: Box::new(error),
                });
            };
            tracing::info!(
                "{}: attempt {attempts} failed, retrying in {}ms: {error}",
                request.operation,
                delay.as_millis()
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn endpoint(&self, service: Service) -> &Endpoint {
        match service {
            Service::Ims => &self.endpoints.ims,
            Service::Iam => &self.endpoints.iam,
        }
    }

    /// The reqwest request for one attempt, authenticated at `now`.
    fn build(
        &self,
        request: &ApiRequest,
        project_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> reqwest::RequestBuilder {
        let endpoint = self.endpoint(request.service);
        let sdk_date = now.format(sign::DATE_FORMAT).to_string();
        let headers = request::auth_headers(
            request,
            &self.credentials,
            HeaderContext {
                host: &endpoint.host,
                path_prefix: &endpoint.path_prefix,
                project_id,
                sdk_date: &sdk_date,
                user_agent: concat!("imsform/", env!("CARGO_PKG_VERSION")),
            },
        );
        let mut url = format!("{}{}{}", endpoint.base, endpoint.path_prefix, request.path);
        let query = request.query_string();
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        // Request methods are the constants of `request.rs`, all valid.
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let builder = self
            .http
            .request(method, url)
            .headers(header_map(headers))
            .timeout(self.retry.attempt_timeout);
        match &request.body {
            Some(body) => builder.body(body.clone()),
            None => builder,
        }
    }
}
