//! The PTY reader task's hand-off to the session actor: one growing
//! buffer instead of a queue of chunks.
//!
//! The kernel hands a PTY's output out in reads of at most 4 KiB, so a
//! program that writes fast produces tens of thousands of reads per second.
//! The reader task appends what it read to a shared buffer and wakes the
//! actor only when the buffer was empty; the actor takes everything
//! waiting at once. Reading and parsing run side by side (the reader keeps
//! the program writing while the actor parses), a busy session's output
//! reaches the actor in chunks as large as the actor was slow, and an idle
//! session's keystroke echo goes through at once (the buffer was empty).
//!
//! Back-pressure: when [`PIPE_BYTES`] are waiting, the reader waits too,
//! the kernel's PTY buffer fills and the program blocks on write.

use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Output the reader may get ahead of the actor before it waits.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;

#[derive(Default)]
struct State {
    buf: BytesMut,
    /// The reader saw EOF (or gave up): what is buffered is the last.
    eof: bool,
    /// The receiver is gone: the reader stops.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The reader waits here for room.
    room: Notify,
    /// The receiver waits here for output or EOF.
    ready: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Both sides only append, take or set flags under the lock, never
        // across an await: a panic elsewhere cannot leave it half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pipe from the reader task to the actor.
pub(crate) fn pipe() -> (PipeWriter, PipeReceiver) {
    let shared = Arc::new(Shared::default());
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReceiver { shared },
    )
}

/// The reader's end. Dropping it marks EOF.
pub(crate) struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// Appends `data`, waiting while the pipe is full. Returns false once
    /// the receiver is gone. Cancel-safe: nothing is written unless it
    /// returns true.
    pub(crate) async fn write(&self, data: &[u8]) -> bool {
        loop {
            let room = self.shared.room.notified();
            {
                let mut s = self.shared.lock();
                if s.closed {
                    return false;
                }
                if s.buf.is_empty() || s.buf.len() + data.len() <= PIPE_BYTES {
                    let was_empty = s.buf.is_empty();
                    s.buf.extend_from_slice(data);
                    drop(s);
                    if was_empty {
                        self.shared.ready.notify_one();
                    }
                    return true;
                }
            }
            room.await;
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().eof = true;
        self.shared.ready.notify_one();
    }
}

/// The actor's end. Dropping it stops the reader's next write.
pub(crate) struct PipeReceiver {
    shared: Arc<Shared>,
}

impl PipeReceiver {
    /// Everything written since the last call, up to `max` bytes, as one
    /// chunk; `None` after EOF once everything was taken. Cancel-safe:
    /// nothing is taken until it is returned.
    pub(crate) async fn recv(&mut self, max: usize) -> Option<Bytes> {
        loop {
            let notified = self.shared.ready.notified();
            {
                let mut s = self.shared.lock();
                if !s.buf.is_empty() {
                    let n = s.buf.len().min(max.max(1));
                    let chunk = s.buf.split_to(n).freeze();
                    drop(s);
                    self.shared.room.notify_one();
                    return Some(chunk);
                }
                if s.eof {
                    return None;
                }
            }
            notified.await;
        }
    }
}

impl Drop for PipeReceiver {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_waiting_together_arrive_as_one_chunk_in_order() {
        let (w, mut r) = pipe();
        assert!(w.write(b"one ").await);
        assert!(w.write(b"two ").await);
        assert!(w.write(b"three").await);
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"one two three"[..]);
        assert!(w.write(b"0123456789").await);
        assert_eq!(r.recv(4).await.unwrap(), &b"0123"[..]);
        assert_eq!(r.recv(100).await.unwrap(), &b"456789"[..]);
        drop(w);
        assert_eq!(r.recv(usize::MAX).await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_was_written_before_eof_is_still_received() {
        let (w, mut r) = pipe();
        let writer = tokio::spawn(async move {
            for i in 0..1000u32 {
                assert!(w.write(format!("{i},").as_bytes()).await);
            }
        });
        let mut all = Vec::new();
        while let Some(chunk) = r.recv(usize::MAX).await {
            all.extend_from_slice(&chunk);
        }
        writer.await.unwrap();
        let want: String = (0..1000u32).map(|i| format!("{i},")).collect();
        assert_eq!(String::from_utf8(all).unwrap(), want);
    }

    #[tokio::test]
    async fn a_full_pipe_holds_the_writer_until_the_receiver_takes_it() {
        let (w, mut r) = pipe();
        assert!(w.write(&vec![b'x'; PIPE_BYTES]).await);
        let mut more = Box::pin(w.write(b"more"));
        // The second write cannot fit until the first is taken.
        assert!(futures_poll_once(&mut more).await.is_none());
        assert_eq!(r.recv(usize::MAX).await.unwrap().len(), PIPE_BYTES);
        assert!(more.await);
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"more"[..]);
    }

    #[tokio::test]
    async fn a_dropped_receiver_releases_a_waiting_writer() {
        let (w, r) = pipe();
        assert!(w.write(&vec![b'x'; PIPE_BYTES]).await);
        let mut more = Box::pin(w.write(b"more"));
        assert!(futures_poll_once(&mut more).await.is_none());
        drop(r);
        assert!(!more.await);
    }

    /// Polls a future once: its output if it is ready at once.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
