//! The OpenAPI document cannot drift from the server: it is served at
//! `/api/openapi.json` (authenticated), it is OpenAPI 3.1, every `$ref`
//! resolves, its paths and methods are exactly the routes of `app.rs`
//! (parsed from the source), and real answers of a running server match
//! the schemas it documents for them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer, call, status_of, Options, TestServer, SESSIONS};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The methods an OpenAPI path item may hold (lower case, as keys).
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn crate_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The document as it is in the repository.
fn document_text() -> String {
    std::fs::read_to_string(crate_file("../ccweb-server/openapi.json")).unwrap()
}

fn document() -> Value {
    serde_json::from_str(&document_text()).expect("openapi.json is valid JSON")
}

/// Index just past the parenthesis closing the one open before `start`
/// (string literals skipped).
fn closing_paren(src: &str, start: usize) -> usize {
    let bytes = src.as_bytes();
    let mut depth = 1;
    let mut i = start;
    let mut in_str = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            match c {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    panic!("unbalanced parentheses after byte {start} of app.rs");
}

/// The methods a handler expression routes: `get(…).post(…)`, `delete(…)`.
fn methods_of(handlers: &str) -> Vec<String> {
    let bytes = handlers.as_bytes();
    let mut found = Vec::new();
    for method in METHODS.iter().chain(&["any", "on"]) {
        let needle = format!("{method}(");
        let mut from = 0;
        while let Some(at) = handlers[from..].find(&needle) {
            let at = from + at;
            from = at + needle.len();
            // A whole word, not a path segment (`http::sessions::get`) or a suffix.
            let before = at.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            assert!(
                METHODS.contains(method),
                "app.rs routes with `{method}(…)`: teach this test (and the document) its methods"
            );
            found.push(method.to_uppercase());
        }
    }
    found
}

/// Every (path, METHOD) that `routes()` in app.rs registers, the routes of
/// the nested `/api` router with their prefix.
fn router_routes() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(crate_file("../ccweb-server/src/app.rs")).unwrap();
    let body_start = src.find("\nfn routes(").expect("app.rs has fn routes");
    let body_end = body_start + src[body_start..].find("\n}\n").expect("end of fn routes");
    let body = &src[body_start..body_end];
    let api_start = body
        .find("let api = Router::new()")
        .expect("routes() builds the API router as `let api = Router::new()`");
    let app_start = body
        .find("let app = Router::new()")
        .expect("routes() builds the app as `let app = Router::new()`");
    assert!(api_start < app_start, "the API router comes first");
    assert!(
        body.contains(".nest(\"/api\", api)"),
        "the API router is nested at /api"
    );
    for other in [".route_service(", ".merge(", ".nest_service("] {
        assert!(
            !body.contains(other),
            "routes() uses `{other}`: teach this test to read it"
        );
    }
    assert_eq!(
        body.matches(".nest(").count(),
        1,
        "routes() nests only the API router"
    );
    let mut routes = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = body[from..].find(".route(") {
        let open = from + at + ".route(".len();
        let close = closing_paren(body, open);
        from = close;
        let args = body[open..close - 1].trim_start();
        let literal = args
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("a route path that is not a literal: {args}"));
        let end = literal.find('"').unwrap();
        let path = &literal[..end];
        let prefix = if open < app_start { "/api" } else { "" };
        let methods = methods_of(&literal[end + 1..]);
        assert!(!methods.is_empty(), "no method found for route {path}");
        for method in methods {
            assert!(
                routes.insert((format!("{prefix}{path}"), method.clone())),
                "{method} {prefix}{path} is routed twice"
            );
        }
    }
    routes
}

/// Every (path, METHOD) of the document.
fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for key in item.as_object().unwrap().keys() {
            if METHODS.contains(&key.as_str()) {
                routes.insert((path.clone(), key.to_uppercase()));
            }
        }
    }
    routes
}

#[test]
fn the_router_is_parsed_whole() {
    let routes = router_routes();
    for want in [
        ("/api/claude/sessions", "POST"),
        ("/api/claude/sessions", "GET"),
        ("/api/claude/sessions/{id}", "PATCH"),
        ("/api/claude/sessions/{id}", "DELETE"),
        ("/api/claude/sessions/{id}/chat", "GET"),
        ("/api/openapi.json", "GET"),
        ("/healthz", "GET"),
        ("/login", "GET"),
    ] {
        assert!(
            routes.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} not found in app.rs: {routes:?}"
        );
    }
    assert!(routes.len() >= 35, "{routes:?}");
}

#[test]
fn every_route_of_the_router_is_documented_and_nothing_else() {
    let router = router_routes();
    let documented = documented_routes(&document());
    let undocumented: Vec<_> = router.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&router).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "crates/ccweb-server/openapi.json and app.rs disagree.\n\
         routed but not documented: {undocumented:?}\n\
         documented but not routed: {unrouted:?}"
    );
}

/// Every `$ref` in `v`, with where it was found.
fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    out.push((at.to_owned(), child.as_str().unwrap_or("").to_owned()));
                } else {
                    refs(child, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The target of a local `$ref`.
fn resolve<'d>(doc: &'d Value, reference: &str) -> Option<&'d Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

#[test]
fn the_document_is_openapi_3_1_and_every_ref_resolves() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut found = Vec::new();
    refs(&doc, "#", &mut found);
    assert!(found.len() > 50, "the document uses components");
    let broken: Vec<_> = found
        .iter()
        .filter(|(_, r)| resolve(&doc, r).is_none())
        .collect();
    assert!(broken.is_empty(), "unresolved $ref (at, ref): {broken:?}");
    // Every component is used.
    let used: BTreeSet<&str> = found.iter().map(|(_, r)| r.as_str()).collect();
    for (kind, items) in doc["components"].as_object().unwrap() {
        if kind == "securitySchemes" {
            continue;
        }
        for name in items.as_object().unwrap().keys() {
            let r = format!("#/components/{kind}/{name}");
            assert!(used.contains(r.as_str()), "{r} is never used");
        }
    }
}

#[test]
fn operations_are_complete_and_their_security_follows_the_rules() {
    let doc = document();
    let schemes: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path_params: Vec<&Value> = item["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let what = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: operationId"));
            assert!(ids.insert(id.to_owned()), "{what}: operationId {id} twice");
            assert!(op["summary"].is_string(), "{what}: summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('1') || s.starts_with('2') || s.starts_with('3')),
                "{what}: a success answer"
            );
            // Path parameters: each `{name}` of the template is declared.
            let params: Vec<Value> = path_params
                .iter()
                .copied()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => resolve(&doc, r).unwrap().clone(),
                    None => p.clone(),
                })
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        params.iter().any(|p| p["in"] == "path"
                            && p["name"] == name
                            && p["required"] == true),
                        "{what}: path parameter {name} is not declared"
                    );
                }
            }
            // Open routes say `security: []`; everything else under /api/ is authenticated and can be 401.
            let open = op.get("security").is_some_and(|s| s == &json!([]));
            let should_be_open = (path.starts_with("/api/auth/") && path != "/api/auth/logout-all")
                || ["/healthz", "/readyz", "/login"].contains(&path.as_str());
            assert_eq!(open, should_be_open, "{what}: security");
            if path.starts_with("/api/") && !open {
                assert!(responses.contains_key("401"), "{what}: documents 401");
            }
            for requirement in op["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains(scheme.as_str()), "{what}: scheme {scheme}");
                }
            }
        }
    }
    for requirement in doc["security"].as_array().unwrap() {
        for scheme in requirement.as_object().unwrap().keys() {
            assert!(schemes.contains(scheme.as_str()), "global scheme {scheme}");
        }
    }
    let cookies: BTreeSet<&str> = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["in"] == "cookie")
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        cookies,
        BTreeSet::from(["ccweb_session", "__Host-ccweb_session"])
    );
}

/// Checks `value` against `schema` (the subset of JSON Schema the document
/// uses: `$ref`, `type`, `enum`, `const`, `oneOf`, `required`,
/// `properties`, `additionalProperties: false`, `items`, `minimum`,
/// `maximum`); returns what does not match.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let target = resolve(doc, r).unwrap_or_else(|| panic!("unresolved {r}"));
        check(doc, target, value, at, errors);
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            other => panic!("unknown type {other}"),
        };
        if !types.iter().any(|t| fits(t)) {
            errors.push(format!("{at}: {value} is not of type {ty}"));
            return;
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            errors.push(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            errors.push(format!("{at}: {value} is not {c}"));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64()) {
        if n < min {
            errors.push(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64()) {
        if n > max {
            errors.push(format!("{at}: {n} > {max}"));
        }
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                check(doc, o, value, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: {value} matches {matching} of oneOf"));
        }
    }
    if let Some(obj) = value.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            if !obj.contains_key(key) {
                errors.push(format!("{at}: missing {key}"));
            }
        }
        let props = schema["properties"].as_object();
        for (key, child) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(s) => check(doc, s, child, &format!("{at}.{key}"), errors),
                None if schema["additionalProperties"] == json!(false) => {
                    errors.push(format!("{at}: undocumented field {key}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// The JSON schema the document gives for `METHOD path` answering `status`.
fn response_schema<'d>(doc: &'d Value, method: &str, path: &str, status: u16) -> &'d Value {
    let mut response = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
    if let Some(r) = response["$ref"].as_str() {
        response = resolve(doc, r).unwrap();
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON answer for {status}"
    );
    schema
}

/// Asserts that a real answer matches what the document says of it.
fn assert_documented(doc: &Value, method: &str, path: &str, (status, body): &(u16, Value)) {
    let mut errors = Vec::new();
    check(
        doc,
        response_schema(doc, method, path, *status),
        body,
        "answer",
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "{method} {path} → {status} disagrees with openapi.json: {errors:?}\n{body}"
    );
}

#[tokio::test]
async fn the_document_is_served_to_authenticated_callers_only() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let resp = server
        .req(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap();
    let (status, body) = answer(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body, document(), "the served document is the repository's");
    assert_eq!(body["openapi"], "3.1.0");
    // A cookie works like everywhere else under /api/.
    let (status, _) =
        call(server.req_cookie(&server.admin_cookie, Method::GET, "/api/openapi.json")).await;
    assert_eq!(status, 200);
    // Without credentials: the documented 401.
    let doc = document();
    let unauthorized = call(server.http.get(server.url("/api/openapi.json"))).await;
    assert_eq!(unauthorized.1["error"]["code"], "unauthorized");
    assert_documented(&doc, "GET", "/api/openapi.json", &unauthorized);
    assert_eq!(
        status_of(server.req(Method::POST, "/api/openapi.json")).await,
        405
    );
}

#[tokio::test]
async fn under_a_base_path_the_served_document_names_it_as_its_server() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("base_path = \"/ccweb\"")).await;
    let (status, body) = answer(
        server
            .req(Method::GET, "/ccweb/api/openapi.json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["servers"],
        json!([{
            "url": "/ccweb",
            "description": "This server: every path is under its base_path.",
        }])
    );
    assert_eq!(
        body["paths"],
        document()["paths"],
        "the routes are the same"
    );
    // A tool joining the server's URL and a documented path reaches it.
    let url = format!(
        "{}{}",
        body["servers"][0]["url"].as_str().unwrap(),
        "/api/me"
    );
    let (status, me) = answer(server.req(Method::GET, &url).send().await.unwrap()).await;
    assert_eq!(
        (status, me["user"]["name"].as_str()),
        (200, Some("admin")),
        "{me}"
    );
}

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let doc = document();
    let check_get = |path: &'static str, doc_path: &'static str| {
        let server = &server;
        let doc = &doc;
        async move {
            let got = call(server.req(Method::GET, path)).await;
            assert_documented(doc, "GET", doc_path, &got);
            got
        }
    };

    let created = call(server.req(Method::POST, SESSIONS).json(
        &json!({"mode": "terminal", "working_dir": server.root.join("project"), "title": "docs"}),
    ))
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_documented(&doc, "POST", SESSIONS, &created);
    let id = created.1["id"].as_str().unwrap().to_owned();
    let one = format!("{SESSIONS}/{id}");

    assert_documented(
        &doc,
        "GET",
        "/api/claude/sessions/{id}",
        &call(server.req(Method::GET, &one)).await,
    );
    check_get(SESSIONS, SESSIONS).await;
    assert_documented(
        &doc,
        "PATCH",
        "/api/claude/sessions/{id}",
        &call(
            server
                .req(Method::PATCH, &one)
                .json(&json!({"title": "renamed"})),
        )
        .await,
    );
    assert_documented(
        &doc,
        "GET",
        "/api/claude/sessions/{id}/events",
        &call(server.req(Method::GET, &format!("{one}/events"))).await,
    );

    let share = call(
        server
            .req(Method::POST, &format!("{one}/shares"))
            .json(&json!({"expires_in_secs": 3600})),
    )
    .await;
    assert_eq!(share.0, 201, "{}", share.1);
    assert_documented(&doc, "POST", "/api/claude/sessions/{id}/shares", &share);
    assert_documented(
        &doc,
        "GET",
        "/api/claude/sessions/{id}/shares",
        &call(server.req(Method::GET, &format!("{one}/shares"))).await,
    );
    let secret = share.1["token"].as_str().unwrap();
    assert_documented(
        &doc,
        "GET",
        "/api/shared/{secret}",
        &call(server.req(Method::GET, &format!("/api/shared/{secret}"))).await,
    );
    assert_documented(
        &doc,
        "GET",
        "/api/shared/{secret}/events",
        &call(server.req(Method::GET, &format!("/api/shared/{secret}/events"))).await,
    );

    let stopped = call(server.req(Method::DELETE, &one)).await;
    assert_eq!(stopped.0, 200, "{}", stopped.1);
    assert_documented(&doc, "DELETE", "/api/claude/sessions/{id}", &stopped);
    // The JSON export is a session and its events.
    let export = answer(
        server
            .req(Method::GET, &format!("{one}/export?format=json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut errors = Vec::new();
    check(
        &doc,
        &doc["paths"]["/api/claude/sessions/{id}/export"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"],
        &export.1,
        "export",
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");

    let token = call(
        server
            .req(Method::POST, "/api/tokens")
            .json(&json!({"name": "docs", "scope": "read", "expires_in_secs": 60})),
    )
    .await;
    assert_eq!(token.0, 201, "{}", token.1);
    assert_documented(&doc, "POST", "/api/tokens", &token);
    check_get("/api/tokens", "/api/tokens").await;

    let user = call(
        server
            .req(Method::POST, "/api/admin/users")
            .json(&json!({"name": "bob", "password": "correct horse"})),
    )
    .await;
    assert_eq!(user.0, 201, "{}", user.1);
    assert_documented(&doc, "POST", "/api/admin/users", &user);
    assert_documented(
        &doc,
        "PATCH",
        "/api/admin/users/{name}",
        &call(
            server
                .req(Method::PATCH, "/api/admin/users/bob")
                .json(&json!({"disabled": true})),
        )
        .await,
    );
    check_get("/api/admin/users", "/api/admin/users").await;
    check_get("/api/admin/audit", "/api/admin/audit").await;
    check_get("/api/admin/status", "/api/admin/status").await;
    assert_documented(
        &doc,
        "POST",
        "/api/admin/users/{name}/password",
        &call(
            server
                .req(Method::POST, "/api/admin/users/bob/password")
                .json(&json!({"new_password": "battery staple"})),
        )
        .await,
    );
    check_get("/api/me", "/api/me").await;
    check_get("/api/me/preferences", "/api/me/preferences").await;
    assert_documented(
        &doc,
        "PUT",
        "/api/me/preferences",
        &call(
            server
                .req(Method::PUT, "/api/me/preferences")
                .json(&json!({"theme": "dark"})),
        )
        .await,
    );
    // The admin has no password yet (logged in by the link): a first one.
    assert_documented(
        &doc,
        "POST",
        "/api/me/password",
        &call(
            server
                .req(Method::POST, "/api/me/password")
                .json(&json!({"new_password": "admin password"})),
        )
        .await,
    );
    assert_documented(
        &doc,
        "POST",
        "/api/me/password",
        &call(
            server
                .req(Method::POST, "/api/me/password")
                .json(&json!({"current_password": "wrong password", "new_password": "x"})),
        )
        .await,
    );
    check_get("/api/fs/dirs", "/api/fs/dirs").await;
    let history = call(
        server
            .req(Method::GET, "/api/claude/history")
            .query(&[("working_dir", server.root.join("project").to_str().unwrap())]),
    )
    .await;
    assert_documented(&doc, "GET", "/api/claude/history", &history);
    check_get("/api/auth/config", "/api/auth/config").await;
    check_get("/healthz", "/healthz").await;
    check_get("/readyz", "/readyz").await;

    let login = call(
        server
            .http
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": "admin", "password": "wrong password"})),
    )
    .await;
    assert_documented(&doc, "POST", "/api/auth/login", &login);
    assert_documented(
        &doc,
        "POST",
        "/api/auth/logout-all",
        &call(server.req(Method::POST, "/api/auth/logout-all")).await,
    );

    // Errors, the shared schema.
    let missing = call(server.req(
        Method::GET,
        &format!("{SESSIONS}/00000000-0000-4000-8000-000000000000"),
    ))
    .await;
    assert_documented(&doc, "GET", "/api/claude/sessions/{id}", &missing);
    let bad = call(
        server
            .req(Method::POST, SESSIONS)
            .json(&json!({"mode": "terminal", "working_dir": "/", "colour": "red"})),
    )
    .await;
    assert_documented(&doc, "POST", SESSIONS, &bad);
}

#[test]
fn the_api_reference_points_to_the_document() {
    let reference = std::fs::read_to_string(crate_file("../../docs/api.md")).unwrap();
    let line = reference
        .lines()
        .find(|l| l.contains("/api/openapi.json"))
        .expect("docs/api.md mentions /api/openapi.json");
    assert!(!line.contains("not yet"), "{line}");
    assert!(reference.contains("crates/ccweb-server/openapi.json"));
}
