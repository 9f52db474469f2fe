//! `imsform query [--name REGEX] [--tag KEY=VALUE]… [--region R] [--json]
//! [--generate-config-out FILE [--no-protect]] [--no-shared-filter]`: the project's images that
//! no address of the state manages, and with `--generate-config-out` a manifest file that adopts
//! the active ones (design.md section 12). Orchestration only; the decisions are
//! `crate::adopt`'s.
//!
//! Reads the state without its lock (like `output`: query writes no state) and refuses one of
//! another cloud. Everything refused is refused before the file is written: an existing FILE
//! (checked first, and again when the file is created), a directory that does not exist, a
//! `--region` that is not configured, bad filters, manifests that do not validate. The file is
//! checked by the loader with the manifests already there before it is written
//! (`adopt::verify`): an image its block would not state exactly is skipped with the reason.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::adopt::generate::Generation;
use crate::adopt::listing::{self, Listing};
use crate::adopt::{self, Bound, Existing, Filters, Found, read, verify, yaml};
use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, QueryArgs};
use crate::cli::config::{Config, process_env, working_dir};
use crate::cli::context::{self, Connection, regions::Reach};
use crate::cli::io::{blocking, stdout_error};
use crate::cloud::{ImageStatus, RemoteImage};
use crate::error::Error;
use crate::manifest::{self, Loaded};
use crate::state::{self, State, StateError};

pub async fn run(global: &GlobalArgs, args: QueryArgs) -> Result<Outcome, Error> {
    let filters = Filters::new(args.name.as_deref(), &args.tags).map_err(Error::Usage)?;
    let config = Config::load(&working_dir(global), &process_env)?;
    let out_file = args
        .generate_config_out
        .as_ref()
        .map(|f| config.dir.join(f));
    check_request(&args, &config, out_file.as_deref())?;
    let existing = existing_manifests(global, &args, &config.dir)?;
    context::check_connectable(&config)?;
    let location = config.state.location.clone();
    let state = blocking(move || Ok(state::read(&location)?)).await?;
    let regions = regions_read(&args, &config, &existing, state.as_ref());
    let reach = Reach {
        regions: regions.clone(),
        consumers: BTreeSet::new(),
    };
    let connection = context::connect(&config, &reach).await?;
    let inputs = Inputs {
        args: &args,
        config: &config,
        filters: &filters,
        existing: &existing,
        state: state.as_ref(),
        regions: &regions,
        out_file: out_file.as_deref(),
    };
    let listing = query(&inputs, &connection).await;
    connection.close().await;
    let listing = listing?;
    let mut out = std::io::stdout().lock();
    match args.json {
        true => listing::write_json(&mut out, &listing),
        false => listing::write_text(&mut out, &listing),
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// What one run works from.
struct Inputs<'a> {
    args: &'a QueryArgs,
    config: &'a Config,
    filters: &'a Filters,
    existing: &'a Loaded,
    state: Option<&'a State>,
    /// The replica regions read.
    regions: &'a BTreeSet<String>,
    out_file: Option<&'a Path>,
}

/// Refuses, before anything is read, what cannot work.
fn check_request(args: &QueryArgs, config: &Config, out_file: Option<&Path>) -> Result<(), Error> {
    if let Some(file) = out_file {
        if file.exists() {
            return Err(Error::Usage(format!(
                "--generate-config-out {}: the file exists; imsform writes a new file only \
                 (move it away, or name another)",
                file.display()
            )));
        }
        let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
        if parent.is_some_and(|dir| !dir.is_dir()) {
            return Err(Error::Usage(format!(
                "--generate-config-out {}: its directory does not exist",
                file.display()
            )));
        }
    }
    let cloud = &config.cloud;
    match &args.region {
        Some(region) if *region != cloud.region && !cloud.local => {
            if !cloud.regions.contains_key(region) {
                return Err(Error::Usage(format!(
                    "--region {region}: the region is not configured; add \
                     `[cloud.regions.{region}]` to imsform.toml"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The manifests of the working directory (none is fine: nothing to collide with).
fn existing_manifests(global: &GlobalArgs, args: &QueryArgs, dir: &Path) -> Result<Loaded, Error> {
    if !manifest::has_manifests(dir) {
        return Ok(Loaded {
            manifests: Default::default(),
            imports: Vec::new(),
            warnings: Vec::new(),
            files: Vec::new(),
            variables: Default::default(),
            uploads: Default::default(),
        });
    }
    context::load_manifests(global, &[], &args.vars, dir)
}

/// The replica regions to read: `--region`'s, or with `--generate-config-out` every region
/// the configuration, the manifests' replicas and the state's know.
fn regions_read(
    args: &QueryArgs,
    config: &Config,
    existing: &Loaded,
    state: Option<&State>,
) -> BTreeSet<String> {
    let mut regions = BTreeSet::new();
    if let Some(region) = &args.region {
        regions.insert(region.clone());
    } else if args.generate_config_out.is_some() {
        regions.extend(config.cloud.regions.keys().cloned());
        regions.extend(existing.manifests.replica_regions());
        regions.extend(state.iter().flat_map(|s| s.replica_regions()));
    }
    regions.remove(&config.cloud.region);
    regions
}

/// Reads the cloud and makes the listing (writing the file when asked).
async fn query(inputs: &Inputs<'_>, connection: &Connection) -> Result<Listing, Error> {
    let client = connection.client.as_ref();
    let project_id = client.project_id().await?.to_owned();
    check_identity(inputs, connection).await?;
    let sharing = inputs.out_file.is_some() && !inputs.args.no_shared_filter;
    let listed = read::list(client, &connection.factory, inputs.regions, sharing).await?;
    let bound = Bound::of(inputs.state);
    let home = &inputs.config.cloud.region;
    let images = adopt::unmanaged(listed.images.clone(), &bound.home, inputs.filters);
    let Some(file) = inputs.out_file else {
        let region = inputs.args.region.as_ref().unwrap_or(home);
        let shown = match listed.regions.get(region) {
            Some(copies) => unmanaged_in(region, copies, &bound, inputs.filters),
            None => images,
        };
        return Ok(Listing::new(
            region,
            &project_id,
            &shown,
            &listed.images,
            &bound,
        ));
    };
    let found = Listed {
        project_id: &project_id,
        images,
        listed: &listed,
        bound: &bound,
    };
    generate_file(inputs, connection, found, file).await
}

/// What the lists gave, for the file.
struct Listed<'a> {
    project_id: &'a str,
    /// The region's images no address manages, the filters applied.
    images: Vec<RemoteImage>,
    listed: &'a read::Listed,
    bound: &'a Bound,
}

/// The images of `region` in `images` that the state does not bind there, passing `filters`.
fn unmanaged_in(
    region: &str,
    images: &[RemoteImage],
    bound: &Bound,
    filters: &Filters,
) -> Vec<RemoteImage> {
    let none = Default::default();
    let bound_there = bound.regions.get(region).unwrap_or(&none);
    adopt::unmanaged(images.to_vec(), bound_there, filters)
}

/// Reads the members of the shared images, decides, checks and writes the file.
async fn generate_file(
    inputs: &Inputs<'_>,
    connection: &Connection,
    mut found: Listed<'_>,
    file: &Path,
) -> Result<Listing, Error> {
    let shared = found.listed.shared.as_ref();
    let wanted = |image: &RemoteImage| {
        image.status == ImageStatus::Active && shared.is_none_or(|ids| ids.contains(&image.id))
    };
    let client = connection.client.as_ref();
    let reads = read::read_members(client, &mut found.images, wanted).await?;
    tracing::info!(
        member_lists = reads,
        "read the members of the shared images"
    );
    let copies = found
        .listed
        .regions
        .iter()
        .map(|(region, copies)| {
            let kept = unmanaged_in(region, copies, found.bound, &Filters::default());
            (region.clone(), kept)
        })
        .collect();
    let home = &inputs.config.cloud.region;
    let found_images = Found {
        region: home,
        images: &found.images,
        copies: &copies,
        protect: !inputs.args.no_protect,
    };
    let existing = Existing {
        manifests: &inputs.existing.manifests,
        imports: &inputs.existing.imports,
        state: inputs.state,
    };
    let mut generation = adopt::generate(existing, found_images);
    let header = yaml::Header {
        region: home,
        project_id: found.project_id,
    };
    let text = checked_text(inputs, &mut generation, header)?;
    let (images, listed) = (&found.images, &found.listed.images);
    let mut listing = Listing::new(home, found.project_id, images, listed, found.bound);
    let written = !generation.adopted.is_empty();
    if written {
        write_new(file, &text)?;
    }
    let shown = inputs.args.generate_config_out.as_deref().unwrap_or(file);
    listing.wrote(&shown.display().to_string(), written, &generation);
    Ok(listing)
}

/// Refuses a state bound to another cloud than the connection's.
async fn check_identity(inputs: &Inputs<'_>, connection: &Connection) -> Result<(), Error> {
    let Some(recorded) = inputs.state.and_then(|s| s.identity.as_ref()) else {
        return Ok(());
    };
    let configured = connection.identity().await?;
    if *recorded == configured {
        return Ok(());
    }
    Err(StateError::OtherIdentity {
        location: inputs.config.state.location.to_string(),
        state: Box::new(recorded.clone()),
        configured: Box::new(configured),
    }
    .into())
}

/// The file's text, after the loader read it with the manifests already there: images whose
/// block would not load, or not to exactly the image, are skipped first, with the reason.
fn checked_text(
    inputs: &Inputs<'_>,
    generation: &mut Generation,
    header: yaml::Header<'_>,
) -> Result<String, Error> {
    let scratch = tempfile::tempdir().map_err(|source| Error::Io {
        context: "cannot make a scratch directory to check the generated file".to_owned(),
        source,
    })?;
    let file = scratch.path().join(SCRATCH_NAME);
    // Each pass skips at least one image, or ends.
    loop {
        let text = yaml::render(generation, header);
        if generation.adopted.is_empty() {
            return Ok(text);
        }
        let problems = match load_with(inputs, &file, &text)? {
            Ok(loaded) => verify::mismatches(generation, &loaded.manifests, &loaded.imports),
            Err(diagnostics) => blame(&text, &diagnostics)?,
        };
        if problems.is_empty() {
            return Ok(text);
        }
        for (address, reason) in problems {
            generation.skip(&address, header.region, &reason);
        }
    }
}

/// The name of the generated file while the loader checks it.
const SCRATCH_NAME: &str = "imsform-query-generated.yaml";

/// The manifests of the working directory together with `text` written to `file`, as
/// `validate` would load them: the manifests, or the loader's diagnostics.
fn load_with(
    inputs: &Inputs<'_>,
    file: &Path,
    text: &str,
) -> Result<Result<Loaded, Vec<manifest::Diagnostic>>, Error> {
    let _ = std::fs::remove_file(file);
    write_new(file, text)?;
    let dir = &inputs.config.dir;
    let mut paths: Vec<PathBuf> = Vec::new();
    if manifest::has_manifests(dir) {
        paths.push(dir.clone());
    }
    paths.push(file.to_path_buf());
    let vars = context::var_input(&inputs.args.vars);
    Ok(manifest::load(&paths, dir, &vars).map_err(|error| error.diagnostics().to_vec()))
}

/// The adopted images the loader's errors in the generated file are about, each with the
/// first message; an error elsewhere (or in no block) fails the run with the diagnostics.
fn blame(
    text: &str,
    diagnostics: &[manifest::Diagnostic],
) -> Result<Vec<(crate::manifest::model::Address, String)>, Error> {
    let mut blamed = std::collections::BTreeMap::new();
    for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
        let at = diagnostic
            .primary
            .as_deref()
            .filter(|label| label.file.file_name() == Some(std::ffi::OsStr::new(SCRATCH_NAME)));
        let line = at.and_then(|label| label.snippet.as_ref()).map(|s| s.line);
        let Some(address) = line.and_then(|line| verify::blamed(text, line)) else {
            context::print_diagnostics(diagnostics, false)?;
            return Err(Error::Usage(
                "the generated manifests do not load with the manifests already there; no \
                 file was written"
                    .to_owned(),
            ));
        };
        let reason = format!("with the manifests already there: {}", diagnostic.message);
        blamed.entry(address).or_insert(reason);
    }
    Ok(blamed.into_iter().collect())
}

/// Writes `text` to `file`, which must not exist.
fn write_new(file: &Path, text: &str) -> Result<(), Error> {
    let io = |source| Error::Io {
        context: format!("cannot write {}", file.display()),
        source,
    };
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(io)?;
    handle.write_all(text.as_bytes()).map_err(io)?;
    handle.sync_all().map_err(io)
}
