//! Operations against the real server: `/metrics` (by token on the main
//! listener, without auth on its own listener, absent otherwise) and the
//! numbers moving as sessions start, stream and stop, as a chat session
//! asks for permission and spends tokens, as people log in and hit rate
//! limits; `/readyz` naming what is missing; request ids on every answer
//! and in the log lines of the request.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{ask_to_write, chat_session, kind, Chat};
use common::{assert_error, call, claude_setup, ClaudeSetup, Options, TestServer, SESSIONS};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A metrics token for the tests' config.
const TOKEN: &str = "metrics-token-5c1f9a2b7e";

/// TOML turning on `/metrics` on the main listener.
fn with_token() -> String {
    format!("metrics_token = \"{TOKEN}\"")
}

/// One sample of the exposition text.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the exposition text (comments skipped; label values may hold
/// `{`, `}`, `,` and escaped quotes).
fn parse(page: &str) -> Vec<Sample> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let name_end = line.find(['{', ' ']).unwrap();
            let name = line[..name_end].to_owned();
            let mut labels = BTreeMap::new();
            let mut rest = &line[name_end..];
            if let Some(body) = rest.strip_prefix('{') {
                let mut chars = body.char_indices();
                let (mut key, mut value, mut in_value, mut escaped) =
                    (String::new(), String::new(), false, false);
                let end = loop {
                    let (i, c) = chars.next().unwrap();
                    match (in_value, c) {
                        (true, _) if escaped => {
                            value.push(c);
                            escaped = false;
                        }
                        (true, '\\') => escaped = true,
                        (true, '"') => {
                            labels.insert(std::mem::take(&mut key), std::mem::take(&mut value));
                            in_value = false;
                        }
                        (true, _) => value.push(c),
                        (false, '}') => break i,
                        (false, '"') => in_value = true,
                        (false, '=' | ',') => {}
                        (false, _) => key.push(c),
                    }
                };
                rest = &body[end + 1..];
            }
            let value = rest.split_whitespace().next().unwrap().parse().unwrap();
            Sample {
                name,
                labels,
                value,
            }
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include `labels`.
fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// Scrapes `/metrics` on the main listener with the token.
async fn scrape(server: &TestServer) -> Vec<Sample> {
    let resp = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    parse(&resp.text().await.unwrap())
}

/// Scrapes until `pred` holds (metrics of ended things move a moment
/// after the API answers); panics with the last page after 10 s.
async fn scrape_until(
    server: &TestServer,
    what: &str,
    pred: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let samples = scrape(server).await;
        if pred(&samples) {
            return samples;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never showed {what}: {samples:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The address of the separate metrics listener, from the log (logged
/// before `listening`, which `TestServer::start` waited for: read once).
fn metrics_addr(server: &TestServer) -> String {
    server
        .log_text()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "metrics listening")
        .map(|v| v["fields"]["addr"].as_str().unwrap().to_owned())
        .expect("the metrics listener is logged")
}

#[tokio::test]
async fn metrics_are_served_by_token_or_on_their_own_listener_and_are_404_otherwise() {
    let plain = TestServer::start(Options::shell("exec sleep 1000")).await;
    assert_error(
        "not_found answer",
        &call(plain.http.get(plain.url("/metrics"))).await,
        404,
        "not_found",
    );
    // Not even with the admin's API token: metrics are not an API route.
    assert_error(
        "not_found answer",
        &call(plain.req(Method::GET, "/metrics")).await,
        404,
        "not_found",
    );
    drop(plain);

    let toml = format!("{}\nmetrics_listen = \"127.0.0.1:0\"", with_token());
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(&toml)).await;
    assert_error(
        "unauthorized answer",
        &call(server.http.get(server.url("/metrics"))).await,
        401,
        "unauthorized",
    );
    let wrong = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth("metrics-token-5c1f9a2b7X");
    assert_error("a wrong token", &call(wrong).await, 401, "unauthorized");
    assert_error(
        "unauthorized answer",
        &call(server.req(Method::GET, "/metrics")).await,
        401,
        "unauthorized",
    );
    let resp = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let page = resp.text().await.unwrap();
    assert!(page.trim_end().ends_with("# EOF"), "{page}");
    let samples = parse(&page);
    assert!(
        samples.iter().all(|s| s.name.starts_with("ccweb_")),
        "{page}"
    );
    assert_eq!(sum(&samples, "ccweb_build_info", &[]), 1.0, "{page}");

    // The separate listener: no auth, only /metrics.
    let addr = metrics_addr(&server);
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let samples = parse(&resp.text().await.unwrap());
    assert!(
        sum(
            &samples,
            "ccweb_http_requests_total",
            &[("route", "/metrics")]
        ) >= 2.0
    );
    assert_error(
        "not_found answer",
        &call(http.get(format!("http://{addr}/api/me"))).await,
        404,
        "not_found",
    );
    // The listener stops with the server, an idle scraper connection open or not.
    let mut server = server;
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0));
    assert!(http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn an_invalid_metrics_key_fails_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ccweb.toml"),
        format!(
            "allowed_roots = [{:?}]\nmetrics_token = \"short\"\n",
            dir.path().to_str().unwrap()
        ),
    )
    .unwrap();
    let out = common::ccweb(dir.path(), dir.path(), &["serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("metrics_token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Prints until a line comes in, then exits by itself.
const TICKER: &str =
    "(while :; do echo tick-tock-tick-tock; sleep 0.05; done) & read line; kill $!; exit 0";

/// Reads a terminal socket for `d` (so the server keeps sending).
async fn read_for(client: &mut common::TermClient, d: Duration) {
    let _ = tokio::time::timeout(d, async { while client.step().await {} }).await;
}

#[tokio::test]
async fn session_metrics_follow_starts_streaming_stops_and_exits() {
    let server = TestServer::start(Options::shell(TICKER).toml(&with_token())).await;
    let before = scrape(&server).await;
    assert_eq!(
        sum(&before, "ccweb_sessions_running", &[("mode", "terminal")]),
        0.0
    );
    let stopped = server.create_session_id().await;
    let exiting = server.create_session_id().await;
    let mut viewer = server.terminal(&stopped, "").await;
    viewer
        .wait_for(Duration::from_secs(10), |s| s.contains("tick-tock"))
        .await;
    let streaming = scrape(&server).await;
    let started = |s: &[Sample]| sum(s, "ccweb_sessions_started_total", &[("mode", "terminal")]);
    assert_eq!(started(&streaming), 2.0);
    let running = |s: &[Sample]| {
        sum(
            s,
            "ccweb_sessions_running",
            &[("mode", "terminal"), ("state", "running")],
        )
    };
    assert_eq!(running(&streaming), 2.0);
    assert_eq!(
        sum(
            &streaming,
            "ccweb_cli_spawn_seconds_count",
            &[("mode", "terminal")]
        ),
        2.0
    );
    assert_eq!(
        sum(
            &streaming,
            "ccweb_websocket_connections",
            &[("kind", "terminal")]
        ),
        1.0
    );
    let sent = |s: &[Sample]| {
        sum(
            s,
            "ccweb_websocket_sent_bytes_total",
            &[("kind", "terminal")],
        )
    };
    assert!(sent(&streaming) > 0.0);
    read_for(&mut viewer, Duration::from_millis(500)).await;
    let later = scrape(&server).await;
    assert!(
        sent(&later) > sent(&streaming),
        "bytes out grow while the session prints: {} then {}",
        sent(&streaming),
        sent(&later)
    );

    server.stop_session(&stopped).await;
    let mut exits = server.terminal(&exiting, "").await;
    exits.send_bytes(b"bye\r").await;
    exits.read_to_end().await;
    viewer.read_to_end().await;
    let ended = |s: &[Sample], reason| {
        sum(
            s,
            "ccweb_sessions_ended_total",
            &[("mode", "terminal"), ("reason", reason)],
        )
    };
    // (One scrape reads the live sessions and the counters at slightly
    // different moments: wait for both to agree.)
    scrape_until(&server, "both ends and nothing running", |s| {
        ended(s, "stop") == 1.0 && ended(s, "exit") == 1.0 && running(s) == 0.0
    })
    .await;
    let after = scrape_until(&server, "the sockets closed", |s| {
        sum(s, "ccweb_websocket_connections", &[]) == 0.0
    })
    .await;
    assert!(
        sum(
            &after,
            "ccweb_websocket_received_bytes_total",
            &[("kind", "terminal")]
        ) >= 4.0
    );

    // HTTP metrics name routes by template, never by the id in the path.
    let requests = |route| sum(&after, "ccweb_http_requests_total", &[("route", route)]);
    assert_eq!(requests("/api/claude/sessions/{id}"), 1.0, "{after:#?}");
    assert!(
        requests("/api/claude/sessions/{id}/terminal") >= 2.0,
        "{after:#?}"
    );
    assert_eq!(
        sum(
            &after,
            "ccweb_http_requests_total",
            &[
                ("route", "/api/claude/sessions"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        2.0
    );
    assert!(
        sum(
            &after,
            "ccweb_http_request_duration_seconds_count",
            &[("route", "/api/claude/sessions")]
        ) >= 2.0
    );
    for s in &after {
        for v in s.labels.values() {
            assert!(
                !v.contains(&stopped) && !v.contains(&exiting),
                "an id in a label: {s:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_viewer_that_stops_reading_moves_the_overflow_drop_and_resync_counters() {
    let options = Options::shell("exec yes overflow-overflow-overflow")
        .toml(&with_token())
        .toml("viewer_queue_bytes = 4096");
    let server = TestServer::start(options).await;
    let id = server.create_session_id().await;
    // Attached but not reading: the socket's buffers fill, then its queue.
    let mut viewer = server.terminal(&id, "").await;
    // (The socket task counts a message once its send returns, which under
    // load can come after the runner has already counted the overflow.)
    scrape_until(&server, "a viewer falling behind", |s| {
        sum(s, "ccweb_terminal_viewer_overflows_total", &[]) >= 1.0
            && sum(s, "ccweb_terminal_dropped_bytes_total", &[]) > 0.0
            && sum(
                s,
                "ccweb_websocket_sent_bytes_total",
                &[("kind", "terminal")],
            ) > 0.0
    })
    .await;
    // Reading again, it is re-synced from the screen.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        read_for(&mut viewer, Duration::from_millis(200)).await;
        let s = scrape(&server).await;
        if sum(&s, "ccweb_terminal_viewer_resyncs_total", &[]) >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "never re-synced: {s:#?}");
    }
    drop(viewer);
    server.stop_session(&id).await;
}

#[tokio::test]
async fn a_chat_session_moves_the_permission_usage_and_socket_metrics() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup(&with_token()).await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let file = server.root.join("project/metrics.txt");
    let req = ask_to_write(&mut chat, &fake, file.to_str().unwrap(), "counted").await;
    let asked = scrape(&server).await;
    assert_eq!(sum(&asked, "ccweb_permission_requests_total", &[]), 1.0);
    assert_eq!(
        sum(
            &asked,
            "ccweb_sessions_running",
            &[("mode", "chat"), ("state", "requires_action")]
        ),
        1.0
    );
    assert_eq!(
        sum(&asked, "ccweb_websocket_connections", &[("kind", "chat")]),
        1.0
    );
    assert!(sum(&asked, "ccweb_chat_ready_seconds_count", &[]) >= 1.0);
    let mark = chat.events.len();
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    chat.wait_event_from(mark, kind("result")).await;
    let done = scrape_until(&server, "the turn's usage", |s| {
        sum(s, "ccweb_chat_turns_total", &[("outcome", "success")]) >= 1.0
    })
    .await;
    assert_eq!(
        sum(
            &done,
            "ccweb_permission_decisions_total",
            &[("outcome", "allow")]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &done,
            "ccweb_permission_wait_seconds_count",
            &[("outcome", "allow")]
        ),
        1.0
    );
    assert!(
        sum(&done, "ccweb_model_tokens_total", &[("direction", "input")]) > 0.0,
        "{done:#?}"
    );
    assert!(
        sum(
            &done,
            "ccweb_model_tokens_total",
            &[("direction", "output")]
        ) > 0.0,
        "{done:#?}"
    );
    assert!(
        sum(&done, "ccweb_model_cost_usd_total", &[]) > 0.0,
        "{done:#?}"
    );
    assert!(
        sum(
            &done,
            "ccweb_websocket_received_bytes_total",
            &[("kind", "chat")]
        ) > 0.0
    );
    assert_eq!(
        sum(
            &done,
            "ccweb_sessions_running",
            &[("mode", "chat"), ("state", "requires_action")]
        ),
        0.0
    );
    server.stop_session(&id).await;
    scrape_until(&server, "the chat session's end", |s| {
        sum(
            s,
            "ccweb_sessions_ended_total",
            &[("mode", "chat"), ("reason", "stop")],
        ) == 1.0
            && sum(s, "ccweb_sessions_running", &[("mode", "chat")]) == 0.0
    })
    .await;
}

#[tokio::test]
async fn logins_and_rate_limit_refusals_are_counted() {
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(&with_token())).await;
    server.add_user("erin", "erin-password-1");
    let login = |password: &str| {
        server
            .http
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": "erin", "password": password}))
    };
    assert_eq!(login("erin-password-1").send().await.unwrap().status(), 200);
    // A few failures per address per minute are allowed, then refused.
    let mut failures = 0.0;
    loop {
        match login("wrong-password")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
        {
            401 => failures += 1.0,
            429 => break,
            other => panic!("a wrong password answered {other}"),
        }
        assert!(failures < 20.0, "never rate limited");
    }
    let samples = scrape(&server).await;
    let logins = |method, outcome| {
        sum(
            &samples,
            "ccweb_logins_total",
            &[("method", method), ("outcome", outcome)],
        )
    };
    assert_eq!(
        logins("one_time_url", "success"),
        1.0,
        "the test harness's login"
    );
    assert_eq!(logins("password", "success"), 1.0);
    assert_eq!(logins("password", "failure"), failures);
    assert_eq!(logins("password", "limited"), 1.0);
    assert_eq!(
        sum(&samples, "ccweb_rate_limited_total", &[("action", "login")]),
        1.0
    );
    assert_eq!(
        sum(
            &samples,
            "ccweb_http_requests_total",
            &[("route", "/api/auth/login"), ("status", "429")]
        ),
        1.0
    );
}

#[tokio::test]
async fn readiness_names_a_missing_cli_while_liveness_stays_ok() {
    let ok = TestServer::start(Options::shell("exec sleep 1000")).await;
    let (status, body) = call(ok.http.get(ok.url("/readyz"))).await;
    assert_eq!((status, &body), (200, &json!({"status": "ready"})));
    drop(ok);

    let missing = Options {
        claude_bin: "/nonexistent/claude".into(),
        ..Options::shell("exec sleep 1000")
    };
    let server = TestServer::start(missing).await;
    assert_error(
        "claude_not_found answer",
        &call(server.http.get(server.url("/readyz"))).await,
        503,
        "claude_not_found",
    );
    let (status, _) = call(server.http.get(server.url("/healthz"))).await;
    assert_eq!(status, 200);

    // A bare name is looked up in PATH.
    let by_name = Options {
        claude_bin: "sh".into(),
        ..Options::shell("exec sleep 1000")
    };
    let server = TestServer::start(by_name).await;
    let (status, _) = call(server.http.get(server.url("/readyz"))).await;
    assert_eq!(status, 200);
}

/// The `x-request-id` of a response.
fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_plain_client_id_is_kept() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let first = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let second = server
        .http
        .get(server.url("/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 404);
    let (a, b) = (request_id(&first), request_id(&second));
    assert!(is_uuid(&a) && is_uuid(&b) && a != b, "{a} {b}");
    let kept = server
        .http
        .get(server.url("/healthz"))
        .header("x-request-id", "proxy-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&kept), "proxy-7f3a.42");
    for odd in ["has space", "quote\"d", &"x".repeat(65)] {
        let resp = server
            .http
            .get(server.url("/healthz"))
            .header("x-request-id", odd)
            .send()
            .await
            .unwrap();
        assert!(is_uuid(&request_id(&resp)), "{odd:?} replaced");
    }
}

#[tokio::test]
async fn log_lines_of_a_request_carry_its_id_and_no_path_or_secret() {
    let mut options = Options::shell("exec sleep 1000");
    // Debug level: the request logs of tower-http and hyper are on too.
    options.env.push(("RUST_LOG".into(), "debug".into()));
    let server = TestServer::start(options).await;
    let resp = server
        .req(Method::POST, SESSIONS)
        .header("x-request-id", "req-session-start-1")
        .json(&json!({"mode": "terminal", "working_dir": server.root.join("project")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(request_id(&resp), "req-session-start-1");
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut viewer = server.terminal(&id, "").await;
    viewer.wait_control("connected").await;
    // Lines arrive after the answers they belong to: waited for, not read once.
    let started = server.wait_for_log_message("session started").await;
    server
        .wait_for_log("the socket's request with its route", |l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["span"]["route"] == "/api/claude/sessions/{id}/terminal")
        })
        .await;
    let logs = server.log_text();
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        started["span"]["request_id"], "req-session-start-1",
        "{started}"
    );
    assert_eq!(
        started["span"]["route"], "/api/claude/sessions",
        "{started}"
    );
    assert_eq!(started["span"]["method"], "POST", "{started}");
    // The one-time login token is printed (on stdout) and logged never,
    // though the harness opened /login?token=… at debug level.
    let token = server.login_url.split("token=").nth(1).unwrap();
    assert_eq!(logs.matches(token).count(), 0, "{logs}");
    // Paths are not logged: ids only where a handler names them.
    assert!(
        lines
            .iter()
            .filter(|v| v["span"]["route"] == "/api/claude/sessions/{id}/terminal")
            .count()
            >= 1,
        "the socket's request is logged with its route"
    );
    drop(viewer);
    server.stop_session(&id).await;
}
