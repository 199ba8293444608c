//! The Zendesk target's knobs and where target.toml sets them.

use std::time::Duration;

use crate::config::TargetConfig;

/// Zendesk's documented largest file a ticket comment takes through `uploads` (50 MB).
pub const MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;

/// Records Zendesk takes in one bulk request (every `*_many` endpoint).
pub const BULK_LIMIT: usize = 100;

/// Knobs of a Zendesk target (target.toml `[zendesk]` / `[options]`, `[rate_limits]`).
#[derive(Debug, Clone)]
pub struct ZendeskOptions {
    /// The API token's user (an admin: the Ticket Import API needs one).
    pub email: String,
    /// The plan's account-wide requests per minute (Team 200 … Enterprise 700, 2,500 with the
    /// High Volume add-on).
    pub per_minute: u32,
    /// Help Center requests per minute (counted apart from Support's).
    pub help_center_per_minute: u32,
    /// Guide permission group articles are created under (Zendesk requires one).
    pub permission_group_id: Option<u64>,
    /// `users/create_or_update_many` is switched on for the account (Zendesk support switches
    /// it on on request; off, it answers 403 and the loader writes users one by one).
    pub bulk_user_import: bool,
    /// Closed tickets go straight to the archive (`archive_immediately`).
    pub archive_immediately: bool,
    /// How long a write waits for others to share its bulk request.
    pub linger: Duration,
    /// Largest attachment uploaded.
    pub max_attachment_bytes: u64,
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Longest wait for a bulk job to complete before its records are looked for one by one.
    pub job_wait: Duration,
}

impl ZendeskOptions {
    /// Defaults: Enterprise plan (700/min), the bulk user import on, no archiving.
    pub fn new(email: &str) -> Self {
        ZendeskOptions {
            email: email.to_string(),
            per_minute: 700,
            help_center_per_minute: 700,
            permission_group_id: None,
            bulk_user_import: true,
            archive_immediately: false,
            linger: Duration::from_secs(2),
            max_attachment_bytes: MAX_ATTACHMENT_BYTES,
            max_in_flight: 8,
            job_wait: Duration::from_secs(600),
        }
    }

    /// Reads `[credentials] email`, `[rate_limits] default` / `help_center` and the
    /// `[zendesk]` options `permission_group_id`, `bulk_user_import`, `archive_immediately`,
    /// `batch_linger_ms`.
    pub fn from_config(cfg: &TargetConfig) -> Result<ZendeskOptions, String> {
        let email = cfg
            .credentials
            .email
            .as_deref()
            .ok_or("[credentials] email is required (the API token's user, an admin)")?;
        let mut o = ZendeskOptions::new(email);
        if let Some(n) = cfg.rate_limits.get("default") {
            o.per_minute = *n;
            o.help_center_per_minute = *n;
        }
        if let Some(n) = cfg.rate_limits.get("help_center") {
            o.help_center_per_minute = *n;
        }
        let flag = |key: &str| -> Result<Option<bool>, String> {
            match cfg.options.get(key) {
                None => Ok(None),
                Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
                Some(_) => Err(format!("[zendesk] {key} must be true or false")),
            }
        };
        if let Some(b) = flag("bulk_user_import")? {
            o.bulk_user_import = b;
        }
        if let Some(b) = flag("archive_immediately")? {
            o.archive_immediately = b;
        }
        match cfg.options.get("permission_group_id") {
            None => {}
            Some(toml::Value::Integer(n)) if *n > 0 => o.permission_group_id = Some(*n as u64),
            Some(_) => return Err("[zendesk] permission_group_id must be a positive number".into()),
        }
        match cfg.options.get("batch_linger_ms") {
            None => {}
            Some(toml::Value::Integer(n)) if *n >= 0 => o.linger = Duration::from_millis(*n as u64),
            Some(_) => {
                return Err("[zendesk] batch_linger_ms must be a number of milliseconds".into());
            }
        }
        Ok(o)
    }
}
