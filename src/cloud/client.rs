//! [`Client`]: the one place that touches reqwest. It authenticates each request (signing with
//! the injected clock, or a token), applies the shared rate limit, the per-attempt timeout and
//! the retry policy of [`super::retry`], reads error bodies into [`CloudError`], and looks the
//! project id up through IAM once per run. The operations themselves are in [`super::ops`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::CloudError;
use super::config::CloudConfig;
use super::credentials::Credentials;
use super::endpoint::{Endpoint, Endpoints};
use super::error::ApiFailure;
use super::options::{ClientOptions, Clock};
use super::ratelimit::RateLimiter;
use super::request::{self, ApiRequest, HeaderContext, Service};
use super::retry::{self, Failure, RetryPolicy, Verdict};
use super::transport_log::{error_chain, log_exchange};
use crate::sign;

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

/// The transport-level outcome of one attempt.
enum Attempt {
    Answered {
        status: u16,
        body: Vec<u8>,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    },
    Failed {
        connect: bool,
        timeout: bool,
        detail: String,
    },
}

/// An attempt judged: the expected answer, or the error, the policy's verdict on it and the
/// server's `Retry-After`.
enum Judged {
    Done(Response),
    Failed(CloudError, Verdict, Option<Duration>),
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
        Client::with_limiter(config, credentials, options, limiter)
    }

    /// A client whose requests share `limiter` with other clients (see
    /// [`super::ClientFactory`]); `options`' own rate settings are not used.
    pub(crate) fn with_limiter(
        config: &CloudConfig,
        credentials: Credentials,
        options: ClientOptions,
        limiter: Arc<RateLimiter>,
    ) -> Result<Client, CloudError> {
        let endpoints = Endpoints::from_config(config)?;
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
            let (error, verdict, retry_after) = match self.judge(request, expect, attempt) {
                Judged::Done(response) => return Ok(response),
                Judged::Failed(error, verdict, retry_after) => (error, verdict, retry_after),
            };
            let unit = rand::random::<f64>();
            let delay = match verdict {
                Verdict::Fail => return Err(error),
                Verdict::OutcomeUnknown => {
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

    /// The response when its status is expected, else the error, what the policy says about
    /// it, and the server's `Retry-After`.
    fn judge(&self, request: &ApiRequest, expect: &[u16], attempt: Attempt) -> Judged {
        match attempt {
            Attempt::Answered { status, body, .. } if expect.contains(&status) => {
                Judged::Done(Response { status, body })
            }
            Attempt::Answered { status, .. } if (200..300).contains(&status) => Judged::Failed(
                unexpected_success(request, status, expect),
                Verdict::Fail,
                None,
            ),
            Attempt::Answered {
                status,
                body,
                request_id,
                retry_after,
            } => {
                let failure = ApiFailure::parse(status, &body, request_id);
                let code = failure.code.as_str();
                let verdict = retry::classify(Failure::Status { status, code }, request.idempotent);
                let token = matches!(self.credentials, Credentials::Token { .. });
                let error = failure.into_error(request.operation, token);
                Judged::Failed(error, verdict, retry_after)
            }
            Attempt::Failed {
                connect,
                timeout,
                detail,
            } => self.transport_failure(request, connect, timeout, detail),
        }
    }

    fn transport_failure(
        &self,
        request: &ApiRequest,
        connect: bool,
        timeout: bool,
        detail: String,
    ) -> Judged {
        let failure = if connect {
            Failure::Connect
        } else {
            Failure::Lost
        };
        let detail = if connect {
            let setting = match request.service {
                Service::Ims => "endpoint",
                Service::Iam => "iam_endpoint",
            };
            format!(
                "{detail} ({})",
                super::error::connect_hint(&detail, setting)
            )
        } else {
            detail
        };
        let error = if timeout {
            CloudError::Timeout {
                what: request.operation.to_owned(),
                after: self.retry.attempt_timeout,
            }
        } else {
            CloudError::Transport {
                operation: request.operation,
                host: self.endpoint(request.service).host.clone(),
                detail,
            }
        };
        Judged::Failed(error, retry::classify(failure, request.idempotent), None)
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

    async fn attempt(&self, request: &ApiRequest, project_id: Option<&str>) -> Attempt {
        let now = (self.clock)();
        let builder = self.build(request, project_id, now);
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        let result = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let request_id = header("x-request-id");
            let retry_after = header("retry-after").and_then(|v| retry::parse_retry_after(&v, now));
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, body, request_id, retry_after))
        }
        .await;
        log_exchange(request, sent_at.elapsed(), &result);
        match result {
            Ok((status, body, request_id, retry_after)) => Attempt::Answered {
                status,
                body,
                request_id,
                retry_after,
            },
            Err(err) => Attempt::Failed {
                connect: err.is_connect(),
                timeout: err.is_timeout(),
                detail: error_chain(&err),
            },
        }
    }
}

/// A 2xx other than the expected one: for a create or register the cloud may have acted, so
/// the outcome is unknown; for anything else the answer is unreadable.
fn unexpected_success(request: &ApiRequest, status: u16, expect: &[u16]) -> CloudError {
    let detail = format!("expected HTTP {expect:?}, got {status}");
    if request.idempotent {
        CloudError::Protocol {
            operation: request.operation,
            status,
            detail,
        }
    } else {
        CloudError::OutcomeUnknown {
            operation: request.operation,
            detail,
        }
    }
}

/// Header pairs into a `HeaderMap`, secrets marked sensitive (hidden from `Debug`). Pairs that
/// are not valid header text are dropped; the cloud then rejects the request as unauthenticated.
fn header_map(headers: Vec<(String, String)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            let secret = ["authorization", "x-auth-token", "x-security-token"];
            value.set_sensitive(secret.contains(&name.as_str()));
            map.append(name, value);
        }
    }
    map
}
