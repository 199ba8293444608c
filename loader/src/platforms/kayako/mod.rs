//! Kayako (API v1) as a target: `load.rs` ([`KayakoTarget`], the [`crate::target::Target`]),
//! `people.rs` (organizations, customers, field definitions, teams), `ticket.rs` (one case and
//! its posts), `kb.rs` (Help Center categories, sections, articles in every locale), `read.rs`
//! (reading back, finding after a crash), `options.rs`, `map.rs` (mapped records → Kayako
//! bodies, pure). The HTTP calls live in `deskferry_extractor::platforms::kayako`.

mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::KayakoTarget;
pub use options::KayakoOptions;
