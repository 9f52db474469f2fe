//! Tests of the plan-time import refusals: every refusal at its entry, done entries left alone.

use std::collections::BTreeMap;

use super::*;
use crate::adopt::fixtures::{copy_of, image, state_with};
use crate::manifest::diagnostic::Snippet;

/// An entry written on `line` of `imports.yaml`: `to` at column 9, `id` on the next line.
fn entry(to: &str, id: &str, line: usize) -> Import {
    let label = |line: usize, column: usize, text: &str| Label {
        file: "imports.yaml".into(),
        snippet: Some(Snippet {
            line,
            column,
            text: text.to_owned(),
            width: 1,
        }),
        note: None,
    };
    Import {
        to: ImportTarget::parse(to).unwrap(),
        id: id.to_owned(),
        to_label: label(line, 9, &format!("  - to: {to}")),
        id_label: label(line + 1, 9, &format!("    id: {id}")),
    }
}

struct World {
    images: BTreeMap<String, RemoteImage>,
    regions: BTreeMap<String, BTreeMap<String, RemoteImage>>,
    foreign: BTreeMap<String, Foreign>,
}

impl World {
    fn new() -> World {
        let mut queued = image("img-queued", "half-made");
        queued.status = ImageStatus::Queued;
        let images: BTreeMap<String, RemoteImage> = [
            image("img-web", "web"),
            image("img-new", "new"),
            image("img-other", "other"),
            queued,
        ]
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
        let copies = [
            copy_of("copy-web", &images["img-web"], "cn-north-4"),
            copy_of("copy-new", &images["img-new"], "cn-north-4"),
            copy_of("copy-other", &images["img-other"], "cn-north-4"),
        ];
        let south = copies.into_iter().map(|c| (c.id.clone(), c)).collect();
        let foreign = BTreeMap::from([(
            "img-theirs".to_owned(),
            Foreign {
                owner: "0123456789abcdef0123456789abcdef".into(),
                image_type: "shared".into(),
            },
        )]);
        World {
            images,
            regions: BTreeMap::from([("cn-south-1".to_owned(), south)]),
            foreign,
        }
    }

    fn facts(&self) -> ImportFacts<'_> {
        ImportFacts {
            region: "cn-north-4",
            project_id: "fedcba9876543210fedcba9876543210",
            images: &self.images,
            regions: &self.regions,
            foreign: &self.foreign,
        }
    }
}

/// `(file:line:col, message)` of each refusal.
fn refusals(imports: &[Import], state: Option<&State>) -> Vec<(String, String)> {
    let world = World::new();
    check_imports(imports, state, world.facts())
        .into_iter()
        .map(|d| (d.primary.unwrap().position(), d.message))
        .collect()
}

#[test]
fn done_entries_are_neither_refused_nor_pending() {
    let state = state_with(&[("web", "img-web", &[("cn-south-1", "copy-web")])]);
    let imports = [
        entry("images.web", "img-web", 1),
        entry("images.web.replicas[\"cn-south-1\"]", "copy-web", 3),
        entry("images.new", "img-new", 5),
    ];
    assert_eq!(refusals(&imports, Some(&state)), []);
    let pending: Vec<&str> = pending_imports(&imports, Some(&state))
        .into_iter()
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(pending, ["img-new"]);
    assert_eq!(pending_imports(&imports, None).len(), 3);
}

#[test]
fn ids_and_addresses_the_state_binds_elsewhere_are_refused() {
    let state = state_with(&[("web", "img-web", &[("cn-south-1", "copy-web")])]);
    let imports = [
        entry("images.db", "img-web", 1),
        entry("images.web", "img-new", 3),
        entry("images.db.replicas[\"cn-south-1\"]", "copy-web", 5),
    ];
    let found = refusals(&imports, Some(&state));
    assert_eq!(
        found,
        [
            (
                "imports.yaml:2:9".to_owned(),
                "image img-web is already managed as images.web".to_owned()
            ),
            (
                "imports.yaml:3:9".to_owned(),
                "images.web already manages image img-web".to_owned()
            ),
            (
                "imports.yaml:6:9".to_owned(),
                "image copy-web is already managed as images.web.replicas[\"cn-south-1\"]"
                    .to_owned()
            ),
        ]
    );
}

#[test]
fn unknown_foreign_and_inactive_images_are_refused() {
    let imports = [
        entry("images.a", "img-missing", 1),
        entry("images.b", "img-theirs", 3),
        entry("images.c", "img-queued", 5),
        entry("images.d", "copy-web", 7),
    ];
    let found = refusals(&imports, None);
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "there is no image img-missing in project fedcba9876543210fedcba9876543210 of \
             region cn-north-4",
            "image img-theirs is not a private image of project \
             fedcba9876543210fedcba9876543210: it is a shared image of project \
             0123456789abcdef0123456789abcdef",
            "image img-queued is queued, not active",
            "there is no image copy-web in project fedcba9876543210fedcba9876543210 of region \
             cn-north-4",
        ]
    );
    assert!(found.iter().all(|(at, _)| at.starts_with("imports.yaml:")));
    assert_eq!(found[2].0, "imports.yaml:6:9");
}

#[test]
fn a_replica_must_be_a_copy_of_its_images_own_image() {
    let imports = [
        entry("images.new", "img-new", 1),
        entry("images.new.replicas[\"cn-south-1\"]", "copy-new", 3),
        entry("images.x.replicas[\"cn-south-1\"]", "copy-other", 5),
        entry("images.web.replicas[\"cn-south-1\"]", "copy-other", 7),
        entry("images.y.replicas[\"ap-southeast-1\"]", "copy-web", 9),
    ];
    let state = state_with(&[("web", "img-web", &[])]);
    let found = refusals(&imports[..2], Some(&state));
    assert_eq!(found, [], "the image's own entry names the source");
    let found = refusals(&imports[2..], Some(&state));
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "images.x has no image yet, so images.x.replicas[\"cn-south-1\"] has no source",
            "image copy-other is not a copy of images.web's image img-web",
            "there is no image copy-web in project fedcba9876543210fedcba9876543210 of region \
             ap-southeast-1",
        ]
    );
    assert_eq!(found[0].0, "imports.yaml:5:9", "at the address");
    assert_eq!(found[1].0, "imports.yaml:8:9", "at the id");
}
