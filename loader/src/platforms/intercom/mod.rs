//! Intercom as a target: `load.rs` ([`IntercomTarget`], the [`crate::target::Target`]),
//! `people.rs` (companies, contacts, data attributes), `ticket.rs` (one conversation and its
//! parts), `kb.rs` (Help Center collections and articles), `read.rs` (reading back, finding
//! after a crash), `options.rs`, `map.rs` (mapped records → Intercom bodies, pure). The HTTP
//! calls live in `deskferry_extractor::platforms::intercom`.

mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::IntercomTarget;
pub use options::{AgentRequester, IntercomOptions};
