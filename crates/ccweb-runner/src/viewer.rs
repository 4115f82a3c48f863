//! A viewer's bounded queue between the session actor and one socket.
//!
//! The actor pushes without ever waiting. When a viewer's queue would pass
//! its byte budget, its queued output is dropped and the viewer is marked
//! for re-sync: the next time its socket asks for data, the actor puts a
//! fresh snapshot of the terminal in the queue and live output follows it.
//! Memory per viewer stays bounded and nobody else is slowed down.
//!
//! Flow control, like a real terminal's: while a viewer has half its
//! budget or more queued ([`ViewerQueue::pace`]), the actor stops reading
//! the program's output until it is down to a quarter (the session's
//! `drained` notify), so viewers that keep up on average get every byte
//! instead of a re-sync. A viewer may hold the output only briefly: 20 ms
//! while another viewer is keeping up (a slow viewer must not slow the
//! others: 50 ms cost the fan-out benchmark's fast viewers 15 % once
//! output came in 64 KiB batches), 1 s when none is (a lone viewer on a slow link). Then its hold
//! lapses until it has caught up completely, and it falls behind and is
//! re-synced as above.
//!
//! Size ownership: one viewer at a time owns the terminal's size (see
//! `actor`); the others are told they don't and draw the owner's size
//! scaled to their screen. A viewer reports its own size with
//! [`Viewer::resize`] and takes the size over with [`Viewer::claim_size`].

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use crate::actor::Command;

/// What a viewer receives, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerEvent {
    /// A frame that redraws the whole screen (first frame, or after a re-sync).
    Snapshot(Bytes),
    /// Live PTY output.
    Output(Bytes),
    /// The terminal size changed.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// This viewer became, or stopped being, the one whose size the
    /// terminal has (see [`Viewer::owns_size`]).
    SizeOwner {
        /// Whether this viewer owns the size now.
        owner: bool,
    },
    /// The process ended; nothing follows.
    Exit {
        /// Exit code (128 + signal number when killed by a signal).
        code: i32,
    },
}

#[derive(Debug, Default)]
struct QueueState {
    items: VecDeque<ViewerEvent>,
    /// Bytes of output held in `items`.
    bytes: usize,
    /// Output was dropped; a snapshot must come before anything else.
    needs_resync: bool,
    /// A re-sync request is with the actor.
    resync_requested: bool,
    /// The viewer went away (set on drop) or the session ended.
    closed: bool,
    /// How many times this viewer was re-synced.
    resyncs: u64,
    /// When the viewer held the output too long; it may not again until
    /// [`REARM_AFTER`] has passed and its queue has been empty.
    hold_lapsed: Option<Instant>,
    /// Since when the viewer has had half its budget or more queued.
    behind_since: Option<Instant>,
}

/// The shared half of a viewer's queue.
#[derive(Debug)]
pub(crate) struct ViewerQueue {
    state: Mutex<QueueState>,
    notify: Notify,
    budget_bytes: usize,
    /// The session's: told when this viewer's backlog falls to a quarter
    /// of the budget, so an actor holding output for it reads again.
    drained: Arc<Notify>,
    /// Whether this viewer owns the terminal's size; written by the actor
    /// only, read by the viewer's socket before each input.
    owns_size: AtomicBool,
}

/// A viewer whose hold lapsed may hold the output again only this long
/// after, once it has caught up: a slow viewer's queue empties now and
/// then (right after a re-sync), and each time it would hold everyone else
/// again.
const REARM_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// How a viewer stands for flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Less than half its budget queued: output flows.
    KeepingUp,
    /// Half its budget or more queued since `since`, and it may still
    /// hold the output.
    Behind {
        /// When it fell behind.
        since: Instant,
    },
    /// Closed, waiting for a re-sync, or its hold lapsed: it holds nothing.
    Ignored,
}

/// Result of pushing output into a viewer's queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Queued.
    Queued,
    /// Dropped: the viewer is behind and will be re-synced.
    Dropped,
    /// The viewer is gone; the actor should forget it.
    Closed,
}

impl ViewerQueue {
    pub(crate) fn new(budget_bytes: usize, drained: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(QueueState::default()),
            notify: Notify::new(),
            budget_bytes,
            drained,
            owns_size: AtomicBool::new(false),
        })
    }

    /// Whether this viewer owns the terminal's size.
    pub(crate) fn owns_size(&self) -> bool {
        self.owns_size.load(Ordering::Acquire)
    }

    /// Records whether this viewer owns the size (the actor, which keeps
    /// the one owner). Returns whether that changed.
    pub(crate) fn set_owns_size(&self, owner: bool) -> bool {
        self.owns_size.swap(owner, Ordering::AcqRel) != owner
    }

    /// Where this viewer stands for flow control at `now` (see the module
    /// docs).
    pub(crate) fn pace(&self, now: Instant) -> Pace {
        let mut s = self.lock();
        if s.closed || s.needs_resync || s.hold_lapsed.is_some() {
            s.behind_since = None;
            Pace::Ignored
        } else if s.bytes >= self.budget_bytes / 2 {
            Pace::Behind {
                since: *s.behind_since.get_or_insert(now),
            }
        } else {
            s.behind_since = None;
            Pace::KeepingUp
        }
    }

    /// Ends this viewer's right to hold the output until it has caught up.
    pub(crate) fn lapse_hold(&self) {
        let mut s = self.lock();
        s.hold_lapsed = Some(Instant::now());
        s.behind_since = None;
    }

    /// Accounts for `len` bytes of output the viewer took; tells the actor
    /// when the backlog fell to a quarter of the budget.
    fn took(&self, s: &mut QueueState, len: usize) {
        let before = s.bytes;
        s.bytes = s.bytes.saturating_sub(len);
        let resume_at = self.budget_bytes / 4;
        if before >= resume_at && s.bytes < resume_at {
            self.drained.notify_one();
        }
        if s.bytes == 0 && s.hold_lapsed.is_some_and(|t| t.elapsed() >= REARM_AFTER) {
            s.hold_lapsed = None;
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding this lock cannot leave the queue
        // inconsistent in a way that matters; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues live output unless the viewer is behind. Never waits.
    pub(crate) fn push_output(&self, data: &Bytes) -> Push {
        let mut s = self.lock();
        if s.closed {
            return Push::Closed;
        }
        if s.needs_resync {
            crate::stats::stats().dropped(data.len());
            return Push::Dropped;
        }
        if s.bytes + data.len() > self.budget_bytes {
            crate::stats::stats().overflow(s.bytes + data.len());
            s.items
                .retain(|e| !matches!(e, ViewerEvent::Output(_) | ViewerEvent::Snapshot(_)));
            s.bytes = 0;
            s.needs_resync = true;
            drop(s);
            self.notify.notify_one();
            return Push::Dropped;
        }
        s.bytes += data.len();
        s.items.push_back(ViewerEvent::Output(data.clone()));
        drop(s);
        self.notify.notify_one();
        Push::Queued
    }

    /// Replaces whatever is queued by a snapshot (attach or re-sync).
    pub(crate) fn push_snapshot(&self, frame: Bytes, is_resync: bool) {
        let mut s = self.lock();
        s.items
            .retain(|e| !matches!(e, ViewerEvent::Output(_) | ViewerEvent::Snapshot(_)));
        // The budget counts live output only: a snapshot larger than the
        // budget (long scrollback, wide screen) must not cause another
        // re-sync at once. Memory stays bounded by budget + one snapshot.
        s.bytes = 0;
        s.items.push_back(ViewerEvent::Snapshot(frame));
        s.needs_resync = false;
        s.resync_requested = false;
        if is_resync {
            s.resyncs += 1;
            crate::stats::stats().resynced();
        }
        drop(s);
        self.notify.notify_one();
    }

    /// Queues a control event (resize, size owner, exit); these are tiny and never dropped.
    pub(crate) fn push_control(&self, event: ViewerEvent) -> Push {
        let mut s = self.lock();
        if s.closed {
            return Push::Closed;
        }
        s.items.push_back(event);
        drop(s);
        self.notify.notify_one();
        Push::Queued
    }

    pub(crate) fn needs_resync(&self) -> bool {
        self.lock().needs_resync
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
        // An actor holding output for this viewer must look again.
        self.drained.notify_one();
    }
}

/// One attached viewer: receives the session's frames in order.
///
/// Dropping it detaches the viewer.
#[derive(Debug)]
pub struct Viewer {
    pub(crate) id: u64,
    pub(crate) queue: Arc<ViewerQueue>,
    pub(crate) commands: mpsc::Sender<Command>,
    /// Whether this viewer may own the size (it can type); watchers never do.
    may_own: bool,
    /// Set after `Exit` was handed out.
    finished: bool,
}

impl Viewer {
    pub(crate) fn new(
        id: u64,
        queue: Arc<ViewerQueue>,
        commands: mpsc::Sender<Command>,
        may_own: bool,
    ) -> Self {
        Self {
            id,
            queue,
            commands,
            may_own,
            finished: false,
        }
    }

    /// Whether this viewer owns the terminal's size now: its
    /// [`resize`](Self::resize) changes the PTY. Changes arrive as
    /// [`ViewerEvent::SizeOwner`].
    pub fn owns_size(&self) -> bool {
        self.queue.owns_size()
    }

    /// Reports this viewer's own size (already clamped, see
    /// [`crate::clamp_size`]). The PTY takes it when this viewer owns the
    /// size, or when nobody does (then this viewer becomes the owner);
    /// otherwise it is kept for [`claim_size`](Self::claim_size).
    ///
    /// Returns once the PTY has the new size. Input takes its own path to
    /// the PTY, not through the actor, so without this wait a keystroke
    /// sent right after a resize could reach the program first (`stty size`
    /// would print the old size).
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), crate::RunnerError> {
        let (done, applied) = oneshot::channel();
        self.command(Command::ViewerResize {
            viewer: self.id,
            cols,
            rows,
            done,
        })
        .await?;
        applied.await.map_err(|_| crate::RunnerError::Gone)
    }

    /// Makes this viewer the size owner (it typed, or asked to fit the
    /// terminal to its screen): the PTY takes the size it last reported.
    /// Nothing to do for the owner or a viewer that may not own the size.
    /// Returns once the PTY has the size, for the same ordering as
    /// [`resize`](Self::resize).
    pub async fn claim_size(&self) -> Result<(), crate::RunnerError> {
        if !self.may_own || self.owns_size() {
            return Ok(());
        }
        let (done, applied) = oneshot::channel();
        self.command(Command::ClaimSize {
            viewer: self.id,
            done,
        })
        .await?;
        applied.await.map_err(|_| crate::RunnerError::Gone)
    }

    async fn command(&self, cmd: Command) -> Result<(), crate::RunnerError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| crate::RunnerError::Gone)
    }

    /// The next event; `None` once the session has ended and everything,
    /// `Exit` included, was received. Cancel-safe.
    pub async fn recv(&mut self) -> Option<ViewerEvent> {
        loop {
            if self.finished {
                return None;
            }
            let notified = self.queue.notify.notified();
            let request_resync = {
                let mut s = self.queue.lock();
                if let Some(event) = s.items.pop_front() {
                    if let ViewerEvent::Output(b) = &event {
                        self.queue.took(&mut s, b.len());
                    }
                    if matches!(event, ViewerEvent::Exit { .. }) {
                        self.finished = true;
                    }
                    return Some(event);
                }
                if s.closed {
                    return None;
                }
                let ask = s.needs_resync && !s.resync_requested;
                if ask {
                    s.resync_requested = true;
                }
                ask
            };
            if request_resync
                && self
                    .commands
                    .send(Command::Resync { viewer: self.id })
                    .await
                    .is_err()
            {
                // The actor is gone; it re-syncs everyone before it ends, so
                // an empty closed queue means there is nothing more.
                return None;
            }
            notified.await;
        }
    }

    /// Like [`recv`](Self::recv), but joins consecutive output into one
    /// buffer of at most `max_bytes` (fewer, larger socket frames).
    pub async fn recv_batch(&mut self, max_bytes: usize) -> Option<ViewerEvent> {
        let first = self.recv().await?;
        let ViewerEvent::Output(first) = first else {
            return Some(first);
        };
        let mut s = self.queue.lock();
        if !matches!(s.items.front(), Some(ViewerEvent::Output(_))) {
            return Some(ViewerEvent::Output(first));
        }
        let mut joined = Vec::with_capacity(max_bytes.min(first.len() * 4));
        joined.extend_from_slice(&first);
        while let Some(ViewerEvent::Output(next)) = s.items.front() {
            if joined.len() + next.len() > max_bytes {
                break;
            }
            joined.extend_from_slice(next);
            let len = next.len();
            s.items.pop_front();
            self.queue.took(&mut s, len);
        }
        Some(ViewerEvent::Output(Bytes::from(joined)))
    }

    /// How many times this viewer fell behind and was re-synced.
    pub fn resyncs(&self) -> u64 {
        self.queue.lock().resyncs
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.queue.close();
        // Best effort: if the actor's queue is full it prunes closed viewers
        // on its next push anyway.
        let _ = self.commands.try_send(Command::Detach { viewer: self.id });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_budget_is_dropped_and_marks_a_resync() {
        let q = ViewerQueue::new(10, Arc::default());
        assert_eq!(q.push_output(&Bytes::from_static(b"12345")), Push::Queued);
        assert_eq!(q.push_output(&Bytes::from_static(b"123456")), Push::Dropped);
        assert!(q.needs_resync());
        assert_eq!(q.push_output(&Bytes::from_static(b"1")), Push::Dropped);
        q.push_snapshot(Bytes::from_static(b"snap"), true);
        assert!(!q.needs_resync());
        assert_eq!(q.push_output(&Bytes::from_static(b"1")), Push::Queued);
    }

    #[test]
    fn a_snapshot_larger_than_the_budget_does_not_trigger_another_resync() {
        let q = ViewerQueue::new(10, Arc::default());
        q.push_snapshot(Bytes::from(vec![b'x'; 100]), false);
        assert_eq!(q.push_output(&Bytes::from_static(b"12345")), Push::Queued);
        assert!(!q.needs_resync());
    }

    #[test]
    fn control_events_survive_a_resync() {
        let q = ViewerQueue::new(4, Arc::default());
        q.push_control(ViewerEvent::Resize { cols: 1, rows: 2 });
        q.push_output(&Bytes::from_static(b"too long"));
        let s = q.lock();
        assert_eq!(s.items.len(), 1);
        assert!(matches!(s.items[0], ViewerEvent::Resize { .. }));
    }

    #[tokio::test]
    async fn half_the_budget_queued_is_behind_and_a_quarter_taken_tells_the_actor() {
        let drained = Arc::new(Notify::new());
        let q = ViewerQueue::new(16, drained.clone());
        let (tx, _rx) = mpsc::channel(1);
        let mut v = Viewer::new(0, q.clone(), tx, true);
        q.push_output(&Bytes::from_static(b"1234567"));
        assert_eq!(q.pace(Instant::now()), Pace::KeepingUp);
        q.push_output(&Bytes::from_static(b"8"));
        assert!(matches!(q.pace(Instant::now()), Pace::Behind { .. }));
        v.recv().await.unwrap();
        assert_eq!(q.pace(Instant::now()), Pace::KeepingUp);
        // 8 → 1 byte queued crossed a quarter (4): the actor is told.
        tokio::time::timeout(std::time::Duration::from_secs(1), drained.notified())
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lapsed_hold_returns_only_once_the_viewer_has_caught_up_a_while_later() {
        let q = ViewerQueue::new(16, Arc::default());
        let (tx, _rx) = mpsc::channel(1);
        let mut v = Viewer::new(0, q.clone(), tx, true);
        q.push_output(&Bytes::from_static(b"12345678"));
        q.push_output(&Bytes::from_static(b"9"));
        q.lapse_hold();
        assert_eq!(q.pace(Instant::now()), Pace::Ignored);
        v.recv().await.unwrap();
        assert_eq!(q.pace(Instant::now()), Pace::Ignored, "1 byte still queued");
        v.recv().await.unwrap();
        q.push_output(&Bytes::from_static(b"12345678"));
        assert_eq!(q.pace(Instant::now()), Pace::Ignored, "caught up too soon");
        tokio::time::advance(REARM_AFTER).await;
        v.recv().await.unwrap();
        q.push_output(&Bytes::from_static(b"12345678"));
        assert!(matches!(q.pace(Instant::now()), Pace::Behind { .. }));
    }
}
