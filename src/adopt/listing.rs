//! The output of `imsform query`: the images no address of the state manages, as a table or
//! as JSON (`schema/query.schema.json`, generated from these types by [`schema`]; a test keeps
//! the committed file equal to it), and what `--generate-config-out` wrote. Writes to any
//! `impl Write`; pure otherwise.

use std::collections::BTreeMap;
use std::io::{self, Write};

use schemars::JsonSchema;
use serde::Serialize;

use super::bound::Bound;
use super::generate::{Generation, Skipped};
use super::select::Source;
use crate::cloud::{ImageStatus, RemoteImage};
use crate::manifest::model::replica_address;

/// The version of the JSON document.
pub const FORMAT_VERSION: &str = "1.0";

/// Everything `imsform query --json` prints.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "imsform query", deny_unknown_fields)]
pub struct Listing {
    /// The format of this document.
    #[schemars(extend("const" = "1.0"))]
    pub format_version: &'static str,
    /// The region listed (`--region`, else the configured one).
    pub region: String,
    pub project_id: String,
    /// The images of the region that no address of the state manages, by name, creation time
    /// and id.
    pub images: Vec<Row>,
    /// What `--generate-config-out` wrote; `null` without it.
    pub generated: Option<Written>,
}

/// One image.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Row {
    /// The IMS image id.
    pub id: String,
    pub name: String,
    /// `queued`, `saving`, `active`, `killed` or `deleted`.
    pub status: String,
    /// As IMS reports it (RFC 3339).
    pub created_at: Option<String>,
    /// Every tag, imsform's token tag included.
    pub tags: BTreeMap<String, String>,
    pub source: SourceRow,
}

/// Where the image came from (`__data_origin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Written {
    /// The file asked for (`--generate-config-out`).
    pub file: String,
    /// Whether it was written: not when nothing was adopted.
    pub written: bool,
    /// Each import entry: `to` and `id`.
    pub imports: Vec<ImportRow>,
    /// The images not adopted, and why.
    pub skipped: Vec<SkippedRow>,
}

/// One import entry of the file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ImportRow {
    /// The address: `images.<key>` or `images.<key>.replicas["REGION"]`.
    pub to: String,
    pub id: String,
}

/// An image not adopted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
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

    /// Records what `generation` adopted, and whether it was `written` to `file`.
    pub fn wrote(&mut self, file: &str, written: bool, generation: &Generation) {
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
            written,
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

/// `schema/query.schema.json` as pretty JSON with a final newline.
pub fn schema() -> String {
    let schema = schemars::schema_for!(Listing);
    // Serializing a `serde_json::Value` tree cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
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
    let imports = match written.imports.len() {
        1 => "1 import entry".to_owned(),
        n => format!("{n} import entries"),
    };
    let file = &written.file;
    match written.written {
        true => writeln!(out, "\nWrote {file}: {imports}.")?,
        false => writeln!(out, "\nNothing to adopt: {file} was not written.")?,
    }
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
