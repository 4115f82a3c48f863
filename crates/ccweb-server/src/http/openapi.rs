//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the API, written by
//! hand in `crates/ccweb-server/openapi.json` and embedded in the binary.
//! A test keeps its paths and methods equal to the router's.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::Auth;
use crate::state::AppState;

/// The document, as written.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// Serves the document to authenticated callers. Under a `base_path` its
/// only server is that path, so tools that read it call the right URLs
/// without being told the prefix.
pub async fn document(_auth: Auth, State(state): State<AppState>) -> Response {
    let body = match state.config.base_path.as_deref() {
        None => DOCUMENT.to_owned(),
        Some(base) => with_base_path(base),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The document with `base` as its one server.
fn with_base_path(base: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(DOCUMENT) else {
        // Cannot happen: a test parses the embedded document.
        return DOCUMENT.to_owned();
    };
    doc["servers"] = serde_json::json!([{
        "url": base,
        "description": "This server: every path is under its base_path.",
    }]);
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_a_base_path_the_document_names_it_as_its_server() {
        let doc: serde_json::Value = serde_json::from_str(&with_base_path("/ccweb")).unwrap();
        assert_eq!(doc["servers"].as_array().unwrap().len(), 1);
        assert_eq!(doc["servers"][0]["url"], "/ccweb");
        let original: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(doc["paths"], original["paths"], "nothing else changes");
    }
}
