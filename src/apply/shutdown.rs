//! [`Shutdown`]: the cancellation signal the executor watches. The CLI triggers it on the first
//! SIGINT/SIGTERM; tests trigger it by hand. It only says "stop starting work"; what stops where
//! is decided by the executor.

use tokio::sync::watch;

/// The side that requests the shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// The side the executor watches; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger(sender), Shutdown(receiver))
    }

    /// A signal that never fires.
    pub fn never() -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        // Keeping the sender alive forever would leak; a dropped sender with `false` never fires.
        drop(trigger);
        shutdown
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a shutdown is requested; never, if the trigger was dropped without one.
    pub async fn requested(&self) {
        let mut receiver = self.0.clone();
        if receiver.wait_for(|requested| *requested).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl ShutdownTrigger {
    pub fn request(&self) {
        self.0.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_once_requested_and_never_without() {
        let (trigger, shutdown) = Shutdown::new();
        assert!(!shutdown.is_requested());
        trigger.request();
        shutdown.requested().await;
        assert!(shutdown.is_requested());
        let never = Shutdown::never();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), never.requested()).await;
        assert!(waited.is_err());
    }
}
