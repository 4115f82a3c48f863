//! The systems under test as child processes: `ccweb serve` with a generated
//! configuration and an API token, and ttyd. Both listen on 127.0.0.1 and
//! are killed (and waited for) on drop. Also what `/proc` says about them.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::deflate_ws::DeflateWs;

/// A WebSocket to one of the servers.
pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a server may take to start before the bench gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it next).
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where the bench finds its binaries: `ccweb` next to itself (both in
/// `target/release` after `cargo build --release`), `ttyd` in `.cache/ttyd`.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    /// `ccweb`.
    pub(crate) ccweb: PathBuf,
    /// ttyd 1.7.7, if installed.
    pub(crate) ttyd: Option<PathBuf>,
    /// This program (the fake CLI of the chat workload).
    pub(crate) bench: PathBuf,
}

impl Binaries {
    /// `--ccweb`/`CCWEB_BENCH_CCWEB`, else `ccweb` next to this executable
    /// (or one directory up, for test executables in `deps/`);
    /// `--ttyd`/`CCWEB_BENCH_TTYD`, else `<workspace>/.cache/ttyd/ttyd`.
    pub(crate) fn locate(ccweb: Option<PathBuf>, ttyd: Option<PathBuf>) -> Result<Self> {
        let bench = std::env::current_exe().context("locating this executable")?;
        let ccweb = match ccweb.or_else(|| std::env::var_os("CCWEB_BENCH_CCWEB").map(Into::into)) {
            Some(p) => p,
            None => {
                let dir = bench.parent().context("executable without a directory")?;
                [dir.join("ccweb"), dir.join("../ccweb")]
                    .into_iter()
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        anyhow!(
                            "no ccweb binary next to {} (run `cargo build --release -p ccweb`, or pass --ccweb)",
                            bench.display()
                        )
                    })?
            }
        };
        let ttyd = ttyd
            .or_else(|| std::env::var_os("CCWEB_BENCH_TTYD").map(Into::into))
            .or_else(|| {
                let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/ttyd/ttyd");
                p.is_file().then_some(p)
            });
        Ok(Self { ccweb, ttyd, bench })
    }
}

/// Lines a child printed on stderr, collected by a thread.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let logs = Arc::new(Mutex::new(Vec::new()));
    if let Some(stderr) = child.stderr.take() {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = logs.lock() {
                    // Bounded: only the start of the log matters here.
                    if l.len() < 10_000 {
                        l.push(line);
                    }
                }
            }
        });
    }
    logs
}

fn toml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Polls `GET url` until it answers 200; the time that took from `since`.
pub(crate) async fn wait_http_ok(
    http: &reqwest::Client,
    url: &str,
    since: Instant,
    child: &mut Child,
) -> Result<Duration> {
    let deadline = since + START_TIMEOUT;
    loop {
        if let Ok(resp) = http.get(url).send().await {
            if resp.status() == 200 {
                return Ok(since.elapsed());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("server exited with {status} before {url} answered");
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer 200 within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A running `ccweb serve`: sessions run `/bin/sh ./run.sh` in the working
/// directory they are created in, so one server serves every workload.
pub(crate) struct Ccweb {
    child: Child,
    /// `host:port`.
    pub(crate) addr: String,
    /// A full-scope API token of `admin`.
    pub(crate) token: String,
    /// The allowed root; workloads create their directories in it.
    pub(crate) root: PathBuf,
    /// Time from exec to the first 200 from `/readyz`.
    pub(crate) ready_after: Duration,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The bench's limits: far above what the workloads need, so that only
/// the server's speed is measured.
const CCWEB_LIMITS: &str = "max_sessions = 1000
max_sessions_per_user = 1000
session_starts_per_user_per_minute = 100000
max_sockets_per_user = 10000
ws_messages_per_second = 1000000
ws_bytes_per_second = 1073741824
max_connections = 10000
max_connections_per_ip = 10000
metrics_token = \"bench-metrics-token-0123456789abcdef\"
";

impl Ccweb {
    /// Starts ccweb on a free port with a fresh data directory, waits for
    /// `/readyz`, and creates an API token for `admin`.
    pub(crate) async fn start(bin: &Path, extra_toml: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&root)?;
        let root = std::fs::canonicalize(&root)?;
        let addr = format!("127.0.0.1:{}", free_port()?);
        let config = format!(
            "listen = {}\nallowed_roots = [{}]\nclaude_bin = \"/bin/sh\"\nclaude_args = [\"-c\", \"exec /bin/sh ./run.sh \\\"$@\\\"\", \"sh\"]\nstop_grace_secs = 2\nlog_format = \"json\"\n{CCWEB_LIMITS}{extra_toml}\n",
            toml_str(&addr),
            toml_str(root.to_str().context("non-UTF-8 temp dir")?),
        );
        std::fs::write(data.join("ccweb.toml"), config)?;
        let since = Instant::now();
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .arg("serve")
            .current_dir(&root)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let logs = collect_stderr(&mut child);
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(5))
            .build()?;
        let ready_after =
            match wait_http_ok(&http, &format!("http://{addr}/readyz"), since, &mut child).await {
                Ok(d) => d,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = logs.lock().map(|l| l.join("\n")).unwrap_or_default();
                    return Err(e.context(format!("ccweb's log:\n{log}")));
                }
            };
        let mut server = Self {
            child,
            addr,
            token: String::new(),
            root,
            ready_after,
            http,
            _dir: dir,
        };
        let out = Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .args(["token", "create", "--user", "admin"])
            .current_dir(&server.root)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "ccweb token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        server.token = String::from_utf8(out.stdout)?.trim().to_owned();
        Ok(server)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A working directory `name` under the root whose `run.sh` is `script`.
    pub(crate) fn workdir(&self, name: &str, script: &str) -> Result<PathBuf> {
        workdir(&self.root, name, script)
    }

    /// Creates a session (`terminal` or `chat`) in `dir`; its id.
    pub(crate) async fn create_session(&self, mode: &str, dir: &Path) -> Result<String> {
        let resp = self
            .http
            .post(format!("http://{}/api/claude/sessions", self.addr))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"mode": mode, "working_dir": dir, "cols": 120, "rows": 40}))
            .send()
            .await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        if status != 201 {
            bail!("creating a session: {status} {body}");
        }
        body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no id in {body}"))
    }

    /// The value of one unlabelled counter or gauge from `/metrics`.
    pub(crate) async fn metric(&self, name: &str) -> Result<f64> {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.addr))
            .bearer_auth("bench-metrics-token-0123456789abcdef")
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .ok_or_else(|| anyhow!("{name} is not in /metrics"))
    }

    /// Stops a session (`DELETE`).
    pub(crate) async fn stop_session(&self, id: &str) -> Result<()> {
        let resp = self
            .http
            .delete(format!("http://{}/api/claude/sessions/{id}", self.addr))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("stopping {id}: {}", resp.status());
        }
        Ok(())
    }

    /// Opens the session's `terminal` or `chat` socket.
    pub(crate) async fn socket(&self, id: &str, kind: &str) -> Result<Ws> {
        let mut req =
            format!("ws://{}/api/claude/sessions/{id}/{kind}", self.addr).into_client_request()?;
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.token))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(ws)
    }

    /// The same socket through the bench's client that offers
    /// permessage-deflate, as browsers do.
    pub(crate) async fn socket_deflate(&self, id: &str, kind: &str) -> Result<DeflateWs> {
        let auth = format!("Bearer {}", self.token);
        DeflateWs::connect(
            &self.addr,
            &format!("/api/claude/sessions/{id}/{kind}"),
            &[("Authorization", &auth)],
        )
        .await
    }
}

impl Drop for Ccweb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `root/name/run.sh`.
pub(crate) fn workdir(root: &Path, name: &str, script: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("run.sh"), script)?;
    Ok(dir)
}

/// A running ttyd: every connection starts its own `/bin/sh ./run.sh` in `dir`.
pub(crate) struct Ttyd {
    child: Child,
    /// `host:port`.
    pub(crate) addr: String,
    /// Time from exec to the first 200 from `/`.
    pub(crate) ready_after: Duration,
    _dir: tempfile::TempDir,
}

impl Ttyd {
    /// The first message on a socket: starts the program at 120×40.
    const HELLO: &'static str = r#"{"AuthToken":"","columns":120,"rows":40}"#;

    /// Starts ttyd (writable, on 127.0.0.1) running `script` for every client.
    pub(crate) async fn start(bin: &Path, script: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let work = workdir(dir.path(), "work", script)?;
        let port = free_port()?;
        let since = Instant::now();
        let mut child = Command::new(bin)
            .args(["-p", &port.to_string(), "-i", "lo", "-W", "-d", "0", "-w"])
            .arg(&work)
            .args(["/bin/sh", "./run.sh"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready_after =
            match wait_http_ok(&http, &format!("http://{addr}/"), since, &mut child).await {
                Ok(d) => d,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e);
                }
            };
        Ok(Self {
            child,
            addr,
            ready_after,
            _dir: dir,
        })
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Opens a terminal (subprotocol `tty`, then the `{AuthToken, columns,
    /// rows}` handshake, which starts the program).
    pub(crate) async fn socket(&self) -> Result<Ws> {
        use futures_util::SinkExt;
        let mut req = format!("ws://{}/ws", self.addr).into_client_request()?;
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("tty"));
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        ws.send(tokio_tungstenite::tungstenite::Message::Binary(
            Self::HELLO.as_bytes().to_vec().into(),
        ))
        .await?;
        Ok(ws)
    }

    /// The same through the bench's client that offers permessage-deflate,
    /// as browsers do (ttyd accepts it and then compresses its output).
    pub(crate) async fn socket_deflate(&self) -> Result<DeflateWs> {
        let mut ws =
            DeflateWs::connect(&self.addr, "/ws", &[("Sec-WebSocket-Protocol", "tty")]).await?;
        ws.send_binary(Self::HELLO.as_bytes()).await?;
        Ok(ws)
    }
}

impl Drop for Ttyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of a process, in KiB (`VmRSS`).
pub(crate) fn rss_kib(pid: u32) -> f64 {
    proc_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size of a process, in KiB (`/proc/PID/smaps_rollup`).
pub(crate) fn pss_kib(pid: u32) -> f64 {
    proc_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

fn proc_field(path: &str, key: &str) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Live (non-zombie) descendants of `pid`.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in dir.flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some((_, after)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("?");
        let ppid: u32 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        parents.push((p, ppid, state == "Z"));
    }
    let mut live = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, pp, zombie) in &parents {
            if pp == parent {
                if !zombie {
                    live.push(child);
                }
                frontier.push(child);
            }
        }
    }
    live
}
