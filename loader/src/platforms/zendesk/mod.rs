//! Zendesk Support and Guide as a target: `load.rs` ([`ZendeskTarget`], the
//! [`crate::target::Target`]), `people.rs` (users, agents, organizations, groups, field
//! definitions), `ticket.rs` (uploads, the Ticket Import API, a delta's updates), `kb.rs` (Help
//! Center categories, sections, articles, translations, article attachments), `body.rs`
//! (article bodies: links to migrated articles and inline images pointed at Zendesk), `read.rs`
//! (reading back, finding a ticket after a crash), `bulk.rs` (single-record writes gathered
//! into Zendesk's bulk requests), `options.rs`, `map.rs` (mapped records → Zendesk bodies, pure).
//! The HTTP client and the vendor's wire types and readings live in
//! `deskferry_extractor::platforms::zendesk`.

mod body;
mod bulk;
mod kb;
pub mod load;
pub mod map;
pub mod options;
mod people;
mod read;
#[cfg(test)]
mod tests;
mod ticket;

pub use load::ZendeskTarget;
pub use options::{MAX_ATTACHMENT_BYTES, ZendeskOptions};
