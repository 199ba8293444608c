//! Kayako HTTP calls (and nothing else): which URL, which bucket, the session, offset pages.
//!
//! Authentication (docs/platforms/kayako.md): the first request carries `Basic email:password`;
//! its answer holds `session_id` (in the envelope) and `X-CSRF-Token` (a header). Every later
//! request sends `X-Session-ID` instead of the password, and writes add `X-CSRF-Token` (Kayako
//! refuses a session's write without it: 403 `CSRF_FAILED`). A 401 on a session (expired,
//! revoked) drops it and the request is sent once more with Basic; a 401 on Basic is the
//! caller's (a wrong or revoked password stops the run).
//!
//! One bucket, `default`: Kayako's per-minute limits are per action and unpublished; the
//! connection file states the account's (`[rate_limits] default`), and a 429 waits
//! `Retry-After` (`crate::http`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::http::{Auth, Http, HttpConfig, HttpError, Part, Request, Response};

/// The account's budget.
pub const DEFAULT: &str = "default";
/// Requests a minute assumed when the connection file names none (Kayako publishes no figure).
pub const DEFAULT_PER_MINUTE: u32 = 600;
/// Largest page Kayako serves (`limit`).
pub const MAX_LIMIT: usize = 100;

/// The HTTP configuration for one account: no credentials of the client's own (the session
/// headers are this module's), one bucket at `rates["default"]`.
pub fn http_config(base_url: Url, rates: &BTreeMap<String, u32>) -> HttpConfig {
    let per_minute = rates.get(DEFAULT).copied().unwrap_or(DEFAULT_PER_MINUTE).max(1);
    let paced = ((f64::from(per_minute) * 0.97).floor() as u32).max(1);
    let burst = (per_minute / 60).clamp(1, 10);
    HttpConfig::new(base_url, Auth::None).bucket(DEFAULT, paced, burst)
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    csrf: Option<String>,
}

/// Thin wrapper over [`Http`] that knows Kayako's session, envelope and pages.
#[derive(Clone)]
pub struct Client {
    http: Http,
    email: String,
    password: SecretString,
    session: Arc<Mutex<Option<Session>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("email", &self.email).finish_non_exhaustive()
    }
}

/// What a write sends.
#[derive(Debug, Clone)]
pub enum Body {
    /// Nothing (GET, DELETE).
    None,
    /// A JSON object.
    Json(Value),
    /// `multipart/form-data`: fields and `files[]`.
    Form(Vec<Part>),
}

impl Client {
    /// A client for `email` with `password` over a configured [`Http`].
    pub fn new(http: Http, email: String, password: SecretString) -> Client {
        Client { http, email, password, session: Arc::new(Mutex::new(None)) }
    }

    /// The underlying client.
    pub fn http(&self) -> &Http {
        &self.http
    }

    fn current(&self) -> Option<Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn basic(&self) -> String {
        let raw = format!("{}:{}", self.email, self.password.expose_secret());
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }

    fn build(&self, method: &str, path: &str, body: &Body, s: Option<&Session>) -> Request {
        let mut r = match (method, body) {
            ("GET", _) => Request::get(DEFAULT, path),
            ("DELETE", _) => Request::delete(DEFAULT, path),
            ("PUT", Body::Json(v)) => Request::put_json(DEFAULT, path, v.clone()).retry_unsafe(),
            ("PUT", _) => Request::put_json(DEFAULT, path, Value::Object(Default::default())),
            (_, Body::Form(parts)) => Request::multipart(DEFAULT, path, parts.clone()),
            (_, Body::Json(v)) => Request::post_json(DEFAULT, path, v.clone()),
            (_, Body::None) => Request::post_json(DEFAULT, path, Value::Object(Default::default())),
        };
        r = r.header("Accept", "application/json");
        match s {
            Some(s) => {
                r = r.header("X-Session-ID", &s.id);
                if method != "GET"
                    && let Some(c) = &s.csrf
                {
                    r = r.header("X-CSRF-Token", c);
                }
            }
            None => r = r.header("Authorization", &self.basic()),
        }
        r
    }

    /// Forgets session `s` after Kayako refused it, unless a newer one replaced it meanwhile
    /// (a request in flight with the old session must not throw away the new login).
    fn drop_session(&self, s: &Session) {
        let mut g = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if g.as_ref().is_some_and(|cur| cur.id == s.id) {
            *g = None;
        }
    }

    fn learn(&self, resp: &Response) {
        let id = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("session_id").and_then(Value::as_str).map(str::to_string));
        if let Some(id) = id {
            let csrf = resp.header("x-csrf-token").map(str::to_string);
            *self.session.lock().unwrap_or_else(|e| e.into_inner()) = Some(Session { id, csrf });
        }
    }

    /// Sends the request `make` builds for a session (or the password, `None`). A session
    /// Kayako refuses (401: expired, revoked) is dropped and the request goes again: with a
    /// session another request opened meanwhile, else with the password (a 401 then is the
    /// caller's: a wrong or revoked password).
    async fn authed(
        &self,
        make: impl Fn(Option<&Session>) -> Request,
    ) -> Result<Response, HttpError> {
        let mut s = self.current();
        for _ in 0..3 {
            let Some(old) = s.clone() else { break };
            match self.http.send(make(Some(&old))).await {
                Err(e) if e.status() == Some(401) => {
                    self.drop_session(&old);
                    s = self.current().filter(|n| n.id != old.id);
                }
                other => return other,
            }
        }
        self.http.send(make(None)).await
    }

    /// Sends one request with the session (Basic when there is none, or when the session was
    /// refused); the answer's JSON.
    pub async fn send(&self, method: &str, path: &str, body: Body) -> Result<Value, HttpError> {
        let resp = self.authed(|s| self.build(method, path, &body, s)).await?;
        self.learn(&resp);
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        resp.json()
    }

    /// GET one envelope.
    pub async fn get(&self, path: &str) -> Result<Value, HttpError> {
        self.send("GET", path, Body::None).await
    }

    /// POST a JSON body (a create: not repeated after a failure that may have reached Kayako).
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.send("POST", path, Body::Json(body)).await
    }

    /// POST a multipart form (fields and `files[]`).
    pub async fn post_form(&self, path: &str, parts: Vec<Part>) -> Result<Value, HttpError> {
        self.send("POST", path, Body::Form(parts)).await
    }

    /// PUT a JSON body (an update: safe to repeat).
    pub async fn put(&self, path: &str, body: Value) -> Result<Value, HttpError> {
        self.send("PUT", path, Body::Json(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Result<(), HttpError> {
        self.send("DELETE", path, Body::None).await.map(|_| ())
    }

    /// Every record of an offset-paged list (`offset`, `limit`; until `next_url` is gone).
    pub async fn all(&self, path: &str) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut offset = 0usize;
        loop {
            let v = self.get(&format!("{path}{sep}offset={offset}&limit={MAX_LIMIT}")).await?;
            let page = v.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            let n = page.len();
            out.extend(page);
            let total = v.get("total_count").and_then(Value::as_u64).map(|t| t as usize);
            offset += n;
            let more = v.get("next_url").is_some_and(|u| !u.is_null())
                || total.is_some_and(|t| offset < t);
            if n == 0 || !more {
                return Ok(out);
            }
        }
    }

    /// Downloads a file URL of the account (the session goes with it) into memory.
    pub async fn download(&self, url: &str) -> Result<bytes::Bytes, HttpError> {
        Ok(self.authed(|s| self.build("GET", url, &Body::None, s)).await?.body)
    }
}

/// The `data` of an envelope.
pub fn data(v: &Value) -> &Value {
    v.get("data").unwrap_or(v)
}

/// The id of a record (a number in Kayako's answers; a string taken as it is).
pub fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The first error code of a Kayako error answer (`{status, errors: [{code, …}]}`).
pub fn error_code(e: &HttpError) -> Option<String> {
    let HttpError::Status { body, .. } = e else { return None };
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("errors")?.as_array()?.first()?.get("code")?.as_str().map(str::to_string)
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
