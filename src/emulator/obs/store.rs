//! The emulator's OBS objects on disk: one directory per region and bucket under a root (the
//! emulator's data directory, or a temporary one), objects as data files plus a JSON record,
//! multipart uploads as a directory of parts. Nothing is held in memory, so objects of many
//! gigabytes cost no RAM and survive a restart with `--data`.
//!
//! ```text
//! ROOT/REGION/BUCKET/objects/<sha256 of key>.json     the object's record (ObjectMeta)
//! ROOT/REGION/BUCKET/data/<uuid>                      its data, in one or more segments
//! ROOT/REGION/BUCKET/uploads/<upload id>/upload.json  an upload in progress (UploadMeta)
//! ROOT/REGION/BUCKET/uploads/<upload id>/<n>.json     its part n (PartMeta), data in data/
//! ROOT/REGION/BUCKET/tmp/                             bodies being received
//! ```
//!
//! A completed multipart upload keeps its parts' files as the object's segments (no copy). A
//! record is replaced atomically (`crate::atomic_file`); the segments it no longer names are
//! removed after. Blocking file I/O: callers run it on `spawn_blocking`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::obs::StorageClass;

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Without quotes: hex MD5, or `MD5(part MD5s)-N` for a multipart upload.
    pub etag: String,
    pub storage_class: StorageClass,
    pub content_type: String,
    /// User metadata, names lower-cased without the `x-obs-meta-` prefix.
    pub metadata: BTreeMap<String, String>,
    pub last_modified: DateTime<Utc>,
    /// Data files under `data/` with their sizes, in order.
    pub segments: Vec<(String, u64)>,
}

/// An upload in progress: what Initiate said about the object to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta {
    pub key: String,
    pub storage_class: StorageClass,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
    pub initiated: DateTime<Utc>,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub number: u32,
    pub size: u64,
    /// Hex MD5 of the part: its ETag.
    pub etag: String,
    /// Its data file under `data/`.
    pub file: String,
    pub last_modified: DateTime<Utc>,
}

/// The root of the stored buckets. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> std::io::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    crate::atomic_file::write(path, &bytes)
}

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn bucket_dir(&self, region: &str, bucket: &str) -> PathBuf {
        self.root.join(region).join(bucket)
    }

    /// Creates `bucket` in `region` (nothing to do when it exists there); an error when it
    /// exists in another region (bucket names are global).
    pub fn create_bucket(&self, region: &str, bucket: &str) -> std::io::Result<()> {
        match self.bucket_region(bucket) {
            Some(known) if known != region => Err(std::io::Error::new(
                ErrorKind::AlreadyExists,
                format!("bucket {bucket} already exists in {known}"),
            )),
            _ => {
                let dir = self.bucket_dir(region, bucket);
                for sub in ["objects", "data", "uploads", "tmp"] {
                    std::fs::create_dir_all(dir.join(sub))?;
                }
                Ok(())
            }
        }
    }

    /// The region `bucket` is in, if the emulator serves it.
    pub fn bucket_region(&self, bucket: &str) -> Option<String> {
        let regions = std::fs::read_dir(&self.root).ok()?;
        regions
            .filter_map(Result::ok)
            .find(|region| region.path().join(bucket).join("objects").is_dir())
            .and_then(|region| region.file_name().into_string().ok())
    }

    /// A fresh path for a body being received.
    pub fn temp_file(&self, region: &str, bucket: &str) -> PathBuf {
        self.bucket_dir(region, bucket).join("tmp").join(new_id())
    }

    fn object_record(&self, region: &str, bucket: &str, key: &str) -> PathBuf {
        let name = crate::sign::sha256_hex(key.as_bytes());
        self.bucket_dir(region, bucket)
            .join("objects")
            .join(format!("{name}.json"))
    }

    /// The path of a data file named in a record.
    pub fn data_file(&self, region: &str, bucket: &str, name: &str) -> PathBuf {
        self.bucket_dir(region, bucket).join("data").join(name)
    }

    pub fn object(
        &self,
        region: &str,
        bucket: &str,
        key: &str,
    ) -> std::io::Result<Option<ObjectMeta>> {
        read_json(&self.object_record(region, bucket, key))
    }

    /// Moves received files (`(temp path, size)`) into `data/` as the object's segments and
    /// puts `meta` (whose `segments` are filled here) in place of any older version.
    pub fn put_object(
        &self,
        region: &str,
        bucket: &str,
        mut meta: ObjectMeta,
        received: Vec<(PathBuf, u64)>,
    ) -> std::io::Result<ObjectMeta> {
        meta.segments.clear();
        for (path, size) in received {
            let name = match path.parent().and_then(Path::file_name) {
                Some(dir) if dir == "data" => file_name(&path),
                _ => {
                    let name = new_id();
                    std::fs::rename(&path, self.data_file(region, bucket, &name))?;
                    name
                }
            };
            meta.segments.push((name, size));
        }
        let old = self.object(region, bucket, &meta.key)?;
        write_json(&self.object_record(region, bucket, &meta.key), &meta)?;
        self.remove_segments(region, bucket, old.as_ref(), &meta.segments);
        Ok(meta)
    }

    /// Deletes the object (nothing to do when it does not exist).
    pub fn delete_object(&self, region: &str, bucket: &str, key: &str) -> std::io::Result<()> {
        let old = self.object(region, bucket, key)?;
        match std::fs::remove_file(self.object_record(region, bucket, key)) {
            Err(error) if error.kind() != ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        self.remove_segments(region, bucket, old.as_ref(), &[]);
        Ok(())
    }

    fn remove_segments(
        &self,
        region: &str,
        bucket: &str,
        old: Option<&ObjectMeta>,
        keep: &[(String, u64)],
    ) {
        for (name, _) in old.map_or(&[][..], |old| &old.segments) {
            if !keep.iter().any(|(kept, _)| kept == name) {
                let _ = std::fs::remove_file(self.data_file(region, bucket, name));
            }
        }
    }

    fn upload_dir(&self, region: &str, bucket: &str, upload_id: &str) -> PathBuf {
        self.bucket_dir(region, bucket)
            .join("uploads")
            .join(upload_id)
    }

    /// Starts an upload; returns its id.
    pub fn create_upload(
        &self,
        region: &str,
        bucket: &str,
        meta: &UploadMeta,
    ) -> std::io::Result<String> {
        let id = new_id();
        let dir = self.upload_dir(region, bucket, &id);
        std::fs::create_dir_all(&dir)?;
        write_json(&dir.join("upload.json"), meta)?;
        Ok(id)
    }

    pub fn upload(
        &self,
        region: &str,
        bucket: &str,
        upload_id: &str,
    ) -> std::io::Result<Option<UploadMeta>> {
        if !upload_id.chars().all(|c| c.is_ascii_alphanumeric()) || upload_id.is_empty() {
            return Ok(None);
        }
        read_json(
            &self
                .upload_dir(region, bucket, upload_id)
                .join("upload.json"),
        )
    }

    /// Records part `number` (received at `path`), replacing an earlier upload of it.
    pub fn put_part(
        &self,
        region: &str,
        bucket: &str,
        upload_id: &str,
        path: &Path,
        mut part: PartMeta,
    ) -> std::io::Result<PartMeta> {
        let dir = self.upload_dir(region, bucket, upload_id);
        let record = dir.join(format!("{}.json", part.number));
        let old: Option<PartMeta> = read_json(&record)?;
        part.file = new_id();
        std::fs::rename(path, self.data_file(region, bucket, &part.file))?;
        write_json(&record, &part)?;
        if let Some(old) = old {
            let _ = std::fs::remove_file(self.data_file(region, bucket, &old.file));
        }
        Ok(part)
    }

    /// Every part of an upload, by number.
    pub fn parts(
        &self,
        region: &str,
        bucket: &str,
        upload_id: &str,
    ) -> std::io::Result<Vec<PartMeta>> {
        let mut parts = Vec::new();
        for entry in std::fs::read_dir(self.upload_dir(region, bucket, upload_id))? {
            let path = entry?.path();
            if path.file_name().is_some_and(|name| name != "upload.json")
                && let Some(part) = read_json::<PartMeta>(&path)?
            {
                parts.push(part);
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    /// Removes an upload; `keep` names data files now owned by an object (the rest are deleted).
    pub fn remove_upload(
        &self,
        region: &str,
        bucket: &str,
        upload_id: &str,
        keep: &[String],
    ) -> std::io::Result<()> {
        for part in self.parts(region, bucket, upload_id)? {
            if !keep.contains(&part.file) {
                let _ = std::fs::remove_file(self.data_file(region, bucket, &part.file));
            }
        }
        std::fs::remove_dir_all(self.upload_dir(region, bucket, upload_id))
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size: 3,
            etag: "e".into(),
            storage_class: StorageClass::Standard,
            content_type: "binary/octet-stream".into(),
            metadata: BTreeMap::new(),
            last_modified: Utc::now(),
            segments: Vec::new(),
        }
    }

    #[test]
    fn buckets_objects_and_uploads_live_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.create_bucket("r1", "images").unwrap();
        assert!(store.create_bucket("r2", "images").is_err());
        assert_eq!(store.bucket_region("images").as_deref(), Some("r1"));
        assert_eq!(store.bucket_region("other"), None);
        let temp = store.temp_file("r1", "images");
        std::fs::write(&temp, b"abc").unwrap();
        let stored = store
            .put_object("r1", "images", meta("a/b.qcow2"), vec![(temp, 3)])
            .unwrap();
        let data = store.data_file("r1", "images", &stored.segments[0].0);
        assert_eq!(std::fs::read(&data).unwrap(), b"abc");
        let temp = store.temp_file("r1", "images");
        std::fs::write(&temp, b"xyz").unwrap();
        store
            .put_object("r1", "images", meta("a/b.qcow2"), vec![(temp, 3)])
            .unwrap();
        assert!(!data.exists(), "the overwritten version's data is removed");
        store.delete_object("r1", "images", "a/b.qcow2").unwrap();
        assert_eq!(store.object("r1", "images", "a/b.qcow2").unwrap(), None);
        let upload = UploadMeta {
            key: "k".into(),
            storage_class: StorageClass::Standard,
            content_type: String::new(),
            metadata: BTreeMap::new(),
            initiated: Utc::now(),
        };
        let id = store.create_upload("r1", "images", &upload).unwrap();
        assert_eq!(store.upload("r1", "images", &id).unwrap(), Some(upload));
        assert_eq!(store.upload("r1", "images", "../x").unwrap(), None);
        store.remove_upload("r1", "images", &id, &[]).unwrap();
        assert_eq!(store.upload("r1", "images", &id).unwrap(), None);
    }
}
