//! deskferry-loader: verifies a bundle completely, then replays it into a target helpdesk with a
//! ledger (idempotent, resumable), reconciles by reading the target back, and writes reports.
//!
//! - [`gate`]: full verification before anything touches the target;
//! - [`config`]: target.toml; [`mapping`]: mapping.toml and its resolution; [`filter`]: filters;
//! - [`ledger`]: the SQLite ledger (ids and hashes only); [`known`]: the target ids a target
//!   must name records by (people looked up in the ledger, never held);
//! - [`plan`], [`run`] (run and demo, [`demo`] picks the sample), [`reconcile`], [`report`];
//! - [`target`]: the `Target` trait each platform implements and the mapped records it receives;
//! - [`platforms`]: one folder per target platform (`load.rs`, `tests.rs`; HTTP client and wire
//!   types live once, in `deskferry_extractor::platforms`).

pub mod check_log;
pub mod config;
pub mod demo;
pub mod error;
pub mod filter;
pub mod gate;
pub mod known;
pub mod ledger;
pub mod load_error;
pub mod mapping;
pub mod plan;
pub mod platforms;
pub mod progress;
pub mod reconcile;
pub mod report;
pub mod rows;
pub mod run;
mod scratch;
pub mod target;
#[cfg(test)]
mod testing;

pub use error::WriteError;
pub use load_error::LoadError;
pub use target::Target;
