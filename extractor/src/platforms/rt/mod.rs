//! Request Tracker 5 through REST 2: users, queues, ticket custom fields, tickets, their
//! correspondence and comments, and attachments (see `extract.rs` for the streams and `map.rs`
//! for how RT's records become the model).

pub mod client;
pub mod extract;
pub mod map;
pub mod wire;

#[cfg(test)]
mod tests;

pub use client::RtClient;
pub use extract::RtSource;
