//! Process lifecycle of the server: graceful shutdown, restart, and no
//! leaked tasks, file descriptors, threads or child processes.
#![allow(clippy::unwrap_used)]

mod common;

use common::{descendants, eventually, fd_count, thread_count, Options, TestServer};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[tokio::test]
async fn sigterm_closes_sockets_with_a_reason_stops_children_and_exits_zero() {
    // The program ignores SIGTERM, so shutdown must escalate to SIGKILL.
    let mut server = TestServer::start(Options::shell(
        "trap '' TERM; echo ready; sleep 1000 & while true; do sleep 1; done",
    ))
    .await;
    let mut sockets = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = server.create_session_id().await;
        let mut c = server.terminal(&id, "").await;
        c.wait_for(T, |s| s.contains("ready")).await;
        sockets.push(c);
        ids.push(id);
    }
    let children = server.children();
    assert!(
        children.len() >= 4,
        "two shells and their sleeps: {children:?}"
    );
    let started = std::time::Instant::now();
    let code = server.terminate(Duration::from_secs(20));
    assert_eq!(code, Some(0), "clean exit; logs:\n{}", server.log_text());
    eprintln!("shutdown took {:?}", started.elapsed());
    for c in &mut sockets {
        c.read_to_end().await;
        let (code, reason) = c.closed.clone().expect("a close frame");
        assert_eq!(code, 1001);
        assert!(reason.contains("shutting down"), "{reason}");
    }
    for pid in children {
        assert!(!common::alive(pid), "child {pid} survived shutdown");
    }
    // After a restart nothing claims to run.
    let server = server.restart().await;
    for id in &ids {
        let s = server.session(id).await;
        assert_eq!(s["state"], "stopped", "{s}");
        assert_eq!(s["end_reason"], "shutdown");
    }
}

#[tokio::test]
async fn sessions_of_a_killed_server_show_as_stopped_after_restart() {
    let mut server = TestServer::start(Options::shell("sleep 1000")).await;
    let id = server.create_session_id().await;
    let children = server.children();
    let mut child = server.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // The orphaned CLI is not ours to manage any more; clean up for the test.
    for pid in children {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let server = server.restart().await;
    let s = server.session(&id).await;
    assert_eq!(s["state"], "stopped", "{s}");
    assert_eq!(s["end_reason"], "server_restart");
}

#[tokio::test]
async fn opening_and_closing_many_sessions_and_sockets_leaks_nothing() {
    let server = TestServer::start(Options::shell("echo ready; exec sleep 1000").toml(
        "max_sessions = 64\nmax_sessions_per_user = 64\nsession_starts_per_user_per_minute = 1000",
    ))
    .await;
    let pid = server.pid();
    // Warm up once so lazily created resources (pools, runtime threads) exist.
    let warm = server.create_session_id().await;
    drop(server.terminal(&warm, "").await);
    server.stop_session(&warm).await;
    // The baseline once the warm-up session is all gone (not after a fixed
    // wait, which a busy machine can outrun).
    eventually(T, "the warm-up session's program gone", || {
        descendants(pid).0.is_empty()
    })
    .await;
    let deadline = std::time::Instant::now() + T;
    while server.status().await["live_sessions"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the warm-up session never left the live ones"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base_fds = non_db_fds(pid);
    let base_tasks = server.status().await["tasks"].as_u64().unwrap();
    let base_threads = thread_count(pid);
    for round in 0..3 {
        let mut ids = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..8 {
            let id = server.create_session_id().await;
            for _ in 0..2 {
                clients.push(server.terminal(&id, "").await);
            }
            ids.push(id);
        }
        assert!(
            fd_count(pid) > base_fds.0 + base_fds.1,
            "round {round}: sessions hold fds"
        );
        drop(clients);
        for id in &ids {
            server.stop_session(id).await;
        }
    }
    eventually(T, "children gone", || descendants(pid).0.is_empty()).await;
    assert!(descendants(pid).1.is_empty(), "no zombies");
    // Database connections come and go with the pool (bounded by its size);
    // everything else (PTYs, sockets, pipes) must return to the baseline.
    // Sockets get a little slack for the test client's own keep-alive pool.
    eventually(T, "PTY and pipe fds back to baseline", || {
        non_db_fds(pid).0 <= base_fds.0
    })
    .await;
    eventually(T, "sockets back to baseline", || {
        non_db_fds(pid).1 <= base_fds.1 + 2
    })
    .await;
    let deadline = std::time::Instant::now() + T;
    while server.status().await["tasks"].as_u64().unwrap() > base_tasks {
        assert!(
            std::time::Instant::now() < deadline,
            "tracked tasks back to baseline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.status().await["live_sessions"], 0);
    eventually(T, "threads back to baseline", || {
        thread_count(pid) <= base_threads + 2
    })
    .await;
    assert!(server
        .sessions()
        .await
        .iter()
        .all(|s| s["viewers"] == 0 && s["state"] == "stopped"));
}

/// (PTY, pipe and other non-socket fds, sockets) of a process, leaving out
/// the database's files.
fn non_db_fds(pid: u32) -> (usize, usize) {
    let targets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .filter(|t| !t.contains("ccweb.db"))
        .collect();
    let sockets = targets.iter().filter(|t| t.starts_with("socket:")).count();
    (targets.len() - sockets, sockets)
}

#[tokio::test]
async fn stopping_a_session_kills_background_and_setsid_grandchildren_and_leaves_no_zombies() {
    // `setsid` leaves the process group, so only the cgroup (or the
    // process-tree walk) still ties the second sleep to the session.
    let server = TestServer::start(Options::shell(
        "sleep 1000 & echo $! > bg.pid; setsid sh -c 'echo $$ > sid.pid; exec sleep 1000' & \
         echo ready; while true; do sleep 1; done",
    ))
    .await;
    let pid = server.pid();
    let id = server.create_session_id().await;
    let project = server.root.join("project");
    let read_pid = |name: &str| {
        std::fs::read_to_string(project.join(name))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    eventually(T, "both grandchildren started", || {
        read_pid("bg.pid").is_some() && read_pid("sid.pid").is_some()
    })
    .await;
    let grandchildren = [read_pid("bg.pid").unwrap(), read_pid("sid.pid").unwrap()];
    for g in grandchildren {
        assert!(common::alive(g), "{g} runs before the stop");
    }
    server.stop_session(&id).await;
    eventually(T, "both grandchildren gone", || {
        grandchildren
            .iter()
            .all(|g| !std::path::Path::new(&format!("/proc/{g}")).exists())
    })
    .await;
    eventually(T, "no children and no zombies under the server", || {
        descendants(pid) == (Vec::new(), Vec::new())
    })
    .await;
}

#[tokio::test]
async fn a_restart_kills_what_a_killed_server_left_in_its_cgroups() {
    let mut server = TestServer::start(Options::shell(
        "setsid sh -c 'echo $$ > sid.pid; exec sleep 1000' & while true; do sleep 1; done",
    ))
    .await;
    // Logged before `listening`, which `start` waited for: read once.
    if !server.log_text().contains("process containment: cgroup v2") {
        // The process-tree fallback cannot find a setsid orphan after kill -9.
        common::skip_without_cgroups("a writable cgroup v2 (to find what a killed server left)");
        return;
    }
    server.create_session_id().await;
    let file = server.root.join("project/sid.pid");
    eventually(T, "grandchild started", || file.exists()).await;
    let orphan: u32 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut child = server.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(common::alive(orphan), "kill -9 leaves the session running");
    let _server = server.restart().await;
    eventually(T, "the orphan is killed at the next start", || {
        !common::alive(orphan)
    })
    .await;
}

#[tokio::test]
async fn a_sessions_program_inherits_only_its_terminal_not_the_servers_files() {
    // Another session's terminal, the database, the server's sockets and
    // whatever the server itself inherited (this test's harness leaves
    // pipes open) must not leak into a child: it could read another user's
    // terminal.
    let server = TestServer::start(Options::shell(
        "ls -l /proc/self/fd; echo fds-listed; sleep 1000",
    ))
    .await;
    let (first, second) = tokio::join!(server.create_session_id(), server.create_session_id());
    for id in [first, second] {
        let mut term = server.terminal(&id, "").await;
        term.wait_for(T, |s| s.contains("fds-listed")).await;
        let listing = String::from_utf8_lossy(&term.bytes).into_owned();
        let targets: Vec<(&str, &str)> = listing
            .lines()
            .filter(|l| l.contains(" -> "))
            .filter_map(|l| {
                let (left, target) = l.split_once(" -> ")?;
                Some((left.rsplit(' ').next()?, target.trim()))
            })
            .collect();
        let tty = targets
            .iter()
            .find(|(fd, _)| *fd == "0")
            .map(|(_, t)| *t)
            .expect("stdin listed");
        assert!(tty.starts_with("/dev/pts/"), "{listing}");
        for (fd, target) in &targets {
            let ok = target == &tty || target.starts_with("/proc/");
            assert!(
                ok,
                "fd {fd} -> {target} leaked into the session:\n{listing}"
            );
        }
        assert!(targets.len() >= 3, "{listing}");
    }
}

#[tokio::test]
async fn a_fork_bomb_and_a_memory_hog_stop_inside_their_session_and_the_rest_goes_on() {
    // The program depends on the session's directory: a bounded fork bomb,
    // a memory hog, or an echo loop that shows the rest still works.
    let server = TestServer::start(
        Options::shell(
            "case $PWD in \
               */bomb) i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i + 1)); echo $i > forked; done; \
                       echo all > forked; sleep 60;; \
               */hog) x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived > hog.out; sleep 60;; \
               *) while read -r line; do echo \"got:$line\"; done;; \
             esac",
        )
        .toml("session_max_processes = 32\nsession_max_memory_bytes = 67108864"),
    )
    .await;
    // Logged before `listening`, which `start` waited for: read once.
    let log = server.log_text();
    if log.contains("NOT enforced") {
        common::skip_without_cgroups("a pids and a memory cgroup controller (v1 or v2)");
        return;
    }
    // Admins see how each limit is enforced.
    let status = server.status().await;
    let limits = status["session_limits"].as_array().unwrap();
    assert_eq!(limits.len(), 2, "{status}");
    let keys = [
        "session_max_processes = 32",
        "session_max_memory_bytes = 67108864",
    ];
    for (line, key) in limits.iter().zip(keys) {
        assert!(
            line.as_str()
                .unwrap()
                .starts_with(&format!("{key}: cgroup v")),
            "{key} must be enforced by a cgroup here: {status}\nlog:\n{log}"
        );
    }
    let start_in_as = |dir: &str, mode: &str| {
        let path = server.root.join(dir);
        std::fs::create_dir_all(&path).unwrap();
        let body = serde_json::json!({"mode": mode, "working_dir": path});
        let server = &server;
        async move {
            let (status, v) = server.create_session_as(&server.admin_token, body).await;
            assert_eq!(status, 201, "{v}");
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let start_in = |dir: &str| start_in_as(dir, "terminal");
    let bomb = start_in("bomb").await;
    let hog = start_in("hog").await;
    let chat_hog = start_in_as("chat/hog", "chat").await;
    let calm = start_in("project").await;

    // The bomb's shell cannot fork past the limit and gives up (dash exits
    // on a failed fork); it never got near its 200 children.
    let ended = server.wait_state(&bomb, "exited", T).await;
    let forked = std::fs::read_to_string(server.root.join("bomb/forked")).unwrap();
    let forked: u32 = forked
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("forked: {forked}"));
    assert!(
        forked < 32,
        "{forked} children, with 32 tasks allowed: {ended}"
    );
    // The hog is killed by the kernel inside its own cgroup (SIGKILL: 137),
    // and the session says why.
    for hog in [&hog, &chat_hog] {
        let ended = server.wait_state(hog, "stopped", T).await;
        assert_eq!(ended["exit_code"], 137, "{ended}");
        assert_eq!(ended["end_reason"], "memory_limit", "{ended}");
    }
    assert!(
        !server.root.join("hog/hog.out").exists(),
        "the hog ran to the end"
    );

    // The server and the other session go on.
    let mut term = server.terminal(&calm, "").await;
    term.send_bytes(b"still-here\r").await;
    term.wait_for(T, |screen| screen.contains("got:still-here"))
        .await;
    let (status, _) = common::call(server.req(reqwest::Method::GET, "/readyz")).await;
    assert_eq!(status, 200);
    // A session can still start: the limits belong to each session, not to all.
    let again = start_in("project").await;
    server.wait_state(&again, "running", T).await;
    for id in [calm, again] {
        server.stop_session(&id).await;
    }
}
