//! Zendesk Support and Guide as a source (docs/architecture.md, "Extraction").
//!
//! - [`client`]: HTTP calls and rate-limit buckets;
//! - [`wire`]: serde types of Zendesk's JSON;
//! - [`map`]: pure conversion into the canonical model;
//! - [`extract`]: [`ZendeskSource`], the `Source` implementation (Help Center in `guide.rs`);
//! - [`pages`]: prefetching pager and stream cursors.

pub mod client;
pub mod extract;
mod guide;
pub mod map;
pub mod pages;
pub mod wire;

pub use extract::ZendeskSource;

#[cfg(test)]
mod tests;
