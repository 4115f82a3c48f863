//! `ccweb export SESSION_ID --format … [-o FILE]`: the server's export
//! streams, read straight from the data directory.

use anyhow::Context;
use futures_util::StreamExt;
use std::path::Path;
use tokio::io::AsyncWriteExt;

use ccweb_server::export::{self, Format};
use ccweb_server::Config;

/// Writes the export of `session_id` to `output` (0600) or stdout.
pub(crate) async fn run(
    config: &Config,
    session_id: &str,
    format: &str,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let format: Format = format.parse().map_err(anyhow::Error::msg)?;
    let db = config.data_dir.join("ccweb.db");
    anyhow::ensure!(
        db.is_file(),
        "no session {session_id}: there is no database at {}",
        db.display()
    );
    let store = ccweb_store::Store::open(&db)
        .await
        .with_context(|| format!("opening the database {}", db.display()))?;
    let result = async {
        let record = match uuid::Uuid::parse_str(session_id) {
            Ok(id) => store.get_session(id).await?,
            Err(_) => None,
        }
        .with_context(|| format!("no session {session_id} in {}", config.data_dir.display()))?;
        let stream = export::export(store.clone(), config, record.into_info(0), format).await?;
        match output {
            Some(path) => {
                let written = write_file(path, stream).await;
                if written.is_err() {
                    // Half an export is worse than none.
                    let _ = tokio::fs::remove_file(path).await;
                }
                written
            }
            None => write_all(tokio::io::stdout(), stream).await,
        }
    }
    .await;
    store.close().await;
    result
}

async fn write_file(path: &Path, stream: export::ExportStream) -> anyhow::Result<()> {
    // Transcripts and recordings show whatever the session saw: owner-only.
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
        .with_context(|| format!("creating {}", path.display()))?;
    write_all(file, stream)
        .await
        .with_context(|| format!("writing {}", path.display()))
}

async fn write_all(
    mut out: impl tokio::io::AsyncWrite + Unpin,
    mut stream: export::ExportStream,
) -> anyhow::Result<()> {
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk?).await?;
    }
    out.flush().await?;
    Ok(())
}
