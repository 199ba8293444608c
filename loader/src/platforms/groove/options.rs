//! The Groove target's knobs and where target.toml sets them.

use reqwest::Url;

use crate::config::TargetConfig;
use deskferry_extractor::platforms::groove::client;

/// Groove's largest file on a message (its uploader's documented 20 MB).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
/// Files one message takes at most (the uploader's documented 25).
pub const MAX_FILES: usize = 25;

/// Knobs of a Groove target (`[rate_limits] default`, `[options]`).
#[derive(Debug, Clone)]
pub struct GrooveOptions {
    /// Requests a minute (Groove documents none).
    pub per_minute: u32,
    /// The uploader's base URL (real Groove: `https://uploader.groovehq.com`).
    pub uploader_url: Option<Url>,
    /// The knowledge base articles go into (id or title); else the account's first.
    pub knowledge_base: Option<String>,
    /// Largest file uploaded.
    pub max_attachment_bytes: u64,
}

impl Default for GrooveOptions {
    fn default() -> Self {
        GrooveOptions {
            per_minute: client::DEFAULT_PER_MINUTE,
            uploader_url: None,
            knowledge_base: None,
            max_attachment_bytes: MAX_ATTACHMENT_BYTES,
        }
    }
}

impl GrooveOptions {
    /// Reads `[rate_limits] default` and the options `uploader_url`, `knowledge_base`.
    pub fn from_config(cfg: &TargetConfig) -> Result<GrooveOptions, String> {
        let mut o = GrooveOptions::default();
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = (*n).max(1);
        }
        if let Some(u) = cfg.option_str("uploader_url") {
            o.uploader_url =
                Some(Url::parse(u).map_err(|_| "uploader_url must be an http(s) URL".to_string())?);
        }
        o.knowledge_base = cfg.option_str("knowledge_base").map(str::to_string);
        Ok(o)
    }
}
