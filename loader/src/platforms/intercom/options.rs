//! The Intercom target's knobs and where target.toml sets them.

use crate::config::TargetConfig;

/// What to do with a ticket whose requester is an agent (Intercom opens a conversation from a
/// contact only, and admins cannot be contacts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRequester {
    /// Open it from the first end user taking part (author, CC); without one, from a lead
    /// contact created for the agent's address; reported per ticket.
    Lead,
    /// Do not load it (reported per ticket).
    Skip,
}

/// Knobs of an Intercom target (`[rate_limits]`, `[options]`).
#[derive(Debug, Clone)]
pub struct IntercomOptions {
    /// The app's per-minute limit (Intercom: 10,000).
    pub per_minute: u32,
    /// Files on one part: at most 10 (the API's `maxItems`); 5 by default, as the commercial
    /// services send them.
    pub attachments_per_part: usize,
    /// The admin (an email or an id) who stands in for unmatched agents and writes the
    /// loader's own notes; by default the token's admin (`/me`).
    pub default_admin: Option<String>,
    /// Tickets whose requester is an agent.
    pub agent_requester: AgentRequester,
}

impl Default for IntercomOptions {
    fn default() -> Self {
        IntercomOptions {
            per_minute: 10_000,
            attachments_per_part: 5,
            default_admin: None,
            agent_requester: AgentRequester::Lead,
        }
    }
}

impl IntercomOptions {
    /// Reads `[rate_limits] default` and the options `default_admin`, `attachments_per_part`
    /// (1..=10), `agent_requester` (`lead` or `skip`).
    pub fn from_config(cfg: &TargetConfig) -> Result<IntercomOptions, String> {
        let mut o = IntercomOptions::default();
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = (*n).max(1);
        }
        if let Some(a) = cfg.option_str("default_admin") {
            o.default_admin = Some(a.to_string());
        }
        if let Some(v) = cfg.options.get("attachments_per_part") {
            match v.as_integer() {
                Some(n @ 1..=10) => o.attachments_per_part = n as usize,
                _ => return Err("attachments_per_part must be a number from 1 to 10 (Intercom takes at most 10 files on one part)".into()),
            }
        }
        match cfg.option_str("agent_requester") {
            None | Some("lead") => {}
            Some("skip") => o.agent_requester = AgentRequester::Skip,
            Some(other) => {
                return Err(format!("agent_requester must be \"lead\" or \"skip\", not {other:?}"));
            }
        }
        Ok(o)
    }
}
