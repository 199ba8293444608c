//! Freshdesk as a target: `load.rs` ([`FreshdeskTarget`], the [`crate::target::Target`]),
//! `people.rs` (contacts, companies, groups, ticket, contact and company fields), `kb.rs`
//! (solutions), `ticket.rs` (one ticket and its
//! notes), `read.rs` (reading back, finding after a crash), `options.rs`, `map.rs` (mapped
//! records → Freshdesk bodies, pure). The HTTP calls and wire types live in
//! `deskferry_extractor::platforms::freshdesk`.

mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::FreshdeskTarget;
pub use options::FreshdeskOptions;
