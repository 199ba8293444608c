//! Kayako Classic (the self-hosted and legacy-hosted Kayako 4) through its v4 REST API: signed
//! requests, XML answers. A source only (docs/platforms/kayako-classic.md).

pub mod client;
pub mod extract;
pub mod map;
#[cfg(test)]
mod tests;
pub mod wire;

pub use extract::KayakoClassicSource;
