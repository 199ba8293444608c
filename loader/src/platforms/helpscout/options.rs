//! The Help Scout target's knobs and where target.toml sets them.

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::SecretString;

use crate::config::TargetConfig;

/// Help Scout's documented largest attachment on a thread (10 MB).
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// Threads one conversation holds at most: a create with more, or a thread added to a
/// conversation that has this many, is refused with 412.
pub const MAX_THREADS: usize = 100;
/// The Mailbox API's requests a minute unless the target file says (the Standard plan's).
pub const PER_MINUTE: u32 = 200;

/// Knobs of a Help Scout target (`[rate_limits]`, `[helpscout]`).
#[derive(Debug, Clone)]
pub struct HelpScoutOptions {
    /// The plan's Mailbox API requests a minute (a write counts twice).
    pub per_minute: u32,
    /// The Docs API's requests a minute (2,000 per ten minutes for one site).
    pub docs_per_minute: u32,
    /// The Docs API and its key, when the knowledge base is loaded.
    pub docs: Option<(Url, SecretString)>,
    /// The Docs site collections are created in (its id); else the account's first site.
    pub docs_site: Option<String>,
    /// The mailbox (id or name) of a conversation whose group maps to none.
    pub default_mailbox: Option<String>,
    /// Source group name → mailbox (id or name): groups that are not a mailbox of the same name.
    pub mailboxes: BTreeMap<String, String>,
    /// Largest attachment uploaded.
    pub max_attachment_bytes: u64,
}

impl Default for HelpScoutOptions {
    fn default() -> Self {
        HelpScoutOptions {
            per_minute: PER_MINUTE,
            docs_per_minute: 200,
            docs: None,
            docs_site: None,
            default_mailbox: None,
            mailboxes: BTreeMap::new(),
            max_attachment_bytes: MAX_ATTACHMENT_BYTES,
        }
    }
}

impl HelpScoutOptions {
    /// Reads `[rate_limits] default` and `docs`, and the `[helpscout]` options: `docs_url`,
    /// `docs_key_env` / `docs_key_file`, `docs_site`, `default_mailbox`, `mailboxes` (a table).
    pub fn from_config(cfg: &TargetConfig) -> Result<HelpScoutOptions, String> {
        let mut o = HelpScoutOptions::default();
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = (*n).max(1);
        }
        if let Some(n) = cfg.rate_limits.get("docs") {
            o.docs_per_minute = (*n).max(1);
        }
        let dir = cfg.path.parent().unwrap_or(std::path::Path::new("."));
        let key = deskferry_extractor::platforms::helpscout::client::docs_key(&cfg.options, dir)?;
        let docs_url = match cfg.option_str("docs_url") {
            None => Url::parse("https://docsapi.helpscout.net").map_err(|e| e.to_string())?,
            Some(s) => Url::parse(s).map_err(|_| "docs_url must be an http(s) URL".to_string())?,
        };
        o.docs = key.map(|k| (docs_url, k));
        o.docs_site = cfg.option_str("docs_site").map(str::to_string);
        o.default_mailbox = cfg.option_str("default_mailbox").map(str::to_string);
        match cfg.options.get("mailboxes") {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (k, v) in t {
                    let v = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(n) => n.to_string(),
                        _ => return Err(format!("mailboxes.{k} must be a mailbox id or name")),
                    };
                    o.mailboxes.insert(k.clone(), v);
                }
            }
            Some(_) => {
                return Err(
                    "mailboxes must be a table: source group name = mailbox id or name".into()
                );
            }
        }
        Ok(o)
    }
}
