//! Reading the CLI's stdout and stderr as lines of any length (up to a
//! bound), without ever failing on bytes that are not UTF-8.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::MAX_LINE_BYTES;

/// One stdout or stderr line, or the note that one was too long.
pub(super) enum Line {
    Text(String),
    TooLong(usize),
}

/// Reads newline-terminated lines of any length up to [`MAX_LINE_BYTES`];
/// a longer one is skipped to its end and reported.
pub(super) async fn read_lines<R: AsyncBufRead + Unpin>(
    mut reader: R,
    tx: mpsc::Sender<Line>,
    cancel: CancellationToken,
) {
    let mut buf = Vec::new();
    let mut skipped = 0usize;
    loop {
        let chunk = tokio::select! {
            () = cancel.cancelled() => return,
            r = reader.fill_buf() => match r {
                Ok([]) | Err(_) => break,
                Ok(chunk) => chunk,
            },
        };
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if skipped > 0 || buf.len() + take > MAX_LINE_BYTES {
            skipped += take;
        } else {
            buf.extend_from_slice(&chunk[..take]);
        }
        reader.consume(take);
        if done {
            let line = if skipped > 0 {
                Line::TooLong(buf.len() + skipped)
            } else {
                Line::Text(String::from_utf8_lossy(&buf).into_owned())
            };
            buf.clear();
            skipped = 0;
            if tx.send(line).await.is_err() {
                return;
            }
        }
    }
    if !buf.is_empty() {
        let _ = tx
            .send(Line::Text(String::from_utf8_lossy(&buf).into_owned()))
            .await;
    }
}
