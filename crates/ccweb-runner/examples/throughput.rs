//! Rough PTY → actor → viewer throughput, without sockets:
//! `cargo run --release -p ccweb-runner --example throughput [MB]`.
//! The benchmark harness (issue 7) measures the whole server; this isolates
//! the runner (PTY reads, vt100 parsing, fan-out).

use ccweb_runner::{spawn_terminal, SpawnSpec, TerminalConfig, ViewerEvent};
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let raw = mb * 1024 * 1024 * 3 / 4;
    let spec = SpawnSpec {
        program: "/bin/sh".into(),
        args: vec![
            "-c".into(),
            format!("sleep 0.2; head -c {raw} /dev/zero | base64 -w 100; echo end-marker").into(),
        ],
        cwd: std::env::temp_dir(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cols: 120,
        rows: 35,
        containment: Default::default(),
        sandbox: None,
        launch: None,
    };
    let config = TerminalConfig {
        viewer_queue_bytes: 64 << 20,
        ..TerminalConfig::default()
    };
    let tracker = TaskTracker::new();
    let Ok(handle) = spawn_terminal(spec, config, CancellationToken::new(), &tracker) else {
        eprintln!("spawn failed");
        return;
    };
    let Ok((mut viewer, _, _)) = handle.attach().await else {
        return;
    };
    let mut bytes = 0usize;
    let mut start = None;
    while let Some(event) = viewer.recv_batch(256 * 1024).await {
        match event {
            ViewerEvent::Output(b) => {
                start.get_or_insert_with(Instant::now);
                bytes += b.len();
            }
            ViewerEvent::Exit { .. } => break,
            _ => {}
        }
    }
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    println!(
        "{:.1} MB in {secs:.2} s = {:.1} MB/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
}
