//! Groove HTTP calls (and nothing else): v1 REST paths and their page-numbered lists
//! (`meta.pagination`), the v2 GraphQL endpoint (errors as data: a request error is turned into
//! [`HttpError::Decode`], a payload's `errors` are left to the caller), and the uploader
//! (`POST /messages/{id}/attachments`, multipart, on its own host at real Groove).
//!
//! One bucket, `default`: Groove documents no rate limit, so the pace is the connection file's
//! `[rate_limits] default` (conservatively [`DEFAULT_PER_MINUTE`] when it says nothing), kept
//! steady (a small burst, as for fixed one-minute windows); a 429 waits for its `Retry-After`
//! (`crate::http`), and `X-RateLimit-*` headers, where an answer carries them, correct the pace.

use std::collections::BTreeMap;

use reqwest::Url;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::http::{Auth, Http, HttpConfig, HttpError, Part, Request};

/// The account's bucket.
pub const DEFAULT: &str = "default";
/// Requests a minute unless the connection file says: Groove documents none, and one a second
/// is what careful clients of its API keep to.
pub const DEFAULT_PER_MINUTE: u32 = 60;
/// Records a v1 page holds at most (`per_page`).
pub const PAGE: usize = 50;
/// Where real Groove's uploader lives.
pub const UPLOADER: &str = "https://uploader.groovehq.com";

/// The HTTP configuration for one account: a bearer token to `base_url`'s host only, one
/// bucket at `rates["default"]` (or [`DEFAULT_PER_MINUTE`]).
pub fn http_config(
    base_url: Url,
    token: SecretString,
    rates: &BTreeMap<String, u32>,
) -> HttpConfig {
    let per_minute = rates.get(DEFAULT).copied().unwrap_or(DEFAULT_PER_MINUTE).max(1);
    let burst = (per_minute / 60).clamp(1, 4);
    HttpConfig::new(base_url, Auth::Bearer(token)).bucket(DEFAULT, per_minute, burst)
}

/// Thin wrapper over [`Http`] that knows Groove's pages, GraphQL and the uploader.
#[derive(Clone, Debug)]
pub struct Client {
    http: Http,
    /// The uploader, when it is another host than the API.
    uploader: Option<Http>,
}

impl Client {
    /// A client of the API at `url`, uploading to `uploader` (another host gets its own
    /// connection with the same token and pace).
    pub fn new(
        url: Url,
        uploader: Url,
        token: SecretString,
        rates: &BTreeMap<String, u32>,
    ) -> Result<Client, HttpError> {
        let same = url.origin() == uploader.origin();
        let http = Http::new(http_config(url, token.clone(), rates))?;
        let uploader =
            if same { None } else { Some(Http::new(http_config(uploader, token, rates))?) };
        Ok(Client { http, uploader })
    }

    /// The API's HTTP client (statistics).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The uploader's HTTP client when it is another host (statistics).
    pub fn uploader_http(&self) -> Option<&Http> {
        self.uploader.as_ref()
    }

    /// Sends a request to the API.
    pub async fn send(&self, req: Request) -> Result<crate::http::Response, HttpError> {
        self.http.send(req).await
    }

    /// GET one JSON document.
    pub async fn get(&self, path: &str) -> Result<Value, HttpError> {
        self.http.send(Request::get(DEFAULT, path)).await?.json()
    }

    /// POST a JSON body (a create: not repeated after a failure that may have reached Groove).
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(Request::post_json(DEFAULT, path, body)).await?.json()
    }

    /// PUT a JSON body (an update: safe to repeat).
    pub async fn put(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.http.send(Request::put_json(DEFAULT, path, body).retry_unsafe()).await?.json()
    }

    /// One page of a v1 list: its records under `key`, and whether another page follows.
    pub async fn page(
        &self,
        path: &str,
        key: &str,
        page: usize,
    ) -> Result<(Vec<Value>, bool), HttpError> {
        let v = self.get(&paged(path, page)).await?;
        let items = v.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let p = &v["meta"]["pagination"];
        let more = match (p["current_page"].as_u64(), p["total_pages"].as_u64()) {
            (Some(c), Some(t)) => c < t,
            _ => !p["next_page"].is_null() && p.get("next_page").is_some(),
        };
        Ok((items, more))
    }

    /// Every record of a v1 list under `key`.
    pub async fn all(&self, path: &str, key: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut n = 1;
        loop {
            let (items, more) = self.page(path, key, n).await?;
            out.extend(items);
            if !more {
                return Ok(out);
            }
            n += 1;
        }
    }

    /// A GraphQL document with its variables: `data`, or the request's first error as
    /// [`HttpError::Decode`]. `idempotent`: a query, or a mutation whose repeat is harmless.
    pub async fn graphql(
        &self,
        query: &str,
        variables: Value,
        idempotent: bool,
    ) -> Result<Value, HttpError> {
        let mut req = Request::post_json(
            DEFAULT,
            "/v2/graphql",
            json!({ "query": query, "variables": variables }),
        );
        if idempotent {
            req = req.retry_unsafe();
        }
        let v: Value = self.http.send(req).await?.json()?;
        if let Some(e) = v.get("errors").and_then(Value::as_array).and_then(|e| e.first()) {
            return Err(HttpError::Decode {
                url: "/v2/graphql".into(),
                message: format!(
                    "GraphQL error: {}",
                    e.get("message").and_then(Value::as_str).unwrap_or("(no message)")
                ),
            });
        }
        Ok(v.get("data").cloned().unwrap_or(Value::Null))
    }

    /// Uploads files to message `message` in one multipart request (Groove takes several):
    /// the uploader's per-file results.
    pub async fn upload(
        &self,
        message: &str,
        files: &[(String, String, bytes::Bytes)],
    ) -> Result<Vec<Value>, HttpError> {
        let parts = files
            .iter()
            .map(|(name, ct, b)| Part {
                name: "file".into(),
                file: Some((name.clone(), ct.clone())),
                bytes: b.clone(),
            })
            .collect();
        let path = format!("/messages/{message}/attachments");
        let req = Request::multipart(DEFAULT, &path, parts);
        let h = self.uploader.as_ref().unwrap_or(&self.http);
        let v: Value = h.send(req).await?.json()?;
        Ok(v.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// Downloads a file URL (a storage link: another origin gets no credentials).
    pub async fn download(&self, url: &str) -> Result<bytes::Bytes, HttpError> {
        Ok(self.http.send(Request::get(DEFAULT, url)).await?.body)
    }
}

/// Page `page` of a v1 list (`path` may carry a query), [`PAGE`] records a page.
pub fn paged(path: &str, page: usize) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}page={page}&per_page={PAGE}")
}

/// The id at the end of a v1 link (`…/v1/messages/123` → `123`).
pub fn id_from_href(href: &str) -> Option<String> {
    let last = href.trim_end_matches('/').rsplit('/').next()?;
    let last = last.split('?').next().unwrap_or(last);
    (!last.is_empty()).then(|| last.to_string())
}

/// The address at the end of a person link (`…/v1/customers/a%40b.c` → `a@b.c`), and whether
/// it is an agent's.
pub fn person_from_href(href: &str) -> Option<(String, bool)> {
    let agent = href.contains("/agents/");
    let last = id_from_href(href)?;
    Some((unesc(&last), agent))
}

/// Percent-encodes a path segment or query value.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Undoes percent-encoding.
pub fn unesc(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
