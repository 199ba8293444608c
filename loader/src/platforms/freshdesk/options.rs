//! The Freshdesk target's knobs and where target.toml sets them.

use crate::config::TargetConfig;

/// Freshdesk's documented cap on the files of one ticket, reply or note: 20 MB in all.
pub const MAX_ATTACHMENTS_BYTES: u64 = 20 * 1024 * 1024;

/// Knobs of a Freshdesk target (`[rate_limits]`).
#[derive(Debug, Clone)]
pub struct FreshdeskOptions {
    /// The plan's per-minute limit for every call (Enterprise 700, Pro 400, Growth 200).
    pub per_minute: u32,
    /// Largest total of files on one ticket or note.
    pub max_attachments_bytes: u64,
}

impl Default for FreshdeskOptions {
    fn default() -> Self {
        FreshdeskOptions { per_minute: 700, max_attachments_bytes: MAX_ATTACHMENTS_BYTES }
    }
}

impl FreshdeskOptions {
    /// Reads `[rate_limits] default`. Ticket creates and updates have a lower limit of their
    /// own (280, 160, 80) but are a small share of a load (one per ticket): they go at the
    /// overall pace, and a 429 of theirs is waited out.
    pub fn from_config(cfg: &TargetConfig) -> FreshdeskOptions {
        let mut o = FreshdeskOptions::default();
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = (*n).max(1);
        }
        o
    }
}
