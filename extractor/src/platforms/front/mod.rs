//! Front: the HTTP client (every call, reading and writing) and the wire types, shared by the
//! loader's Front target (which writes and reconciles through this client) and the Front source
//! (`extract.rs`: the Core API into a bundle; `map.rs`: Front's records as the canonical model).
//! One folder per platform; the same file names keep the same roles everywhere
//! (docs/architecture.md, "Crates").

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

#[cfg(test)]
mod tests;

pub use client::{FrontClient, Upload};
pub use extract::FrontSource;
