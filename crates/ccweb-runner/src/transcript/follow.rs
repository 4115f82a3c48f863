//! Follows a transcript file while the CLI appends to it (terminal
//! sessions), turning each new complete line into events.

use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use ccweb_protocol::chat::ChatEvent;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::lines::{LineSplitter, Piece};
use super::{
    parse_line, record_to_events, too_long_event, Parsed, SeenRecords, MAX_LINE_BYTES,
    READ_CHUNK_BYTES,
};
use crate::untrusted::is_symlink_refusal;
use crate::user_files::UserFiles;

/// How often the file is checked for growth, replacement and truncation.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Follows the transcript at `path`, below the Claude home `base`, as the
/// CLI appends to it. The file is untrusted: it is opened by `files` with
/// [`open_beneath`](crate::untrusted::open_beneath) (no symlinks, regular
/// files only, never a blocking open) each time it appears or is replaced;
/// until it is a regular file, nothing is read. Whether it was replaced is
/// seen with `lstat` when the server reads the file itself, and through
/// the launcher (`isolation = "unix"`: the server cannot `lstat` in the
/// user's 0700 home) by opening it again and comparing the descriptor's
/// `fstat`.
///
/// Starts at byte `offset` (0 = the whole file; the file's current length =
/// only what comes next; an offset inside a line skips to the next line). The
/// file need not exist yet. Every [`POLL_INTERVAL`] it reads what was
/// appended and sends the events of each complete line
/// ([`record_to_events`], plus an `error` event for a line over
/// [`MAX_LINE_BYTES`]) into `events`, waiting while the channel is full; an
/// unfinished last line waits for its newline, garbage lines and repeated
/// records (same `uuid`, also as a record before `offset`) are skipped. A
/// file replaced by another (a new inode at `path`) or truncated is read
/// again from its start; if the first file found is shorter than `offset`, it
/// is read from its start too.
///
/// Stops when `cancel` fires or the receiver is dropped, and returns the
/// offset just past the last line whose events were all sent (in the file at
/// `path` when it stopped): following again from there loses nothing, though
/// a line whose events were only partly sent is sent again.
pub async fn follow(
    files: UserFiles,
    base: PathBuf,
    path: PathBuf,
    offset: u64,
    events: mpsc::Sender<ChatEvent>,
    cancel: CancellationToken,
) -> u64 {
    let mut follower = Follower {
        files,
        base,
        path,
        requested: Some(offset),
        open: None,
        refused: false,
        committed: offset,
    };
    loop {
        if follower.poll(&events, &cancel).await.is_err() {
            break;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = events.closed() => break,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
    follower.committed
}

/// Following must end (cancelled, or nobody listens).
struct Stop;

/// The file being read.
struct Open {
    /// Positioned at `splitter.pos()`.
    file: File,
    /// `(device, inode)`, to notice a replacement.
    id: (u64, u64),
    /// Lines of this file.
    splitter: LineSplitter,
    /// Records of this file already sent.
    seen: SeenRecords,
}

struct Follower {
    /// Who opens the file.
    files: UserFiles,
    /// The Claude home the transcript lies in.
    base: PathBuf,
    /// The transcript followed.
    path: PathBuf,
    /// The caller's offset, until the first file is opened.
    requested: Option<u64>,
    /// The file being read, once found.
    open: Option<Open>,
    /// A planted file was refused (warned about once, until a regular file
    /// opens).
    refused: bool,
    /// Just past the last line whose events were all sent.
    committed: u64,
}

impl Follower {
    /// Checks the file and sends the events of the lines appended since the
    /// last call.
    async fn poll(
        &mut self,
        events: &mpsc::Sender<ChatEvent>,
        cancel: &CancellationToken,
    ) -> Result<(), Stop> {
        let (id, opened) = match self.identify().await {
            Ok(found) => found,
            Err(err) => {
                self.refuse(&err);
                return Ok(());
            }
        };
        if self.open.as_ref().is_none_or(|open| open.id != id) {
            if let Err(err) = self.reopen(opened).await {
                self.refuse(&err);
                return Ok(());
            }
            self.refused = false;
        }
        let Follower {
            open: Some(open),
            committed,
            path,
            ..
        } = self
        else {
            return Ok(());
        };
        match open.file.metadata().await {
            Ok(meta) if meta.len() < open.splitter.pos() => {
                tracing::debug!(path = %path.display(), "the transcript was truncated; reading it again");
                if let Err(err) = open.file.seek(SeekFrom::Start(0)).await {
                    tracing::debug!(path = %path.display(), %err, "cannot rewind the transcript");
                    return Ok(());
                }
                open.splitter = LineSplitter::new(0, MAX_LINE_BYTES);
                open.seen = SeenRecords::default();
                *committed = 0;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(path = %path.display(), %err, "cannot stat the open transcript");
                return Ok(());
            }
        }
        let mut buf = vec![0u8; READ_CHUNK_BYTES];
        loop {
            if cancel.is_cancelled() {
                return Err(Stop);
            }
            let n = match open.file.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::debug!(path = %path.display(), %err, "cannot read the transcript");
                    return Ok(());
                }
            };
            for piece in open.splitter.push(&buf[..n]) {
                let (line_events, end) = match piece {
                    Piece::Line { bytes, end } => (
                        match parse_line(&bytes) {
                            Parsed::Record(record) if open.seen.first_time(&record) => {
                                record_to_events(&record)
                            }
                            Parsed::Record(_) => Vec::new(),
                            Parsed::Blank => Vec::new(),
                            Parsed::Garbage => {
                                tracing::debug!(path = %path.display(), end, "skipping a transcript line that is not a JSON object");
                                Vec::new()
                            }
                        },
                        end,
                    ),
                    Piece::TooLong { head, len, end } => (vec![too_long_event(&head, len)], end),
                };
                for event in line_events {
                    send(events, cancel, event).await?;
                }
                *committed = end;
            }
        }
    }

    /// `(device, inode)` of the file at `path` now: by `lstat` (never
    /// opening it) when the server reads itself; else by opening it through
    /// the launcher (the open file comes along, for [`Self::reopen`]).
    async fn identify(&self) -> io::Result<((u64, u64), Option<std::fs::File>)> {
        if let UserFiles::Direct = self.files {
            let meta = tokio::fs::symlink_metadata(&self.path).await?;
            return Ok(((meta.dev(), meta.ino()), None));
        }
        let file = self.open_file().await?;
        let meta = file.metadata()?;
        Ok(((meta.dev(), meta.ino()), Some(file)))
    }

    /// Opens the file safely, on a blocking thread.
    async fn open_file(&self) -> io::Result<std::fs::File> {
        let (files, base, path) = (self.files.clone(), self.base.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || files.open_beneath(&base, &path))
            .await
            .map_err(io::Error::other)?
    }

    /// Notes why the file could not be read: a planted one (a FIFO, device
    /// or symlink: not the CLI's doing) is warned about once.
    fn refuse(&mut self, err: &io::Error) {
        let planted = err.kind() == io::ErrorKind::InvalidInput || is_symlink_refusal(err);
        if planted && !self.refused {
            tracing::warn!(path = %self.path.display(), %err, "refusing to follow a conversation file that is not a regular file");
            self.refused = true;
        } else if !planted && err.kind() != io::ErrorKind::NotFound {
            tracing::debug!(path = %self.path.display(), %err, "cannot open the transcript");
        }
    }

    /// Opens the file at `path` (new or replaced; `opened` if it was just
    /// opened): at the caller's offset the first time, if the file is that
    /// long, else at its start.
    async fn reopen(&mut self, opened: Option<std::fs::File>) -> io::Result<()> {
        self.open = None;
        let file = match opened {
            Some(file) => file,
            None => self.open_file().await?,
        };
        let mut file = File::from_std(file);
        let meta = file.metadata().await?;
        let start = match self.requested.take() {
            Some(offset) if offset <= meta.len() => offset,
            _ => 0,
        };
        let splitter = if start == 0 {
            LineSplitter::new(0, MAX_LINE_BYTES)
        } else {
            file.seek(SeekFrom::Start(start - 1)).await?;
            if file.read_u8().await? == b'\n' {
                LineSplitter::new(start, MAX_LINE_BYTES)
            } else {
                LineSplitter::mid_line(start, MAX_LINE_BYTES)
            }
        };
        let seen = if start == 0 {
            SeenRecords::default()
        } else {
            // Records before `start` may be written again later (see
            // `SeenRecords`); learn them on a blocking thread.
            let mut std_file = file.try_clone().await?.into_std().await;
            tokio::task::spawn_blocking(move || {
                std_file.seek(SeekFrom::Start(0))?;
                SeenRecords::before(&mut std_file, start)
            })
            .await
            .map_err(io::Error::other)??
        };
        file.seek(SeekFrom::Start(start)).await?;
        self.committed = start;
        self.open = Some(Open {
            file,
            id: (meta.dev(), meta.ino()),
            splitter,
            seen,
        });
        Ok(())
    }
}

async fn send(
    events: &mpsc::Sender<ChatEvent>,
    cancel: &CancellationToken,
    event: ChatEvent,
) -> Result<(), Stop> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Stop),
        sent = events.send(event) => sent.map_err(|_| Stop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::Path;

    /// Upper bound for anything a test waits for.
    const WAIT: Duration = Duration::from_secs(10);

    fn user(text: &str) -> String {
        format!(r#"{{"type":"user","message":{{"role":"user","content":"{text}"}}}}"#) + "\n"
    }

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    async fn next_text(rx: &mut mpsc::Receiver<ChatEvent>) -> String {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(ChatEvent::UserMessage { text, .. })) => text,
            other => panic!("expected a user message, got {other:?}"),
        }
    }

    async fn assert_quiet(rx: &mut mpsc::Receiver<ChatEvent>) {
        let waited = tokio::time::timeout(POLL_INTERVAL * 3, rx.recv()).await;
        assert!(waited.is_err(), "unexpected event: {waited:?}");
    }

    struct Following {
        rx: mpsc::Receiver<ChatEvent>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<u64>,
    }

    impl Following {
        fn start(path: &Path, offset: u64, capacity: usize) -> Following {
            let (tx, rx) = mpsc::channel(capacity);
            let cancel = CancellationToken::new();
            let base = path.parent().unwrap().to_path_buf();
            let task = tokio::spawn(follow(
                UserFiles::Direct,
                base,
                path.to_path_buf(),
                offset,
                tx,
                cancel.clone(),
            ));
            Following { rx, cancel, task }
        }

        async fn stop(self) -> u64 {
            self.cancel.cancel();
            tokio::time::timeout(WAIT, self.task)
                .await
                .unwrap()
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_file_created_later_is_followed_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut f = Following::start(&path, 0, 8);
        assert_quiet(&mut f.rx).await;
        append(&path, &user("one"));
        assert_eq!(next_text(&mut f.rx).await, "one");
        // Half a line waits for its end; garbage is skipped.
        let two = user("two");
        append(&path, &format!("not json\n{}", &two[..10]));
        assert_quiet(&mut f.rx).await;
        append(&path, &two[10..]);
        assert_eq!(next_text(&mut f.rx).await, "two");
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(f.stop().await, len);
    }

    #[tokio::test]
    async fn a_fifo_or_symlink_at_the_path_is_never_opened_and_a_real_file_later_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let mut f = Following::start(&path, 0, 8);
        assert_quiet(&mut f.rx).await;
        std::fs::remove_file(&path).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, user("secret")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_quiet(&mut f.rx).await;
        std::fs::remove_file(&path).unwrap();
        append(&path, &user("real"));
        assert_eq!(next_text(&mut f.rx).await, "real");
        f.stop().await;
    }

    #[tokio::test]
    async fn truncated_or_replaced_files_are_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(
            &path,
            &format!(
                "{}{}",
                user("a-long-first-line"),
                user("b-long-second-line")
            ),
        );
        let mut f = Following::start(&path, 0, 8);
        assert_eq!(next_text(&mut f.rx).await, "a-long-first-line");
        assert_eq!(next_text(&mut f.rx).await, "b-long-second-line");
        std::fs::write(&path, user("c")).unwrap();
        assert_eq!(next_text(&mut f.rx).await, "c");
        let other = dir.path().join("new.jsonl");
        std::fs::write(&other, format!("{}{}", user("d"), user("e"))).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(next_text(&mut f.rx).await, "d");
        assert_eq!(next_text(&mut f.rx).await, "e");
        f.stop().await;
    }

    #[tokio::test]
    async fn starting_at_the_end_or_mid_line_sends_only_later_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, &format!("{}{}", user("old"), user("older")));
        let end = std::fs::metadata(&path).unwrap().len();
        let mut f = Following::start(&path, end, 8);
        assert_quiet(&mut f.rx).await;
        append(&path, &user("new"));
        assert_eq!(next_text(&mut f.rx).await, "new");
        f.stop().await;

        let mut f = Following::start(&path, 3, 8);
        assert_eq!(next_text(&mut f.rx).await, "older");
        assert_eq!(next_text(&mut f.rx).await, "new");
        f.stop().await;

        // An offset past the end of the first file found: from its start.
        let mut f = Following::start(&path, 10 * end, 8);
        assert_eq!(next_text(&mut f.rx).await, "old");
        f.stop().await;
    }

    #[tokio::test]
    async fn a_full_channel_holds_reading_and_cancel_returns_the_delivered_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let (one, two, three) = (user("1"), user("2"), user("3"));
        append(&path, &format!("{one}{two}{three}"));
        let Following {
            mut rx,
            cancel,
            task,
        } = Following::start(&path, 0, 1);
        // The first event fills the channel, the second waits in `send`.
        tokio::time::sleep(POLL_INTERVAL).await;
        cancel.cancel();
        let offset = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
        assert_eq!(
            offset,
            one.len() as u64,
            "only the line that was delivered counts"
        );
        assert_eq!(next_text(&mut rx).await, "1");
    }

    #[tokio::test]
    async fn a_record_written_twice_is_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let record = r#"{"type":"user","uuid":"u-1","message":{"role":"user","content":"once"}}"#;
        append(&path, &format!("{record}\n{record}\n{}", user("next")));
        let mut f = Following::start(&path, 0, 8);
        assert_eq!(next_text(&mut f.rx).await, "once");
        assert_eq!(next_text(&mut f.rx).await, "next");
        f.stop().await;
    }

    #[tokio::test]
    async fn a_repeat_of_a_record_before_the_offset_is_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let record = r#"{"type":"user","uuid":"u-1","message":{"role":"user","content":"old"}}"#;
        append(&path, &format!("{record}\n"));
        let end = std::fs::metadata(&path).unwrap().len();
        let mut f = Following::start(&path, end, 8);
        append(&path, &format!("{record}\n{}", user("new")));
        assert_eq!(next_text(&mut f.rx).await, "new");
        f.stop().await;
    }

    #[tokio::test]
    async fn dropping_the_receiver_ends_following() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let f = Following::start(&path, 7, 1);
        drop(f.rx);
        let offset = tokio::time::timeout(WAIT, f.task).await.unwrap().unwrap();
        assert_eq!(offset, 7, "nothing was read: the offset given");
    }
}
