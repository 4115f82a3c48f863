//! Housekeeping that runs at start, then every interval, until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs `job` now and then every `interval` on a tracked task that ends
/// when `cancel` fires (a job already running finishes first).
pub(crate) fn spawn_every<F, Fut>(
    interval: Duration,
    cancel: CancellationToken,
    tracker: &TaskTracker,
    mut job: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            job().await;
        }
    });
}
