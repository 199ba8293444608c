//! Intercom HTTP calls (and nothing else): which URL, which bucket, the pinned
//! `Intercom-Version`, cursor pages.
//!
//! One bucket, `default`: the app's per-minute budget (10,000 by default), which Intercom
//! enforces in 10-second windows of a sixth each; the bucket's burst stays within one window.
//! Every answer's `X-RateLimit-*` headers correct it, and a 429 (no `Retry-After`) waits until
//! `X-RateLimit-Reset` (`crate::http`).

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use crate::http::{Auth, Http, HttpConfig, HttpError, Request};

/// The app's budget.
pub const DEFAULT: &str = "default";
/// File downloads: Intercom's signed URLs on its file host, outside the app's budget.
pub const FILES: &str = "files";
/// Downloads a minute unless `rates["files"]` says otherwise.
pub const FILES_PER_MINUTE: u32 = 6_000;
/// Intercom's default per-minute limit of an app.
pub const DEFAULT_PER_MINUTE: u32 = 10_000;
/// Most companies `GET /companies` pages through; beyond them the scroll
/// (`GET /companies/scroll`) reads them all.
pub const MAX_LISTED_COMPANIES: u64 = 10_000;

/// The API version every request pins (`Intercom-Version`); 2.16 is the other one the
/// facade and the checks know.
pub const VERSION: &str = "2.14";

/// The HTTP configuration for one workspace: a bearer token to the API host only, one bucket
/// at `rates["default"]` (or Intercom's default).
pub fn http_config(
    base_url: Url,
    token: SecretString,
    rates: &BTreeMap<String, u32>,
) -> HttpConfig {
    let per_minute = rates.get(DEFAULT).copied().unwrap_or(DEFAULT_PER_MINUTE).max(1);
    // A 10-second window holds a sixth of the minute: at 97 % of the limit with a burst that
    // fits in one window, no window is overrun.
    let paced = ((f64::from(per_minute) * 0.97).floor() as u32).max(1);
    let burst = (per_minute / 6 / 2).clamp(1, 20);
    let files = rates.get(FILES).copied().unwrap_or(FILES_PER_MINUTE).max(1);
    HttpConfig::new(base_url, Auth::Bearer(token)).bucket(DEFAULT, paced, burst).bucket(
        FILES,
        files,
        (files / 60).clamp(1, 20),
    )
}

/// Thin wrapper over [`Http`] that knows Intercom's headers and pages.
#[derive(Clone, Debug)]
pub struct Client {
    http: Http,
}

fn pinned(r: Request) -> Request {
    r.header("Intercom-Version", VERSION).header("Accept", "application/json")
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
    pub async fn get(&self, path: &str) -> Result<Value, HttpError> {
        self.http.send(pinned(Request::get(DEFAULT, path))).await?.json()
    }

    /// POST a JSON body (a create: not repeated after a failure that may have reached the
    /// server).
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(pinned(Request::post_json(DEFAULT, path, body))).await?.json()
    }

    /// POST a JSON body whose repeat is harmless (an upsert, a search, a tag).
    pub async fn post_idempotent(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(pinned(Request::post_json(DEFAULT, path, body).retry_unsafe())).await?.json()
    }

    /// PUT a JSON body (an update: safe to repeat).
    pub async fn put(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(pinned(Request::put_json(DEFAULT, path, body).retry_unsafe())).await?.json()
    }

    /// DELETE (a repeat answers 404, which the caller takes as done).
    pub async fn delete(&self, path: &str) -> Result<(), HttpError> {
        self.http.send(pinned(Request::delete(DEFAULT, path))).await.map(|_| ())
    }

    /// Every record of a cursor-paged list (`per_page`, `pages.next.starting_after`) under
    /// `key`.
    pub async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}per_page=150");
        loop {
            let v = self.get(&url).await?;
            out.extend(v.get(key).and_then(Value::as_array).cloned().unwrap_or_default());
            match v.pointer("/pages/next/starting_after").and_then(Value::as_str) {
                Some(next) => url = format!("{path}{sep}per_page=150&starting_after={}", esc(next)),
                None => return Ok(out),
            }
        }
    }

    /// The contacts a search `query` finds (first page of 150).
    pub async fn search_contacts(&self, query: Value) -> Result<Vec<Value>, HttpError> {
        let body = serde_json::json!({"query": query, "pagination": {"per_page": 150}});
        let v = self.post_idempotent("/contacts/search", body).await?;
        Ok(v.get("data").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// One page of a search (`POST /contacts/search`, `/conversations/search`): its records
    /// under `data` (contacts) or `conversations`, and the next page's `starting_after`.
    pub async fn search(
        &self,
        path: &str,
        query: Value,
        starting_after: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), HttpError> {
        let mut pagination = serde_json::json!({"per_page": 150});
        if let Some(s) = starting_after {
            pagination["starting_after"] = s.into();
        }
        let body = serde_json::json!({"query": query, "pagination": pagination});
        let v = self.post_idempotent(path, body).await?;
        Ok(page_of(v))
    }

    /// One page of a cursor-paged list (`per_page=150`, `starting_after`).
    pub async fn page(
        &self,
        path: &str,
        starting_after: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), HttpError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match starting_after {
            Some(s) => format!("{path}{sep}per_page=150&starting_after={}", esc(s)),
            None => format!("{path}{sep}per_page=150"),
        };
        Ok(page_of(self.get(&url).await?))
    }

    /// Downloads a file URL (another origin gets no credentials) into memory.
    pub async fn download(&self, url: &str) -> Result<bytes::Bytes, HttpError> {
        Ok(self.http.send(Request::get(DEFAULT, url)).await?.body)
    }
}

/// The records of a list answer (under `data`, `conversations`, `tickets`, `admins`, `teams`…: the one
/// array it holds) and `pages.next.starting_after`.
pub fn page_of(mut v: Value) -> (Vec<Value>, Option<String>) {
    let next = v.pointer("/pages/next/starting_after").and_then(Value::as_str).map(str::to_string);
    let items = match v.as_object_mut() {
        Some(o) => {
            let key = ["data", "conversations", "tickets", "admins", "teams"]
                .into_iter()
                .find(|k| o.get(*k).is_some_and(Value::is_array));
            match key.and_then(|k| o.remove(k)) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    (items, next)
}

/// The id of a record in an Intercom answer (a string, or a number in older shapes).
pub fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The holder's id a 409 `conflict` names ("… already exists with id=…").
pub fn conflict_id(e: &HttpError) -> Option<String> {
    let HttpError::Status { status: 409, body, .. } = e else { return None };
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("errors")?.as_array()?.iter().find_map(|x| {
        let m = x.get("message")?.as_str()?;
        let id = m.split("id=").nth(1)?;
        let id: String = id.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        (!id.is_empty()).then_some(id)
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
