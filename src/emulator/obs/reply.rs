//! OBS answers: the XML error body (`<Error><Code>…</Code><Message>…</Message>…`) with its
//! status, and the headers every answer carries (request ids in the request's dialect). HEAD
//! answers carry no body, as OBS sends none. Owns no state.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::obs::{Family, xml};

/// An OBS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra elements (escaped XML), e.g. `<StringToSign>` for a signature mismatch.
    pub extra: String,
}

impl ObsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ObsError {
        ObsError {
            status,
            code,
            message: message.into(),
            extra: String::new(),
        }
    }

    pub fn bad(code: &'static str, message: impl Into<String>) -> ObsError {
        ObsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ObsError {
        ObsError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn no_bucket(bucket: &str) -> ObsError {
        ObsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            format!("The specified bucket {bucket} does not exist"),
        )
    }

    pub fn no_key() -> ObsError {
        ObsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    }

    pub fn no_upload() -> ObsError {
        ObsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified multipart upload does not exist.",
        )
    }

    /// A failure of the emulator's own disk.
    pub fn internal(error: &std::io::Error) -> ObsError {
        ObsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("We encountered an internal error ({error}). Please try again."),
        )
    }

    /// The answer: XML, or no body for HEAD.
    pub fn render(self, head: bool, context: &Context) -> Response {
        let body = if head {
            Body::empty()
        } else {
            Body::from(xml::document(
                "Error",
                &format!(
                    "{}{}{}{}{}",
                    xml::leaf("Code", self.code),
                    xml::leaf("Message", &self.message),
                    xml::leaf("RequestId", &context.request_id),
                    xml::leaf("HostId", &context.host_id()),
                    self.extra
                ),
            ))
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        if !head {
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        context.stamp(&mut response);
        response
    }
}

/// What every answer to one request carries.
#[derive(Debug, Clone)]
pub struct Context {
    pub request_id: String,
    pub family: Family,
}

impl Context {
    pub fn new(family: Family) -> Context {
        Context {
            request_id: uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase(),
            family,
        }
    }

    fn host_id(&self) -> String {
        format!("emulator-{}", self.request_id.to_ascii_lowercase())
    }

    /// Adds the request id headers in the request's dialect.
    pub fn stamp(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            headers.insert(self.family.request_id_header(), value);
        }
        let id2 = match self.family {
            Family::Obs => "x-obs-id-2",
            Family::Aws => "x-amz-id-2",
        };
        if let Ok(value) = HeaderValue::from_str(&self.host_id()) {
            headers.insert(id2, value);
        }
        headers.insert(header::SERVER, HeaderValue::from_static("OBS"));
    }
}

/// Handler results.
pub type Reply = Result<Response, ObsError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_xml_except_for_head() {
        let context = Context::new(Family::Obs);
        let response = ObsError::no_key().render(false, &context);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().contains_key("x-obs-request-id"));
        let head = ObsError::no_key().render(true, &Context::new(Family::Aws));
        assert!(head.headers().contains_key("x-amz-request-id"));
        assert!(!head.headers().contains_key(header::CONTENT_TYPE));
    }
}
