//! Process-wide counters of the terminal runner, for the server's metrics.
//!
//! They are plain atomics in a static: the hot output path pays one relaxed
//! add when something noteworthy happens (a viewer falls behind), and
//! nothing has to be threaded through every actor and queue. The server
//! reads them when it is scraped.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the terminal runner; read them with [`stats`].
#[derive(Debug, Default)]
pub struct RunnerStats {
    /// Times a viewer's queue overflowed: its queued output was discarded
    /// and the viewer marked for a re-sync.
    overflows: AtomicU64,
    /// Output bytes discarded for viewers that fell behind (queued bytes
    /// at the overflow, plus chunks skipped until the re-sync).
    dropped_bytes: AtomicU64,
    /// Snapshots sent to viewers that had fallen behind.
    resyncs: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerStatsSnapshot {
    /// See [`RunnerStats`]: viewer queue overflows.
    pub overflows: u64,
    /// Output bytes discarded for slow viewers.
    pub dropped_bytes: u64,
    /// Re-sync snapshots sent.
    pub resyncs: u64,
}

static STATS: RunnerStats = RunnerStats {
    overflows: AtomicU64::new(0),
    dropped_bytes: AtomicU64::new(0),
    resyncs: AtomicU64::new(0),
};

/// The runner's counters (one set per process).
pub fn stats() -> &'static RunnerStats {
    &STATS
}

impl RunnerStats {
    /// The current values.
    pub fn snapshot(&self) -> RunnerStatsSnapshot {
        RunnerStatsSnapshot {
            overflows: self.overflows.load(Ordering::Relaxed),
            dropped_bytes: self.dropped_bytes.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn overflow(&self, dropped_bytes: usize) {
        self.overflows.fetch_add(1, Ordering::Relaxed);
        self.dropped(dropped_bytes);
    }

    pub(crate) fn dropped(&self, bytes: usize) {
        self.dropped_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn resynced(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }
}
