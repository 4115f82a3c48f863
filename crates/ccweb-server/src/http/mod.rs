//! REST handlers, one module per feature.

pub mod history;
pub mod sessions;
