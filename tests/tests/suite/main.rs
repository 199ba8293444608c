//! deskferry's cross-crate test suite: one test binary, one module per area.

mod bundle_codes;
mod bundle_interop;
mod extract_front;
mod extract_resume;
mod extract_rt;
mod extract_zendesk;
mod freshdesk_source;
mod front_sim;
mod helpscout_source;
mod http_client;
mod intercom_sim;
mod journey;
mod kit_target;
mod load_front;
mod load_gate;
mod load_intercom;
mod load_resume;
mod load_rt;
mod load_zendesk;
mod matrix;
mod registry;
mod rt;
mod rt_specials;
mod support;
mod zendesk_sim;
mod zendesk_write;
