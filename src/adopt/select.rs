//! What `imsform query` lists: the project's images that no address of the state binds
//! ([`super::Bound`]), narrowed by `--name REGEX` and `--tag KEY=VALUE`, each with where it came
//! from ([`Source`], read from `__data_origin`). Images IMS already reports `deleted` are left
//! out. Pure.

use std::collections::BTreeMap;

use regex::Regex;

use crate::cloud::{ImageStatus, RemoteImage};

/// `--name` and `--tag`: an image is listed when its name matches the expression (anywhere in
/// the name; anchor it with `^…$`) and it carries every tag.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    name: Option<Regex>,
    tags: Vec<(String, String)>,
}

impl Filters {
    /// Reads `--name REGEX` and each `--tag KEY=VALUE`; the error names the bad argument.
    pub fn new(name: Option<&str>, tags: &[String]) -> Result<Filters, String> {
        let name = name
            .map(|text| {
                Regex::new(text).map_err(|error| format!("--name {text}: not a regex: {error}"))
            })
            .transpose()?;
        let tags = tags
            .iter()
            .map(|tag| {
                tag.split_once('=')
                    .filter(|(key, _)| !key.is_empty())
                    .map(|(key, value)| (key.to_owned(), value.to_owned()))
                    .ok_or_else(|| format!("--tag {tag}: write KEY=VALUE (VALUE may be empty)"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Filters { name, tags })
    }

    /// Whether `image` passes every filter.
    pub fn matches(&self, image: &RemoteImage) -> bool {
        let named = self.name.as_ref().is_none_or(|re| re.is_match(&image.name));
        named
            && self
                .tags
                .iter()
                .all(|(key, value)| image.tags.get(key) == Some(value))
    }
}

/// Where an image came from, as its `__data_origin` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Registered from this OBS file (`file,<bucket:object>`).
    File(String),
    /// A copy of image `image_id` of `region` (`image,<region>,<id>`).
    Copy { region: String, image_id: String },
    /// IMS reports no file and no source image.
    Unknown,
}

impl Source {
    pub fn of(image: &RemoteImage) -> Source {
        if let Some(url) = &image.image_url {
            Source::File(url.clone())
        } else if let Some((region, image_id)) = &image.copied_from {
            Source::Copy {
                region: region.clone(),
                image_id: image_id.clone(),
            }
        } else {
            Source::Unknown
        }
    }
}

/// The images of `listed` that `bound` (image id to address) does not name and that pass
/// `filters`, ordered by name, creation time and id.
pub fn unmanaged(
    listed: Vec<RemoteImage>,
    bound: &BTreeMap<String, String>,
    filters: &Filters,
) -> Vec<RemoteImage> {
    let mut images: Vec<RemoteImage> = listed
        .into_iter()
        .filter(|image| image.status != ImageStatus::Deleted)
        .filter(|image| !bound.contains_key(&image.id))
        .filter(|image| filters.matches(image))
        .collect();
    images.sort_by(|a, b| (&a.name, &a.created_at, &a.id).cmp(&(&b.name, &b.created_at, &b.id)));
    images
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::fixtures::{copy_of, image};

    #[test]
    fn filters_read_a_regex_and_tags() {
        let mut web = image("i-1", "web-prod");
        web.tags.insert("team".into(), "platform".into());
        let filters = Filters::new(Some("^web-"), &["team=platform".into()]).unwrap();
        assert!(filters.matches(&web));
        assert!(
            !filters.matches(&image("i-2", "web-prod")),
            "the tag is missing"
        );
        let other = Filters::new(Some("prod$"), &["team=".into()]).unwrap();
        assert!(!other.matches(&web), "an empty value is a value");
        assert!(Filters::default().matches(&web));
        let error = Filters::new(Some("web("), &[]).unwrap_err();
        assert!(error.starts_with("--name web(: not a regex"), "{error}");
        let error = Filters::new(None, &["team".into()]).unwrap_err();
        assert!(error.contains("--tag team: write KEY=VALUE"), "{error}");
        assert!(Filters::new(None, &["=x".into()]).is_err());
    }

    #[test]
    fn the_unmanaged_are_those_no_address_binds_sorted_by_name() {
        let mut gone = image("i-gone", "a");
        gone.status = ImageStatus::Deleted;
        let listed = vec![
            image("i-3", "web"),
            image("i-1", "db"),
            image("i-2", "cache"),
            gone,
        ];
        let bound = BTreeMap::from([("i-1".to_owned(), "images.db".to_owned())]);
        let kept = unmanaged(listed, &bound, &Filters::default());
        let ids: Vec<&str> = kept.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["i-2", "i-3"]);
    }

    #[test]
    fn sources_come_from_the_data_origin() {
        let web = image("i-1", "web");
        assert_eq!(Source::of(&web), Source::File("bucket:web.qcow2".into()));
        let copy = copy_of("c-1", &web, "cn-north-4");
        assert_eq!(
            Source::of(&copy),
            Source::Copy {
                region: "cn-north-4".into(),
                image_id: "i-1".into()
            }
        );
        let made = RemoteImage {
            copied_from: None,
            ..copy
        };
        assert_eq!(Source::of(&made), Source::Unknown);
    }
}
