//! What every request gets on its way through the router: an
//! `x-request-id` (a client's or proxy's own is kept when it looks like an
//! id, else replaced by a random UUID; either way it is echoed on the
//! response), a `request` tracing span carrying that id, the method and
//! the route template (so every log line of the handler, and of a
//! WebSocket task it starts, names its request), and the HTTP metrics.
//!
//! Neither the span nor any log line holds the request's path or query:
//! paths carry share-link secrets and `/login?token=…` the one-time login
//! token. Only route templates (`/api/shared/{secret}`) are recorded.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use std::time::{Duration, Instant};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::metrics::Metrics;
use crate::state::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id accepted from a client.
const MAX_REQUEST_ID_CHARS: usize = 64;

/// The route label of requests no route matched (the UI's pages, unknown paths).
const FALLBACK_ROUTE: &str = "fallback";

/// Adds request ids, the request span and HTTP metrics to every route of `router`.
pub(crate) fn instrument(router: Router<AppState>, metrics: Metrics) -> Router<AppState> {
    // `layer` wraps each route (after routing, so `MatchedPath` is known);
    // the last one added runs first.
    router
        .layer(axum::middleware::from_fn_with_state(metrics, http_metrics))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response)
                // 5xx answers are logged by `log_response`.
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_odd_request_id))
}

/// A client-supplied id is kept only when it is short and plain (letters,
/// digits, `-`, `_`, `.`, `:`), so nobody can put arbitrary text into our
/// logs through it; otherwise a fresh one replaces it.
async fn drop_odd_request_id(mut req: Request) -> Request {
    let plain = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= MAX_REQUEST_ID_CHARS
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    };
    let headers = req.headers_mut();
    let values = headers.get_all(REQUEST_ID_HEADER);
    let keep = values.iter().count() == 1 && values.iter().all(plain);
    if !keep {
        headers.remove(REQUEST_ID_HEADER);
    }
    req
}

/// The route template of a request, or [`FALLBACK_ROUTE`].
fn route_of<B>(req: &axum::http::Request<B>) -> &str {
    match req.extensions().get::<MatchedPath>() {
        // A nested router's fallback shows up as a catch-all template.
        Some(p) if !p.as_str().contains("__private__") => p.as_str(),
        _ => FALLBACK_ROUTE,
    }
}

/// The `request` span: id, method, route template (never the path).
fn request_span<B>(req: &axum::http::Request<B>) -> Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = %id,
        method = method_label(req.method()),
        route = route_of(req),
    )
}

fn log_response<B>(resp: &axum::http::Response<B>, took: Duration, _span: &Span) {
    let status = resp.status().as_u16();
    let ms = took.as_millis() as u64;
    if resp.status().is_server_error() {
        tracing::warn!(status, ms, "answered with a server error");
    } else {
        tracing::debug!(status, ms, "answered");
    }
}

/// Counts the request by method, route template and status.
async fn http_metrics(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = route_of(&req).to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.http_request(method, &route, resp.status().as_u16(), start.elapsed());
    resp
}

/// A method as a label: the standard ones by name, anything else `other`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
