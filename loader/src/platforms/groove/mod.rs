//! Groove as a target: `load.rs` ([`GrooveTarget`], the [`crate::target::Target`]),
//! `people.rs` (contacts created through v2 GraphQL, companies, agents matched), `ticket.rs`
//! (one ticket with its first message, later messages and notes, files through the uploader),
//! `kb.rs` (knowledge-base categories and articles), `read.rs` (reading back, finding after a
//! crash), `options.rs`, `map.rs` (mapped records → Groove bodies, pure). The HTTP calls live
//! in `deskferry_extractor::platforms::groove::client`.

mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::GrooveTarget;
pub use options::GrooveOptions;
