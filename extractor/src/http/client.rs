//! The client: attempts, retries, redirects and downloads.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::bucket::TokenBucket;
use super::error::{HttpError, body_excerpt, safe_url};
use super::outage::OutageWatch;
use super::request::{Body, Request, Response};
use super::retry::{self, MAX_THROTTLED, StatusClass, TransportKind};
use super::stats::{Counters, HttpStats};
use super::{Auth, HttpConfig};

/// Redirect hops followed per attempt.
const MAX_REDIRECTS: usize = 10;

/// The HTTP client of one platform connection; cheap to clone (shared state inside).
#[derive(Clone)]
pub struct Http {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    base: Url,
    auth: AuthHeader,
    /// Every form a secret may take on the wire, scrubbed from error text.
    secrets: Vec<String>,
    buckets: BTreeMap<String, TokenBucket>,
    in_flight: Semaphore,
    timeout: Duration,
    max_retries: u32,
    counters: Counters,
    outage: OutageWatch,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("base_url", &safe_url(&self.inner.base))
            .field("buckets", &self.inner.buckets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A file fetched by [`Http::download`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// Why one attempt failed, before the retry decision.
enum Failure {
    Status { status: u16, retry_after: Option<Duration>, body: Bytes, url: Box<Url> },
    Transport { kind: TransportKind, url: Box<Url>, message: String },
    Fatal(HttpError),
}

/// Where a download attempt's bytes go; they are hashed either way.
#[derive(Clone, Copy)]
enum Sink<'a> {
    /// A file, created (or truncated) by each attempt.
    File(&'a Path),
    /// Nowhere: only the SHA-256 and size are kept, in memory.
    HashOnly,
}

impl Http {
    /// Builds the client; fails when "default" is missing or the auth header is malformed.
    pub fn new(cfg: HttpConfig) -> Result<Http, HttpError> {
        if !cfg.buckets.iter().any(|b| b.name == "default") {
            return Err(HttpError::Config("rate-limit bucket \"default\" is missing".into()));
        }
        if !matches!(cfg.base_url.scheme(), "http" | "https") || cfg.base_url.host().is_none() {
            return Err(HttpError::Config(format!(
                "base URL {} is not http(s)",
                safe_url(&cfg.base_url)
            )));
        }
        let (auth, secrets) = auth_header(&cfg.auth)?;
        let client = reqwest::Client::builder()
            // Redirects are followed by hand so credentials never leave the base origin.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.timeout.min(Duration::from_secs(30)))
            .read_timeout(cfg.timeout)
            .user_agent(concat!("deskferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                HttpError::Config(format!("cannot build HTTP client: {}", retry::describe(&e).1))
            })?;
        let buckets = cfg.buckets.iter().map(|b| (b.name.clone(), TokenBucket::new(b))).collect();
        let server = cfg.base_url.origin().ascii_serialization();
        Ok(Http {
            inner: Arc::new(Inner {
                client,
                base: cfg.base_url,
                auth,
                secrets,
                buckets,
                in_flight: Semaphore::new(cfg.max_in_flight.max(1)),
                timeout: cfg.timeout,
                max_retries: cfg.max_retries,
                counters: Counters::default(),
                outage: OutageWatch::new(cfg.outage, server),
            }),
        })
    }

    /// The base URL (credentials go to its origin only).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// `path_or_url` resolved against the base URL, or taken as is when absolute.
    pub fn url(&self, path_or_url: &str) -> Result<Url, HttpError> {
        let url = match Url::parse(path_or_url) {
            Ok(u) => u,
            // Not absolute: a path relative to the base URL.
            Err(_) => self.inner.base.join(path_or_url).map_err(|e| {
                HttpError::Config(format!("bad path {:?}: {e}", strip_query(path_or_url)))
            })?,
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::Config(format!("not an http(s) URL: {}", safe_url(&url))));
        }
        Ok(url)
    }

    /// GET and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        bucket: &str,
        path_or_url: &str,
    ) -> Result<T, HttpError> {
        self.send(Request::get(bucket, path_or_url)).await?.json()
    }

    /// Sends a request with pacing and retries; a non-2xx answer after retries is `Err(Status)`.
    pub async fn send(&self, req: Request) -> Result<Response, HttpError> {
        let url = self.url(&req.url)?;
        let idempotent = req.idempotent();
        let bucket = self.bucket_name(&req.bucket).to_string();
        self.inner.counters.update(|s| s.requests += 1);
        let req = &req;
        let url = &url;
        let bucket_ref = &bucket;
        self.with_retries(&req.method, &bucket, idempotent, move |retry| async move {
            self.attempt(req, url, bucket_ref, retry).await
        })
        .await
    }

    /// Streams a file to `dest` (created/truncated; rewritten on retry), hashing as it goes.
    /// Redirects are followed by hand: Authorization only to base_url's origin, never elsewhere.
    /// A body shorter than Content-Length is a truncation and retried.
    pub async fn download(
        &self,
        bucket: &str,
        url: &str,
        dest: &Path,
    ) -> Result<Downloaded, HttpError> {
        self.fetch(bucket, url, Sink::File(dest)).await
    }

    /// Like [`Http::download`], but keeps nothing: the bytes are hashed as they stream and
    /// dropped, so reading a target back never puts plaintext on disk.
    pub async fn digest(&self, bucket: &str, url: &str) -> Result<Downloaded, HttpError> {
        self.fetch(bucket, url, Sink::HashOnly).await
    }

    async fn fetch(
        &self,
        bucket: &str,
        url: &str,
        sink: Sink<'_>,
    ) -> Result<Downloaded, HttpError> {
        let url = self.url(url)?;
        let bucket = self.bucket_name(bucket).to_string();
        self.inner.counters.update(|s| s.requests += 1);
        let url = &url;
        let bucket_ref = &bucket;
        self.with_retries(&Method::GET, &bucket, true, move |retry| async move {
            self.download_attempt(url, bucket_ref, sink, retry).await
        })
        .await
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> HttpStats {
        self.inner.counters.snapshot()
    }

    fn bucket_name<'a>(&self, name: &'a str) -> &'a str {
        if self.inner.buckets.contains_key(name) { name } else { "default" }
    }

    fn bucket(&self, name: &str) -> &TokenBucket {
        match self.inner.buckets.get(name) {
            Some(b) => b,
            None => &self.inner.buckets["default"],
        }
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.inner.base.origin()
    }

    /// The retry loop shared by `send` and `download`.
    async fn with_retries<T, F, Fut>(
        &self,
        method: &Method,
        bucket: &str,
        idempotent: bool,
        mut attempt: F,
    ) -> Result<T, HttpError>
    where
        F: FnMut(bool) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut retries = 0u32;
        let mut throttled = 0u32;
        let mut is_retry = false;
        loop {
            if let Some(g) = self.inner.outage.gave_up() {
                return Err(HttpError::Unreachable {
                    server: self.inner.base.origin().ascii_serialization(),
                    down_for: g.down_for,
                    last: g.last,
                });
            }
            let failure = match attempt(is_retry).await {
                Ok(v) => {
                    self.inner.outage.answered();
                    return Ok(v);
                }
                Err(f) => f,
            };
            is_retry = true;
            // Below HTTP, or a 5xx without Retry-After: the server may be down. Anything else
            // is an answer.
            let down = match &failure {
                Failure::Transport { message, .. } => Some(self.redact(message)),
                Failure::Status { status, retry_after: None, .. } if *status >= 500 => {
                    Some(format!("HTTP {status}"))
                }
                Failure::Status { .. } => {
                    self.inner.outage.answered();
                    None
                }
                Failure::Fatal(_) => None,
            };
            let wait = match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Status { status, retry_after, body, url: at } => {
                    match retry::status_class(status) {
                        StatusClass::Throttled if throttled < MAX_THROTTLED => {
                            self.inner.counters.update(|s| s.rate_limited += 1);
                            throttled += 1;
                            match retry_after {
                                Some(d) => {
                                    // The whole bucket is out, not just this request.
                                    if self.same_origin(&at) {
                                        self.bucket(bucket).block_for(d);
                                    }
                                    d
                                }
                                None => retry::backoff(throttled - 1),
                            }
                        }
                        StatusClass::ServerError
                            if idempotent && retries < self.inner.max_retries =>
                        {
                            retries += 1;
                            retry::backoff(retries - 1)
                        }
                        _ => return Err(self.status_error(method, &at, status, &body)),
                    }
                }
                Failure::Transport { kind, url: at, message } => {
                    let may = kind == TransportKind::Connect || idempotent;
                    if may && retries < self.inner.max_retries {
                        retries += 1;
                        retry::backoff(retries - 1)
                    } else {
                        return Err(HttpError::Transport {
                            method: method.to_string(),
                            url: safe_url(&at),
                            message: self.redact(&message),
                        });
                    }
                }
            };
            if let Some(what) = &down {
                self.inner.outage.failed(what, wait);
            }
            if !wait.is_zero() {
                self.inner.counters.update(|s| s.waited += wait);
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Waits for a token of `bucket` (origin requests only) and a free in-flight slot.
    async fn admit(
        &self,
        bucket: &str,
        url: &Url,
        retry: bool,
    ) -> tokio::sync::SemaphorePermit<'_> {
        let mut counted_bucket = None;
        if self.same_origin(url) {
            let waited = self.bucket(bucket).acquire().await;
            if !waited.is_zero() {
                self.inner.counters.update(|s| {
                    s.waited += waited;
                    s.paced += 1;
                });
            }
            counted_bucket = Some(bucket);
        }
        let permit = self.inner.in_flight.acquire().await.expect("semaphore never closed");
        match counted_bucket {
            Some(b) => self.inner.counters.attempt(b, retry),
            None => self.inner.counters.update(|s| {
                s.attempts += 1;
                if retry {
                    s.retries += 1;
                }
            }),
        }
        permit
    }

    fn builder(
        &self,
        method: Method,
        url: &Url,
        req: Option<&Request>,
    ) -> Result<reqwest::RequestBuilder, HttpError> {
        let mut b = self.inner.client.request(method, url.clone());
        if let Some(req) = req {
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            b = match &req.body {
                Body::Empty => b,
                Body::Json(v) => b.json(v),
                Body::Multipart(parts) => b.multipart(multipart_form(parts)?),
            };
        }
        if self.same_origin(url)
            && let Some((name, value)) = &self.inner.auth
        {
            b = b.header(name.clone(), value.clone());
        }
        Ok(b)
    }

    /// One attempt of `send`, following GET redirects by hand.
    async fn attempt(
        &self,
        req: &Request,
        url: &Url,
        bucket: &str,
        retry: bool,
    ) -> Result<Response, Failure> {
        let mut current = url.clone();
        let mut method = req.method.clone();
        let mut first_retry = retry;
        for _ in 0..=MAX_REDIRECTS {
            let _permit = self.admit(bucket, &current, first_retry).await;
            first_retry = false;
            let body_req = if method == req.method { Some(req) } else { None };
            let b = self.builder(method.clone(), &current, body_req).map_err(Failure::Fatal)?;
            let resp = b
                .timeout(self.inner.timeout)
                .send()
                .await
                .map_err(|e| self.transport(&current, &e))?;
            self.observe(bucket, &current, resp.headers());
            let status = resp.status().as_u16();
            if is_redirect(status) && matches!(method, Method::GET | Method::HEAD) {
                current = self.location(&current, resp.headers())?;
                if status == 303 {
                    method = Method::GET;
                }
                continue;
            }
            let headers = resp.headers().clone();
            let final_url = resp.url().clone();
            let body = self.read_body(resp, &current).await?;
            if (200..300).contains(&status) {
                return Ok(Response { status, headers, body, url: final_url });
            }
            let retry_after = retry::retry_after(&headers);
            return Err(Failure::Status { status, retry_after, body, url: Box::new(current) });
        }
        Err(Failure::Fatal(HttpError::Redirect {
            url: safe_url(url),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        }))
    }

    /// One attempt of `download`: from the original URL through every redirect into a fresh file.
    async fn download_attempt(
        &self,
        url: &Url,
        bucket: &str,
        sink: Sink<'_>,
        retry: bool,
    ) -> Result<Downloaded, Failure> {
        let mut current = url.clone();
        let mut first_retry = retry;
        for _ in 0..=MAX_REDIRECTS {
            let _permit = self.admit(bucket, &current, first_retry).await;
            first_retry = false;
            let b = self.builder(Method::GET, &current, None).map_err(Failure::Fatal)?;
            let mut resp = b.send().await.map_err(|e| self.transport(&current, &e))?;
            self.observe(bucket, &current, resp.headers());
            let status = resp.status().as_u16();
            if is_redirect(status) {
                current = self.location(&current, resp.headers())?;
                continue;
            }
            if !(200..300).contains(&status) {
                let retry_after = retry::retry_after(resp.headers());
                let body = self.read_body(resp, &current).await.unwrap_or_default();
                return Err(Failure::Status { status, retry_after, body, url: Box::new(current) });
            }
            let expected = resp.content_length();
            let io = |path: &Path, e: std::io::Error| {
                Failure::Fatal(HttpError::Io { path: path.to_path_buf(), message: e.to_string() })
            };
            let mut file = match sink {
                Sink::File(p) => Some((tokio::fs::File::create(p).await.map_err(|e| io(p, e))?, p)),
                Sink::HashOnly => None,
            };
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let chunk = match resp.chunk().await {
                    Ok(Some(c)) => c,
                    Ok(None) => break,
                    Err(e) => return Err(self.transport(&current, &e)),
                };
                size += chunk.len() as u64;
                self.inner.counters.update(|s| s.bytes_in += chunk.len() as u64);
                hasher.update(&chunk);
                if let Some((f, p)) = &mut file {
                    f.write_all(&chunk).await.map_err(|e| io(p, e))?;
                }
            }
            if let Some((f, p)) = &mut file {
                f.flush().await.map_err(|e| io(p, e))?;
            }
            if let Some(n) = expected
                && n != size
            {
                return Err(Failure::Transport {
                    kind: TransportKind::Other,
                    url: Box::new(current),
                    message: format!("truncated body: {size} of {n} bytes"),
                });
            }
            return Ok(Downloaded { size, sha256: hex::encode(hasher.finalize()) });
        }
        Err(Failure::Fatal(HttpError::Redirect {
            url: safe_url(url),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        }))
    }

    async fn read_body(&self, mut resp: reqwest::Response, url: &Url) -> Result<Bytes, Failure> {
        let expected = resp.content_length();
        let mut buf = BytesMut::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    self.inner.counters.update(|s| s.bytes_in += c.len() as u64);
                    buf.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport(url, &e)),
            }
        }
        if let Some(n) = expected
            && n != buf.len() as u64
        {
            return Err(Failure::Transport {
                kind: TransportKind::Other,
                url: Box::new(url.clone()),
                message: format!("truncated body: {} of {n} bytes", buf.len()),
            });
        }
        Ok(buf.freeze())
    }

    /// Feeds rate-limit headers from the base origin to the bucket.
    fn observe(&self, bucket: &str, url: &Url, headers: &HeaderMap) {
        if !self.same_origin(url) {
            return;
        }
        let info = retry::rate_info(headers);
        if !info.is_empty() {
            self.bucket(bucket).observe(&info);
        }
    }

    fn location(&self, from: &Url, headers: &HeaderMap) -> Result<Url, Failure> {
        let loc = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| redirect_error(from, "redirect without a Location header"))?;
        let next =
            from.join(loc).map_err(|e| redirect_error(from, &format!("bad Location: {e}")))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(redirect_error(from, "redirect to a non-http(s) URL"));
        }
        Ok(next)
    }

    fn transport(&self, url: &Url, e: &reqwest::Error) -> Failure {
        let (kind, message) = retry::describe(e);
        Failure::Transport { kind, url: Box::new(url.clone()), message }
    }

    fn status_error(&self, method: &Method, url: &Url, status: u16, body: &[u8]) -> HttpError {
        HttpError::Status {
            method: method.to_string(),
            url: safe_url(url),
            status,
            body: self.redact(&body_excerpt(body)),
        }
    }

    /// Removes any form of a secret from text bound for an error.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.inner.secrets {
            if !s.is_empty() && out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[REDACTED]");
            }
        }
        out
    }
}

fn redirect_error(from: &Url, message: &str) -> Failure {
    Failure::Fatal(HttpError::Redirect { url: safe_url(from), message: message.to_string() })
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn strip_query(s: &str) -> &str {
    s.split(['?', '#']).next().unwrap_or(s)
}

fn multipart_form(parts: &[super::Part]) -> Result<reqwest::multipart::Form, HttpError> {
    let mut form = reqwest::multipart::Form::new();
    for p in parts {
        let len = p.bytes.len() as u64;
        let mut part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::from(p.bytes.clone()), len);
        if let Some((file_name, content_type)) = &p.file {
            part = part.file_name(file_name.clone()).mime_str(content_type).map_err(|_| {
                HttpError::Config(format!("bad content type {content_type:?} for part {}", p.name))
            })?;
        }
        form = form.part(p.name.clone(), part);
    }
    Ok(form)
}

/// The header carrying the credentials, and every text form of the secret for redaction.
/// The header sent to the base origin, if any.
type AuthHeader = Option<(HeaderName, HeaderValue)>;

fn auth_header(auth: &Auth) -> Result<(AuthHeader, Vec<String>), HttpError> {
    let (name, value, mut secrets) = match auth {
        Auth::None => return Ok((None, Vec::new())),
        Auth::Basic { user, password } => {
            let raw = format!("{user}:{}", password.expose_secret());
            let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
            (
                reqwest::header::AUTHORIZATION,
                format!("Basic {b64}"),
                vec![password.expose_secret().to_string(), b64],
            )
        }
        Auth::Bearer(t) => (
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", t.expose_secret()),
            vec![t.expose_secret().to_string()],
        ),
        Auth::Header { name, value } => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::Config(format!("bad auth header name {name:?}")))?;
            (name, value.expose_secret().to_string(), vec![value.expose_secret().to_string()])
        }
    };
    let mut hv = HeaderValue::from_str(&value).map_err(|_| {
        HttpError::Config("credentials contain characters not allowed in a header".into())
    })?;
    // Keeps the value out of reqwest/hyper debug output.
    hv.set_sensitive(true);
    secrets.push(value);
    Ok((Some((name, hv)), secrets))
}
