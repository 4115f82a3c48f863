//! The PTY's output on its way to the session actor: who reads the master,
//! and the hand-off from the reader thread (one growing buffer instead of
//! a queue of chunks).
//!
//! **Who reads.** While the program prints little (a keystroke's echo, a
//! redraw), the actor reads the non-blocking master itself when the
//! runtime's reactor says it is readable: the output reaches the viewers'
//! sockets on the worker that was woken for it. A reader thread in between
//! cost every echo a thread wake-up and a hand-off between runtime workers
//! (about a third of the echo's time in ccweb, and the larger part of its
//! tail). Once a read comes back full ([`STREAMING_BYTES`]: more is
//! waiting), the reader thread takes over, so that reading (the kernel's
//! PTY read path is a quarter of the work) overlaps the actor's parsing;
//! reading on the actor alone cost 40 % of the throughput. When the output
//! has paused for [`HAND_BACK_AFTER`], the thread hands reading back and
//! waits for its next turn. Only one side reads at a time, and the actor
//! takes what the thread left in the buffer before it reads again, so the
//! bytes stay in order.
//!
//! **The hand-off.** The kernel hands a PTY's output out in reads of at
//! most 4 KiB, so a program that writes fast produces tens of thousands of
//! reads per second. Sending each as its own message cost a task wake-up,
//! a pass through the terminal parser and a socket frame per read. Here the
//! reader appends to a shared buffer and wakes the actor only when the
//! buffer reaches what the actor waits for; the actor takes everything
//! waiting at once. While output streams (a chunk of at least
//! [`STREAMING_BYTES`]), the receiver waits for [`BATCH_BYTES`] to gather
//! or [`BATCH_WAIT`] to pass before it takes more, so every 5 KiB does not
//! cost a wake-up of the actor, the viewer's socket task and the viewer.
//! The tail of a large burst may wait a millisecond or two.
//!
//! Back-pressure: when [`PIPE_BYTES`] are waiting, the reader thread waits
//! too, the kernel's PTY buffer fills and the program blocks on write. An
//! actor that holds its output (flow control) does not read either.

use bytes::{Bytes, BytesMut};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;

/// Output the reader thread may get ahead of the actor before it waits.
pub(crate) const PIPE_BYTES: usize = 256 * 1024;
/// Output the receiving task handles between two yields to the scheduler
/// (about half a millisecond of terminal parsing).
const YIELD_BYTES: usize = 64 * 1024;
/// A chunk at least this large means the program writes faster than one
/// read of the kernel's takes: output is streaming. The PTY's line
/// discipline (N_TTY) buffers 4096 bytes but keeps one free, so a full
/// read of the master is 4095 bytes: with 4096 here a real PTY's reads
/// counted as full only when the kernel happened to refill the buffer
/// during the read, and a stream went on being read 4095 bytes at a time
/// on the actor, parsed a chunk at a time.
pub(crate) const STREAMING_BYTES: usize = 4095;
/// While output streams, the receiver waits for this much...
pub(crate) const BATCH_BYTES: usize = 64 * 1024;
/// ...or this long, whichever comes first.
pub(crate) const BATCH_WAIT: Duration = Duration::from_millis(1);
/// The reader thread hands reading back to the actor after the output has
/// paused this long: long enough that a program printing in bursts does
/// not bounce it back and forth (each hand-over costs a thread wake-up),
/// short enough that typing after a burst soon takes the short path.
pub(crate) const HAND_BACK_AFTER: Duration = Duration::from_millis(10);
/// One read of the reader thread.
const THREAD_READ_BYTES: usize = 64 * 1024;

/// Who reads the master now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// The receiver (the actor), when the reactor says the master is readable.
    Receiver,
    /// The reader thread, while output streams.
    Thread,
}

struct State {
    buf: BytesMut,
    /// No more output: the reader saw EOF (or gave up), or the receiver
    /// did. What is buffered is the last.
    eof: bool,
    /// The receiver is gone: the reader stops.
    closed: bool,
    /// The reader wakes the receiver when the buffer reaches this many
    /// bytes: 1 (anything at all) unless the receiver is gathering a batch.
    want: usize,
    turn: Turn,
    /// The receiver cannot read by itself: the thread keeps its turn.
    thread_only: bool,
    /// Times the turn changed hands (tests check both directions happen).
    #[cfg(test)]
    handovers: usize,
}

struct Shared {
    state: Mutex<State>,
    /// The reader thread waits here for room, or for its turn.
    reader: Condvar,
    /// The receiver waits here for output, EOF or its turn.
    ready: Notify,
}

impl State {
    fn pass_turn(&mut self, to: Turn) {
        self.turn = to;
        #[cfg(test)]
        {
            self.handovers += 1;
        }
    }
}

impl Shared {
    fn new(turn: Turn) -> Arc<Self> {
        Arc::new(Shared {
            state: Mutex::new(State {
                buf: BytesMut::new(),
                eof: false,
                closed: false,
                want: 1,
                turn,
                thread_only: false,
                #[cfg(test)]
                handovers: 0,
            }),
            reader: Condvar::new(),
            ready: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Both sides only append, take or set flags under the lock: a panic
        // elsewhere cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pipe from the reader thread to the receiver, where the receiver
/// reads `master` itself until output streams (watched by the reactor of
/// the runtime it receives on).
pub(crate) fn pty_pipe(master: &OwnedFd) -> io::Result<(PipeWriter, PipeReceiver)> {
    let master = Master::Unwatched(master.try_clone()?);
    Ok(pipe_with(Shared::new(Turn::Receiver), master))
}

/// A pipe that only the reader thread writes (the receiver never reads
/// anything itself).
#[cfg(test)]
pub(crate) fn pipe() -> (PipeWriter, PipeReceiver) {
    pipe_with(Shared::new(Turn::Thread), Master::None)
}

fn pipe_with(shared: Arc<Shared>, master: Master) -> (PipeWriter, PipeReceiver) {
    (
        PipeWriter {
            shared: shared.clone(),
        },
        PipeReceiver {
            shared,
            master,
            since_yield: 0,
            streaming: false,
            batch_deadline: None,
        },
    )
}

/// The receiver's descriptor of the master. The reactor watches it only in
/// the receiver's turn: while the thread reads, every arrival of output
/// would otherwise wake a runtime worker for nothing (that cost 12 % of
/// the throughput).
enum Master {
    /// Only the thread reads (tests of the hand-off alone).
    None,
    Unwatched(OwnedFd),
    Watched(AsyncFd<OwnedFd>),
}

impl Master {
    /// The descriptor, watched by the current runtime's reactor. A
    /// descriptor added to epoll that is readable already is reported at
    /// once, so output that arrived while it was unwatched is not missed.
    fn watched(&mut self) -> io::Result<&AsyncFd<OwnedFd>> {
        *self = match std::mem::replace(self, Master::None) {
            Master::Unwatched(fd) => Master::Watched(watch(fd)?),
            other => other,
        };
        match self {
            Master::Watched(fd) => Ok(fd),
            _ => Err(io::Error::other(
                "the receiver has no descriptor of its own",
            )),
        }
    }

    /// Stops watching (the thread's turn).
    fn unwatch(&mut self) {
        *self = match std::mem::replace(self, Master::None) {
            Master::Watched(fd) => Master::Unwatched(fd.into_inner()),
            other => other,
        };
    }
}

/// Registers `fd` with the current runtime's reactor.
#[allow(unsafe_code)]
fn watch(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(io::Error::other("not inside the runtime"));
    }
    // Safety: tokio asks that the descriptor `as_raw_fd` returns stay open,
    // and stay the same, for as long as the `AsyncFd` lives. The `AsyncFd`
    // owns `fd`, an `OwnedFd`: its descriptor never changes and is closed
    // only when the `AsyncFd` drops it, after deregistering it
    // (`into_inner` deregisters too, and hands the `OwnedFd` back).
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
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
            s = self
                .shared
                .reader
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
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

    /// Waits (blocking) until it is the thread's turn to read. False once
    /// there is nothing more to read for it: the receiver is gone or saw
    /// the end of the output.
    fn wait_turn(&self) -> bool {
        let mut s = self.shared.lock();
        while s.turn == Turn::Receiver && !s.closed && !s.eof {
            s = self
                .shared
                .reader
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
        !s.closed && !s.eof
    }

    /// Gives reading back to the receiver, unless it cannot read itself.
    fn hand_back(&self) -> bool {
        let mut s = self.shared.lock();
        if s.thread_only {
            return false;
        }
        s.pass_turn(Turn::Receiver);
        drop(s);
        self.shared.ready.notify_one();
        true
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().eof = true;
        self.shared.ready.notify_one();
    }
}

/// The reader thread: reads `master` (non-blocking) in its turns, until
/// EOF or EIO (the last slave descriptor closed; the kernel hands out
/// buffered output before EIO, so nothing written is lost) or until the
/// receiver is gone. With nothing to read it waits in `poll` (which also
/// returns on hang-up, when the next read reports it), and hands reading
/// back once nothing came for [`HAND_BACK_AFTER`].
pub(crate) fn read_loop(master: &OwnedFd, tx: PipeWriter) {
    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pause = PollTimeout::try_from(HAND_BACK_AFTER).unwrap_or(PollTimeout::MAX);
    let mut buf = vec![0u8; THREAD_READ_BYTES];
    while tx.wait_turn() {
        loop {
            match nix::unistd::read(master, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if !tx.write(&buf[..n]) {
                        return;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, pause) {
                        Ok(0) => {
                            if tx.hand_back() {
                                break;
                            }
                        }
                        Ok(_) | Err(Errno::EINTR) => {}
                        Err(_) => return,
                    }
                }
                Err(_) => return,
            }
        }
    }
}

/// The actor's end. Dropping it stops the reader thread's next write.
pub(crate) struct PipeReceiver {
    shared: Arc<Shared>,
    /// The master, for the receiver's own turns.
    master: Master,
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
    /// The output since the last call, up to `max` bytes, as one chunk;
    /// `None` after EOF once everything was taken. Cancel-safe: nothing is
    /// taken until it is returned.
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
            let mine = {
                let mut s = self.shared.lock();
                let mine = s.turn == Turn::Receiver;
                // In its own turn the receiver first takes whatever the
                // thread left: it was read before anything still unread.
                if !s.buf.is_empty() && (mine || s.buf.len() >= need || s.eof) {
                    s.want = 1;
                    let n = s.buf.len().min(max);
                    let chunk = s.buf.split_to(n).freeze();
                    drop(s);
                    drop(notified);
                    self.shared.reader.notify_one();
                    return Some(self.taken(chunk));
                }
                if s.eof {
                    return None;
                }
                if !mine {
                    s.want = need;
                }
                mine
            };
            if mine {
                drop(notified);
                match self.read_direct(max).await {
                    Some(read) => return read,
                    None => continue,
                }
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

    /// Counts a chunk about to be handed out.
    fn taken(&mut self, chunk: Bytes) -> Bytes {
        self.since_yield += chunk.len();
        self.streaming = chunk.len() >= STREAMING_BYTES;
        self.batch_deadline = None;
        chunk
    }

    /// The receiver's turn: reads the master once it is readable. A full
    /// read means output streams: the thread takes over from here.
    /// `None`: it cannot, and gave the turn to the thread for good.
    async fn read_direct(&mut self, max: usize) -> Option<Option<Bytes>> {
        let fd = match self.master.watched() {
            Ok(fd) => fd,
            Err(e) => {
                // The runtime cannot watch it (it is shutting down, or out
                // of epoll watches): the thread reads from now on.
                tracing::warn!(error = %e, "cannot watch the PTY; its reader thread reads all output");
                self.hand_to_thread(true);
                return None;
            }
        };
        let mut buf = [0u8; STREAMING_BYTES];
        let want = max.min(buf.len());
        let read = loop {
            // Only fails once the runtime is shutting down.
            let Ok(mut ready) = fd.readable().await else {
                break Ok(0);
            };
            match ready.try_io(|fd| {
                nix::unistd::read(fd.get_ref(), &mut buf[..want]).map_err(io::Error::from)
            }) {
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(read) => break read,
                // Not readable after all: the reactor is asked again.
                Err(_would_block) => {}
            }
        };
        match read {
            Ok(n) if n > 0 => {
                if n >= STREAMING_BYTES {
                    self.hand_to_thread(false);
                }
                Some(Some(self.taken(Bytes::copy_from_slice(&buf[..n]))))
            }
            // EOF, or EIO: the last slave descriptor closed.
            _ => {
                self.shared.lock().eof = true;
                self.shared.reader.notify_one();
                Some(None)
            }
        }
    }

    /// Gives reading to the thread (`for_good`: it never hands back). The
    /// reactor stops watching the master meanwhile.
    fn hand_to_thread(&mut self, for_good: bool) {
        self.master.unwatch();
        {
            let mut s = self.shared.lock();
            s.thread_only |= for_good;
            s.pass_turn(Turn::Thread);
        }
        self.shared.reader.notify_one();
    }
}

impl Drop for PipeReceiver {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.reader.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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

    /// A non-blocking pipe standing in for the PTY master: (read end, write end).
    fn master() -> (OwnedFd, std::fs::File) {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let (read, write) = nix::unistd::pipe().unwrap();
        let flags = OFlag::from_bits_truncate(fcntl(&read, FcntlArg::F_GETFL).unwrap());
        fcntl(&read, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
        (read, std::fs::File::from(write))
    }

    /// A pipe on [`master`] with its reader thread running: (the program's
    /// end, the receiver, the thread).
    fn with_reader_thread() -> (std::fs::File, PipeReceiver, std::thread::JoinHandle<()>) {
        let (read, program) = master();
        let (w, r) = pty_pipe(&read).unwrap();
        let thread = std::thread::spawn(move || read_loop(&read, w));
        (program, r, thread)
    }

    /// How many bytes wait to be read on a terminal's descriptor (`FIONREAD`).
    #[allow(unsafe_code)]
    fn bytes_waiting(fd: &OwnedFd) -> usize {
        use std::os::fd::AsRawFd;
        let mut n: nix::libc::c_int = 0;
        // Safety: `fd` is open for the call, and FIONREAD writes one c_int
        // into `n`, which lives across it.
        let rc = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::FIONREAD, &mut n) };
        assert_eq!(rc, 0, "FIONREAD: {}", std::io::Error::last_os_error());
        usize::try_from(n).unwrap_or(0)
    }

    /// The turn now and how often it changed hands.
    fn turn(r: &PipeReceiver) -> (Turn, usize) {
        let s = r.shared.lock();
        (s.turn, s.handovers)
    }

    #[tokio::test]
    async fn a_keystrokes_echo_is_read_by_the_receiver_without_the_thread() {
        let (read, mut program) = master();
        // No reader thread runs: the receiver must read by itself.
        let (_w, mut r) = pty_pipe(&read).unwrap();
        for echo in [&b"k"[..], b"ey", b"\x1b[2K\rprompt> "] {
            program.write_all(echo).unwrap();
            assert_eq!(r.recv(usize::MAX).await.unwrap(), echo);
        }
        assert_eq!(turn(&r), (Turn::Receiver, 0));
        drop(program);
        assert_eq!(r.recv(usize::MAX).await, None, "EOF in the receiver's turn");
    }

    #[tokio::test]
    async fn a_full_read_of_a_real_pty_hands_reading_to_the_thread() {
        // A pipe hands out as much as was asked for; a PTY's line
        // discipline at most 4095 bytes per read. That read must count as
        // full, or a stream is read on the actor a read at a time.
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let pty = nix::pty::openpty(None, None).unwrap();
        let flags = OFlag::from_bits_truncate(fcntl(&pty.master, FcntlArg::F_GETFL).unwrap());
        fcntl(&pty.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
        let (w, mut r) = pty_pipe(&pty.master).unwrap();
        // No line ends: the slave's output processing changes nothing. The
        // write blocks once the kernel's buffers are full.
        let mut program = std::fs::File::from(pty.slave);
        let writer = std::thread::spawn(move || program.write_all(&[b'a'; 3 * 4096]));
        // Until the line discipline holds a full read (not a fixed wait: on
        // a busy machine the writer may not have filled it yet).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while bytes_waiting(&pty.master) < STREAMING_BYTES {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never filled the PTY's buffer"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let first = r.recv(usize::MAX).await.unwrap();
        assert!(
            first.len() >= STREAMING_BYTES,
            "a full read: {}",
            first.len()
        );
        assert_eq!(turn(&r), (Turn::Thread, 1), "and it handed over");
        let thread = std::thread::spawn(move || read_loop(&pty.master, w));
        let mut rest = 0;
        while rest < 3 * 4096 - first.len() {
            rest += r.recv(usize::MAX).await.unwrap().len();
        }
        writer.join().unwrap().unwrap();
        drop(r);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn streaming_output_goes_to_the_thread_and_comes_back_when_it_pauses() {
        let (mut program, mut r, thread) = with_reader_thread();
        let burst: Vec<u8> = (0..40_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let writer = {
            let burst = burst.clone();
            std::thread::spawn(move || {
                program.write_all(&burst).unwrap();
                program
            })
        };
        let mut got = Vec::new();
        while got.len() < burst.len() {
            got.extend_from_slice(&r.recv(usize::MAX).await.unwrap());
        }
        assert!(got == burst, "every byte, in order");
        let mut program = writer.join().unwrap();
        // Once the output pauses, reading comes back to the receiver (waited
        // for: the thread hands back on its own clock).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while turn(&r).0 == Turn::Thread {
            assert!(std::time::Instant::now() < deadline, "never handed back");
            tokio::time::sleep(HAND_BACK_AFTER).await;
        }
        program.write_all(b"k").unwrap();
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"k"[..]);
        let (now, handovers) = turn(&r);
        assert_eq!(now, Turn::Receiver);
        assert!(handovers >= 2, "a full read handed over, the pause back");
        drop(program);
        assert_eq!(r.recv(usize::MAX).await, None);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn bursts_and_pauses_keep_every_byte_in_order_across_turns() {
        let (mut program, mut r, thread) = with_reader_thread();
        // A fixed pseudo-random schedule: piece sizes from one byte to
        // several reads, pauses from none to past the hand-back.
        let writer = std::thread::spawn(move || {
            let mut seed = 0x2545_f491_4f6c_dd1du64;
            let mut next = move |n: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % n
            };
            let mut all = Vec::new();
            let mut counter = 0u32;
            for _ in 0..300 {
                let len = [1, 3, 100, 4096, 5000, 70_000][next(6) as usize];
                let mut piece = Vec::with_capacity(len + 4);
                while piece.len() < len {
                    piece.extend_from_slice(&counter.to_le_bytes());
                    counter += 1;
                }
                program.write_all(&piece).unwrap();
                all.extend_from_slice(&piece);
                match next(4) {
                    0 => std::thread::sleep(HAND_BACK_AFTER * 2),
                    1 => std::thread::sleep(Duration::from_millis(1)),
                    _ => {}
                }
            }
            all
        });
        let mut got = Vec::new();
        while let Some(chunk) = r.recv(usize::MAX).await {
            got.extend_from_slice(&chunk);
        }
        let all = writer.join().unwrap();
        assert_eq!(got.len(), all.len());
        assert!(got == all, "every byte, in order");
        let (_, handovers) = turn(&r);
        assert!(handovers >= 4, "the turn changed hands {handovers} times");
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn what_the_thread_left_comes_before_what_the_receiver_reads_next() {
        let (mut program, mut r, thread) = with_reader_thread();
        program.write_all(&[b'a'; 3 * STREAMING_BYTES]).unwrap();
        let first = r.recv(usize::MAX).await.unwrap();
        assert_eq!(first.len(), STREAMING_BYTES, "a full read hands over");
        // The actor holds its output (a viewer is behind): the thread reads
        // the rest into the buffer, the output pauses, the turn comes back.
        while turn(&r).0 == Turn::Thread {
            std::thread::sleep(HAND_BACK_AFTER);
        }
        program.write_all(b"k").unwrap();
        let mut rest = Vec::new();
        while !rest.ends_with(b"k") {
            rest.extend_from_slice(&r.recv(usize::MAX).await.unwrap());
        }
        let mut want = vec![b'a'; 2 * STREAMING_BYTES];
        want.push(b'k');
        assert!(rest == want, "the buffered output first");
        drop(program);
        assert_eq!(r.recv(usize::MAX).await, None);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn output_before_eof_in_the_threads_turn_is_all_received() {
        let (mut program, mut r, thread) = with_reader_thread();
        let last = vec![b'z'; 3 * STREAMING_BYTES];
        program.write_all(&last).unwrap();
        drop(program);
        let mut got = Vec::new();
        while let Some(chunk) = r.recv(usize::MAX).await {
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, last);
        assert_eq!(turn(&r).0, Turn::Thread);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn a_descriptor_the_reactor_cannot_watch_is_read_by_the_thread() {
        // epoll refuses regular files (EPERM), as it would any descriptor
        // once the machine is out of epoll watches.
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"hello").unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let fd = OwnedFd::from(file);
        let (w, mut r) = pty_pipe(&fd).unwrap();
        let thread = std::thread::spawn(move || read_loop(&fd, w));
        assert_eq!(r.recv(usize::MAX).await.unwrap(), &b"hello"[..]);
        assert_eq!(r.recv(usize::MAX).await, None);
        assert_eq!(turn(&r), (Turn::Thread, 1));
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn a_dropped_receiver_ends_a_thread_waiting_for_its_turn() {
        let (_program, r, thread) = with_reader_thread();
        std::thread::sleep(Duration::from_millis(20));
        drop(r);
        thread.join().unwrap();
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
        // Once the first write is in (not after a fixed wait: dropping the
        // receiver before it would fail that write), the second one waits.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while r.shared.lock().buf.len() < PIPE_BYTES {
            assert!(
                std::time::Instant::now() < deadline,
                "the first write never came"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(r);
        assert!(!thread.join().unwrap());
    }
}
