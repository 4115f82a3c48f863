//! Keyboard input into the PTY: written straight from the socket's task
//! when the PTY takes it at once, by a writer thread when it does not.
//!
//! A keystroke used to go through a channel to a writer thread that
//! blocked in `write`: one thread wake-up (and on a busy runtime a hand-off
//! between its workers) per key, a fifth of ccweb's echo latency. The
//! master is non-blocking now, so the socket's task tries the write itself;
//! only what the PTY cannot take yet (a paste into a program that is not
//! reading) goes to the writer thread, which waits for room with `poll`.
//! Order is kept: while anything waits for the thread, later input queues
//! behind it instead of being written directly.

use bytes::{Buf, Bytes};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Writes the writer thread may have queued before a typing socket waits.
const QUEUE_WRITES: usize = 64;

/// The input side of a PTY master (non-blocking).
#[derive(Debug)]
pub(crate) struct PtyInput {
    master: Arc<OwnedFd>,
    /// Writes handed to the writer thread and not finished yet.
    queued: Arc<AtomicUsize>,
    to_thread: mpsc::Sender<Bytes>,
}

/// What the writer thread needs.
pub(crate) struct PtyWriter {
    master: Arc<OwnedFd>,
    queued: Arc<AtomicUsize>,
    from_handles: mpsc::Receiver<Bytes>,
}

/// The input side of `master`, which must be in non-blocking mode.
pub(crate) fn pty_input(master: OwnedFd) -> (PtyInput, PtyWriter) {
    let master = Arc::new(master);
    let queued = Arc::new(AtomicUsize::new(0));
    let (to_thread, from_handles) = mpsc::channel(QUEUE_WRITES);
    (
        PtyInput {
            master: master.clone(),
            queued: queued.clone(),
            to_thread,
        },
        PtyWriter {
            master,
            queued,
            from_handles,
        },
    )
}

impl PtyInput {
    /// Types `data`. Waits (only this caller) when the program has not read
    /// what was typed before; `Err` once the session's writer is gone.
    pub(crate) async fn write(&self, mut data: Bytes) -> Result<(), ()> {
        if self.queued.load(Ordering::Acquire) == 0 {
            match nix::unistd::write(self.master.as_fd(), &data) {
                Ok(n) if n == data.len() => return Ok(()),
                Ok(n) => data.advance(n),
                // EAGAIN: the PTY is full; anything else (EIO once the
                // program is gone): the thread finds out and ends.
                Err(_) => {}
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.to_thread.send(data).await.is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(());
        }
        Ok(())
    }

    /// Whether the writer thread has ended (the program's input is gone).
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.to_thread.is_closed()
    }
}

impl PtyWriter {
    /// The writer thread: writes what the handles could not, in order,
    /// waiting for room. Ends when every handle is gone or the PTY fails.
    pub(crate) fn run(mut self) {
        while let Some(data) = self.from_handles.blocking_recv() {
            let written = write_all(&self.master, &data);
            self.queued.fetch_sub(1, Ordering::AcqRel);
            if written.is_err() {
                break;
            }
        }
    }
}

/// Writes all of `data` to a non-blocking descriptor, waiting for room.
fn write_all(fd: &OwnedFd, mut data: &[u8]) -> nix::Result<()> {
    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    while !data.is_empty() {
        match nix::unistd::write(fd.as_fd(), data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::io::Read;

    fn nonblocking_pipe() -> (std::fs::File, OwnedFd) {
        let (read, write) = nix::unistd::pipe().unwrap();
        let flags = OFlag::from_bits_truncate(fcntl(&write, FcntlArg::F_GETFL).unwrap());
        fcntl(&write, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
        (std::fs::File::from(read), write)
    }

    #[tokio::test]
    async fn input_the_pipe_cannot_take_waits_for_the_thread_and_stays_in_order() {
        let (mut read, write) = nonblocking_pipe();
        let (input, writer) = pty_input(write);
        let thread = std::thread::spawn(move || writer.run());
        // Far more than a pipe holds (64 KiB): the rest goes to the thread,
        // and what follows queues behind it.
        let big = Bytes::from(vec![b'a'; 300_000]);
        input.write(big).await.unwrap();
        assert!(
            input.queued.load(Ordering::Acquire) > 0,
            "the thread has the rest"
        );
        input.write(Bytes::from_static(b"END")).await.unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 65536];
            while !all.ends_with(b"END") {
                let n = read.read(&mut buf).unwrap();
                assert!(n > 0, "closed early");
                all.extend_from_slice(&buf[..n]);
            }
            all
        });
        let all = reader.join().unwrap();
        assert_eq!(all.len(), 300_003);
        assert!(all[..300_000].iter().all(|&b| b == b'a'));
        drop(input);
        thread.join().unwrap();
    }

    #[tokio::test]
    async fn a_keystroke_is_written_without_the_thread() {
        let (mut read, write) = nonblocking_pipe();
        let (input, writer) = pty_input(write);
        // No thread runs: the write must not need one.
        input.write(Bytes::from_static(b"k")).await.unwrap();
        let mut buf = [0u8; 1];
        read.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"k");
        assert_eq!(input.queued.load(Ordering::Acquire), 0);
        drop(writer);
        assert!(input.is_closed());
        // With the thread gone, input that cannot go directly fails.
        let full = Bytes::from(vec![b'x'; 200_000]);
        assert!(input.write(full).await.is_err());
    }
}
