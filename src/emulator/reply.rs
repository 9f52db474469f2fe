//! The two error families IMS answers with (ims-api.md section 2.1): IMS service errors
//! `{"error":{"code","message"}}` and API-gateway errors `{"error_code","error_msg","request_id"}`.
//! Owns the rendering of errors and the one parser of JSON request bodies ([`parse_body`],
//! whose failures are IMS errors); deciding when to fail belongs to the handlers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request id: 32 lower-case hex digits, carried by every response's `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> Self {
        RequestId(uuid::Uuid::new_v4().simple().to_string())
    }
}

/// An error response in one of the two families.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"error":{"code":"IMG.xxxx","message":…}}`.
    Ims {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// `{"error_code":"APIG.xxxx","error_msg":…,"request_id":…}`.
    Gateway {
        status: StatusCode,
        code: &'static str,
        message: String,
        request_id: String,
        retry_after: Option<u64>,
    },
}

impl ApiError {
    /// A 400 IMS error.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Ims {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 404 IMS error.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Ims {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
        }
    }

    /// The image does not exist (404 IMG.0027).
    pub fn no_image(id: &str) -> Self {
        ApiError::not_found("IMG.0027", format!("The image {id} does not exist."))
    }

    /// A gateway error.
    pub fn gateway(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        request_id: &RequestId,
    ) -> Self {
        ApiError::Gateway {
            status,
            code,
            message: message.into(),
            request_id: request_id.0.clone(),
            retry_after: None,
        }
    }

    /// 401 APIG.0301 with a sub-message, as the gateway words it.
    pub fn unauthorized(detail: &str, request_id: &RequestId) -> Self {
        ApiError::gateway(
            StatusCode::UNAUTHORIZED,
            "APIG.0301",
            format!("Incorrect IAM authentication information: {detail}"),
            request_id,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Ims {
                status,
                code,
                message,
            } => (
                status,
                axum::Json(json!({"error": {"code": code, "message": message}})),
            )
                .into_response(),
            ApiError::Gateway {
                status,
                code,
                message,
                request_id,
                retry_after,
            } => {
                let body =
                    json!({"error_code": code, "error_msg": message, "request_id": request_id});
                let mut response = (status, axum::Json(body)).into_response();
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
        }
    }
}

/// Handler results.
pub type Reply = Result<Response, ApiError>;

/// Parses a JSON body, mapping an empty body to IMG.0007 and bad JSON to IMG.0001.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad("IMG.0007", "The request body is empty."));
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad("IMG.0001", format!("The request is malformed: {error}")))
}
