//! What IMS checks of the object it registers, for buckets this emulator serves (ims-api.md
//! section 1.3). Apart from the router so that the registration handler (`jobs.rs`) reaches the
//! store without reaching the router.

use super::store::Store;
use crate::obs::StorageClass;

impl Store {
    /// What IMS checks of the object behind `image_url` before registering it, for buckets this
    /// emulator serves: the object exists (IMG.0057), its bucket is in the image's `region` and
    /// the object is of the Standard class (IMG.0058, ims-api.md section 1.3). `None` when all
    /// hold, or when the bucket is not one of the emulator's (such URLs register as before).
    pub fn registration_problem(&self, image_url: &str, region: &str) -> Option<(String, String)> {
        let (bucket, key) = image_url.split_once(':')?;
        let bucket_region = self.bucket_region(bucket)?;
        if bucket_region != region {
            let reason = format!(
                "The OBS bucket {bucket} is in region {bucket_region}, not in the image's region {region}."
            );
            return Some(("IMG.0058".to_owned(), reason));
        }
        match self.object(&bucket_region, bucket, key) {
            Ok(Some(object)) if object.storage_class == StorageClass::Standard => None,
            Ok(Some(_)) => Some((
                "IMG.0058".to_owned(),
                format!("The image file {image_url} is not in the Standard storage class."),
            )),
            _ => Some((
                "IMG.0057".to_owned(),
                format!("The image file {image_url} does not exist."),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::ObjectMeta;
    use super::*;

    #[test]
    fn registration_checks_the_object_class_and_region() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        assert_eq!(store.registration_problem("elsewhere:a.qcow2", "r1"), None);
        store.create_bucket("r1", "images").unwrap();
        let missing = store.registration_problem("images:a.qcow2", "r1").unwrap();
        assert_eq!(missing.0, "IMG.0057");
        assert_eq!(
            store
                .registration_problem("images:a.qcow2", "r2")
                .unwrap()
                .0,
            "IMG.0058"
        );
        let temp = store.temp_file("r1", "images");
        std::fs::write(&temp, b"x").unwrap();
        let meta = ObjectMeta {
            key: "a.qcow2".into(),
            size: 1,
            etag: "e".into(),
            storage_class: StorageClass::Warm,
            content_type: String::new(),
            metadata: Default::default(),
            last_modified: chrono::Utc::now(),
            segments: Vec::new(),
        };
        store
            .put_object("r1", "images", meta.clone(), vec![(temp, 1)])
            .unwrap();
        assert_eq!(
            store
                .registration_problem("images:a.qcow2", "r1")
                .unwrap()
                .0,
            "IMG.0058"
        );
        let temp = store.temp_file("r1", "images");
        std::fs::write(&temp, b"x").unwrap();
        let standard = ObjectMeta {
            storage_class: StorageClass::Standard,
            ..meta
        };
        store
            .put_object("r1", "images", standard, vec![(temp, 1)])
            .unwrap();
        assert_eq!(store.registration_problem("images:a.qcow2", "r1"), None);
    }
}
