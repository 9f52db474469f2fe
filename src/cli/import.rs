//! `imsform import ADDRESS IMAGE_ID`: adopt an existing private image under an address of the
//! manifests. Orchestration plus the one decision that is import's own: what to record.
//!
//! Refused, before anything is written: an address that is not in the manifests, one already in
//! the state or with an operation in flight, an image id the state already binds (to a record or
//! a journal entry, also by the token tag of a create whose answer was lost), an id that is not
//! a private image of the project, and an image that is not
//! `active` (a `queued` image has no file, a `saving` one is still being registered, a `killed`
//! one is broken). The refusals are [`ImportError`], defined in `crate::error` (which must not
//! import from `cli/`).
//!
//! What is recorded ([`imported_record`]): the cloud's values for everything it reports
//! faithfully (name, tags, min_ram, description, os_version, min_disk, protected, members), so the next
//! plan shows an update, or a replacement, where the image differs from the manifest. IMS cannot
//! report the file an image was registered from, and may have converted its disk format, so
//! `image_url` and `disk_format` are taken from the manifest, and a note on stdout says so (as
//! Terraform's provider does for `vault_id`).

use std::collections::BTreeSet;
use std::io::Write;

use crate::cli::Outcome;
use crate::cli::args::{GlobalArgs, ImportArgs};
use crate::cli::context;
use crate::cli::io::{blocking, stdout_error};
use crate::cloud::{CloudApi, ImageStatus, RemoteImage};
use crate::error::{Error, ImportError};
use crate::manifest::model::{Address, ImageAttrs, ImageSpec, TOKEN_TAG};
use crate::plan::{observed, refreshed};
use crate::state::{ImageRecord, PendingOperation, State, StateError};

pub async fn run(global: &GlobalArgs, args: ImportArgs) -> Result<Outcome, Error> {
    let address = Address::parse(&args.address)
        .map_err(|message| Error::Usage(format!("{}: {message}", args.address)))?;
    let (config, loaded, mut store) =
        context::open(global, &[], &args.vars, "import", args.lock_timeout).await?;
    let spec =
        loaded
            .manifests
            .images
            .get(&address)
            .ok_or_else(|| ImportError::NotInManifests {
                address: address.clone(),
            })?;
    let mut state = store.state_or_new();
    check_state(&state, &address, &args.image_id)?;
    let reach = context::regions::reached(Default::default(), Some(&state));
    let connection = context::connect(&config, &reach).await?;
    let image = match context::bind_identity(&mut store, &connection).await {
        Ok(()) => read_image(&connection, &args.image_id).await,
        Err(error) => Err(error),
    };
    connection.close().await;
    let image = image?;
    check_token(&state, &image)?;
    let record = imported_record(spec, &image);
    let attributes = record.attributes.clone();
    state.images.insert(address.clone(), record);
    blocking(move || Ok(store.save(&state)?)).await?;
    let mut out = std::io::stdout().lock();
    write_report(&mut out, spec, &args.image_id, &attributes).map_err(stdout_error)?;
    Ok(Outcome::Success)
}

/// Refuses an address the state already has, or an image id it already binds.
fn check_state(state: &State, address: &Address, image_id: &str) -> Result<(), Error> {
    if state.images.contains_key(address) {
        return Err(StateError::AlreadyInState {
            address: address.clone(),
        }
        .into());
    }
    if state.has_pending(address) {
        return Err(StateError::OperationInFlight {
            address: address.clone(),
        }
        .into());
    }
    let bound = |owner: &Address| ImportError::AlreadyBound {
        image_id: image_id.to_owned(),
        address: owner.clone(),
    };
    if let Some((owner, _)) = state.images.iter().find(|(_, r)| r.id == image_id) {
        return Err(bound(owner).into());
    }
    for entry in &state.pending {
        let ids = match &entry.operation {
            PendingOperation::Create {
                image_id, replaces, ..
            } => [image_id.as_deref(), replaces.as_deref()],
            PendingOperation::Delete { image_id } | PendingOperation::Members { image_id, .. } => {
                [Some(image_id.as_str()), None]
            }
            // Images of other regions: never the configured region's image to import.
            PendingOperation::Copy { .. } | PendingOperation::DeleteReplica { .. } => [None, None],
        };
        if ids.contains(&Some(image_id)) {
            return Err(bound(&entry.address).into());
        }
    }
    Ok(())
}

/// Refuses the image of a create in flight whose answer was lost: it carries the entry's token
/// and the next run's recovery adopts it under the entry's address.
fn check_token(state: &State, image: &RemoteImage) -> Result<(), ImportError> {
    let Some(token) = image.tags.get(TOKEN_TAG) else {
        return Ok(());
    };
    let entry = state.pending.iter().find(
        |entry| matches!(&entry.operation, PendingOperation::Create { token: t, .. } if t == token),
    );
    match entry {
        Some(entry) => Err(ImportError::AlreadyBound {
            image_id: image.id.clone(),
            address: entry.address.clone(),
        }),
        None => Ok(()),
    }
}

/// The image, if it is an active private image of the project.
async fn read_image(
    connection: &context::Connection,
    image_id: &str,
) -> Result<RemoteImage, Error> {
    let client = &connection.client;
    // `GET /v2/cloudimages?id=` with the private-image filters: a public, shared or other
    // project's image with this id is not found.
    let found = client
        .list_all(&[("id".to_owned(), image_id.to_owned())])
        .await?;
    let Some(image) = found.into_iter().find(|image| image.id == image_id) else {
        return Err(ImportError::NoSuchImage {
            image_id: image_id.to_owned(),
            project_id: client.project_id().await?.to_owned(),
        }
        .into());
    };
    if image.status != ImageStatus::Active {
        return Err(ImportError::NotActive {
            image_id: image_id.to_owned(),
            status: image.status.as_str().to_owned(),
        }
        .into());
    }
    // The members are part of what the image is: recorded as the cloud has them.
    let members = CloudApi::members(client.as_ref(), image_id).await?;
    Ok(RemoteImage {
        members: Some(members),
        ..image
    })
}

/// The state record of an imported image: the cloud's values, except `image_url` and
/// `disk_format`, which IMS cannot report faithfully and are taken from the manifest.
pub fn imported_record(spec: &ImageSpec, image: &RemoteImage) -> ImageRecord {
    let manifest = &spec.attrs;
    let created = ImageAttrs {
        os_version: image
            .os_version
            .clone()
            .filter(|version| !version.is_empty())
            .unwrap_or_else(|| manifest.os_version.clone()),
        min_disk: image.min_disk,
        protected: image.protected,
        // The cloud's members when read, else none: never the manifest's wish.
        share_with: BTreeSet::new(),
        ..manifest.clone()
    };
    // Every field the cloud can change comes from the cloud, ignore_changes or not: the state
    // records what the image is.
    let attributes = refreshed(&created, image, &BTreeSet::new());
    ImageRecord {
        id: image.id.clone(),
        attributes,
        observed: Some(observed(image)),
        tainted: None,
        replicas: std::collections::BTreeMap::new(),
    }
}

fn write_report(
    out: &mut impl Write,
    spec: &ImageSpec,
    image_id: &str,
    record: &ImageAttrs,
) -> std::io::Result<()> {
    let address = &spec.address;
    let manifest = &spec.attrs;
    let name = &record.name;
    writeln!(out, "{address}: imported image {image_id} ({name:?}).\n")?;
    if record.image_url == manifest.image_url {
        writeln!(
            out,
            "Note: IMS may have converted the image's disk format, so the state records the \
             manifest's disk_format ({}) for {address}; the image_url ({:?}) is the manifest's, \
             and IMS reports it where it knows the file. If the image was made from another \
             file that IMS does not report, the next plan cannot tell: run `imsform apply \
             --replace {address}` to rebuild it from the manifest.\n",
            manifest.disk_format, manifest.image_url
        )?;
    } else {
        writeln!(
            out,
            "Note: IMS reports that the image was registered from {:?}, but the manifest names \
             {:?}: the state records the cloud's file, so the next plan replaces the image \
             unless the manifest is changed to match (or lists image_url in \
             lifecycle.ignore_changes).\n",
            record.image_url, manifest.image_url
        )?;
    }
    writeln!(
        out,
        "Import successful! {address} is now managed by imsform. Run `imsform plan` to see how \
         the image differs from the manifest."
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manifest::model::{DiskFormat, Lifecycle, Location};

    fn spec() -> ImageSpec {
        ImageSpec {
            address: Address::from_key("web"),
            attrs: ImageAttrs {
                name: "web".into(),
                image_url: "bucket:web.qcow2".into(),
                os_version: "Ubuntu 22.04 server 64bit".into(),
                disk_format: DiskFormat::Qcow2,
                min_disk: 40,
                min_ram: 1024,
                description: Some("wanted".into()),
                tags: BTreeMap::from([("team".into(), "platform".into())]),
                protected: false,
                share_with: BTreeSet::new(),
            },
            lifecycle: Lifecycle::default(),
            location: Location {
                file: "images.yaml".into(),
                line: 1,
                column: 1,
            },
            replicas: BTreeMap::new(),
        }
    }

    #[test]
    fn the_record_takes_the_clouds_values_and_the_manifests_file_and_format() {
        let image = RemoteImage {
            id: "img-1".into(),
            name: "web-old".into(),
            status: ImageStatus::Active,
            tags: BTreeMap::from([
                ("owner".into(), "ops".into()),
                ("imsform-token".into(), "T".into()),
            ]),
            os_version: Some("Ubuntu 20.04 server 64bit".into()),
            disk_format: Some("zvhd2".into()),
            min_disk: 50,
            min_ram: 0,
            description: Some(String::new()),
            protected: true,
            checksum: Some("abc".into()),
            size: Some(7),
            created_at: None,
            updated_at: Some("2026-11-22T10:00:00Z".into()),
            image_url: None,
            copied_from: None,
            members: None,
        };
        let record = imported_record(&spec(), &image);
        let attrs = &record.attributes;
        assert_eq!(record.id, "img-1");
        assert_eq!(attrs.name, "web-old");
        assert_eq!(attrs.image_url, "bucket:web.qcow2");
        assert_eq!(attrs.disk_format, DiskFormat::Qcow2);
        assert_eq!(attrs.os_version, "Ubuntu 20.04 server 64bit");
        assert_eq!((attrs.min_disk, attrs.min_ram), (50, 0));
        assert_eq!(attrs.description, None);
        assert!(attrs.protected);
        assert_eq!(attrs.tags, BTreeMap::from([("owner".into(), "ops".into())]));
        let reported = RemoteImage {
            image_url: Some("bucket:legacy.qcow2".into()),
            copied_from: None,
            ..image
        };
        let from_the_cloud = imported_record(&spec(), &reported);
        assert_eq!(from_the_cloud.attributes.image_url, "bucket:legacy.qcow2");
        let observed = record.observed.unwrap();
        assert_eq!(
            (observed.status.as_str(), observed.size),
            ("active", Some(7))
        );
    }

    fn remote(id: &str) -> RemoteImage {
        RemoteImage {
            id: id.into(),
            name: "web".into(),
            status: ImageStatus::Active,
            tags: BTreeMap::new(),
            os_version: None,
            disk_format: None,
            min_disk: 40,
            min_ram: 0,
            description: None,
            protected: false,
            checksum: None,
            size: None,
            created_at: None,
            updated_at: None,
            image_url: None,
            copied_from: None,
            members: None,
        }
    }

    #[test]
    fn an_image_bound_anywhere_in_the_state_is_refused() {
        let mut state = State::new("lineage".into());
        let record = imported_record(&spec(), &remote("img-1"));
        state.images.insert(Address::from_key("old"), record);
        let web = Address::from_key("web");
        let error = check_state(&state, &web, "img-1").unwrap_err().to_string();
        assert!(error.contains("already managed as images.old"), "{error}");
        assert!(check_state(&state, &web, "img-2").is_ok());
        let error = check_state(&state, &Address::from_key("old"), "img-2").unwrap_err();
        assert!(
            error.to_string().contains("already in the state"),
            "{error}"
        );
        state.pending.push(crate::state::PendingEntry {
            address: Address::from_key("db"),
            operation: PendingOperation::Delete {
                image_id: "img-9".into(),
            },
            started_at: "2026-11-22T10:00:00Z".into(),
        });
        let error = check_state(&state, &web, "img-9").unwrap_err().to_string();
        assert!(error.contains("already managed as images.db"), "{error}");
        let error = check_state(&state, &Address::from_key("db"), "x").unwrap_err();
        assert!(error.to_string().contains("in flight"), "{error}");
        state.pending.push(crate::state::PendingEntry {
            address: Address::from_key("cache"),
            operation: PendingOperation::Create {
                token: "T".repeat(26),
                attributes: Box::new(spec().attrs),
                image_id: None,
                job_id: None,
                replaces: None,
            },
            started_at: "2026-11-22T10:00:00Z".into(),
        });
        let mut found = remote("img-5");
        assert!(check_token(&state, &found).is_ok());
        found.tags.insert(TOKEN_TAG.into(), "T".repeat(26));
        let error = check_token(&state, &found).unwrap_err().to_string();
        assert!(error.contains("already managed as images.cache"), "{error}");
    }
}
