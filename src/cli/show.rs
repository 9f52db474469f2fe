//! `imsform show`: render a saved plan, or the state. With a plan file it prints the plan as
//! `plan` would have (human text, `--json` or `--markdown`), reading neither the state nor the
//! cloud; a relative plan path is taken from the working directory (`-C DIR`). Without a plan
//! file it reads the state without a lock and prints it as text (Terraform's `show` shape) or,
//! with `--json`, in Terraform's state representation (`schema/show.schema.json`): each
//! instance in `values.root_module.resources[]`, the lineage, serial, identity and journal
//! beside. The text rendering of state records lives here; `state show` reuses it.

use std::io::{self, Write};
use std::path::Path;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ShowArgs};
use crate::cli::config::working_dir;
use crate::cli::context::stdout_color;
use crate::cli::io::{read, state_location, stdout_error};
use crate::error::Error;
use crate::manifest::model::{Address, replica_address};
use crate::plan;
use crate::planfile::SavedPlan;
use crate::render::{human, json, markdown};
use crate::state::{ImageRecord, PendingEntry, PendingOperation, State, StateError};

pub async fn run(global: &GlobalArgs, args: ShowArgs) -> Result<Outcome, Error> {
    if let Some(plan_file) = &args.plan_file {
        return show_plan(global, plan_file, &args);
    }
    if args.markdown {
        return Err(StateError::Invalid(
            "--markdown renders a saved plan; show the state as text or with --json".to_owned(),
        )
        .into());
    }
    let state = read(state_location(global)?).await?;
    let mut out = io::stdout().lock();
    if args.json {
        let instances = state.as_ref().map(plan::state_instances);
        let both = state.as_ref().zip(instances.as_deref());
        json::write_state(&mut out, both).map_err(stdout_error)?;
    } else {
        write_state(&mut out, state.as_ref()).map_err(stdout_error)?;
    }
    Ok(Outcome::Success)
}

/// Renders a saved plan on stdout.
fn show_plan(global: &GlobalArgs, plan_file: &Path, args: &ShowArgs) -> Result<Outcome, Error> {
    let saved = SavedPlan::read(&working_dir(global).join(plan_file))?;
    let mut out = io::stdout().lock();
    if args.json {
        json::write_plan(&mut out, &saved.plan)
    } else if args.markdown {
        markdown::write_plan(&mut out, &saved.plan, markdown::DEFAULT_LIMIT)
    } else {
        human::write_plan(&mut out, &saved.plan, stdout_color(global))
    }
    .map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// The whole state as text.
pub fn write_state(out: &mut impl Write, state: Option<&State>) -> io::Result<()> {
    let Some(state) = state else {
        return writeln!(out, "No state.");
    };
    if state.images.is_empty() {
        writeln!(out, "The state holds no images.\n")?;
    }
    for (address, record) in &state.images {
        write_record(out, address, record)?;
        writeln!(out)?;
    }
    if !state.pending.is_empty() {
        writeln!(
            out,
            "# Operations in flight (the next plan or apply resolves them):"
        )?;
        for entry in &state.pending {
            write_pending(out, entry)?;
        }
        writeln!(out)?;
    }
    let cloud = state.identity.as_ref().map_or_else(
        || "not recorded yet (the next write records it)".to_owned(),
        ToString::to_string,
    );
    writeln!(
        out,
        "State: lineage {}, serial {}, written by imsform {}.\nCloud: {cloud}.",
        state.lineage, state.serial, state.imsform_version
    )
}

/// One record as text.
pub fn write_record(
    out: &mut impl Write,
    address: &Address,
    record: &ImageRecord,
) -> io::Result<()> {
    let attrs = &record.attributes;
    writeln!(out, "# {address}:")?;
    let line = |out: &mut dyn Write, name: &str, value: &dyn std::fmt::Display| {
        writeln!(out, "    {name:<12}= {value}")
    };
    line(out, "id", &quoted(&record.id))?;
    line(out, "name", &quoted(&attrs.name))?;
    line(out, "image_url", &quoted(&attrs.image_url))?;
    line(out, "os_version", &quoted(&attrs.os_version))?;
    line(out, "disk_format", &quoted(attrs.disk_format.as_str()))?;
    line(out, "min_disk", &attrs.min_disk)?;
    line(out, "min_ram", &attrs.min_ram)?;
    if let Some(description) = &attrs.description {
        line(out, "description", &quoted(description))?;
    }
    line(out, "protected", &attrs.protected)?;
    if attrs.tags.is_empty() {
        line(out, "tags", &"{}")?;
    } else {
        line(out, "tags", &"{")?;
        for (key, value) in &attrs.tags {
            writeln!(out, "        {} = {}", quoted(key), quoted(value))?;
        }
        writeln!(out, "    }}")?;
    }
    if !attrs.share_with.is_empty() {
        line(out, "share_with", &"[")?;
        for project in &attrs.share_with {
            writeln!(out, "        {},", quoted(project))?;
        }
        writeln!(out, "    ]")?;
    }
    if let Some(observed) = &record.observed {
        let mut parts = vec![observed.status.clone()];
        parts.extend(
            observed
                .checksum
                .as_ref()
                .map(|sum| format!("checksum {sum}")),
        );
        parts.extend(observed.size.map(|size| format!("size {size}")));
        parts.extend(
            observed
                .updated_at
                .as_ref()
                .map(|at| format!("updated {at}")),
        );
        writeln!(out, "    # observed: {}", parts.join(", "))?;
    }
    if let Some(taint) = &record.tainted {
        let code = taint
            .code
            .as_ref()
            .map(|code| format!(" ({code})"))
            .unwrap_or_default();
        writeln!(
            out,
            "    # tainted, will be replaced: {}{code}",
            taint.reason
        )?;
    }
    for (region, replica) in &record.replicas {
        writeln!(out, "# {}:", replica_address(address, region))?;
        line(out, "id", &quoted(&replica.id))?;
        let project = replica.project.as_deref().unwrap_or(region);
        line(out, "project", &quoted(project))?;
        line(out, "name", &quoted(&replica.name))?;
        if let Some(description) = &replica.description {
            line(out, "description", &quoted(description))?;
        }
        line(out, "source_id", &quoted(&replica.source_id))?;
    }
    Ok(())
}

/// How far a journaled create or copy got: its token, and its image and job once known.
fn progress(token: &str, image_id: &Option<String>, job_id: &Option<String>) -> String {
    let mut parts = vec![format!("token {token}")];
    parts.extend(image_id.as_ref().map(|id| format!("image {id}")));
    parts.extend(job_id.as_ref().map(|id| format!("job {id}")));
    parts.join(", ")
}

fn write_pending(out: &mut impl Write, entry: &PendingEntry) -> io::Result<()> {
    let what = match &entry.operation {
        PendingOperation::Create {
            token,
            image_id,
            job_id,
            ..
        } => format!("create ({})", progress(token, image_id, job_id)),
        PendingOperation::Delete { image_id } => format!("delete of image {image_id}"),
        PendingOperation::Copy {
            token,
            region,
            image_id,
            job_id,
            ..
        } => format!("copy to {region} ({})", progress(token, image_id, job_id)),
        PendingOperation::DeleteReplica { region, image_id } => {
            format!("delete of replica {image_id} in {region}")
        }
        PendingOperation::Members {
            image_id,
            add,
            remove,
        } => {
            let mut parts = Vec::new();
            parts.extend((!add.is_empty()).then(|| format!("add {}", add.join(", "))));
            parts.extend((!remove.is_empty()).then(|| format!("remove {}", remove.join(", "))));
            format!("sharing change of image {image_id} ({})", parts.join("; "))
        }
    };
    writeln!(
        out,
        "#   {}: {what}, started {}",
        entry.address, entry.started_at
    )
}

fn quoted(text: &str) -> String {
    // JSON string syntax: escapes quotes and control characters unambiguously.
    serde_json::Value::from(text).to_string()
}
