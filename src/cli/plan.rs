//! `imsform plan`: refresh, diff and print the plan. Orchestration only: the pipeline is
//! `cli::context`, the renderings are `render::*`, the plan file is `planfile`.
//!
//! Output rules: stdout carries exactly one rendering: the human plan (default), the JSON plan
//! (`--json`, nothing else on stdout), or the markdown (`--markdown -`). `--markdown FILE`
//! writes the markdown beside the stdout rendering. The "Saved the plan" lines of `-out` follow
//! the human plan on stdout, as in Terraform, and go to stderr when stdout is JSON or markdown.
//! The state is read under its lock and never written.

use std::io::{self, Write};
use std::path::Path;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, PlanArgs};
use crate::cli::context::{self, Request, Session};
use crate::cli::io::stdout_error;
use crate::error::Error;
use crate::planfile::{SavedPlan, manifests_digest};
use crate::render::{human, json, markdown};

/// What stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdout {
    Human,
    Json,
    Markdown,
}

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Result<Outcome, Error> {
    let markdown_to_stdout = args.markdown.as_deref() == Some(Path::new("-"));
    let stdout = match (args.json, markdown_to_stdout) {
        (true, true) => {
            return Err(Error::Usage(
                "--json and --markdown - both want stdout: write the markdown to a file".to_owned(),
            ));
        }
        (true, false) => Stdout::Json,
        (false, true) => Stdout::Markdown,
        (false, false) => Stdout::Human,
    };
    let request = Request {
        paths: &args.paths,
        run: &args.run,
        vars: &args.vars,
        operation: "plan",
        refresh_only: args.refresh_only,
    };
    let session = context::prepare(global, request).await?;
    let result = report(global, &args, stdout, &session).await;
    let Session {
        store, connection, ..
    } = session;
    drop(store);
    connection.close().await;
    result
}

/// Writes the renderings and the plan file; the outcome per `--detailed-exitcode`.
async fn report(
    global: &GlobalArgs,
    args: &PlanArgs,
    stdout: Stdout,
    session: &Session,
) -> Result<Outcome, Error> {
    let plan = &session.plan;
    let mut out = io::stdout().lock();
    match stdout {
        Stdout::Human => human::write_plan(&mut out, plan, context::stdout_color(global)),
        Stdout::Json => json::write_plan(&mut out, plan),
        Stdout::Markdown => markdown::write_plan(&mut out, plan, markdown::DEFAULT_LIMIT),
    }
    .map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    let dir = &session.config.dir;
    if let Some(path) = args.markdown.as_deref().filter(|p| *p != Path::new("-")) {
        let text = markdown::render(plan, markdown::DEFAULT_LIMIT);
        std::fs::write(dir.join(path), text).map_err(|source| Error::Io {
            context: format!("cannot write the markdown to {}", path.display()),
            source,
        })?;
    }
    if let Some(path) = &args.out {
        let full = dir.join(path);
        save(session, &full).await?;
        // With -C, the command names the file by its absolute path: right however the reader's
        // shell and apply resolve a relative one.
        let command_path = if global.chdir.is_some() { &full } else { path };
        let lines = saved_lines(global.chdir.as_deref(), path, command_path);
        if stdout == Stdout::Human {
            out.write_all(lines.as_bytes()).map_err(stdout_error)?;
        } else {
            eprint!("{lines}");
        }
    }
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(Outcome::Changes);
    }
    Ok(Outcome::Success)
}

/// Writes the plan file: the plan, the manifests' digest, the cloud identity and the variables'
/// values.
async fn save(session: &Session, path: &Path) -> Result<(), Error> {
    let config_digest = session.connection.config_digest().await?;
    let saved = SavedPlan::new(
        session.plan.clone(),
        manifests_digest(&session.loaded.files),
        config_digest,
        session.connection.identity().await?,
        session.config.state.location.workspace_id(),
    )
    .with_variables(&session.loaded.variables);
    saved.write(path)?;
    Ok(())
}

/// Terraform's closing words after `-out`; `chdir` is `-C DIR`, repeated in the command.
fn saved_lines(chdir: Option<&Path>, path: &Path, command_path: &Path) -> String {
    let chdir = chdir
        .map(|dir| format!("-C {} ", shell_word(dir)))
        .unwrap_or_default();
    format!(
        "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    imsform \
         {chdir}apply {}\n",
        path.display(),
        shell_word(command_path)
    )
}

/// `path` as one POSIX shell word: bare when it is safe, else single-quoted.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apply_command_is_quoted_for_a_shell_when_needed() {
        let plain = saved_lines(None, Path::new("plan.json"), Path::new("plan.json"));
        assert!(
            plain.ends_with("\n    imsform apply plan.json\n"),
            "{plain}"
        );
        let odd = saved_lines(
            Some(Path::new("my dir")),
            Path::new("my plan's.json"),
            Path::new("/abs/my dir/my plan's.json"),
        );
        assert!(
            odd.ends_with("imsform -C 'my dir' apply '/abs/my dir/my plan'\\''s.json'\n"),
            "{odd}"
        );
    }
}
