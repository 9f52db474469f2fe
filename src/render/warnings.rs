//! The warnings a plan carries besides its changes, worded once for the human and markdown
//! renderings (JSON has them as fields): targeting in effect (Terraform's words), and planned
//! creates named like images that imsform does not manage, with the command that adopts them.

use crate::plan::Plan;

/// One warning: a title and the lines that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Warning {
    pub title: String,
    pub lines: Vec<String>,
}

/// The plan's warnings, targeting first.
pub(crate) fn of(plan: &Plan) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if let Some(targeting) = &plan.targeting {
        let mut flags: Vec<String> = targeting
            .targets
            .iter()
            .map(|t| format!("--target {t}"))
            .collect();
        flags.extend(targeting.excludes.iter().map(|e| format!("--exclude {e}")));
        warnings.push(Warning {
            title: "Resource targeting is in effect".to_owned(),
            lines: vec![format!(
                "This plan was narrowed with {}, so it may not hold every change the manifests \
                 ask for. Use it to work around a mistake or an error, not routinely.",
                flags.join(" ")
            )],
        });
    }
    for collision in &plan.name_collisions {
        let ids = collision.image_ids.join(", ");
        let (count, that) = match collision.image_ids.len() {
            1 => ("an image".to_owned(), "that image"),
            n => (format!("{n} images"), "one of them"),
        };
        let mut lines = vec![format!(
            "{} will create an image named \"{}\", but the project already has {count} of \
             that name that imsform does not manage ({ids}). To manage {that} instead of \
             creating another, run:",
            collision.address, collision.name
        )];
        lines.extend(
            collision
                .image_ids
                .iter()
                .map(|id| format!("    imsform import {} {id}", collision.address)),
        );
        lines.push(
            "To manage many existing images at once, `imsform query --generate-config-out \
             adopted.yaml` writes their manifest blocks with import entries."
                .to_owned(),
        );
        warnings.push(Warning {
            title: format!("An image named \"{}\" already exists", collision.name),
            lines,
        });
    }
    warnings
}
