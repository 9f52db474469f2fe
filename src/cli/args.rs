//! The command line's syntax: clap derive types and nothing else. Meaning (defaults, config
//! files, environment) is built from these in `config.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod vars;

pub use vars::VarArgs;

/// Manage Huawei Cloud private images (IMS) as code.
#[derive(Debug, Parser)]
#[command(
    name = "imsform",
    version = crate::version::LONG,
    about,
    long_about = None,
    after_help = "Terraform's single-dash spellings are accepted too: -target=ADDR, -auto-approve, \
                  -refresh=false, -out FILE, …"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Work in DIR instead of the current directory (config, state and default manifests).
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Never colour the output (the NO_COLOR environment variable does the same).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Log what happens to stderr (-v info, -vv debug, -vvv trace); secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifests: every problem with file:line:col; no state, no cloud.
    Validate(ValidateArgs),
    /// Show what `apply` would change (reads the manifests, the state and the cloud).
    Plan(PlanArgs),
    /// Apply a saved plan exactly (refused if stale), or plan, ask and apply.
    Apply(ApplyArgs),
    /// Print a saved plan, or the state when no plan file is given.
    Show(ShowArgs),
    /// Print the order apply follows, as a Graphviz DOT graph of the plan's instances (of a
    /// saved plan, or of the plan the manifests make now).
    Graph(GraphArgs),
    /// Record changes made outside imsform in the state; changes nothing in the cloud.
    Refresh(RefreshArgs),
    /// Adopt an existing image: record IMAGE_ID under an address of the manifests.
    Import(ImportArgs),
    /// List the project's images no address manages; write manifests that adopt them.
    Query(QueryArgs),
    /// Print each managed image's id, name, status and region (from the state only).
    Output(OutputArgs),
    /// Inspect and edit the state (`rm` forgets an image without deleting it).
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a stale state lock after checking that its holder is gone.
    ForceUnlock(ForceUnlockArgs),
    /// Run a local IMS emulator for tests and demos (prints endpoint and credentials).
    Emulator(EmulatorArgs),
    /// Print a shell completion script, e.g. `imsform completions bash > ~/.imsform.bash`.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (default: the working directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
}

/// Flags shared by `plan`, `apply` and `refresh`: which addresses, how many at once, how long
/// to wait for the lock.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only these addresses (repeatable; globs such as `images.web-*` allowed).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Leave these addresses alone (repeatable; globs allowed).
    #[arg(long = "exclude", value_name = "ADDR")]
    pub excludes: Vec<String>,
    /// How many images to work on at once (default from imsform.toml, else 10).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long to wait while another run holds the state lock, e.g. `30s` (default: fail at
    /// once).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
}

/// Flags shared by `plan` and `apply` (`refresh` takes only the [`ScopeArgs`]).
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Replace these images even if nothing changed (repeatable).
    #[arg(long = "replace", value_name = "ADDR")]
    pub replaces: Vec<String>,
    /// Plan to destroy every managed image.
    #[arg(long)]
    pub destroy: bool,
    /// With paths that leave out some manifests of the directory: also destroy the managed
    /// images those paths do not list (without it they are left alone).
    #[arg(long)]
    pub destroy_unlisted: bool,
    /// Read the cloud before planning (`--refresh=false` plans from the state alone).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Record each untracked image (one carrying this state's token but unknown to it) at the
    /// address of the manifests it matches, when that address has no image.
    #[arg(long)]
    pub adopt_untracked: bool,
    /// Delete the untracked images (those not adopted).
    #[arg(long)]
    pub delete_untracked: bool,
}

impl Default for RunArgs {
    /// What no flag means: every address, reading the cloud.
    fn default() -> RunArgs {
        RunArgs {
            scope: ScopeArgs::default(),
            replaces: Vec::new(),
            destroy: false,
            refresh: true,
            adopt_untracked: false,
            delete_untracked: false,
            destroy_unlisted: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories (default: the working directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Save the plan to FILE for `imsform apply FILE` (also accepted as `-out FILE`).
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the plan as markdown for a pull request to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Only accept drift into the state; plan no change to the cloud.
    #[arg(long)]
    pub refresh_only: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan file (from `plan -out`), or manifest files and directories (default: the
    /// working directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// With a saved plan, only the values the plan was made with are accepted.
    #[command(flatten)]
    pub vars: VarArgs,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Only accept drift into the state; change nothing in the cloud.
    #[arg(long)]
    pub refresh_only: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A saved plan file (from `plan -out`); without one, the state is shown.
    pub plan_file: Option<PathBuf>,
    /// Print JSON: the plan's JSON, or the state file's content.
    #[arg(long)]
    pub json: bool,
    /// Print a saved plan as markdown, as for a pull request comment.
    #[arg(long, conflicts_with = "json")]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A saved plan file (from `plan -out`); without one, the plan of the manifests in the
    /// working directory is made (reading the state and the cloud, as `plan` does).
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Manifest files or directories (default: the working directory).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Forget images the cloud no longer lists without asking (needed off a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The address in the manifests, e.g. `images.ubuntu-2204-base`.
    pub address: String,
    /// The id of the existing private image.
    pub image_id: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// How long to wait for the state lock, e.g. `30s` (default: fail at once).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Only images whose name matches REGEX (anywhere in the name; anchor it with ^…$).
    #[arg(long, value_name = "REGEX")]
    pub name: Option<String>,
    /// Only images carrying tag KEY=VALUE (repeatable: every one of them).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// List the copies in replica region R (under `[cloud.regions.R]`) and name their sources.
    #[arg(long, value_name = "R", conflicts_with = "generate_config_out")]
    pub region: Option<String>,
    /// Print JSON (`schema/query.schema.json`) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write FILE (refused if it exists): an import entry and a manifest block for each active
    /// image, with its copies in the replica regions as replicas.
    #[arg(long, value_name = "FILE")]
    pub generate_config_out: Option<PathBuf>,
    /// Leave `lifecycle: { prevent_destroy: true }` out of the generated blocks.
    #[arg(long, requires = "generate_config_out")]
    pub no_protect: bool,
    /// Find shared images by reading each image's members (one request per active image)
    /// instead of trusting IMS's `__imagetype=shared` filter.
    #[arg(long)]
    pub no_shared_filter: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Only this image, e.g. `images.web` (default: every managed image).
    pub address: Option<String>,
    /// Print JSON (`schema/output.schema.json`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses recorded in the state.
    List,
    /// Show one image's record in the state.
    Show {
        /// The address, e.g. `images.web`.
        address: String,
    },
    /// Forget an image without deleting it from the cloud.
    Rm {
        /// The address to forget.
        address: String,
        /// How long to wait for the state lock, e.g. `30s` (default: fail at once).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        lock_timeout: Option<std::time::Duration>,
    },
    /// Print the whole state as the local state file holds it (e.g. to migrate it).
    Pull,
    /// Replace the stored state with FILE (a state file, e.g. from `state pull`).
    Push {
        /// The state file to store.
        file: PathBuf,
        /// Replace a state of another lineage or a newer serial.
        #[arg(long)]
        force: bool,
        /// How long to wait for the state lock, e.g. `30s` (default: fail at once).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        lock_timeout: Option<std::time::Duration>,
    },
    /// Move an image's record to another address; the image itself is not touched.
    Mv {
        /// The current address.
        source: String,
        /// The new address.
        destination: String,
        /// How long to wait for the state lock, e.g. `30s` (default: fail at once).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        lock_timeout: Option<std::time::Duration>,
    },
    /// Bind the state to the cloud the configuration points at (region, project, local or
    /// not), after showing both; the images are not touched.
    Rebind {
        /// Rebind without asking for confirmation (needed off a terminal).
        #[arg(long)]
        auto_approve: bool,
        /// How long to wait for the state lock, e.g. `30s` (default: fail at once).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        lock_timeout: Option<std::time::Duration>,
    },
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id printed by the command that holds (or held) the lock.
    pub lock_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaginationStyle {
    /// `page_info.next_marker` when more pages remain (the default).
    #[value(alias = "page_info")]
    PageInfo,
    /// A `next` link.
    Next,
    /// No marker at all: clients ask again while a page is full.
    None,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// IP:PORT to listen on (loopback addresses only).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// Keep the emulator's images in FILE, so they survive a restart.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The access key requests must be signed with (generated and printed when absent).
    #[arg(long, requires = "secret_key")]
    pub access_key: Option<String>,
    /// The secret key of that access key (generated and printed when absent).
    #[arg(long, requires = "access_key")]
    pub secret_key: Option<String>,
    /// The project id (generated when absent).
    #[arg(long)]
    pub project_id: Option<String>,
    /// A region it serves, each on its own port (repeat for several; the first is the default
    /// and listens on --listen, the next ones on the following ports).
    #[arg(long = "region", value_name = "REGION", default_value = "cn-north-4")]
    pub regions: Vec<String>,
    /// A sub-project named REGION_SUFFIX (e.g. cn-north-4_consumer), to share images with.
    #[arg(long = "project", value_name = "NAME")]
    pub projects: Vec<String>,
    /// An OBS bucket to serve: NAME in the first region, or REGION:NAME (repeat for several).
    /// Each region's OBS listens on its own port after the IMS ports.
    #[arg(long = "bucket", value_name = "[REGION:]NAME")]
    pub buckets: Vec<String>,
    /// How long an image registration job takes, e.g. `500ms`.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub job_duration: std::time::Duration,
    /// The pagination style of `GET /v2/cloudimages`.
    #[arg(long, value_enum, default_value_t = PaginationStyle::PageInfo)]
    pub pagination: PaginationStyle,
    /// The project's private image quota (`GET /v1/cloudimages/quota`; creates beyond it fail
    /// with IMG.0015).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub image_quota: usize,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Parses `30s`, `2m`, `1h30m` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("`{text}` is not a duration: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::VarArg;

    #[test]
    fn command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn vars_and_var_files_keep_their_order() {
        let args = [
            "imsform",
            "plan",
            "--var-file",
            "a.yaml",
            "--var",
            "x=1",
            "--var-file=b.yaml",
            "--var",
            "y=a=b",
        ];
        let Command::Plan(plan) = Cli::try_parse_from(args).unwrap().command else {
            panic!("not plan")
        };
        assert_eq!(
            plan.vars.args,
            [
                VarArg::File("a.yaml".into()),
                VarArg::Var("x=1".into()),
                VarArg::File("b.yaml".into()),
                VarArg::Var("y=a=b".into()),
            ]
        );
        for command in ["validate", "apply", "refresh"] {
            let cli = Cli::try_parse_from(["imsform", command, "--var", "x=1"]).unwrap();
            let vars = match cli.command {
                Command::Validate(args) => args.vars,
                Command::Apply(args) => args.vars,
                Command::Refresh(args) => args.vars,
                _ => panic!("{command}"),
            };
            assert_eq!(vars.args, [VarArg::Var("x=1".into())], "{command}");
        }
        let cli = Cli::try_parse_from(["imsform", "import", "images.a", "id", "--var", "x=1"]);
        let Command::Import(import) = cli.unwrap().command else {
            panic!("not import")
        };
        assert_eq!(import.vars.args.len(), 1);
    }

    #[test]
    fn refresh_takes_neither_destroy_nor_replace() {
        for flag in ["--destroy", "--replace=images.web", "--refresh=false"] {
            let error = Cli::try_parse_from(["imsform", "refresh", flag]).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{flag}"
            );
        }
        assert!(Cli::try_parse_from(["imsform", "refresh", "--target", "web"]).is_ok());
    }

    #[test]
    fn refresh_false_is_accepted() {
        let cli = Cli::try_parse_from(["imsform", "plan", "--refresh=false"]).unwrap();
        let Command::Plan(plan) = cli.command else {
            panic!("not plan")
        };
        assert!(!plan.run.refresh);
        let cli = Cli::try_parse_from(["imsform", "plan"]).unwrap();
        let Command::Plan(plan) = cli.command else {
            panic!("not plan")
        };
        assert!(plan.run.refresh);
    }
}
