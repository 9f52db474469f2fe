//! Manifest keys for adopted images, made from their names: a slug that matches the key rule
//! `[a-z0-9][a-z0-9_-]{0,62}`. IMS allows duplicate names (ims-api.md, IMG.0009), so images
//! whose names give the same slug each get an id suffix (as terraformer does, adoption.md
//! section 4), and so does an image whose slug is a key the manifests already use. Pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::model::is_valid_key;

/// The longest key the key rule allows.
const KEY_MAX: usize = 63;

/// The slug of an image name: lower-case ASCII letters and digits kept, `_` kept, every other
/// run of characters one `-`, no leading `-` or `_`, at most 63 characters; `image` when
/// nothing is left (a name of only non-ASCII letters).
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_start_matches(['-', '_']);
    let slug = cut(slug, KEY_MAX);
    if slug.is_empty() {
        "image".to_owned()
    } else {
        slug.to_owned()
    }
}

/// `text` cut to at most `max` characters (ASCII), without a trailing `-`.
fn cut(text: &str, max: usize) -> &str {
    text[..text.len().min(max)].trim_end_matches('-')
}

/// `base-<the first n letters and digits of id>`, within the key length.
fn suffixed(base: &str, id: &str, n: usize) -> String {
    let part: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(n)
        .collect();
    let base = cut(base, KEY_MAX - 1 - part.len());
    format!("{base}-{part}")
}

/// A key for each `(id, name)`, by id: the name's slug, or with an id suffix when another image
/// gives the same slug or the slug is in `taken`. Keys are unique, never in `taken`, and valid.
pub fn assign<'a>(
    images: impl IntoIterator<Item = (&'a str, &'a str)>,
    taken: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut by_slug: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (id, name) in images {
        by_slug.entry(slug(name)).or_default().push(id);
    }
    let mut used = taken.clone();
    let mut keys = BTreeMap::new();
    for (base, mut ids) in by_slug {
        ids.sort_unstable();
        if ids.len() == 1 && !used.contains(&base) {
            used.insert(base.clone());
            keys.insert(ids[0].to_owned(), base);
            continue;
        }
        for id in ids {
            let key = [8, 12, 32, KEY_MAX]
                .into_iter()
                .map(|n| suffixed(&base, id, n))
                .find(|key| !used.contains(key) && is_valid_key(key))
                .unwrap_or_else(|| unique_fallback(&used));
            used.insert(key.clone());
            keys.insert(id.to_owned(), key);
        }
    }
    keys
}

/// `image-N` for the smallest N not used: only for ids whose letters and digits cannot tell
/// them apart (not IMS's UUIDs).
fn unique_fallback(used: &BTreeSet<String>) -> String {
    (1..)
        .map(|n| format!("image-{n}"))
        .find(|key| !used.contains(key))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_key_rule() {
        assert_eq!(slug("web"), "web");
        assert_eq!(slug("Ubuntu 22.04 Base"), "ubuntu-22-04-base");
        assert_eq!(slug("__db_main"), "db_main");
        assert_eq!(slug("-a--b-"), "a-b");
        assert_eq!(slug("基础镜像"), "image");
        assert_eq!(slug("web 基础"), "web");
        let long = slug(&"ab-".repeat(40));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
        for name in [
            "web",
            "Ubuntu 22.04 Base",
            "基础镜像",
            &"x.".repeat(100),
            "9",
        ] {
            assert!(is_valid_key(&slug(name)), "{name}");
        }
    }

    #[test]
    fn shared_names_and_taken_keys_get_id_suffixes() {
        let taken = BTreeSet::from(["db".to_owned()]);
        let images = [
            ("0b7f3b2c-1111-4000-8000-000000000001", "web"),
            ("9a8b7c6d-2222-4000-8000-000000000002", "web"),
            ("5e5e5e5e-3333-4000-8000-000000000003", "db"),
            ("7f7f7f7f-4444-4000-8000-000000000004", "cache"),
            ("1a1a1a1a-5555-4000-8000-000000000005", "Web"),
        ];
        let keys = assign(images, &taken);
        assert_eq!(keys[images[0].0], "web-0b7f3b2c");
        assert_eq!(keys[images[1].0], "web-9a8b7c6d");
        assert_eq!(keys[images[4].0], "web-1a1a1a1a");
        assert_eq!(keys[images[2].0], "db-5e5e5e5e");
        assert_eq!(keys[images[3].0], "cache");
        let unique: BTreeSet<&String> = keys.values().collect();
        assert_eq!(unique.len(), images.len());
        assert!(keys.values().all(|key| is_valid_key(key)));
    }

    #[test]
    fn suffixes_grow_until_the_key_is_unique_and_long_names_are_cut() {
        let images = [
            ("0b7f3b2c-aaaa-4000-8000-000000000001", "web"),
            ("0b7f3b2c-bbbb-4000-8000-000000000002", "web"),
        ];
        let keys = assign(images, &BTreeSet::new());
        assert_eq!(keys[images[0].0], "web-0b7f3b2c");
        assert_eq!(keys[images[1].0], "web-0b7f3b2cbbbb");
        let long = "n".repeat(70);
        let images = [("0b7f3b2c-1", long.as_str()), ("1b7f3b2c-2", long.as_str())];
        let keys = assign(images, &BTreeSet::new());
        assert!(
            keys.values()
                .all(|key| key.len() <= 63 && is_valid_key(key))
        );
        assert!(keys[images[0].0].ends_with("-0b7f3b2c"));
    }
}
