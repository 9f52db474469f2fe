//! Saved plans: round trip, file mode, malformed files, and the freshness gate.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::plan::fixtures::*;
use crate::plan::{PlanOptions, plan};

fn saved(state: Option<&State>) -> SavedPlan {
    let desired = manifests([spec("web", attrs("web"))]);
    let plan = plan(&desired, state, None, &PlanOptions::default()).unwrap();
    let manifests = manifests_digest(&[("images.yaml", "images: {}")]);
    SavedPlan::new(
        plan,
        manifests,
        config_digest("cn-north-4", "p1", "https://ims"),
    )
}

#[test]
fn a_saved_plan_round_trips_through_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let state = state([("web", record("img-1", attrs("web")))]);
    let original = saved(Some(&state));
    original.write(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let read = SavedPlan::read(&path).unwrap();
    assert_eq!(read, original);
    assert_eq!(read.plan_json["lineage"], state.lineage.as_str());
    assert_eq!(read.plan_json["serial"], 7);
    // Only the plan file is left in the directory: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn malformed_truncated_and_foreign_files_are_clear_errors() {
    let good = serde_json::to_vec(&saved(None)).unwrap();
    let path = Path::new("plan.json");
    let truncated = &good[..good.len() / 2];
    let error = SavedPlan::from_slice(path, truncated).unwrap_err();
    assert!(matches!(error, SavedPlanError::Malformed { .. }), "{error}");
    assert!(error.to_string().contains("may be truncated"), "{error}");
    let error = SavedPlan::from_slice(path, b"{\"format_version\": 1}").unwrap_err();
    assert!(
        error.to_string().contains("no \"kind\": \"imsform-plan\""),
        "{error}"
    );
    let mut value: Value = serde_json::from_slice(&good).unwrap();
    value["format_version"] = 99.into();
    let error = SavedPlan::from_slice(path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(
        matches!(error, SavedPlanError::WrongVersion { found: 99, .. }),
        "{error}"
    );
    value["format_version"] = 1.into();
    value["prior_state"] = serde_json::json!({"lineage": "edited", "serial": 1});
    let error = SavedPlan::from_slice(path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(
        error.to_string().contains("prior_state disagrees"),
        "{error}"
    );
    value["prior_state"] = Value::Null;
    value["plan"]["changes"] = "nonsense".into();
    let error = SavedPlan::from_slice(path, &serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(matches!(error, SavedPlanError::Malformed { .. }), "{error}");
    let error = SavedPlan::read(Path::new("/nonexistent/plan.json")).unwrap_err();
    assert!(matches!(error, SavedPlanError::Read { .. }), "{error}");
}

#[test]
fn digests_depend_on_every_part_and_not_on_file_order() {
    let a = manifests_digest(&[("a.yaml", "x"), ("b.yaml", "y")]);
    assert_eq!(a, manifests_digest(&[("b.yaml", "y"), ("a.yaml", "x")]));
    assert_ne!(a, manifests_digest(&[("a.yaml", "x"), ("b.yaml", "z")]));
    assert_ne!(a, manifests_digest(&[("a.yaml", "xb.yaml"), ("", "y")]));
    assert_eq!(a.len(), 64);
    let c = config_digest("cn-north-4", "p1", "https://ims");
    assert_ne!(c, config_digest("cn-north-4", "p2", "https://ims"));
    assert_ne!(c, config_digest("cn-north-1", "p1", "https://ims"));
    assert_ne!(c, config_digest("cn-north-4", "p1", "https://other"));
}

#[test]
fn check_fresh_refuses_every_kind_of_stale_plan() {
    let config = config_digest("cn-north-4", "p1", "https://ims");
    let state0 = state([("web", record("img-1", attrs("web")))]);
    let mut later = state0.clone();
    later.serial += 1;
    let mut other = state0.clone();
    other.lineage = "another-lineage".into();
    let with_state = saved(Some(&state0));
    let without = saved(None);
    assert_eq!(check_fresh(&with_state, Some(&state0), &config), Ok(()));
    assert_eq!(check_fresh(&without, None, &config), Ok(()));
    let cases = [
        (&without, Some(&state0), "state (lineage 3f1c2a9e"),
        (&with_state, None, "there is no state now"),
        (&with_state, Some(&other), "now has lineage another-lineage"),
        (
            &with_state,
            Some(&later),
            "serial 7, but the state is at serial 8",
        ),
    ];
    for (plan, current, expected) in cases {
        let stale = check_fresh(plan, current, &config).unwrap_err();
        assert!(stale.to_string().contains(expected), "{stale}");
        assert!(stale.to_string().contains("plan"), "{stale}");
    }
    let elsewhere = config_digest("cn-north-4", "p2", "https://ims");
    assert_eq!(
        check_fresh(&with_state, Some(&state0), &elsewhere),
        Err(Stale::OtherCloud)
    );
}
