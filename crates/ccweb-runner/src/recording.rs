//! asciicast v2 recordings of terminal sessions.
//!
//! The actor stamps each output chunk and resize with the time since the
//! recording began and hands it to a bounded queue without waiting; a writer
//! thread drains the queue in batches into `<id>.cast`. When the queue is
//! full the writer has fallen behind: recording stops (a marker line says
//! so) rather than slowing the PTY. Past the size cap recording stops the
//! same way. A resumed session appends to its recording, so one file covers
//! every run of the session.

use bytes::Bytes;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Chunks the writer may have queued before recording is given up.
const QUEUE_CHUNKS: usize = 1024;
/// How long the writer lets entries gather after the first of a batch
/// (far fewer than [`QUEUE_CHUNKS`] arrive meanwhile: the actor sends one
/// per chunk it takes).
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
/// How much of a recording's end is read to continue it after a resume.
const TAIL_BYTES: u64 = 1024 * 1024;
/// Room kept under the cap for the closing marker line.
const MARKER_RESERVE_BYTES: u64 = 256;
/// Start of the marker text that ends a recording early; a recording that
/// ends with it is not continued.
pub const STOPPED_MARKER: &str = "recording stopped";

/// Where and how much to record.
#[derive(Debug, Clone)]
pub struct RecordingSpec {
    /// The `.cast` file (its directory must exist).
    pub path: PathBuf,
    /// Size cap of the file in bytes (greater than 0).
    pub max_bytes: u64,
    /// `TERM` of the recorded program, for the header.
    pub term: String,
}

/// One recorded event, stamped by the actor.
#[derive(Debug)]
enum Entry {
    Output(f64, Bytes),
    Resize(f64, u16, u16),
}

/// The actor's end of a recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// `None` once recording stopped (the writer finishes what it has).
    tx: Option<SyncSender<Entry>>,
    started: Instant,
    /// Seconds of earlier runs of the session, added to every timestamp.
    offset: f64,
    /// Set when the queue was full: the writer ends the file saying so.
    fell_behind: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Opens (or continues) the recording and starts its writer. `None`
    /// when it cannot be written or has already been stopped; the session
    /// runs regardless.
    pub(crate) fn start(spec: &RecordingSpec, cols: u16, rows: u16) -> Option<Recorder> {
        let opened = open(spec, cols, rows).map_err(|e| {
            tracing::warn!(path = %spec.path.display(), error = %e, "cannot record the terminal session");
        });
        let (writer, offset) = opened.ok()??;
        let (tx, rx) = sync_channel(QUEUE_CHUNKS);
        let fell_behind = Arc::new(AtomicBool::new(false));
        let flag = fell_behind.clone();
        let thread = std::thread::Builder::new()
            .name("ccweb-recording".into())
            .spawn(move || write_loop(rx, writer, &flag))
            .map_err(|e| tracing::warn!(error = %e, "cannot start the recording writer"))
            .ok()?;
        Some(Recorder {
            tx: Some(tx),
            started: Instant::now(),
            offset,
            fell_behind,
            thread: Some(thread),
        })
    }

    fn now(&self) -> f64 {
        round_micros(self.offset + self.started.elapsed().as_secs_f64())
    }

    /// Records PTY output; never waits.
    pub(crate) fn output(&mut self, data: &Bytes) {
        let entry = Entry::Output(self.now(), data.clone());
        self.send(entry);
    }

    /// Records a resize; never waits.
    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        let entry = Entry::Resize(self.now(), cols, rows);
        self.send(entry);
    }

    fn send(&mut self, entry: Entry) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("the terminal recording fell behind; recording stops for this run");
                // The writer sees the queue close and ends the file with a
                // marker, as it does after the cap (it stops by itself).
                self.fell_behind.store(true, Ordering::Relaxed);
                self.tx = None;
            }
            Err(TrySendError::Disconnected(_)) => self.tx = None,
        }
    }

    /// Stops recording; the returned thread ends once everything queued is
    /// written (join it off the async runtime).
    pub(crate) fn finish(mut self) -> Option<JoinHandle<()>> {
        self.tx = None;
        self.thread.take()
    }
}

fn round_micros(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Opens the file: a new one gets the header; an existing one is continued
/// after its last event (`None` when it was stopped or is full).
fn open(
    spec: &RecordingSpec,
    cols: u16,
    rows: u16,
) -> std::io::Result<Option<(CastWriter<BufWriter<File>>, f64)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&spec.path)?;
    let len = file.metadata()?.len();
    let continued = if len > 0 {
        match resume_point(&mut file, len)? {
            None => return Ok(None),
            Some(found) => Some(found),
        }
    } else {
        None
    };
    let (written, offset) = continued.unwrap_or((0, 0.0));
    if continued.is_none() {
        file.set_len(0)?;
    }
    file.seek(SeekFrom::Start(written))?;
    let mut writer = CastWriter::new(BufWriter::new(file), spec.max_bytes, written);
    if continued.is_none() {
        writer.header(cols, rows, now_unix(), &spec.term)?;
    } else {
        writer.line(offset, &(offset, "m", "resumed"))?;
        writer.line(offset, &(offset, "r", format!("{cols}x{rows}")))?;
    }
    if writer.stopped {
        writer.out.flush()?;
        return Ok(None);
    }
    Ok(Some((writer, offset)))
}

/// Where an existing recording goes on: the length of its last complete
/// line and the time of its last event; `None` when it was stopped.
fn resume_point(file: &mut File, len: u64) -> std::io::Result<Option<(u64, f64)>> {
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut tail)?;
    // A crash may have left half a line: continue after the last whole one.
    let Some(end) = tail.iter().rposition(|&b| b == b'\n') else {
        return Ok(Some((0, 0.0)));
    };
    let complete = &tail[..end];
    let last = complete
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(complete, |i| &complete[i + 1..]);
    let value: serde_json::Value = serde_json::from_slice(last).unwrap_or_default();
    if value[1] == "m"
        && value[2]
            .as_str()
            .is_some_and(|m| m.starts_with(STOPPED_MARKER))
    {
        return Ok(None);
    }
    // The header line (an object) has no time: nothing was recorded yet.
    let t = value[0].as_f64().unwrap_or(0.0);
    Ok(Some((start + end as u64 + 1, t)))
}

fn write_loop(rx: Receiver<Entry>, mut w: CastWriter<BufWriter<File>>, fell_behind: &AtomicBool) {
    let mut last_t = 0.0;
    let result = (|| -> std::io::Result<()> {
        // Batches: block for one entry, give the rest of a burst a moment
        // to queue up, then take everything queued and flush once. One
        // wake-up per keystroke's echo would compete with the session
        // itself for the CPU; the entries carry their own times.
        while let Ok(first) = rx.recv() {
            std::thread::sleep(BATCH_WAIT);
            let mut next = Some(first);
            while let Some(entry) = next.take() {
                last_t = match &entry {
                    Entry::Output(t, _) | Entry::Resize(t, _, _) => *t,
                };
                w.entry(entry)?;
                if w.stopped {
                    return w.out.flush();
                }
                next = rx.try_recv().ok();
            }
            w.out.flush()?;
        }
        w.fell_behind = fell_behind.load(Ordering::Relaxed);
        w.end(last_t)?;
        w.out.flush()
    })();
    if let Err(e) = result {
        tracing::warn!(error = %e, "writing the terminal recording failed; it stops here");
    }
}

/// Formats asciicast v2 lines, keeping UTF-8 sequences whole across chunks
/// and the file under its cap.
#[derive(Debug)]
pub(crate) struct CastWriter<W: Write> {
    out: W,
    max_bytes: u64,
    written: u64,
    /// The start of a UTF-8 sequence the last chunk cut off.
    carry: Vec<u8>,
    /// The cap was reached (and the marker written).
    stopped: bool,
    /// Whether the queue closed normally (else the writer fell behind).
    fell_behind: bool,
    /// The line being written (kept: one allocation per recording).
    line: Vec<u8>,
}

impl<W: Write> CastWriter<W> {
    fn new(out: W, max_bytes: u64, written: u64) -> Self {
        Self {
            out,
            max_bytes,
            written,
            carry: Vec::new(),
            stopped: false,
            fell_behind: false,
            line: Vec::new(),
        }
    }

    fn header(&mut self, cols: u16, rows: u16, timestamp: u64, term: &str) -> std::io::Result<()> {
        self.line(
            0.0,
            &serde_json::json!({
                "version": 2,
                "width": cols,
                "height": rows,
                "timestamp": timestamp,
                "env": {"TERM": term},
            }),
        )
    }

    fn entry(&mut self, entry: Entry) -> std::io::Result<()> {
        match entry {
            Entry::Output(t, data) => {
                let text = self.decode(&data);
                if text.is_empty() {
                    return Ok(());
                }
                self.line(t, &(t, "o", &*text))
            }
            Entry::Resize(t, cols, rows) => self.line(t, &(t, "r", format!("{cols}x{rows}"))),
        }
    }

    /// The text of `data` after what the last chunk left over; an
    /// incomplete sequence at the end waits for the next chunk, invalid
    /// bytes become U+FFFD. Whole UTF-8 (nearly every chunk) is not copied.
    fn decode<'a>(&mut self, data: &'a [u8]) -> Cow<'a, str> {
        if self.carry.is_empty() {
            if let Ok(text) = std::str::from_utf8(data) {
                return Cow::Borrowed(text);
            }
        }
        Cow::Owned(self.decode_carried(data))
    }

    fn decode_carried(&mut self, data: &[u8]) -> String {
        self.carry.extend_from_slice(data);
        let mut text = String::with_capacity(self.carry.len());
        let mut rest: &[u8] = &self.carry;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    text.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            text.push('\u{FFFD}');
                            rest = &after[n..];
                        }
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.carry = rest.to_vec();
        text
    }

    /// Writes one line (`value` as JSON, stamped `t`) unless it would pass
    /// the cap; then writes the marker and stops. The JSON is escaped
    /// straight into a kept buffer, not through a `serde_json::Value` and
    /// a new string per line.
    fn line(&mut self, t: f64, value: &impl serde::Serialize) -> std::io::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        let len = self.line.len() as u64;
        if self.written + len + MARKER_RESERVE_BYTES > self.max_bytes {
            self.stopped = true;
            return self.marker(
                t,
                &format!(
                    "{STOPPED_MARKER}: the size limit of {} bytes was reached",
                    self.max_bytes
                ),
            );
        }
        self.out.write_all(&self.line)?;
        self.written += len;
        Ok(())
    }

    fn marker(&mut self, t: f64, text: &str) -> std::io::Result<()> {
        let mut line = serde_json::json!([t, "m", text]).to_string();
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.written += line.len() as u64;
        Ok(())
    }

    /// The queue closed: write what an incomplete last sequence held, and
    /// say so if the writer had fallen behind.
    fn end(&mut self, t: f64) -> std::io::Result<()> {
        if !self.carry.is_empty() {
            let text = String::from_utf8_lossy(&std::mem::take(&mut self.carry)).into_owned();
            self.line(t, &(t, "o", text))?;
        }
        if self.fell_behind && !self.stopped {
            self.stopped = true;
            self.marker(
                t,
                &format!("{STOPPED_MARKER}: the recording fell behind the terminal"),
            )?;
        }
        Ok(())
    }
}

/// Where the recording of session `id` lives under `dir`.
pub fn recording_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.cast"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(out: &[u8]) -> Vec<serde_json::Value> {
        std::str::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn each_event_is_one_line_of_compact_json() {
        let mut w = CastWriter::new(Vec::new(), 1 << 20, 0);
        let output = Bytes::from_static(b"say \"hi\"\x1b[0m\r\n\\");
        w.entry(Entry::Output(1.25, output)).unwrap();
        w.entry(Entry::Resize(2.0, 100, 30)).unwrap();
        assert_eq!(
            std::str::from_utf8(&w.out).unwrap(),
            "[1.25,\"o\",\"say \\\"hi\\\"\\u001b[0m\\r\\n\\\\\"]\n[2.0,\"r\",\"100x30\"]\n"
        );
    }

    #[test]
    fn utf8_sequences_split_across_chunks_are_written_whole() {
        let mut w = CastWriter::new(Vec::new(), 1 << 20, 0);
        let snow = "é☃".as_bytes();
        w.entry(Entry::Output(0.1, Bytes::copy_from_slice(&snow[..1])))
            .unwrap();
        w.entry(Entry::Output(0.2, Bytes::copy_from_slice(&snow[1..3])))
            .unwrap();
        w.entry(Entry::Output(
            0.3,
            Bytes::copy_from_slice(&[&snow[3..], b"\xffx".as_slice()].concat()),
        ))
        .unwrap();
        let l = lines(&w.out);
        let text: String = l.iter().map(|v| v[2].as_str().unwrap()).collect();
        assert_eq!(text, "é☃\u{FFFD}x");
    }

    #[test]
    fn the_cap_stops_recording_with_a_marker_and_is_kept() {
        let max = 1000;
        let mut w = CastWriter::new(Vec::new(), max, 0);
        w.header(80, 24, 1, "xterm").unwrap();
        for i in 0..100 {
            w.entry(Entry::Output(
                f64::from(i),
                Bytes::from_static(b"0123456789"),
            ))
            .unwrap();
        }
        assert!(w.stopped);
        assert!(w.out.len() as u64 <= max, "{} bytes", w.out.len());
        let l = lines(&w.out);
        let last = l.last().unwrap();
        assert_eq!(last[1], "m");
        assert!(last[2].as_str().unwrap().starts_with(STOPPED_MARKER));
    }

    #[test]
    fn a_full_queue_stops_recording_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let spec = RecordingSpec {
            path: dir.path().join("a.cast"),
            max_bytes: 1 << 30,
            term: "xterm".into(),
        };
        let mut rec = Recorder::start(&spec, 80, 24).unwrap();
        let chunk = Bytes::from(vec![b'x'; 1024]);
        let started = Instant::now();
        for _ in 0..(QUEUE_CHUNKS * 8) {
            rec.output(&chunk);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        rec.finish().unwrap().join().unwrap();
        let text = std::fs::read_to_string(&spec.path).unwrap();
        let l = lines(text.as_bytes());
        assert_eq!(l[0]["version"], 2);
        for v in &l[1..] {
            assert!(v[1] == "o" || v[1] == "m");
        }
        let last = l.last().unwrap();
        assert_eq!(last[1], "m", "{last}");
        assert!(last[2].as_str().unwrap().contains("fell behind"), "{last}");
        // A stopped recording is not continued by a resume.
        assert!(Recorder::start(&spec, 80, 24).is_none());
    }

    #[test]
    fn a_resumed_recording_continues_after_the_last_event() {
        let dir = tempfile::tempdir().unwrap();
        let spec = RecordingSpec {
            path: dir.path().join("b.cast"),
            max_bytes: 1 << 20,
            term: "xterm".into(),
        };
        let mut rec = Recorder::start(&spec, 80, 24).unwrap();
        rec.output(&Bytes::from_static(b"first"));
        rec.finish().unwrap().join().unwrap();
        let mut rec = Recorder::start(&spec, 100, 30).unwrap();
        rec.output(&Bytes::from_static(b"second"));
        rec.finish().unwrap().join().unwrap();
        let l = lines(&std::fs::read(&spec.path).unwrap());
        assert_eq!(l.iter().filter(|v| v.is_object()).count(), 1, "{l:?}");
        let times: Vec<f64> = l[1..].iter().map(|v| v[0].as_f64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        assert!(l.iter().any(|v| v[1] == "r" && v[2] == "100x30"));
        let out: String = l
            .iter()
            .filter(|v| v[1] == "o")
            .map(|v| v[2].as_str().unwrap())
            .collect();
        assert_eq!(out, "firstsecond");
    }
}
