//! The benchmark command runs end to end in its tiny configuration, so it
//! cannot rot. No timing is asserted: only that every workload ran and
//! printed its table. ttyd's rows stay empty when it is not installed
//! (`scripts/install-ttyd.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `ccweb` binary of the same profile. `cargo test --workspace` has
/// built it already (the ccweb crate's tests need it); only when it is
/// missing (`cargo test -p ccweb-bench` on a fresh tree) is it built here —
/// rebuilding it otherwise could change its features under other tests.
fn ccweb_next_to(bench: &Path) -> PathBuf {
    let dir = bench.parent().expect("a directory");
    let built = dir.join("ccweb");
    if built.is_file() {
        return built;
    }
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "-p", "ccweb"]);
    if dir.ends_with("release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("running cargo");
    assert!(status.success(), "cargo build -p ccweb failed");
    dir.join("ccweb")
}

#[test]
fn the_quick_suite_runs_every_workload() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_ccweb-bench"));
    let ccweb = ccweb_next_to(&bench);
    let ttyd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/ttyd/ttyd");
    if !ttyd.is_file() {
        eprintln!("ttyd is not installed (scripts/install-ttyd.sh): the suite runs without it");
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(&bench)
        .args(["all", "--quick", "--runs", "1", "--out"])
        .arg(out.path())
        .env("CCWEB_BENCH_CCWEB", &ccweb)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the quick suite did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "ccweb-bench failed: {stderr}");
    let tables = std::fs::read_to_string(out.path()).unwrap();
    for title in [
        "### Throughput",
        "### Echo latency",
        "### Fan-out",
        "### Many sessions",
        "### Idle and start-up",
        "### Chat events",
    ] {
        assert!(tables.contains(title), "no {title} table in:\n{tables}");
    }
    // ccweb's rows carry numbers, not the empty cell.
    for line in tables.lines().filter(|l| l.starts_with("| ccweb |")) {
        assert!(!line.starts_with("| ccweb | – |"), "empty row: {line}");
    }
}
