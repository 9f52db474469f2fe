//! [`CloudError`], the one error type of the cloud module, and the pure reading of error
//! responses in every family IMS, the API gateway and IAM use (ims-api.md section 2.1).
//! It never includes a secret, a signature or an `Authorization` header in a message.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

/// A failed exchange with the cloud. Callers branch on the variant.
#[derive(Debug, Error)]
pub enum CloudError {
    /// The cloud answered with an error (IMS `{"error":{code,message}}`, gateway or IAM
    /// `{error_code,error_msg}`); `code` falls back to the HTTP status when the body has none.
    #[error("{operation}: the cloud answered HTTP {status} {code}: {message}{}", request_id_suffix(.request_id))]
    Api {
        operation: &'static str,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// Authentication failed (HTTP 401, or 403 from the gateway or IAM). Never retried.
    #[error("{hint} ({code}, HTTP {status}: {message}){}", request_id_suffix(.request_id))]
    Auth {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        /// What to check, e.g. "the cloud rejected the request signature: check HW_SECRET_KEY".
        hint: String,
    },
    /// The request could not be completed at the transport level.
    #[error("{operation}: cannot reach {host}: {detail}")]
    Transport {
        operation: &'static str,
        host: String,
        detail: String,
    },
    /// A request or a wait ran past its deadline.
    #[error("{what} timed out after {}", humantime::format_duration(*.after))]
    Timeout { what: String, after: Duration },
    /// A non-idempotent request (create, register) was sent but its answer was lost. It is
    /// never re-sent blindly: the caller finds out what happened (create: by its token tag).
    #[error(
        "{operation}: the request was sent but its outcome is unknown ({detail}); it was not re-sent"
    )]
    OutcomeUnknown {
        operation: &'static str,
        detail: String,
    },
    /// No request to the endpoint was answered for `[cloud] unresponsive_timeout`: the run
    /// stops waiting on it (every attempt to it ends, and none is sent any more).
    #[error(
        "{endpoint} stopped answering: no request to it was answered for {} (`[cloud] \
         unresponsive_timeout`)",
        whole_seconds(*.silent_for)
    )]
    Unresponsive {
        endpoint: String,
        silent_for: Duration,
    },
    /// Retryable failures went on past the retry budget.
    #[error("gave up after {attempts} attempts: {last}")]
    BudgetExhausted {
        attempts: u32,
        last: Box<CloudError>,
    },
    /// Unusable configuration or credentials (nothing was sent).
    #[error("{0}")]
    Config(String),
    /// The cloud answered something this client cannot read.
    #[error("{operation}: unexpected response (HTTP {status}): {detail}")]
    Protocol {
        operation: &'static str,
        status: u16,
        detail: String,
    },
}

impl CloudError {
    /// The IMS/gateway error code, when the cloud gave one (looks through `BudgetExhausted`).
    pub fn code(&self) -> Option<&str> {
        match self {
            CloudError::Api { code, .. } | CloudError::Auth { code, .. } => Some(code),
            CloudError::BudgetExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    /// The HTTP status, when the cloud answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CloudError::Api { status, .. }
            | CloudError::Auth { status, .. }
            | CloudError::Protocol { status, .. } => Some(*status),
            CloudError::BudgetExhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

/// `45 s`: a silence as messages show it.
pub fn whole_seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs())
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" [request id {id}]"))
        .unwrap_or_default()
}

/// An error response as read from the wire, before it becomes a [`CloudError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl ApiFailure {
    /// Reads `body` as the SDK does: `error_code`/`error_msg`, `errorCode`/`errorMsg`,
    /// `code`/`message`, else recursing into nested objects; a non-JSON body is the message.
    /// `header_request_id` (`X-Request-Id`) wins over a body `request_id`.
    pub fn parse(status: u16, body: &[u8], header_request_id: Option<String>) -> ApiFailure {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let found = json.as_ref().and_then(find_code_and_message);
        let body_request_id = json
            .as_ref()
            .and_then(|v| v.get("request_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (code, message) = found.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            (status.to_string(), truncate(&text, 300))
        });
        let message = redact_canonical_request(&message);
        ApiFailure {
            status,
            code,
            message,
            request_id: header_request_id.or(body_request_id),
        }
    }

    /// The typed error: 401 (and gateway/IAM 403 codes) become [`CloudError::Auth`] with a
    /// hint naming what to check; everything else is [`CloudError::Api`].
    pub fn into_error(self, operation: &'static str, token_auth: bool) -> CloudError {
        let gateway = self.code.starts_with("APIG") || self.code.starts_with("IAM");
        if self.status == 401 || (self.status == 403 && gateway) {
            let hint = auth_hint(&self.message, token_auth);
            return CloudError::Auth {
                status: self.status,
                code: self.code,
                message: self.message,
                request_id: self.request_id,
                hint,
            };
        }
        CloudError::Api {
            operation,
            status: self.status,
            code: self.code,
            message: self.message,
            request_id: self.request_id,
        }
    }
}

/// What a connection failure most likely means, from the transport's error chain; `setting`
/// names the configuration key of the endpoint that failed (`endpoint` or `iam_endpoint`).
pub(crate) fn connect_hint(detail: &str, setting: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("dns") || lower.contains("resolve") || lower.contains("name or service") {
        format!("the host name does not resolve: check [cloud] {setting} and region")
    } else if lower.contains("refused") {
        format!(
            "nothing accepts connections there: check [cloud] {setting} and that the service is up"
        )
    } else if ["tls", "certificate", "handshake", "corrupt message"]
        .iter()
        .any(|word| lower.contains(word))
    {
        "the TLS handshake failed: check that the endpoint speaks https, or its certificate".into()
    } else {
        format!("check [cloud] {setting}, the network and any proxy")
    }
}

fn auth_hint(message: &str, token_auth: bool) -> String {
    let lower = message.to_ascii_lowercase();
    if token_auth {
        "the cloud rejected the token: HW_AUTH_TOKEN is invalid or has expired (tokens last 24 h)"
            .into()
    } else if lower.contains("expired") || lower.contains("signature time") {
        "the cloud rejected the request time: check this machine's clock (X-Sdk-Date must be \
         within 15 minutes of the cloud's)"
            .into()
    } else if lower.contains("ak not exist") || lower.contains("secretkey failed") {
        "the cloud does not know this access key: check HW_ACCESS_KEY".into()
    } else if lower.contains("security") && lower.contains("token") {
        "the cloud rejected the temporary credentials: HW_SECURITY_TOKEN is invalid or expired"
            .into()
    } else if lower.contains("project") {
        "the cloud does not know this project: check HW_PROJECT_ID (or [cloud] project_id), or \
         leave it unset so that imsform looks the project up for the region"
            .into()
    } else if lower.contains("limit") || lower.contains("forbidden") {
        "the access key is locked after repeated authentication failures: wait 5 minutes and \
         check HW_SECRET_KEY"
            .into()
    } else {
        "the cloud rejected the request signature: check HW_SECRET_KEY".into()
    }
}

/// Gateways may echo the canonical request (`… canonicalRequest:<text>`), which holds every
/// signed header's value, `X-Security-Token` included: cut it off.
fn redact_canonical_request(message: &str) -> String {
    match message.find("canonicalRequest") {
        Some(at) => format!("{}canonicalRequest:<redacted>", &message[..at]),
        None => message.to_owned(),
    }
}

fn find_code_and_message(value: &Value) -> Option<(String, String)> {
    let object = value.as_object()?;
    for (code_key, msg_key) in [
        ("error_code", "error_msg"),
        ("errorCode", "errorMsg"),
        ("code", "message"),
    ] {
        if let Some(code) = object.get(code_key).and_then(scalar_text) {
            let message = object
                .get(msg_key)
                .and_then(scalar_text)
                .unwrap_or_default();
            return Some((code, message));
        }
    }
    object.values().find_map(find_code_and_message)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ims_family_nested_error() {
        let failure = ApiFailure::parse(
            400,
            br#"{"error":{"message":"The imagetype is invalid.","code":"IMG.0024"}}"#,
            Some("abc".into()),
        );
        assert_eq!(failure.code, "IMG.0024");
        assert_eq!(failure.message, "The imagetype is invalid.");
        assert_eq!(failure.request_id.as_deref(), Some("abc"));
    }

    #[test]
    fn gateway_family_with_body_request_id() {
        let failure = ApiFailure::parse(
            429,
            br#"{"error_msg":"The throttling threshold has been reached","error_code":"APIG.0308","request_id":"r1"}"#,
            None,
        );
        assert_eq!(
            (failure.code.as_str(), failure.request_id.as_deref()),
            ("APIG.0308", Some("r1"))
        );
    }

    #[test]
    fn camel_case_and_plain_text_bodies() {
        let camel = ApiFailure::parse(403, br#"{"errorCode":"X.1","errorMsg":"no"}"#, None);
        assert_eq!((camel.code.as_str(), camel.message.as_str()), ("X.1", "no"));
        let text = ApiFailure::parse(502, b"<html>Bad Gateway</html>", None);
        assert_eq!(text.code, "502");
        assert_eq!(text.message, "<html>Bad Gateway</html>");
    }

    #[test]
    fn wrong_secret_names_the_variable() {
        let failure = ApiFailure::parse(
            401,
            br#"{"error_msg":"Incorrect IAM authentication information: verify aksk signature fail","error_code":"APIG.0301"}"#,
            Some("rid".into()),
        );
        let err = failure.into_error("list images", false);
        let text = err.to_string();
        assert!(matches!(err, CloudError::Auth { .. }));
        assert!(
            text.starts_with(
                "the cloud rejected the request signature: check HW_SECRET_KEY (APIG.0301"
            ),
            "{text}"
        );
        assert!(text.contains("rid"), "{text}");
    }

    #[test]
    fn auth_hints_by_cause() {
        let hint = |msg: &str, token| match ApiFailure::parse(401, msg.as_bytes(), None)
            .into_error("op", token)
        {
            CloudError::Auth { hint, .. } => hint,
            other => panic!("{other:?}"),
        };
        assert!(hint("signature expired, signature time:x", false).contains("clock"));
        assert!(hint("Get secretKey failed, ak not exist", false).contains("HW_ACCESS_KEY"));
        assert!(hint("decrypt token fail", true).contains("HW_AUTH_TOKEN"));
        let project = hint("the project in X-Project-Id does not exist", false);
        assert!(project.contains("HW_PROJECT_ID"), "{project}");
        assert!(!project.contains("HW_SECRET_KEY"), "{project}");
    }

    #[test]
    fn connection_failures_are_explained_by_cause() {
        let refused =
            "client error (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(
            connect_hint(refused, "iam_endpoint"),
            "nothing accepts connections there: check [cloud] iam_endpoint and that the \
             service is up"
        );
        let dns = "client error (Connect): dns error: failed to lookup address information";
        assert_eq!(
            connect_hint(dns, "endpoint"),
            "the host name does not resolve: check [cloud] endpoint and region"
        );
        let tls = "client error (Connect): received corrupt message of type InvalidContentType";
        assert!(connect_hint(tls, "endpoint").starts_with("the TLS handshake failed"));
        let other = "client error (Connect): operation timed out";
        assert_eq!(
            connect_hint(other, "endpoint"),
            "check [cloud] endpoint, the network and any proxy"
        );
        let handshake = "invalid peer certificate: UnknownIssuer";
        assert!(connect_hint(handshake, "endpoint").starts_with("the TLS handshake failed"));
    }

    #[test]
    fn echoed_canonical_requests_are_redacted() {
        let failure = ApiFailure::parse(
            401,
            br#"{"error_code":"APIGW.0303","error_msg":"verify signature fail, canonicalRequest:GET\n/\nx-security-token:SECRET"}"#,
            None,
        );
        assert_eq!(
            failure.message,
            "verify signature fail, canonicalRequest:<redacted>"
        );
    }

    #[test]
    fn ims_400_is_api_error_with_code() {
        let err = ApiFailure::parse(
            400,
            br#"{"error":{"code":"IMG.0056","message":"bad os"}}"#,
            None,
        )
        .into_error("create image", false);
        assert_eq!(err.code(), Some("IMG.0056"));
        assert_eq!(err.status(), Some(400));
        assert_eq!(
            err.to_string(),
            "create image: the cloud answered HTTP 400 IMG.0056: bad os"
        );
    }
}
