//! The guard of `import:` entries until the plan carries them out (part of `context.rs`).
//!
//! The manifests parse and check import entries (`validate`), `imsform query
//! --generate-config-out` writes them, and `crate::adopt` holds the plan-time refusals; the plan
//! itself does not show or apply imports yet (they go onto the one resource model). A plan that
//! ignored an entry would plan its address as a new image, creating a duplicate of the image the
//! entry names: so a plan or apply with entries still to import is refused, each named at its
//! file:line:col, before anything is read. Entries whose address already holds their id are
//! done (Terraform's rule: they may stay) and pass, so `imsform import ADDRESS ID` for each
//! entry is the way through meanwhile. `refresh` and `--refresh-only` plans create nothing and
//! are not refused.

use crate::adopt::pending_imports;
use crate::error::Error;
use crate::manifest::Import;
use crate::state::State;

/// Refuses `imports` that `state` has not carried out yet.
pub fn refuse_pending(imports: &[Import], state: Option<&State>) -> Result<(), Error> {
    let pending = pending_imports(imports, state);
    if pending.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} `import` {} to carry out, and this build's plan does not import yet (it would \
         create each image anew); run `imsform import ADDRESS ID` for each, then plan again:",
        pending.len(),
        if pending.len() == 1 {
            "entry"
        } else {
            "entries"
        }
    );
    for entry in pending {
        message.push_str(&format!(
            "\n  {}: imsform import '{}' {}",
            entry.location(),
            entry.to,
            entry.id
        ));
    }
    Err(Error::Usage(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ImportTarget, Label};

    fn attrs(name: &str) -> crate::manifest::model::ImageAttrs {
        crate::manifest::model::ImageAttrs {
            name: name.into(),
            image_url: crate::manifest::UNKNOWN_IMAGE_URL.into(),
            os_version: "Ubuntu 22.04 server 64bit".into(),
            disk_format: crate::manifest::model::DiskFormat::Zvhd2,
            min_disk: 40,
            min_ram: 0,
            description: None,
            tags: Default::default(),
            protected: false,
            share_with: Default::default(),
        }
    }

    fn entry(to: &str, id: &str) -> Import {
        Import {
            to: ImportTarget::parse(to).unwrap(),
            id: id.to_owned(),
            to_label: Label::file("adopted.yaml"),
            id_label: Label::file("adopted.yaml"),
        }
    }

    #[test]
    fn entries_still_to_import_are_refused_and_done_ones_pass() {
        let imports = [entry("images.web", "img-web"), entry("images.db", "img-db")];
        let error = refuse_pending(&imports, None).unwrap_err().to_string();
        assert!(error.contains("2 `import` entries to carry out"), "{error}");
        assert!(
            error.contains("imsform import 'images.db' img-db"),
            "{error}"
        );
        let mut state = State::new("lineage".into());
        for (key, id) in [("web", "img-web"), ("db", "img-db")] {
            let record = crate::state::ImageRecord {
                id: id.into(),
                attributes: attrs(key),
                observed: None,
                tainted: None,
                replicas: Default::default(),
            };
            state
                .images
                .insert(crate::manifest::model::Address::from_key(key), record);
        }
        assert!(refuse_pending(&imports, Some(&state)).is_ok());
        assert!(refuse_pending(&[], None).is_ok());
    }
}
