//! The Kayako target's knobs and where target.toml sets them.

use crate::config::TargetConfig;

/// Knobs of a Kayako target (`[rate_limits]`, `[options]`).
#[derive(Debug, Clone, Default)]
pub struct KayakoOptions {
    /// The account's requests a minute (Kayako publishes none: the connection file's
    /// `[rate_limits] default`, else 600).
    pub per_minute: Option<u32>,
    /// The mailbox public replies are written on (its id or address); by default the
    /// account's default mailbox.
    pub mailbox: Option<String>,
}

impl KayakoOptions {
    /// Reads `[rate_limits] default` and the option `mailbox`.
    pub fn from_config(cfg: &TargetConfig) -> Result<KayakoOptions, String> {
        let mut o = KayakoOptions::default();
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = Some((*n).max(1));
        }
        match cfg.options.get("mailbox") {
            None => {}
            Some(toml::Value::String(s)) => o.mailbox = Some(s.clone()),
            Some(toml::Value::Integer(n)) => o.mailbox = Some(n.to_string()),
            Some(_) => return Err("mailbox must be the mailbox's id or its address".into()),
        }
        Ok(o)
    }
}
