//! Kayako (the current SaaS, API v1): the HTTP client the target and the source share (`client.rs`), the source (`extract.rs`, `wire.rs`, `map.rs`).
//! Where each shape was learned: `docs/platforms/kayako.md`. Kayako Classic (the v4 REST API)
//! is a separate platform (`kayako-classic`).

pub mod client;
pub mod extract;
pub mod map;
#[cfg(test)]
mod tests;
pub mod wire;

pub use extract::KayakoSource;
