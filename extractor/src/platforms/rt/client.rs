//! Request Tracker 5 REST 2 calls (reading for the extractor, writing for the loader), over the
//! shared [`Http`] client. No mapping here: records stay JSON.
//!
//! REST 2 lives at `{base}/REST/2.0/`; the base may carry a path (`https://host/rt/`).
//! Authentication is an RT auth token (`Authorization: token 1-14-…`, made in RT under
//! Preferences → Auth Tokens) for the API user, or HTTP Basic for acting as another user (the
//! loader posts messages as their authors, because RT records the authenticated user as a
//! transaction's creator and offers no other way to set it).

use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;
use serde_json::Value;

use super::wire::{Page, num};
use crate::http::{Auth, Downloaded, Http, HttpConfig, HttpError, Request, Response};

/// Records per page; REST 2 caps `per_page` at 100.
pub const PER_PAGE: usize = 100;

/// The bucket every RT call uses (RT has no API rate limits of its own).
pub const BUCKET: &str = "default";

/// A REST 2 connection acting as one RT user.
#[derive(Debug, Clone)]
pub struct RtClient {
    http: Http,
}

/// RT's default pacing: RT has no API limits, but a small server should not be flooded.
const DEFAULT_PER_MINUTE: u32 = 6000;

/// `url` with a trailing slash, so relative paths resolve below it.
pub fn base_url(url: &Url) -> Url {
    let mut u = url.clone();
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    u.set_query(None);
    u.set_fragment(None);
    u
}

impl RtClient {
    /// A client for the RT at `url` with `auth`; `rate_limits` overrides buckets per minute.
    pub fn new(
        url: &Url,
        auth: Auth,
        rate_limits: &std::collections::BTreeMap<String, u32>,
    ) -> Result<RtClient, HttpError> {
        let per_minute = rate_limits.get(BUCKET).copied().unwrap_or(DEFAULT_PER_MINUTE);
        // Large attachments come through RT's Perl; allow it time.
        let cfg = HttpConfig::new(base_url(url), auth)
            .bucket(BUCKET, per_minute, 50)
            .timeout(Duration::from_secs(300))
            .max_in_flight(4);
        Ok(RtClient { http: Http::new(cfg)? })
    }

    /// A client with an auth token (`Authorization: token …`).
    pub fn with_token(url: &Url, token: SecretString) -> Result<RtClient, HttpError> {
        use secrecy::ExposeSecret;
        let value = SecretString::from(format!("token {}", token.expose_secret()));
        RtClient::new(
            url,
            Auth::Header { name: "Authorization".into(), value },
            &Default::default(),
        )
    }

    /// A client acting as `user` with its password (HTTP Basic).
    pub fn with_password(
        url: &Url,
        user: &str,
        password: SecretString,
    ) -> Result<RtClient, HttpError> {
        RtClient::new(url, Auth::Basic { user: user.to_string(), password }, &Default::default())
    }

    /// The shared HTTP client (stats, downloads).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// `REST/2.0/{path}?{query}` as a URL string (query values percent-encoded).
    pub fn api(&self, path: &str, query: &[(&str, &str)]) -> Result<String, HttpError> {
        let mut url = self.http.url(&format!("REST/2.0/{}", path.trim_start_matches('/')))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.to_string())
    }

    /// GET a record or anything JSON.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, HttpError> {
        self.http.get_json(BUCKET, &self.api(path, query)?).await
    }

    /// GET a record; `None` on 404 (or 403: RT answers that for records one cannot see).
    pub async fn get_opt(&self, path: &str) -> Result<Option<Value>, HttpError> {
        match self.get(path, &[]).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if matches!(e.status(), Some(404)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of a collection.
    pub async fn page(
        &self,
        path: &str,
        query: &[(&str, &str)],
        page: u64,
    ) -> Result<Page, HttpError> {
        let per = PER_PAGE.to_string();
        let pg = page.to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("per_page", &per));
        q.push(("page", &pg));
        self.http.get_json(BUCKET, &self.api(path, &q)?).await
    }

    /// Every item of a (small) collection, page after page.
    pub async fn all(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Value>, HttpError> {
        let mut items = Vec::new();
        for n in 1.. {
            let page = self.page(path, query, n).await?;
            let more = page.has_more(PER_PAGE) && !page.items.is_empty();
            items.extend(page.items);
            if !more {
                break;
            }
        }
        Ok(items)
    }

    /// POST JSON; a repeat must be harmless for `retry_unsafe` (the loader checks markers
    /// before posting, so it passes false for messages).
    pub async fn post(
        &self,
        path: &str,
        body: Value,
        retry_unsafe: bool,
    ) -> Result<Response, HttpError> {
        let mut req = Request::post_json(BUCKET, &self.api(path, &[])?, body);
        if retry_unsafe {
            req = req.retry_unsafe();
        }
        self.http.send(req).await
    }

    /// PUT JSON (updates are idempotent); RT answers with a list of messages.
    pub async fn put(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        let req = Request::put_json(BUCKET, &self.api(path, &[])?, body).retry_unsafe();
        self.http.send(req).await?.json()
    }

    /// SHA-256 and size of a MIME part's original bytes (see [`super::map::download_path`]),
    /// hashed as they stream; nothing is kept.
    pub async fn digest(&self, transaction: i64, part: i64) -> Result<Downloaded, HttpError> {
        let url = self.http.url(&super::map::download_path(transaction, part))?;
        self.http.digest(BUCKET, url.as_str()).await
    }

    /// The id a create answered with (`{"id": "12", …}`), or the number at the end of
    /// `Location` (`/REST/2.0/transaction/47` after a correspond).
    pub fn created_id(resp: &Response) -> Option<i64> {
        if let Some(id) = resp.json::<Value>().ok().and_then(|v| num(&v["id"])) {
            return Some(id);
        }
        resp.header("Location")?.trim_end_matches('/').rsplit('/').next()?.parse().ok()
    }
}
