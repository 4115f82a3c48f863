//! The deployment of docs/deploy.md, for real: Debian's nginx terminates TLS
//! on 127.0.0.1 and proxies to ccweb, at `/` and under a sub-path
//! (`base_path = "/ccweb"`). Through it: the UI and health, password login
//! with a `__Host-`/`Secure` cookie, creating a session, the Origin checks,
//! and both sockets over `wss://`. And proxy-header login: nginx checks
//! the user (HTTP Basic here) and reaches ccweb on its Unix socket
//! (`listen_unix`), the only place ccweb believes `X-Forwarded-User`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, Options, TermClient, TestServer, Ws, SESSIONS};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

const NGINX: &str = "/usr/sbin/nginx";
const PASSWORD: &str = "deploy-password-1";

/// Panics when nginx is missing, so a green run always means the test ran.
fn nginx_ready() -> bool {
    assert!(
        Path::new(NGINX).exists(),
        "nginx is missing: apt-get install -y nginx (scripts/test.sh does)"
    );
    true
}

/// Debian's nginx in the foreground with a config like docs/deploy.md's.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// `upstream`: `127.0.0.1:PORT` or `unix:/path/ccweb.sock`. With
    /// `basic_user` (name, password), nginx logs users in with HTTP Basic
    /// and names them to ccweb in `X-Forwarded-User`.
    fn start(
        port: u16,
        upstream: &str,
        prefix: &str,
        cert: &str,
        key: &str,
        basic_user: Option<(&str, &str)>,
    ) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let auth = match basic_user {
            Some((name, password)) => {
                std::fs::write(
                    dir.path().join("htpasswd"),
                    format!("{name}:{{PLAIN}}{password}\n"),
                )
                .unwrap();
                format!(
                    "auth_basic \"ccweb\";\n            auth_basic_user_file {d}/htpasswd;\n            \
                     proxy_set_header X-Forwarded-User $remote_user;"
                )
            }
            None => String::new(),
        };
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        let location = if prefix.is_empty() {
            "/"
        } else {
            &format!("{prefix}/")
        };
        let conf = format!(
            r#"
user root;
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        location {location} {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1h;
            proxy_buffering off;
            {auth}
        }}
    }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(NGINX)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited with {status}: {}", nginx.errors());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                nginx.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// A throw-away certificate for 127.0.0.1: (certificate PEM, key PEM, DER).
fn certificate() -> (String, String, rustls::pki_types::CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    (
        made.cert.pem(),
        made.key_pair.serialize_pem(),
        made.cert.der().clone(),
    )
}

fn tls_config(cert: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Opens `wss://…path` with a cookie and an Origin; the HTTP status on refusal.
async fn wss(
    tls: &Arc<rustls::ClientConfig>,
    url: &str,
    credential: (&'static str, &str),
    origin: &str,
) -> Result<Ws, u16> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert(credential.0, HeaderValue::from_str(credential.1).unwrap());
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    match tokio_tungstenite::connect_async_tls_with_config(
        req,
        None,
        false,
        Some(Connector::Rustls(tls.clone())),
    )
    .await
    {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("wss {url}: {e}"),
    }
}

/// Everything a browser does, through nginx at `prefix` ("" or "/ccweb").
async fn through_nginx(prefix: &str) {
    let port = free_port();
    let public = format!("https://127.0.0.1:{port}");
    let mut toml = format!("public_url = {public:?}\ntrusted_proxies = [\"127.0.0.1\"]");
    if !prefix.is_empty() {
        toml.push_str(&format!("\nbase_path = {prefix:?}"));
    }
    let server = TestServer::start(Options::interactive_shell().toml(&toml)).await;
    assert!(
        server
            .stdout
            .lock()
            .unwrap()
            .join("\n")
            .contains(&format!("{public}{prefix}/login?token=")),
        "the one-time link names the public address and the prefix"
    );
    server.add_user("alice", PASSWORD);
    let (cert_pem, key_pem, cert_der) = certificate();
    let nginx = Nginx::start(port, &server.addr, prefix, &cert_pem, &key_pem, None);
    let tls = tls_config(cert_der.clone());
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .local_address(std::net::IpAddr::from([127, 0, 0, 3]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("{public}{prefix}");

    // Health and the UI.
    let health = http.get(format!("{base}/healthz")).send().await;
    let health = health.unwrap_or_else(|e| panic!("{e}: {}", nginx.errors()));
    assert_eq!(health.status(), 200);
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<div id=\"root\""));
    if !prefix.is_empty() {
        let bare = http.get(&base).send().await.unwrap();
        assert!(bare.status().is_redirection(), "{}", bare.status());
        // ccweb says `/ccweb/`; nginx may make it absolute.
        let to = bare.headers()["location"].to_str().unwrap();
        assert!(
            to == format!("{prefix}/") || to == format!("{base}/"),
            "{to}"
        );
    }

    // Login: a Secure, host-only cookie.
    let login = http
        .post(format!("{base}/api/auth/login"))
        .header("origin", &public)
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let raw = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(raw.starts_with("__Host-ccweb_session="), "{raw}");
    assert!(raw.contains("; Secure"), "{raw}");
    assert!(raw.contains("Path=/;"), "{raw}");
    let cookie = raw.split(';').next().unwrap().to_owned();

    // Sessions and the Origin check.
    let body = json!({"mode": "terminal", "working_dir": server.root.join("project")});
    let made = http
        .post(format!("{base}{SESSIONS}"))
        .header("cookie", &cookie)
        .header("origin", &public)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let session: Value = made.json().await.unwrap();
    let id = session["id"].as_str().unwrap();
    let foreign = http
        .post(format!("{base}{SESSIONS}"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);

    // Both sockets over wss://, and the Origin check on them.
    let wss_base = format!("wss://127.0.0.1:{port}{prefix}{SESSIONS}/{id}");
    let terminal = wss(
        &tls,
        &format!("{wss_base}/terminal"),
        ("cookie", &cookie),
        &public,
    )
    .await
    .expect("the terminal socket opens through nginx");
    let mut term = TermClient::connect(terminal).await;
    term.send_text(json!({"type": "input", "data": "echo through-$((6*7))\r"}))
        .await;
    term.wait_for(Duration::from_secs(15), |s| s.contains("through-42"))
        .await;
    let mut chat = wss(
        &tls,
        &format!("{wss_base}/chat"),
        ("cookie", &cookie),
        &public,
    )
    .await
    .expect("the chat socket opens through nginx");
    let first = tokio::time::timeout(Duration::from_secs(10), chat.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Text(first) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap()["type"],
        "connected"
    );
    for kind in ["terminal", "chat"] {
        let refused = wss(
            &tls,
            &format!("{wss_base}/{kind}"),
            ("cookie", &cookie),
            "https://evil.example",
        )
        .await;
        assert_eq!(refused.err(), Some(403), "{kind} with a foreign Origin");
    }
    // nginx is a trusted proxy: the audit log names the client (which
    // connected from 127.0.0.3), not nginx.
    let (_, audit) = common::call(server.req(
        reqwest::Method::GET,
        &format!("{prefix}/api/admin/audit?user=alice&action=login"),
    ))
    .await;
    assert_eq!(audit["entries"][0]["source"], "127.0.0.3", "{audit}");
    drop(nginx);
}

#[tokio::test]
async fn behind_nginx_at_the_root() {
    if nginx_ready() {
        through_nginx("").await;
    }
}

#[tokio::test]
async fn behind_nginx_under_a_sub_path() {
    if nginx_ready() {
        through_nginx("/ccweb").await;
    }
}

#[tokio::test]
async fn behind_nginx_proxy_header_login_goes_over_the_unix_socket() {
    if !nginx_ready() {
        return;
    }
    let port = free_port();
    let public = format!("https://127.0.0.1:{port}");
    let sock_dir = tempfile::tempdir().unwrap();
    let socket = sock_dir.path().join("ccweb.sock");
    let toml = format!(
        "public_url = {public:?}\nlisten_unix = {:?}\nproxy_user_header = \"X-Forwarded-User\"",
        socket.to_str().unwrap()
    );
    let server = TestServer::start(Options::interactive_shell().toml(&toml)).await;
    server.cli(&["user", "add", "alice"], None);
    let (cert_pem, key_pem, cert_der) = certificate();
    let certificate_der = cert_der.clone();
    let upstream = format!("unix:{}", socket.display());
    let nginx = Nginx::start(
        port,
        &upstream,
        "",
        &cert_pem,
        &key_pem,
        Some(("alice", PASSWORD)),
    );
    let http = reqwest::Client::builder()
        .use_preconfigured_tls((*tls_config(cert_der)).clone())
        .local_address(std::net::IpAddr::from([127, 0, 0, 3]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let me = format!("{public}/api/me");
    let resp = http
        .get(&me)
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await;
    let resp = resp.unwrap_or_else(|e| panic!("{e}: {}", nginx.errors()));
    assert_eq!(resp.status(), 200, "{}", nginx.errors());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["name"], "alice");
    // nginx replaces a header the client sends itself.
    let forged = http
        .get(&me)
        .basic_auth("alice", Some(PASSWORD))
        .header("x-forwarded-user", "admin")
        .send()
        .await
        .unwrap();
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["user"]["name"], "alice", "{body}");
    // A session, with the Origin check, through the socket.
    let made = http
        .post(format!("{public}{SESSIONS}"))
        .basic_auth("alice", Some(PASSWORD))
        .header("origin", &public)
        .json(&json!({"mode": "terminal", "working_dir": server.root.join("project")}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let session: Value = made.json().await.unwrap();
    // Its socket over wss://, through nginx and the Unix socket.
    let tls = tls_config(certificate_der);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("alice:{PASSWORD}")
        )
    );
    let terminal = format!(
        "wss://127.0.0.1:{port}{SESSIONS}/{}/terminal",
        session["id"].as_str().unwrap()
    );
    let ws = wss(&tls, &terminal, ("authorization", &basic), &public)
        .await
        .expect("the terminal socket opens through the Unix socket");
    let mut term = TermClient::connect(ws).await;
    term.send_text(json!({"type": "input", "data": "echo via-unix-$((6*7))\r"}))
        .await;
    term.wait_for(Duration::from_secs(15), |s| s.contains("via-unix-42"))
        .await;
    let refused = wss(
        &tls,
        &terminal,
        ("authorization", &basic),
        "https://evil.example",
    )
    .await;
    assert_eq!(refused.err(), Some(403), "a foreign Origin on the socket");
    // The audit log names the client nginx put in X-Forwarded-For.
    let (_, audit) = common::call(server.req(
        reqwest::Method::GET,
        "/api/admin/audit?user=alice&action=session.create",
    ))
    .await;
    assert_eq!(audit["entries"][0]["source"], "127.0.0.3", "{audit}");
    drop(nginx);
}

/// Where the deployment guide lives, so the test and the guide stay together.
#[test]
fn the_guide_shows_this_configuration() {
    let guide: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy.md");
    let text = std::fs::read_to_string(guide).expect("docs/deploy.md exists");
    for needle in [
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $http_host;",
        "proxy_http_version 1.1;",
        "base_path",
        "public_url",
        "trusted_proxies",
        "listen_unix",
        "proxy_pass http://unix:/run/ccweb/ccweb.sock;",
    ] {
        assert!(text.contains(needle), "docs/deploy.md lacks {needle:?}");
    }
}
