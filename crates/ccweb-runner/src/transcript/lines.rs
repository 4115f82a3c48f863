//! Splits a byte stream into `\n`-terminated lines with absolute offsets,
//! bounding memory: a line over the limit is dropped as it streams by and
//! reported once its end is seen.

use memchr::memchr;

/// How much of an over-long line is kept for its report.
const KEPT_HEAD_BYTES: usize = 4096;

/// One finished piece of the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A complete line, without its `\n`.
    Line {
        /// The line's bytes.
        bytes: Vec<u8>,
        /// Offset just past its `\n`.
        end: u64,
    },
    /// A line over the limit, skipped.
    TooLong {
        /// Its first bytes.
        head: Vec<u8>,
        /// Its length without the `\n`.
        len: u64,
        /// Offset just past its `\n`.
        end: u64,
    },
}

/// What is being done with the current line.
#[derive(Debug)]
enum State {
    /// Collecting it in `buf`.
    Collecting,
    /// It is over the limit: keep only its head and count its length.
    Discarding {
        /// Its first [`KEPT_HEAD_BYTES`].
        head: Vec<u8>,
        /// Its length so far.
        len: u64,
    },
    /// Started reading mid-line: drop the rest of it silently.
    SkippingPartial,
}

/// Incremental line splitter; see the module docs.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    /// Bytes of the current, unfinished line (while collecting).
    buf: Vec<u8>,
    /// Offset of the next byte to be pushed.
    pos: u64,
    /// Offset where the current line starts.
    line_start: u64,
    /// Longest line returned whole.
    max_line: usize,
    /// What is done with the current line.
    state: State,
}

impl LineSplitter {
    /// A splitter for a stream whose first pushed byte is at `start`, which
    /// is taken to be the start of a line.
    pub(crate) fn new(start: u64, max_line: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            pos: start,
            line_start: start,
            max_line,
            state: State::Collecting,
        }
    }

    /// A splitter that starts in the middle of a line: bytes up to the first
    /// `\n` are dropped without a report.
    pub(crate) fn mid_line(start: u64, max_line: usize) -> LineSplitter {
        LineSplitter {
            state: State::SkippingPartial,
            ..LineSplitter::new(start, max_line)
        }
    }

    /// Offset where the current unfinished line starts: everything before it
    /// has been returned.
    pub(crate) fn line_start(&self) -> u64 {
        self.line_start
    }

    /// Offset of the next byte to push.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Feeds the next bytes; returns the lines they finish.
    pub(crate) fn push(&mut self, mut chunk: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        while !chunk.is_empty() {
            let (part, rest, newline) = match memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &chunk[chunk.len()..], false),
            };
            self.append(part);
            self.pos += (part.len() + usize::from(newline)) as u64;
            if newline {
                let end = self.pos;
                self.line_start = end;
                match std::mem::replace(&mut self.state, State::Collecting) {
                    State::Collecting => pieces.push(Piece::Line {
                        bytes: std::mem::take(&mut self.buf),
                        end,
                    }),
                    State::Discarding { head, len } => {
                        pieces.push(Piece::TooLong { head, len, end })
                    }
                    State::SkippingPartial => {}
                }
            }
            chunk = rest;
        }
        pieces
    }

    /// Adds bytes of the current line, switching to discarding past the limit.
    fn append(&mut self, part: &[u8]) {
        match &mut self.state {
            State::Collecting if self.buf.len() + part.len() <= self.max_line => {
                self.buf.extend_from_slice(part);
            }
            State::Collecting => {
                let mut head = std::mem::take(&mut self.buf);
                let len = (head.len() + part.len()) as u64;
                keep_head(&mut head, part);
                head.truncate(KEPT_HEAD_BYTES);
                head.shrink_to_fit();
                self.state = State::Discarding { head, len };
            }
            State::Discarding { head, len } => {
                keep_head(head, part);
                *len += part.len() as u64;
            }
            State::SkippingPartial => {}
        }
    }

    /// The unfinished last line, if it has any bytes and is not being
    /// discarded.
    pub(crate) fn finish(self) -> Option<Vec<u8>> {
        match self.state {
            State::Collecting if !self.buf.is_empty() => Some(self.buf),
            _ => None,
        }
    }
}

/// Adds to `head` what fits of `part` under [`KEPT_HEAD_BYTES`].
fn keep_head(head: &mut Vec<u8>, part: &[u8]) {
    let room = KEPT_HEAD_BYTES.saturating_sub(head.len());
    head.extend_from_slice(&part[..room.min(part.len())]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, end: u64) -> Piece {
        Piece::Line {
            bytes: text.as_bytes().to_vec(),
            end,
        }
    }

    #[test]
    fn lines_split_across_chunks_carry_absolute_offsets() {
        let mut s = LineSplitter::new(100, 1000);
        assert_eq!(s.push(b"ab"), vec![]);
        assert_eq!(s.line_start(), 100);
        assert_eq!(
            s.push(b"c\nde\n\nf"),
            vec![line("abc", 104), line("de", 107), line("", 108)]
        );
        assert_eq!(s.line_start(), 108);
        assert_eq!(s.finish(), Some(b"f".to_vec()));
    }

    #[test]
    fn an_over_long_line_is_reported_once_with_its_length_and_then_splitting_resumes() {
        let mut s = LineSplitter::new(0, 8);
        assert_eq!(s.push(b"0123456"), vec![]);
        assert_eq!(s.push(b"789abc"), vec![]);
        let pieces = s.push(b"def\nok\n");
        assert_eq!(
            pieces,
            vec![
                Piece::TooLong {
                    head: b"0123456789abcdef".to_vec(),
                    len: 16,
                    end: 17
                },
                line("ok", 20)
            ]
        );
    }

    #[test]
    fn the_kept_head_of_an_over_long_line_is_bounded() {
        let mut s = LineSplitter::new(0, 10);
        let big = vec![b'x'; 3 * KEPT_HEAD_BYTES];
        s.push(&big);
        s.push(&big);
        match s.push(b"\n").pop() {
            Some(Piece::TooLong { head, len, .. }) => {
                assert_eq!(head.len(), KEPT_HEAD_BYTES);
                assert_eq!(len, 6 * KEPT_HEAD_BYTES as u64);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn starting_mid_line_drops_the_partial_line_silently() {
        let mut s = LineSplitter::mid_line(5, 100);
        assert_eq!(s.push(b"tail\nnext\n"), vec![line("next", 15)]);
    }

    #[test]
    fn a_torn_over_long_tail_is_not_returned() {
        let mut s = LineSplitter::new(0, 4);
        s.push(b"123456");
        assert_eq!(s.finish(), None);
    }
}
