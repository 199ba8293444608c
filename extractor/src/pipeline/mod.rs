//! Records through a bounded channel to one bundle writer (stub; being written).

/// Where a source sends its items (stub).
pub struct Sink {}
