//! [`StateWriter`]: the single task that owns the [`Store`] during an apply. Steps send edits
//! through a channel; the task applies them in order to the store's state and saves them with
//! [`Store::change`], which hands down only the records the edits touched (no copy or
//! comparison of the whole state per step). A step continues only once its edit is on disk. It
//! must not decide what an edit means.
//!
//! Edits that queue up while a save runs are applied together and saved once (one fsync for
//! many steps when many images finish at once); each is acknowledged only after that save.
//! After a failed save every later edit fails too: the run stops rather than act on a state it
//! cannot write.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::ApplyError;
use crate::state::{Edit as StateEdit, StateError, Store};

type EditFn = Box<dyn FnOnce(&mut StateEdit<'_>) + Send>;

struct Edit {
    apply: EditFn,
    saved: oneshot::Sender<Result<(), Arc<StateError>>>,
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone)]
pub(crate) struct StateWriter {
    edits: mpsc::Sender<Edit>,
}

/// Starts the writer task. It ends, returning the store, once every handle is dropped.
pub(crate) fn spawn(store: Store) -> (StateWriter, JoinHandle<Store>) {
    let (edits, receiver) = mpsc::channel(256);
    let task = tokio::spawn(run(store, receiver));
    (StateWriter { edits }, task)
}

impl StateWriter {
    /// Applies `edit` to the state and waits until it is saved; returns what `edit` returned.
    pub(crate) async fn edit<R: Send + 'static>(
        &self,
        edit: impl FnOnce(&mut StateEdit<'_>) -> R + Send + 'static,
    ) -> Result<R, ApplyError> {
        let (result_tx, result_rx) = oneshot::channel();
        let (saved_tx, saved_rx) = oneshot::channel();
        let apply: EditFn = Box::new(move |state| {
            let _ = result_tx.send(edit(state));
        });
        let message = Edit {
            apply,
            saved: saved_tx,
        };
        self.edits
            .send(message)
            .await
            .map_err(|_| ApplyError::WriterGone)?;
        saved_rx
            .await
            .map_err(|_| ApplyError::WriterGone)?
            .map_err(ApplyError::State)?;
        result_rx.await.map_err(|_| ApplyError::WriterGone)
    }
}

async fn run(mut store: Store, mut receiver: mpsc::Receiver<Edit>) -> Store {
    let mut failed: Option<Arc<StateError>> = None;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = receiver.try_recv() {
            batch.push(more);
        }
        if let Some(error) = &failed {
            for edit in batch {
                let _ = edit.saved.send(Err(error.clone()));
            }
            continue;
        }
        let (edits, acks): (Vec<EditFn>, Vec<_>) = batch
            .into_iter()
            .map(|edit| (edit.apply, edit.saved))
            .unzip();
        let (returned, result) = save(store, edits).await;
        store = returned;
        let result = result.map_err(Arc::new);
        if let Err(error) = &result {
            failed = Some(error.clone());
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
    store
}

/// Applies `edits` in order to the store's state and saves them together, off the async
/// threads (the save blocks on fsync or on the database).
async fn save(mut store: Store, edits: Vec<EditFn>) -> (Store, Result<(), StateError>) {
    let joined = tokio::task::spawn_blocking(move || {
        let result = store.change(|state| {
            for edit in edits {
                edit(state);
            }
        });
        (store, result)
    })
    .await;
    match joined {
        Ok(done) => done,
        // spawn_blocking only fails if the closure panicked or the runtime is shutting down;
        // the store went with it, so there is nothing left to return: abort loudly.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
