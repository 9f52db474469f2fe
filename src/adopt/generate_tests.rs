//! Tests of what is adopted and skipped, and of the generated file read back by the loader.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::adopt::fixtures::{copy_of, image, state_with};
use crate::adopt::verify::mismatches;
use crate::adopt::yaml::{Header, render};
use crate::manifest::{self, Loaded, VarInput};

const EXISTING: &str = "\
images:
  db:
    name: db
    image_url: bucket:db.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
  cache:
    name: cache
    image_url: bucket:cache.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
import:
  - { to: images.cache, id: img-cache }
";

fn load(dir: &Path) -> Loaded {
    manifest::load(&[], dir, &VarInput::default()).unwrap()
}

fn existing_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("images.yaml"), text).unwrap();
    dir
}

fn decide(
    loaded: &Loaded,
    state: Option<&crate::state::State>,
    images: &[RemoteImage],
    copies: &BTreeMap<String, Vec<RemoteImage>>,
) -> Generation {
    let existing = Existing {
        manifests: &loaded.manifests,
        imports: &loaded.imports,
        state,
    };
    let found = Found {
        region: "cn-north-4",
        images,
        copies,
        protect: true,
    };
    generate(existing, found)
}

fn reason_of<'g>(generation: &'g Generation, id: &str) -> &'g str {
    let skipped = generation.skipped.iter().find(|s| s.id == id);
    skipped.map_or("", |s| s.reason.as_str())
}

/// Images of every kind `generate` decides on, and their copies in `cn-south-1`.
fn mixed_world(
    state: &crate::state::State,
) -> (Vec<RemoteImage>, BTreeMap<String, Vec<RemoteImage>>) {
    let mut queued = image("img-queued", "half-made");
    queued.status = ImageStatus::Queued;
    let mut mine = image("img-mine", "mine");
    let token = format!("{}-01JDQ2W5R8C9A7Z3KXG4M6N001", &state.lineage[..8]);
    mine.tags.insert(TOKEN_TAG.into(), token);
    let mut theirs = image("img-theirs", "theirs");
    theirs.tags.insert(
        TOKEN_TAG.into(),
        "aaaaaaaa-01JDQ2W5R8C9A7Z3KXG4M6N002".into(),
    );
    let mut web = image("img-web", "web");
    web.description = Some("Web tier".into());
    let mut described = image("img-desc", "described");
    described.description = Some("has one".into());
    let mut undescribed_copy = copy_of("copy-5", &described, "cn-north-4");
    undescribed_copy.description = None;
    let images = vec![
        web.clone(),
        described,
        image("img-build-1", "build"),
        image("img-build-2", "build"),
        queued,
        mine,
        theirs,
        image("img-cache", "cache"),
        image("img-db-2", "db"),
    ];
    let build_copy = copy_of("copy-3", &images[2], "cn-north-4");
    let mut renamed = copy_of("copy-1", &web, "cn-north-4");
    renamed.name = "web-south".into();
    renamed.created_at = Some("2026-11-22T09:00:00Z".into());
    let copies = BTreeMap::from([(
        "cn-south-1".to_owned(),
        vec![
            copy_of("copy-2", &web, "cn-north-4"),
            renamed,
            copy_of("copy-db", &image("img-db", "db"), "cn-north-4"),
            build_copy,
            undescribed_copy,
        ],
    )]);
    (images, copies)
}

#[test]
fn active_images_are_adopted_with_their_copies_and_the_rest_skipped_with_a_reason() {
    let dir = existing_dir(EXISTING);
    let loaded = load(dir.path());
    let state = state_with(&[("db", "img-db", &[])]);
    let (images, copies) = mixed_world(&state);
    let generation = decide(&loaded, Some(&state), &images, &copies);
    let keys: Vec<&str> = generation.adopted.iter().map(|a| a.address.key()).collect();
    assert_eq!(
        keys,
        [
            "build-imgbuild",
            "build-imgbuild2",
            "db-imgdb2",
            "described",
            "web"
        ]
    );
    let web = &generation.adopted[4];
    assert!(web.prevent_destroy);
    let replica = &web.replicas["cn-south-1"];
    assert_eq!(replica.id, "copy-1", "the oldest copy");
    assert_eq!(replica.name.as_deref(), Some("web-south"));
    assert_eq!(replica.description, None, "the source's");
    assert_eq!(generation.adopted[0].replicas["cn-south-1"].id, "copy-3");
    assert_eq!(
        reason_of(&generation, "img-queued"),
        "it is queued, not active"
    );
    assert!(reason_of(&generation, "img-mine").contains("--adopt-untracked"));
    assert!(reason_of(&generation, "img-theirs").contains("another state manages it"));
    assert!(
        reason_of(&generation, "img-cache")
            .starts_with("an `import` entry already takes it into images.cache (images.yaml:13:"),
        "{}",
        reason_of(&generation, "img-cache")
    );
    assert!(
        reason_of(&generation, "copy-2").contains("has another copy in cn-south-1"),
        "{generation:#?}"
    );
    assert!(
        reason_of(&generation, "copy-db").contains(
            "add `replicas: { cn-south-1: {} }` to images.db and `{ to: \
             'images.db.replicas[\"cn-south-1\"]', id: copy-db }`"
        ),
        "{generation:#?}"
    );
    assert!(
        reason_of(&generation, "copy-5").contains("no description while images.described"),
        "{generation:#?}"
    );
    assert_eq!(generation.skipped.len(), 7);
}

#[test]
fn an_image_named_like_a_manifest_image_without_one_is_pointed_there() {
    let dir = existing_dir(EXISTING);
    let loaded = load(dir.path());
    let generation = decide(&loaded, None, &[image("img-db", "db")], &BTreeMap::new());
    assert!(generation.adopted.is_empty());
    assert!(
        reason_of(&generation, "img-db").starts_with(
            "images.db of the manifests (images.yaml:2:3) has this name and no image yet: to \
             take this one there, add `{ to: images.db, id: img-db }` to `import`"
        ),
        "{generation:#?}"
    );
}

#[test]
fn the_generated_file_loads_to_exactly_the_images_and_its_imports() {
    let dir = existing_dir(EXISTING);
    let loaded = load(dir.path());
    let state = state_with(&[("db", "img-db", &[])]);
    let mut web = image("img-web", "web server");
    web.tags = BTreeMap::from([("team".into(), "platform".into())]);
    web.description = Some("costs ${nothing} \"quoted\"".into());
    web.min_ram = 2048;
    web.protected = true;
    web.members = Some(BTreeMap::from([(
        "5f3c0e1d2b4a49f6a8e7c6d5b4a39281".to_owned(),
        crate::cloud::MemberStatus::Accepted,
    )]));
    let mut made = image("img-made", "made by hand");
    made.image_url = None;
    made.disk_format = Some("qcow2".into());
    let copies = BTreeMap::from([(
        "cn-south-1".to_owned(),
        vec![copy_of("copy-web", &web, "cn-north-4")],
    )]);
    let images = [web, made, image("img-db-2", "db")];
    let generation = decide(&loaded, Some(&state), &images, &copies);
    assert_eq!(generation.adopted.len(), 3);
    let header = Header {
        region: "cn-north-4",
        project_id: "p",
    };
    let text = render(&generation, header);
    assert!(text.contains("image_url: \"unknown\""), "{text}");
    assert!(
        text.contains("3 images of project\n# p in cn-north-4 and 1 replica, with"),
        "{text}"
    );
    std::fs::write(dir.path().join("adopted.yaml"), &text).unwrap();
    let both = load(dir.path());
    assert!(both.warnings.is_empty(), "{:?}", both.warnings);
    assert_eq!(mismatches(&generation, &both.manifests, &both.imports), []);
    for adopted in &generation.adopted {
        assert_eq!(both.manifests.images[&adopted.address].attrs, adopted.attrs);
    }
    assert_eq!(both.imports.len(), 1 + 3 + 1);
    let lifecycle = &both.manifests.images[&generation.adopted[0].address].lifecycle;
    assert!(lifecycle.prevent_destroy);
}

#[test]
fn defaults_that_would_change_an_image_are_found_before_the_file_is_written() {
    let with_defaults = format!("{EXISTING}defaults:\n  tags: {{ team: platform }}\n");
    let dir = existing_dir(&with_defaults);
    let loaded = load(dir.path());
    let mut tagged = image("img-tagged", "tagged");
    tagged.tags = BTreeMap::from([("team".into(), "platform".into())]);
    let images = [image("img-plain", "plain"), tagged];
    let mut generation = decide(&loaded, None, &images, &BTreeMap::new());
    let header = Header {
        region: "cn-north-4",
        project_id: "p",
    };
    std::fs::write(dir.path().join("adopted.yaml"), render(&generation, header)).unwrap();
    let both = load(dir.path());
    let found = mismatches(&generation, &both.manifests, &both.imports);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0.key(), "plain");
    assert!(found[0].1.contains("another tags"), "{}", found[0].1);
    generation.skip(&found[0].0, "cn-north-4", &found[0].1);
    assert_eq!(generation.adopted.len(), 1);
    assert_eq!(reason_of(&generation, "img-plain"), found[0].1);
}

#[test]
fn a_problem_in_the_generated_file_is_blamed_on_its_image() {
    let dir = existing_dir(EXISTING);
    let loaded = load(dir.path());
    let mut web = image("img-web", "web");
    web.tags = BTreeMap::from([("team".into(), "platform".into())]);
    let images = [web.clone(), image("img-api", "api")];
    let copies = BTreeMap::from([(
        "cn-south-1".to_owned(),
        vec![copy_of("copy-web", &web, "cn-north-4")],
    )]);
    let generation = decide(&loaded, None, &images, &copies);
    let header = Header {
        region: "cn-north-4",
        project_id: "p",
    };
    let text = render(&generation, header);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let blamed_at = |needle: &str| crate::adopt::verify::blamed(&text, line_of(needle));
    let web = Some(crate::manifest::model::Address::from_key("web"));
    assert_eq!(blamed_at("\"team\": \"platform\""), web);
    assert_eq!(blamed_at("id: \"copy-web\""), web);
    assert_eq!(blamed_at("to: 'images.web.replicas"), web);
    assert_eq!(blamed_at("cn-south-1: {}"), web);
    assert_eq!(
        blamed_at("name: \"api\""),
        Some(crate::manifest::model::Address::from_key("api"))
    );
    assert_eq!(blamed_at("# Written by"), None);
    assert_eq!(blamed_at("images:"), None);
}
