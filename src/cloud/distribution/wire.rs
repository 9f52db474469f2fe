//! Lenient reading of member lists (both shapes: HW's with `page_info`, OTC's without) and of
//! job reports with member `results` (any case of status, `project_id` present or not). Pure.

use serde_json::Value;

use super::{ImageMember, JobReport, MemberResult, MemberStatus};
use crate::cloud::wire::{parse_job, text};

/// One page of a member list and the marker of the next one, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<ImageMember>,
    pub next_marker: Option<String>,
}

/// Reads a member-list page: `page_info.next_marker` when present and non-empty; without
/// `page_info` (OTC), the last member id when the page is full (`len >= limit`).
pub fn parse_member_page(body: &Value, limit: usize) -> Option<MemberPage> {
    let raw = body.get("members")?.as_array()?;
    let members: Vec<ImageMember> = raw
        .iter()
        .filter_map(|member| {
            Some(ImageMember {
                member_id: text(member, "member_id")?,
                status: MemberStatus::parse(&text(member, "status")?),
                created_at: text(member, "created_at"),
                updated_at: text(member, "updated_at"),
            })
        })
        .collect();
    let next_marker = match body.get("page_info") {
        Some(info) => text(info, "next_marker"),
        None if raw.len() >= limit => members.last().map(|m| m.member_id.clone()),
        None => None,
    };
    Some(MemberPage {
        members,
        next_marker,
    })
}

/// Reads a job with its member `results` (empty when the job has none).
pub fn parse_job_report(body: &Value, job_id: &str) -> Option<JobReport> {
    let job = parse_job(body, job_id)?;
    let results = body
        .get("entities")
        .and_then(|entities| entities.get("results"))
        .and_then(Value::as_array)
        .map(|results| {
            results
                .iter()
                .filter_map(|result| {
                    Some(MemberResult {
                        image_id: text(result, "image_id")?,
                        project_id: text(result, "project_id"),
                        status: text(result, "status").unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(JobReport { job, results })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cloud::JobStatus;

    #[test]
    fn member_pages_in_both_shapes() {
        let hw = json!({"members": [
            {"member_id": "a", "status": "accepted", "created_at": "t"},
            {"member_id": "b", "status": "pending"}],
            "page_info": {"next_marker": "b", "current_count": 2}});
        let page = parse_member_page(&hw, 2).unwrap();
        assert_eq!(page.members[0].status, MemberStatus::Accepted);
        assert_eq!(page.members[0].created_at.as_deref(), Some("t"));
        assert_eq!(page.next_marker.as_deref(), Some("b"));
        let last = json!({"members": [], "page_info": {"current_count": 0, "next_marker": ""}});
        assert_eq!(parse_member_page(&last, 2).unwrap().next_marker, None);
        let otc = json!({"members": [{"member_id": "a", "status": "weird"}]});
        let page = parse_member_page(&otc, 1).unwrap();
        assert_eq!(
            page.next_marker.as_deref(),
            Some("a"),
            "full page: ask again"
        );
        assert_eq!(page.members[0].status, MemberStatus::Other("weird".into()));
        assert_eq!(parse_member_page(&otc, 2).unwrap().next_marker, None);
        assert!(parse_member_page(&json!({}), 2).is_none());
    }

    #[test]
    fn job_reports_carry_member_results_in_any_case() {
        let body = json!({"job_id": "j", "status": "SUCCESS", "entities": {"results": [
            {"image_id": "i1", "status": "success"},
            {"image_id": "i2", "project_id": "p", "status": "FAIL"}]}});
        let report = parse_job_report(&body, "j").unwrap();
        assert_eq!(report.job.status, JobStatus::Success);
        assert_eq!(report.results.len(), 2);
        assert!(!report.results[0].failed() && report.results[1].failed());
        assert_eq!(report.results[1].project_id.as_deref(), Some("p"));
        let copy = json!({"status": "SUCCESS", "entities": {"image_id": "new"}});
        let report = parse_job_report(&copy, "j").unwrap();
        assert_eq!(report.job.image_id.as_deref(), Some("new"));
        assert!(report.results.is_empty());
    }
}
