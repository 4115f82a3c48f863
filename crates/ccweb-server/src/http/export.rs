//! `GET /api/claude/sessions/{id}/export?format=markdown|json|asciicast`:
//! the transcript or the terminal recording as a streamed download.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::export::{self, ExportError, Format};
use crate::http::sessions::visible_session;
use crate::json::ApiQuery;
use crate::state::AppState;

/// Query of the export endpoint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `markdown` (default), `json` or `asciicast`.
    format: Option<String>,
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::NoRecording => ApiError::NotFound(e.to_string()),
            ExportError::Store(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Exports a session.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let record = visible_session(&state, &auth, &id).await?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("markdown")
        .parse()
        .map_err(|m: String| ApiError::bad_request("invalid_query", m))?;
    let info = state.sessions.info(record);
    let disposition = format!(
        "attachment; filename=\"{}.{}\"",
        export::file_stem(&info),
        format.extension()
    );
    let body = export::export(state.store.clone(), &state.config, info, format).await?;
    Ok((
        [
            (header::CONTENT_TYPE, format.mime().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
