//! Test support: a real `ccweb serve` process on 127.0.0.1:0 with its own
//! data dir and allowed root, HTTP and WebSocket clients, and process
//! inspection. The server is killed and its files removed on `Drop`.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

pub mod chat;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The sessions collection of the REST API.
pub const SESSIONS: &str = "/api/claude/sessions";

/// A port free right now on 127.0.0.1 (for addresses that must be known
/// before a server starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Path of the built binary.
pub fn ccweb_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ccweb"))
}

/// `ccweb --data-dir DATA_DIR ARGS`, to run in `root`.
pub fn ccweb(data_dir: &Path, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(ccweb_bin());
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .current_dir(root);
    cmd
}

/// Runs `cmd` to completion with `stdin` as its whole input.
pub fn run_with_input(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Spawns a server: its stderr (the log) piped, its stdout discarded.
pub fn spawn_logging(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// How to start a test server.
#[derive(Clone, Debug)]
pub struct Options {
    /// TOML appended to the generated config file.
    pub extra_toml: String,
    /// Extra environment for the server process (and so for the CLI).
    pub env: Vec<(String, String)>,
    /// The program sessions run; default `/bin/sh` running `script`.
    pub claude_bin: PathBuf,
    /// Arguments before ccweb's own (for `/bin/sh`: `-c SCRIPT sh`).
    pub claude_args: Vec<String>,
}

impl Options {
    /// Sessions run `sh -c script` (ccweb's own arguments land in `$1…`).
    pub fn shell(script: &str) -> Self {
        Self {
            extra_toml: String::new(),
            env: Vec::new(),
            claude_bin: "/bin/sh".into(),
            claude_args: vec!["-c".into(), script.into(), "sh".into()],
        }
    }

    /// An interactive shell that echoes what it is sent.
    pub fn interactive_shell() -> Self {
        Self::shell("PS1='$ ' exec /bin/sh -i")
    }

    /// Adds TOML lines to the config.
    pub fn toml(mut self, lines: &str) -> Self {
        self.extra_toml.push_str(lines);
        self.extra_toml.push('\n');
        self
    }
}

/// A running `ccweb serve`.
pub struct TestServer {
    pub child: Option<Child>,
    pub addr: String,
    pub base: String,
    pub data_dir: PathBuf,
    pub root: PathBuf,
    pub dir: tempfile::TempDir,
    pub logs: Arc<Mutex<Vec<String>>>,
    /// What the server printed on stdout (the one-time login link).
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub login_url: String,
    /// The admin's cookie (`ccweb_session=…`) from the one-time URL.
    pub admin_cookie: String,
    /// A full-scope API token of the admin.
    pub admin_token: String,
    pub options: Options,
    pub http: reqwest::Client,
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl TestServer {
    /// Starts a server and logs the admin in.
    pub async fn start(options: Options) -> TestServer {
        Self::start_fresh(options, true).await
    }

    /// Starts a server and leaves its one-time login link unused (for a
    /// test that opens it): `admin_cookie` stays empty.
    pub async fn start_keeping_login_link(options: Options) -> TestServer {
        Self::start_fresh(options, false).await
    }

    /// Starts a server in new directories; `use_login_link`: log the admin in with it.
    async fn start_fresh(options: Options, use_login_link: bool) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        if options.extra_toml.contains("isolation = \"unix\"") {
            // The server drops to its own account: it must reach its data dir.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        let data_dir = dir.path().join("data");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("project")).unwrap();
        std::fs::create_dir_all(&data_dir).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        Self::start_in(dir, data_dir, root, options, use_login_link).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        data_dir: PathBuf,
        root: PathBuf,
        options: Options,
        use_login_link: bool,
    ) -> TestServer {
        let args: Vec<String> = options.claude_args.iter().map(|a| toml_str(a)).collect();
        // A `listen` line in the extra TOML (a port known in advance) replaces port 0.
        let listen = if options
            .extra_toml
            .lines()
            .any(|l| l.trim_start().starts_with("listen "))
        {
            ""
        } else {
            "listen = \"127.0.0.1:0\"\n"
        };
        // Tests start several users on one server: accept the shared
        // identity unless the test says otherwise.
        let shared = if options.extra_toml.contains("allow_shared_identity") {
            ""
        } else {
            "allow_shared_identity = true\n"
        };
        let config = format!(
            "{listen}{shared}allowed_roots = [{}]\nclaude_bin = {}\nclaude_args = [{}]\nstop_grace_secs = 2\nshutdown_timeout_secs = 15\nlog_format = \"json\"\n{}",
            toml_str(root.to_str().unwrap()),
            toml_str(options.claude_bin.to_str().unwrap()),
            args.join(", "),
            options.extra_toml
        );
        std::fs::write(data_dir.join("ccweb.toml"), config).unwrap();
        let mut cmd = ccweb(&data_dir, &root, &["serve"]);
        cmd.env("RUST_LOG", "info");
        // The developer's own Claude settings must not leak into tests.
        for name in fake_anthropic::INHERITED_ENV_TO_REMOVE {
            cmd.env_remove(name);
        }
        cmd.envs(options.env.iter().map(|(k, v)| (k, v)));
        // stdout carries the one-time login link, stderr the log.
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        for (pipe, lines) in [
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
                logs.clone(),
            ),
            (Box::new(child.stdout.take().unwrap()), stdout.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let (addr, login_url) = loop {
            let found = {
                let logs = logs.lock().unwrap();
                let addr = logs
                    .iter()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .find_map(|v| {
                        (v["fields"]["message"] == "listening")
                            .then(|| v["fields"]["addr"].as_str().unwrap().to_owned())
                    });
                // Behind a configured https public_url the link names that
                // host; the test reaches the same path on the listener.
                let path = stdout.lock().unwrap().iter().find_map(|l| {
                    let l = l.trim();
                    let rest = l
                        .strip_prefix("http://")
                        .or_else(|| l.strip_prefix("https://"))?;
                    rest.find('/').map(|i| rest[i..].to_owned())
                });
                addr.zip(path)
                    .map(|(addr, path)| (addr.clone(), format!("http://{addr}{path}")))
            };
            if let Some(found) = found {
                break found;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("ccweb exited with {status}: {:#?}", logs.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "ccweb did not start: {:#?}",
                logs.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Below the server's idle keep-alive limit (http_header_timeout_secs),
            // so the client never reuses a connection the server is closing.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut server = TestServer {
            child: Some(child),
            base: format!("http://{addr}"),
            addr,
            data_dir,
            root,
            dir,
            logs,
            stdout,
            login_url,
            admin_cookie: String::new(),
            admin_token: String::new(),
            options,
            http,
        };
        if use_login_link {
            let resp = server.http.get(&server.login_url).send().await.unwrap();
            assert_eq!(resp.status(), 303, "one-time login URL works");
            // Relative, so the app next to /login is reached under a proxy sub-path too.
            assert_eq!(resp.headers()["location"], "./");
            server.admin_cookie = cookie_of(&resp);
        }
        server.admin_token = server
            .cli(&["token", "create", "--user", "admin"], None)
            .trim()
            .to_owned();
        server
    }

    /// Runs `ccweb --data-dir … ARGS` and returns stdout (panics on failure).
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli_output(args, stdin);
        assert!(
            out.status.success(),
            "ccweb {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `ccweb --data-dir … ARGS`.
    pub fn cli_output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_with_input(
            &mut ccweb(&self.data_dir, &self.root, args),
            stdin.unwrap_or_default(),
        )
    }

    /// Creates a user with a password and returns a full-scope API token of theirs.
    pub fn add_user(&self, name: &str, password: &str) -> String {
        self.cli(
            &["user", "add", name, "--password-stdin"],
            Some(&format!("{password}\n")),
        );
        self.cli(&["token", "create", "--user", name], None)
            .trim()
            .to_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Live processes under the server (its sessions' programs).
    pub fn children(&self) -> Vec<u32> {
        descendants(self.pid()).0
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The origin browsers would send.
    pub fn origin(&self) -> String {
        self.base.clone()
    }

    /// A request with the admin's bearer token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.admin_token, method, path)
    }

    /// A request with `token`.
    pub fn req_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// A request with a login cookie (`ccweb_session=…`) and nothing else.
    pub fn req_cookie(
        &self,
        cookie: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("cookie", cookie)
    }

    /// Creates a terminal session in `root/project` (or `dir`) as `token`; returns the session JSON.
    pub async fn create_session_as(&self, token: &str, body: Value) -> (u16, Value) {
        let resp = self
            .req_as(token, reqwest::Method::POST, "/api/claude/sessions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Creates a terminal session in `root/project` as the admin; panics unless 201.
    pub async fn create_session(&self) -> Value {
        let body =
            serde_json::json!({"mode": "terminal", "working_dir": self.root.join("project")});
        let (status, v) = self.create_session_as(&self.admin_token, body).await;
        assert_eq!(status, 201, "{v}");
        v
    }

    /// Like [`Self::create_session`]; returns the new session's id.
    pub async fn create_session_id(&self) -> String {
        self.create_session().await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Stops a session as the admin (`DELETE`); panics unless 200; returns the session JSON.
    pub async fn stop_session(&self, id: &str) -> Value {
        let (status, s) = call(self.req(Method::DELETE, &format!("{SESSIONS}/{id}"))).await;
        assert_eq!(status, 200, "stopping {id}: {s}");
        s
    }

    /// The JSON body of `GET path` as the admin.
    pub async fn get_json(&self, path: &str) -> Value {
        self.req(Method::GET, path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GET a session as the admin.
    pub async fn session(&self, id: &str) -> Value {
        self.get_json(&format!("{SESSIONS}/{id}")).await
    }

    /// The admin's own sessions (`GET /api/claude/sessions`).
    pub async fn sessions(&self) -> Vec<Value> {
        self.get_json(SESSIONS).await["sessions"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// `GET /api/admin/status` as the admin.
    pub async fn status(&self) -> Value {
        self.get_json("/api/admin/status").await
    }

    /// Waits until the session's state is `state`.
    pub async fn wait_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.session(id).await;
            if s["state"] == state {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "session never reached {state}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a socket (`kind` = terminal or chat) with the admin's token.
    pub async fn ws(&self, id: &str, kind: &str, query: &str) -> Ws {
        self.ws_with(
            &format!("/api/claude/sessions/{id}/{kind}{query}"),
            &[("authorization", &format!("Bearer {}", self.admin_token))],
        )
        .await
        .unwrap()
    }

    /// Attaches a terminal viewer with the admin's token (`query` e.g. `?readonly=1`).
    pub async fn terminal(&self, id: &str, query: &str) -> TermClient {
        TermClient::connect(self.ws(id, "terminal", query).await).await
    }

    /// Opens a socket with explicit headers; `Err(status)` when refused.
    pub async fn ws_with(&self, path: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
        let mut req = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket error: {e}"),
        }
    }

    /// Sends SIGTERM and waits for exit; returns the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ccweb did not exit within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Restarts the server on the same data dir (new port, new login URL).
    pub async fn restart(self) -> TestServer {
        let options = self.options.clone();
        self.restart_with(options).await
    }

    /// [`TestServer::restart`] with other options (a changed configuration).
    pub async fn restart_with(mut self, options: Options) -> TestServer {
        self.terminate(Duration::from_secs(20));
        let dir = tempfile::tempdir().unwrap();
        let old = std::mem::replace(&mut self.dir, dir);
        let data_dir = self.data_dir.clone();
        let root = self.root.clone();
        drop(self);
        Self::start_in(old, data_dir, root, options, true).await
    }

    /// Every log line so far. A line the server writes while answering a
    /// request can arrive here after the answer (a thread reads the log from
    /// the server's stderr): to see a line, use [`Self::wait_for_log`].
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// How many log lines have arrived: a mark for [`Self::wait_for_log_after`].
    pub fn log_len(&self) -> usize {
        self.logs.lock().unwrap().len()
    }

    /// Waits until a log line satisfies `pred` and returns it; panics after
    /// [`LOG_WAIT`] naming `what` and showing the log's last lines.
    pub async fn wait_for_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_log_after(0, what, pred).await
    }

    /// Like [`Self::wait_for_log`], among the lines after the first `mark`
    /// ([`Self::log_len`] taken before the action that logs).
    pub async fn wait_for_log_after(
        &self,
        mark: usize,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + LOG_WAIT;
        loop {
            let found = {
                let logs = self.logs.lock().unwrap();
                logs.iter().skip(mark).find(|l| pred(l)).cloned()
            };
            if let Some(line) = found {
                return line;
            }
            if Instant::now() >= deadline {
                let logs = self.logs.lock().unwrap();
                let tail = logs[logs.len().saturating_sub(30)..].join("\n");
                panic!(
                    "the server's log never showed {what} (waited {LOG_WAIT:?}); its last lines:\n{tail}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Like [`Self::wait_for_log`] for the JSON line whose message is `message`.
    pub async fn wait_for_log_message(&self, message: &str) -> Value {
        let line = self
            .wait_for_log(&format!("the message {message:?}"), |l| {
                serde_json::from_str::<Value>(l).is_ok_and(|v| v["fields"]["message"] == message)
            })
            .await;
        serde_json::from_str(&line).unwrap()
    }
}

/// How long a test waits for the server to log a line: generous, as the
/// suite runs on busy two-core machines.
pub const LOG_WAIT: Duration = Duration::from_secs(30);

/// The environment variable that lets the cgroup tests skip (saying so)
/// on a machine that gives them no cgroups to write, even under `CI=true`.
pub const ALLOW_NO_CGROUPS_ENV: &str = "CCWEB_TEST_ALLOW_NO_CGROUPS";

/// For a test that needs a cgroup feature (`missing`) this machine lacks.
///
/// Unlike chromium or bubblewrap, cgroup write access cannot be installed by
/// scripts/test.sh: it is the machine's (or container's) to give. Debian
/// hosts and VMs, CI's among them, have it, so the test fails by default, and
/// skips (saying so) only where [`ALLOW_NO_CGROUPS_ENV`]`=1` says that this
/// machine cannot have it.
#[track_caller]
pub fn skip_without_cgroups(missing: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        std::env::var(ALLOW_NO_CGROUPS_ENV).is_ok_and(|v| v == "1"),
        "{test} needs {missing} ({ALLOW_NO_CGROUPS_ENV}=1 skips it on a machine without cgroup \
         write access)"
    );
    eprintln!("SKIPPED {test}: {missing} ({ALLOW_NO_CGROUPS_ENV}=1)");
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Status and JSON body of a response (panics unless the body is JSON).
pub async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON ({ct}): {text:?}"));
    assert!(
        ct.starts_with("application/json"),
        "{status}: content-type {ct:?} for {text}"
    );
    (status, body)
}

/// Sends a request; its [`answer`].
pub async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    answer(req.send().await.unwrap()).await
}

/// Sends a request; its status.
pub async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

/// Asserts a `{"error":{"code","message"}}` answer with this status and
/// code and a non-empty message; returns the message.
pub fn assert_error(
    what: &str,
    (status, body): &(u16, Value),
    want_status: u16,
    want_code: &str,
) -> String {
    assert_eq!(*status, want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{what}: {body}");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!message.is_empty(), "{what}: a message: {body}");
    message
}

/// A client that opens a new connection for every request (for requests
/// the server may refuse without reading their body, then close).
pub fn one_shot_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The `name=value` of a response's Set-Cookie.
pub fn cookie_of(resp: &reqwest::Response) -> String {
    let raw = resp
        .headers()
        .get("set-cookie")
        .expect("a cookie is set")
        .to_str()
        .unwrap();
    raw.split(';').next().unwrap().to_owned()
}

/// Folds a terminal socket into a screen: parses control messages, feeds
/// binary frames to a vt100 emulator.
pub struct TermClient {
    pub ws: Ws,
    pub parser: vt100::Parser,
    pub controls: Vec<Value>,
    pub bytes: Vec<u8>,
    pub exit: Option<i64>,
    pub closed: Option<(u16, String)>,
}

impl TermClient {
    /// Reads the `connected` message and sizes the emulator from it.
    pub async fn connect(ws: Ws) -> TermClient {
        let mut c = TermClient {
            ws,
            parser: vt100::Parser::new(24.try_into().unwrap(), 80.try_into().unwrap(), 1000),
            controls: Vec::new(),
            bytes: Vec::new(),
            exit: None,
            closed: None,
        };
        let first = c.next().await.expect("a first message");
        let Message::Text(t) = first else {
            panic!("first message must be text, got {first:?}")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["type"], "connected", "{v}");
        let (cols, rows) = (
            v["cols"].as_u64().unwrap() as u16,
            v["rows"].as_u64().unwrap() as u16,
        );
        c.parser
            .set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
        c.controls.push(v);
        c
    }

    async fn next(&mut self) -> Option<Message> {
        match tokio::time::timeout(Duration::from_secs(30), self.ws.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(_) => None,
            Err(_) => panic!("socket silent for 30 s"),
        }
    }

    /// Handles one message; false when the socket ended.
    pub async fn step(&mut self) -> bool {
        let Some(msg) = self.next().await else {
            return false;
        };
        match msg {
            Message::Binary(b) => {
                self.parser.process(&b);
                self.bytes.extend_from_slice(&b);
            }
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "resize" {
                    let (c, r) = (
                        v["cols"].as_u64().unwrap() as u16,
                        v["rows"].as_u64().unwrap() as u16,
                    );
                    self.parser
                        .set_size(r.try_into().unwrap(), c.try_into().unwrap());
                }
                if v["type"] == "exit" {
                    self.exit = v["code"].as_i64();
                }
                self.controls.push(v);
            }
            Message::Close(frame) => {
                self.closed = Some(
                    frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new())),
                );
                return false;
            }
            _ => {}
        }
        true
    }

    /// Reads until `pred` holds on the screen text; panics after `timeout`.
    pub async fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        while !pred(&self.screen()) {
            assert!(
                Instant::now() < deadline,
                "screen never matched; it shows:\n{}",
                self.screen()
            );
            let remaining = deadline - Instant::now();
            match tokio::time::timeout(remaining, self.step()).await {
                Ok(true) => {}
                Ok(false) => assert!(
                    pred(&self.screen()),
                    "socket ended; screen:\n{}",
                    self.screen()
                ),
                Err(_) => panic!("screen never matched; it shows:\n{}", self.screen()),
            }
        }
    }

    /// Attaches new viewers to session `id` until one's first frame (the
    /// restore) shows the same text as this viewer, which reads on meanwhile;
    /// returns that viewer. A program may go on redrawing after what a test
    /// waited for, so a single comparison would race with its output.
    pub async fn new_viewer_showing_the_same(
        &mut self,
        server: &TestServer,
        id: &str,
        timeout: Duration,
    ) -> TermClient {
        let deadline = Instant::now() + timeout;
        loop {
            // Take in what has arrived so far.
            while tokio::time::timeout(Duration::from_millis(100), self.step())
                .await
                .is_ok_and(|open| open)
            {}
            let mut fresh = server.terminal(id, "").await;
            fresh.step().await;
            if fresh.screen() == self.screen() {
                return fresh;
            }
            assert!(
                Instant::now() < deadline,
                "a new viewer's screen never matched the live one:\nnew:\n{}\nlive:\n{}",
                fresh.screen(),
                self.screen()
            );
        }
    }

    /// Reads until the socket closes.
    pub async fn read_to_end(&mut self) {
        while self.step().await {}
    }

    /// Reads until a control message of `kind` arrives and returns it.
    pub async fn wait_control(&mut self, kind: &str) -> Value {
        loop {
            if let Some(v) = self.controls.iter().find(|v| v["type"] == kind) {
                return v.clone();
            }
            assert!(self.step().await, "socket ended before a {kind} message");
        }
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    pub async fn send_text(&mut self, json: Value) {
        self.ws
            .send(Message::Text(json.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_bytes(&mut self, data: &[u8]) {
        self.ws
            .send(Message::Binary(data.to_vec().into()))
            .await
            .unwrap();
    }
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Threads of a process.
pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Live (non-zombie) descendants of `pid`, and zombie children.
pub fn descendants(pid: u32) -> (Vec<u32>, Vec<u32>) {
    let mut parents = std::collections::HashMap::new();
    let mut states = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(after) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = after.1.split_whitespace();
        let state = fields.next().unwrap_or("?").to_owned();
        let ppid: u32 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        parents.insert(p, ppid);
        states.insert(p, state);
    }
    let mut live = Vec::new();
    let mut zombies = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (&child, &pp) in &parents {
            if pp == parent {
                if states[&child] == "Z" {
                    zombies.push(child);
                } else {
                    live.push(child);
                }
                frontier.push(child);
            }
        }
    }
    (live, zombies)
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Polls `f` until true or panics with `what`.
pub async fn eventually(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The path as a JSON string value.
pub fn p(path: &Path) -> Value {
    Value::String(path.to_str().unwrap().to_owned())
}

/// A server whose sessions run the real Claude Code CLI. Bind every field:
/// `..` would drop the HOME directory (and with it the CLI's settings) at once.
pub struct ClaudeSetup {
    pub server: TestServer,
    pub fake: fake_anthropic::FakeAnthropic,
    pub _home: tempfile::TempDir,
}

/// A server running the real CLI with a private HOME that trusts the test
/// project, against a fresh fake API; `extra_toml` goes into its config.
/// `None` when CLI tests are skipped (`CCWEB_SKIP_CLI_TESTS=1`).
pub async fn claude_setup(extra_toml: &str) -> Option<ClaudeSetup> {
    let claude = fake_anthropic::require_claude_bin()?;
    let fake = fake_anthropic::FakeAnthropic::start().await;
    let home = tempfile::tempdir().unwrap();
    let env = fake_anthropic::ClaudeEnv::prepare(home.path(), &fake.base_url(), &[]).unwrap();
    let options = Options {
        extra_toml: extra_toml.to_owned(),
        env: env.envs(),
        claude_bin: claude,
        claude_args: Vec::new(),
    };
    let server = TestServer::start(options).await;
    env.trust(&server.root.join("project")).unwrap();
    Some(ClaudeSetup {
        server,
        fake,
        _home: home,
    })
}

/// Types a prompt into the CLI's TUI the way a person does: the text, then
/// (once it shows) a pause, then Enter. The pause is not a wait for
/// something to happen: the TUI takes an Enter that comes within ~50 ms of a
/// chunk of text as part of a paste, so the gap must be at least that; a busy
/// machine only makes it longer (crates/fake-anthropic/README.md).
pub async fn submit(c: &mut TermClient, text: &str) {
    c.send_bytes(text.as_bytes()).await;
    c.wait_for(Duration::from_secs(60), |s| s.contains(text))
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.send_bytes(b"\r").await;
}

/// Whether the CLI's conversation file `<sid>.jsonl` under `home` mentions
/// `text`. The CLI writes it a little after a turn ends; stopping it before
/// then loses the turn on disk, so tests that stop and resume wait for this.
pub fn claude_saved(home: &Path, sid: &str, text: &str) -> bool {
    let Ok(dirs) = std::fs::read_dir(home.join(".claude/projects")) else {
        return false;
    };
    dirs.flatten().any(|d| {
        std::fs::read_to_string(d.path().join(format!("{sid}.jsonl")))
            .is_ok_and(|s| s.contains(text))
    })
}

/// The CLI's conversation folder for `cwd` under the Claude home `home`
/// (ASCII paths: every other character becomes `-`), written out here
/// rather than taken from ccweb, so tests check ccweb against the CLI's layout.
pub fn project_dir(home: &Path, cwd: &Path) -> PathBuf {
    let name: String = cwd
        .to_str()
        .unwrap()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    home.join("projects").join(name)
}

/// One HTTP/1.1 request over a Unix socket, as a reverse proxy sends it
/// (`proxy_pass http://unix:…`, with `Host` = `host`): returns the status
/// and the JSON body (`Value::Null` when the body is not JSON).
pub async fn unix_call(
    socket: &Path,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("an answer on the Unix socket")
        .unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}
