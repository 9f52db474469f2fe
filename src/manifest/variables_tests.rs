//! Unit tests of the variables' resolution: precedence, the `--var` syntax, the environment's
//! names, values given for undeclared variables, and the comparison with a saved plan's values.

use super::*;

fn declared(name: &str, default: Option<&str>) -> Declared {
    Declared {
        name: name.to_owned(),
        default: default.map(str::to_owned),
        label: Label::file("vars.yaml"),
        broken: false,
    }
}

fn given(name: &str, value: &str, origin: Origin) -> Given {
    Given {
        name: name.to_owned(),
        value: value.to_owned(),
        origin,
    }
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn value(values: &Values, name: &str) -> Option<(String, Origin)> {
    values[name].value.clone()
}

#[test]
fn names_are_identifiers_that_fit_an_environment_variable() {
    for good in ["build", "BUILD_2", "_x", &"a".repeat(64)] {
        assert!(is_valid_name(good), "{good}");
    }
    for bad in ["", "9lives", "web-build", "a.b", "é", &"a".repeat(65)] {
        assert!(!is_valid_name(bad), "{bad}");
    }
}

#[test]
fn precedence_is_default_then_env_then_flags_and_files_in_order() {
    let declared = [
        declared("a", Some("default")),
        declared("b", Some("default")),
        declared("c", Some("default")),
        declared("d", None),
        declared("e", None),
    ];
    let file = Origin::File(Label::file("prod.yaml"));
    let given = [
        given("c", "from the file", file.clone()),
        given("c", "from the flag after it", Origin::Flag),
        given("d", "from the flag", Origin::Flag),
        given("d", "from the file after it", file.clone()),
    ];
    let env = env(&[("b", "from env"), ("c", "from env"), ("other", "x")]);
    let (values, unknown) = resolve(&declared, &given, &env);
    assert!(unknown.is_empty());
    assert_eq!(
        value(&values, "a"),
        Some(("default".into(), Origin::Default))
    );
    assert_eq!(value(&values, "b"), Some(("from env".into(), Origin::Env)));
    assert_eq!(
        value(&values, "c"),
        Some(("from the flag after it".into(), Origin::Flag))
    );
    assert_eq!(
        value(&values, "d"),
        Some(("from the file after it".into(), file))
    );
    assert_eq!(value(&values, "e"), None);
    assert_eq!(
        values.len(),
        5,
        "the environment's unknown names are ignored"
    );
    let chosen = chosen(&values);
    assert_eq!(chosen.len(), 4);
    assert_eq!(chosen["b"], "from env");
}

#[test]
fn a_value_for_an_undeclared_variable_is_an_error_with_a_hint() {
    let declared = [declared("image_build", None)];
    let given = [
        given("image_buld", "1", Origin::Flag),
        given("zzz", "1", Origin::File(Label::file("v.yaml"))),
    ];
    let (_, unknown) = resolve(&declared, &given, &BTreeMap::new());
    let errors: Vec<Diagnostic> = unknown.iter().map(|g| undeclared(g, &declared)).collect();
    assert_eq!(
        errors[0].message,
        "--var image_buld: no variable `image_buld` is declared"
    );
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("did you mean `image_build`?")
    );
    assert_eq!(errors[1].message, "no variable `zzz` is declared");
    assert_eq!(errors[1].primary.as_ref().unwrap().position(), "v.yaml");
}

#[test]
fn var_flags_are_name_equals_value() {
    let parsed = parse_flag("build=a=b").unwrap();
    assert_eq!(
        (parsed.name.as_str(), parsed.value.as_str()),
        ("build", "a=b")
    );
    assert_eq!(parse_flag("empty=").unwrap().value, "");
    let error = parse_flag("build").unwrap_err();
    assert_eq!(error.message, "--var `build`: expected NAME=VALUE");
    let error = parse_flag("web-build=1").unwrap_err();
    assert_eq!(
        error.message,
        "--var `web-build=1`: `web-build` is not a variable name"
    );
    assert!(parse_flag("=1").is_err());
}

#[test]
fn the_environment_gives_imsform_var_names_and_skips_empty_values() {
    let found = VarInput::env_from([
        ("IMSFORM_VAR_build".to_owned(), "7".to_owned()),
        ("IMSFORM_VAR_empty".to_owned(), String::new()),
        ("HOME".to_owned(), "/root".to_owned()),
    ]);
    assert_eq!(found, env(&[("build", "7")]));
}

#[test]
fn unset_variables_nobody_uses_are_reported_at_their_declaration() {
    let (values, _) = resolve(
        &[
            declared("used", None),
            declared("unused", None),
            declared("set", Some("1")),
        ],
        &[],
        &BTreeMap::new(),
    );
    let used = BTreeSet::from(["used".to_owned()]);
    let errors = unset_unused(&values, &used);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "variable `unused` has no value");
    assert!(
        errors[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("IMSFORM_VAR_unused")
    );
}

#[test]
fn apply_with_a_plan_accepts_only_the_recorded_values() {
    let recorded = env(&[("build", "41"), ("region_tag", "eu")]);
    let plan = Label::file("plan.json");
    let same = [given("build", "41", Origin::Flag)];
    let quiet = env(&[("region_tag", "eu")]);
    assert!(compare_with_recorded(&recorded, &plan, &same, &quiet).is_empty());
    assert!(compare_with_recorded(&recorded, &plan, &[], &BTreeMap::new()).is_empty());

    let other = [
        given("build", "42", Origin::Flag),
        given("nope", "1", Origin::Flag),
    ];
    let errors = compare_with_recorded(&recorded, &plan, &other, &env(&[("region_tag", "us")]));
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "--var nope: the saved plan has no variable `nope`",
            "variable `build` is \"42\" from --var, but the saved plan was made with \"41\"",
            "variable `region_tag` is \"us\" from the environment (IMSFORM_VAR_*), but the saved \
             plan was made with \"eu\"",
        ]
    );
}
