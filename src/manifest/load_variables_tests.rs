//! Unit tests of [`load`] with variables: substitution from each source in order, and every
//! variable error at its file:line:col.

use std::path::Path;

use super::model::Address;
use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const VARIABLES: &str = "\
variables:
  build: { default: \"2026.11\", description: the image build }
  team: {}
  unused_default: { default: 7 }
";

const USES: &str = "\
images:
  web:
    name: \"web-${var.build}\"
    image_url: bucket-1:web/${var.build}.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    description: costs $5, literal $${var.build}
    tags: { team: \"${var.team}\" }
";

fn var_input(args: &[VarArg], env: &[(&str, &str)]) -> VarInput {
    VarInput {
        args: args.to_vec(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[test]
fn variables_are_substituted_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vars.yaml", VARIABLES);
    write(dir.path(), "uses.yaml", USES);
    write(
        dir.path(),
        "values/prod.vars.toml",
        "# prod\nbuild = 2026.12\n",
    );
    let args = [
        VarArg::Var("team=platform".into()),
        VarArg::File("values/prod.vars.toml".into()),
    ];
    let loaded = load(&[], dir.path(), &var_input(&args, &[("build", "from-env")])).unwrap();
    let web = &loaded.manifests.images[&Address::from_key("web")].attrs;
    assert_eq!(web.name, "web-2026.12");
    assert_eq!(web.image_url, "bucket-1:web/2026.12.qcow2");
    assert_eq!(
        web.description.as_deref(),
        Some("costs $5, literal ${var.build}")
    );
    assert_eq!(web.tags["team"], "platform");
    let recorded: Vec<(&str, &str)> = loaded
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("build", "2026.12"),
            ("team", "platform"),
            ("unused_default", "7")
        ]
    );
    // The environment beats the default; the default stands alone.
    let loaded = load(
        &[],
        dir.path(),
        &var_input(&[], &[("build", "e"), ("team", "t")]),
    )
    .unwrap();
    assert_eq!(
        loaded.manifests.images[&Address::from_key("web")]
            .attrs
            .name,
        "web-e"
    );
    write(
        dir.path(),
        "vars.yaml",
        &VARIABLES.replace("team: {}", "team: { default: d }"),
    );
    let loaded = load(&[], dir.path(), &VarInput::default()).unwrap();
    assert_eq!(
        loaded.manifests.images[&Address::from_key("web")]
            .attrs
            .name,
        "web-2026.11"
    );
}

/// `(message, file:line:col)` of each diagnostic.
fn places(error: &ManifestError) -> Vec<(String, String)> {
    let at = |d: &Diagnostic| d.primary.as_ref().map_or(String::new(), |l| l.position());
    error
        .diagnostics()
        .iter()
        .map(|d| (d.message.clone(), at(d)))
        .collect()
}

#[test]
fn variable_errors_point_at_the_reference_or_the_value() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vars.yaml", VARIABLES);
    write(
        dir.path(),
        "uses.yaml",
        &USES.replace("web/${var.build}", "web/${var.buidl}"),
    );
    write(
        dir.path(),
        "prod.toml",
        "build = \"1\"\nnope = 2\nteam = [\"a\"]\n",
    );
    let args = [
        VarArg::File("prod.toml".into()),
        VarArg::Var("bad".into()),
        VarArg::File("missing.toml".into()),
    ];
    let error = load(&[], dir.path(), &var_input(&args, &[])).unwrap_err();
    let found = places(&error);
    let expected = [
        ("variable `buidl` is not declared", "uses.yaml:4:29"),
        ("variable `team` has no value", "uses.yaml:8:20"),
        (
            "the value of `team` must be a string, not an array",
            "prod.toml:3:8",
        ),
        ("--var `bad`: expected NAME=VALUE", ""),
        (
            "cannot read `missing.toml`: No such file or directory (os error 2)",
            "missing.toml",
        ),
        ("no variable `nope` is declared", "prod.toml:2:1"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(found, expected);
    let hint = error.diagnostics()[0].hint.as_deref();
    assert_eq!(hint, Some("did you mean `build`?"));
}

#[test]
fn bad_declarations_and_references_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
variables:
  web-build: {}
  ok: { default: [1], descripton: x }
  ok2: {}
images:
  web:
    name: ${env.USER}
    image_url: 'bucket-1:${var.ok2'
";
    write(dir.path(), "m.yaml", text);
    let error = load(&[], dir.path(), &VarInput::default()).unwrap_err();
    let found = places(&error);
    let messages: Vec<&str> = found.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages[..5],
        [
            "`web-build` is not a valid variable name",
            "unknown field `descripton` in variable `ok`",
            "the default of variable `ok` must be a string, not a list",
            "`${env.USER}` in `name` of image `images.web` is not a variable reference",
            "`${var.ok2` in `image_url` of image `images.web` has no closing `}`",
        ]
    );
    assert_eq!(found[0].1, "m.yaml:2:3");
    assert_eq!(found[3].1, "m.yaml:7:11");
    assert_eq!(found[4].1, "m.yaml:8:26");
    // `ok2` is never named by a valid reference: reported at its declaration.
    assert!(messages.contains(&"variable `ok2` has no value"));
}
