//! Front: the HTTP client (every call, reading and writing) and the wire types. Front is a load
//! target; the loader writes and reconciles through this client.
//! One folder per platform; the same file names keep the same roles everywhere
//! (docs/architecture.md, "Crates").

pub mod client;
pub mod wire;

pub use client::{FrontClient, Upload};
