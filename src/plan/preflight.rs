//! Preflight: what the cloud will refuse at apply, found at plan time from two facts read once
//! per run (the private image quota and the region's os_versions). Pure: the command reads the
//! facts, only when the plan creates images, and passes them in.

use super::error::{PlanError, Problem};
use super::instance::Plan;
use super::model::Action;

/// What the cloud said before planning creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFacts {
    /// Private images the project holds now.
    pub used: u64,
    /// The project's private image quota.
    pub quota: u64,
    /// The `__os_version` values the region offers.
    pub os_versions: Vec<String>,
}

/// How many valid names an unknown os_version's error suggests.
const SUGGESTIONS: usize = 3;

/// Refuses a plan whose creates exceed the remaining quota, or that names an os_version the
/// region does not offer (each with the closest valid names).
pub fn preflight(plan: &Plan, facts: &CloudFacts) -> Result<(), PlanError> {
    let mut problems = Vec::new();
    // A destroy-before-create replacement frees its slot first; every other new image needs one.
    let needed = plan.new_images().filter(|c| !c.destroys_first()).count() as u64;
    let remaining = facts.quota.saturating_sub(facts.used);
    if needed > remaining {
        problems.push(Problem::QuotaExceeded {
            needed,
            used: facts.used,
            quota: facts.quota,
        });
    }
    for change in plan.new_images() {
        let Some(after) = &change.after else { continue };
        if !facts.os_versions.contains(&after.os_version) {
            problems.push(Problem::UnknownOsVersion {
                address: change.address.clone(),
                os_version: after.os_version.clone(),
                closest: closest(&after.os_version, &facts.os_versions),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Refused { problems })
    }
}

/// Refuses a plan that would share an image with the project that owns it (`project_id`).
pub fn refuse_sharing_with_owner(plan: &Plan, project_id: &str) -> Result<(), PlanError> {
    let problems: Vec<Problem> = plan
        .images()
        .filter(|c| {
            c.after
                .as_ref()
                .is_some_and(|a| a.share_with.contains(project_id))
        })
        .map(|c| Problem::ShareWithOwner {
            address: c.address.clone(),
            project_id: project_id.to_owned(),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError::Refused { problems })
    }
}

/// The valid names most like `text`, best first.
fn closest(text: &str, valid: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = valid
        .iter()
        .map(|v| (strsim::normalized_damerau_levenshtein(text, v), v))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, v)| v.clone())
        .collect()
}

impl super::image::ImageChange {
    /// A replacement that deletes the old image before creating the new one.
    fn destroys_first(&self) -> bool {
        matches!(
            self.action,
            Action::Replace {
                order: crate::manifest::model::ReplaceOrder::DestroyBeforeCreate
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::model::ReplaceOrder;
    use crate::plan::PlanOptions;
    use crate::plan::fixtures::*;

    fn facts(used: u64, quota: u64) -> CloudFacts {
        CloudFacts {
            used,
            quota,
            os_versions: vec![
                "Ubuntu 22.04 server 64bit".into(),
                "Ubuntu 20.04 server 64bit".into(),
                "CentOS 7.9 64bit".into(),
            ],
        }
    }

    fn creates(keys: &[&str]) -> Plan {
        let desired = manifests(keys.iter().map(|k| spec(k, attrs(k))));
        crate::plan::plan(&desired, None, None, &PlanOptions::default()).unwrap()
    }

    fn problems(result: Result<(), PlanError>) -> Vec<Problem> {
        match result {
            Err(PlanError::Refused { problems }) => problems,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn creates_within_the_remaining_quota_pass_and_one_more_fails_with_the_numbers() {
        let plan = creates(&["a", "b", "c"]);
        assert!(preflight(&plan, &facts(97, 100)).is_ok());
        let found = problems(preflight(&plan, &facts(98, 100)));
        assert_eq!(
            found,
            [Problem::QuotaExceeded {
                needed: 3,
                used: 98,
                quota: 100
            }]
        );
        let text = found[0].to_string();
        assert!(
            text.contains("3 new images") && text.contains("2 remain"),
            "{text}"
        );
    }

    #[test]
    fn destroy_before_create_replacements_need_no_slot() {
        let mut plan = creates(&["a", "b"]);
        for change in plan.image_changes_mut() {
            change.action = Action::Replace {
                order: ReplaceOrder::DestroyBeforeCreate,
            };
        }
        assert!(preflight(&plan, &facts(100, 100)).is_ok());
        plan.image_changes_mut()[0].action = Action::Replace {
            order: ReplaceOrder::CreateBeforeDestroy,
        };
        assert!(preflight(&plan, &facts(100, 100)).is_err());
    }

    #[test]
    fn an_os_version_the_region_lacks_names_the_closest_valid_ones() {
        let mut plan = creates(&["a"]);
        if let Some(after) = &mut plan.image_changes_mut()[0].after {
            after.os_version = "Ubuntu 22.04 server 64 bit".into();
        }
        let found = problems(preflight(&plan, &facts(0, 100)));
        let [Problem::UnknownOsVersion { closest, .. }] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert_eq!(closest[0], "Ubuntu 22.04 server 64bit");
        let text = found[0].to_string();
        assert!(
            text.contains("images.a") && text.contains("\"Ubuntu 22.04 server 64 bit\""),
            "{text}"
        );
    }
}
