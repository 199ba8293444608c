//! One folder per target platform; the same file names keep the same roles everywhere.

pub mod front;
pub mod rt;
