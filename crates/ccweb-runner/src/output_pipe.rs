//! The PTY reader thread's hand-off to the session actor: one growing
//! buffer instead of a queue of chunks.
//!
//! The kernel hands a PTY's output out in reads of at most 4 KiB, so a
//! program that writes fast produces tens of thousands of reads per second.
//! Sending each as its own message cost a task wake-up, a pass through the
//! terminal parser and a socket frame per read. Here the reader appends to
//! a shared buffer and wakes the actor only when the buffer reaches what the
//! actor waits for (anything at all, unless it gathers a batch, below); the
//! actor takes everything waiting at once. An idle session's single
//! keystroke echo still goes through at once (the buffer was empty), while a
//! busy session's output arrives in chunks as large as the actor was slow.
//!
//! That alone did not coalesce much: the actor is usually quicker than the
//! kernel, so it took each read on its own (about 5 KiB), and every 5 KiB
//! cost a wake-up of the actor, of the viewer's socket task and of the
//! viewer. So once output streams (a chunk of at least [`STREAMING_BYTES`],
//! more than one read of the kernel's), the receiver waits for
//! [`BATCH_BYTES`] to gather or [`BATCH_WAIT`] to pass before it takes
//! more. Keystrokes and small redraws still go through at once; the tail of
//! a large burst may wait a millisecond or two.
//!
//! Back-pressure: when [`PIPE_BYTES`] are waiting, the reader thread waits
//! too, the kernel's PTY buffer fills and the program blocks on write.

use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Output the reader thread may get ahead of the actor before it waits.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;
/// Output the receiving task handles between two yields to the scheduler
/// (about half a millisecond of terminal parsing).
const YIELD_BYTES: usize = 64 * 1024;
/// A chunk at least this large means the program writes faster than one
/// read of the kernel's (at most 4 KiB) takes: output is streaming.
pub(crate) const STREAMING_BYTES: usize = 4096;
/// While output streams, the receiver waits for this much...
pub(crate) const BATCH_BYTES: usize = 64 * 1024;
/// ...or this long, whichever comes first.
pub(crate) const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(1);

struct State {
    buf: BytesMut,
    /// The reader saw EOF (or gave up): what is buffered is the last.
    eof: bool,
    /// The receiver is gone: the reader stops.
    closed: bool,
    /// The reader wakes the receiver when the buffer reaches this many
    /// bytes: 1 (anything at all) unless the receiver is gathering a batch.
    want: usize,
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
        state: Mutex::new(State {
            buf: BytesMut::new(),
            eof: false,
            closed: false,
            want: 1,
        }),
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
            streaming: false,
            batch_deadline: None,
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
        let before = s.buf.len();
        s.buf.extend_from_slice(data);
        let reached = before < s.want && s.buf.len() >= s.want;
        drop(s);
        if reached {
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
    /// The last chunk was at least [`STREAMING_BYTES`].
    streaming: bool,
    /// When the batch being gathered is due. Kept here, not in `recv`'s
    /// future, so a `recv` dropped for another branch of the actor's
    /// `select!` (a command) does not restart the wait.
    batch_deadline: Option<tokio::time::Instant>,
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
        let max = max.max(1);
        // While output streams, wait for a batch, but never past the
        // deadline; otherwise for anything at all.
        let mut need = if self.streaming {
            BATCH_BYTES.min(max)
        } else {
            1
        };
        let deadline = (need > 1).then(|| {
            *self
                .batch_deadline
                .get_or_insert_with(|| tokio::time::Instant::now() + BATCH_WAIT)
        });
        loop {
            let notified = self.shared.ready.notified();
            {
                let mut s = self.shared.lock();
                if !s.buf.is_empty() && (s.buf.len() >= need || s.eof) {
                    s.want = 1;
                    let n = s.buf.len().min(max);
                    let chunk = s.buf.split_to(n).freeze();
                    drop(s);
                    self.since_yield += n;
                    self.streaming = n >= STREAMING_BYTES;
                    self.batch_deadline = None;
                    self.shared.room.notify_one();
                    return Some(chunk);
                }
                if s.eof {
                    return None;
                }
                s.want = need;
            }
            match deadline {
                Some(deadline) if need > 1 => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        need = 1;
                    }
                }
                _ => notified.await,
            }
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

    /// Polls `fut` once.
    async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
        std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx)))
            .await
    }

    /// A receiver that just took a streaming-sized chunk.
    async fn streaming() -> (PipeWriter, PipeReceiver) {
        let (w, mut r) = pipe();
        assert!(w.write(&[b's'; STREAMING_BYTES]));
        assert_eq!(r.recv(usize::MAX).await.unwrap().len(), STREAMING_BYTES);
        (w, r)
    }

    #[tokio::test(start_paused = true)]
    async fn streaming_output_is_gathered_into_batches() {
        let (w, mut r) = streaming().await;
        let mut next = std::pin::pin!(r.recv(usize::MAX));
        assert!(poll_once(&mut next).await.is_pending());
        assert!(w.write(&[b'a'; 1000]));
        assert!(
            poll_once(&mut next).await.is_pending(),
            "a small piece waits for more"
        );
        assert!(w.write(&[b'b'; BATCH_BYTES]));
        let start = tokio::time::Instant::now();
        let chunk = next.await.unwrap();
        assert_eq!(chunk.len(), 1000 + BATCH_BYTES, "one chunk");
        assert_eq!(start.elapsed(), Duration::ZERO, "a full batch goes at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_at_most_batch_wait() {
        let (w, mut r) = streaming().await;
        let start = tokio::time::Instant::now();
        assert!(w.write(&[b'a'; 1000]));
        assert_eq!(r.recv(usize::MAX).await.unwrap().len(), 1000);
        assert_eq!(start.elapsed(), BATCH_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_wait_cut_short_by_a_command_is_not_restarted() {
        let (w, mut r) = streaming().await;
        let start = tokio::time::Instant::now();
        assert!(w.write(&[b'a'; 1000]));
        {
            // The actor's select! handles commands for the whole wait and
            // drops this recv each time.
            let mut next = std::pin::pin!(r.recv(usize::MAX));
            assert!(poll_once(&mut next).await.is_pending());
            tokio::time::advance(BATCH_WAIT).await;
        }
        // The batch is due: the next recv takes it at once.
        let mut next = std::pin::pin!(r.recv(usize::MAX));
        match poll_once(&mut next).await {
            std::task::Poll::Ready(chunk) => assert_eq!(chunk.unwrap().len(), 1000),
            std::task::Poll::Pending => panic!("the batch wait started again"),
        }
        assert_eq!(start.elapsed(), BATCH_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn once_streaming_stops_a_keystroke_goes_through_at_once() {
        let (w, mut r) = streaming().await;
        // The end of the stream: less than a read's worth.
        assert!(w.write(b"tail"));
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"tail"[..]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start = tokio::time::Instant::now();
        let mut next = std::pin::pin!(r.recv(usize::MAX));
        assert!(poll_once(&mut next).await.is_pending());
        assert!(w.write(b"k"));
        assert_eq!(next.await.unwrap(), &b"k"[..]);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn eof_ends_a_gathering_wait() {
        let (w, mut r) = streaming().await;
        let start = tokio::time::Instant::now();
        {
            let mut next = std::pin::pin!(r.recv(usize::MAX));
            assert!(poll_once(&mut next).await.is_pending());
            assert!(w.write(b"last words"));
            drop(w);
            assert_eq!(next.await.unwrap(), &b"last words"[..]);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
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
