//! Request Tracker 5 as a target (REST 2): users, tickets, correspondence and comments with
//! attachments, custom fields. The HTTP client and wire helpers are the extractor's
//! (`deskferry_extractor::platforms::rt`).

mod directory;
pub mod load;
pub mod map;
mod people;
mod read;

#[cfg(test)]
mod tests;

pub use load::RtTarget;
