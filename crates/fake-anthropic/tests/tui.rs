//! The real CLI's interactive TUI in a PTY against the fake: it opens straight to
//! the prompt (no onboarding, trust or API-key dialog) and shows the fake's reply.
//!
//! Input timing matters (see the crate README): the TUI treats a long chunk of input
//! as a paste, and a `\r` arriving within about 50 ms of it becomes a newline in the
//! input box instead of submitting. [`Tui::submit`] therefore sends the text, waits
//! until it is on screen plus [`SUBMIT_GAP`], then sends `\r`.

mod common;

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::CliSetup;
use fake_anthropic::{last_user_text, Reply, RequestKind, INHERITED_ENV_TO_REMOVE};
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

/// PTY size used by every TUI test.
const ROWS: u16 = 40;
/// PTY width.
const COLS: u16 = 120;
/// Upper bound for the TUI to reach its prompt (it normally takes about 0.5 s).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for a reply or an exit to show up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Shown at the top of the first screen, in both welcome layouts.
const WELCOME_TEXT: &str = "Claude Code v2.1.197";
/// The footer under the empty input box: present once the prompt takes input
/// (it is replaced by other hints while the input box has text).
const READY_TEXT: &str = "? for shortcuts";
/// Pause between a prompt's text and the `\r` that submits it.
const SUBMIT_GAP: Duration = Duration::from_millis(150);

/// The CLI running in a PTY, with its screen parsed by `vt100`.
struct Tui {
    /// The CLI process.
    child: Box<dyn Child + Send + Sync>,
    /// Keeps the PTY open (and is where a resize would go).
    _master: Box<dyn MasterPty + Send>,
    /// Keystrokes to the CLI.
    writer: Box<dyn Write + Send>,
    /// Output chunks from the reader thread; `None` once dropped.
    output: Option<Receiver<Vec<u8>>>,
    /// The thread that does the blocking PTY reads.
    reader: Option<JoinHandle<()>>,
    /// The terminal the output is drawn on.
    parser: vt100::Parser,
    /// When the CLI was spawned.
    started: Instant,
}

impl Tui {
    /// Starts `claude ARGS` in a 120x40 PTY with the setup's environment, minus `unset`.
    fn spawn(setup: &CliSetup, args: &[&str], unset: &[&str]) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open PTY");
        let mut cmd = CommandBuilder::new(&setup.bin);
        cmd.args(args);
        cmd.cwd(setup.work.path());
        for name in INHERITED_ENV_TO_REMOVE {
            cmd.env_remove(name);
        }
        for (name, value) in setup.env.envs() {
            if !unset.contains(&name.as_str()) {
                cmd.env(name, value);
            }
        }
        cmd.env("TERM", "xterm-256color");
        let started = Instant::now();
        let child = pair.slave.spawn_command(cmd).expect("spawn claude in PTY");
        // Only the child may hold the slave side, or reads never see EOF.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("PTY reader");
        let writer = pair.master.take_writer().expect("PTY writer");
        let (tx, rx) = sync_channel::<Vec<u8>>(256);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Tui {
            child,
            _master: pair.master,
            writer,
            output: Some(rx),
            reader: Some(reader),
            parser: vt100::Parser::new(
                NonZeroU16::new(ROWS).expect("rows"),
                NonZeroU16::new(COLS).expect("cols"),
                0,
            ),
            started,
        }
    }

    /// Feeds output into the screen until `done(screen)` holds or `timeout` passes.
    fn wait_until(&mut self, timeout: Duration, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.screen()) {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            let Some(output) = &self.output else {
                return false;
            };
            match output.recv_timeout(left) {
                Ok(bytes) => self.parser.process(&bytes),
                Err(RecvTimeoutError::Timeout) => return done(&self.screen()),
                Err(RecvTimeoutError::Disconnected) => return done(&self.screen()),
            }
        }
    }

    /// Waits for `text` on screen; panics with the screen if it does not appear.
    fn expect_text(&mut self, text: &str, timeout: Duration) -> Duration {
        if !self.wait_until(timeout, |screen| screen.contains(text)) {
            panic!(
                "{text:?} did not appear within {timeout:?}; screen:\n{}",
                self.screen()
            );
        }
        self.started.elapsed()
    }

    /// Types a prompt and submits it (see the module docs for why in two steps).
    fn submit(&mut self, prompt: &str) {
        self.send(prompt.as_bytes());
        // The input box wraps long text; its last 20 characters are on one line.
        let tail: String = {
            let chars: Vec<char> = prompt.chars().collect();
            chars[chars.len().saturating_sub(20)..].iter().collect()
        };
        self.expect_text(&tail, STEP_TIMEOUT);
        std::thread::sleep(SUBMIT_GAP);
        self.send(b"\r");
    }

    /// The visible screen as text.
    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Writes raw bytes (keystrokes) to the PTY.
    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to PTY");
        self.writer.flush().expect("flush PTY");
    }

    /// Waits for the CLI to exit, still drawing its output; `None` on timeout.
    fn wait_exit(&mut self, timeout: Duration) -> Option<portable_pty::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            self.wait_until(Duration::from_millis(50), |_| false);
        }
        None
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // Best effort during cleanup: the child may exit between the check and the kill.
            if let Err(err) = self.child.kill() {
                eprintln!("killing claude: {err}");
            }
            if let Err(err) = self.child.wait() {
                eprintln!("waiting for claude: {err}");
            }
        }
        // Dropping the receiver unblocks a reader stuck on a full channel.
        self.output = None;
        if let Some(reader) = self.reader.take() {
            if reader.join().is_err() {
                eprintln!("PTY reader thread panicked");
            }
        }
    }
}

/// Waits for the first screen and checks that no dialog stands before the prompt.
fn expect_prompt(tui: &mut Tui) {
    let welcome = tui.expect_text(WELCOME_TEXT, STARTUP_TIMEOUT);
    let ready = tui.expect_text(READY_TEXT, STARTUP_TIMEOUT);
    eprintln!("welcome after {welcome:?}, prompt ready after {ready:?}");
    let screen = tui.screen();
    for dialog in [
        "trust",
        "Do you want to use this API key",
        "Choose the text style",
        "Select login method",
        "Unable to connect",
    ] {
        assert!(
            !screen.contains(dialog),
            "unexpected {dialog:?} on the first screen:\n{screen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_opens_to_the_prompt_and_shows_the_fake_reply() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    s.fake.push(Reply::text("Hi from the scripted TUI reply."));
    let mut tui = Tui::spawn(&s, &[], &[]);
    expect_prompt(&mut tui);

    tui.submit("say hi please");
    tui.expect_text("Hi from the scripted TUI reply.", STEP_TIMEOUT);
    assert!(tui.screen().contains("❯ say hi please"));
    let requests = s.fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(last_user_text(&requests[0]).contains("say hi please"));
    // With the terminal title disabled there is no title side request.
    assert!(s
        .fake
        .log()
        .iter()
        .all(|r| r.kind != RequestKind::SideQuery));

    tui.expect_text(READY_TEXT, STEP_TIMEOUT);
    tui.submit("/exit");
    let status = tui
        .wait_exit(STEP_TIMEOUT)
        .expect("claude did not exit after /exit");
    assert!(status.success(), "{status:?}");
    assert!(
        tui.screen().contains("Resume this session with"),
        "{}",
        tui.screen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tui_title_request_does_not_consume_the_script_and_long_prompts_submit() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    s.fake.push(Reply::text("Reply to the long prompt."));
    // With the terminal title enabled, the first prompt of three or more words also
    // makes the CLI ask the API for a session title, concurrently with the turn.
    let mut tui = Tui::spawn(&s, &[], &["CLAUDE_CODE_DISABLE_TERMINAL_TITLE"]);
    expect_prompt(&mut tui);

    // Long enough to be taken for a paste.
    let prompt = format!("{} the end", "please echo these words ".repeat(8));
    tui.submit(&prompt);
    tui.expect_text("Reply to the long prompt.", STEP_TIMEOUT);
    assert!(
        s.fake.wait_for_requests(1, STEP_TIMEOUT).await,
        "no turn request"
    );
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !s
        .fake
        .log()
        .iter()
        .any(|r| r.kind == RequestKind::SideQuery)
    {
        assert!(
            Instant::now() < deadline,
            "no title request: {:?}",
            s.fake.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        s.fake.requests().len(),
        1,
        "the title request is not a turn"
    );
    assert_eq!(s.fake.queued(), 0);

    // Ctrl-C twice at an idle prompt exits.
    tui.expect_text(READY_TEXT, STEP_TIMEOUT);
    tui.send(b"\x03");
    tui.expect_text("Press Ctrl-C again to exit", STEP_TIMEOUT);
    tui.send(b"\x03");
    let status = tui
        .wait_exit(STEP_TIMEOUT)
        .expect("claude did not exit after Ctrl-C twice");
    assert!(status.success(), "{status:?}");
}
