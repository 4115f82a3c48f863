//! The web UI, embedded in the binary (built by `npm run build` into
//! `web/dist`). Hashed files under `assets/` are cached for a year; the
//! rest (index.html, the manifest) must be revalidated. A build without
//! the UI serves a page that says how to build it, so `cargo build` works
//! without Node.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};

/// The files of `web/dist`, read from disk in debug builds and embedded in
/// release builds.
#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../web/dist"]
#[allow_missing = true]
struct Ui;

/// Cache policy of hashed, immutable assets.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else.
const REVALIDATE: &str = "no-cache";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>ccweb</title>\
<p>The web UI is not part of this build. Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> \
and rebuild ccweb (scripts/run.sh does both). The API works regardless.";

fn file(path: &str) -> Option<Response> {
    let content = Ui::get(path)?;
    let mime = content.metadata.mimetype();
    let cache = if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut resp = Response::new(Body::from(content.data.into_owned()));
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(resp)
}

/// Serves a UI file, or `index.html` for any other page path (the app
/// routes itself), or a hint page when the UI was not built.
pub async fn serve(req: Request<Body>) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    if let Some(resp) = (!path.is_empty()).then(|| file(path)).flatten() {
        return resp;
    }
    // A missing hashed asset is a real 404: answering it with HTML would
    // only confuse the browser.
    if path.starts_with("assets/") {
        return crate::error::error_body(StatusCode::NOT_FOUND, "not_found", "no such file");
    }
    match file("index.html") {
        Some(resp) => resp,
        None => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, REVALIDATE)],
            axum::response::Html(NOT_BUILT),
        )
            .into_response(),
    }
}
