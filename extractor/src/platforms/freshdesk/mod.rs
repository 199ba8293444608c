//! Freshdesk (API v2) as a source (docs/architecture.md, "Extraction";
//! `docs/platforms/freshdesk.md` for where each shape was learned).
//!
//! - [`client`]: HTTP calls, paging by `Link` header, rate-limit buckets;
//! - [`wire`]: serde types of Freshdesk's JSON;
//! - [`map`]: pure conversion into the canonical model;
//! - [`extract`]: [`FreshdeskSource`], the `Source` implementation.

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

pub use extract::FreshdeskSource;

#[cfg(test)]
mod tests;
