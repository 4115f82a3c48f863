//! REST handlers, one module per feature.

pub mod sessions;
