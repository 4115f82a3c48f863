//! OpenID Connect login against a real provider: the certified
//! `oidc-provider` (Node, `tests/oidc/provider.mjs`) on 127.0.0.1, and the
//! real `ccweb serve`. The test plays the browser with a cookie jar,
//! following redirects by hand and filling in the provider's login form.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer, assert_error, call, ccweb, free_port, Options, TestServer};
use reqwest::Url;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

const CLIENT_ID: &str = "ccweb-test";
/// A canary: must never appear in ccweb's output.
const CLIENT_SECRET: &str = "canary-oidc-client-secret-5d1e77";

/// The provider script's directory.
fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Node: `CCWEB_TEST_NODE` (scripts/test.sh sets Node 22), else `node`.
fn node() -> String {
    std::env::var("CCWEB_TEST_NODE").unwrap_or_else(|_| "node".into())
}

/// Installs the provider's pinned packages once (`npm ci`), if missing.
fn install_provider() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = provider_dir();
        if dir.join("node_modules/oidc-provider").is_dir() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed to install the test OIDC provider");
        assert!(status.success(), "npm ci in {}", dir.display());
    });
}

/// A running provider; killed on drop.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start(redirect_uri: &str) -> Provider {
        install_provider();
        let mut child = Command::new(node())
            .arg("provider.mjs")
            .current_dir(provider_dir())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URI", redirect_uri)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test OIDC provider");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("issuer "))
            .expect("the provider prints its issuer");
        let issuer = line["issuer ".len()..].trim().to_owned();
        // Keep reading: a closed pipe would kill it at its next write.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Provider { child, issuer }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A provider and a ccweb using it, with `extra` TOML.
async fn setup(extra: &str) -> (TestServer, Provider) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(&format!("{base}/api/auth/oidc/callback"));
    let toml = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\noidc_issuer = \"{}\"\n\
         oidc_client_id = \"{CLIENT_ID}\"\noidc_client_secret = \"{CLIENT_SECRET}\"\n\
         oidc_label = \"Sign in with Test SSO\"\n{extra}",
        provider.issuer
    );
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    (server, provider)
}

/// A browser: cookie jar, redirects followed by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response, base: &str) -> String {
    let loc = resp.headers()["location"].to_str().unwrap();
    Url::parse(base).unwrap().join(loc).unwrap().to_string()
}

/// `GET /api/auth/oidc/start[?next]`: the provider's authorization URL.
async fn start(b: &reqwest::Client, server: &TestServer, next: Option<&str>) -> String {
    let mut url = Url::parse(&server.url("/api/auth/oidc/start")).unwrap();
    if let Some(next) = next {
        url.query_pairs_mut().append_pair("next", next);
    }
    let resp = b.get(url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 302, "start redirects to the provider");
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("ccweb_oidc=") && set.contains("HttpOnly"),
        "{set}"
    );
    location(&resp, url.as_str())
}

/// Logs in at the provider as `account` from `auth_url` on; returns the
/// callback URL the provider sends the browser to (not yet visited).
async fn authorize(
    b: &reqwest::Client,
    server: &TestServer,
    auth_url: &str,
    account: &str,
) -> String {
    let callback = server.url("/api/auth/oidc/callback");
    let mut url = auth_url.to_owned();
    for _ in 0..12 {
        if url.starts_with(&callback) {
            return url;
        }
        let resp = b.get(&url).send().await.unwrap();
        if resp.status().is_redirection() {
            url = location(&resp, &url);
            continue;
        }
        assert_eq!(resp.status(), 200, "{url}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(r#"name="prompt" value="login""#),
            "a login form: {html}"
        );
        let resp = b
            .post(&url)
            .form(&[("prompt", "login"), ("login", account), ("password", "any")])
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "login form accepted");
        url = location(&resp, &url);
    }
    panic!("the provider never redirected back to ccweb (at {url})");
}

/// Whether a response sets a non-empty login cookie.
fn sets_session(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("ccweb_session=") && !c.starts_with("ccweb_session=;"))
}

/// A whole login as `account` in a new browser: the callback's answer and the browser.
async fn login(
    server: &TestServer,
    account: &str,
    next: Option<&str>,
) -> (reqwest::Response, reqwest::Client) {
    let b = browser();
    let auth = start(&b, server, next).await;
    let callback = authorize(&b, server, &auth, account).await;
    (b.get(&callback).send().await.unwrap(), b)
}

/// ccweb's log lines about refused logins (for failure messages).
fn refusals(server: &TestServer) -> String {
    server
        .log_text()
        .lines()
        .filter(|l| l.contains("refused"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Logs in as `account`, expecting success; returns `/api/me`'s user.
async fn login_ok(server: &TestServer, account: &str) -> Value {
    let (resp, b) = login(server, account, None).await;
    if resp.status() != 302 {
        panic!(
            "{account}: {} {:?}\n{}",
            resp.status(),
            resp.text().await,
            refusals(server)
        );
    }
    assert!(sets_session(&resp), "{account}: a login cookie");
    let (status, me) = call(b.get(server.url("/api/me"))).await;
    assert_eq!(status, 200, "{me}");
    me["user"].clone()
}

/// Logs in as `account`, expecting a refusal with `code`; no session.
async fn login_refused(server: &TestServer, account: &str, status: u16, code: &str) {
    let (resp, b) = login(server, account, None).await;
    assert!(!sets_session(&resp), "{account}: no login cookie");
    assert_error(account, &answer(resp).await, status, code);
    assert_eq!(call(b.get(server.url("/api/me"))).await.0, 401);
}

#[tokio::test]
async fn oidc_login_maps_claims_to_users_and_applies_the_allow_lists() {
    let (server, _provider) = setup(
        "oidc_allowed_domains = [\"example.com\"]\noidc_allowed_groups = [\"staff\"]\noidc_admin_groups = [\"ops\"]",
    )
    .await;

    let (status, config) = call(server.http.get(server.url("/api/auth/config"))).await;
    assert_eq!(status, 200);
    assert_eq!(config["password"], true);
    assert_eq!(config["oidc"]["enabled"], true);
    assert_eq!(config["oidc"]["label"], "Sign in with Test SSO");
    assert_eq!(config["oidc"]["path"], "api/auth/oidc/start");

    // First login provisions; the session is a real cookie session.
    let alice = login_ok(&server, "alice").await;
    assert_eq!(alice["name"], "alice");
    assert_eq!(alice["is_admin"], false);
    // The link is by subject: the same account is the same user next time.
    assert_eq!(login_ok(&server, "alice").await["id"], alice["id"]);

    // Names are sanitised; a missing username claim falls back to the e-mail.
    assert_eq!(login_ok(&server, "mixed").await["name"], "mixed-case");
    assert_eq!(login_ok(&server, "emailonly").await["name"], "mailer");

    // Admin group membership makes an admin.
    let ops = login_ok(&server, "ops-person").await;
    assert_eq!(ops["name"], "opsperson");
    assert_eq!(ops["is_admin"], true);

    // Allow-lists: domain, verified e-mail, group.
    login_refused(&server, "outsider", 403, "oidc_email_not_allowed").await;
    login_refused(&server, "unverified", 403, "oidc_email_not_verified").await;
    login_refused(&server, "nogroup", 403, "oidc_group_not_allowed").await;

    // A local user of the same name is not taken over.
    server.add_user("carol", "carol-password");
    login_refused(&server, "carol", 403, "oidc_name_taken").await;

    // Disabled users are refused.
    server.cli(&["user", "disable", "alice"], None);
    login_refused(&server, "alice", 403, "account_disabled").await;

    server
        .wait_for_log("a refusal", |l| l.contains("OpenID Connect login refused"))
        .await;
    assert!(
        !server.log_text().contains(CLIENT_SECRET),
        "the client secret is never logged"
    );
}

#[tokio::test]
async fn oidc_without_auto_provisioning_admits_only_linked_or_precreated_users() {
    let (server, _provider) = setup("oidc_auto_provision = false").await;
    login_refused(&server, "dave", 403, "oidc_not_provisioned").await;
    // Created beforehand without a password: linked at the first login.
    server.cli(&["user", "add", "erin"], None);
    let erin = login_ok(&server, "erin").await;
    assert_eq!(erin["name"], "erin");
    assert_eq!(login_ok(&server, "erin").await["id"], erin["id"]);
    // A user with a password is a local account: never taken over.
    server.add_user("frank", "frank-password");
    login_refused(&server, "frank", 403, "oidc_name_taken").await;
}

#[tokio::test]
async fn oidc_refuses_bad_state_forged_nonce_replays_and_provider_errors() {
    let (server, _provider) = setup("").await;
    let callback = server.url("/api/auth/oidc/callback");

    // No state at all.
    let b = browser();
    assert_error(
        "no state",
        &call(b.get(format!("{callback}?code=x"))).await,
        400,
        "oidc_state_missing",
    );

    // A state ccweb never issued, in a browser that has a flow going.
    let auth = start(&b, &server, None).await;
    let good = authorize(&b, &server, &auth, "grace").await;
    let mut wrong = Url::parse(&good).unwrap();
    let pairs: Vec<(String, String)> = wrong
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged-state".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    wrong.query_pairs_mut().clear().extend_pairs(pairs);
    let resp = b.get(wrong.as_str()).send().await.unwrap();
    assert!(!sets_session(&resp));
    assert_error(
        "wrong state",
        &answer(resp).await,
        403,
        "oidc_state_invalid",
    );

    // The provider's answer, replayed from another browser (login CSRF):
    // refused, and the state is used up.
    let attacker = browser();
    let resp = attacker.get(&good).send().await.unwrap();
    assert!(!sets_session(&resp));
    assert_error(
        "other browser",
        &answer(resp).await,
        403,
        "oidc_state_invalid",
    );
    let resp = b.get(&good).send().await.unwrap();
    assert_error("used state", &answer(resp).await, 403, "oidc_state_invalid");

    // A complete login works once; replaying its callback is refused.
    let auth = start(&b, &server, None).await;
    let good = authorize(&b, &server, &auth, "grace").await;
    let resp = b.get(&good).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert!(sets_session(&resp));
    let replay = browser();
    let resp = replay.get(&good).send().await.unwrap();
    assert!(!sets_session(&resp));
    assert_error("replay", &answer(resp).await, 403, "oidc_state_invalid");
    let resp = b.get(&good).send().await.unwrap();
    assert_error(
        "replay, same browser",
        &answer(resp).await,
        403,
        "oidc_state_invalid",
    );

    // A code issued for another nonce (the authorization request altered on
    // its way to the provider; PKCE still matches): the ID token is refused.
    let b = browser();
    let auth = start(&b, &server, None).await;
    let mut forged = Url::parse(&auth).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "forged-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let cb = authorize(&b, &server, forged.as_str(), "grace").await;
    let mark = server.log_len();
    let resp = b.get(&cb).send().await.unwrap();
    assert!(!sets_session(&resp));
    assert_error(
        "forged nonce",
        &answer(resp).await,
        403,
        "oidc_token_invalid",
    );
    // The log line can arrive after the answer: waited for, not read once
    // (and earlier refusals may still be on their way, so the line is
    // known by what it says).
    server
        .wait_for_log_after(mark, "a refusal that names the nonce", |l| {
            l.contains("refused") && l.to_ascii_lowercase().contains("nonce")
        })
        .await;
    assert_eq!(call(b.get(server.url("/api/me"))).await.0, 401);

    // The provider answers with an error.
    let b = browser();
    let auth = start(&b, &server, None).await;
    let state = Url::parse(&auth)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut url = Url::parse(&callback).unwrap();
    url.query_pairs_mut()
        .append_pair("state", &state)
        .append_pair("error", "access_denied");
    let resp = b.get(url.as_str()).send().await.unwrap();
    assert!(!sets_session(&resp));
    let message = assert_error(
        "provider error",
        &answer(resp).await,
        403,
        "oidc_provider_error",
    );
    assert!(message.contains("access_denied"), "{message}");

    assert!(!server.log_text().contains(CLIENT_SECRET));
}

#[tokio::test]
async fn oidc_next_stays_on_site() {
    let (server, _provider) = setup("").await;
    // Relative to /api/auth/oidc/callback: the app, also under a proxy sub-path.
    let (resp, _) = login(&server, "heidi", Some("/sessions/abc?x=1")).await;
    assert_eq!(resp.headers()["location"], "../../../sessions/abc?x=1");
    for bad in [
        "//evil.com",
        "///evil.com",
        "\\\\evil.com",
        "/\\evil.com",
        "https://evil.com",
        "/%2F/../../evil",
    ] {
        let (resp, _) = login(&server, "heidi", Some(bad)).await;
        assert_eq!(resp.status(), 302, "{bad}");
        assert_eq!(resp.headers()["location"], "../../../", "{bad}");
    }
}

/// `ccweb serve` with `toml` as its whole config: exit code and stderr.
fn serve_with(toml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("ccweb.toml"), toml).unwrap();
    let out = ccweb(&data, dir.path(), &["serve"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn oidc_configuration_mistakes_exit_2_naming_the_key_without_the_secret() {
    let base = format!(
        "listen = \"127.0.0.1:0\"\noidc_issuer = \"https://login.example.com\"\n\
         oidc_client_id = \"x\"\noidc_client_secret = \"{CLIENT_SECRET}\"\n"
    );
    let (code, err) = serve_with(&base);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("oidc_redirect_url"), "{err}");
    assert!(!err.contains(CLIENT_SECRET), "{err}");

    let (code, err) = serve_with(
        "listen = \"127.0.0.1:0\"\noidc_issuer = \"http://login.example.com\"\noidc_client_id = \"x\"\npublic_url = \"http://127.0.0.1:1\"\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("oidc_issuer"),
        "plain http to a remote provider: {err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = serve_with(&format!(
        "listen = \"127.0.0.1:0\"\noidc_issuer = \"https://login.example.com\"\noidc_client_id = \"x\"\n\
         public_url = \"http://127.0.0.1:1\"\noidc_client_secret_file = {:?}\n",
        secret.to_str().unwrap()
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("oidc_client_secret_file"),
        "world-readable secret file: {err}"
    );
    assert!(!err.contains(CLIENT_SECRET), "{err}");
}
