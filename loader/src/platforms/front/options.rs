//! The Front target's knobs and where target.toml sets them.

use std::time::Duration;

use crate::config::TargetConfig;

/// Front's documented largest attachment (25 MB).
pub const MAX_ATTACHMENT_BYTES: u64 = 25_000_000;

/// Knobs of a Front target (target.toml `[front]` / `[options]`).
#[derive(Debug, Clone)]
pub struct FrontOptions {
    /// The one inbox of this run: an id (`inb_…`) or a name.
    pub inbox: String,
    /// Company rate limit per minute (the plan: 50, 100, 200).
    pub per_minute: u32,
    /// Handle inbound messages are addressed to.
    pub address: String,
    /// How long to wait for an import to become visible before reporting the ticket failed.
    pub import_wait: Duration,
    /// Largest attachment uploaded.
    pub max_attachment_bytes: u64,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Front's burst tier: imports and comments per second into one conversation (5). The
    /// loader spaces its writes to one conversation so this tier never answers 429 (a 429 stops
    /// the whole company bucket for its `retry-after`).
    pub burst_per_second: f64,
}

impl FrontOptions {
    /// Defaults for an inbox: growth plan (100/min), 120 s import wait, 25 MB files.
    pub fn new(inbox: &str) -> Self {
        FrontOptions {
            inbox: inbox.to_string(),
            per_minute: 100,
            address: "support@deskferry.invalid".into(),
            import_wait: Duration::from_secs(120),
            max_attachment_bytes: MAX_ATTACHMENT_BYTES,
            max_in_flight: 8,
            burst_per_second: 5.0,
        }
    }
}

impl FrontOptions {
    /// Reads `[rate_limits] default` and the `[front]` options: `inbox` (required), `address`,
    /// `import_wait_secs`, `burst_per_second`.
    pub fn from_config(cfg: &TargetConfig) -> Result<FrontOptions, String> {
        let inbox = cfg
            .option_str("inbox")
            .ok_or("[front] inbox is required (Front loads one inbox per run)")?;
        let mut opts = FrontOptions::new(inbox);
        if let Some(n) = cfg.rate_limits.get("default") {
            opts.per_minute = *n;
        }
        if let Some(a) = cfg.option_str("address") {
            opts.address = a.to_string();
        }
        if let Some(w) = cfg.options.get("import_wait_secs").and_then(|v| v.as_integer()) {
            opts.import_wait = Duration::from_secs(w.max(1) as u64);
        }
        match cfg.options.get("burst_per_second") {
            Some(toml::Value::Integer(n)) if *n > 0 => opts.burst_per_second = *n as f64,
            Some(toml::Value::Float(f)) if *f > 0.0 => opts.burst_per_second = *f,
            _ => {}
        }
        Ok(opts)
    }
}
