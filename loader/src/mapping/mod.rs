//! The mapping file (TOML): how bundle records become target records.
//!
//! - [`file`]: the file's shape, loading, and the commented starting mapping `plan --write-mapping` writes;
//! - [`inline`]: `data:` URI images in bodies → attachments;
//! - [`resolve`]: applying it to bundle rows against the live target's inventory, producing the
//!   `MappedUser` / `MappedTicket` / `MappedComment` a `Target` writes.

pub mod file;
pub mod inline;
pub mod resolve;

pub use file::{AgentMap, GroupMap, Mapping, NoteMode, Options, starting_mapping};
pub use resolve::{AgentMatch, BundleIndex, Cast, Resolver, field_values};
