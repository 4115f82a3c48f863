//! Trusted reverse-proxy header login: the header counts only from a peer
//! in `trusted_proxies` (here 127.0.0.2, a loopback address the test
//! client binds to), names only existing enabled users, and proxy-logged
//! browser requests obey the same Origin rules as cookies.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_error, call, Options, TestServer};
use std::net::{IpAddr, Ipv4Addr};

const HEADER: &str = "X-Forwarded-User";

/// A client connecting from `ip`.
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn proxy_header_counts_only_from_trusted_peers_for_enabled_users() {
    let server = TestServer::start(
        Options::shell("exit 0")
            .toml("trusted_proxies = [\"127.0.0.2/32\"]\nproxy_user_header = \"X-Forwarded-User\""),
    )
    .await;
    server.add_user("pat", "pat-password");
    server.add_user("dis", "dis-password");
    server.cli(&["user", "disable", "dis"], None);
    let proxy = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let direct = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let me = server.url("/api/me");

    let (status, body) = call(proxy.get(&me).header(HEADER, "pat")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "pat");
    // Names are matched in lower case, as the store keeps them.
    assert_eq!(call(proxy.get(&me).header(HEADER, "Pat")).await.0, 200);

    // The same header from a peer that is not a trusted proxy: ignored.
    assert_error(
        "untrusted peer",
        &call(direct.get(&me).header(HEADER, "pat")).await,
        401,
        "unauthorized",
    );
    // Unknown and disabled users.
    assert_eq!(call(proxy.get(&me).header(HEADER, "nobody")).await.0, 401);
    assert_eq!(call(proxy.get(&me).header(HEADER, "dis")).await.0, 401);
    // From the proxy without the header: the other methods as usual.
    assert_eq!(call(proxy.get(&me)).await.0, 401);

    // State changes need an allowed Origin, as with cookies.
    let sessions = server.url(common::SESSIONS);
    assert_error(
        "no origin",
        &call(
            proxy
                .post(&sessions)
                .header(HEADER, "pat")
                .json(&serde_json::json!({})),
        )
        .await,
        403,
        "origin_not_allowed",
    );
    assert_error(
        "foreign origin",
        &call(
            proxy
                .post(&sessions)
                .header(HEADER, "pat")
                .header("origin", "https://evil.example")
                .json(&serde_json::json!({})),
        )
        .await,
        403,
        "origin_not_allowed",
    );
    let (status, body) = call(
        proxy
            .post(&sessions)
            .header(HEADER, "pat")
            .header("origin", server.origin())
            .json(&serde_json::json!({})),
    )
    .await;
    assert_eq!(
        status, 400,
        "authenticated, then the empty body is refused: {body}"
    );

    // Forwarded host headers never stand in for Host.
    assert_error(
        "forwarded host",
        &call(
            direct
                .get(&me)
                .bearer_auth(&server.admin_token)
                .header("host", "attacker.example")
                .header("x-forwarded-host", server.addr.as_str())
                .header("forwarded", format!("host={}", server.addr)),
        )
        .await,
        403,
        "host_not_allowed",
    );
}

#[tokio::test]
async fn proxy_auto_provisioning_creates_users_named_by_the_proxy() {
    let server = TestServer::start(Options::shell("exit 0").toml(
        "trusted_proxies = [\"127.0.0.2\"]\nproxy_user_header = \"X-Forwarded-User\"\nproxy_auto_provision = true",
    ))
    .await;
    let proxy = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let (status, body) = call(proxy.get(server.url("/api/me")).header(HEADER, "quinn")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "quinn");
    assert_eq!(body["user"]["is_admin"], false);
    // Names the store does not allow are refused, not mangled.
    assert_eq!(
        call(proxy.get(server.url("/api/me")).header(HEADER, "../root"))
            .await
            .0,
        401
    );
}

#[test]
fn proxy_configuration_mistakes_exit_2_naming_the_key() {
    for (toml, key) in [
        (
            "proxy_user_header = \"X-Forwarded-User\"\n",
            "trusted_proxies",
        ),
        ("trusted_proxies = [\"0.0.0.0/0\"]\n", "trusted_proxies"),
        ("trusted_proxies = [\"proxy.example\"]\n", "trusted_proxies"),
        // A proxy on another machine needs public_url (or https) to listen widely.
        (
            "listen = \"0.0.0.0:0\"\ntrusted_proxies = [\"10.0.0.5\"]\n",
            "listen",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let toml = if toml.starts_with("listen") {
            toml.to_owned()
        } else {
            format!("listen = \"127.0.0.1:0\"\n{toml}")
        };
        std::fs::write(data.join("ccweb.toml"), toml).unwrap();
        let out = common::ccweb(&data, dir.path(), &["serve"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[tokio::test]
async fn a_user_logged_in_by_the_proxy_cannot_give_themselves_a_password() {
    let server = TestServer::start(
        Options::shell("exit 0")
            .toml("trusted_proxies = [\"127.0.0.2/32\"]\nproxy_user_header = \"X-Forwarded-User\""),
    )
    .await;
    // Made without a password: the proxy is how they log in.
    server.cli(&["user", "add", "quinn"], None);
    let proxy = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let (status, me) = call(proxy.get(server.url("/api/me")).header(HEADER, "quinn")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["has_password"], false);
    assert_eq!(me["can_set_password"], false);
    // A password would be a way in that outlives their removal at the proxy.
    assert_error(
        "a first password through the proxy",
        &call(
            proxy
                .post(server.url("/api/me/password"))
                .header(HEADER, "quinn")
                .header("origin", server.origin())
                .json(&serde_json::json!({"new_password": "quinn-password-1"})),
        )
        .await,
        403,
        "password_not_allowed",
    );
    let login = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "quinn", "password": "quinn-password-1"}));
    assert_eq!(call(login).await.0, 401, "no password was set");
    // An admin still can.
    let reset = server
        .req(reqwest::Method::POST, "/api/admin/users/quinn/password")
        .json(&serde_json::json!({"new_password": "quinn-password-1"}));
    assert_eq!(call(reset).await.0, 200);
}
