//! One terminal viewer of either server, and the raw PTY relay: send keys,
//! receive program output, whatever the wire protocol.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

use crate::deflate_ws::{DeflateWs, Msg, Negotiated, WireStats};
use crate::servers::Ws;

/// Printed by every terminal script once its terminal modes are set.
pub(crate) const READY: &[u8] = b"BENCH-READY";
/// Printed after the last byte of a stream.
pub(crate) const END: &[u8] = b"BENCH-END-MARKER";

/// The program of the throughput, fan-out and exit workloads: reads a byte
/// count, prints that many random bytes as base64 (100 columns), then
/// [`END`]. Random, not zeros: base64 of zeros deflates to 2 % almost for
/// free, which hid what permessage-deflate costs a server; base64 of random
/// bytes deflates to about three quarters, as the measurements of
/// ttyd with compression imply (`docs/benchmarks.md`, round 5).
pub(crate) const STREAM_SCRIPT: &str = "stty -echo\nprintf 'BENCH-READY\\n'\nread n\nhead -c \"$n\" /dev/urandom | base64 -w 100\necho BENCH-END-MARKER\n";
/// The program of the echo workload: `cat` in raw mode.
pub(crate) const ECHO_SCRIPT: &str = "stty raw -echo\nprintf 'BENCH-READY\\n'\nexec cat\n";
/// An idle session.
pub(crate) const CAT_SCRIPT: &str = "exec cat\n";

/// Bytes a viewer receives from [`STREAM_SCRIPT`] for `raw` input bytes,
/// [`END`] line included (the PTY turns `\n` into `\r\n`).
pub(crate) fn stream_bytes(raw: u64) -> u64 {
    let b64 = raw.div_ceil(3) * 4;
    let lines = b64.div_ceil(100);
    b64 + 2 * lines + END.len() as u64 + 2
}

/// Longest a socket may go without what the bench waits for (program
/// output, a chat event) before the bench gives up on it.
pub(crate) const SILENCE: Duration = Duration::from_secs(60);

/// Which protocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// ccweb: binary frames are output, text frames JSON control.
    Ccweb,
    /// ttyd: a one-byte command before every frame (`'0'` output/input).
    Ttyd,
}

/// The WebSocket under a [`Term`].
enum Transport {
    /// tokio-tungstenite: offers no extension.
    Plain(Box<Ws>),
    /// The bench's own client, which offers permessage-deflate.
    Deflate(DeflateWs),
}

/// One incoming message, whichever transport it came over.
enum Incoming {
    Binary(Bytes),
    Text(Bytes),
    Close,
    /// Ping, pong or a raw frame: nothing for the caller.
    Other,
}

/// A terminal socket.
pub(crate) struct Term {
    transport: Transport,
    proto: Proto,
}

impl Term {
    /// Wraps an open socket (for ccweb: after the `connected` message was read or not).
    pub(crate) fn new(ws: Ws, proto: Proto) -> Self {
        Self {
            transport: Transport::Plain(Box::new(ws)),
            proto,
        }
    }

    /// Wraps a socket that offered permessage-deflate; same API as [`Term::new`]'s.
    pub(crate) fn offering_deflate(ws: DeflateWs, proto: Proto) -> Self {
        Self {
            transport: Transport::Deflate(ws),
            proto,
        }
    }

    /// The permessage-deflate parameters the server accepted; `None` when
    /// it answered uncompressed or the client did not offer the extension.
    pub(crate) fn deflate(&self) -> Option<&Negotiated> {
        match &self.transport {
            Transport::Plain(_) => None,
            Transport::Deflate(ws) => ws.negotiated(),
        }
    }

    /// What the deflate-offering client received; `None` for the other one.
    pub(crate) fn wire_stats(&self) -> Option<WireStats> {
        match &self.transport {
            Transport::Plain(_) => None,
            Transport::Deflate(ws) => Some(ws.stats()),
        }
    }

    /// Types `data`.
    pub(crate) async fn send(&mut self, data: &[u8]) -> Result<()> {
        let frame = match self.proto {
            Proto::Ccweb => data.to_vec(),
            Proto::Ttyd => {
                let mut v = Vec::with_capacity(data.len() + 1);
                v.push(b'0');
                v.extend_from_slice(data);
                v
            }
        };
        match &mut self.transport {
            Transport::Plain(ws) => ws.send(Message::Binary(frame.into())).await?,
            Transport::Deflate(ws) => ws.send_binary(&frame).await?,
        }
        Ok(())
    }

    /// The next message of either transport; `None` when the socket ended.
    async fn next(&mut self) -> Result<Option<Incoming>> {
        Ok(Some(match &mut self.transport {
            Transport::Plain(ws) => match ws.next().await.transpose()? {
                None => return Ok(None),
                Some(Message::Binary(b)) => Incoming::Binary(b),
                Some(Message::Text(t)) => Incoming::Text(t.into()),
                Some(Message::Close(_)) => Incoming::Close,
                Some(_) => Incoming::Other,
            },
            Transport::Deflate(ws) => match ws.next().await? {
                None => return Ok(None),
                Some(Msg::Binary(b)) => Incoming::Binary(b),
                Some(Msg::Text(t)) => Incoming::Text(t),
                Some(Msg::Close) => Incoming::Close,
            },
        }))
    }

    /// The next piece of program output; `None` when the session ended.
    pub(crate) async fn recv(&mut self) -> Result<Option<Bytes>> {
        // One deadline for the whole call: the server's pings and other
        // messages must not keep a socket without program output alive
        // (they did, and a bench waiting for a marker that never came hung).
        let deadline = tokio::time::Instant::now() + SILENCE;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => bail!("no program output for {SILENCE:?}"),
                Ok(r) => match r? {
                    None => return Ok(None),
                    Some(m) => m,
                },
            };
            match (self.proto, msg) {
                (Proto::Ccweb, Incoming::Binary(b)) => return Ok(Some(b)),
                (Proto::Ccweb, Incoming::Text(t))
                    if memchr::memmem::find(&t, b"\"type\":\"exit\"").is_some() =>
                {
                    return Ok(None)
                }
                (Proto::Ttyd, Incoming::Binary(b) | Incoming::Text(b))
                    if b.first() == Some(&b'0') =>
                {
                    return Ok(Some(b.slice(1..)))
                }
                (_, Incoming::Close) => return Ok(None),
                _ => {}
            }
        }
    }

    /// Reads until `needle` was seen (across frame boundaries).
    pub(crate) async fn wait_for(&mut self, needle: &[u8]) -> Result<()> {
        let mut finder = Finder::new(needle);
        while let Some(b) = self.recv().await? {
            if finder.feed(&b) {
                return Ok(());
            }
        }
        bail!(
            "the session ended before {:?}",
            String::from_utf8_lossy(needle)
        )
    }

    /// Closes the socket (best effort).
    pub(crate) async fn close(mut self) {
        match &mut self.transport {
            Transport::Plain(ws) => {
                // The stream's own close (with a reason), not `SinkExt::close`.
                let ws: &mut Ws = ws;
                let _ = ws.close(None).await;
            }
            Transport::Deflate(ws) => ws.close().await,
        }
    }
}

/// Finds a marker in a stream of chunks.
pub(crate) struct Finder {
    needle: Vec<u8>,
    tail: Vec<u8>,
}

impl Finder {
    /// Looks for `needle`.
    pub(crate) fn new(needle: &[u8]) -> Self {
        Self {
            needle: needle.to_vec(),
            tail: Vec::new(),
        }
    }

    /// Whether `needle` ends in the stream so far (it may start in an earlier chunk).
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> bool {
        let keep = self.needle.len().saturating_sub(1);
        // The last `keep` bytes before this chunk, then the chunk's start:
        // every occurrence that crosses the boundary lies in there.
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        let hit = memchr::memmem::find(&window, &self.needle).is_some()
            || memchr::memmem::find(chunk, &self.needle).is_some();
        if chunk.len() >= keep {
            window.clear();
            window.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            let from = window.len().saturating_sub(keep);
            window.drain(..from);
        }
        self.tail = window;
        hit
    }
}

/// The raw PTY relay: the bench runs the program in a PTY and reads the
/// master itself, with blocking calls and no network in between.
pub(crate) struct RawPty {
    reader: Box<dyn Read + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl RawPty {
    /// Starts `/bin/sh -c script` in `dir`.
    pub(crate) fn spawn(script: &str, dir: &Path) -> Result<Self> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .context("openpty")?;
        let mut cmd = CommandBuilder::new("/bin/sh");
        cmd.args(["-c", script]);
        cmd.cwd(dir);
        cmd.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(cmd)
            .context("spawning in the PTY")?;
        drop(pair.slave);
        Ok(Self {
            reader: pair.master.try_clone_reader().context("PTY reader")?,
            writer: pair.master.take_writer().context("PTY writer")?,
            child,
            _master: pair.master,
        })
    }

    /// Types `data` (blocking).
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<()> {
        self.writer.write_all(data)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Reads what is there (blocking); 0 at the end.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self.reader.read(buf) {
            Ok(n) => Ok(n),
            // EIO: the program exited and closed the terminal.
            Err(e) if e.raw_os_error() == Some(5) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads until `needle` was seen.
    pub(crate) fn wait_for(&mut self, needle: &[u8]) -> Result<()> {
        let mut finder = Finder::new(needle);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.read(&mut buf)?;
            if n == 0 {
                bail!(
                    "the program ended before {:?}",
                    String::from_utf8_lossy(needle)
                );
            }
            if finder.feed(&buf[..n]) {
                return Ok(());
            }
        }
    }
}

impl Drop for RawPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finder_sees_markers_split_across_chunks() {
        let mut f = Finder::new(b"MARK");
        assert!(!f.feed(b"xxxMA"));
        assert!(f.feed(b"RKyy"));
        let mut f = Finder::new(b"MARK");
        assert!(!f.feed(b"M"));
        assert!(!f.feed(b"A"));
        assert!(f.feed(b"RK"));
        let mut f = Finder::new(b"MARK");
        assert!(f.feed(b"..MARK.."));
    }

    #[test]
    fn stream_byte_count_matches_base64_with_crlf() {
        // 75 raw bytes = 100 base64 chars = one line.
        assert_eq!(stream_bytes(75), 100 + 2 + 16 + 2);
        assert_eq!(stream_bytes(76), 104 + 4 + 18);
    }
}
