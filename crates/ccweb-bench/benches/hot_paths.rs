//! Micro-benchmarks of ccweb's hot paths (issue 7):
//! terminal-state update per MB (the emulator over base64 and over ANSI-heavy
//! output), snapshot generation, and chat event encode + store.
//!
//! `cargo bench -p ccweb-bench --bench hot_paths`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ccweb_protocol::chat::{ChatEvent, DeltaType};
use ccweb_protocol::{SessionMode, SessionState};
use ccweb_runner::TerminalState;
use ccweb_store::{NewSession, Store};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::fmt::Write as _;

/// 1 MiB of base64 in 100-column lines, as the PTY delivers it (`\r\n`).
fn base64_mib() -> Vec<u8> {
    let line = format!("{}\r\n", "A".repeat(100));
    line.as_bytes()
        .iter()
        .copied()
        .cycle()
        .take(1 << 20)
        .collect()
}

/// 1 MiB of colourful output: SGR colours, cursor moves, erases, as a
/// full-screen program or a coloured `ls`/diff prints.
fn ansi_mib() -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0u32;
    while s.len() < 1 << 20 {
        let _ = write!(
            s,
            "\x1b[{};{}H\x1b[1;3{}m{:>6}\x1b[0m \x1b[38;5;{}mword{}\x1b[48;2;{};{};{}m bg \x1b[0m\x1b[K\r\n",
            i % 40 + 1,
            i % 7 + 1,
            i % 8,
            i,
            i % 256,
            i,
            i % 256,
            (i * 7) % 256,
            (i * 13) % 256
        );
        i += 1;
    }
    s.into_bytes()
}

fn terminal_update(c: &mut Criterion) {
    let mut g = c.benchmark_group("terminal_update");
    for (name, data) in [("base64", base64_mib()), ("ansi", ansi_mib())] {
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(name, |b| {
            let mut t = TerminalState::new(120, 40, 2000);
            // In 64 KiB pieces, as the PTY reader hands them over.
            b.iter(|| {
                for chunk in data.chunks(64 * 1024) {
                    t.process(chunk);
                }
            });
        });
    }
    g.finish();
}

fn snapshot(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot");
    for (name, data) in [
        ("base64_full_scrollback", base64_mib()),
        ("ansi", ansi_mib()),
    ] {
        let mut t = TerminalState::new(120, 40, 2000);
        t.process(&data);
        g.bench_function(name, |b| b.iter(|| t.snapshot()));
    }
    g.finish();
}

fn event_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, session) = rt.block_on(async {
        let store = Store::open(&dir.path().join("bench.db")).await.unwrap();
        let user = store.create_user("bench", None, true).await.unwrap();
        let new = NewSession {
            id: uuid::Uuid::new_v4(),
            owner_id: user.id,
            mode: SessionMode::Chat,
            state: SessionState::Running,
            working_dir: "/tmp".into(),
            title: "bench".into(),
            title_auto: false,
            project_dir: "/tmp".into(),
            created_at: time::OffsetDateTime::now_utc(),
            claude_session_id: None,
            model: None,
            permission_mode: "default".into(),
            cols: 120,
            rows: 40,
        };
        store.insert_session(&new).await.unwrap();
        (store, new.id)
    });
    let event = ChatEvent::AssistantDelta {
        message_id: Some("msg_bench".into()),
        index: 0,
        delta_type: DeltaType::Text,
        text: "Hello from the benchmark, a typical streamed delta.".into(),
    };
    let mut g = c.benchmark_group("chat_event");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        b.iter(|| serde_json::to_string(&event).unwrap())
    });
    g.bench_function("append_event", |b| {
        b.iter_batched(
            || (),
            |()| rt.block_on(store.append_event(session, &event)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, terminal_update, snapshot, event_store);
criterion_main!(benches);
