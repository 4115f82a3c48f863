//! The embedded web UI as the browser gets it (headers, caching,
//! compression, no inline scripts) and the directory picker's endpoint.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Options, TestServer};
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn pages_carry_a_strict_csp_and_security_headers_and_no_inline_script() {
    let server = TestServer::start(Options::shell("sleep 1000")).await;
    let resp = server
        .http
        .get(server.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(
        !csp.contains("script-src 'self' 'unsafe-inline'"),
        "no inline scripts allowed: {csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let body = resp.text().await.unwrap();
    // Every <script> has a src: the page works under the CSP above.
    for tag in body.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(
            open.contains("src="),
            "inline script in index.html: <script{open}>"
        );
    }
    // API answers carry the headers too.
    let api = server.req(Method::GET, "/api/me").send().await.unwrap();
    assert!(api.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_compressed() {
    let server = TestServer::start(Options::shell("sleep 1000")).await;
    let index = server
        .http
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The hashed entry script (`theme-init.js`, before it, is not hashed).
    let Some(asset) = index
        .split("src=\"./assets/")
        .nth(1)
        .and_then(|s| s.split('"').next())
    else {
        eprintln!("the UI is not built into this binary (web/dist missing); nothing to check");
        return;
    };
    let resp = server
        .http
        .get(server.url(&format!("/assets/{asset}")))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn the_directory_picker_lists_only_inside_the_allowed_roots() {
    let server = TestServer::start(Options::shell("sleep 1000")).await;
    std::fs::create_dir_all(server.root.join("project/sub-b")).unwrap();
    std::fs::create_dir_all(server.root.join("project/Sub-a")).unwrap();
    std::fs::create_dir_all(server.root.join("project/.hidden")).unwrap();
    std::fs::write(server.root.join("project/file.txt"), "x").unwrap();
    let listing = server
        .get_json(&format!(
            "/api/fs/dirs?path={}",
            server.root.join("project").display()
        ))
        .await;
    let names: Vec<&str> = listing["dirs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Sub-a", "sub-b"],
        "sorted, directories only, no hidden ones"
    );
    assert_eq!(listing["parent"].as_str(), server.root.to_str());
    let with_hidden = server
        .get_json(&format!(
            "/api/fs/dirs?path={}&hidden=1",
            server.root.join("project").display()
        ))
        .await;
    assert_eq!(with_hidden["dirs"].as_array().unwrap().len(), 3);
    // Without a path: the first root, whose parent is outside (none).
    let top = server.get_json("/api/fs/dirs").await;
    assert_eq!(top["path"].as_str(), server.root.to_str());
    assert_eq!(top["parent"], Value::Null);
    for (query, status, code) in [
        ("path=/etc", 403, "path_not_allowed"),
        ("path=/nonexistent", 400, "invalid_working_dir"),
        ("bogus=1", 400, "invalid_query"),
        ("hidden=yes", 400, "invalid_query"),
    ] {
        let a = common::call(server.req(Method::GET, &format!("/api/fs/dirs?{query}"))).await;
        common::assert_error(query, &a, status, code);
    }
    let anon = server
        .http
        .get(server.url("/api/fs/dirs"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}
