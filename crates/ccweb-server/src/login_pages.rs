//! The small HTML pages of `GET /login` (the one-time link): how to log in,
//! and — for a used, wrong or rate-limited link — what to do next. Scripts
//! that ask for JSON get the API's JSON error instead.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Whether the caller asked for JSON rather than a page: an `Accept` that
/// names `application/json` and not `text/html` (a script). Browsers, and
/// clients that accept anything, get the page.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// Whether a request is a top-level navigation (the login link opened in
/// the address bar), by the `Sec-Fetch-*` headers browsers send: an
/// `<img>`, a script's `fetch` or a frame is not. A request without them (a
/// script such as curl, or a browser too old to send them) counts as one.
pub(crate) fn is_navigation(headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    header("sec-fetch-dest").is_none_or(|d| d.eq_ignore_ascii_case("document"))
        && header("sec-fetch-mode").is_none_or(|m| m.eq_ignore_ascii_case("navigate"))
}

/// A refused login link: the JSON error for scripts that ask for JSON, else
/// the same status (and `Retry-After`) with a page saying what to do next.
pub(crate) fn link_refused(headers: &HeaderMap, err: ApiError, page: &'static str) -> Response {
    let mut resp = err.into_response();
    if !wants_json(headers) {
        *resp.body_mut() = axum::body::Body::from(page);
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    resp
}

/// Builds one of the small pages of `/login` (no script; inline style is
/// allowed by the CSP). `./` there is the app, also under a proxy sub-path.
macro_rules! login_page_html {
    ($title:literal, $body:literal) => {
        concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta name=\"color-scheme\" content=\"light dark\">",
            "<title>",
            $title,
            " · ccweb</title><style>body{font:16px/1.5 system-ui,sans-serif;",
            "max-width:36rem;margin:3rem auto;padding:0 1.25rem}h1{font-size:1.6rem;line-height:1.25}",
            "code{font-size:.95em}",
            "li{margin:.4rem 0}.button{display:inline-block;margin-top:.5rem;padding:.5rem 1rem;",
            "border-radius:6px;background:#c2603d;color:#fff;text-decoration:none}</style>",
            "</head><body><main><h1>",
            $title,
            "</h1>",
            $body,
            "</main></body></html>"
        )
    };
}

/// `/login` without a token.
pub(crate) const LOGIN_HELP: &str = login_page_html!(
    "Log in to ccweb",
    "<p>When it starts, <code>ccweb serve</code> prints a one-time login link in its terminal \
     (or its service log, e.g. <code>journalctl -u ccweb</code>). Open that link, or log in \
     with a password or a token on the <a href=\"./\">login page</a>. Scripts: \
     <code>POST /api/auth/login</code> or <code>Authorization: Bearer</code> with an API token.</p>\
     <p><a class=\"button\" href=\"./\" data-testid=\"to-login\">Go to the login page</a></p>"
);

/// `/login?token=…` with a used or wrong token.
pub(crate) const LINK_USED: &str = login_page_html!(
    "This login link was already used",
    "<p data-testid=\"link-used\">Each link that <code>ccweb serve</code> prints works only \
     once, and this one has been used (or is mistyped).</p><ul>\
     <li>If you have set a password, <a href=\"./\">log in with your password</a>.</li>\
     <li>Otherwise ask an admin for a login token, or run \
     <code>ccweb token create --user NAME</code> on the server, and paste the token on the \
     login page under <b>Token</b>.</li>\
     <li>Restarting <code>ccweb serve</code> prints a new one-time link.</li></ul>\
     <p><a class=\"button\" href=\"./\" data-testid=\"to-login\">Go to the login page</a></p>"
);

/// `/login?token=…` while this client has used up its failed attempts.
pub(crate) const LINK_RATE_LIMITED: &str = login_page_html!(
    "Too many login attempts",
    "<p>Too many failed logins came from this address. Wait a minute, then try again or \
     <a href=\"./\">log in with your password</a>.</p>"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::ACCEPT,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn only_top_level_navigations_and_scripts_without_fetch_metadata_count_as_navigation() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(is_navigation(&HeaderMap::new()));
        assert!(is_navigation(&with(&[
            ("sec-fetch-dest", "document"),
            ("sec-fetch-mode", "navigate")
        ])));
        for refused in [
            with(&[("sec-fetch-dest", "image"), ("sec-fetch-mode", "no-cors")]),
            with(&[("sec-fetch-dest", "empty"), ("sec-fetch-mode", "cors")]),
            with(&[("sec-fetch-dest", "iframe"), ("sec-fetch-mode", "navigate")]),
            with(&[("sec-fetch-mode", "no-cors")]),
        ] {
            assert!(!is_navigation(&refused), "{refused:?}");
        }
    }

    #[test]
    fn only_callers_asking_for_json_and_not_html_get_json() {
        assert!(wants_json(&accept("application/json")));
        assert!(wants_json(&accept("application/json, */*;q=0.5")));
        for page in [
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "*/*",
            "text/html, application/json",
        ] {
            assert!(!wants_json(&accept(page)), "{page}");
        }
        assert!(!wants_json(&HeaderMap::new()), "no Accept: a page");
    }
}
