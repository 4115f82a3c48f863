//! The terminal state of a session: a `vt100` emulator with bounded
//! scrollback, and the frame that redraws it for a viewer that attaches late.

/// Tracks what vt100 does not keep itself: the window title.
#[derive(Default)]
struct Tracker {
    /// Last title set with OSC 0/2.
    title: Vec<u8>,
}

impl vt100::Callbacks for Tracker {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        // Titles are short in practice; cap anyway so memory stays bounded.
        self.title = title.iter().copied().take(1024).collect();
    }
}

/// Sizes are clamped before they get here; 0 still must not panic.
fn nonzero(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).unwrap_or(std::num::NonZeroU16::MIN)
}

/// A terminal emulator fed with everything the program prints.
pub struct TerminalState {
    parser: vt100::Parser<Tracker>,
}

impl TerminalState {
    /// A blank terminal of the given size keeping `scrollback_lines` lines of history.
    pub fn new(cols: u16, rows: u16, scrollback_lines: usize) -> Self {
        Self {
            parser: vt100::Parser::new_with_callbacks(
                nonzero(rows),
                nonzero(cols),
                scrollback_lines,
                Tracker::default(),
            ),
        }
    }

    /// Feeds program output.
    pub fn process(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    /// Changes the size; the program is told separately (TIOCSWINSZ).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser.set_size(nonzero(rows), nonzero(cols));
    }

    /// Current `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (cols.get(), rows.get())
    }

    /// The visible screen as plain text, one line per row (for tests and exports).
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// One frame that turns a fresh terminal of the same size into this one:
    /// recent scrollback (so the viewer can scroll up), then exactly the
    /// visible screen, cursor, input modes and title.
    pub fn snapshot(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = String::with_capacity(16 * 1024);
        // Reset attributes, clear screen and the viewer's own scrollback.
        out.push_str("\x1b[0m\x1b[H\x1b[2J\x1b[3J");
        if screen.alternate_screen() {
            // Full-screen programs: the alternate screen has no scrollback.
            out.push_str("\x1b[?1049h");
        } else {
            // Printing history and screen in sequence scrolls the history
            // into the viewer's scrollback; the visible part is then redrawn
            // exactly by `state_formatted` below.
            let mut history = String::new();
            let mut capture = vt100::capture::BasicFormattedCaptureState::new();
            // Writing into a String cannot fail.
            let _ = screen.write_contents_formatted_basic(
                &mut history,
                vt100::capture::BasicFormattedCaptureRange::Full(&mut capture),
            );
            out.push_str(&history.replace('\n', "\r\n"));
            out.push_str("\x1b[0m");
        }
        out.push_str(&screen.state_formatted());
        let title = &self.parser.callbacks().title;
        let mut bytes = out.into_bytes();
        if !title.is_empty() {
            bytes.extend_from_slice(b"\x1b]0;");
            bytes.extend_from_slice(title);
            bytes.push(0x07);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(frame: &[u8], cols: u16, rows: u16) -> vt100::Parser {
        let mut p = vt100::Parser::new(nonzero(rows), nonzero(cols), 1000);
        p.process(frame);
        p
    }

    #[test]
    fn snapshot_redraws_the_exact_screen_and_cursor() {
        let mut t = TerminalState::new(40, 6, 100);
        t.process(b"hello \x1b[1;31mred\x1b[0m world\r\nline two\r\n\x1b[3;5Hx");
        let frame = t.snapshot();
        let copy = replay(&frame, 40, 6);
        assert_eq!(copy.screen().contents(), t.contents());
        assert_eq!(
            copy.screen().cursor_position(),
            t.parser.screen().cursor_position()
        );
        assert_eq!(
            copy.screen().contents_formatted(),
            t.parser.screen().contents_formatted()
        );
    }

    #[test]
    fn snapshot_carries_scrollback_into_the_viewers_history() {
        let mut t = TerminalState::new(20, 4, 100);
        for i in 0..30 {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        let copy = replay(&t.snapshot(), 20, 4);
        assert_eq!(copy.screen().contents(), t.contents());
        assert!(
            copy.screen().scrollback_len() >= 20,
            "history reached the viewer"
        );
    }

    #[test]
    fn snapshot_restores_alternate_screen_and_modes() {
        let mut t = TerminalState::new(30, 5, 100);
        t.process(b"main\x1b[?1049h\x1b[?2004h\x1b[2;2Hfull screen app");
        let copy = replay(&t.snapshot(), 30, 5);
        assert!(copy.screen().alternate_screen());
        assert!(copy.screen().bracketed_paste());
        assert_eq!(copy.screen().contents(), t.contents());
    }

    #[test]
    fn scrollback_is_bounded_whatever_is_printed() {
        let mut t = TerminalState::new(80, 24, 50);
        for i in 0..10_000 {
            t.process(format!("{i:>79}\r\n").as_bytes());
        }
        assert!(t.parser.screen().scrollback_len() <= 50);
        assert!(t.snapshot().len() < 80 * 80 * 4);
    }
}
