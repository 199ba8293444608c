//! deskferry-loader: verifies a bundle completely, then replays it into a target helpdesk with a
//! ledger (idempotent, resumable), reconciles by reading the target back, and writes reports.
//!
//! - [`target`]: the `Target` trait each platform implements and the mapped records it receives;
//! - [`platforms`]: one folder per target platform (`load.rs`, `tests.rs`; HTTP client and wire
//!   types live once, in `deskferry_extractor::platforms`).

pub mod error;
pub mod platforms;
pub mod target;

pub use error::WriteError;
pub use target::Target;
