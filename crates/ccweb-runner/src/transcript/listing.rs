//! Lists the conversations saved for a working directory, the way the CLI's
//! `--resume` picker and the SDK's `listSessions` do.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use memchr::memmem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::events::{cut_title, first_prompt};
use super::lines::{LineSplitter, Piece};
use super::{
    encode_project_dir_name, project_dir, MAX_DIR_NAME_CHARS, MAX_LINE_BYTES, READ_CHUNK_BYTES,
};
use crate::untrusted::{check_dir_beneath, open_beneath};

/// Files up to this size are read whole (exact message count, titles from
/// anywhere). Bigger ones: the head, then the tail.
const FULL_READ_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// In a big file, at least this much of the head is read (a `custom-title`
/// can come right after the first prompt, or before it) …
const HEAD_READ_MIN_BYTES: u64 = 64 * 1024;
/// … and then more until its facts are known or this much has been read
/// (finishing the line it is in).
const HEAD_READ_MAX_BYTES: u64 = 1024 * 1024;
/// The tail read for titles and the current branch (the CLI reads 64 KiB too).
const TAIL_BYTES: u64 = 64 * 1024;
/// Lines shorter than this are always parsed; longer ones only when a cheap
/// byte search says they matter.
const ALWAYS_PARSE_BYTES: usize = 4096;

/// One saved conversation of a working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The CLI's session id (the file name); `claude --resume <id>` takes it.
    pub session_id: String,
    /// The last `custom-title` (set by `/rename`, `--name` or
    /// `rename_session`), else the last AI title, else the last prompt (the
    /// last `last-prompt` record), else the last `summary` record, else the
    /// first prompt.
    pub title: String,
    /// The first thing the user typed, on one line and cut to 200
    /// characters (the CLI's rules: command output, caveats and other
    /// markup-first texts are passed over, bash mode reads `! cmd`); the
    /// first slash command's name if that is all there is.
    pub first_prompt: Option<String>,
    /// The working directory, as recorded.
    pub cwd: String,
    /// The git branch of the last records read (`HEAD` outside a repository).
    pub git_branch: Option<String>,
    /// Time of the first record.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// The file's modification time.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// The file's size in bytes.
    pub file_size: u64,
    /// How it was run: `cli` (the TUI), `sdk-cli` (`-p`/stream-json), `sdk-ts`, …
    pub entrypoint: Option<String>,
    /// `user` and `assistant` records (tool results count as user records).
    /// Exact for files up to 4 MiB, extrapolated from the head and tail
    /// above that.
    pub messages: usize,
}

/// Conversations saved for `cwd` under `claude_home` (`$CLAUDE_CONFIG_DIR`,
/// else `$HOME/.claude`), newest first.
///
/// Looks in the CLI's folder for `cwd` (and, for names over 200 characters,
/// every folder sharing the cut prefix, as the CLI does), trying `cwd` as
/// given and canonicalized. Only `<uuid>.jsonl` files whose records say they
/// ran in `cwd` are listed: the folder name is lossy, so two directories can
/// share one. Files with no title at all (say, only `/cost` was run) are left
/// out, as the CLI does. Unreadable files and garbage lines are skipped. A
/// missing folder gives an empty list. The folder is untrusted: a folder
/// reached through a symlink is not listed, entries that are not regular
/// files (FIFOs, devices, symlinks) are skipped without being opened, and
/// files are opened with [`open_beneath`].
///
/// Files up to 4 MiB are read whole. Of a bigger file only the head (until
/// the first prompt is found, at least 64 KiB, at most about 1 MiB) and the
/// last 64 KiB are read, like the CLI's own listing: a title set in the
/// middle of a long conversation is then missed, and `messages` is an
/// estimate.
///
/// Blocking; run it on a blocking thread.
pub fn list_conversations(claude_home: &Path, cwd: &Path) -> io::Result<Vec<Conversation>> {
    let mut cwds = vec![cwd.to_path_buf()];
    if let Ok(canonical) = cwd.canonicalize() {
        if canonical != cwd {
            cwds.push(canonical);
        }
    }
    let wanted: Vec<String> = cwds
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();

    let mut dirs = Vec::new();
    for cwd in &cwds {
        dirs.extend(candidate_dirs(claude_home, cwd)?);
    }
    let mut seen_dirs = HashSet::new();
    let mut listed = HashSet::new();
    let mut conversations = Vec::new();
    for dir in dirs {
        if !seen_dirs.insert(dir.clone()) {
            continue;
        }
        match check_dir_beneath(claude_home, &dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => {
                tracing::warn!(dir = %dir.display(), %err, "not listing a conversation folder that is not a real directory");
                continue;
            }
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let Some(session_id) = session_id_of(&path) else {
                continue;
            };
            // The entry's own type (a symlink is a symlink): never open a FIFO.
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            if listed.contains(&session_id) {
                continue;
            }
            match summarize(claude_home, &path, session_id) {
                Ok(Some(conversation)) if wanted.contains(&conversation.cwd) => {
                    listed.insert(conversation.session_id.clone());
                    conversations.push(conversation);
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!(path = %path.display(), %err, "skipping an unreadable transcript");
                }
            }
        }
    }
    conversations.sort_by(|a, b| {
        b.last_modified
            .cmp(&a.last_modified)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    Ok(conversations)
}

/// The folder for `cwd`, plus, when its name was cut, folders that share the
/// cut prefix (another runtime's hash; the CLI scans for them the same way).
fn candidate_dirs(claude_home: &Path, cwd: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs = vec![project_dir(claude_home, cwd)];
    let name = encode_project_dir_name(cwd);
    if name.len() <= MAX_DIR_NAME_CHARS {
        return Ok(dirs);
    }
    let prefix = format!("{}-", &name[..MAX_DIR_NAME_CHARS]);
    let projects = claude_home.join("projects");
    let entries = match fs::read_dir(&projects) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(dirs),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// The session id of a `<uuid>.jsonl` file; other names (the CLI's
/// `<id>.orphaned-….jsonl`, notes, folders) give `None`.
fn session_id_of(path: &Path) -> Option<String> {
    if path.extension()? != "jsonl" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    let uuid_like = stem.len() == 36
        && stem.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    uuid_like.then(|| stem.to_owned())
}

/// What the scan of one file found.
#[derive(Debug, Default)]
struct Scan {
    /// `cwd` of the first record that has one …
    cwd: Option<String>,
    /// … and that record's `gitBranch`, `entrypoint` and `isSidechain`.
    head_branch: Option<String>,
    /// See `cwd`.
    entrypoint: Option<String>,
    /// See `cwd`.
    sidechain: Option<bool>,
    /// `timestamp` of the first record that has one.
    created_at: Option<OffsetDateTime>,
    /// `gitBranch` of the last record in the tail.
    tail_branch: Option<String>,
    /// See [`first_prompt`].
    first_prompt: Option<String>,
    /// The first slash command, if no prompt has been found.
    command_fallback: Option<String>,
    /// The last `custom-title` record's title.
    custom_title: Option<String>,
    /// The last `ai-title` record's title.
    ai_title: Option<String>,
    /// The last `last-prompt` record's prompt.
    last_prompt: Option<String>,
    /// The last `summary` record's summary (older CLIs).
    summary: Option<String>,
    /// Lines that look like `user` or `assistant` records.
    messages: usize,
}

/// Records that name a conversation, as they appear in a line.
const TITLE_RECORDS: [&str; 4] = [
    "\"type\":\"custom-title\"",
    "\"type\":\"ai-title\"",
    "\"type\":\"last-prompt\"",
    "\"type\":\"summary\"",
];

fn has(line: &[u8], needle: &str) -> bool {
    memmem::find(line, needle.as_bytes()).is_some()
}

impl Scan {
    /// Whether the head has told all it can.
    fn head_done(&self) -> bool {
        self.cwd.is_some() && self.created_at.is_some() && self.first_prompt.is_some()
    }

    /// Looks at one line; `in_tail` when it lies in the last [`TAIL_BYTES`].
    fn line(&mut self, line: &[u8], in_tail: bool) {
        // The CLI writes compact JSON; the byte searches rely on that, and
        // short lines are parsed whatever their spacing.
        let is_message = has(line, "\"type\":\"user\"") || has(line, "\"type\":\"assistant\"");
        if is_message {
            self.messages += 1;
        }
        let wanted = line.len() < ALWAYS_PARSE_BYTES
            || in_tail
            || (self.cwd.is_none() && has(line, "\"cwd\""))
            || (self.created_at.is_none() && has(line, "\"timestamp\""))
            || (self.first_prompt.is_none()
                && has(line, "\"type\":\"user\"")
                && !has(line, "\"tool_result\"")
                && !has(line, "\"isMeta\":true")
                && !has(line, "\"isCompactSummary\":true"))
            || TITLE_RECORDS.iter().any(|needle| has(line, needle));
        if !wanted {
            return;
        }
        let Ok(record @ Value::Object(_)) = serde_json::from_slice::<Value>(line.trim_ascii())
        else {
            return;
        };
        self.record(&record, in_tail);
    }

    fn record(&mut self, record: &Value, in_tail: bool) {
        let text = |key: &str| {
            record
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if self.created_at.is_none() {
            self.created_at =
                text("timestamp").and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok());
        }
        if self.cwd.is_none() {
            if let Some(cwd) = text("cwd") {
                self.cwd = Some(cwd);
                self.head_branch = text("gitBranch");
                self.entrypoint = text("entrypoint");
                self.sidechain = record.get("isSidechain").and_then(Value::as_bool);
            }
        }
        if self.first_prompt.is_none() {
            self.first_prompt = first_prompt(record, &mut self.command_fallback);
        }
        if in_tail {
            if let Some(branch) = text("gitBranch") {
                self.tail_branch = Some(branch);
            }
        }
        match record.get("type").and_then(Value::as_str) {
            Some("custom-title") => {
                self.custom_title = text("customTitle").or(self.custom_title.take())
            }
            Some("ai-title") => self.ai_title = text("aiTitle").or(self.ai_title.take()),
            Some("last-prompt") => {
                self.last_prompt = text("lastPrompt").or(self.last_prompt.take())
            }
            Some("summary") => self.summary = text("summary").or(self.summary.take()),
            _ => {}
        }
    }

    fn title(&self) -> Option<String> {
        let trimmed = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        trimmed(&self.custom_title)
            .or_else(|| trimmed(&self.ai_title))
            .or_else(|| self.last_prompt.as_deref().map(cut_title))
            .or_else(|| self.summary.as_deref().map(cut_title))
            .or_else(|| self.first_prompt.clone())
            .or_else(|| self.command_fallback.clone())
            .filter(|t| !t.is_empty())
    }
}

/// Reads `file` from `start` to `end` (or EOF), handing each complete line to
/// `scan`; stops early when `stop` says so after a line. Returns the offset
/// reached.
fn scan_range(
    file: &mut File,
    start: u64,
    tail_from: u64,
    scan: &mut Scan,
    stop: impl Fn(&Scan, u64) -> bool,
) -> io::Result<u64> {
    let mut splitter = if start == 0 {
        LineSplitter::new(0, MAX_LINE_BYTES)
    } else {
        // Starting mid-line drops that line's rest; at a line start, nothing.
        file.seek(SeekFrom::Start(start - 1))?;
        let mut before = [0u8; 1];
        file.read_exact(&mut before)?;
        if before[0] == b'\n' {
            LineSplitter::new(start, MAX_LINE_BYTES)
        } else {
            LineSplitter::mid_line(start, MAX_LINE_BYTES)
        }
    };
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        for piece in splitter.push(&buf[..n]) {
            if let Piece::Line { bytes, end } = piece {
                let line_start = end - bytes.len() as u64 - 1;
                scan.line(&bytes, line_start >= tail_from);
                if stop(scan, end) {
                    return Ok(end);
                }
            }
        }
    }
    // A last line without its newline: use it if it is a whole record.
    let reached = splitter.line_start();
    if let Some(rest) = splitter.finish() {
        scan.line(&rest, reached >= tail_from);
    }
    Ok(reached)
}

/// Scans one transcript; `None` when it has no working directory, is a
/// subagent's, or has nothing to call it by.
fn summarize(
    claude_home: &Path,
    path: &Path,
    session_id: String,
) -> io::Result<Option<Conversation>> {
    let mut file = open_beneath(claude_home, path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let size = meta.len();
    let tail_from = size.saturating_sub(TAIL_BYTES);
    let mut scan = Scan::default();
    if size <= FULL_READ_MAX_BYTES {
        scan_range(&mut file, 0, tail_from, &mut scan, |_, _| false)?;
    } else {
        let head_end = scan_range(&mut file, 0, u64::MAX, &mut scan, |scan, offset| {
            (scan.head_done() && offset >= HEAD_READ_MIN_BYTES) || offset >= HEAD_READ_MAX_BYTES
        })?;
        let head_messages = scan.messages;
        let tail_start = tail_from.max(head_end);
        scan_range(&mut file, tail_start, tail_start, &mut scan, |_, _| false)?;
        let read = head_end + (size - tail_start);
        if read < size && read > 0 {
            // Extrapolate the count over the part not read.
            let sampled = scan.messages as f64;
            scan.messages = (sampled * size as f64 / read as f64).round() as usize;
            scan.messages = scan.messages.max(head_messages);
        }
    }
    let (Some(cwd), Some(title)) = (scan.cwd.clone(), scan.title()) else {
        return Ok(None);
    };
    if scan.sidechain == Some(true) {
        return Ok(None);
    }
    let last_modified = meta
        .modified()
        .map(OffsetDateTime::from)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(Some(Conversation {
        session_id,
        title,
        first_prompt: scan.first_prompt.or(scan.command_fallback),
        cwd,
        git_branch: scan.tail_branch.or(scan.head_branch),
        created_at: scan.created_at,
        last_modified,
        file_size: size,
        entrypoint: scan.entrypoint,
        messages: scan.messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SID_A: &str = "11111111-2222-3333-4444-555555555555";
    const SID_B: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn user(cwd: &str, text: &str) -> String {
        format!(
            r#"{{"parentUuid":null,"isSidechain":false,"type":"user","message":{{"role":"user","content":{}}},"uuid":"u1","timestamp":"2026-01-02T03:04:05.678Z","entrypoint":"cli","cwd":"{cwd}","sessionId":"s","gitBranch":"main"}}"#,
            serde_json::to_string(text).unwrap()
        ) + "\n"
    }

    fn assistant(text: &str) -> String {
        format!(
            r#"{{"type":"assistant","message":{{"id":"m","content":[{{"type":"text","text":"{text}"}}]}},"cwd":"/w","gitBranch":"feature"}}"#
        ) + "\n"
    }

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let cwd = home.path().join("work");
        fs::create_dir_all(&cwd).unwrap();
        let cwd = cwd.canonicalize().unwrap();
        let dir = project_dir(home.path(), &cwd);
        fs::create_dir_all(&dir).unwrap();
        (home, cwd, dir)
    }

    fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
        let path = dir.join(name);
        let mut file = File::create(&path).unwrap();
        file.write_all(content.as_bytes()).unwrap();
        path
    }

    fn set_mtime(path: &Path, secs: u64) {
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn titles_prefer_custom_title_then_last_prompt_then_first_prompt() {
        let (home, cwd, dir) = setup();
        let c = cwd.to_str().unwrap();
        let a = write(
            &dir,
            &format!("{SID_A}.jsonl"),
            &format!(
                "{}{}{}{}{}",
                r#"{"type":"custom-title","customTitle":"Old name","sessionId":"s"}"#.to_owned()
                    + "\n",
                user(c, "first question"),
                assistant("answer"),
                r#"{"type":"custom-title","customTitle":"  My title ","sessionId":"s"}"#.to_owned()
                    + "\n",
                r#"{"type":"last-prompt","lastPrompt":"second question","sessionId":"s"}"#
                    .to_owned()
                    + "\n",
            ),
        );
        let b = write(
            &dir,
            &format!("{SID_B}.jsonl"),
            &format!(
                "{}{}{}garbage line\n{{\"type\":\"last-prompt\",\"lastPr",
                user(c, "<command-name>/cost</command-name>"),
                user(c, "hello\nthere"),
                r#"{"type":"last-prompt","lastPrompt":"latest\nprompt","sessionId":"s"}"#
                    .to_owned()
                    + "\n",
            ),
        );
        set_mtime(&a, 2_000_000_000);
        set_mtime(&b, 1_000_000_000);
        let list = list_conversations(home.path(), &cwd).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].session_id, SID_A);
        assert_eq!(list[0].title, "My title");
        assert_eq!(list[0].first_prompt.as_deref(), Some("first question"));
        assert_eq!(list[0].cwd, c);
        assert_eq!(
            list[0].git_branch.as_deref(),
            Some("feature"),
            "the branch of the last records"
        );
        assert_eq!(list[0].entrypoint.as_deref(), Some("cli"));
        assert_eq!(list[0].messages, 2);
        assert_eq!(
            list[0].created_at,
            Some(time::macros::datetime!(2026-01-02 03:04:05.678 UTC))
        );
        assert_eq!(list[0].last_modified.unix_timestamp(), 2_000_000_000);
        assert_eq!(list[0].file_size, fs::metadata(&a).unwrap().len());
        assert_eq!(list[1].session_id, SID_B);
        assert_eq!(list[1].title, "latest prompt");
        assert_eq!(list[1].first_prompt.as_deref(), Some("hello there"));
    }

    #[test]
    fn files_of_other_directories_sharing_the_folder_are_skipped() {
        let (home, cwd, dir) = setup();
        // `/x/work-1` and `/x/work.1` share a folder name.
        write(
            &dir,
            &format!("{SID_A}.jsonl"),
            &user("/somewhere/else", "not mine"),
        );
        write(
            &dir,
            &format!("{SID_B}.jsonl"),
            &user(cwd.to_str().unwrap(), "mine"),
        );
        let list = list_conversations(home.path(), &cwd).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].title, "mine");
    }

    #[test]
    fn odd_files_are_skipped_and_a_missing_folder_is_empty() {
        let (home, cwd, dir) = setup();
        let c = cwd.to_str().unwrap();
        write(&dir, "notes.jsonl", &user(c, "not a session file"));
        write(
            &dir,
            &format!("{SID_A}.orphaned-1-abc.jsonl"),
            &user(c, "orphan"),
        );
        write(&dir, &format!("{SID_A}.jsonl"), "garbage\n\n");
        write(
            &dir,
            &format!("{SID_B}.jsonl"),
            &user(c, "<command-name>/cost</command-name>"),
        );
        fs::create_dir_all(dir.join(SID_A).join("subagents")).unwrap();
        let list = list_conversations(home.path(), &cwd).unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].title, "/cost", "only a command: its name");
        assert!(list_conversations(home.path(), Path::new("/no/such/dir"))
            .unwrap()
            .is_empty());
        let empty_home = tempfile::tempdir().unwrap();
        assert!(list_conversations(empty_home.path(), &cwd)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn big_files_are_read_at_head_and_tail_only() {
        let (home, cwd, dir) = setup();
        let c = cwd.to_str().unwrap();
        let mut content = user(c, "the first prompt");
        content.push_str(r#"{"type":"custom-title","customTitle":"Early title","sessionId":"s"}"#);
        content.push('\n');
        let filler = assistant(&"y".repeat(10_000));
        while (content.len() as u64) < 2 * FULL_READ_MAX_BYTES {
            content.push_str(&filler);
        }
        // A title in the middle is not seen; the one in the tail is.
        content.push_str(r#"{"type":"custom-title","customTitle":"Middle title","sessionId":"s"}"#);
        content.push('\n');
        for _ in 0..10 {
            content.push_str(&filler);
        }
        let records = content.lines().count();
        content.push_str(r#"{"type":"last-prompt","lastPrompt":"tail prompt","sessionId":"s"}"#);
        content.push('\n');
        write(&dir, &format!("{SID_A}.jsonl"), &content);
        let list = list_conversations(home.path(), &cwd).unwrap();
        assert_eq!(list[0].first_prompt.as_deref(), Some("the first prompt"));
        assert_eq!(list[0].title, "Early title");
        assert_eq!(list[0].git_branch.as_deref(), Some("feature"));
        let exact = records - 2;
        let estimate = list[0].messages;
        assert!(
            estimate.abs_diff(exact) * 5 < exact,
            "{estimate} vs {exact}"
        );
    }

    #[test]
    fn real_cli_files_are_summarized() {
        let (home, _, _) = setup();
        let cwd = Path::new("/tmp/ccx2/work");
        let dir = project_dir(home.path(), cwd);
        fs::create_dir_all(&dir).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/transcript/fixtures");
        let session = "65ab1388-0111-4eba-85a3-f172d0359a2e";
        let tui = "caa9c721-41c7-44e1-a3ff-ae7a4c6d68cc";
        fs::copy(
            fixtures.join("stream-json-session.jsonl"),
            dir.join(format!("{session}.jsonl")),
        )
        .unwrap();
        fs::copy(
            fixtures.join("tui-session.jsonl"),
            dir.join(format!("{tui}.jsonl")),
        )
        .unwrap();
        set_mtime(&dir.join(format!("{tui}.jsonl")), 1);
        let list = list_conversations(home.path(), cwd).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].session_id, session);
        assert_eq!(list[0].title, "fail please");
        assert_eq!(list[0].first_prompt.as_deref(), Some("first turn"));
        assert_eq!(list[0].entrypoint.as_deref(), Some("sdk-cli"));
        assert_eq!(list[0].git_branch.as_deref(), Some("HEAD"));
        assert_eq!(list[0].messages, 20);
        assert_eq!(list[1].title, "hello from the tui");
        assert_eq!(list[1].entrypoint.as_deref(), Some("cli"));
        assert_eq!(list[1].messages, 2);
    }

    #[test]
    fn conversations_serialize_with_rfc3339_times() {
        let conversation = Conversation {
            session_id: SID_A.into(),
            title: "t".into(),
            first_prompt: None,
            cwd: "/w".into(),
            git_branch: None,
            created_at: None,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            file_size: 1,
            entrypoint: None,
            messages: 0,
        };
        let json = serde_json::to_value(&conversation).unwrap();
        assert_eq!(json["last_modified"], "1970-01-01T00:00:00Z");
        assert_eq!(json["created_at"], Value::Null);
    }
}
