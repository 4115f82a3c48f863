//! The terminal state of a session: an `alacritty_terminal` emulator with
//! bounded scrollback, and the frame that redraws it for a viewer that
//! attaches late.
//!
//! Why alacritty's emulator and not `vt100`: every byte a session prints
//! goes through it, and it parses plain output about twice as fast
//! (its grid recycles rows as they scroll instead of allocating one per
//! line). It has no "redraw yourself" output, so [`TerminalState::snapshot`]
//! writes that frame here.
//!
//! Plain lines that later output scrolls out of the scrollback anyway are
//! not parsed at all (see `plain_run`): a program streaming text costs the
//! emulator the last few thousand lines, not every byte.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alacritty_terminal::event::{Event, EventListener};
use bytes::{Buf, BytesMut};

use crate::plain_run::{EscTracker, PlainRun};
use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermDamage, TermMode};
use alacritty_terminal::vte::ansi::{Color, NamedColor, Processor, Timeout};

/// Titles longer than this are cut: memory stays bounded whatever is printed.
const TITLE_MAX_BYTES: usize = 1024;
/// Output arriving in chunks smaller than this is parsed at once: the
/// program is not streaming (the same measure the actor's output pipe
/// batches by), and holding lines back would only delay them.
const HOLD_MIN_BYTES: usize = crate::output_pipe::STREAMING_BYTES;
/// The most output held back unparsed; past it, all of it is parsed.
const HOLD_MAX_BYTES: usize = 1024 * 1024;

/// Records what the emulator reports and does not keep readable itself:
/// the window title. Replies to queries (`PtyWrite`) are ignored, as
/// before: the viewers' terminals answer them.
#[derive(Clone, Default)]
struct Tracker {
    // Shared with the `TerminalState` that owns the emulator; only locked
    // when a title is set or a snapshot is taken.
    title: Arc<Mutex<String>>,
}

impl Tracker {
    fn title(&self) -> std::sync::MutexGuard<'_, String> {
        // A panic while holding this lock cannot leave a String half-made.
        self.title.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventListener for Tracker {
    fn send_event(&self, event: Event) {
        match event {
            Event::Title(title) => {
                let mut end = title.len().min(TITLE_MAX_BYTES);
                while !title.is_char_boundary(end) {
                    end -= 1;
                }
                *self.title() = title[..end].to_owned();
            }
            Event::ResetTitle => self.title().clear(),
            _ => {}
        }
    }
}

/// Synchronized updates (`CSI ? 2026 h`) are a rendering hint. A renderer
/// holds the bytes back until the update ends; this state must not: a
/// snapshot has to contain every byte processed so far, because the viewer
/// continues with the bytes after them. A timeout that is never pending
/// makes the parser apply everything at once.
#[derive(Default)]
struct NeverSync;

impl Timeout for NeverSync {
    fn set_timeout(&mut self, _: Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}

/// The emulator's idea of a window size.
struct Size {
    cols: usize,
    rows: usize,
}

impl Size {
    /// Sizes are clamped before they get here; 0 still must not panic.
    fn new(cols: u16, rows: u16) -> Self {
        Self {
            cols: usize::from(cols.max(2)),
            rows: usize::from(rows.max(1)),
        }
    }
}

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.rows
    }
    fn screen_lines(&self) -> usize {
        self.rows
    }
    fn columns(&self) -> usize {
        self.cols
    }
}

/// A terminal emulator fed with everything the program prints.
pub struct TerminalState {
    term: Term<Tracker>,
    parser: Processor<NeverSync>,
    tracker: Tracker,
    scrollback_lines: usize,
    /// Where the program's output is a run of plain lines (`run.start()`
    /// onwards); what of it is not parsed yet is `held`, the output's last
    /// bytes (see `held_from`).
    run: PlainRun,
    held: BytesMut,
    /// The parser's state after everything it was given.
    esc: EscTracker,
    /// Bytes dropped unparsed (tests show that dropping happens).
    #[cfg(test)]
    dropped: u64,
}

impl TerminalState {
    /// A blank terminal of the given size keeping `scrollback_lines` lines of history.
    pub fn new(cols: u16, rows: u16, scrollback_lines: usize) -> Self {
        let tracker = Tracker::default();
        let config = Config {
            scrolling_history: scrollback_lines,
            ..Config::default()
        };
        Self {
            term: Term::new(config, &Size::new(cols, rows), tracker.clone()),
            parser: Processor::new(),
            tracker,
            scrollback_lines,
            run: PlainRun::new(),
            held: BytesMut::new(),
            esc: EscTracker::Ground,
            #[cfg(test)]
            dropped: 0,
        }
    }

    /// Feeds program output. A trailing run of plain lines may be held
    /// back (see `plain_run`); every method that shows the state parses it
    /// first.
    pub fn process(&mut self, bytes: &[u8]) {
        self.run.scan(bytes);
        match self.run.start() {
            Some(start) if bytes.len() >= HOLD_MIN_BYTES => {
                self.held.extend_from_slice(bytes);
                let before = offset(start - self.held_from());
                self.parse_held(before);
                self.settle_run();
            }
            _ => {
                self.flush();
                self.parse(bytes);
                self.run.parsed_all();
            }
        }
    }

    /// The output's offset of the first held byte: what is held is always
    /// the end of what was scanned (once a chunk is held or parsed).
    fn held_from(&self) -> u64 {
        self.run.pos() - self.held.len() as u64
    }

    /// Parses everything held back.
    fn flush(&mut self) {
        self.parse_held(self.held.len());
        self.run.parsed_all();
    }

    fn parse(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.term, bytes);
        self.esc.feed(bytes);
    }

    /// Parses the first `len` held bytes.
    fn parse_held(&mut self, len: usize) {
        self.parser.advance(&mut self.term, &self.held[..len]);
        self.esc.feed(&self.held[..len]);
        self.held.advance(len);
    }

    /// Deals with the run's lines beyond what the scrollback and the screen
    /// can show: drops them when that changes nothing, else parses them.
    fn settle_run(&mut self) {
        let need = self.scrollback_lines + self.term.screen_lines() + 1;
        let lines = self.run.lines();
        if lines < 2 * need {
            if self.held.len() > HOLD_MAX_BYTES {
                self.flush();
            }
            return;
        }
        let excess = lines - need;
        let end = self.run.line_end(excess - 1);
        if self.may_drop_lines() {
            // Does a line feed on the last row scroll, or does a scroll
            // region end above it? Parsing the first line tells: a scroll
            // damages the whole screen, and nothing else plain text does.
            self.term.reset_damage();
            self.parse_held(offset(self.run.line_end(0) - self.held_from()));
            let scrolls = matches!(self.term.damage(), TermDamage::Full);
            let len = offset(end - self.held_from());
            if scrolls || self.run.longest(1..excess) <= self.run.longest(excess..lines) {
                self.held.advance(len);
                #[cfg(test)]
                {
                    self.dropped += len as u64;
                }
            } else {
                self.parse_held(len);
            }
        } else {
            self.parse_held(offset(end - self.held_from()));
        }
        self.run.forget(excess);
        if self.held.len() > HOLD_MAX_BYTES {
            self.flush();
        }
    }

    /// Whether plain lines printed now are invisible once enough further
    /// plain lines follow (the conditions in `plain_run`).
    fn may_drop_lines(&self) -> bool {
        let cursor = &self.term.grid().cursor;
        self.esc == EscTracker::Ground
            && cursor.point.line.0 + 1 == self.term.screen_lines() as i32
            && cursor.point.column.0 == 0
            && !cursor.input_needs_wrap
            && !self.term.mode().contains(TermMode::INSERT)
    }

    /// Changes the size; the program is told separately (TIOCSWINSZ).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        // Held lines were printed for the old size.
        self.flush();
        self.term.resize(Size::new(cols, rows));
    }

    /// Current `(cols, rows)`.
    pub fn size(&self) -> (u16, u16) {
        let grid = self.term.grid();
        // Sizes come from u16 and are never grown past them.
        let cols = u16::try_from(grid.columns()).unwrap_or(u16::MAX);
        let rows = u16::try_from(grid.screen_lines()).unwrap_or(u16::MAX);
        (cols, rows)
    }

    /// The visible screen as plain text (for tests and exports): one line
    /// per row, a row the program wrapped joined to the next, trailing
    /// blanks and blank lines left out.
    pub fn contents(&mut self) -> String {
        self.flush();
        let grid = self.term.grid();
        let mut out = String::new();
        for line in 0..grid.screen_lines() {
            let row = &grid[Line(line as i32)];
            let mut text = String::new();
            for cell in row_cells(row) {
                push_char(&mut text, cell);
            }
            if wraps(row) {
                out.push_str(&text);
            } else {
                out.push_str(text.trim_end_matches(' '));
                out.push('\n');
            }
        }
        out.truncate(out.trim_end_matches('\n').len());
        out
    }

    /// One frame that turns a fresh terminal of the same size into this one:
    /// the scrollback (so the viewer can scroll up), then exactly the
    /// visible screen, cursor, pen, input modes and title.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.flush();
        let term = &self.term;
        let grid = term.grid();
        let mode = *term.mode();
        let cursor = grid.cursor.point;
        // Cells to keep on a row however blank: up to the cursor on its row.
        let keep_to = |line: i32| {
            if line == cursor.line.0 {
                cursor.column.0
            } else {
                0
            }
        };
        let mut out = String::with_capacity(16 * 1024);
        // Reset attributes, clear screen and the viewer's own scrollback.
        out.push_str("\x1b[0m\x1b[H\x1b[2J\x1b[3J");
        let mut pen = Pen::default();
        if mode.contains(TermMode::ALT_SCREEN) {
            // Full-screen programs: the alternate screen has no scrollback;
            // each row is drawn where it belongs.
            out.push_str("\x1b[?1049h");
            for line in 0..grid.screen_lines() {
                let _ = write!(out, "\x1b[{};1H", line + 1);
                let line = line as i32;
                write_row(&mut out, &mut pen, &grid[Line(line)], keep_to(line));
                pen.reset(&mut out);
            }
        } else {
            // History and screen printed as one stream, a line per row:
            // the history scrolls into the viewer's scrollback and the last
            // `rows` lines are the screen. A row the program wrapped is left
            // to wrap in the viewer too (so it re-wraps on resize), unless
            // the next row is blank: then nothing would wrap and a line
            // would go missing.
            let top = grid.topmost_line().0;
            let bottom = grid.bottommost_line().0;
            for line in top..=bottom {
                let row = &grid[Line(line)];
                let soft = line < bottom && wraps(row) && !is_blank(&grid[Line(line + 1)]);
                write_row(&mut out, &mut pen, row, keep_to(line));
                if !soft {
                    // Reset first: a coloured pen would paint the new line
                    // (background colour erase).
                    pen.reset(&mut out);
                    if line < bottom {
                        out.push_str("\r\n");
                    }
                }
            }
        }
        pen.reset(&mut out);
        write_cursor(&mut out, term);
        write_modes(&mut out, mode);
        let title = self.tracker.title();
        if !title.is_empty() {
            let _ = write!(out, "\x1b]0;{}\x07", title.replace(['\x07', '\x1b'], ""));
        }
        out.into_bytes()
    }
}

/// The cells of a row that a viewer's terminal must be sent: wide
/// characters' spacers are implied by the character, and trailing default
/// blanks are left out (unless the row wraps: then they are content).
/// A length within what is held (never more than `HOLD_MAX_BYTES` plus a chunk).
fn offset(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

fn row_cells(row: &Row<Cell>) -> impl Iterator<Item = &Cell> {
    row_cells_to(row, 0)
}

/// [`row_cells`], but at least the first `min` cells. The cursor's row keeps
/// the blanks before the cursor: a prompt's trailing space is text the
/// program wrote (`"$ "`), and a viewer that keeps written blanks apart
/// from empty cells (vt100 does) should see it.
fn row_cells_to(row: &Row<Cell>, min: usize) -> impl Iterator<Item = &Cell> {
    let len = row.len();
    let keep = if wraps(row) {
        len
    } else {
        let trimmed = len
            - (0..len)
                .rev()
                .take_while(|&c| is_default_blank(&row[Column(c)]))
                .count();
        trimmed.max(min.min(len))
    };
    (0..keep).map(move |c| &row[Column(c)]).filter(|cell| {
        !cell
            .flags
            .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
    })
}

/// Whether the program's output continued from this row onto the next.
fn wraps(row: &Row<Cell>) -> bool {
    row.last()
        .is_some_and(|cell| cell.flags.contains(Flags::WRAPLINE))
}

fn is_blank(row: &Row<Cell>) -> bool {
    row_cells(row).next().is_none()
}

fn is_default_blank(cell: &Cell) -> bool {
    (cell.c == ' ' || cell.c == '\t')
        && Pen::of(cell) == Pen::default()
        && cell.zerowidth().is_none()
}

/// A cell's character as a viewer must print it. alacritty keeps a tab's
/// `\t` in its first cell (for copying); on the wire that is a space.
fn push_char(out: &mut String, cell: &Cell) {
    out.push(if cell.c < ' ' || cell.c == '\x7f' {
        ' '
    } else {
        cell.c
    });
    if let Some(marks) = cell.zerowidth() {
        out.extend(marks);
    }
}

fn write_row(out: &mut String, pen: &mut Pen, row: &Row<Cell>, min: usize) {
    for cell in row_cells_to(row, min) {
        pen.switch(out, Pen::of(cell));
        push_char(out, cell);
    }
}

/// Cursor position, including the "pending wrap" of a cursor that has just
/// printed into the last column, and the pen it will print with next.
fn write_cursor(out: &mut String, term: &Term<Tracker>) {
    let grid = term.grid();
    let cursor = &grid.cursor;
    let line = cursor.point.line.0 + 1;
    let col = cursor.point.column.0;
    if cursor.input_needs_wrap {
        // Only printing into the last column sets a pending wrap: print that
        // cell again (the wide character it belongs to, if it is a spacer).
        let row = &grid[cursor.point.line];
        let mut at = col;
        if row[Column(at)].flags.contains(Flags::WIDE_CHAR_SPACER) && at > 0 {
            at -= 1;
        }
        let cell = &row[Column(at)];
        let _ = write!(out, "\x1b[{line};{}H", at + 1);
        let mut pen = Pen::default();
        pen.switch(out, Pen::of(cell));
        push_char(out, cell);
        pen.reset(out);
    } else {
        let _ = write!(out, "\x1b[{line};{}H", col + 1);
    }
    Pen::default().switch(out, Pen::of(&cursor.template));
}

/// The modes a viewer's terminal needs to behave like the program expects:
/// keys, mouse, paste, focus reports and the cursor's visibility.
fn write_modes(out: &mut String, mode: TermMode) {
    let private = [
        (TermMode::APP_CURSOR, 1),
        (TermMode::MOUSE_REPORT_CLICK, 1000),
        (TermMode::MOUSE_DRAG, 1002),
        (TermMode::MOUSE_MOTION, 1003),
        (TermMode::FOCUS_IN_OUT, 1004),
        (TermMode::UTF8_MOUSE, 1005),
        (TermMode::SGR_MOUSE, 1006),
        (TermMode::BRACKETED_PASTE, 2004),
    ];
    for (flag, number) in private {
        if mode.contains(flag) {
            let _ = write!(out, "\x1b[?{number}h");
        }
    }
    if !mode.contains(TermMode::LINE_WRAP) {
        out.push_str("\x1b[?7l");
    }
    if mode.contains(TermMode::INSERT) {
        out.push_str("\x1b[4h");
    }
    if mode.contains(TermMode::LINE_FEED_NEW_LINE) {
        out.push_str("\x1b[20h");
    }
    if mode.contains(TermMode::APP_KEYPAD) {
        out.push_str("\x1b=");
    }
    if !mode.contains(TermMode::SHOW_CURSOR) {
        out.push_str("\x1b[?25l");
    }
}

/// The attributes a cell is drawn with.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    flags: Flags,
}

impl Default for Pen {
    fn default() -> Self {
        Self {
            fg: Color::Named(NamedColor::Foreground),
            bg: Color::Named(NamedColor::Background),
            flags: Flags::empty(),
        }
    }
}

impl Pen {
    /// Flags that are about layout, not looks.
    const LAYOUT: Flags = Flags::WRAPLINE
        .union(Flags::WIDE_CHAR)
        .union(Flags::WIDE_CHAR_SPACER)
        .union(Flags::LEADING_WIDE_CHAR_SPACER);

    fn of(cell: &Cell) -> Self {
        Self {
            fg: cell.fg,
            bg: cell.bg,
            flags: cell.flags.difference(Self::LAYOUT),
        }
    }

    fn reset(&mut self, out: &mut String) {
        self.switch(out, Pen::default());
    }

    /// Writes the SGR that changes the viewer's pen from `self` to `next`:
    /// a full reset followed by `next`'s attributes, which is short enough
    /// and never leaves an attribute behind.
    fn switch(&mut self, out: &mut String, next: Pen) {
        if *self == next {
            return;
        }
        *self = next;
        out.push_str("\x1b[0");
        let flags = next.flags;
        for (flag, code) in [
            (Flags::BOLD, "1"),
            (Flags::DIM, "2"),
            (Flags::ITALIC, "3"),
            (Flags::UNDERLINE, "4"),
            (Flags::DOUBLE_UNDERLINE, "4:2"),
            (Flags::UNDERCURL, "4:3"),
            (Flags::DOTTED_UNDERLINE, "4:4"),
            (Flags::DASHED_UNDERLINE, "4:5"),
            (Flags::INVERSE, "7"),
            (Flags::HIDDEN, "8"),
            (Flags::STRIKEOUT, "9"),
        ] {
            if flags.contains(flag) {
                out.push(';');
                out.push_str(code);
            }
        }
        write_color(out, next.fg, 30);
        write_color(out, next.bg, 40);
        out.push('m');
    }
}

/// `base` is 30 for the foreground, 40 for the background.
fn write_color(out: &mut String, color: Color, base: u16) {
    let _ = match color {
        Color::Named(named) => {
            let n = named as u16;
            match n {
                0..=7 => write!(out, ";{}", base + n),
                8..=15 => write!(out, ";{}", base + 60 + n - 8),
                // Foreground, background and the dim/cursor variants: the
                // default colour, which the reset already set.
                _ => Ok(()),
            }
        }
        Color::Indexed(i) => write!(out, ";{};5;{i}", base + 8),
        Color::Spec(rgb) => write!(out, ";{};2;{};{};{}", base + 8, rgb.r, rgb.g, rgb.b),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonzero(v: u16) -> std::num::NonZeroU16 {
        std::num::NonZeroU16::new(v).unwrap()
    }

    /// What a different emulator makes of a frame.
    fn replay_vt100(frame: &[u8], cols: u16, rows: u16) -> vt100::Parser {
        let mut p = vt100::Parser::new(nonzero(rows), nonzero(cols), 1000);
        p.process(frame);
        p
    }

    /// What a fresh state makes of a frame.
    fn replay(frame: &[u8], cols: u16, rows: u16) -> TerminalState {
        let mut t = TerminalState::new(cols, rows, 1000);
        t.process(frame);
        t
    }

    /// Every cell of history and screen, the cursor, the pen and the modes.
    fn assert_same_state(copy: &mut TerminalState, original: &mut TerminalState) {
        copy.flush();
        original.flush();
        let (a, b) = (copy.term.grid(), original.term.grid());
        assert_eq!(a.history_size(), b.history_size(), "history length");
        for line in b.topmost_line().0..=b.bottommost_line().0 {
            let (ra, rb) = (&a[Line(line)], &b[Line(line)]);
            for col in 0..b.columns() {
                let (ca, cb) = (&ra[Column(col)], &rb[Column(col)]);
                let same = ca.c.max(' ') == cb.c.max(' ')
                    && ca.fg == cb.fg
                    && ca.bg == cb.bg
                    && ca.flags == cb.flags;
                assert!(same, "line {line} col {col}: {ca:?} vs {cb:?}");
            }
        }
        assert_eq!(a.cursor.point, b.cursor.point, "cursor");
        assert_eq!(a.cursor.input_needs_wrap, b.cursor.input_needs_wrap);
        assert!(
            Pen::of(&a.cursor.template) == Pen::of(&b.cursor.template),
            "pen"
        );
        assert_eq!(copy.term.mode(), original.term.mode(), "modes");
        assert_eq!(*copy.tracker.title(), *original.tracker.title(), "title");
    }

    #[test]
    fn snapshot_redraws_the_exact_screen_cursor_and_pen() {
        let mut t = TerminalState::new(40, 6, 100);
        t.process(b"hello \x1b[1;31mred\x1b[0m world\r\nline two\r\n");
        t.process(b"\x1b[38;5;200;48;2;1;2;3mcolours\x1b[0m \x1b[4;7mmarks\x1b[0m\r\n");
        t.process(b"\x1b[3;5Hx\x1b[1;32m");
        let frame = t.snapshot();
        assert_same_state(&mut replay(&frame, 40, 6), &mut t);
        let other = replay_vt100(&t.snapshot(), 40, 6);
        assert_eq!(other.screen().contents(), t.contents());
        assert_eq!(other.screen().cursor_position(), (2, 5));
    }

    #[test]
    fn snapshot_carries_scrollback_into_the_viewers_history() {
        let mut t = TerminalState::new(20, 4, 100);
        for i in 0..30 {
            t.process(format!("line {i}\r\n").as_bytes());
        }
        let mut copy = replay(&t.snapshot(), 20, 4);
        assert_same_state(&mut copy, &mut t);
        assert_eq!(copy.term.grid().history_size(), 27);
        let other = replay_vt100(&t.snapshot(), 20, 4);
        assert_eq!(other.screen().contents(), t.contents());
    }

    #[test]
    fn snapshot_keeps_wrapped_lines_wide_characters_and_pending_wrap() {
        let mut t = TerminalState::new(10, 5, 100);
        // Wraps twice; a wide character that does not fit at the end of a
        // row; a full row that does not wrap; the cursor waiting to wrap.
        t.process("abcdefghijklmnopqrstuvw\r\n123456789日本\r\n".as_bytes());
        t.process(b"0123456789\r\nxx\x1b[2K\r\n0123456789");
        assert!(t.term.grid().cursor.input_needs_wrap);
        let frame = t.snapshot();
        assert_same_state(&mut replay(&frame, 10, 5), &mut t);
        // Printing after the snapshot goes where it went in the original.
        let mut copy = replay(&t.snapshot(), 10, 5);
        copy.process(b"Z");
        t.process(b"Z");
        assert_same_state(&mut copy, &mut t);
    }

    #[test]
    fn snapshot_restores_alternate_screen_modes_and_title() {
        let mut t = TerminalState::new(30, 5, 100);
        t.process(b"main\x1b[?1049h\x1b[?2004h\x1b[?1h\x1b=\x1b[?1000h\x1b[?1006h\x1b[?25l");
        t.process(b"\x1b]0;my title\x07\x1b[2;2Hfull screen app");
        let mut copy = replay(&t.snapshot(), 30, 5);
        assert_same_state(&mut copy, &mut t);
        assert!(copy.term.mode().contains(TermMode::ALT_SCREEN));
        assert_eq!(*copy.tracker.title(), "my title");
        let other = replay_vt100(&t.snapshot(), 30, 5);
        assert!(other.screen().alternate_screen());
        assert!(other.screen().bracketed_paste());
        assert_eq!(other.screen().contents(), t.contents());
    }

    #[test]
    fn a_prompts_trailing_space_reaches_the_viewer() {
        let mut t = TerminalState::new(20, 3, 10);
        t.process(b"out\r\n$ ");
        let other = replay_vt100(&t.snapshot(), 20, 3);
        assert_eq!(other.screen().contents(), "out\n$ ");
        assert_eq!(other.screen().cursor_position(), (1, 2));
    }

    #[test]
    fn a_synchronized_update_is_applied_at_once() {
        // A snapshot must contain every byte processed so far.
        let mut t = TerminalState::new(20, 3, 10);
        t.process(b"\x1b[?2026hinside an update");
        assert_eq!(t.contents(), "inside an update");
    }

    #[test]
    fn contents_is_the_visible_text() {
        let mut t = TerminalState::new(10, 4, 10);
        t.process(b"a\tb \r\n0123456789abc\r\n\x1b[31mred\x1b[0m");
        assert_eq!(t.contents(), "a       b\n0123456789abc\nred");
    }

    #[test]
    fn scrollback_is_bounded_whatever_is_printed() {
        let mut t = TerminalState::new(80, 24, 50);
        for i in 0..10_000 {
            t.process(format!("{i:>79}\r\n").as_bytes());
        }
        assert!(t.term.grid().history_size() <= 50);
        assert!(t.snapshot().len() < 80 * 80 * 4);
        let mut long = TerminalState::new(80, 24, 50);
        long.process(format!("\x1b]0;{}\x07", "t".repeat(100_000)).as_bytes());
        assert_eq!(long.tracker.title().len(), TITLE_MAX_BYTES);
    }

    #[test]
    fn resizing_keeps_the_text() {
        let mut t = TerminalState::new(20, 4, 100);
        t.process(b"one\r\ntwo\r\nthree");
        t.resize(40, 10);
        assert_eq!(t.size(), (40, 10));
        assert!(t.contents().contains("three"));
        t.resize(0, 0);
        assert_eq!(t.size(), (2, 1));
    }

    /// A small deterministic generator: the streams below are the same on
    /// every run, and a failure names its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
        }
    }

    /// Program output that is mostly plain lines, with what can make
    /// dropping them wrong mixed in: cursor moves, scroll regions (the
    /// cursor below one too), the alternate screen, insert mode, no
    /// auto-wrap, strings and sequences left open across lines, wide and
    /// broken characters, lone CR and LF, tabs.
    fn random_output(rng: &mut Rng, cols: usize, len: usize) -> Vec<u8> {
        const OTHER: &[&[u8]] = &[
            b"\x1b[H",
            b"\x1b[2J",
            b"\x1b[2;3r",
            b"\x1b[1;2r",
            b"\x1b[r",
            b"\x1b[99;1H",
            b"\x1b[99;5H",
            b"\x1b[3A",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b[4h",
            b"\x1b[4l",
            b"\x1b[?7l",
            b"\x1b[?7h",
            b"\x1b[1;31m",
            b"\x1b[0m",
            b"\x1b]0;title\x07",
            b"\x1b]0;open title ",
            b"\x1b[12",
            b"\x1bPq#0;2",
            b"\x1b\\",
            b"\x18",
            b"\x1b(0",
            b"\x1b(B",
            b"\x1b7",
            b"\x1b8",
            b"\x1bM",
            b"\x1b[2K",
            b"\t",
            b"\r",
            b"\n",
            b"\x07",
            "\u{6f22}\u{5b57}".as_bytes(),
            b"\xe6",
        ];
        let mut out = Vec::with_capacity(len + 4 * cols);
        // Stretches of plain lines long enough to drop some, between noisy
        // stretches.
        let mut noise = 1000;
        while out.len() < len {
            if rng.below(200) == 0 {
                noise = [8, 40, 1000, 5000][rng.below(4)];
            }
            if rng.below(noise) == 0 {
                out.extend_from_slice(OTHER[rng.below(OTHER.len())]);
            } else {
                // Mostly short lines, some longer than the screen is wide.
                let max = if rng.below(10) == 0 { 3 * cols } else { cols };
                for _ in 0..rng.below(max + 1) {
                    out.push(b' ' + rng.below(95) as u8);
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    #[test]
    fn dropping_plain_lines_changes_nothing_a_viewer_can_see() {
        let mut dropped = 0;
        for seed in 1..=120u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let cols = 8 + rng.below(30) as u16;
            let rows = 2 + rng.below(8) as u16;
            let scrollback = rng.below(40);
            let out = random_output(&mut rng, usize::from(cols), 50_000);
            let mut t = TerminalState::new(cols, rows, scrollback);
            let mut all = TerminalState::new(cols, rows, scrollback);
            let mut at = 0;
            while at < out.len() {
                // Streaming chunks, and now and then a small one (which
                // parses what is held).
                let size = if rng.below(6) == 0 {
                    1 + rng.below(64)
                } else {
                    4096 + rng.below(12_000)
                };
                let chunk = &out[at..(at + size).min(out.len())];
                at += chunk.len();
                t.process(chunk);
                all.parse(chunk);
                if rng.below(12) == 0 {
                    // Viewers attach mid-stream; sizes change.
                    assert_eq!(t.snapshot(), all.snapshot(), "seed {seed} at {at}");
                    if rng.below(2) == 0 {
                        let (c, r) = (8 + rng.below(30) as u16, 2 + rng.below(8) as u16);
                        t.resize(c, r);
                        all.resize(c, r);
                    }
                }
            }
            dropped += t.dropped;
            assert_same_state(&mut t, &mut all);
            assert_eq!(t.snapshot(), all.snapshot(), "seed {seed}");
        }
        assert!(dropped > 300_000, "lines were dropped: {dropped} bytes");
    }

    #[test]
    fn a_stream_of_plain_lines_is_mostly_not_parsed() {
        let mut t = TerminalState::new(120, 40, 2000);
        let line = format!("{}\r\n", "A".repeat(100));
        let chunk = line.repeat(640);
        for _ in 0..100 {
            t.process(chunk.as_bytes());
        }
        let total = (chunk.len() * 100) as u64;
        assert!(t.dropped > total * 9 / 10, "{} of {total}", t.dropped);
        assert!(t.held.len() <= HOLD_MAX_BYTES);
        assert_eq!(t.contents().lines().count(), 39);
        assert_eq!(t.term.grid().history_size(), 2000);
    }

    /// Feeds `chunks` to a state that may drop lines and to one that parses
    /// everything; both must end the same, and lines must have been
    /// dropped (`expect_drops`) or not.
    fn same_as_parsing_everything(
        (cols, rows, scrollback): (u16, u16, usize),
        chunks: &[Vec<u8>],
        expect_drops: bool,
    ) {
        let mut t = TerminalState::new(cols, rows, scrollback);
        let mut all = TerminalState::new(cols, rows, scrollback);
        for chunk in chunks {
            t.process(chunk);
            all.parse(chunk);
        }
        assert_same_state(&mut t, &mut all);
        assert_eq!(t.snapshot(), all.snapshot());
        assert_eq!(t.dropped > 0, expect_drops, "dropped {} bytes", t.dropped);
    }

    fn lines(text: &str, n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{text}{i}\r\n").into_bytes())
            .collect()
    }

    #[test]
    fn lines_are_only_dropped_where_nothing_of_them_could_remain() {
        let long = |n| lines("a long line of text ", n);
        // Streaming from the last row: dropped.
        same_as_parsing_everything((20, 5, 10), &[long(30), long(300)], true);
        // The cursor moved up: the lines land on rows that keep whatever
        // they held beyond the new text, and some of those rows stay in
        // the scrollback.
        same_as_parsing_everything(
            (20, 8, 10),
            &[
                long(30),
                [b"\x1b[H\r\n".to_vec(), lines("x", 1500)].concat(),
            ],
            false,
        );
        // Inside a string: the lines are the window title's text.
        same_as_parsing_everything(
            (20, 5, 10),
            &[
                long(30),
                [b"\x1b]0;".to_vec(), lines("title", 1000)].concat(),
                b"\x07".to_vec(),
            ],
            false,
        );
        // A scroll region above the cursor: the last row is overwritten,
        // not scrolled. Longer lines cannot be dropped before shorter ones...
        let below = b"\x1b[1;2r\x1b[99;1Hs\r\ns\r\n".to_vec();
        same_as_parsing_everything(
            (20, 5, 10),
            &[
                long(30),
                [below.clone(), long(150), lines("x", 150)].concat(),
            ],
            false,
        );
        same_as_parsing_everything(
            (20, 5, 10),
            &[
                long(30),
                [below.clone(), lines("x", 150), long(150)].concat(),
            ],
            true,
        );
        // ...nor any in insert mode, where each line pushes the last ones
        // to the right.
        same_as_parsing_everything(
            (30, 3, 0),
            &[[b"\x1b[4h".to_vec(), below, lines("y", 2000)].concat()],
            false,
        );
    }
}
