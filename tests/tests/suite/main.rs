//! deskferry's cross-crate test suite: one test binary, one module per area.

mod bundle_codes;
mod bundle_interop;
mod front_sim;
mod rt;
mod zendesk_sim;
