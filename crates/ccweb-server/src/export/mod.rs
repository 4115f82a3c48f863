//! Session exports, shared by `GET /api/claude/sessions/{id}/export` and
//! `ccweb export`: Markdown and JSON of the stored events, paged from the
//! store, and the asciicast recording of a terminal session, read from its
//! file. Each is a stream of chunks, never a whole document in memory.

pub mod markdown;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use ccweb_protocol::chat::StoredEvent;
use ccweb_protocol::SessionInfo;
use ccweb_store::{Store, StoreError, MAX_EVENTS_PAGE};

use crate::config::Config;

/// Bytes read from a recording at a time.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The transcript for people to read.
    Markdown,
    /// `{"session": …, "events": [...]}`: the stored events.
    Json,
    /// The terminal recording (asciicast v2).
    Asciicast,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "markdown" => Ok(Self::Markdown),
            "json" => Ok(Self::Json),
            "asciicast" => Ok(Self::Asciicast),
            _ => Err("format must be markdown, json or asciicast".into()),
        }
    }
}

impl Format {
    /// The `Content-Type` of the export.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Json => "application/json",
            Self::Asciicast => "application/x-asciicast",
        }
    }
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Json => "json",
            Self::Asciicast => "cast",
        }
    }
}

/// Why an export cannot be made (or goes no further).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Nothing was recorded for this session.
    #[error("this session has no terminal recording (chat sessions have none, recording_max_bytes = 0 turns recording off, and recording_retention_days deletes old ones); export it as markdown or json")]
    NoRecording,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The recording could not be read.
    #[error("reading the recording: {0}")]
    Io(#[from] std::io::Error),
    /// An event could not be written as JSON.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A stream of an export's bytes.
pub type ExportStream = BoxStream<'static, Result<Bytes, ExportError>>;

/// Where terminal recordings are kept.
pub fn recordings_dir(config: &Config) -> PathBuf {
    config.data_dir.join("recordings")
}

/// The recording file of session `id`.
pub fn recording_path(config: &Config, id: Uuid) -> PathBuf {
    ccweb_runner::recording::recording_path(&recordings_dir(config), &id.to_string())
}

/// What to record of a new terminal session run; `None` when recording
/// is off or its directory cannot be made (the session runs regardless).
pub fn recording_spec(config: &Config, id: Uuid) -> Option<ccweb_runner::RecordingSpec> {
    use std::os::unix::fs::DirBuilderExt;
    if config.recording_max_bytes == 0 {
        return None;
    }
    let dir = recordings_dir(config);
    // Recordings hold everything the terminal showed: owner-only.
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot create the recordings directory; not recording");
        return None;
    }
    Some(ccweb_runner::RecordingSpec {
        path: recording_path(config, id),
        max_bytes: config.recording_max_bytes,
        term: "xterm-256color".into(),
    })
}

/// Deletes the recording of a purged session.
pub async fn remove_recording(config: &Config, id: Uuid) {
    let path = recording_path(config, id);
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot delete a recording"),
    }
}

/// The export of `info` as `format`. Errors that can be known before the
/// first byte (no recording) come back here; later ones end the stream.
pub async fn export(
    store: Store,
    config: &Config,
    info: SessionInfo,
    format: Format,
) -> Result<ExportStream, ExportError> {
    let stream = match format {
        Format::Markdown => markdown_stream(store, info),
        Format::Json => json_stream(store, info)?,
        Format::Asciicast => asciicast_stream(&recording_path(config, info.id)).await?,
    };
    // Fused: a body may be polled again after its end (the compression
    // layer does), which `unfold` answers with a panic.
    Ok(stream.fuse().boxed())
}

/// A safe file name without extension: `ccweb-<title>-<id prefix>`.
pub fn file_stem(info: &SessionInfo) -> String {
    let title: String = info
        .title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let id = info.id.simple().to_string();
    format!("ccweb-{}-{}", title.trim_matches('-'), &id[..8])
}

/// The session's events, a page at a time.
fn pages(store: Store, id: Uuid) -> BoxStream<'static, Result<Vec<StoredEvent>, StoreError>> {
    stream::unfold(Some(0_i64), move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            match store.events_after(id, after, MAX_EVENTS_PAGE).await {
                Ok(page) => {
                    let last = page.last()?.seq;
                    Some((Ok(page), Some(last)))
                }
                // One error, then the stream ends.
                Err(e) => Some((Err(e), None)),
            }
        }
    })
    .boxed()
}

fn markdown_stream(store: Store, info: SessionInfo) -> ExportStream {
    let head = Bytes::from(markdown::header(&info));
    let mut renderer = markdown::Renderer::default();
    let body = pages(store, info.id)
        .map(move |page| -> Result<Bytes, ExportError> { Ok(Bytes::from(renderer.page(&page?))) });
    stream::once(async { Ok(head) }).chain(body).boxed()
}

fn json_stream(store: Store, info: SessionInfo) -> Result<ExportStream, ExportError> {
    let head = format!(
        "{{\"session\":{},\"events\":[",
        serde_json::to_string(&info)?
    );
    let mut first = true;
    let body = pages(store, info.id).map(move |page| -> Result<Bytes, ExportError> {
        let mut out = Vec::new();
        for event in page? {
            out.extend_from_slice(if first { b"\n" } else { b",\n" });
            first = false;
            serde_json::to_writer(&mut out, &event)?;
        }
        Ok(Bytes::from(out))
    });
    Ok(stream::once(async { Ok(Bytes::from(head)) })
        .chain(body)
        .chain(stream::once(async { Ok(Bytes::from_static(b"\n]}\n")) }))
        .boxed())
}

/// The recording as it is now. A live session's writer may be in the
/// middle of a line: the export ends at the last whole line.
async fn asciicast_stream(path: &Path) -> Result<ExportStream, ExportError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ExportError::NoRecording),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata().await?.len();
    let reader = Reader {
        file,
        left: len,
        partial: Vec::new(),
    };
    Ok(stream::try_unfold(reader, next_chunk).boxed())
}

/// A recording being read up to the length it had when the export began.
struct Reader {
    file: tokio::fs::File,
    /// Bytes still to read.
    left: u64,
    /// Bytes after the last newline, held back until their line is whole.
    partial: Vec<u8>,
}

/// The next run of whole lines.
async fn next_chunk(mut r: Reader) -> Result<Option<(Bytes, Reader)>, ExportError> {
    loop {
        if r.left == 0 {
            return Ok(None);
        }
        let want = READ_CHUNK_BYTES.min(usize::try_from(r.left).unwrap_or(READ_CHUNK_BYTES));
        let mut buf = vec![0; want];
        let n = r.file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        r.left -= n as u64;
        buf.truncate(n);
        let mut data = std::mem::take(&mut r.partial);
        data.extend_from_slice(&buf);
        let Some(end) = data.iter().rposition(|&b| b == b'\n') else {
            r.partial = data;
            continue;
        };
        r.partial = data.split_off(end + 1);
        return Ok(Some((Bytes::from(data), r)));
    }
}
