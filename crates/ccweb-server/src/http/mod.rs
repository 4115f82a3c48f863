//! REST handlers, one module per feature.

pub mod admin;
pub mod export;
pub mod fs;
pub mod history;
pub mod openapi;
pub mod sessions;
pub mod shares;
pub mod tokens;
