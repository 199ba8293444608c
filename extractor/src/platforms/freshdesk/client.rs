//! Freshdesk HTTP calls (and nothing else): which URL, which rate-limit bucket, which page.
//!
//! Buckets: `default` (the plan's per-minute limit for every call), `tickets_list` and
//! `contacts_list` (the plan's own, lower, limits of those two lists; a list call draws from
//! its own bucket, which is always the smaller) and `attachments` (pre-signed storage URLs,
//! outside the API's budget). Every answer's `X-RateLimit-Remaining` corrects the bucket, and a
//! 429's `Retry-After` is waited out (`crate::http`).

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use crate::http::{Auth, Http, HttpConfig, HttpError, Part, Request};

/// Every call (the plan's overall limit).
pub const DEFAULT: &str = "default";
/// `GET /api/v2/tickets`.
pub const TICKETS_LIST: &str = "tickets_list";
/// `GET /api/v2/contacts`.
pub const CONTACTS_LIST: &str = "contacts_list";
/// Attachment downloads (storage URLs).
pub const ATTACHMENTS: &str = "attachments";

/// Requests per minute of each bucket unless the source file overrides them (Enterprise plan).
pub const DEFAULT_RATES: [(&str, u32); 4] =
    [(DEFAULT, 700), (TICKETS_LIST, 200), (CONTACTS_LIST, 200), (ATTACHMENTS, 6_000)];

/// Records per page (Freshdesk's largest `per_page`).
pub const PAGE: usize = 100;
/// The last page a list serves; beyond it Freshdesk answers 400.
pub const PAGE_CAP: u32 = 300;

/// The HTTP configuration for one Freshdesk account: Basic with the API key as user and `X` as
/// password, to the account host only, and the four buckets at the given (or default) rates.
pub fn http_config(
    base_url: Url,
    api_key: SecretString,
    rates: &BTreeMap<String, u32>,
) -> HttpConfig {
    let auth = Auth::Header { name: "Authorization".into(), value: basic_value(&api_key) };
    let mut cfg = HttpConfig::new(base_url, auth);
    for (name, default) in DEFAULT_RATES {
        let per_minute = rates.get(name).copied().unwrap_or(default).max(1);
        if name == ATTACHMENTS {
            cfg = cfg.bucket(name, per_minute, (per_minute / 60).clamp(2, 50));
            continue;
        }
        // Freshdesk counts whole minutes: a bucket at the limit with a burst on top would
        // overrun a window and earn a 429 whose Retry-After costs up to a minute. At 97 % of
        // the limit with a burst of 2, no minute window holds more than the limit.
        let paced = ((f64::from(per_minute) * 0.97).floor() as u32).max(1);
        cfg = cfg.bucket(name, paced, 2);
    }
    cfg
}

/// `Basic base64({key}:X)`. The key is Basic's user part, which `Auth::Basic` treats as not
/// secret; as a whole header value it stays a secret (redacted from every error and log).
fn basic_value(key: &SecretString) -> SecretString {
    use base64::Engine;
    use secrecy::ExposeSecret;
    let raw = format!("{}:X", key.expose_secret());
    SecretString::from(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)))
}

/// One page of a list: its records and the URL of the next page, if any.
#[derive(Debug, Default)]
pub struct Page {
    /// The records, as sent.
    pub items: Vec<Value>,
    /// `Link: <…>; rel="next"`.
    pub next: Option<String>,
}

/// Thin wrapper over [`Http`] that knows Freshdesk's paths.
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

    /// GET one page of a list (a bare array) and its `Link` to the next.
    pub async fn page(&self, bucket: &str, path_or_url: &str) -> Result<Page, HttpError> {
        let r = self.http.send(Request::get(bucket, path_or_url)).await?;
        let next = r.header("link").and_then(next_link);
        let items = match r.json::<Value>()? {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        Ok(Page { items, next })
    }

    /// Every record of a list, following `Link` headers.
    pub async fn all(&self, bucket: &str, path: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut url = Some(with_per_page(path));
        while let Some(u) = url {
            let p = self.page(bucket, &u).await?;
            out.extend(p.items);
            url = p.next;
        }
        Ok(out)
    }

    /// The key's agent (`agents/me`): the permissions check.
    pub async fn me(&self) -> Result<Value, HttpError> {
        self.get(DEFAULT, "/api/v2/agents/me").await
    }

    /// `POST` a JSON body; the created record.
    pub async fn post(&self, bucket: &str, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(Request::post_json(bucket, path, body)).await?.json()
    }

    /// `PUT` a JSON body (an update: safe to repeat); the record.
    pub async fn put(&self, bucket: &str, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(Request::put_json(bucket, path, body).retry_unsafe()).await?.json()
    }

    /// `POST` a multipart form (fields and `attachments[]` files); the created record.
    pub async fn post_form(
        &self,
        bucket: &str,
        path: &str,
        parts: Vec<Part>,
    ) -> Result<Value, HttpError> {
        self.http.send(Request::multipart(bucket, path, parts)).await?.json()
    }

    /// `DELETE` (a repeat answers 404, which the caller takes as done).
    pub async fn delete(&self, bucket: &str, path: &str) -> Result<(), HttpError> {
        self.http.send(Request::delete(bucket, path)).await.map(|_| ())
    }

    /// Tickets carrying `tag` (`search/tickets`, first page: 30).
    pub async fn tickets_tagged(&self, tag: &str) -> Result<Vec<Value>, HttpError> {
        let q = esc(&format!("\"tag:'{tag}'\""));
        let v = self.get(DEFAULT, &format!("/api/v2/search/tickets?query={q}")).await?;
        Ok(v.get("results").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// One ticket's single view with its first ten conversations, stats and requester.
    pub async fn ticket(&self, id: &str) -> Result<Value, HttpError> {
        self.get(DEFAULT, &format!("/api/v2/tickets/{id}?include=conversations")).await
    }
}

/// What a 409 `duplicate_value` says holds the value (`additional_info.{key}`), when it says.
pub fn duplicate_of(e: &HttpError, key: &str) -> Option<String> {
    let HttpError::Status { status: 409, body, .. } = e else { return None };
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("errors")?.as_array()?.iter().find_map(|x| {
        let id = x.get("additional_info")?.get(key)?;
        id.as_u64().map(|n| n.to_string()).or_else(|| id.as_str().map(str::to_string))
    })
}

/// `path` with `per_page=100` added.
pub fn with_per_page(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}per_page={PAGE}")
}

/// A page of one ticket list (`filter`: `None`, `deleted`, `spam`), updated since `since`,
/// oldest update first, with `stats` (resolution times).
pub fn tickets_url(filter: Option<&str>, since: &str, page: u32) -> String {
    let filter = filter.map(|f| format!("&filter={f}")).unwrap_or_default();
    format!(
        "/api/v2/tickets?updated_since={}&order_by=updated_at&order_type=asc&include=stats&per_page={PAGE}&page={page}{filter}",
        esc(since)
    )
}

/// The URL of the `rel="next"` link of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find(|p| p.contains("rel=\"next\"")).and_then(|p| {
        let start = p.find('<')? + 1;
        let end = p.find('>')?;
        (start < end).then(|| p[start..end].trim().to_string())
    })
}

/// Percent-encodes a query value.
pub fn esc(s: &str) -> String {
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
