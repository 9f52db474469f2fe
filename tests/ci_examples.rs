//! The pipeline examples in examples/ci stay runnable: their YAML parses, every `imsform …`
//! command line their shell steps run parses with the real command line (a flag that does not
//! exist fails this test), and each pipeline has the three jobs the README promises (plan on a
//! pull request, apply of the saved plan after merge, scheduled drift detection).
//! Also the rest of the surface scripts rely on: `imsform completions SHELL`.
//! This file reads the examples; it does not run CI or contact any cloud.

use std::path::{Path, PathBuf};

use clap::Parser;
use imsform::cli::args::{Cli, Command};
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(path)
}

/// The shell scripts of a pipeline: GitHub's `run:` values and GitLab's `script`,
/// `before_script` and `after_script` lists, wherever they are nested.
fn scripts(text: &str) -> Vec<String> {
    let node = marked_yaml::parse_yaml(0, text).expect("the pipeline is valid YAML");
    let mut found = Vec::new();
    collect(&node, None, &mut found);
    found
}

fn collect(node: &Node, key: Option<&str>, found: &mut Vec<String>) {
    let is_script = matches!(
        key,
        Some("run" | "script" | "before_script" | "after_script")
    );
    match node {
        Node::Scalar(scalar) if is_script => found.push(scalar.as_str().to_owned()),
        Node::Scalar(_) => {}
        Node::Sequence(items) => {
            for item in items.iter() {
                collect(item, if is_script { key } else { None }, found);
            }
        }
        Node::Mapping(mapping) => {
            for (name, value) in mapping.iter() {
                collect(value, Some(name.as_str()), found);
            }
        }
    }
}

/// Shell words and operators of a script (quotes removed, `\` continuations joined). Operators
/// come out as their own tokens and a line end as `;`; a file-descriptor number before a
/// redirection is dropped.
fn tokens(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = script.chars().peekable();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => word.extend(chars.by_ref().take_while(|&c| c != '\'')),
            '"' => word.extend(chars.by_ref().take_while(|&c| c != '"')),
            '\\' if chars.peek() == Some(&'\n') => {
                chars.next();
                flush(&mut word, &mut out);
            }
            ' ' | '\t' => flush(&mut word, &mut out),
            '#' if word.is_empty() => {
                chars.by_ref().take_while(|&c| c != '\n').for_each(drop);
                out.push(";".into());
            }
            '\n' => {
                flush(&mut word, &mut out);
                out.push(";".into());
            }
            '>' | '<' if word.chars().all(|c| c.is_ascii_digit()) => {
                word.clear();
                out.push(operator(c, &mut chars));
            }
            ';' | '|' | '&' | '>' | '<' | '(' | ')' => {
                flush(&mut word, &mut out);
                out.push(operator(c, &mut chars));
            }
            '$' if chars.peek() == Some(&'(') => {
                flush(&mut word, &mut out);
                chars.next();
                out.push("$(".into());
            }
            _ => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// An operator starting with `first`: `|`, `||`, `&&`, `>`, `>>`, `;`, …
fn operator(first: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut op = first.to_string();
    while let Some(&next) = chars.peek() {
        if !"|&>".contains(next) {
            break;
        }
        op.push(next);
        chars.next();
    }
    op
}

fn is_operator(token: &str) -> bool {
    token.chars().all(|c| ";|&><()$".contains(c))
}

/// Every `imsform …` command a script runs, as argv (program name first). A command stops at
/// an operator or a redirection.
fn imsform_commands(script: &str) -> Vec<Vec<String>> {
    let tokens = tokens(script);
    let mut commands = Vec::new();
    let mut at_command = true;
    for (index, token) in tokens.iter().enumerate() {
        if at_command && (token == "imsform" || token.ends_with("/imsform")) {
            let argv: Vec<String> = std::iter::once("imsform".to_owned())
                .chain(
                    tokens[index + 1..]
                        .iter()
                        .take_while(|t| !is_operator(t))
                        .cloned(),
                )
                .collect();
            commands.push(argv);
        }
        at_command = is_operator(token)
            || matches!(
                token.as_str(),
                "if" | "then" | "else" | "do" | "!" | "time" | "exec"
            );
    }
    commands
}

/// Parses one argv with the real CLI, as the binary does (single-dash spellings normalised).
fn parse(argv: &[String]) -> Result<Cli, String> {
    let args = imsform::cli::argv::normalize(argv.iter().map(Into::into));
    Cli::try_parse_from(args).map_err(|error| format!("{argv:?}: {error}"))
}

/// Parses every `imsform` command of a pipeline file; panics naming the first that fails.
fn commands_of(path: &Path) -> Vec<Cli> {
    let text = std::fs::read_to_string(path).unwrap();
    let argvs: Vec<Vec<String>> = scripts(&text)
        .iter()
        .flat_map(|s| imsform_commands(s))
        .collect();
    argvs
        .iter()
        .map(|argv| parse(argv).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// The three jobs every pipeline must have, and the CI-specific texts `needles`.
fn assert_complete_pipeline(path: &Path, needles: &[&str]) {
    let commands = commands_of(path);
    let plans: Vec<_> = commands
        .iter()
        .filter_map(|cli| match &cli.command {
            Command::Plan(plan) => Some(plan),
            _ => None,
        })
        .collect();
    let name = path.display();
    assert!(
        plans
            .iter()
            .any(|p| p.out.as_deref() == Some(Path::new("plan.json"))
                && p.markdown.as_deref() == Some(Path::new("plan.md"))
                && p.detailed_exitcode),
        "{name}: no `plan -out plan.json --markdown plan.md --detailed-exitcode`"
    );
    assert!(
        plans.iter().any(|p| p.out.is_none() && p.detailed_exitcode),
        "{name}: no drift job (`plan --detailed-exitcode` without -out)"
    );
    assert!(
        commands.iter().any(|cli| matches!(&cli.command,
            Command::Apply(apply) if apply.paths == [PathBuf::from("plan.json")])),
        "{name}: no `apply plan.json`"
    );
    assert!(
        commands
            .iter()
            .any(|cli| matches!(cli.command, Command::Validate(_))),
        "{name}: no `validate`"
    );
    let text = std::fs::read_to_string(path).unwrap();
    for needle in ["HW_ACCESS_KEY", "HW_SECRET_KEY", "<!-- imsform-plan -->"]
        .iter()
        .chain(needles)
    {
        assert!(text.contains(needle), "{name} lacks {needle:?}");
    }
}

#[test]
fn the_github_workflow_runs_only_real_commands() {
    let needles = [
        "secrets.HW_ACCESS_KEY",
        "secrets.HW_SECRET_KEY",
        "$GITHUB_STEP_SUMMARY",
        "--method PATCH",
        "actions/upload-artifact",
        "imsform-plan-${{ github.event.pull_request.head.sha }}",
        "gh run download \"$run\" --name \"imsform-plan-$head\"",
    ];
    assert_complete_pipeline(&example(".github/workflows/imsform.yml"), &needles);
}

#[test]
fn the_gitlab_pipeline_runs_only_real_commands() {
    let needles = ["-X PUT", "merge_request_event", "/artifacts/plan.json"];
    assert_complete_pipeline(&example(".gitlab-ci.yml"), &needles);
}

#[test]
fn the_extractor_finds_commands_in_every_shell_position() {
    let script = "set +e\nimsform plan -out plan.json \\\n  --markdown plan.md 2>err.txt\n\
                  code=$?; imsform show plan.json --markdown >> \"$GITHUB_STEP_SUMMARY\"\n\
                  if imsform validate; then echo ok; fi\n\
                  cargo install imsform --locked  # not a run of imsform\n\
                  x=$(imsform state list | wc -l) && ./target/release/imsform --version";
    let found = imsform_commands(script);
    let expected: Vec<Vec<&str>> = vec![
        vec![
            "imsform",
            "plan",
            "-out",
            "plan.json",
            "--markdown",
            "plan.md",
        ],
        vec!["imsform", "show", "plan.json", "--markdown"],
        vec!["imsform", "validate"],
        vec!["imsform", "state", "list"],
        vec!["imsform", "--version"],
    ];
    assert_eq!(found, expected);
}

#[test]
fn a_flag_that_does_not_exist_fails_the_check() {
    for bad in [
        "imsform plan --out-file plan.json",
        "imsform plan -detailed-exit-code",
        "imsform apply plan.json --yes",
        "imsform plna",
        "imsform show plan.json --json --markdown",
    ] {
        let argvs = imsform_commands(bad);
        assert_eq!(argvs.len(), 1, "{bad}");
        assert!(parse(&argvs[0]).is_err(), "{bad} was accepted");
    }
    let good =
        imsform_commands("imsform plan -out=plan.json --refresh=false --target 'images.web-*'");
    parse(&good[0]).unwrap();
}

#[test]
fn the_example_repository_holds_no_credentials_or_run_leftovers() {
    let gitignore = std::fs::read_to_string(example(".gitignore")).unwrap();
    for ignored in ["imsform.state.json", "imsform.state.json.*", "plan.json"] {
        assert!(gitignore.lines().any(|l| l == ignored), "{ignored}");
    }
    let config = std::fs::read_to_string(example("imsform.toml")).unwrap();
    assert!(!config.contains("access_key") && !config.contains("secret_key"));
}

/// The example keeps its state in PostgreSQL, with no password in the file, and no pipeline
/// commits a state file back to git.
#[test]
fn the_example_keeps_its_state_in_postgresql_not_in_git() {
    let dir = example("");
    let text = std::fs::read_to_string(example("imsform.toml")).unwrap();
    let config =
        imsform::cli::config::Config::from_toml(&text, &dir.join("imsform.toml"), &dir, &|_| None)
            .expect("the example's imsform.toml loads");
    let imsform::state::Location::Pg(settings) = &config.state.location else {
        panic!(
            "the example uses the pg backend: {:?}",
            config.state.location
        )
    };
    assert!(settings.password.is_none());
    assert_eq!(
        settings.sslmode,
        imsform::state::backend::pg::SslMode::VerifyFull
    );
    for pipeline in [".github/workflows/imsform.yml", ".gitlab-ci.yml"] {
        let text = std::fs::read_to_string(example(pipeline)).unwrap();
        assert!(
            !text.contains("git add") && !text.contains("git push"),
            "{pipeline}"
        );
        assert!(
            text.contains("PGPASSWORD"),
            "{pipeline} passes the database password"
        );
    }
}

#[test]
fn completions_name_every_subcommand_for_each_shell() {
    use clap::CommandFactory;
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_owned())
        .collect();
    assert!(subcommands.len() >= 10, "{subcommands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let output = assert_cmd::Command::cargo_bin("imsform")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(output.stderr.is_empty(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        let flags = ["detailed-exitcode", "auto-approve", "lock-timeout"];
        for name in subcommands.iter().map(String::as_str).chain(flags) {
            assert!(script.contains(name), "{shell}: no {name}");
        }
    }
    let output = assert_cmd::Command::cargo_bin("imsform")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'tcsh'"));
}

/// The inputs that the repository's action (action.yml at its root) declares.
fn action_inputs() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let node = marked_yaml::parse_yaml(0, &text).expect("action.yml is valid YAML");
    let inputs = node.as_mapping().and_then(|m| m.get_mapping("inputs"));
    let inputs = inputs.expect("action.yml declares inputs");
    inputs
        .iter()
        .map(|(key, _)| key.as_str().to_owned())
        .collect()
}

/// A step that sets imsform up with the action at the root of imsform's repository.
fn is_setup(step: &MarkedMappingNode) -> bool {
    step.get_scalar("uses")
        .is_some_and(|uses| uses.as_str().starts_with("imsform/imsform@v"))
}

/// Each pipeline installs a released binary (the action, or the release's install.sh), before
/// its first `imsform` command, instead of building imsform from source on every run.
#[test]
fn the_pipelines_install_the_released_binary_instead_of_building_it() {
    let inputs = action_inputs();
    let path = example(".github/workflows/imsform.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("cargo install"), "{}", path.display());
    let node = marked_yaml::parse_yaml(0, &text).unwrap();
    let jobs = node
        .as_mapping()
        .and_then(|m| m.get_mapping("jobs"))
        .unwrap();
    for (name, job) in jobs.iter() {
        let name = name.as_str();
        let steps = job.as_mapping().and_then(|j| j.get_sequence("steps"));
        let steps: Vec<&MarkedMappingNode> =
            steps.unwrap().iter().filter_map(Node::as_mapping).collect();
        let setups: Vec<_> = steps.iter().filter(|step| is_setup(step)).collect();
        assert_eq!(
            setups.len(),
            1,
            "job {name}: one `uses: imsform/imsform@v…`"
        );
        let with = setups[0]
            .get_mapping("with")
            .expect("the action is given `with:`");
        assert!(
            with.get_scalar("version").is_some(),
            "job {name}: no version"
        );
        for (key, _) in with.iter() {
            assert!(
                inputs.contains(&key.as_str().to_owned()),
                "job {name}: input {key:?}"
            );
        }
        let setup = steps.iter().position(|step| is_setup(step));
        let first_use = steps.iter().position(|step| {
            step.get_scalar("run")
                .is_some_and(|run| !imsform_commands(run.as_str()).is_empty())
        });
        assert!(
            first_use.is_some() && setup < first_use,
            "job {name}: imsform is set up after its first use"
        );
    }

    let path = example(".gitlab-ci.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("cargo install"), "{}", path.display());
    let node = marked_yaml::parse_yaml(0, &text).unwrap();
    let default = node
        .as_mapping()
        .and_then(|m| m.get_mapping("default"))
        .unwrap();
    let before: Vec<&str> = default
        .get_sequence("before_script")
        .unwrap()
        .iter()
        .filter_map(|line| line.as_scalar().map(|s| s.as_str()))
        .collect();
    let fetch = before
        .iter()
        .position(|line| line.contains("\"$IMSFORM_DOWNLOAD_URL/v$IMSFORM_VERSION/install.sh\""));
    let install = before
        .iter()
        .position(|line| line.starts_with("sh ") && line.contains("\"$IMSFORM_VERSION\""));
    assert!(
        fetch.is_some() && install.is_some() && fetch < install,
        "{}: fetch the release's install.sh, then run it: {before:?}",
        path.display()
    );
}
