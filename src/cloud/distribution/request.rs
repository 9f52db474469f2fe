//! Pure request builders for members and copies: the official SDK's paths and body fields
//! (ims-distribution.md section 5), absent optional fields left out.

use serde_json::{Map, Value, json};

use super::{Answer, CopyInRegion, CopyToRegion};
use crate::cloud::request::{ApiRequest, segment};

/// The member list and copy page size the API allows at most (limit 1-1000).
pub const MEMBER_PAGE_MAX: usize = 1000;

fn members_body(images: &[String], projects: &[String]) -> Value {
    json!({"images": images, "projects": projects})
}

/// `POST /v1/cloudimages/members`: share `images` with `projects`; a job.
pub fn add_members(images: &[String], projects: &[String]) -> ApiRequest {
    let path = "/v1/cloudimages/members".to_owned();
    ApiRequest::new("share images", "POST", path).with_json(&members_body(images, projects))
}

/// `DELETE /v1/cloudimages/members` with a JSON body: stop sharing; a job.
pub fn remove_members(images: &[String], projects: &[String]) -> ApiRequest {
    let path = "/v1/cloudimages/members".to_owned();
    ApiRequest::new("stop sharing images", "DELETE", path)
        .with_json(&members_body(images, projects))
}

/// `PUT /v1/cloudimages/members`: the consumer `project_id` answers for `images`; a job.
pub fn answer_members(images: &[String], project_id: &str, answer: Answer) -> ApiRequest {
    let status = match answer {
        Answer::Accept => "accepted",
        Answer::Reject => "rejected",
    };
    let body = json!({"images": images, "project_id": project_id, "status": status});
    let path = "/v1/cloudimages/members".to_owned();
    ApiRequest::new("answer image shares", "PUT", path).with_json(&body)
}

/// `GET /v1/{project_id}/cloudimages/{image_id}/members`, one page.
pub fn list_members(
    project_id: &str,
    image_id: &str,
    limit: usize,
    marker: Option<&str>,
) -> ApiRequest {
    let path = format!(
        "/v1/{}/cloudimages/{}/members",
        segment(project_id),
        segment(image_id)
    );
    let mut request = ApiRequest::new("list image members", "GET", path);
    request.query = vec![("limit".into(), limit.clamp(1, MEMBER_PAGE_MAX).to_string())];
    if let Some(marker) = marker {
        request.query.push(("marker".into(), marker.into()));
    }
    request
}

/// Adds `description` when there is one.
fn described(mut body: Map<String, Value>, description: Option<&String>) -> Value {
    if let Some(text) = description {
        body.insert("description".into(), text.clone().into());
    }
    Value::Object(body)
}

/// `POST /v1/cloudimages/{image_id}/copy`; a job. Not idempotent: a resend is a second copy.
pub fn copy_in_region(image_id: &str, copy: &CopyInRegion) -> ApiRequest {
    let mut body = Map::new();
    body.insert("name".into(), copy.name.clone().into());
    let path = format!("/v1/cloudimages/{}/copy", segment(image_id));
    let mut request = ApiRequest::new("copy image", "POST", path)
        .with_json(&described(body, copy.description.as_ref()));
    request.idempotent = false;
    request
}

/// `POST /v1/cloudimages/{image_id}/cross_region_copy`; a job in this (the source) region.
/// Not idempotent.
pub fn copy_to_region(image_id: &str, copy: &CopyToRegion) -> ApiRequest {
    let mut body = Map::new();
    body.insert("agency_name".into(), copy.agency_name.clone().into());
    body.insert("name".into(), copy.name.clone().into());
    body.insert("project_name".into(), copy.project_name.clone().into());
    body.insert("region".into(), copy.region.clone().into());
    let path = format!("/v1/cloudimages/{}/cross_region_copy", segment(image_id));
    let mut request = ApiRequest::new("copy image to another region", "POST", path)
        .with_json(&described(body, copy.description.as_ref()));
    request.idempotent = false;
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(request: &ApiRequest) -> String {
        String::from_utf8(request.body.clone().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn member_bodies_are_the_sdks() {
        let images = ["i1".to_owned(), "i2".to_owned()];
        let add = add_members(&images, &["p2".to_owned()]);
        assert_eq!(body(&add), r#"{"images":["i1","i2"],"projects":["p2"]}"#);
        assert!(
            add.idempotent,
            "a member batch is a set: resending converges"
        );
        let remove = remove_members(&images, &["p2".to_owned()]);
        assert_eq!((remove.method, body(&remove)), ("DELETE", body(&add)));
        assert_eq!(remove.content_type, "application/json;charset=utf-8");
        let answer = answer_members(&images[..1], "me", Answer::Reject);
        assert_eq!(
            body(&answer),
            r#"{"images":["i1"],"project_id":"me","status":"rejected"}"#
        );
        let list = list_members("p", "i", 5000, Some("m"));
        assert_eq!(list.path, "/v1/p/cloudimages/i/members");
        assert_eq!(list.query_string(), "limit=1000&marker=m");
    }

    #[test]
    fn copies_are_not_resent_and_leave_out_absent_descriptions() {
        let copy = CopyInRegion {
            name: "n".into(),
            description: None,
        };
        let request = copy_in_region("src", &copy);
        assert_eq!(body(&request), r#"{"name":"n"}"#);
        assert!(!request.idempotent);
        let cross = CopyToRegion {
            name: "n".into(),
            description: Some("d".into()),
            region: "ap-southeast-1".into(),
            project_name: "ap-southeast-1".into(),
            agency_name: "ag".into(),
        };
        let request = copy_to_region("src", &cross);
        assert_eq!(request.path, "/v1/cloudimages/src/cross_region_copy");
        assert_eq!(
            body(&request),
            r#"{"agency_name":"ag","description":"d","name":"n","project_name":"ap-southeast-1","region":"ap-southeast-1"}"#
        );
        assert!(!request.idempotent);
    }
}
