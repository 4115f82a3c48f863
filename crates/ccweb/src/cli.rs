//! Command-line syntax (`shared/API.md`, "Command line").

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Claude Code in the browser.
#[derive(Parser, Debug)]
#[command(name = "ccweb", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes (they locate the database).
#[derive(Args, Debug, Default)]
pub(crate) struct Global {
    /// Configuration file (default: DATA_DIR/ccweb.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory (default: $XDG_DATA_HOME/ccweb).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the server.
    Serve(ServeFlags),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write a session's transcript or terminal recording (works on the
    /// data directory; no server needed).
    Export {
        /// The session's id.
        session_id: String,
        /// markdown, json or asciicast (terminal sessions).
        #[arg(long, value_name = "FORMAT", default_value = "markdown", value_parser = ["markdown", "json", "asciicast"])]
        format: String,
        /// Write to FILE (created 0600) instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check that `serve` would work with this configuration (exit 0 =
    /// healthy; warnings allowed).
    Doctor(ServeFlags),
    /// Move each recorded conversation from the shared Claude home into its
    /// owner's Unix account's home (`unix_user` / `unix_users`), for the
    /// switch to `isolation = "unix"`; run as root with the server stopped.
    /// Exit 1 when some could not be moved.
    MigrateHomes {
        /// Only print what would be moved.
        #[arg(long)]
        dry_run: bool,
        /// The shared Claude home (default: the one sessions used,
        /// `$CLAUDE_CONFIG_DIR` or `$HOME/.claude` of the allowed environment).
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },
    /// The privileged launcher of `isolation = "unix"` (started by `serve`
    /// itself; its standard input is the socket it serves).
    #[command(hide = true)]
    Launcher {
        /// The policy, as JSON (from `serve` started as root). Without it
        /// (started through `launcher_command` and sudo), the launcher
        /// reads the policy from the configuration itself.
        policy: Option<String>,
    },
}

/// Flags of `serve`; each overrides the same key of the file and environment.
#[derive(Args, Debug, Default, Serialize)]
pub(crate) struct ServeFlags {
    /// Address to listen on (default 127.0.0.1:7878).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) listen: Option<SocketAddr>,
    /// The Claude Code CLI (default: `claude` from PATH).
    #[arg(long, value_name = "PATH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) claude_bin: Option<PathBuf>,
    /// A directory sessions may work in (repeatable; default: the current directory).
    #[arg(long = "allowed-root", value_name = "DIR")]
    #[serde(rename = "allowed_roots", skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed_roots: Vec<PathBuf>,
    /// Authentication mode: token (default) or password.
    #[arg(long, value_name = "MODE", value_parser = ["token", "password"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth: Option<String>,
    /// Log format: text (default) or json.
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Create a user.
    Add {
        /// Lower-case name: letters, digits, `_`, `.`, `-`.
        name: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
        /// Read the password (one line) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user (their logins end at once; a running server stops
    /// their sessions within seconds).
    Disable {
        /// The user.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum TokenCommand {
    /// Create an API token and print it once.
    Create {
        /// Owner of the token.
        #[arg(long)]
        user: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime such as 30d, 12h, 90m (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// read or full.
        #[arg(long, default_value = "full")]
        scope: ccweb_store::TokenScope,
    },
}
