//! Groove (v1 REST, v2 GraphQL, the uploader): the HTTP client the target and the source
//! share, and the source (docs/platforms/groove.md).
//!
//! - [`client`]: HTTP calls, pages, GraphQL, the uploader;
//! - [`wire`]: serde types of Groove's JSON;
//! - [`map`]: pure conversion into the canonical model;
//! - [`extract`]: [`GrooveSource`], the `Source` implementation.

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

pub use extract::GrooveSource;

#[cfg(test)]
mod tests;
