//! Wire types shared by the server, the store and (generated) the web UI:
//! REST bodies, the session object and both WebSocket protocols.
//!
//! Names follow `shared/API.md`; this crate has no I/O so every consumer can use it.

pub mod account;
pub mod chat;
pub mod session;
pub mod terminal;

pub use account::{Preferences, PreferencesChange, Theme};
pub use session::{Preview, SessionActivity, SessionInfo, SessionMode, SessionState, Usage};
