//! Persistence of the emulator's world (images and jobs) to a JSON file.
//!
//! Saves are atomic: a temporary file in the same directory, fsync, rename. Each snapshot carries
//! the generation it was taken at, and the writer skips snapshots older than the last written
//! one, so concurrent requests never put an older world on disk after a newer one. Unfinished
//! jobs restart when loaded and images whose delete was pending are dropped. Owns only files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::EmulatorError;
use super::model::{Image, Job};

const FORMAT_VERSION: u32 = 1;

/// The on-disk world.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub version: u32,
    pub images: Vec<Image>,
    pub jobs: Vec<Job>,
}

impl Persisted {
    /// An empty world.
    pub fn empty() -> Self {
        Persisted {
            version: FORMAT_VERSION,
            images: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// A snapshot of the world, without images whose delete is pending.
    pub fn capture(images: &BTreeMap<String, Image>, jobs: &BTreeMap<String, Job>) -> Self {
        Persisted {
            version: FORMAT_VERSION,
            images: images
                .values()
                .filter(|image| image.gone_at.is_none())
                .cloned()
                .collect(),
            jobs: jobs.values().cloned().collect(),
        }
    }

    /// Puts a loaded world in place; unfinished jobs restart from zero on the new clock.
    pub fn restore_into(
        self,
        images: &mut BTreeMap<String, Image>,
        jobs: &mut BTreeMap<String, Job>,
    ) {
        for image in self.images {
            images.insert(image.id.clone(), image);
        }
        for mut job in self.jobs {
            if !job.finished {
                job.started = Duration::ZERO;
            }
            jobs.insert(job.id.clone(), job);
        }
    }
}

/// Reads the world from `path`; `None` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<Persisted>, EmulatorError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EmulatorError::Io {
                context: format!("reading {}", path.display()),
                source,
            });
        }
    };
    let persisted: Persisted =
        serde_json::from_str(&text).map_err(|source| EmulatorError::Data {
            path: path.to_owned(),
            source,
        })?;
    if persisted.version != FORMAT_VERSION {
        return Err(EmulatorError::DataVersion {
            path: path.to_owned(),
            version: persisted.version,
        });
    }
    Ok(Some(persisted))
}

/// Writes `world` to `path` atomically, as pretty JSON.
pub fn save(path: &Path, world: &Persisted) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(world).map_err(std::io::Error::other)?;
    crate::atomic_file::write(path, &text)
}

/// Writes snapshots in generation order, off the async threads.
#[derive(Debug)]
pub struct Saver {
    path: Option<PathBuf>,
    written: Arc<Mutex<u64>>,
}

impl Saver {
    pub fn new(path: Option<PathBuf>) -> Self {
        Saver {
            path,
            written: Arc::new(Mutex::new(0)),
        }
    }

    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// Saves `snapshot` unless a newer generation is already on disk. Failures are logged: a
    /// request that changed the world has already succeeded in memory.
    pub async fn save(&self, generation: u64, snapshot: Persisted) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let written = Arc::clone(&self.written);
        let task = tokio::task::spawn_blocking(move || {
            let mut last = written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if generation <= *last {
                return Ok(());
            }
            save(&path, &snapshot)?;
            *last = generation;
            Ok::<(), std::io::Error>(())
        });
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!("emulator: saving the world failed: {error}"),
            Err(error) => tracing::warn!("emulator: the save task failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_loads_as_none_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.json");
        assert!(load(&path).unwrap().is_none());
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(load(&path), Err(EmulatorError::Data { .. })));
    }
}
