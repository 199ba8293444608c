//! Intercom (REST API 2.x) as a source, and the HTTP client the target shares
//! (docs/architecture.md, "Extraction"; docs/platforms/intercom.md).
//!
//! - [`client`]: HTTP calls, the pinned `Intercom-Version`, rate-limit buckets;
//! - [`wire`]: serde types of Intercom's JSON;
//! - [`map`]: pure conversion into the canonical model;
//! - [`extract`]: [`IntercomSource`], the `Source` implementation.

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

pub use extract::IntercomSource;

#[cfg(test)]
mod tests;
