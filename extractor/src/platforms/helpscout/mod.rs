//! Help Scout (Mailbox API 2.0 and Docs API) as a source (docs/architecture.md,
//! "Extraction"; docs/platforms/helpscout.md).
//!
//! - [`client`]: HTTP calls, the OAuth token and its refresh, rate-limit buckets;
//! - [`wire`]: serde types of Help Scout's JSON;
//! - [`map`]: pure conversion into the canonical model;
//! - [`extract`]: [`HelpScoutSource`], the `Source` implementation.

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

pub use extract::HelpScoutSource;

#[cfg(test)]
mod tests;
