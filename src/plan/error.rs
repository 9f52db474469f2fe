//! Why a plan cannot be made: a bad option, or the problems that forbid it (lifecycle rules,
//! protected images, moved conflicts, the cloud's quota and os_versions). Every problem is
//! collected and reported at once.

use thiserror::Error;

use super::model::Reason;
use crate::manifest::model::Address;

/// A plan that must not be made.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("invalid {option} pattern `{pattern}`: {message}")]
    InvalidPattern {
        option: &'static str,
        pattern: String,
        message: String,
    },
    #[error(
        "--replace {address}: the address is neither in the manifests nor in the state{}",
        closest_hint(closest)
    )]
    UnknownReplaceAddress {
        address: Address,
        closest: Vec<Address>,
    },
    #[error(
        "{option} {pattern} matches no address of the manifests or the state{}",
        closest_hint(closest)
    )]
    NoMatch {
        option: &'static str,
        pattern: String,
        closest: Vec<Address>,
    },
    #[error(
        "--target/--exclude leave no address of the manifests or the state to plan: check the \
         patterns, or run without them"
    )]
    NothingSelected,
    #[error("{}", render_problems(problems))]
    Refused { problems: Vec<Problem> },
}

/// One reason a plan is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error(
        "{address} has lifecycle.prevent_destroy set, but the plan would {verb} it because \
         {reason}; remove prevent_destroy from the manifest to allow it, or narrow the plan with \
         --target/--exclude",
        verb = if *replace { "replace" } else { "destroy" },
        reason = reason.explain()
    )]
    PreventDestroy {
        address: Address,
        replace: bool,
        reason: Reason,
    },
    #[error(
        "{address}: `protected` changes from {before} to {after}, but IMS has no supported update \
         for it; {}",
        protected_way_out(address, *after)
    )]
    ProtectedChange {
        address: Address,
        before: bool,
        after: bool,
    },
    #[error(
        "{address} is protected, and IMS refuses to delete a protected image (IMG.0028), but the \
         plan would {verb} it because {reason}; unprotect the image by hand in the console, then \
         plan again, or forget it with `imsform state rm {address}` (it stays in the cloud)",
        verb = if *replace { "replace" } else { "destroy" },
        reason = reason.explain()
    )]
    ProtectedImage {
        address: Address,
        replace: bool,
        reason: Reason,
    },
    #[error(
        "the plan creates {needed} new images, but the project's private image quota is \
         {quota} with {used} in use: {remain} remain, and IMS refuses the rest (IMG.0015). Delete \
         unused images, ask for a higher quota, or narrow the plan with --target",
        remain = quota.saturating_sub(*used)
    )]
    QuotaExceeded { needed: u64, used: u64, quota: u64 },
    #[error(
        "{address}: os_version \"{os_version}\" is not offered in this region; the closest \
         valid names: {}",
        quoted(closest)
    )]
    UnknownOsVersion {
        address: Address,
        os_version: String,
        closest: Vec<String>,
    },
    #[error(
        "{address}: share_with lists {project_id}, the project that owns the image; IMS refuses \
         to share an image with its own project (IMG.0076): remove it from share_with"
    )]
    ShareWithOwner {
        address: Address,
        project_id: String,
    },
    #[error("moved from {from} to {to} conflicts: {detail}")]
    MovedConflict {
        from: Address,
        to: Address,
        detail: String,
    },
}

fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    quoted.join(", ")
}

fn closest_hint(closest: &[Address]) -> String {
    if closest.is_empty() {
        return "; there are no addresses at all".to_owned();
    }
    let names: Vec<&str> = closest.iter().map(Address::as_str).collect();
    format!("; the closest: {}", names.join(", "))
}

/// A way out of a `protected` change that works: a protected image cannot be deleted, so
/// `--replace` helps only when the current image is unprotected.
fn protected_way_out(address: &Address, after: bool) -> String {
    if after {
        format!(
            "run with --replace {address} to create a new, protected image in its place, or \
             protect the image by hand in the console and plan again"
        )
    } else {
        format!(
            "unprotect the image by hand in the console and plan again (the refreshed image then \
             matches), or forget it with `imsform state rm {address}` (it stays in the cloud) \
             and apply to create a new one"
        )
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("- {p}")).collect();
    format!("the plan cannot be made:\n{}", lines.join("\n"))
}
