//! deskferry-extractor: reads a helpdesk through its public API and writes a deskferry bundle.
//!
//! - [`http`]: the one HTTP client every platform uses (rate-limit buckets, retries, redirects
//!   that never carry credentials to another host, secrets kept out of logs and errors);
//! - [`source`]: the `Source` trait each platform implements and the items it yields;
//! - [`tolerant`]: the tolerant reading of vendor JSON every `wire.rs` goes through (a field of
//!   an unexpected type costs that field, never the record);
//! - [`pipeline`]: records through a bounded channel to one bundle writer, checkpoint and resume,
//!   attachment downloads, delta (`--since`);
//! - [`platforms`]: one folder per platform with the same file roles (`client.rs`, `wire.rs`,
//!   `map.rs`, `extract.rs`, `tests.rs`).

pub mod config;
pub mod error;
pub mod http;
pub mod pipeline;
pub mod platforms;
pub mod progress;
pub mod source;
pub mod tolerant;

pub use error::ExtractError;
pub use source::{Item, Resume, Source, StreamCursor};
