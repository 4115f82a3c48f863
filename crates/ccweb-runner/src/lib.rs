//! Runs a program (the Claude Code CLI) in a PTY, one actor per session.
//!
//! The actor owns the child, the PTY master, the terminal state and the
//! viewers. A blocking reader thread feeds it PTY output through a
//! coalescing pipe; a writer thread takes input over a bounded channel.
//! Viewers get bounded queues, so a viewer slower than the others is
//! re-synced from the terminal state instead of slowing anyone; only when
//! every viewer is behind does the program wait, briefly (flow control).

mod actor;
pub mod chat;
pub mod contain;
pub mod dirs;
pub mod launch;
mod lifecycle;
mod output_pipe;
mod plain_run;
mod process;
mod pty_input;
pub mod recording;
mod reports;
pub mod sandbox;
pub mod screen;
pub mod session_limits;
mod stats;
pub mod transcript;
pub mod untrusted;
pub mod user_files;
mod viewer;

pub use actor::{spawn_terminal, EndReason, ExitInfo, SpawnSpec, TerminalConfig, TerminalHandle};
pub use contain::Containment;
pub use lifecycle::LifecycleConfig;
pub use recording::RecordingSpec;
pub use reports::only_reports;
pub use sandbox::Sandbox;
pub use screen::TerminalState;
pub use session_limits::SessionLimits;
pub use stats::{stats, RunnerStats, RunnerStatsSnapshot};
pub use viewer::{Viewer, ViewerEvent};

/// Failures of the runner.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The PTY could not be opened or the program could not be started.
    #[error("could not start {program}: {message}")]
    Spawn {
        /// The program that was to run.
        program: String,
        /// What went wrong (portable-pty reports `anyhow` errors; this is their text).
        message: String,
    },
    /// The session's actor has finished; the process is gone.
    #[error("the session's process has ended")]
    Gone,
}

/// Smallest accepted terminal width or height.
pub const MIN_DIMENSION: u16 = 2;
/// Largest accepted terminal width, in cells.
pub const MAX_COLS: u16 = 1000;
/// Largest accepted terminal height, in cells.
pub const MAX_ROWS: u16 = 500;

/// Clamps a requested size (possibly negative or huge) to sane bounds.
pub fn clamp_size(cols: i64, rows: i64) -> (u16, u16) {
    let clamp = |v: i64, max: u16| v.clamp(i64::from(MIN_DIMENSION), i64::from(max)) as u16;
    (clamp(cols, MAX_COLS), clamp(rows, MAX_ROWS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_size_bounds_zero_negative_and_huge_sizes() {
        assert_eq!(clamp_size(0, 0), (MIN_DIMENSION, MIN_DIMENSION));
        assert_eq!(clamp_size(-5, -1), (MIN_DIMENSION, MIN_DIMENSION));
        assert_eq!(clamp_size(65535, 65535), (MAX_COLS, MAX_ROWS));
        assert_eq!(clamp_size(120, 35), (120, 35));
    }
}
