//! ccweb's benchmark suite (issue 7): starts ccweb (the workspace's release
//! build) and ttyd 1.7.7 on 127.0.0.1, measures both and a raw PTY relay
//! with interleaved runs, and prints Markdown tables for `docs/benchmarks.md`.
//!
//! `cargo build --release -p ccweb && cargo run -p ccweb-bench --release -- all`

mod deflate_ws;
mod exit_attach;
mod fake_cli;
mod servers;
mod stats;
mod term;
mod workloads;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// Every workload below, in this order.
    All,
    /// One viewer, 64 MiB of base64.
    Throughput,
    /// One key at a time into `cat` in raw mode.
    Echo,
    /// One session, 50 viewers, 16 MiB; then with one slow viewer.
    Fanout,
    /// 100 idle sessions: memory per session, children after close.
    Sessions,
    /// Idle RSS and exec → ready.
    Idle,
    /// Chat events from a fake CLI: events/s and delay.
    Chat,
    /// Output at exit and at attach: nothing lost, 20 runs each.
    Exit,
}

/// ccweb's benchmark suite, side by side with ttyd and a raw PTY relay.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// What to run.
    workload: Workload,
    /// Rounds per workload (every system once per round, interleaved).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Tiny sizes: only shows that everything runs.
    #[arg(long)]
    quick: bool,
    /// ccweb's `viewer_queue_bytes` for the bench's server (default: ccweb's default).
    #[arg(long)]
    viewer_queue_bytes: Option<u64>,
    /// Extra lines for the bench server's `ccweb.toml` (experiments, e.g.
    /// `recording_max_bytes = 0`).
    #[arg(long)]
    ccweb_toml: Option<String>,
    /// The ccweb binary (default: `ccweb` next to this program; env CCWEB_BENCH_CCWEB).
    #[arg(long)]
    ccweb: Option<PathBuf>,
    /// The ttyd binary (default: `.cache/ttyd/ttyd` from scripts/install-ttyd.sh; env CCWEB_BENCH_TTYD).
    #[arg(long)]
    ttyd: Option<PathBuf>,
    /// Also append the tables to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<()> {
    // The chat workload's sessions run this program as their CLI, with
    // the CLI's flags after the word (ignored).
    if std::env::args().nth(1).as_deref() == Some(fake_cli::COMMAND) {
        return fake_cli::run();
    }
    let args = Args::parse();
    let bins = servers::Binaries::locate(args.ccweb.clone(), args.ttyd.clone())?;
    let runs = args.runs.max(1);
    let mut cfg = if args.quick {
        workloads::Config::quick(runs)
    } else {
        workloads::Config::full(runs)
    };
    cfg.viewer_queue_bytes = args.viewer_queue_bytes;
    cfg.extra_toml = args.ccweb_toml.clone().unwrap_or_default();
    if bins.ttyd.is_none() {
        eprintln!("ttyd not found (run scripts/install-ttyd.sh): measuring without it");
    }
    eprintln!(
        "ccweb: {}\nttyd: {}",
        bins.ccweb.display(),
        bins.ttyd
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string())
    );
    let exit_sizes = if args.quick {
        exit_attach::ExitAttach {
            runs: 1,
            exit_mib: 1,
            lines: 3000,
        }
    } else {
        exit_attach::ExitAttach {
            runs: 20,
            exit_mib: 4,
            lines: 200_000,
        }
    };
    let rt = tokio::runtime::Runtime::new()?;
    let order = match args.workload {
        Workload::All => vec![
            Workload::Throughput,
            Workload::Echo,
            Workload::Fanout,
            Workload::Sessions,
            Workload::Idle,
            Workload::Chat,
            Workload::Exit,
        ],
        w => vec![w],
    };
    for w in order {
        let (cfg, bins) = (cfg.clone(), bins.clone());
        // On a worker, not in `block_on`: the main thread is not a worker,
        // so every socket event would first wake a worker and then this
        // thread — two thread switches per message, on both systems' clients,
        // that cost a 2-core machine a fifth of its time in the throughput
        // workload. A spawned task runs where its sockets' events arrive.
        let table = rt.block_on(rt.spawn(async move {
            match w {
                Workload::Throughput => workloads::throughput(&cfg, &bins).await,
                Workload::Echo => workloads::echo(&cfg, &bins).await,
                Workload::Fanout => workloads::fanout(&cfg, &bins).await,
                Workload::Sessions => workloads::sessions(&cfg, &bins).await,
                Workload::Idle => workloads::idle(&cfg, &bins).await,
                Workload::Chat => workloads::chat(&cfg, &bins).await,
                Workload::Exit => exit_attach::exit_attach(exit_sizes, &bins).await,
                Workload::All => unreachable!("expanded above"),
            }
        }))??;
        let md = table.markdown();
        println!("{md}");
        if let Some(path) = &args.out {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(f, "{md}")?;
        }
    }
    Ok(())
}
