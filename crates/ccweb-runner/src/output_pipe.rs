//! The PTY reader thread's hand-off to the session actor: one growing
//! buffer instead of a queue of chunks.
//!
//! The kernel hands a PTY's output out in reads of at most 4 KiB, so a
//! program that writes fast produces tens of thousands of reads per second.
//! Sending each as its own message cost a task wake-up, a pass through the
//! terminal parser and a socket frame per read. Here the reader appends to
//! a shared buffer and wakes the actor only when the buffer was empty; the
//! actor takes everything waiting at once. An idle session's single
//! keystroke echo still goes through at once (the buffer was empty), while a
//! busy session's output arrives in chunks as large as the actor was slow.
//!
//! Back-pressure: when [`PIPE_BYTES`] are waiting, the reader thread waits
//! too, the kernel's PTY buffer fills and the program blocks on write.

use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Output the reader thread may get ahead of the actor before it waits.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;
/// Output the receiving task handles between two yields to the scheduler
/// (about a millisecond of terminal parsing).
const YIELD_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct State {
    buf: BytesMut,
    /// The reader saw EOF (or gave up): what is buffered is the last.
    eof: bool,
    /// The receiver is gone: the reader stops.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// The reader waits here for room.
    room: Condvar,
    /// The receiver waits here for output or EOF.
    ready: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Both sides only append, take or set flags under the lock: a panic
        // elsewhere cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pipe from a blocking reader thread to an async receiver.
pub(crate) fn pipe() -> (PipeWriter, PipeReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        room: Condvar::new(),
        ready: Notify::new(),
    });
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReceiver {
            shared,
            since_yield: 0,
        },
    )
}

/// The reader thread's end. Dropping it marks EOF.
pub(crate) struct PipeWriter {
    shared: Arc<Shared>,
}

impl PipeWriter {
    /// Appends `data`, waiting (blocking) while the pipe is full. Returns
    /// false once the receiver is gone.
    pub(crate) fn write(&self, data: &[u8]) -> bool {
        let mut s = self.shared.lock();
        while !s.closed && !s.buf.is_empty() && s.buf.len() + data.len() > PIPE_BYTES {
            s = self.shared.room.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.closed {
            return false;
        }
        let was_empty = s.buf.is_empty();
        s.buf.extend_from_slice(data);
        drop(s);
        if was_empty {
            self.shared.ready.notify_one();
        }
        true
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().eof = true;
        self.shared.ready.notify_one();
    }
}

/// The actor's end. Dropping it stops the reader thread's next write.
pub(crate) struct PipeReceiver {
    shared: Arc<Shared>,
    /// Bytes handed out since the receiving task last yielded.
    since_yield: usize,
}

impl PipeReceiver {
    /// Everything written since the last call, up to `max` bytes, as one
    /// chunk; `None` after EOF once everything was taken. Cancel-safe:
    /// nothing is taken until it is returned.
    pub(crate) async fn recv(&mut self, max: usize) -> Option<Bytes> {
        // A program that never stops printing keeps this ready forever, and
        // a plain mutex does not count against the task's budget as tokio's
        // own channels do: without this the actor would never yield, and
        // tasks queued behind it on its worker (a socket it just woke, an
        // HTTP request) would never run. The budget counts calls, while the
        // work is per byte (a large chunk takes milliseconds to parse): so
        // also yield after every `YIELD_BYTES` handed out.
        if self.since_yield >= YIELD_BYTES {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        } else {
            tokio::task::consume_budget().await;
        }
        loop {
            let notified = self.shared.ready.notified();
            {
                let mut s = self.shared.lock();
                if !s.buf.is_empty() {
                    let n = s.buf.len().min(max.max(1));
                    let chunk = s.buf.split_to(n).freeze();
                    drop(s);
                    self.since_yield += n;
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
    use std::time::Duration;

    #[tokio::test]
    async fn writes_waiting_together_arrive_as_one_chunk_in_order() {
        let (w, mut r) = pipe();
        assert!(w.write(b"one "));
        assert!(w.write(b"two "));
        assert!(w.write(b"three"));
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"one two three"[..]);
        assert!(w.write(b"0123456789"));
        assert_eq!(r.recv(4).await.unwrap(), &b"0123"[..]);
        assert_eq!(r.recv(100).await.unwrap(), &b"456789"[..]);
        drop(w);
        assert_eq!(r.recv(usize::MAX).await, None);
    }

    #[tokio::test]
    async fn what_was_written_before_eof_is_still_received() {
        let (w, mut r) = pipe();
        let thread = std::thread::spawn(move || {
            for i in 0..1000u32 {
                assert!(w.write(format!("{i},").as_bytes()));
            }
        });
        let mut all = Vec::new();
        while let Some(chunk) = r.recv(usize::MAX).await {
            all.extend_from_slice(&chunk);
        }
        thread.join().unwrap();
        let want: String = (0..1000u32).map(|i| format!("{i},")).collect();
        assert_eq!(String::from_utf8(all).unwrap(), want);
    }

    #[tokio::test]
    async fn a_full_pipe_holds_the_writer_until_the_receiver_takes_it() {
        let (w, mut r) = pipe();
        let big = vec![b'x'; PIPE_BYTES];
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::spawn(move || {
            assert!(w.write(&big));
            assert!(w.write(b"more"));
            done_tx.send(()).unwrap();
        });
        // The second write cannot fit until the first is taken.
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err());
        assert_eq!(r.recv(usize::MAX).await.unwrap().len(), PIPE_BYTES);
        done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"more"[..]);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn a_dropped_receiver_releases_a_waiting_writer() {
        let (w, r) = pipe();
        let big = vec![b'x'; PIPE_BYTES];
        let thread = std::thread::spawn(move || {
            assert!(w.write(&big));
            w.write(b"more")
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(r);
        assert!(!thread.join().unwrap());
    }
}
