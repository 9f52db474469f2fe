//! The text of a generated manifest: a header saying what it is and what was left out, the
//! `import` entries, then one minimal image block per adopted image, keys in order. Only values
//! that differ from what an absent field means are written (`min_ram: 0`, `protected: false`,
//! an empty description, the `disk_format` the file's extension gives are left out). Every
//! string is double-quoted (JSON escapes are YAML escapes) with `${` escaped as `$${`, so no
//! value is read as a number, a boolean or a variable reference. Pure; deterministic.

use std::fmt::Write as _;

use super::attrs::writes_disk_format;
use super::generate::{Adopted, Generation};
use crate::manifest::model::replica_address;
use crate::manifest::unknown_source::{UNKNOWN_IMAGE_URL, is_unknown};

/// What the header names.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub region: &'a str,
    pub project_id: &'a str,
}

/// A YAML double-quoted scalar holding exactly `text` after variable substitution.
pub fn quote(text: &str) -> String {
    let escaped = text.replace("${", "$${");
    serde_json::Value::String(escaped).to_string()
}

/// The whole file.
pub fn render(generation: &Generation, header: Header<'_>) -> String {
    let mut out = String::new();
    write_header(&mut out, generation, header);
    out.push_str("import:\n");
    for adopted in &generation.adopted {
        let _ = writeln!(
            out,
            "  - to: {}\n    id: {}",
            adopted.address,
            quote(&adopted.id)
        );
        for (region, replica) in &adopted.replicas {
            let address = replica_address(&adopted.address, region);
            let _ = writeln!(out, "  - to: '{address}'\n    id: {}", quote(&replica.id));
        }
    }
    out.push_str("\nimages:\n");
    for adopted in &generation.adopted {
        write_image(&mut out, adopted);
    }
    out
}

fn write_header(out: &mut String, generation: &Generation, header: Header<'_>) {
    let count = generation.adopted.len();
    let replicas: usize = generation.adopted.iter().map(|a| a.replicas.len()).sum();
    let _ = writeln!(
        out,
        "# Written by `imsform query --generate-config-out`: {} of project\n\
         # {} in {}{}, with their import entries.\n\
         # `imsform plan` shows each as an import and nothing else; review this file, then\n\
         # `imsform apply` records them in the state without changing them. The import entries\n\
         # can stay: once applied they do nothing.",
        crate::manifest::plural(count, "image"),
        header.project_id,
        header.region,
        match replicas {
            0 => String::new(),
            n => format!(" and {}", crate::manifest::plural(n, "replica")),
        },
    );
    if generation
        .adopted
        .iter()
        .any(|a| is_unknown(&a.attrs.image_url))
    {
        let _ = writeln!(
            out,
            "#\n# `image_url: {UNKNOWN_IMAGE_URL}`: IMS does not report the file the image was made \
             from. It\n# never forces a replacement; set the real file once known (the state \
             records it,\n# the image is kept)."
        );
    }
    if !generation.skipped.is_empty() {
        out.push_str("#\n# Not adopted:\n");
        for skipped in &generation.skipped {
            let _ = writeln!(
                out,
                "#   {} {} {:?} ({}): {}",
                skipped.region, skipped.id, skipped.name, skipped.status, skipped.reason
            );
        }
    }
    out.push('\n');
}

fn write_image(out: &mut String, adopted: &Adopted) {
    let attrs = &adopted.attrs;
    let _ = writeln!(out, "  {}:", adopted.address.key());
    let _ = writeln!(out, "    name: {}", quote(&attrs.name));
    let _ = writeln!(out, "    image_url: {}", quote(&attrs.image_url));
    let _ = writeln!(out, "    os_version: {}", quote(&attrs.os_version));
    if writes_disk_format(attrs) {
        let _ = writeln!(out, "    disk_format: {}", attrs.disk_format);
    }
    let _ = writeln!(out, "    min_disk: {}", attrs.min_disk);
    if attrs.min_ram != 0 {
        let _ = writeln!(out, "    min_ram: {}", attrs.min_ram);
    }
    if let Some(description) = &attrs.description {
        let _ = writeln!(out, "    description: {}", quote(description));
    }
    if !attrs.tags.is_empty() {
        out.push_str("    tags:\n");
        for (key, value) in &attrs.tags {
            let _ = writeln!(out, "      {}: {}", quote(key), quote(value));
        }
    }
    if attrs.protected {
        out.push_str("    protected: true\n");
    }
    if !attrs.share_with.is_empty() {
        out.push_str("    share_with:\n");
        for project in &attrs.share_with {
            let _ = writeln!(out, "      - {}", quote(project));
        }
    }
    write_replicas(out, adopted);
    if adopted.prevent_destroy {
        out.push_str("    lifecycle:\n      prevent_destroy: true\n");
    }
}

fn write_replicas(out: &mut String, adopted: &Adopted) {
    if adopted.replicas.is_empty() {
        return;
    }
    out.push_str("    replicas:\n");
    for (region, replica) in &adopted.replicas {
        let mut fields = Vec::new();
        if let Some(name) = &replica.name {
            fields.push(format!("name: {}", quote(name)));
        }
        if let Some(description) = &replica.description {
            fields.push(format!("description: {}", quote(description)));
        }
        let _ = match fields.is_empty() {
            true => writeln!(out, "      {region}: {{}}"),
            false => writeln!(out, "      {region}: {{ {} }}", fields.join(", ")),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(quote("web"), "\"web\"");
        assert_eq!(quote("true"), "\"true\"");
        assert_eq!(quote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quote("cost ${x}"), "\"cost $${x}\"");
        assert_eq!(quote("基础"), "\"基础\"");
    }
}
