//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the API, written by
//! hand in `crates/ccweb-server/openapi.json` and embedded in the binary.
//! A test keeps its paths and methods equal to the router's.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::Auth;

/// The document, as written.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// Serves the document to authenticated callers.
pub async fn document(_auth: Auth) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}
