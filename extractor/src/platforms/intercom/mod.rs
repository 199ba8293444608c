//! Intercom (REST API 2.x): the HTTP client the target (and, later, a source) share. Where each
//! shape was learned: `docs/platforms/intercom.md`.

pub mod client;
