//! Front as a target: `load.rs` ([`FrontTarget`], the [`crate::target::Target`]), `people.rs`
//! (contacts and accounts), `ticket.rs` (writing one conversation), `read.rs` (reading back,
//! finding after a crash), `options.rs`, `map.rs` (mapped records → Front bodies, pure). The
//! HTTP calls and wire types live in `deskferry_extractor::platforms::front`.

pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::FrontTarget;
pub use options::{FrontOptions, MAX_ATTACHMENT_BYTES};
