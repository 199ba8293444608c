//! Kayako (the current SaaS, API v1): the HTTP client the target (and, later, a source) share.
//! Where each shape was learned: `docs/platforms/kayako.md`. Kayako Classic (the v4 REST API)
//! is a separate platform (`kayako-classic`).

pub mod client;
