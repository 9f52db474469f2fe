//! Unit tests of [`load`]: the validated model it builds from real files (defaults merging,
//! derived disk formats, lifecycle, moved, the file list), and robustness of the reading path
//! against mangled input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::model::{Address, DiskFormat, Field, ReplaceOrder};
use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const DEFAULTS: &str = "\
defaults:
  min_disk: 40
  min_ram: 512
  description: from defaults
  tags: { team: platform, tier: any }
  lifecycle: { prevent_destroy: true, replace_order: destroy_before_create }
";

const IMAGES: &str = "\
images:
  web:
    name: web
    image_url: bucket-1:web/base.VMDK
    os_version: Ubuntu 22.04 server 64bit
    tags: { tier: web, owner: ops }
    lifecycle: { ignore_changes: [tags, name] }
  db:
    name: db
    image_url: bucket-1:db.qcow2
    os_version: CentOS 7.9 64bit
    disk_format: raw
    min_disk: 100
    min_ram: 0
    description: own
    protected: true
    lifecycle: { prevent_destroy: false, replace_order: create_before_destroy }
moved:
  - { from: images.old-web, to: images.web }
";

#[test]
fn load_merges_defaults_and_builds_the_model() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b/images.yml", IMAGES);
    write(dir.path(), "a-defaults.yaml", DEFAULTS);
    let loaded = load(&[], dir.path(), &VarInput::default()).unwrap();
    assert!(loaded.warnings.is_empty());
    let files: Vec<&PathBuf> = loaded.files.iter().map(|(path, _)| path).collect();
    assert_eq!(
        files,
        [Path::new("a-defaults.yaml"), Path::new("b/images.yml")]
    );
    assert_eq!(loaded.files[1].1, IMAGES);

    let images = &loaded.manifests.images;
    let web = &images[&Address::from_key("web")];
    assert_eq!(
        web.attrs.disk_format,
        DiskFormat::Zvhd2,
        "vmdk has no disk format of its own"
    );
    assert_eq!(web.attrs.min_disk, 40);
    assert_eq!(web.attrs.min_ram, 512);
    assert_eq!(web.attrs.description.as_deref(), Some("from defaults"));
    let tags: BTreeMap<&str, &str> = web
        .attrs
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([("owner", "ops"), ("team", "platform"), ("tier", "web")])
    );
    assert!(web.lifecycle.prevent_destroy);
    assert_eq!(
        web.lifecycle.replace_order,
        ReplaceOrder::DestroyBeforeCreate
    );
    assert_eq!(
        web.lifecycle.ignore_changes,
        BTreeSet::from([Field::Tags, Field::Name])
    );
    assert!(!web.attrs.protected);
    assert_eq!(web.location.to_string(), "b/images.yml:2:3");

    let db = &images[&Address::from_key("db")];
    assert_eq!(
        db.attrs.disk_format,
        DiskFormat::Raw,
        "an explicit disk_format wins"
    );
    assert_eq!((db.attrs.min_disk, db.attrs.min_ram), (100, 0));
    assert_eq!(db.attrs.description.as_deref(), Some("own"));
    assert!(db.attrs.protected);
    assert!(!db.lifecycle.prevent_destroy);
    assert_eq!(
        db.lifecycle.replace_order,
        ReplaceOrder::CreateBeforeDestroy
    );
    assert!(db.lifecycle.ignore_changes.is_empty());

    let moved = &loaded.manifests.moved;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].from.as_str(), "images.old-web");
    assert_eq!(moved[0].to.as_str(), "images.web");
    assert_eq!(moved[0].location.to_string(), "b/images.yml:19:13");
}

#[test]
fn explicit_paths_relative_and_absolute_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m/images.yaml",
        IMAGES.split("moved:").next().unwrap(),
    );
    write(dir.path(), "m/defaults.yaml", DEFAULTS);
    let absolute = dir.path().join("m/defaults.yaml");
    let paths = [PathBuf::from("m"), absolute, PathBuf::from("m/images.yaml")];
    let loaded = load(&paths, dir.path(), &VarInput::default()).unwrap();
    assert_eq!(loaded.files.len(), 2);
    let paths = [dir.path().join("m"), PathBuf::from("m/./images.yaml")];
    let loaded = load(&paths, dir.path(), &VarInput::default()).unwrap();
    assert_eq!(
        loaded.files.len(),
        2,
        "the same files under other names are read once"
    );
    assert_eq!(loaded.manifests.images.len(), 2);
}

#[test]
fn errors_carry_every_diagnostic_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "images:\n  web: { name: web, min_disk: 0 }\n",
    );
    write(dir.path(), "b.yaml", "imagez: {}\n");
    let error = load(&[], dir.path(), &VarInput::default()).unwrap_err();
    let messages: Vec<&str> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "`min_disk` of image `images.web` must be between 1 and 1024, not 0",
            "unknown field `imagez` in the manifest's top level",
            "image `images.web` has no `image_url`",
            "image `images.web` has no `os_version`",
        ]
    );
    assert_eq!(
        error.to_string(),
        "4 errors in 2 files; the manifests are not valid"
    );
}

/// A tiny deterministic generator, so the mangling test is reproducible without a crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[test]
fn mangled_manifests_never_panic() {
    let original = format!("{DEFAULTS}{IMAGES}");
    let pieces = [
        "[",
        "]",
        "{",
        "}",
        ":",
        "- ",
        "\"",
        "'",
        "&a ",
        "*a",
        "!t ",
        "\n",
        "  ",
        "\t",
        "#",
        "?",
        "|",
        ">",
        "---\n",
        "%YAML 1.2\n",
        ",",
        "é",
        "\u{feff}",
        "\r",
    ];
    let mut random = Lcg(7);
    for _ in 0..3000 {
        let mut text = original.clone();
        for _ in 0..1 + random.next(4) {
            let mut at = random.next(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if random.next(2) == 0 {
                text.insert_str(at, pieces[random.next(pieces.len())]);
            } else {
                let mut end = (at + 1 + random.next(8)).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, "");
            }
        }
        let file = source::SourceFile::new("m.yaml".into(), text);
        if let (Some(root), _) = source::parse(&file) {
            let values = values::Values::new();
            let mut walker = walk::Walker::new(&file, &values);
            let document = document::read_document(&mut walker, &root);
            assemble::assemble(vec![document], &mut walker.diagnostics);
        }
    }
}

#[test]
fn the_summary_counts_the_files_the_errors_are_in() {
    let dir = tempfile::tempdir().unwrap();
    let images: String = (0..10)
        .map(|i| format!("  i{i}: {{ name: i{i}, min_disk: 0 }}\n"))
        .collect();
    write(dir.path(), "bad.yaml", &format!("images:\n{images}"));
    write(dir.path(), "good.yaml", "defaults: { min_disk: 40 }\n");
    let error = load(&[], dir.path(), &VarInput::default()).unwrap_err();
    let errors = error.diagnostics().len();
    assert!(errors >= 10, "{errors}");
    assert_eq!(
        error.to_string(),
        format!("{errors} errors in 1 file; the manifests are not valid")
    );
    let empty = tempfile::tempdir().unwrap();
    let error = load(&[], empty.path(), &VarInput::default()).unwrap_err();
    assert_eq!(error.to_string(), "1 error; the manifests are not valid");
}

#[test]
fn left_out_names_the_manifests_the_paths_do_not_cover() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "images: {}\n");
    write(dir.path(), "sub/b.yml", "images: {}\n");
    write(dir.path(), "sub/c.yaml", "images: {}\n");
    let left = |paths: &[&str]| {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        left_out(&paths, dir.path())
    };
    assert_eq!(left(&[]), Vec::<PathBuf>::new());
    assert_eq!(left(&["a.yaml", "sub"]), Vec::<PathBuf>::new());
    let absolute = dir.path().join("sub/./b.yml").display().to_string();
    assert_eq!(left(&["a.yaml", &absolute]), [PathBuf::from("sub/c.yaml")]);
    assert_eq!(
        left(&["sub/c.yaml"]),
        [PathBuf::from("a.yaml"), PathBuf::from("sub/b.yml")]
    );
}

#[test]
fn import_entries_load_with_their_places_and_imported_namesakes_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
images:
  build-a:
    name: build
    image_url: unknown
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
  build-b:
    name: build
    image_url: bucket-1:build.qcow2
    os_version: Ubuntu 22.04 server 64bit
    min_disk: 40
    replicas: { cn-south-1: {} }
import:
  - { to: 'images.build-b.replicas[\"cn-south-1\"]', id: copy-1 }
";
    write(dir.path(), "adopted.yaml", text);
    let error = load(&[], dir.path(), &VarInput::default()).unwrap_err();
    let messages: Vec<&str> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        ["images `images.build-a` and `images.build-b` are both named `build`"],
        "two new images of one name"
    );
    let imported = text.replace(
        "import:\n",
        "import:\n  - to: images.build-a\n    id: 0b7f3b2c-1111-4000-8000-000000000001\n",
    );
    write(dir.path(), "adopted.yaml", &imported);
    let loaded = load(&[], dir.path(), &VarInput::default()).unwrap();
    let entries: Vec<(String, &str, String)> = loaded
        .imports
        .iter()
        .map(|i| (i.to.to_string(), i.id.as_str(), i.location().to_string()))
        .collect();
    assert_eq!(
        entries,
        [
            (
                "images.build-a".to_owned(),
                "0b7f3b2c-1111-4000-8000-000000000001",
                "adopted.yaml:14:9".to_owned()
            ),
            (
                "images.build-b.replicas[\"cn-south-1\"]".to_owned(),
                "copy-1",
                "adopted.yaml:16:11".to_owned()
            ),
        ]
    );
    let build_a = &loaded.manifests.images[&Address::from_key("build-a")];
    assert_eq!(build_a.attrs.image_url, UNKNOWN_IMAGE_URL);
    assert_eq!(build_a.attrs.disk_format, DiskFormat::Zvhd2);
}

#[test]
fn a_file_image_carries_its_upload_and_gets_its_url_at_plan_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "build/web.QCOW2", "disk");
    write(
        dir.path(),
        "manifests/images.yaml",
        "defaults:\n  bucket: platform-images\n  object_prefix: team/\nimages:\n  web:\n    \
         name: web\n    file: ../build/web.QCOW2\n    os_version: Ubuntu 22.04 server 64bit\n    \
         min_disk: 40\n    delete_file_after_register: true\n",
    );
    let mut loaded = load(&[], dir.path(), &VarInput::default()).unwrap();
    let address = Address::from_key("web");
    let upload = loaded.uploads[&address].clone();
    assert_eq!(upload.path, dir.path().join("manifests/../build/web.QCOW2"));
    assert_eq!(
        (upload.bucket.as_str(), upload.object_prefix.as_str()),
        ("platform-images", "team/")
    );
    assert_eq!(upload.extension, "qcow2");
    assert!(upload.delete_after_register);
    assert_eq!(upload.location.line, 7);
    let spec = &loaded.manifests.images[&address];
    assert_eq!(spec.attrs.image_url, "", "named at plan time");
    assert_eq!(
        spec.attrs.disk_format,
        DiskFormat::Qcow2,
        "from the file's extension"
    );
    let mut cache = crate::upload::DigestCache::open(dir.path());
    let mut digest = |path: &Path| cache.sha256(path).map(|d| d.sha256);
    upload::resolve_image_urls(&mut loaded.manifests, &loaded.uploads, &mut digest).unwrap();
    // SHA-256 of "disk".
    assert_eq!(
        loaded.manifests.images[&address].attrs.image_url,
        "platform-images:team/web-1044dec7206e8d7c.qcow2"
    );
}
