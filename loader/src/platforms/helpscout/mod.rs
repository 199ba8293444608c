//! Help Scout as a target: `load.rs` ([`HelpScoutTarget`], the [`crate::target::Target`]),
//! `people.rs` (customers found or created, users matched), `ticket.rs` (one conversation
//! with its threads, later threads, the trash), `kb.rs` (Docs collections, categories,
//! articles), `read.rs` (reading back, finding after a crash), `options.rs`, `map.rs` (mapped
//! records → Help Scout bodies, pure). The HTTP calls, the OAuth token and the rate-limit
//! buckets live in `deskferry_extractor::platforms::helpscout::client`.

mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::HelpScoutTarget;
pub use options::HelpScoutOptions;
