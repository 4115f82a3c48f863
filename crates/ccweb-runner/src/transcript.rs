//! The CLI's own conversation files: where they live, listing them, turning
//! their records into [`ChatEvent`]s (for import) and following one as the CLI
//! writes it (terminal sessions).
//!
//! The CLI keeps every conversation in
//! `<claude home>/projects/<encoded cwd>/<session id>.jsonl`, one JSON record
//! per line, appended as the session goes (`shared/claude-cli-protocol.md` §6).
//! Nothing here writes to those files. Everything tolerates what a reader of a
//! live, foreign file meets: garbage lines, a torn last line, huge lines, the
//! file not existing yet or being replaced.
//!
//! The CLI sometimes writes a record twice (same `uuid`); [`read_transcript`]
//! and [`follow`] drop the repeats, callers of [`record_to_events`] should too.
//!
//! Record shapes seen from CLI 2.1.197 are kept as fixtures in
//! `src/transcript/fixtures/`; `tests/transcript.rs` checks them against the
//! live CLI.

mod events;
mod follow;
mod lines;
mod listing;
mod settings;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ccweb_protocol::chat::ChatEvent;
use serde_json::Value;

pub use events::record_to_events;
pub use follow::{follow, POLL_INTERVAL};
pub use listing::{list_conversations, Conversation};
pub use settings::{last_settings, LastSettings};

use crate::user_files::UserFiles;
use lines::{LineSplitter, Piece};

/// Longest transcript line parsed; a longer one becomes an `error` event
/// (code [`LINE_TOO_LONG`]). The CLI writes multi-megabyte lines for big
/// pastes, images and tool results.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// The `code` of the [`ChatEvent::Error`] reported for a line over
/// [`MAX_LINE_BYTES`].
pub const LINE_TOO_LONG: &str = "transcript_line_too_long";

/// How much of an over-long line its error event keeps.
const KEPT_LINE_BYTES: usize = 4096;

/// Read size for transcript files.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Longest encoded directory name before the CLI cuts it and appends a hash.
const MAX_DIR_NAME_CHARS: usize = 200;

/// The folder name the CLI uses for a working directory: every UTF-16 code
/// unit that is not an ASCII letter or digit becomes `-` (so `/home/a.b` →
/// `-home-a-b`, and an emoji → `--`); a name over 200 characters is cut to 200
/// and gets `-<hash>` appended (the CLI's Java-style string hash in base 36).
///
/// The mapping is lossy: never decode it, read `cwd` from the records.
pub fn encode_project_dir_name(cwd: &Path) -> String {
    let text = cwd.to_string_lossy();
    let mut name = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else {
            // JavaScript's `replace(/[^a-zA-Z0-9]/g, "-")` works on UTF-16 units.
            for _ in 0..c.len_utf16() {
                name.push('-');
            }
        }
    }
    if name.len() <= MAX_DIR_NAME_CHARS {
        return name;
    }
    // `name` is ASCII, so byte and character positions agree.
    name.truncate(MAX_DIR_NAME_CHARS);
    name.push('-');
    name.push_str(&base36(java_string_hash(&text).unsigned_abs()));
    name
}

/// `h = 31 * h + unit` over UTF-16 code units, wrapping at 32 bits (the CLI's
/// `(h << 5) - h + charCodeAt(i) | 0`).
fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the CLI keeps the conversations of `cwd`:
/// `claude_home/projects/<encoded cwd>`.
///
/// `claude_home` is what the CLI uses: `$CLAUDE_CONFIG_DIR`, else
/// `$HOME/.claude`; the caller decides. `cwd` should be canonical, as the CLI
/// sees it (it resolves symlinks); this function does no I/O.
pub fn project_dir(claude_home: &Path, cwd: &Path) -> PathBuf {
    claude_home
        .join("projects")
        .join(encode_project_dir_name(cwd))
}

/// The transcript file of one conversation:
/// `claude_home/projects/<encoded cwd>/<session_id>.jsonl`.
pub fn transcript_path(claude_home: &Path, cwd: &Path, session_id: &str) -> PathBuf {
    project_dir(claude_home, cwd).join(format!("{session_id}.jsonl"))
}

/// A whole transcript, converted for import.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The file was longer than the bytes read ([`read_transcript`]'s
    /// `max_bytes`); the rest was left unread.
    pub cut: bool,
    /// The events of every record, in file order (see [`record_to_events`]),
    /// plus an `error` event for each line over [`MAX_LINE_BYTES`].
    pub events: Vec<ChatEvent>,
    /// Lines that were not JSON objects (or over [`MAX_LINE_BYTES`]); blank
    /// lines are not counted.
    pub skipped_lines: usize,
    /// The first `sessionId` found in the records.
    pub session_id: Option<String>,
    /// The file ended in an unfinished line that is not a JSON object (a write
    /// in progress or cut short); it was ignored.
    pub torn_tail: bool,
}

/// Reads a whole transcript for import. Garbage lines are skipped and counted,
/// an unfinished last line is ignored unless it is a complete JSON object, and
/// a record whose `uuid` came before is skipped (the CLI sometimes writes one
/// twice).
///
/// The file is opened by `files` with
/// [`open_beneath`](crate::untrusted::open_beneath) (`path` lies below the
/// Claude home `base`; no symlinks, regular files only), and only its first `max_bytes` are read: a bigger file gives the
/// lines that end in them, and `cut`.
///
/// Blocking; run it on a blocking thread.
pub fn read_transcript(
    files: &UserFiles,
    base: &Path,
    path: &Path,
    max_bytes: u64,
) -> io::Result<Transcript> {
    read_transcript_with_limit(files, base, path, max_bytes, MAX_LINE_BYTES)
}

fn read_transcript_with_limit(
    files: &UserFiles,
    base: &Path,
    path: &Path,
    max_bytes: u64,
    max_line_bytes: usize,
) -> io::Result<Transcript> {
    let mut transcript = Transcript {
        cut: false,
        events: Vec::new(),
        skipped_lines: 0,
        session_id: None,
        torn_tail: false,
    };
    let mut seen = SeenRecords::default();
    let limits = (max_bytes, max_line_bytes);
    transcript.cut = read_lines(files, base, path, limits, |line| match line {
        FileLine::Whole(Piece::Line { bytes, .. }) => match parse_line(&bytes) {
            Parsed::Record(record) => transcript.add(&record, &mut seen),
            Parsed::Blank => {}
            Parsed::Garbage => transcript.skipped_lines += 1,
        },
        FileLine::Whole(Piece::TooLong { head, len, .. }) => {
            transcript.skipped_lines += 1;
            transcript.events.push(too_long_event(&head, len));
        }
        FileLine::Tail(rest) => match parse_line(&rest) {
            Parsed::Record(record) => transcript.add(&record, &mut seen),
            Parsed::Blank => {}
            Parsed::Garbage => transcript.torn_tail = true,
        },
    })?;
    Ok(transcript)
}

/// A line of a file read whole by [`read_lines`].
pub(crate) enum FileLine {
    /// A line that ended with `\n` (or one over the limit, skipped).
    Whole(Piece),
    /// The last line, without its `\n`: still being written, or torn.
    Tail(Vec<u8>),
}

/// Reads the file at `path` (below the Claude home `base`, opened by
/// `files` with [`open_beneath`](crate::untrusted::open_beneath)) from its start and hands `each` its lines in order, the
/// unfinished last one (if any) last. Reads at most `max_bytes` (the first
/// of `limits`; lines longer than the second are skipped) and returns
/// whether the file had more: then the line cut at the limit is dropped.
pub(crate) fn read_lines(
    files: &UserFiles,
    base: &Path,
    path: &Path,
    (max_bytes, max_line_bytes): (u64, usize),
    mut each: impl FnMut(FileLine),
) -> io::Result<bool> {
    let file = files.open_beneath(base, path)?;
    let mut file = file.take(max_bytes);
    let mut splitter = LineSplitter::new(0, max_line_bytes);
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        for piece in splitter.push(&buf[..n]) {
            each(FileLine::Whole(piece));
        }
    }
    // One more byte tells a file of exactly `max_bytes` from a longer one.
    let cut = file.into_inner().read(&mut [0u8])? > 0;
    if cut {
        return Ok(true);
    }
    if let Some(rest) = splitter.finish() {
        each(FileLine::Tail(rest));
    }
    Ok(false)
}

impl Transcript {
    fn add(&mut self, record: &Value, seen: &mut SeenRecords) {
        if !seen.first_time(record) {
            return;
        }
        if self.session_id.is_none() {
            self.session_id = record
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        self.events.extend(record_to_events(record));
    }
}

/// Records already turned into events, by `uuid`. The CLI sometimes writes a
/// record twice, with the same `uuid` (seen around `/compact` right after a
/// turn: the turn's records again, after the first copies); it keys messages
/// by `uuid` itself, so the second copy means nothing.
#[derive(Debug, Default)]
struct SeenRecords(HashSet<String>);

impl SeenRecords {
    /// False for a record whose `uuid` was seen before; records without one
    /// (titles, queue operations) always count as new.
    fn first_time(&mut self, record: &Value) -> bool {
        match record.get("uuid").and_then(Value::as_str) {
            Some(uuid) => self.0.insert(uuid.to_owned()),
            None => true,
        }
    }

    /// The `uuid`s of the records in the first `end` bytes of `file`, so
    /// that following from `end` recognises repeats of earlier records.
    fn before(file: &mut File, end: u64) -> io::Result<SeenRecords> {
        /// Only the field wanted; the rest of the line is skipped unparsed.
        #[derive(serde::Deserialize)]
        struct Uuid {
            uuid: Option<String>,
        }
        let mut seen = SeenRecords::default();
        let mut splitter = LineSplitter::new(0, MAX_LINE_BYTES);
        let mut prefix = file.take(end);
        let mut buf = vec![0u8; READ_CHUNK_BYTES];
        loop {
            let n = match prefix.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            for piece in splitter.push(&buf[..n]) {
                if let Piece::Line { bytes, .. } = piece {
                    if let Ok(Uuid { uuid: Some(uuid) }) = serde_json::from_slice(&bytes) {
                        seen.0.insert(uuid);
                    }
                }
            }
        }
        Ok(seen)
    }
}

/// What one transcript line holds.
enum Parsed {
    /// A JSON object.
    Record(Value),
    /// Only whitespace.
    Blank,
    /// Anything else.
    Garbage,
}

fn parse_line(bytes: &[u8]) -> Parsed {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Parsed::Blank;
    }
    match serde_json::from_slice::<Value>(trimmed) {
        Ok(record @ Value::Object(_)) => Parsed::Record(record),
        Ok(_) | Err(_) => Parsed::Garbage,
    }
}

/// The `error` event for a line over the limit: its start, cut on a character
/// boundary, and its length.
fn too_long_event(head: &[u8], len: u64) -> ChatEvent {
    let text = String::from_utf8_lossy(head);
    let mut end = text.len().min(KEPT_LINE_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    ChatEvent::Error {
        code: LINE_TOO_LONG.to_owned(),
        message: format!(
            "a transcript line of {len} bytes is over the {MAX_LINE_BYTES}-byte limit and was skipped"
        ),
        line: Some(format!("{}… ({len} bytes)", &text[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn encoding_replaces_every_non_alphanumeric_utf16_unit() {
        assert_eq!(
            encode_project_dir_name(Path::new("/home/dev/My.Proj_x y")),
            "-home-dev-My-Proj-x-y"
        );
        // é is one UTF-16 unit, 🚀 is two.
        assert_eq!(encode_project_dir_name(Path::new("/tmp/é🚀")), "-tmp----");
    }

    #[test]
    fn long_names_are_cut_and_hashed_like_the_cli() {
        let cwd = format!("/{}", "a".repeat(250));
        let name = encode_project_dir_name(Path::new(&cwd));
        assert_eq!(&name[..200], &format!("-{}", "a".repeat(199)));
        // Values computed independently (Python, 32-bit wrapping arithmetic).
        assert_eq!(java_string_hash(&cwd), -931_632_369);
        assert_eq!(&name[200..], "-feo44x");
        assert_eq!(java_string_hash("abc"), 96354);
        assert_eq!(base36(96354), "22ci");
        assert_eq!(base36(0), "0");
    }

    #[test]
    fn paths_are_under_projects() {
        let home = Path::new("/h/.claude");
        assert_eq!(
            transcript_path(home, Path::new("/w/p"), "abc"),
            PathBuf::from("/h/.claude/projects/-w-p/abc.jsonl")
        );
    }

    /// The whole file, with its folder as the Claude home.
    fn read(path: &Path) -> io::Result<Transcript> {
        read_transcript(&UserFiles::Direct, path.parent().unwrap(), path, u64::MAX)
    }

    #[test]
    fn only_the_first_max_bytes_are_read_and_the_cut_line_is_dropped() {
        let line = "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\n";
        let file = write(line.repeat(3).as_bytes());
        let base = file.path().parent().unwrap();
        let len = line.len() as u64;
        let t = read_transcript(&UserFiles::Direct, base, file.path(), 2 * len + 5).unwrap();
        assert!(t.cut);
        assert_eq!(t.events.len(), 2);
        let t = read_transcript(&UserFiles::Direct, base, file.path(), 3 * len).unwrap();
        assert!(!t.cut, "exactly the limit is not cut");
        assert_eq!(t.events.len(), 3);
    }

    #[test]
    fn a_symlinked_or_special_transcript_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("z.jsonl")).unwrap();
        assert!(read_transcript(
            &UserFiles::Direct,
            dir.path(),
            &dir.path().join("z.jsonl"),
            u64::MAX
        )
        .is_err());
        assert!(read_transcript(
            &UserFiles::Direct,
            Path::new("/dev"),
            Path::new("/dev/zero"),
            u64::MAX
        )
        .is_err());
    }

    fn write(lines: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(lines).unwrap();
        file
    }

    #[test]
    fn read_transcript_skips_garbage_and_ignores_a_torn_tail() {
        let file = write(
            b"{\"type\":\"user\",\"sessionId\":\"s1\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\n\
              not json\n\
              [1,2]\n\
              \n\
              {\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"content\":[{\"type\":\"text\",\"text\":\"yo\"}]}}\n\
              {\"type\":\"user\",\"message\":{\"role\":\"us",
        );
        let t = read(file.path()).unwrap();
        assert_eq!(t.skipped_lines, 2);
        assert!(t.torn_tail);
        assert_eq!(t.session_id.as_deref(), Some("s1"));
        let kinds: Vec<_> = t.events.iter().map(ChatEvent::kind).collect();
        assert_eq!(kinds, ["user_message", "assistant_message"]);
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let file = write(b"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}");
        let t = read(file.path()).unwrap();
        assert!(!t.torn_tail);
        assert_eq!(t.events.len(), 1);
    }

    #[test]
    fn an_over_long_line_becomes_an_error_event_with_a_cut_line() {
        let long = format!(
            "{{\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"{}\"}}}}\n",
            "x".repeat(10_000)
        );
        let mut data = long.clone().into_bytes();
        data.extend_from_slice(
            b"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"after\"}}\n",
        );
        let file = write(&data);
        let t = read_transcript_with_limit(
            &UserFiles::Direct,
            file.path().parent().unwrap(),
            file.path(),
            u64::MAX,
            5000,
        )
        .unwrap();
        assert_eq!(t.skipped_lines, 1);
        match &t.events[0] {
            ChatEvent::Error { code, line, .. } => {
                assert_eq!(code, LINE_TOO_LONG);
                let line = line.as_deref().unwrap();
                assert!(line.starts_with("{\"type\":\"user\""), "{line}");
                assert!(line.len() < 4200, "cut to a bounded length");
                assert!(
                    line.ends_with(&format!("({} bytes)", long.len() - 1)),
                    "{line}"
                );
            }
            other => panic!("expected an error event, got {other:?}"),
        }
        assert!(matches!(&t.events[1], ChatEvent::UserMessage { text, .. } if text == "after"));
    }

    /// One line per event: its kind and what identifies it.
    fn outline(events: &[ChatEvent]) -> Vec<String> {
        events
            .iter()
            .map(|event| match event {
                ChatEvent::UserMessage { text, images, .. } if images.is_empty() => {
                    format!("user {text}")
                }
                ChatEvent::UserMessage { text, images, .. } => {
                    format!("user {text} {images:?}")
                }
                ChatEvent::AssistantMessage { content, error, .. } => {
                    let block = &content[0];
                    let what = match block["type"].as_str() {
                        Some("text") => block["text"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .take(20)
                            .collect(),
                        Some("tool_use") => {
                            format!("tool_use {}", block["name"].as_str().unwrap_or(""))
                        }
                        other => format!("{other:?}"),
                    };
                    match error {
                        Some(error) => format!("assistant {what} error={error}"),
                        None => format!("assistant {what}"),
                    }
                }
                ChatEvent::ToolResult {
                    tool_use_id,
                    is_error,
                    ..
                } => format!("tool_result {tool_use_id} is_error={is_error}"),
                ChatEvent::System { subtype, data, .. } if subtype == "notice" => {
                    format!("notice {}", data["text"].as_str().unwrap_or(""))
                }
                ChatEvent::System { subtype, .. } => format!("system {subtype}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/transcript/fixtures")
            .join(name)
    }

    #[test]
    fn real_stream_json_transcript_reads_as_the_conversation() {
        let t = read(&fixture("stream-json-session.jsonl")).unwrap();
        assert_eq!(t.skipped_lines, 0);
        assert!(!t.torn_tail);
        assert_eq!(
            t.session_id.as_deref(),
            Some("65ab1388-0111-4eba-85a3-f172d0359a2e")
        );
        assert_eq!(
            outline(&t.events),
            [
                "user first turn",
                "assistant one",
                "user second turn",
                "assistant two",
                "user third turn",
                "assistant three",
                "system compact_boundary",
                "system compact_summary",
                "user /compact",
                "notice Compacted",
                "user spawn an agent",
                "assistant tool_use Agent",
                "tool_result toolu_fake_1 is_error=false",
                "assistant main after agent",
                "user denied write",
                "assistant tool_use Write",
                "tool_result toolu_fake_2 is_error=true",
                "assistant ok denied",
                "user fail please",
                "assistant API Error: 500 Inter error=server_error",
            ]
        );
        match &t.events[12] {
            ChatEvent::ToolResult { structured, .. } => {
                assert_eq!(structured["agentId"], "abc14ca96e6a1a061");
            }
            other => panic!("{other:?}"),
        }
        match &t.events[6] {
            ChatEvent::System { data, .. } => {
                assert_eq!(data["compact_metadata"]["trigger"], "manual");
                assert_eq!(data["compact_metadata"]["pre_tokens"], 19131);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn real_image_and_command_transcript_reads_as_typed() {
        let t = read(&fixture("image-and-commands.jsonl")).unwrap();
        assert_eq!(
            outline(&t.events),
            [
                "user what is this image? [\"image/png\"]",
                "assistant An image reply.",
                "user /compact",
                "notice Not enough messages to compact.",
                "user /model sonnet",
                "notice /model isn't available in this environment.",
                "user spawn an agent",
                "assistant Compact summary text",
            ]
        );
    }

    #[test]
    fn real_subagent_and_tui_transcripts() {
        let sub = read(&fixture("subagent.jsonl")).unwrap();
        assert!(sub.events.is_empty(), "sidechain records are skipped");
        assert_eq!(sub.skipped_lines, 0);
        let tui = read(&fixture("tui-session.jsonl")).unwrap();
        assert_eq!(
            outline(&tui.events),
            ["user hello from the tui", "assistant Hello from the fake "]
        );
    }

    #[test]
    fn records_written_twice_are_read_once() {
        let t = read(&fixture("compact-duplicates.jsonl")).unwrap();
        assert_eq!(
            outline(&t.events),
            [
                "user first turn",
                "assistant one",
                "user second turn",
                "assistant two",
                "system compact_boundary",
                "system compact_summary",
                "user /compact",
                "notice Compacted",
                "user spawn an agent",
                "assistant tool_use Agent",
                "tool_result toolu_fake_1 is_error=false",
                "assistant main after agent",
                "user fail please",
                "assistant API Error: 500 Inter error=server_error",
            ]
        );
        // Records without a uuid are never taken for repeats.
        let line = "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"again\"}}\n";
        let file = write(line.repeat(2).as_bytes());
        assert_eq!(read(file.path()).unwrap().events.len(), 2);
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = read(Path::new("/nonexistent/x.jsonl")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
