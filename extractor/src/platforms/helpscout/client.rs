//! Help Scout HTTP calls (and nothing else): the OAuth client-credentials token, the Mailbox
//! API 2.0 (bearer token, refreshed once when an answer says 401: tokens live 48 hours) and the
//! Docs API (Basic with the Docs API key as user).
//!
//! Buckets: `default` (the Mailbox API's account-wide per-minute budget; a write counts twice)
//! and `docs` (the Docs API's own counter: 2,000 requests per ten minutes for one site, i.e.
//! 200 a minute on average).

use std::collections::BTreeMap;

use base64::Engine;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::http::{Auth, Http, HttpConfig, HttpError, Request};

/// The Mailbox API's bucket.
pub const DEFAULT: &str = "default";
/// The Docs API's bucket.
pub const DOCS: &str = "docs";
/// Requests per minute of each bucket unless the source file says otherwise.
pub const DEFAULT_RATES: [(&str, u32); 2] = [(DEFAULT, 200), (DOCS, 200)];
/// Conversations a page (fixed by Help Scout).
pub const CONVERSATIONS_PAGE: usize = 25;
/// Records a page of the other Mailbox lists (fixed by Help Scout).
pub const LIST_PAGE: usize = 50;
/// Docs records a page (`pageSize`, at most 100).
pub const DOCS_PAGE: usize = 100;

fn config(url: Url, auth: Auth, bucket: &str, rates: &BTreeMap<String, u32>) -> HttpConfig {
    let mut cfg = HttpConfig::new(url, auth);
    for (name, default) in DEFAULT_RATES {
        let per_minute = rates.get(name).copied().unwrap_or(default).max(1);
        // Help Scout counts fixed one-minute windows: requests saved up and spent at once
        // would overrun a window, so the pace is steady.
        let burst = if name == DEFAULT { 4 } else { (per_minute / 60).clamp(2, 20) };
        // Each client paces its own API; `default` must exist in both.
        if name == bucket || name == DEFAULT {
            cfg = cfg.bucket(name, per_minute, burst);
        }
    }
    cfg
}

/// The Mailbox API and, when a key is configured, the Docs API.
#[derive(Debug)]
pub struct Client {
    mailbox: Http,
    docs: Option<Http>,
    client_id: String,
    secret: SecretString,
    /// The current access token and how many were fetched (a refresh is done once per
    /// generation, however many requests saw the 401 at once).
    token: Mutex<(Option<SecretString>, u64)>,
}

impl Client {
    /// A client of `url` (Mailbox API) for the application `client_id`/`secret`, with the Docs
    /// API at `docs_url` when `docs_key` is given.
    pub fn new(
        url: Url,
        client_id: String,
        secret: SecretString,
        docs: Option<(Url, SecretString)>,
        rates: &BTreeMap<String, u32>,
    ) -> Result<Client, HttpError> {
        // Files are fetched ten at a time beside the next page and the people lists.
        let mailbox = Http::new(config(url, Auth::None, DEFAULT, rates).max_in_flight(16))?;
        let docs = match docs {
            Some((url, key)) => {
                // The key is the user part of Basic: sent as a secret header so it is scrubbed
                // like a password (a Basic user may appear in logs).
                let raw = format!("{}:X", key.expose_secret());
                let value =
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
                let auth = Auth::Header { name: "Authorization".into(), value: value.into() };
                Some(Http::new(config(url, auth, DOCS, rates))?)
            }
            None => None,
        };
        Ok(Client { mailbox, docs, client_id, secret, token: Mutex::new((None, 0)) })
    }

    /// The Mailbox API's HTTP client (statistics).
    pub fn http(&self) -> &Http {
        &self.mailbox
    }

    /// Whether the Docs API is configured.
    pub fn has_docs(&self) -> bool {
        self.docs.is_some()
    }

    /// `POST /v2/oauth2/token` with the client credentials (as JSON, as Help Scout's own PHP
    /// client sends them).
    async fn fetch_token(&self) -> Result<SecretString, HttpError> {
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.secret.expose_secret(),
        });
        // Asking again for a token is harmless: retried like a GET.
        let req = Request::post_json(DEFAULT, "/v2/oauth2/token", body).retry_unsafe();
        let r = self.mailbox.send(req).await?;
        let v: Value = r.json()?;
        match v.get("access_token").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => Ok(SecretString::from(t.to_string())),
            _ => Err(HttpError::Decode {
                url: "/v2/oauth2/token".into(),
                message: "the token answer holds no access_token".into(),
            }),
        }
    }

    /// The current token (fetched on first use) and its generation.
    async fn current(&self) -> Result<(SecretString, u64), HttpError> {
        let mut g = self.token.lock().await;
        if g.0.is_none() {
            g.0 = Some(self.fetch_token().await?);
            g.1 += 1;
        }
        Ok((g.0.clone().unwrap_or_else(|| SecretString::from(String::new())), g.1))
    }

    /// A new token unless another request already replaced generation `seen`.
    async fn refresh(&self, seen: u64) -> Result<(), HttpError> {
        let mut g = self.token.lock().await;
        if g.1 == seen {
            g.0 = Some(self.fetch_token().await?);
            g.1 += 1;
        }
        Ok(())
    }

    /// Sends `req` to the Mailbox API with the bearer token; a 401 (the token expired) fetches
    /// a new token and sends it again, at most twice. A 401 that a fresh token does not cure
    /// is the answer (a revoked application): fatal for the run.
    pub async fn send(&self, req: Request) -> Result<crate::http::Response, HttpError> {
        let mut tries = 0;
        loop {
            let (token, generation) = self.current().await?;
            let bearer = format!("Bearer {}", token.expose_secret());
            match self.mailbox.send(req.clone().header("Authorization", &bearer)).await {
                Err(e) if e.status() == Some(401) && tries < 2 => {
                    tries += 1;
                    self.refresh(generation).await?;
                }
                other => return other,
            }
        }
    }

    /// GET a Mailbox API document.
    pub async fn get(&self, path: &str) -> Result<Value, HttpError> {
        self.send(Request::get(DEFAULT, path)).await?.json()
    }

    /// GET a Docs API document (`None` when no Docs key is configured).
    pub async fn docs(&self, path: &str) -> Result<Value, HttpError> {
        match &self.docs {
            Some(h) => h.get_json(DOCS, path).await,
            None => Err(HttpError::Config("no Docs API key configured".into())),
        }
    }

    /// Sends `req` to the Docs API (its Basic key already set); a write of the target side.
    pub async fn docs_send(&self, req: Request) -> Result<crate::http::Response, HttpError> {
        match &self.docs {
            Some(h) => h.send(req).await,
            None => Err(HttpError::Config("no Docs API key configured".into())),
        }
    }

    /// The Docs API's HTTP client (statistics), when a key is configured.
    pub fn docs_http(&self) -> Option<&Http> {
        self.docs.as_ref()
    }

    /// The user the token acts for (the permissions check).
    pub async fn me(&self) -> Result<Value, HttpError> {
        self.get("/v2/users/me").await
    }
}

/// The Docs API key `options` name (`docs_key_env`, else `docs_key_file`, relative to `dir`),
/// or why it cannot be read; `None` when neither is set.
pub fn docs_key(
    options: &toml::Table,
    dir: &std::path::Path,
) -> Result<Option<SecretString>, String> {
    let text = |k: &str| options.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(var) = text("docs_key_env")
        && let Ok(v) = std::env::var(&var)
        && !v.trim().is_empty()
    {
        return Ok(Some(SecretString::from(v.trim().to_string())));
    }
    if let Some(file) = text("docs_key_file") {
        let mut path = std::path::PathBuf::from(&file);
        if path.is_relative() {
            path = dir.join(path);
        }
        let t = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "options.docs_key_file {}: {e}; create it (mode 0600) holding the Docs API key",
                path.display()
            )
        })?;
        let line = t.lines().next().unwrap_or("").trim().to_string();
        if line.is_empty() {
            return Err(format!("options.docs_key_file {} is empty", path.display()));
        }
        return Ok(Some(SecretString::from(line)));
    }
    if text("docs_key_env").is_some() {
        return Err("options.docs_key_env names an environment variable that is not set".into());
    }
    Ok(None)
}

/// Page `page` of a Mailbox list (`path` may carry a query).
pub fn paged(path: &str, page: usize) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}page={page}")
}

/// The conversation list the extraction reads: every status, threads embedded, oldest change
/// first, from `since` on.
pub fn conversations_path(since: Option<&str>) -> String {
    let mut p =
        "/v2/conversations?status=all&embed=threads&sortField=modifiedAt&sortOrder=asc".to_string();
    if let Some(s) = since {
        p.push_str("&modifiedSince=");
        p.push_str(&esc(s));
    }
    p
}

/// The customer list the extraction reads, oldest change first, from `since` on.
pub fn customers_path(since: Option<&str>) -> String {
    let mut p = "/v2/customers?sortField=modifiedAt&sortOrder=asc".to_string();
    if let Some(s) = since {
        p.push_str("&modifiedSince=");
        p.push_str(&esc(s));
    }
    p
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
