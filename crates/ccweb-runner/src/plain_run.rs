//! Which output the terminal state may leave unparsed: plain lines that
//! later output scrolls out of the scrollback before anyone can see them.
//!
//! Parsing is most of what a session's actor spends on a program that
//! streams text (`cat` of a large log, a build's output): every byte goes
//! through the emulator, although of 64 MiB only the last few thousand
//! lines stay in the 2000-line scrollback. So the terminal state holds
//! back a trailing run of *plain lines* (printable ASCII ending in
//! `\r\n`) and, once the run has more lines than the scrollback and the
//! screen can keep, drops the lines at its start without parsing them.
//!
//! Dropping a line changes nothing that can be seen when, before it:
//! - the parser is in its ground state (not inside an escape sequence or
//!   string, which plain bytes would continue: [`EscTracker`]);
//! - the cursor is at column 0 of the screen's last row with no wrap
//!   pending, and insert mode is off.
//!
//! and after it the run has at least `scrollback + rows` more lines. Then
//! each of those lines either scrolls the screen (into the scrollback) or,
//! if a scroll region ends above the cursor, overwrites the last row. In
//! the first case everything the dropped lines wrote has left the
//! scrollback by the end of the run; in the second, the remaining lines
//! overwrite every column the dropped lines wrote, provided one of them is
//! at least as long (checked by the caller). Plain text changes neither the
//! pen, the modes, the title nor the tab stops, and the cursor ends where
//! it would have. `screen.rs` tests compare every cell against an emulator
//! that parsed everything.

use std::collections::VecDeque;

/// Finds the trailing run of plain lines in a stream fed in chunks.
/// Offsets count bytes from the stream's start.
#[derive(Debug)]
pub(crate) struct PlainRun {
    /// Where the run begins (right after a `\r\n`, or at the stream's
    /// start); `None` while the stream's tail is not plain.
    start: Option<u64>,
    /// The end of each complete line of the run (just after its `\n`).
    line_ends: VecDeque<u64>,
    /// The last byte was a `\r` that a `\n` may complete.
    after_cr: bool,
    /// The last byte ended a line (`\r\n`): a run may begin here.
    at_line_start: bool,
    /// Bytes scanned so far.
    pos: u64,
}

impl PlainRun {
    /// A fresh stream: the cursor of a fresh terminal is at a line start.
    pub(crate) fn new() -> Self {
        Self {
            start: Some(0),
            line_ends: VecDeque::new(),
            after_cr: false,
            at_line_start: true,
            pos: 0,
        }
    }

    /// Scans the stream's next bytes.
    pub(crate) fn scan(&mut self, bytes: &[u8]) {
        // Only what follows the last byte that can never be part of a run
        // matters; searching for it from the end keeps colourful output,
        // where it is near the end, from costing a pass over every byte.
        let from = match bytes.iter().rposition(|&b| !is_run_byte(b)) {
            Some(i) => {
                self.end_run();
                self.after_cr = false;
                self.at_line_start = false;
                i + 1
            }
            None => 0,
        };
        for (i, &b) in bytes.iter().enumerate().skip(from) {
            let at = self.pos + i as u64;
            match b {
                b'\n' if self.after_cr => {
                    self.after_cr = false;
                    self.at_line_start = true;
                    match self.start {
                        Some(_) => self.line_ends.push_back(at + 1),
                        // A run may begin after any line's end.
                        None => self.start = Some(at + 1),
                    }
                }
                b'\r' => {
                    if self.after_cr {
                        self.end_run();
                    }
                    self.after_cr = true;
                    self.at_line_start = false;
                }
                0x20..=0x7E if !self.after_cr => self.at_line_start = false,
                _ => {
                    self.end_run();
                    self.after_cr = false;
                    self.at_line_start = false;
                }
            }
        }
        self.pos += bytes.len() as u64;
    }

    fn end_run(&mut self) {
        self.start = None;
        self.line_ends.clear();
    }

    /// Bytes scanned so far: the offset of the next byte.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Where the run begins, if the stream's tail is one.
    pub(crate) fn start(&self) -> Option<u64> {
        self.start
    }

    /// Complete lines in the run.
    pub(crate) fn lines(&self) -> usize {
        self.line_ends.len()
    }

    /// The end of the run's `i`-th complete line.
    pub(crate) fn line_end(&self, i: usize) -> u64 {
        self.line_ends[i]
    }

    /// The longest of the run's complete lines `range` (without `\r\n`).
    pub(crate) fn longest(&self, range: std::ops::Range<usize>) -> u64 {
        let mut longest = 0;
        for i in range {
            let begin = match i {
                0 => self.start.unwrap_or(0),
                _ => self.line_ends[i - 1],
            };
            longest = longest.max(self.line_ends[i] - begin - 2);
        }
        longest
    }

    /// The run's first `n` lines are dealt with: it now begins after them.
    pub(crate) fn forget(&mut self, n: usize) {
        if n > 0 {
            self.start = Some(self.line_ends[n - 1]);
            self.line_ends.drain(..n);
        }
    }

    /// Everything scanned was parsed: a run can only begin from here on.
    pub(crate) fn parsed_all(&mut self) {
        self.line_ends.clear();
        self.start = self.at_line_start.then_some(self.pos);
    }
}

/// Printable ASCII, CR and LF: the bytes a run of plain lines is made of.
fn is_run_byte(b: u8) -> bool {
    matches!(b, 0x20..=0x7E | b'\r' | b'\n')
}

/// Whether the escape-sequence parser (vte) is certainly in its ground
/// state after the bytes fed so far. Mirrors vte's state machine closely
/// enough to never say "ground" when vte is not; it may say "not ground"
/// when vte is (a DCS string ended by C1 ST, say), which only means a run
/// is parsed instead of dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscTracker {
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and intermediate bytes.
    EscIntermediate,
    /// In a CSI sequence (parameters, intermediates or being ignored).
    Csi,
    /// In an OSC string: BEL, ESC, CAN or SUB end it.
    Osc,
    /// In a DCS, SOS, PM or APC string: ESC, CAN or SUB end it.
    Str,
}

impl EscTracker {
    /// Feeds bytes the parser was given.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        // Everything before the last ESC no longer matters.
        let tail = match memchr::memrchr(0x1B, bytes) {
            Some(i) => {
                *self = EscTracker::Escape;
                &bytes[i + 1..]
            }
            None => bytes,
        };
        for &b in tail {
            if *self == EscTracker::Ground {
                // Without another ESC only CAN or SUB could follow, and
                // they keep the parser in ground.
                return;
            }
            *self = self.next(b);
        }
    }

    /// The state after byte `b` (never ESC: `feed` handles that).
    fn next(self, b: u8) -> Self {
        use EscTracker::*;
        match (self, b) {
            // Anywhere: CAN and SUB abort a sequence.
            (_, 0x18 | 0x1A) => Ground,
            (Escape, 0x20..=0x2F) => EscIntermediate,
            (Escape, b'[') => Csi,
            (Escape, b']') => Osc,
            (Escape, b'P' | b'X' | b'^' | b'_') => Str,
            (Escape | EscIntermediate, 0x30..=0x7E) => Ground,
            (Csi, 0x40..=0x7E) => Ground,
            (Osc, 0x07) => Ground,
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(chunks: &[&[u8]]) -> PlainRun {
        let mut run = PlainRun::new();
        for c in chunks {
            run.scan(c);
        }
        run
    }

    #[test]
    fn a_run_is_the_plain_lines_after_the_last_line_with_anything_else() {
        let run = scanned(&[b"ab\r\ncd\r\n"]);
        assert_eq!((run.start(), run.lines()), (Some(0), 2));
        assert_eq!(run.longest(0..2), 2);
        let run = scanned(&[b"x\x1b[1mx\r", b"\nab\r\ncd\r\nef"]);
        assert_eq!(run.start(), Some(8), "after the line with an escape");
        assert_eq!((run.lines(), run.line_end(1)), (2, 16));
        // Tabs, a lone CR or LF, and non-ASCII end a run.
        for other in [
            &b"a\tb\r\n"[..],
            b"a\rb\r\n",
            b"a\nb\r\n",
            "é\r\n".as_bytes(),
        ] {
            let run = scanned(&[b"ok\r\n", other]);
            assert_eq!(run.start(), Some(4 + other.len() as u64), "{other:?}");
            assert_eq!(run.lines(), 0);
        }
        let mut run = scanned(&[b"ab\r\ncd\r\nef\r\n"]);
        run.forget(2);
        assert_eq!((run.start(), run.lines()), (Some(8), 1));
        run.scan(b"partial");
        run.parsed_all();
        assert_eq!(run.start(), None, "the cursor is not at a line start");
        run.scan(b"\r\n");
        assert_eq!(run.start(), Some(21));
    }

    #[test]
    fn ground_is_only_claimed_after_a_sequence_has_certainly_ended() {
        let after = |bytes: &[u8]| {
            let mut t = EscTracker::Ground;
            t.feed(bytes);
            t
        };
        use EscTracker::*;
        assert_eq!(after(b"plain text"), Ground);
        assert_eq!(after(b"\x1b[1;31mred"), Ground);
        assert_eq!(after(b"\x1b[1;31"), Csi);
        assert_eq!(after(b"\x1b[12\r\n34"), Csi, "C0 controls run inside CSI");
        assert_eq!(after(b"\x1b]0;title\r\nmore"), Osc);
        assert_eq!(after(b"\x1b]0;title\x07"), Ground);
        assert_eq!(after(b"\x1b]0;title\x1b\\"), Ground);
        assert_eq!(after(b"\x1bPq#0;2;0;0;0\r\n"), Str);
        assert_eq!(after(b"\x1bPq...\x18text"), Ground);
        assert_eq!(after(b"\x1b(B"), Ground);
        assert_eq!(after(b"\x1b("), EscIntermediate);
        assert_eq!(after(b"\x1b"), Escape);
        let mut t = Ground;
        t.feed(b"\x1b]2;a");
        t.feed(b"bc");
        assert_eq!(t, Osc);
        t.feed(b"d\x07");
        assert_eq!(t, Ground);
    }
}
