//! Zendesk HTTP calls (and nothing else): which URL, which rate-limit bucket, which paging.
//!
//! Buckets: `default` (the plan's account-wide limit), `incremental` (every incremental export,
//! 10/min, on top of the account), `help_center` (Guide's own counter at the plan's rate) and
//! `attachments` (content URLs, served by Zendesk's storage/CDN rather than the API).

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::wire;
use crate::http::{Auth, Http, HttpConfig, HttpError};

/// Account-wide API bucket (the plan's limit).
pub const DEFAULT: &str = "default";
/// Incremental exports.
pub const INCREMENTAL: &str = "incremental";
/// Help Center API.
pub const HELP_CENTER: &str = "help_center";
/// Attachment downloads.
pub const ATTACHMENTS: &str = "attachments";

/// Requests per minute of each bucket unless the source file overrides them (Enterprise plan).
pub const DEFAULT_RATES: [(&str, u32); 4] =
    [(DEFAULT, 700), (INCREMENTAL, 10), (HELP_CENTER, 700), (ATTACHMENTS, 6_000)];

/// Records per page of the incremental exports (Zendesk's maximum).
pub const EXPORT_PAGE: usize = 1000;
/// Records per page of plain lists (Zendesk's maximum).
pub const LIST_PAGE: usize = 100;

/// The HTTP configuration for one Zendesk account: Basic `{email}/token:{token}` to the API
/// host only, and the four buckets at the given (or default) rates.
pub fn http_config(
    base_url: Url,
    email: &str,
    token: SecretString,
    rates: &BTreeMap<String, u32>,
) -> HttpConfig {
    let auth = Auth::Basic { user: format!("{email}/token"), password: token };
    let mut cfg = HttpConfig::new(base_url, auth);
    for (name, default) in DEFAULT_RATES {
        let per_minute = rates.get(name).copied().unwrap_or(default).max(1);
        // The incremental budget is small and enforced per window: a burst would only earn 429s.
        let burst = if name == INCREMENTAL { 1 } else { (per_minute / 60).clamp(2, 50) };
        cfg = cfg.bucket(name, per_minute, burst);
    }
    cfg
}

/// Thin wrapper over [`Http`] that knows Zendesk's paths.
#[derive(Clone, Debug)]
pub struct Client {
    http: Http,
}

impl Client {
    /// Wraps a configured client.
    pub fn new(http: Http) -> Client {
        Client { http }
    }

    /// The underlying client.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// GET one JSON document.
    pub async fn get(&self, bucket: &str, path_or_url: &str) -> Result<Value, HttpError> {
        self.http.get_json::<Value>(bucket, path_or_url).await
    }

    /// The authenticated user (`users/me`): the permissions check.
    pub async fn me(&self) -> Result<Value, HttpError> {
        self.get(DEFAULT, "/api/v2/users/me.json").await
    }

    /// Users by id (at most 100), deleted ones included, with their identities side-loaded.
    pub async fn users_by_id(&self, ids: &[String]) -> Result<Value, HttpError> {
        let url = format!(
            "/api/v2/users/show_many.json?ids={}&include=identities&include_deleted=true",
            ids.join(",")
        );
        self.get(DEFAULT, &url).await
    }

    /// Organizations by id (at most 100).
    pub async fn organizations_by_id(&self, ids: &[String]) -> Result<Value, HttpError> {
        self.get(DEFAULT, &format!("/api/v2/organizations/show_many.json?ids={}", ids.join(",")))
            .await
    }

    /// Every record of a small cursor-paged list (`key` names the array), following `links.next`.
    pub async fn list_all(
        &self,
        bucket: &str,
        path: &str,
        key: &str,
    ) -> Result<Vec<Value>, HttpError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}page[size]={LIST_PAGE}");
        let mut out = Vec::new();
        loop {
            let mut page = self.get(bucket, &url).await?;
            if let Some(Value::Array(items)) = page.get_mut(key).map(Value::take) {
                out.extend(items);
            }
            let paging: wire::ListPaging = serde_json::from_value(page).unwrap_or_default();
            match paging.next() {
                Some(next) => url = next.to_string(),
                None => return Ok(out),
            }
        }
    }

    /// Every comment of one ticket with inline images (the per-ticket fallback).
    pub async fn ticket_comments(&self, ticket_id: &str) -> Result<Vec<Value>, HttpError> {
        let path = format!("/api/v2/tickets/{ticket_id}/comments.json?include_inline_images=true");
        self.list_all(DEFAULT, &path, "comments").await
    }

    /// Every attachment of one article, all locales.
    pub async fn article_attachments(&self, article_id: &str) -> Result<Vec<Value>, HttpError> {
        let path = format!("/api/v2/help_center/articles/{article_id}/attachments.json");
        self.list_all(HELP_CENTER, &path, "article_attachments").await
    }
}

/// First page of the cursor-based ticket export, with metric sets (for `solved_at`).
pub fn tickets_export_url(cursor: Option<&str>) -> String {
    let tail = format!("per_page={EXPORT_PAGE}&include=metric_sets");
    match cursor {
        Some(c) => format!("/api/v2/incremental/tickets/cursor.json?cursor={}&{tail}", esc(c)),
        None => format!("/api/v2/incremental/tickets/cursor.json?start_time=0&{tail}"),
    }
}

/// First page of the cursor-based user export, with identities (for further emails).
pub fn users_export_url(cursor: Option<&str>) -> String {
    let tail = format!("per_page={EXPORT_PAGE}&include=identities");
    match cursor {
        Some(c) => format!("/api/v2/incremental/users/cursor.json?cursor={}&{tail}", esc(c)),
        None => format!("/api/v2/incremental/users/cursor.json?start_time=0&{tail}"),
    }
}

/// A page of the time-based organization export.
pub fn organizations_export_url(start_time: i64) -> String {
    format!("/api/v2/incremental/organizations.json?start_time={start_time}&per_page={EXPORT_PAGE}")
}

/// A page of the ticket event export with comment events.
pub fn ticket_events_url(start_time: i64) -> String {
    format!(
        "/api/v2/incremental/ticket_events.json?start_time={start_time}&include=comment_events&per_page={EXPORT_PAGE}"
    )
}

/// A page of Help Center categories, sections or articles with their translations embedded.
pub fn help_center_url(kind: &str) -> String {
    format!("/api/v2/help_center/{kind}.json?include=translations&page[size]={LIST_PAGE}")
}

/// Percent-encodes a query value (cursors are base64 and may hold `=`, `+`, `/`).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
