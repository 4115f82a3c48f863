//! The "output at exit and at attach" target: 0 bytes lost in 20 of 20
//! runs.
//!
//! - **exit**: the program prints a few MiB of base64 and exits at once;
//!   the viewer must receive every byte before the session ends (ccweb and
//!   ttyd, interleaved).
//! - **attach**: while the program prints numbered lines, a second viewer
//!   attaches. What it is shown — the redrawn screen, then live output —
//!   must continue line by line to the last one, with no line missing or
//!   repeated between the two (ccweb only: ttyd has no shared session, each
//!   connection starts its own program).

use anyhow::{bail, Context, Result};
use std::time::Duration;

use crate::servers::{Binaries, Ccweb, Ttyd};
use crate::stats::{Samples, Table};
use crate::term::{stream_bytes, Finder, Proto, Term, END, READY, STREAM_SCRIPT};

const CCWEB: &str = "ccweb";
const TTYD: &str = "ttyd";
const MIB: u64 = 1024 * 1024;
/// Longest a run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Prints `n` numbered lines (`line 1` …), then the end marker.
const LINES_SCRIPT: &str = "stty -echo\nprintf 'BENCH-READY\\n'\nread n\nseq -f 'line %.0f' 1 \"$n\"\necho BENCH-END-MARKER\n";

/// Sizes of the workload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExitAttach {
    /// Runs of each kind (the target counts 20).
    pub(crate) runs: usize,
    /// exit: MiB of base64.
    pub(crate) exit_mib: u64,
    /// attach: numbered lines printed.
    pub(crate) lines: u64,
}

/// Runs both kinds; one table.
pub(crate) async fn exit_attach(sizes: ExitAttach, bins: &Binaries) -> Result<Table> {
    let ccweb = Ccweb::start(&bins.ccweb, "").await?;
    let stream_dir = ccweb.workdir("exit", STREAM_SCRIPT)?;
    let lines_dir = ccweb.workdir("attach", LINES_SCRIPT)?;
    let ttyd = match &bins.ttyd {
        Some(bin) => Some(Ttyd::start(bin, STREAM_SCRIPT).await?),
        None => None,
    };
    let raw = sizes.exit_mib * MIB * 3 / 4;
    let want = stream_bytes(raw);
    let mut s = Samples::default();
    for run in 0..sizes.runs {
        eprintln!("exit/attach: run {}/{}", run + 1, sizes.runs);
        let id = ccweb.create_session("terminal", &stream_dir).await?;
        let term = ready(Term::new(
            ccweb.socket(&id, "terminal").await?,
            Proto::Ccweb,
        ))
        .await?;
        let got = bounded(count_to_end(term, raw)).await?;
        s.push(CCWEB, "exit", f64::from(u8::from(got == want)));
        if let Some(ttyd) = &ttyd {
            let term = ready(Term::new(ttyd.socket().await?, Proto::Ttyd)).await?;
            let got = bounded(count_to_end(term, raw)).await?;
            s.push(TTYD, "exit", f64::from(u8::from(got == want)));
        }
        let id = ccweb.create_session("terminal", &lines_dir).await?;
        let ok = bounded(attach_run(&ccweb, &id, sizes.lines)).await?;
        s.push(CCWEB, "attach", f64::from(u8::from(ok)));
    }
    let mut t = Table::new(
        "Output at exit and at attach (runs with nothing lost)",
        &["system", "exit: every byte", "attach: every line once"],
    );
    let count = |sys: &str, metric: &str| {
        let v = s.get(sys, metric);
        if v.is_empty() {
            "—".to_owned()
        } else {
            format!("{}/{}", v.iter().filter(|x| **x > 0.5).count(), v.len())
        }
    };
    for sys in [CCWEB, TTYD] {
        t.row(vec![sys.into(), count(sys, "exit"), count(sys, "attach")]);
    }
    t.note(format!(
        "Exit: the program prints {} MiB of base64 and exits at once; the viewer must have all {want} bytes before the session ends. Attach: while the program prints {} numbered lines, a second viewer attaches; its redrawn screen and the live output after it must continue to the last line with none missing or repeated (ttyd: no shared session, so no attach).",
        sizes.exit_mib, sizes.lines
    ));
    if bins.ttyd.is_none() {
        t.note("ttyd is not installed (`scripts/install-ttyd.sh`): its rows are empty.");
    }
    Ok(t)
}

async fn bounded<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(RUN_LIMIT, f)
        .await
        .context("a run took longer than its limit")?
}

async fn ready(mut term: Term) -> Result<Term> {
    term.wait_for(READY).await?;
    Ok(term)
}

/// Starts the stream and counts the bytes until the session ends.
async fn count_to_end(mut term: Term, raw: u64) -> Result<u64> {
    term.send(format!("{raw}\r").as_bytes()).await?;
    let mut bytes = 0u64;
    while let Some(b) = term.recv().await? {
        bytes += b.len() as u64;
    }
    Ok(bytes)
}

/// One attach run: whether the late viewer saw every line exactly once
/// after the point it joined (and the first viewer every line).
async fn attach_run(ccweb: &Ccweb, id: &str, lines: u64) -> Result<bool> {
    let mut first = ready(Term::new(ccweb.socket(id, "terminal").await?, Proto::Ccweb)).await?;
    first.send(format!("{lines}\r").as_bytes()).await?;
    // Join once the stream is well under way.
    let mut seen = Vec::new();
    let mut finder = Finder::new(b"line 1000\r\n");
    while let Some(b) = first.recv().await? {
        seen.extend_from_slice(&b);
        if finder.feed(&b) {
            break;
        }
    }
    let mut late = Term::new(ccweb.socket(id, "terminal").await?, Proto::Ccweb);
    let (first_rest, late_all) = tokio::join!(read_all(&mut first), read_all(&mut late));
    for b in first_rest? {
        seen.extend_from_slice(&b);
    }
    let late_all = late_all?;
    let first_ok = consecutive(&String::from_utf8_lossy(&seen), 0, lines);
    let Some((snapshot, live)) = late_all.split_first() else {
        bail!("the late viewer got nothing");
    };
    // The redrawn screen: the last complete line above the cursor, and the
    // start of the line the cursor is on (live output completes it).
    let (rows40, cols120) = (
        std::num::NonZeroU16::new(40).context("rows")?,
        std::num::NonZeroU16::new(120).context("cols")?,
    );
    let mut screen = vt100::Parser::new(rows40, cols120, 0);
    screen.process(snapshot);
    let rows: Vec<String> = screen.screen().rows(0, 120).collect();
    let (row, col) = screen.screen().cursor_position();
    let partial: String = rows
        .get(usize::from(row))
        .map(|r| r.chars().take(usize::from(col)).collect())
        .unwrap_or_default();
    let before = usize::from(row)
        .checked_sub(1)
        .and_then(|r| rows.get(r))
        .and_then(|r| r.strip_prefix("line "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let live: Vec<u8> = live.iter().flat_map(|b| b.iter().copied()).collect();
    let text = format!("{partial}{}", String::from_utf8_lossy(&live));
    Ok(first_ok && consecutive(&text, before, lines))
}

/// Every frame until the session ends (the first is a ccweb viewer's
/// redrawn screen).
async fn read_all(term: &mut Term) -> Result<Vec<bytes::Bytes>> {
    let mut frames = Vec::new();
    while let Some(b) = term.recv().await? {
        frames.push(b);
    }
    Ok(frames)
}

/// Whether the `line N` lines of `text` run `after + 1`, `after + 2`, …
/// up to `last`, each once, followed by the end marker.
fn consecutive(text: &str, after: u64, last: u64) -> bool {
    let mut next = after + 1;
    for line in text.split("\r\n") {
        if let Some(n) = line.strip_prefix("line ") {
            match n.parse::<u64>() {
                Ok(n) if n == next => next += 1,
                _ => return false,
            }
        }
    }
    next == last + 1 && text.contains(std::str::from_utf8(END).unwrap_or("BENCH-END-MARKER"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_must_follow_on_once_each() {
        let end = "BENCH-END-MARKER\r\n";
        assert!(consecutive(&format!("line 3\r\nline 4\r\n{end}"), 2, 4));
        assert!(!consecutive(&format!("line 3\r\nline 5\r\n{end}"), 2, 5));
        assert!(!consecutive(
            &format!("line 3\r\nline 3\r\nline 4\r\n{end}"),
            2,
            4
        ));
        assert!(!consecutive("line 3\r\nline 4\r\n", 2, 4));
        assert!(!consecutive(&format!("line 4\r\n{end}"), 2, 4));
    }
}
