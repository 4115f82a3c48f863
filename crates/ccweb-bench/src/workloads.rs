//! The six workloads of issue 7. Each starts its servers, runs every system
//! once per round (ccweb, ttyd, raw PTY: interleaved), and returns a table.
//! Every loop is bounded in count, and every wait in time.

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::servers::{descendants, pss_kib, rss_kib, Binaries, Ccweb, Ttyd};
use crate::stats::{quantile, Samples, Table};
use crate::term::{
    stream_bytes, Finder, Proto, RawPty, Term, CAT_SCRIPT, ECHO_SCRIPT, END, READY, STREAM_SCRIPT,
};

const MIB: u64 = 1024 * 1024;
const CCWEB: &str = "ccweb";
const TTYD: &str = "ttyd";
const RAW: &str = "raw PTY";
/// After the end marker, how long to wait for the session to end (the rest of the count).
const TAIL_WAIT: Duration = Duration::from_secs(5);

/// Sizes of one invocation.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Rounds (each system once per round).
    pub(crate) runs: usize,
    /// Throughput: MiB of text.
    pub(crate) stream_mib: u64,
    /// Echo: keys measured, after `echo_warmup`.
    pub(crate) echo_keys: usize,
    /// Echo: keys sent first and not measured.
    pub(crate) echo_warmup: usize,
    /// Fan-out: viewers.
    pub(crate) fan_viewers: usize,
    /// Fan-out: MiB of text.
    pub(crate) fan_mib: u64,
    /// Many sessions: how many.
    pub(crate) sessions: usize,
    /// Chat: events of the burst.
    pub(crate) chat_burst: u64,
    /// Chat: events at the steady rate.
    pub(crate) chat_steady: u64,
    /// Chat: the steady rate, events per second.
    pub(crate) chat_rate: u64,
    /// ccweb's `viewer_queue_bytes` (None: its default).
    pub(crate) viewer_queue_bytes: Option<u64>,
    /// More lines for ccweb's configuration.
    pub(crate) extra_toml: String,
}

impl Config {
    /// The sizes of issue 7.
    pub(crate) fn full(runs: usize) -> Self {
        Self {
            runs,
            stream_mib: 64,
            echo_keys: 1000,
            echo_warmup: 100,
            fan_viewers: 50,
            fan_mib: 16,
            sessions: 100,
            chat_burst: 10_000,
            chat_steady: 1000,
            chat_rate: 100,
            viewer_queue_bytes: None,
            extra_toml: String::new(),
        }
    }

    /// A tiny configuration that only shows the command works.
    pub(crate) fn quick(runs: usize) -> Self {
        Self {
            runs,
            stream_mib: 2,
            echo_keys: 50,
            echo_warmup: 5,
            fan_viewers: 4,
            fan_mib: 1,
            sessions: 4,
            chat_burst: 200,
            chat_steady: 20,
            chat_rate: 200,
            viewer_queue_bytes: None,
            extra_toml: String::new(),
        }
    }

    fn ccweb_toml(&self) -> String {
        let queue = self
            .viewer_queue_bytes
            .map(|b| format!("viewer_queue_bytes = {b}\n"))
            .unwrap_or_default();
        format!("{queue}{}\n", self.extra_toml)
    }
}

/// ccweb's counter of viewer queue overflows.
const OVERFLOWS: &str = "ccweb_terminal_viewer_overflows_total";

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

async fn start_ttyd(bins: &Binaries, script: &str) -> Result<Option<Ttyd>> {
    match &bins.ttyd {
        Some(bin) => Ok(Some(Ttyd::start(bin, script).await?)),
        None => Ok(None),
    }
}

/// The note for a table without ttyd.
fn no_ttyd(table: &mut Table, bins: &Binaries) {
    if bins.ttyd.is_none() {
        table.note("ttyd is not installed (`scripts/install-ttyd.sh`): its rows are empty.");
    }
}

/// One stream through a socket whose program printed [`READY`]: (MB/s
/// from the first byte to the end marker, bytes until the session ended).
async fn stream_ws(term: &mut Term, raw: u64) -> Result<(f64, u64)> {
    term.send(format!("{raw}\r").as_bytes()).await?;
    let mut finder = Finder::new(END);
    let mut bytes = 0u64;
    let mut first = None;
    let mut rate = f64::NAN;
    while let Some(b) = term.recv().await? {
        let start = *first.get_or_insert_with(Instant::now);
        bytes += b.len() as u64;
        // Up to the last byte, should the marker never come (ttyd loses
        // the end of the output at exit in some runs): counted incomplete.
        rate = mb_per_s(bytes, start.elapsed());
        if finder.feed(&b) {
            break;
        }
    }
    // The rest: the marker's line end, until the session ends.
    let deadline = Instant::now() + TAIL_WAIT;
    while rate.is_finite() && Instant::now() < deadline {
        match tokio::time::timeout_at(deadline.into(), term.recv()).await {
            Ok(Ok(Some(b))) => bytes += b.len() as u64,
            _ => break,
        }
    }
    Ok((rate, bytes))
}

/// The same through the raw PTY relay (blocking).
fn stream_raw(dir: &std::path::Path, raw: u64) -> Result<(f64, u64)> {
    let mut pty = RawPty::spawn(STREAM_SCRIPT, dir)?;
    pty.wait_for(b"BENCH-READY\r\n")?;
    pty.send(format!("{raw}\r").as_bytes())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut finder = Finder::new(END);
    let mut bytes = 0u64;
    let mut first = None;
    let mut rate = f64::NAN;
    loop {
        let n = pty.read(&mut buf)?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        bytes += n as u64;
        if rate.is_nan() && finder.feed(&buf[..n]) {
            rate = first.map_or(f64::NAN, |f| mb_per_s(bytes, f.elapsed()));
        }
    }
    Ok((rate, bytes))
}

async fn ccweb_term(server: &Ccweb, id: &str) -> Result<Term> {
    let mut term = Term::new(server.socket(id, "terminal").await?, Proto::Ccweb);
    term.wait_for(READY).await?;
    Ok(term)
}

async fn ttyd_term(server: &Ttyd) -> Result<Term> {
    let mut term = Term::new(server.socket().await?, Proto::Ttyd);
    term.wait_for(READY).await?;
    Ok(term)
}

/// The throughput rows of a client that offers permessage-deflate.
const CCWEB_DEFLATE: &str = "ccweb, client offers deflate";
const TTYD_DEFLATE: &str = "ttyd, client offers deflate";

/// Which client a measurement uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// tokio-tungstenite, which offers no extension.
    Plain,
    /// The bench's own client, which offers permessage-deflate as Chromium does.
    OffersDeflate,
}

/// Logs what the server made of the offer; the negotiated parameters.
fn log_deflate(sys: &str, term: &Term) -> Option<String> {
    let n = term.deflate().map(ToString::to_string);
    match &n {
        Some(p) => eprintln!("throughput: {sys}: negotiated {p}"),
        None => eprintln!("throughput: {sys}: no permessage-deflate, answered uncompressed"),
    }
    n
}

/// Logs how much of a stream the server compressed (deflate-offering client only).
fn log_wire(sys: &str, term: &Term) {
    if let Some(w) = term.wire_stats() {
        eprintln!(
            "throughput: {sys}: {} of {} messages compressed, {} payload bytes on the wire, {} inflated",
            w.compressed, w.messages, w.wire_bytes, w.data_bytes
        );
    }
}

/// Records one stream: its rate and whether every byte came.
fn push_stream(s: &mut Samples, sys: &str, (rate, bytes): (f64, u64), want: u64) {
    s.push(sys, "rate", rate);
    s.push(sys, "complete", f64::from(u8::from(bytes == want)));
}

/// Records whether the server negotiated permessage-deflate.
fn push_deflate(s: &mut Samples, sys: &str, negotiated: &Option<String>) {
    s.push(sys, "deflate", f64::from(u8::from(negotiated.is_some())));
}

/// `n/m` of the runs whose `metric` was 1.
fn count_of(s: &Samples, sys: &str, metric: &str) -> String {
    let v = s.get(sys, metric);
    format!("{}/{}", v.iter().filter(|c| **c > 0.5).count(), v.len())
}

/// One ccweb stream in a fresh session (its program streams once):
/// the stream, the viewer overflows, the negotiated deflate parameters.
async fn ccweb_stream(
    ccweb: &Ccweb,
    dir: &std::path::Path,
    raw: u64,
    client: Client,
) -> Result<((f64, u64), f64, Option<String>)> {
    let id = ccweb.create_session("terminal", dir).await?;
    let (mut term, negotiated) = match client {
        Client::Plain => (ccweb_term(ccweb, &id).await?, None),
        Client::OffersDeflate => {
            let ws = ccweb.socket_deflate(&id, "terminal").await?;
            let mut term = Term::offering_deflate(ws, Proto::Ccweb);
            let n = log_deflate(CCWEB_DEFLATE, &term);
            term.wait_for(READY).await?;
            (term, n)
        }
    };
    let overflows = ccweb.metric(OVERFLOWS).await?;
    let stream = stream_ws(&mut term, raw).await?;
    log_wire(CCWEB_DEFLATE, &term);
    term.close().await;
    let overflows = ccweb.metric(OVERFLOWS).await? - overflows;
    Ok((stream, overflows, negotiated))
}

/// One ttyd stream (a fresh program per socket); the negotiated deflate parameters.
async fn ttyd_stream(
    ttyd: &Ttyd,
    raw: u64,
    client: Client,
) -> Result<((f64, u64), Option<String>)> {
    let (mut term, negotiated) = match client {
        Client::Plain => (ttyd_term(ttyd).await?, None),
        Client::OffersDeflate => {
            let mut term = Term::offering_deflate(ttyd.socket_deflate().await?, Proto::Ttyd);
            let n = log_deflate(TTYD_DEFLATE, &term);
            term.wait_for(READY).await?;
            (term, n)
        }
    };
    let stream = stream_ws(&mut term, raw).await?;
    log_wire(TTYD_DEFLATE, &term);
    term.close().await;
    Ok((stream, negotiated))
}

/// Workload 1: one viewer, `stream_mib` MiB of base64; each server once
/// with a client that offers no extension and once with one that offers
/// permessage-deflate.
pub(crate) async fn throughput(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
    let dir = ccweb.workdir("stream", STREAM_SCRIPT)?;
    let ttyd = start_ttyd(bins, STREAM_SCRIPT).await?;
    let raw = cfg.stream_mib * MIB * 3 / 4;
    let want = stream_bytes(raw);
    let mut s = Samples::default();
    // What ttyd answered to the offer (the same every round).
    let mut ttyd_params = None;
    for round in 0..cfg.runs {
        eprintln!("throughput: round {}/{}", round + 1, cfg.runs);
        for (sys, client) in [
            (CCWEB, Client::Plain),
            (CCWEB_DEFLATE, Client::OffersDeflate),
        ] {
            let (stream, overflows, negotiated) = ccweb_stream(&ccweb, &dir, raw, client).await?;
            push_stream(&mut s, sys, stream, want);
            s.push(CCWEB, "overflows", overflows);
            if client == Client::OffersDeflate {
                push_deflate(&mut s, sys, &negotiated);
            }
        }
        if let Some(ttyd) = &ttyd {
            for (sys, client) in [(TTYD, Client::Plain), (TTYD_DEFLATE, Client::OffersDeflate)] {
                let (stream, negotiated) = ttyd_stream(ttyd, raw, client).await?;
                push_stream(&mut s, sys, stream, want);
                if client == Client::OffersDeflate {
                    push_deflate(&mut s, sys, &negotiated);
                    ttyd_params = ttyd_params.or(negotiated);
                }
            }
        }
        let d = dir.clone();
        let stream = tokio::task::spawn_blocking(move || stream_raw(&d, raw)).await??;
        push_stream(&mut s, RAW, stream, want);
    }
    let mut t = Table::new(
        &format!(
            "Throughput: {} MiB of base64, one viewer (MB/s, first byte → end marker)",
            cfg.stream_mib
        ),
        &[
            "system",
            "MB/s median (min–max)",
            "every byte, to the end",
            "ccweb ÷ this",
        ],
    );
    for (sys, ccweb_sys) in [
        (CCWEB, CCWEB),
        (TTYD, CCWEB),
        (RAW, CCWEB),
        // Like against like: ccweb with the offer ÷ this.
        (CCWEB_DEFLATE, CCWEB_DEFLATE),
        (TTYD_DEFLATE, CCWEB_DEFLATE),
    ] {
        t.row(vec![
            sys.into(),
            s.cell(sys, "rate", 1),
            count_of(&s, sys, "complete"),
            s.ratio("rate", ccweb_sys, sys),
        ]);
    }
    let overflows: f64 = s.get(CCWEB, "overflows").iter().sum();
    t.note(format!("ccweb's viewer fell behind (queue overflow, then a re-sync snapshot instead of the missed output) {overflows} times in all rounds."));
    t.note(format!("{} rounds, interleaved. Every byte: the viewer received exactly the {want} bytes the program wrote (the PTY's \\r\\n included) before the session ended. ccweb keeps terminal state (alacritty_terminal) for every byte; ttyd and the relay do not. Without permessage-deflate: ccweb's WebSocket stack (axum 0.8 / tungstenite) does not offer it.", cfg.runs));
    let ttyd_answer = match (&ttyd, &ttyd_params) {
        (None, _) => "not measured".to_owned(),
        (Some(_), Some(p)) => format!(
            "negotiated it in {} rounds (`{p}`) and compressed its output",
            count_of(&s, TTYD_DEFLATE, "deflate")
        ),
        (Some(_), None) => "declined it in every round (answered uncompressed)".to_owned(),
    };
    t.note(format!(
        "\"client offers deflate\": the bench's own client sends `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`, as Chromium does. ccweb negotiated it in {} rounds (it answers uncompressed); ttyd {ttyd_answer}. MB/s counts the program's bytes, after decompression. The ratio of these rows is ccweb with the offer ÷ this (target: ≥ 2× ttyd).",
        count_of(&s, CCWEB_DEFLATE, "deflate")
    ));
    no_ttyd(&mut t, bins);
    Ok(t)
}

/// Round trips of one key at a time, in µs.
async fn echo_ws(term: &mut Term, warmup: usize, keys: usize) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(keys);
    for i in 0..warmup + keys {
        let key = [b'a' + (i % 26) as u8];
        let t = Instant::now();
        term.send(&key).await?;
        loop {
            match term.recv().await? {
                Some(b) if b.contains(&key[0]) => break,
                Some(_) => {}
                None => bail!("the session ended during the echo test"),
            }
        }
        if i >= warmup {
            out.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok(out)
}

fn echo_raw(dir: &std::path::Path, warmup: usize, keys: usize) -> Result<Vec<f64>> {
    let mut pty = RawPty::spawn(ECHO_SCRIPT, dir)?;
    pty.wait_for(READY)?;
    let mut buf = [0u8; 4096];
    let mut out = Vec::with_capacity(keys);
    for i in 0..warmup + keys {
        let key = [b'a' + (i % 26) as u8];
        let t = Instant::now();
        pty.send(&key)?;
        loop {
            let n = pty.read(&mut buf)?;
            if n == 0 {
                bail!("the program ended during the echo test");
            }
            if buf[..n].contains(&key[0]) {
                break;
            }
        }
        if i >= warmup {
            out.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok(out)
}

/// Workload 2: keys into `cat` in raw mode, one at a time.
pub(crate) async fn echo(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
    let dir = ccweb.workdir("echo", ECHO_SCRIPT)?;
    let ttyd = start_ttyd(bins, ECHO_SCRIPT).await?;
    let (warmup, keys) = (cfg.echo_warmup, cfg.echo_keys);
    let mut s = Samples::default();
    let mut record = |sys: &str, v: &[f64]| {
        s.push(sys, "p50", quantile(v, 0.5));
        s.push(sys, "p99", quantile(v, 0.99));
    };
    for round in 0..cfg.runs {
        eprintln!("echo: round {}/{}", round + 1, cfg.runs);
        let id = ccweb.create_session("terminal", &dir).await?;
        let mut term = ccweb_term(&ccweb, &id).await?;
        record(CCWEB, &echo_ws(&mut term, warmup, keys).await?);
        term.close().await;
        ccweb.stop_session(&id).await?;
        if let Some(ttyd) = &ttyd {
            let mut term = ttyd_term(ttyd).await?;
            record(TTYD, &echo_ws(&mut term, warmup, keys).await?);
            term.close().await;
        }
        let d = dir.clone();
        let v = tokio::task::spawn_blocking(move || echo_raw(&d, warmup, keys)).await??;
        record(RAW, &v);
    }
    let mut t = Table::new(
        &format!("Echo latency: {keys} keys one at a time into `cat` (raw mode), after {warmup} warm-up keys (µs)"),
        &["system", "p50 median (min–max)", "p99 median (min–max)", "ccweb p99 ÷ this"],
    );
    for sys in [CCWEB, TTYD, RAW] {
        t.row(vec![
            sys.into(),
            s.cell(sys, "p50", 0),
            s.cell(sys, "p99", 0),
            s.ratio("p99", CCWEB, sys),
        ]);
    }
    t.note(format!("{} rounds, interleaved; each round's p50 and p99 over its {keys} keys, then the median of the rounds.", cfg.runs));
    no_ttyd(&mut t, bins);
    Ok(t)
}

/// What one fan-out run measured.
struct Fan {
    /// Seconds from go until the last fast viewer had the marker.
    all: f64,
    /// Median over the fast viewers of their time to the marker.
    median: f64,
    /// Fast viewers that received every byte.
    complete: usize,
    /// Peak server RSS during the run, KiB.
    peak_rss: f64,
}

/// Reads one viewer's stream: (time the marker arrived, bytes until the end).
async fn fan_reader(
    mut term: Term,
    slow: bool,
    go: Option<(u64, watch::Receiver<bool>)>,
    mut done: watch::Receiver<bool>,
) -> Result<(Option<Instant>, u64)> {
    if let Some((raw, mut start)) = go {
        start.wait_for(|s| *s).await?;
        term.send(format!("{raw}\r").as_bytes()).await?;
    }
    let mut finder = Finder::new(END);
    let mut bytes = 0u64;
    let mut at = None;
    let mut last = None;
    loop {
        let next = tokio::select! {
            r = term.recv() => match r {
                Ok(next) => next,
                // Dropped by the server (a lagging viewer may be): the
                // stream ends here and counts as incomplete.
                Err(e) => {
                    eprintln!("fan-out viewer{}: {e}", if slow { " (slow)" } else { "" });
                    None
                }
            },
            _ = done.wait_for(|d| *d), if slow => break,
        };
        let Some(b) = next else { break };
        bytes += b.len() as u64;
        last = Some(Instant::now());
        if at.is_none() && finder.feed(&b) {
            at = Some(Instant::now());
            if slow {
                break;
            }
        }
        if slow {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if at.is_some_and(|a| a.elapsed() > TAIL_WAIT) {
            break;
        }
    }
    term.close().await;
    // A stream cut short counts until its last byte (and as incomplete).
    Ok((at.or(if slow { None } else { last }), bytes))
}

/// Samples `pid`'s RSS every 20 ms until `done`; the peak.
fn rss_sampler(pid: u32, mut done: watch::Receiver<bool>) -> tokio::task::JoinHandle<f64> {
    tokio::spawn(async move {
        let mut peak = rss_kib(pid);
        loop {
            tokio::select! {
                _ = done.wait_for(|d| *d) => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => peak = peak.max(rss_kib(pid)),
            }
        }
        peak
    })
}

/// Runs the viewers of one fan-out run. With a `typist`, it starts the
/// (one) program; without, every viewer starts its own (ttyd).
async fn fan_run(
    terms: Vec<Term>,
    typist: Option<&mut Term>,
    slow: bool,
    pid: u32,
    raw: u64,
) -> Result<Fan> {
    let (done_tx, done_rx) = watch::channel(false);
    let (start_tx, start_rx) = watch::channel(false);
    let sampler = rss_sampler(pid, done_rx.clone());
    let n = terms.len();
    let self_go = typist.is_none();
    let mut tasks = Vec::with_capacity(n);
    for (i, term) in terms.into_iter().enumerate() {
        let is_slow = slow && i == n - 1;
        let go = self_go.then(|| (raw, start_rx.clone()));
        tasks.push((
            is_slow,
            tokio::spawn(fan_reader(term, is_slow, go, done_rx.clone())),
        ));
    }
    let t0 = Instant::now();
    let _ = start_tx.send(true);
    if let Some(typist) = typist {
        typist.send(format!("{raw}\r").as_bytes()).await?;
    }
    let want = stream_bytes(raw);
    let mut times = Vec::new();
    let mut complete = 0;
    let mut slow_task = None;
    for (is_slow, task) in tasks {
        if is_slow {
            slow_task = Some(task);
            continue;
        }
        let (at, bytes) = task.await??;
        if let Some(at) = at {
            times.push(at.duration_since(t0).as_secs_f64());
        }
        complete += usize::from(bytes == want);
    }
    let _ = done_tx.send(true);
    if let Some(task) = slow_task {
        task.await??;
    }
    let peak_rss = sampler.await?;
    let fast = n - usize::from(slow);
    if times.len() < fast {
        bail!(
            "{} of {fast} viewers never got the end marker",
            fast - times.len()
        );
    }
    Ok(Fan {
        all: times.iter().copied().fold(0.0, f64::max),
        median: crate::stats::median(&times),
        complete,
        peak_rss,
    })
}

/// Workload 3: one session, many viewers; then one of them slow.
pub(crate) async fn fanout(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
    let dir = ccweb.workdir("fanout", STREAM_SCRIPT)?;
    let ttyd = start_ttyd(bins, STREAM_SCRIPT).await?;
    let raw = cfg.fan_mib * MIB * 3 / 4;
    let n = cfg.fan_viewers;
    let mut s = Samples::default();
    let mut record = |sys: &str, slow: bool, f: &Fan| {
        let suffix = if slow { " slow" } else { "" };
        s.push(sys, &format!("all{suffix}"), f.all);
        s.push(sys, &format!("median{suffix}"), f.median);
        s.push(sys, &format!("complete{suffix}"), f.complete as f64);
        s.push(sys, &format!("rss{suffix}"), f.peak_rss / 1024.0);
    };
    for round in 0..cfg.runs {
        for slow in [false, true] {
            eprintln!(
                "fan-out: round {}/{}{}",
                round + 1,
                cfg.runs,
                if slow { ", one slow viewer" } else { "" }
            );
            let id = ccweb.create_session("terminal", &dir).await?;
            let mut terms = Vec::with_capacity(n);
            for _ in 0..n {
                terms.push(ccweb_term(&ccweb, &id).await?);
            }
            // Any viewer may type; one more socket does, so none of the
            // measured ones spends time sending.
            let mut typist = ccweb_term(&ccweb, &id).await?;
            let f = fan_run(terms, Some(&mut typist), slow, ccweb.pid(), raw).await?;
            record(CCWEB, slow, &f);
            typist.close().await;
            if let Some(ttyd) = &ttyd {
                // ttyd runs one program per viewer: each is told to go.
                let mut terms = Vec::with_capacity(n);
                for _ in 0..n {
                    terms.push(ttyd_term(ttyd).await?);
                }
                let f = fan_run(terms, None, slow, ttyd.pid(), raw).await?;
                record(TTYD, slow, &f);
            }
        }
    }
    let mut t = Table::new(
        &format!("Fan-out: one session, {n} viewers, {} MiB of base64 (s until every viewer has the end marker)", cfg.fan_mib),
        &[
            "system",
            "all viewers, s",
            "fast viewers' median, s",
            "… with one slow viewer, s",
            "slow ÷ normal median",
            "viewers with every byte (normal / slow run)",
            "peak server RSS MiB (normal / slow)",
            "ccweb ÷ this (all)",
        ],
    );
    for sys in [CCWEB, TTYD] {
        let sum = |m: &str| s.get(sys, m).iter().sum::<f64>() as usize;
        let runs = s.get(sys, "complete").len();
        t.row(vec![
            sys.into(),
            s.cell(sys, "all", 2),
            s.cell(sys, "median", 2),
            s.cell(sys, "median slow", 2),
            format!(
                "{:.2}×",
                s.median(sys, "median slow") / s.median(sys, "median")
            ),
            format!(
                "{}/{} / {}/{}",
                sum("complete"),
                runs * n,
                sum("complete slow"),
                runs * (n - 1)
            ),
            format!("{} / {}", s.cell(sys, "rss", 1), s.cell(sys, "rss slow", 1)),
            s.ratio("all", CCWEB, sys),
        ]);
    }
    t.note(format!("{} rounds, interleaved. The slow viewer sleeps 50 ms after every message; it is not counted in the times. ttyd starts one program per viewer (it has no shared session), so its {n} viewers are {n} programs each writing the whole stream.", cfg.runs));
    no_ttyd(&mut t, bins);
    Ok(t)
}

/// Polls until `pid` has at least (`at_least`) or at most (`!at_least`) `n`
/// live descendants, for up to 30 s; the count at the end.
async fn wait_children(pid: u32, n: usize, at_least: bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = descendants(pid).len();
        if (at_least && c >= n) || (!at_least && c <= n) || Instant::now() > deadline {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Workload 4: many idle sessions of `cat`.
pub(crate) async fn sessions(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
    let dir = ccweb.workdir("cat", CAT_SCRIPT)?;
    let ttyd = start_ttyd(bins, CAT_SCRIPT).await?;
    let n = cfg.sessions;
    let settle = Duration::from_millis(300);
    let mut s = Samples::default();
    for round in 0..cfg.runs {
        eprintln!("sessions: round {}/{}", round + 1, cfg.runs);
        let pid = ccweb.pid();
        let (rss0, pss0) = (rss_kib(pid), pss_kib(pid));
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(ccweb.create_session("terminal", &dir).await?);
        }
        wait_children(pid, n, true).await;
        tokio::time::sleep(settle).await;
        s.push(CCWEB, "rss", (rss_kib(pid) - rss0) / n as f64);
        s.push(CCWEB, "pss", (pss_kib(pid) - pss0) / n as f64);
        for id in &ids {
            ccweb.stop_session(id).await?;
        }
        s.push(CCWEB, "left", wait_children(pid, 0, false).await as f64);
        tokio::time::sleep(settle).await;
        s.push(CCWEB, "after", rss_kib(pid) - rss0);
        if let Some(ttyd) = &ttyd {
            let pid = ttyd.pid();
            let (rss0, pss0) = (rss_kib(pid), pss_kib(pid));
            let mut terms = Vec::with_capacity(n);
            for _ in 0..n {
                terms.push(Term::new(ttyd.socket().await?, Proto::Ttyd));
            }
            wait_children(pid, n, true).await;
            tokio::time::sleep(settle).await;
            s.push(TTYD, "rss", (rss_kib(pid) - rss0) / n as f64);
            s.push(TTYD, "pss", (pss_kib(pid) - pss0) / n as f64);
            for term in terms {
                term.close().await;
            }
            s.push(TTYD, "left", wait_children(pid, 0, false).await as f64);
            tokio::time::sleep(settle).await;
            s.push(TTYD, "after", rss_kib(pid) - rss0);
        }
    }
    let mut t = Table::new(
        &format!("Many sessions: {n} idle sessions of `cat` (server process only; KiB)"),
        &[
            "system",
            "RSS per session",
            "PSS per session",
            "RSS after closing all, vs before",
            "children left after close (max)",
        ],
    );
    for sys in [CCWEB, TTYD] {
        t.row(vec![
            sys.into(),
            s.cell(sys, "rss", 1),
            s.cell(sys, "pss", 1),
            s.cell(sys, "after", 0),
            format!("{}", s.get(sys, "left").iter().copied().fold(0.0, f64::max)),
        ]);
    }
    t.note(format!("{} rounds, interleaved, on one server each; per session = (after opening − before) ÷ {n}. ccweb's sessions have no viewer; ttyd's are open sockets (ttyd has no session without one). ccweb's `scrollback_lines` (2000) is a budget that an idle `cat` does not use.", cfg.runs));
    no_ttyd(&mut t, bins);
    Ok(t)
}

/// Workload 5: idle RSS and start-up time.
pub(crate) async fn idle(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let mut s = Samples::default();
    for round in 0..cfg.runs {
        eprintln!("idle: round {}/{}", round + 1, cfg.runs);
        let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        s.push(CCWEB, "ready", ccweb.ready_after.as_secs_f64() * 1e3);
        s.push(CCWEB, "rss", rss_kib(ccweb.pid()) / 1024.0);
        drop(ccweb);
        if let Some(ttyd) = start_ttyd(bins, CAT_SCRIPT).await? {
            tokio::time::sleep(Duration::from_secs(1)).await;
            s.push(TTYD, "ready", ttyd.ready_after.as_secs_f64() * 1e3);
            s.push(TTYD, "rss", rss_kib(ttyd.pid()) / 1024.0);
        }
    }
    let mut t = Table::new(
        "Idle and start-up",
        &[
            "system",
            "idle RSS MiB",
            "exec → ready, ms",
            "ccweb ÷ this (RSS / ready)",
        ],
    );
    for sys in [CCWEB, TTYD] {
        t.row(vec![
            sys.into(),
            s.cell(sys, "rss", 1),
            s.cell(sys, "ready", 1),
            format!(
                "{} / {}",
                s.ratio("rss", CCWEB, sys),
                s.ratio("ready", CCWEB, sys)
            ),
        ]);
    }
    t.note(format!("{} rounds, interleaved. Ready: ccweb's `/readyz` answers 200 (a fresh data directory: the database is created and migrated, the first admin made), ttyd's `/` answers 200; polled every millisecond. Idle RSS one second later.", cfg.runs));
    no_ttyd(&mut t, bins);
    Ok(t)
}

/// The next chat event (`{"type":"event", …}`'s `event`), skipping other messages.
async fn chat_event(ws: &mut crate::servers::Ws) -> Result<Value> {
    // One deadline for the call, so pings cannot keep it waiting.
    let deadline = tokio::time::Instant::now() + crate::term::SILENCE;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("chat socket silent")?
            .context("chat socket closed")??;
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == "event" {
                return Ok(v["event"].clone());
            }
        }
    }
}

async fn chat_turn(
    ws: &mut crate::servers::Ws,
    command: &str,
    count: u64,
) -> Result<(Duration, Vec<f64>)> {
    let msg = serde_json::json!({"type": "user_message", "text": command}).to_string();
    let t = Instant::now();
    ws.send(Message::Text(msg.into())).await?;
    let mut delays = Vec::with_capacity(count as usize);
    loop {
        let e = chat_event(ws).await?;
        match e["kind"].as_str() {
            Some("assistant_delta") => {
                let sent: u128 = e["text"]
                    .as_str()
                    .and_then(|t| t.split(' ').nth(1))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let now = crate::fake_cli::unix_nanos();
                delays.push(now.saturating_sub(sent) as f64 / 1e3);
            }
            Some("result") => break,
            Some("error") => bail!("chat error event: {e}"),
            _ => {}
        }
    }
    if delays.len() as u64 != count {
        bail!("{} of {count} deltas arrived", delays.len());
    }
    Ok((t.elapsed(), delays))
}

/// Workload 6: chat events from a fake CLI, stored and delivered.
pub(crate) async fn chat(cfg: &Config, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, &cfg.ccweb_toml()).await?;
    let bench = bins.bench.to_str().context("non-UTF-8 path")?;
    let dir = ccweb.workdir("chat", &format!("exec '{bench}' fake-cli \"$@\"\n"))?;
    let mut s = Samples::default();
    for round in 0..cfg.runs {
        eprintln!("chat: round {}/{}", round + 1, cfg.runs);
        let id = ccweb.create_session("chat", &dir).await?;
        let mut ws = ccweb.socket(&id, "chat").await?;
        // Ready once `initialize` was answered.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let e = chat_event(&mut ws).await?;
            if e["kind"] == "system" && e["subtype"] == "initialize" {
                break;
            }
            if Instant::now() > deadline {
                bail!("the fake CLI never became ready");
            }
        }
        let (took, _) = chat_turn(
            &mut ws,
            &format!("burst {}", cfg.chat_burst),
            cfg.chat_burst,
        )
        .await?;
        s.push(CCWEB, "rate", cfg.chat_burst as f64 / took.as_secs_f64());
        let (_, delays) = chat_turn(
            &mut ws,
            &format!("steady {} {}", cfg.chat_steady, cfg.chat_rate),
            cfg.chat_steady,
        )
        .await?;
        s.push(CCWEB, "p50", quantile(&delays, 0.5) / 1e3);
        s.push(CCWEB, "p99", quantile(&delays, 0.99) / 1e3);
        let _ = ws.close(None).await;
        ccweb.stop_session(&id).await?;
    }
    let mut t = Table::new(
        "Chat events: a fake CLI printing stream-json text deltas",
        &[
            "system",
            &format!("events/s, burst of {}", cfg.chat_burst),
            &format!("delay p50 ms at {}/s", cfg.chat_rate),
            &format!("delay p99 ms at {}/s", cfg.chat_rate),
        ],
    );
    t.row(vec![
        CCWEB.into(),
        s.cell(CCWEB, "rate", 0),
        s.cell(CCWEB, "p50", 2),
        s.cell(CCWEB, "p99", 2),
    ]);
    t.note(format!("{} rounds. Events/s: from sending the user message until the viewer has the turn's `result`, every delta stored (SQLite, before it is sent) and received. Delay: from the fake CLI writing a line to the viewer parsing its event ({} events). ttyd has no equivalent.", cfg.runs, cfg.chat_steady));
    Ok(t)
}
