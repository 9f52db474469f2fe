//! One attempt of a request and its judgement, for [`super::Client`]: the exchange itself
//! (timed by `[cloud] request_timeout`, ended early when the endpoint becomes unresponsive),
//! what the retry policy says about its outcome, and the notices of attempts that got no
//! answer (the apply's progress shows them; `-v` logs them). Never a header in a message: the
//! signature and tokens live there.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{Client, Response};
use crate::cloud::CloudError;
use crate::cloud::credentials::Credentials;
use crate::cloud::error::ApiFailure;
use crate::cloud::liveness::Unresponsive;
use crate::cloud::request::{ApiRequest, Service};
use crate::cloud::retry::{self, Failure, Verdict};
use crate::cloud::transport_log::{error_chain, log_exchange};

/// The transport-level outcome of one attempt.
pub(super) enum Attempt {
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
    /// The endpoint is unresponsive: the attempt was ended (`sent`) or never sent.
    Unresponsive {
        unresponsive: Unresponsive,
        sent: bool,
    },
}

impl Attempt {
    /// Whether the endpoint gave no answer at all.
    pub(super) fn unanswered(&self) -> bool {
        !matches!(self, Attempt::Answered { .. })
    }
}

/// An attempt judged: the expected answer, or the error, the policy's verdict on it and the
/// server's `Retry-After`.
pub(super) enum Judged {
    Done(Response),
    Failed(CloudError, Verdict, Option<Duration>),
}

impl Client {
    /// Sends one attempt of `request`, unless its endpoint is already unresponsive.
    pub(super) async fn attempt(&self, request: &ApiRequest, project_id: Option<&str>) -> Attempt {
        let live = match self.tracker(request.service).begin() {
            Ok(live) => live,
            Err(unresponsive) => {
                let sent = false;
                return Attempt::Unresponsive { unresponsive, sent };
            }
        };
        let now = (self.clock)();
        let builder = self.build(request, project_id, now);
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sent_at = Instant::now();
        let exchange = async {
            let response = builder.send().await?;
            live.answered();
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
        };
        let result = tokio::select! {
            result = exchange => result,
            unresponsive = live.expired() => {
                let (method, path) = (request.method, &request.path);
                let ms = sent_at.elapsed().as_millis();
                tracing::debug!("{method} {path} -> ended in {ms}ms: {} stopped answering",
                    unresponsive.endpoint);
                return Attempt::Unresponsive { unresponsive, sent: true };
            }
        };
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

    /// The response when its status is expected, else the error, what the policy says about
    /// it, and the server's `Retry-After`.
    pub(super) fn judge(&self, request: &ApiRequest, expect: &[u16], attempt: Attempt) -> Judged {
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
            Attempt::Unresponsive { unresponsive, sent } => {
                // A create or register that was on its way may have been taken: the caller
                // must find out, never send it again blindly.
                let verdict = if sent && !request.idempotent {
                    Verdict::OutcomeUnknown
                } else {
                    Verdict::Fail
                };
                let error = CloudError::Unresponsive {
                    endpoint: unresponsive.endpoint,
                    silent_for: unresponsive.silent_for,
                };
                Judged::Failed(error, verdict, None)
            }
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
                crate::cloud::error::connect_hint(&detail, setting)
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

    /// Tells the run about an attempt that got no answer: `IMS (https://…): list private
    /// images timed out after 1m (attempt 2); retrying in 1.3 s`.
    pub(super) fn notice(
        &self,
        request: &ApiRequest,
        unanswered: bool,
        attempt: u32,
        error: &CloudError,
        retry_in: Option<Duration>,
    ) {
        if !unanswered || matches!(error, CloudError::Unresponsive { .. }) {
            return;
        }
        let next = match retry_in {
            Some(delay) => format!("retrying in {:.1} s", delay.as_secs_f64()),
            None if request.idempotent => "not retried".to_owned(),
            None => "not re-sent: its outcome is looked up".to_owned(),
        };
        let label = self.tracker(request.service).label();
        let line = format!("{label}: {error} (attempt {attempt}); {next}");
        if retry_in.is_none() {
            // A retry is logged by the retry loop.
            tracing::info!("{line}");
        }
        self.liveness.notice(line);
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
pub(super) fn header_map(headers: Vec<(String, String)>) -> HeaderMap {
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
