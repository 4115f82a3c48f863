//! Telling typing apart from what a terminal emulator sends by itself.
//!
//! Every viewer's emulator answers the program's queries (cursor position,
//! device attributes, mode and colour reports) and reports focus changes
//! and mouse events. That input reaches the PTY like keystrokes, but it is
//! not somebody typing, so it must not move the terminal's size to that
//! viewer (see `actor`): a phone that merely loses focus would otherwise
//! take the size from the desktop being typed on.

/// Whether `data` is nothing but emulator reports (see the module docs).
/// Empty input is not.
pub fn only_reports(data: &[u8]) -> bool {
    let mut rest = data;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        match report_len(rest) {
            Some(n) => rest = &rest[n..],
            None => return false,
        }
    }
    true
}

/// The length of the report at the start of `s`, if one is.
fn report_len(s: &[u8]) -> Option<usize> {
    match s {
        [0x1b, b'[', tail @ ..] => csi_report(tail).map(|n| n + 2),
        // OSC (colour answers) and DCS (mode, version answers).
        [0x1b, b']' | b'P', tail @ ..] => string_end(tail).map(|n| n + 2),
        _ => None,
    }
}

/// A CSI sequence whose final byte only reports use, after `ESC [`.
fn csi_report(s: &[u8]) -> Option<usize> {
    // A legacy mouse report: `M` and three bytes of button and position.
    if let [b'M', _, _, _, ..] = s {
        return Some(4);
    }
    let end = s.iter().position(|b| (0x40..=0x7e).contains(b))?;
    let (params, last) = (&s[..end], s[end]);
    if !params.iter().all(|b| (0x20..=0x3f).contains(b)) {
        return None;
    }
    let private = params.first().copied();
    let report = match last {
        // Focus in and out.
        b'I' | b'O' => params.is_empty(),
        // Cursor position (a modified F3 looks the same in some modes; rare).
        b'R' => true,
        // Device attributes.
        b'c' => matches!(private, Some(b'?' | b'>' | b'=')),
        // Device status, window reports.
        b'n' | b't' => true,
        // A mode's state (DECRPM).
        b'y' => params.ends_with(b"$"),
        // SGR mouse.
        b'M' | b'm' => private == Some(b'<'),
        // Keyboard protocol flags.
        b'u' => private == Some(b'?'),
        _ => false,
    };
    report.then_some(end + 1)
}

/// The length up to and including a string's terminator (BEL or `ESC \`).
fn string_end(s: &[u8]) -> Option<usize> {
    s.iter().enumerate().find_map(|(i, &b)| match b {
        0x07 => Some(i + 1),
        0x1b if s.get(i + 1) == Some(&b'\\') => Some(i + 2),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_focus_and_mouse_reports_are_not_typing() {
        for report in [
            &b"\x1b[O"[..],
            b"\x1b[I",
            b"\x1b[12;40R",
            b"\x1b[?1;2c",
            b"\x1b[>0;276;0c",
            b"\x1b[0n",
            b"\x1b[?2004;1$y",
            b"\x1b[8;35;120t",
            b"\x1b[<0;10;5M\x1b[<0;10;5m",
            b"\x1b[M !!",
            b"\x1b[?0u",
            b"\x1b]11;rgb:1616/1616/1b1b\x07",
            b"\x1b]10;rgb:ffff/ffff/ffff\x1b\\",
            b"\x1bP>|xterm.js(6.0.0)\x1b\\",
            b"\x1b[O\x1b[12;40R",
        ] {
            assert!(only_reports(report), "{report:?}");
        }
    }

    #[test]
    fn keys_and_text_are_typing() {
        for typed in [
            &b"x"[..],
            b"\r",
            b"\x1b",
            b"\x1b[A",
            b"\x1bOA",
            b"\x1b[15~",
            b"\x1b[200~pasted\x1b[201~",
            b"\x1b[97u",
            b"\x1b]unterminated",
            b"\x1b[Ox",
            b"",
        ] {
            assert!(!only_reports(typed), "{typed:?}");
        }
    }
}
