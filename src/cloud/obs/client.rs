//! [`ObsClient`]: the transport of OBS requests, as [`crate::cloud::Client`] is IMS's. It
//! signs each attempt with the injected clock and the same HW credentials (AK/SK, with the
//! security token of temporary credentials), streams file bodies from disk counting the bytes
//! sent, applies the retry policy of `cloud::retry` (5xx, 429/`SlowDown`, dropped answers for
//! idempotent requests; never 403), reads OBS's XML errors into [`CloudError`], and logs one
//! `-vv` line per attempt without a header value.

use std::io::SeekFrom;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::time::Instant;
use tokio_util::io::ReaderStream;

use super::endpoint::ObsEndpoint;
use super::request::{ObsRequest, Payload, encoded, signing_headers};
use super::wire::{header_map, log_attempt, read_error};
use crate::cloud::error::connect_hint;
use crate::cloud::retry::{self, Failure, RetryPolicy, Verdict};
use crate::cloud::{Clock, CloudError, Credentials};
use crate::obs::sign;
use crate::upload::Progress;

/// The chunk a file body is read in.
const CHUNK: usize = 256 * 1024;

/// An answer with an expected status.
#[derive(Debug)]
pub struct ObsResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The OBS client of one region. `Debug` never shows a secret.
pub struct ObsClient {
    http: reqwest::Client,
    access_key: String,
    secret_key: String,
    security_token: Option<String>,
    endpoint: ObsEndpoint,
    retry: RetryPolicy,
    clock: Clock,
    sent: AtomicU64,
}

impl std::fmt::Debug for ObsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObsClient")
            .field("access_key", &self.access_key)
            .field("endpoint", &self.endpoint)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Answered {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    Failed {
        connect: bool,
        timeout: bool,
        detail: String,
    },
}

impl ObsClient {
    /// A client of `endpoint`. OBS signs with AK/SK only: an IAM token cannot sign its requests.
    /// With `insecure`, TLS certificates are not verified.
    pub fn new(
        endpoint: ObsEndpoint,
        credentials: &Credentials,
        retry: RetryPolicy,
        clock: Clock,
        insecure: bool,
    ) -> Result<ObsClient, CloudError> {
        let Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } = credentials
        else {
            return Err(CloudError::Config(
                "uploading to OBS needs AK/SK credentials (HW_ACCESS_KEY and HW_SECRET_KEY): OBS \
                 does not accept an IAM token (HW_AUTH_TOKEN)"
                    .into(),
            ));
        };
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(insecure)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(retry.attempt_timeout))
            .build()
            .map_err(|err| CloudError::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(ObsClient {
            http,
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            security_token: security_token.clone(),
            endpoint,
            retry,
            clock,
            sent: AtomicU64::new(0),
        })
    }

    /// Requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn endpoint(&self) -> &ObsEndpoint {
        &self.endpoint
    }

    /// Sends `request`, retrying per the policy, and returns the answer when its status is one
    /// of `expect`. Bytes of file bodies are counted into `progress` as they stream, and taken
    /// back when an attempt fails.
    pub async fn send(
        &self,
        request: &ObsRequest,
        expect: &[u16],
        progress: Option<&Arc<Progress>>,
    ) -> Result<ObsResponse, CloudError> {
        let start = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let streamed = Arc::new(AtomicU64::new(0));
            let attempt = self.attempt(request, progress, &streamed).await;
            let (error, verdict) = match self.judge(request, expect, attempt) {
                Ok(response) => return Ok(response),
                Err(judged) => judged,
            };
            if let Some(progress) = progress {
                progress.take_back(streamed.load(Ordering::Relaxed));
            }
            let unit = rand::random::<f64>();
            let delay = match verdict {
                Verdict::Fail => return Err(error),
                Verdict::OutcomeUnknown => {
                    return Err(CloudError::OutcomeUnknown {
                        operation: request.operation,
                        detail: error.to_string(),
                    });
                }
                Verdict::Retry => self
                    .retry
                    .next_delay(attempts - 1, start.elapsed(), None, unit),
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

    fn judge(
        &self,
        request: &ObsRequest,
        expect: &[u16],
        attempt: Attempt,
    ) -> Result<ObsResponse, (CloudError, Verdict)> {
        match attempt {
            Attempt::Answered {
                status,
                headers,
                body,
            } if expect.contains(&status) => Ok(ObsResponse {
                status,
                headers,
                body,
            }),
            Attempt::Answered {
                status,
                headers,
                body,
            } => {
                let error = read_error(request.operation, status, &headers, &body);
                let code = error.code().unwrap_or_default().to_owned();
                let code = if code == "SlowDown" {
                    "APIG.0308"
                } else {
                    code.as_str()
                };
                let verdict = retry::classify(Failure::Status { status, code }, request.idempotent);
                Err((error, verdict))
            }
            Attempt::Failed {
                connect,
                timeout,
                detail,
            } => {
                let failure = if connect {
                    Failure::Connect
                } else {
                    Failure::Lost
                };
                let error = if timeout {
                    CloudError::Timeout {
                        what: request.operation.to_owned(),
                        after: self.retry.attempt_timeout,
                    }
                } else {
                    let detail = if connect {
                        format!("{detail} ({})", connect_hint(&detail, "obs_endpoint"))
                    } else {
                        detail
                    };
                    let host = self.endpoint.locate(&request.bucket, "").host;
                    CloudError::Transport {
                        operation: request.operation,
                        host,
                        detail,
                    }
                };
                Err((error, retry::classify(failure, request.idempotent)))
            }
        }
    }

    async fn attempt(
        &self,
        request: &ObsRequest,
        progress: Option<&Arc<Progress>>,
        streamed: &Arc<AtomicU64>,
    ) -> Attempt {
        let located = self
            .endpoint
            .locate(&request.bucket, &encoded(&request.key));
        let date = (self.clock)().format(sign::DATE_FORMAT).to_string();
        let credentials = (
            self.access_key.as_str(),
            self.secret_key.as_str(),
            self.security_token.as_deref(),
        );
        let mut headers = request.headers.clone();
        headers.extend(signing_headers(
            request,
            &located.resource,
            credentials,
            &date,
        ));
        let mut url = located.url;
        let query = request.query_string();
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut builder = self
            .http
            .request(method, url)
            .headers(header_map(headers))
            .timeout(self.retry.attempt_timeout);
        builder = match body(&request.payload, progress.cloned(), Arc::clone(streamed)).await {
            Ok(Some(body)) => builder
                .header(reqwest::header::CONTENT_LENGTH, request.payload.length())
                .body(body),
            Ok(None) => builder,
            Err(error) => {
                return Attempt::Failed {
                    connect: true,
                    timeout: false,
                    detail: error.to_string(),
                };
            }
        };
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        let result = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, headers, body))
        }
        .await;
        log_attempt(request, sent_at.elapsed(), &result);
        match result {
            Ok((status, headers, body)) => Attempt::Answered {
                status,
                headers,
                body,
            },
            Err(err) => Attempt::Failed {
                connect: err.is_connect(),
                timeout: err.is_timeout(),
                detail: crate::cloud::transport_log::error_chain(&err),
            },
        }
    }
}

/// The request body of one attempt: bytes, or the file range streamed in chunks, each
/// counted into `progress` and `streamed` as it leaves.
async fn body(
    payload: &Payload,
    progress: Option<Arc<Progress>>,
    streamed: Arc<AtomicU64>,
) -> std::io::Result<Option<reqwest::Body>> {
    match payload {
        Payload::Empty => Ok(None),
        Payload::Bytes(bytes) => Ok(Some(reqwest::Body::from(bytes.clone()))),
        Payload::File { path, offset, len } => {
            let mut file = tokio::fs::File::open(path).await?;
            file.seek(SeekFrom::Start(*offset)).await?;
            let stream = ReaderStream::with_capacity(file.take(*len), CHUNK).map(move |chunk| {
                if let Ok(chunk) = &chunk {
                    let size = chunk.len() as u64;
                    streamed.fetch_add(size, Ordering::Relaxed);
                    if let Some(progress) = &progress {
                        progress.add(size);
                    }
                }
                chunk
            });
            Ok(Some(reqwest::Body::wrap_stream(stream)))
        }
    }
}
