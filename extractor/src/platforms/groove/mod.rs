//! Groove (v1 REST, v2 GraphQL, the uploader): the HTTP client the target (and, later, a
//! source) share. Where each shape was learned: `docs/platforms/groove.md`.

pub mod client;
