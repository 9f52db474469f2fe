//! The pipeline `plan`, `apply`, `refresh` and `import` share, so no command repeats it:
//! configuration, manifests (diagnostics printed on stderr), the state opened under its lock,
//! the connection to the cloud (`connect.rs`: the real one, or the local cloud of design.md
//! section 8), the state's identity check (before any request), refresh, the plan and its
//! preflight (quota and os_versions, when it creates images). Also the colour decision for
//! stdout and logging.
//!
//! It decides nothing about the plan (that is `plan::plan`) and prints nothing on stdout: the
//! commands own their output. Notices (the local cloud, `insecure`) go to stderr.

mod connect;
mod imports;
pub mod regions;
mod subset;
mod uploads;

pub use connect::{
    Connection, LOCAL_ACCESS_KEY, LOCAL_DATA_FILE, LOCAL_DELETE_LINGER, LOCAL_JOB_DURATION,
    LOCAL_NOTICE, LOCAL_PROJECT_ID, LOCAL_SECRET_KEY, check_connectable, connect,
};

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::args::{GlobalArgs, RunArgs, ScopeArgs, VarArgs};
use crate::cli::config::{Config, MAX_PARALLELISM, process_env, working_dir};
use crate::cli::io::blocking;
use crate::error::Error;
use crate::manifest::diagnostic::render_all;
use crate::manifest::model::Address;
use crate::manifest::{self, Diagnostic, Loaded, VarInput};
use crate::plan::{self, Plan, PlanOptions, RemoteView};
use crate::state::{LockOptions, Store};

/// What a command asks of [`prepare`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Manifest files or directories (none: the working directory).
    pub paths: &'a [PathBuf],
    pub run: &'a RunArgs,
    pub vars: &'a VarArgs,
    /// The operation named in the lock's holder info, e.g. `"plan"`.
    pub operation: &'static str,
    /// `--refresh-only`.
    pub refresh_only: bool,
}

/// Everything a command needs after planning. The state stays locked while it lives.
#[derive(Debug)]
pub struct Session {
    pub config: Config,
    pub store: Store,
    pub connection: Connection,
    pub loaded: Loaded,
    /// What refresh saw; `None` with `--refresh=false`.
    pub remote: Option<RemoteView>,
    pub plan: Plan,
    /// `--parallelism`, else `[apply] parallelism`.
    pub parallelism: usize,
}

/// Loads, locks, connects, refreshes and plans.
pub async fn prepare(global: &GlobalArgs, request: Request<'_>) -> Result<Session, Error> {
    let mut options = plan_options(request.run, request.refresh_only)?;
    let (config, loaded, mut store) = open(
        global,
        request.paths,
        request.vars,
        request.operation,
        request.run.scope.lock_timeout,
    )
    .await?;
    let importing = !request.refresh_only;
    if importing {
        imports::refuse_unsupported(&loaded.imports, store.state(), request.run.refresh)?;
    }
    let unlisted = subset::unlisted(request.paths, &config.dir, &loaded.manifests, store.state());
    if let Some(unlisted) = unlisted {
        let destroy = request.run.destroy_unlisted;
        eprintln!("{}", subset::leave_alone(&unlisted, destroy, &mut options));
    }
    regions::check(&config.cloud, &loaded.manifests)?;
    uploads::refuse_until_planned(&loaded.uploads)?;
    let named = regions::Reach {
        regions: loaded.manifests.replica_regions(),
        consumers: loaded.manifests.member_projects(),
    };
    let reach = regions::reached(named, store.state());
    let connection = connect(&config, &reach).await?;
    bind_identity(&mut store, &connection).await?;
    let remote = if request.run.refresh {
        let started = std::time::Instant::now();
        let ids = if importing {
            imports::pending_ids(&loaded.imports, store.state())
        } else {
            Default::default()
        };
        let client = connection.client.as_ref();
        let mut view =
            plan::refresh_importing(client, store.state(), &loaded.manifests, &ids).await?;
        let (factory, state) = (&connection.factory, store.state());
        plan::refresh_replicas(factory, state, &reach.regions, &mut view).await?;
        tracing::info!(
            images = view.images.len(),
            requests = connection.client.requests_sent(),
            elapsed = ?started.elapsed(),
            "read the cloud"
        );
        Some(view)
    } else {
        tracing::info!("--refresh=false: planning from the state alone");
        None
    };
    let cloud = &config.cloud;
    let planned = match (&remote, importing) {
        (Some(view), true) => {
            let project_id = connection.client.project_id().await?.to_owned();
            let checked = imports::importing_state(
                &loaded.imports,
                store.state(),
                || store.state_or_new(),
                &loaded.manifests,
                view,
                (&cloud.region, &project_id),
            );
            match checked {
                Ok(planned) => planned,
                Err(error) => {
                    print_diagnostics(error.diagnostics(), stderr_color(global))?;
                    connection.close().await;
                    return Err(error.into());
                }
            }
        }
        _ => None,
    };
    let from = planned.as_ref().map(|(state, _)| state).or(store.state());
    let mut plan = plan::plan_with_projects(
        &loaded.manifests,
        from,
        remote.as_ref(),
        &options,
        &|region| cloud.project_of(region),
    )?;
    if let Some((_, importing)) = &planned {
        imports::mark(&mut plan, importing, store.state());
    }
    plan.timestamp = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    plan.region = Some(cloud.region.clone());
    preflight(&plan, &connection).await?;
    let counts = plan.counts();
    tracing::info!(
        add = counts.add,
        change = counts.change,
        destroy = counts.destroy,
        drift = plan.drift.len(),
        "planned"
    );
    let parallelism = parallelism(&request.run.scope, &config)?;
    Ok(Session {
        config,
        store,
        connection,
        loaded,
        remote,
        plan,
        parallelism,
    })
}

/// Refuses a state that belongs to another cloud before any request (kind and region are
/// compared before IAM is asked for a project id that is not configured), and binds a state
/// without an identity to this one at its next write.
pub async fn bind_identity(store: &mut Store, connection: &Connection) -> Result<(), Error> {
    let (known, project_known) = connection.known_identity();
    store.check_identity(&known, project_known)?;
    let identity = connection.identity().await?;
    Ok(store.bind_identity(identity)?)
}

/// Refuses sharing an image with its own project (the id is known once the identity is bound),
/// and checks a plan that creates images against the project's quota and the region's
/// os_versions: one request each, only when the plan creates anything and the cloud is read
/// (`--refresh=false` reads nothing).
async fn preflight(plan: &Plan, connection: &Connection) -> Result<(), Error> {
    if let Some(project_id) = connection.client.known_project_id() {
        plan::refuse_sharing_with_owner(plan, project_id)?;
    }
    let creates = plan.new_images().next().is_some();
    if !plan.refreshed || plan.mode == plan::PlanMode::RefreshOnly || !creates {
        return Ok(());
    }
    let client = &connection.client;
    let (used, quota) = client.quota().await?;
    let os_versions = client.os_versions().await?;
    let facts = plan::CloudFacts {
        used,
        quota,
        os_versions,
    };
    Ok(plan::preflight(plan, &facts)?)
}

/// The first half of [`prepare`], for commands that do not plan (`import`): the
/// configuration, the manifests (diagnostics printed on stderr) and the state under its lock.
pub async fn open(
    global: &GlobalArgs,
    paths: &[PathBuf],
    vars: &VarArgs,
    operation: &'static str,
    lock_timeout: Option<Duration>,
) -> Result<(Config, Loaded, Store), Error> {
    let config = Config::load(&working_dir(global), &process_env)?;
    let loaded = load_manifests(global, paths, vars, &config.dir)?;
    check_connectable(&config)?;
    let location = config.state.location.clone();
    let store = blocking(move || {
        Ok(Store::open_at(
            &location,
            LockOptions {
                operation,
                timeout: lock_timeout,
            },
        )?)
    })
    .await?;
    Ok((config, loaded, store))
}

/// Loads the manifests with the variables of `vars` and the environment, printing warnings, or
/// every diagnostic on failure, on stderr.
pub fn load_manifests(
    global: &GlobalArgs,
    paths: &[PathBuf],
    vars: &VarArgs,
    dir: &Path,
) -> Result<Loaded, Error> {
    let color = stderr_color(global);
    match manifest::load(paths, dir, &var_input(vars)) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings, color)?;
            Ok(loaded)
        }
        Err(error) => {
            print_diagnostics(error.diagnostics(), color)?;
            Err(error.into())
        }
    }
}

/// The command line's variable values with those of the process environment.
pub fn var_input(vars: &VarArgs) -> VarInput {
    // Variables that are not UTF-8 cannot be `IMSFORM_VAR_*` values; `env::vars` would panic.
    let env = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
    VarInput {
        args: vars.args.clone(),
        env: VarInput::env_from(env),
    }
}

/// Prints diagnostics on stderr, in colour when `color`.
pub fn print_diagnostics(diagnostics: &[Diagnostic], color: bool) -> Result<(), Error> {
    if diagnostics.is_empty() {
        return Ok(());
    }
    render_all(diagnostics, &mut std::io::stderr().lock(), color).map_err(|source| Error::Io {
        context: "cannot write the diagnostics".to_owned(),
        source,
    })
}

/// `--parallelism N` (1 to [`MAX_PARALLELISM`]), else `[apply] parallelism`.
pub fn parallelism(scope: &ScopeArgs, config: &Config) -> Result<usize, Error> {
    match scope.parallelism {
        None => Ok(config.apply.parallelism),
        Some(n) if u64::try_from(n).is_ok_and(|n| (1..=MAX_PARALLELISM).contains(&n)) => Ok(n),
        Some(n) => Err(Error::Usage(format!(
            "--parallelism {n}: must be between 1 and {MAX_PARALLELISM}"
        ))),
    }
}

/// The plan options of the shared flags; `--replace` addresses are checked here, and the
/// combinations Terraform refuses are refused.
pub fn plan_options(run: &RunArgs, refresh_only: bool) -> Result<PlanOptions, Error> {
    if refresh_only {
        let conflict = if run.destroy {
            Some("--destroy")
        } else if !run.replaces.is_empty() {
            Some("--replace")
        } else if !run.refresh {
            Some("--refresh=false")
        } else {
            None
        };
        if let Some(flag) = conflict {
            return Err(Error::Usage(format!(
                "--refresh-only cannot be combined with {flag}: a refresh-only plan only \
                 records what the cloud holds, so it can neither change images nor skip reading \
                 the cloud"
            )));
        }
    }
    let replace = run
        .replaces
        .iter()
        .map(|text| {
            Address::parse(text)
                .map_err(|message| Error::Usage(format!("--replace {text}: {message}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_untracked_flags(run, refresh_only)?;
    Ok(PlanOptions {
        targets: run.scope.targets.clone(),
        excludes: run.scope.excludes.clone(),
        replace,
        destroy: run.destroy,
        refresh_only,
        adopt_untracked: run.adopt_untracked,
        delete_untracked: run.delete_untracked,
    })
}

/// `--adopt-untracked` and `--delete-untracked` need a refresh (untracked images are found by
/// reading the cloud) and a plan that may act: refused otherwise, before anything is read.
fn check_untracked_flags(run: &RunArgs, refresh_only: bool) -> Result<(), Error> {
    let flag = match (run.adopt_untracked, run.delete_untracked) {
        (true, _) => "--adopt-untracked",
        (false, true) => "--delete-untracked",
        (false, false) => return Ok(()),
    };
    let conflict = if !run.refresh {
        Some("--refresh=false: untracked images are found only by reading the cloud")
    } else if refresh_only {
        Some("--refresh-only: a refresh-only plan changes no image and no address")
    } else if run.destroy && run.adopt_untracked {
        Some("--destroy: a destroy plan adopts nothing")
    } else {
        None
    };
    match conflict {
        Some(why) => Err(Error::Usage(format!("{flag} cannot be used with {why}"))),
        None => Ok(()),
    }
}

/// Sends imsform's own logs to stderr: warnings by default, `-v` info, `-vv` debug, `-vvv`
/// trace. Other crates (HTTP internals, which could show headers) stay silent. A second call
/// does nothing.
pub fn init_logging(global: &GlobalArgs) {
    let level = match global.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "imsform={level}"
        )))
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color(global))
        .with_target(false)
        .try_init();
}

/// Colour on stderr: only on a terminal, and never with `--no-color` or `NO_COLOR`.
pub fn stderr_color(global: &GlobalArgs) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !global.no_color && !no_color && std::io::stderr().is_terminal()
}

/// Colour on stdout: only on a terminal, and never with `--no-color` or `NO_COLOR`.
pub fn stdout_color(global: &GlobalArgs) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !global.no_color && !no_color && std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_addresses_are_parsed_and_bad_ones_named() {
        let run = RunArgs {
            replaces: vec!["images.web".into()],
            scope: ScopeArgs {
                targets: vec!["web-*".into()],
                ..ScopeArgs::default()
            },
            destroy: true,
            ..RunArgs::default()
        };
        let options = plan_options(&run, false).unwrap();
        assert_eq!(options.replace, vec![Address::from_key("web")]);
        assert_eq!(options.targets, vec!["web-*".to_owned()]);
        assert!(options.destroy && !options.refresh_only);
        let bad = RunArgs {
            replaces: vec!["web".into()],
            ..RunArgs::default()
        };
        let error = plan_options(&bad, false).unwrap_err().to_string();
        assert!(error.contains("--replace web"), "{error}");
    }

    #[test]
    fn refresh_only_refuses_destroy_replace_and_no_refresh() {
        let cases = [
            (
                RunArgs {
                    destroy: true,
                    ..RunArgs::default()
                },
                "--destroy",
            ),
            (
                RunArgs {
                    replaces: vec!["images.web".into()],
                    ..RunArgs::default()
                },
                "--replace",
            ),
            (
                RunArgs {
                    refresh: false,
                    ..RunArgs::default()
                },
                "--refresh=false",
            ),
        ];
        for (run, flag) in cases {
            let error = plan_options(&run, true).unwrap_err().to_string();
            assert!(
                error.contains(&format!("--refresh-only cannot be combined with {flag}")),
                "{error}"
            );
            assert!(plan_options(&run, false).is_ok());
        }
    }

    #[test]
    fn parallelism_comes_from_the_flag_or_the_file_within_bounds() {
        let dir = std::path::Path::new("/tmp");
        let config = Config::from_toml("[apply]\nparallelism = 7\n", dir, dir, &|_| None).unwrap();
        let with = |n| ScopeArgs {
            parallelism: n,
            ..ScopeArgs::default()
        };
        assert_eq!(parallelism(&with(None), &config).unwrap(), 7);
        assert_eq!(parallelism(&with(Some(3)), &config).unwrap(), 3);
        for bad in [0, 1001] {
            let error = parallelism(&with(Some(bad)), &config).unwrap_err();
            assert!(error.to_string().contains("between 1 and 1000"), "{error}");
        }
    }
}
