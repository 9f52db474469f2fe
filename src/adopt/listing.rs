//! The output of `imsform query`: the images no address of the state manages, as a table or
//! as JSON (`schema/query.schema.json`), and what `--generate-config-out` wrote. Writes to any
//! `impl Write`; pure otherwise.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::bound::Bound;
use super::generate::{Generation, Skipped};
use super::select::Source;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::replica_address;

/// The version of the JSON document.
pub const FORMAT_VERSION: &str = "1.0";

/// Everything `imsform query` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub format_version: &'static str,
    /// The region listed (`--region`, else the configured one).
    pub region: String,
    pub project_id: String,
    pub images: Vec<Row>,
    /// What `--generate-config-out` wrote; `null` without it.
    pub generated: Option<Written>,
}

/// One image.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created_at: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub source: SourceRow,
}

/// Where the image came from (`__data_origin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceRow {
    /// Registered from an OBS file.
    File { image_url: String },
    /// A copy of another image; its name when listed, the address managing it when any.
    Copy {
        region: String,
        image_id: String,
        name: Option<String>,
        address: Option<String>,
    },
    /// IMS reports neither.
    Unknown,
}

/// What the generated file holds.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub file: String,
    /// Each import entry: `to` and `id`.
    pub imports: Vec<ImportRow>,
    pub skipped: Vec<SkippedRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportRow {
    pub to: String,
    pub id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedRow {
    pub region: String,
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: String,
}

impl Listing {
    /// The listing of `images` of `region`; copies name their source from `sources` (the
    /// configured region's images) and `bound` (the state).
    pub fn new(
        region: &str,
        project_id: &str,
        images: &[RemoteImage],
        sources: &[RemoteImage],
        bound: &Bound,
    ) -> Listing {
        let names: BTreeMap<&str, &str> = sources
            .iter()
            .map(|image| (image.id.as_str(), image.name.as_str()))
            .collect();
        let rows = images
            .iter()
            .map(|image| Row {
                id: image.id.clone(),
                name: image.name.clone(),
                status: image.status.as_str().to_owned(),
                created_at: image.created_at.clone(),
                tags: image.tags.clone(),
                source: match Source::of(image) {
                    Source::File(image_url) => SourceRow::File { image_url },
                    Source::Copy { region, image_id } => SourceRow::Copy {
                        name: names.get(image_id.as_str()).map(|n| (*n).to_owned()),
                        address: bound.address_of(None, &image_id).map(str::to_owned),
                        region,
                        image_id,
                    },
                    Source::Unknown => SourceRow::Unknown,
                },
            })
            .collect();
        Listing {
            format_version: FORMAT_VERSION,
            region: region.to_owned(),
            project_id: project_id.to_owned(),
            images: rows,
            generated: None,
        }
    }

    /// Records that `generation` was written to `file`.
    pub fn wrote(&mut self, file: &str, generation: &Generation) {
        let mut imports = Vec::new();
        for adopted in &generation.adopted {
            imports.push(ImportRow {
                to: adopted.address.to_string(),
                id: adopted.id.clone(),
            });
            for (region, replica) in &adopted.replicas {
                imports.push(ImportRow {
                    to: replica_address(&adopted.address, region),
                    id: replica.id.clone(),
                });
            }
        }
        let skipped = generation.skipped.iter().map(skipped_row).collect();
        self.generated = Some(Written {
            file: file.to_owned(),
            imports,
            skipped,
        });
    }
}

fn skipped_row(skipped: &Skipped) -> SkippedRow {
    SkippedRow {
        region: skipped.region.clone(),
        id: skipped.id.clone(),
        name: skipped.name.clone(),
        status: skipped.status.clone(),
        reason: skipped.reason.clone(),
    }
}

/// One JSON document and a line break.
pub fn write_json(out: &mut impl Write, listing: &Listing) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, listing)?;
    writeln!(out)
}

fn source_text(source: &SourceRow) -> String {
    match source {
        SourceRow::File { image_url } => image_url.clone(),
        SourceRow::Copy {
            region,
            image_id,
            name,
            address,
        } => {
            let known: Vec<String> = name
                .iter()
                .map(|n| format!("{n:?}"))
                .chain(address.clone())
                .collect();
            match known.is_empty() {
                true => format!("copy of {image_id} of {region}"),
                false => format!("copy of {image_id} of {region} ({})", known.join(", ")),
            }
        }
        SourceRow::Unknown => "unknown".to_owned(),
    }
}

/// The table, then what was written.
pub fn write_text(out: &mut impl Write, listing: &Listing) -> io::Result<()> {
    let active = ImageStatus::Active.as_str();
    let rows = &listing.images;
    if rows.is_empty() {
        writeln!(
            out,
            "No image in {} that the state does not manage.",
            listing.region
        )?;
    } else {
        let count = crate::manifest::plural(rows.len(), "image");
        let actives = rows.iter().filter(|row| row.status == active).count();
        writeln!(
            out,
            "{count} in {} that no address of the state manages ({actives} active):\n",
            listing.region
        )?;
        write_table(out, rows)?;
    }
    if let Some(written) = &listing.generated {
        write_written(out, written)?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let created = row.created_at.clone().unwrap_or_else(|| "-".to_owned());
            let name = format!("{:?}", row.name);
            [
                row.id.clone(),
                row.status.clone(),
                created,
                name,
                source_text(&row.source),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "CREATED", "NAME", "SOURCE"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let [id, status, created, name, source] = row;
        let line = format!(
            "{id:<w0$}  {status:<w1$}  {created:<w2$}  {name:<w3$}  {source}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_written(out: &mut impl Write, written: &Written) -> io::Result<()> {
    let imports = crate::manifest::plural(written.imports.len(), "import entry");
    writeln!(out, "\nWrote {}: {imports}.", written.file)?;
    if !written.skipped.is_empty() {
        writeln!(out, "Not adopted ({}):", written.skipped.len())?;
        for skipped in &written.skipped {
            writeln!(
                out,
                "  {} {} {:?} ({}): {}",
                skipped.region, skipped.id, skipped.name, skipped.status, skipped.reason
            )?;
        }
    }
    writeln!(
        out,
        "Run `imsform plan` to review the imports; `imsform apply` records them in the state."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::fixtures::{copy_of, image, state_with};

    #[test]
    fn the_table_names_sources_and_copies_name_theirs() {
        let web = image("img-web", "web");
        let mut queued = image("img-q", "half made");
        queued.status = ImageStatus::Queued;
        queued.image_url = None;
        let copy = copy_of("copy-1", &web, "cn-north-4");
        let state = state_with(&[("web", "img-web", &[])]);
        let bound = Bound::of(Some(&state));
        let listing = Listing::new(
            "cn-south-1",
            "p",
            &[copy],
            &[web.clone(), queued.clone()],
            &bound,
        );
        let mut out = Vec::new();
        write_text(&mut out, &listing).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("1 image in cn-south-1 that no address"),
            "{text}"
        );
        assert!(
            text.contains("copy of img-web of cn-north-4 (\"web\", images.web)"),
            "{text}"
        );
        let home = Listing::new("cn-north-4", "p", &[web, queued], &[], &bound);
        let mut out = Vec::new();
        write_text(&mut out, &home).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("(1 active)"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].starts_with("ID ") && lines[2].ends_with("SOURCE"),
            "{text}"
        );
        assert!(lines[3].contains("bucket:web.qcow2"), "{text}");
        assert!(
            lines[4].contains("\"half made\"") && lines[4].ends_with("unknown"),
            "{text}"
        );
        let empty = Listing::new("cn-north-4", "p", &[], &[], &bound);
        let mut out = Vec::new();
        write_text(&mut out, &empty).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "No image in cn-north-4 that the state does not manage.\n"
        );
    }
}
