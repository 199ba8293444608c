//! One call: method, URL, bucket and a body that is rebuilt for each attempt.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::error::{HttpError, safe_url};

/// A request for [`super::Http::send`].
#[derive(Clone, Debug)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the base URL, or an absolute URL.
    pub url: String,
    /// Rate-limit bucket name (unknown names use "default").
    pub bucket: String,
    /// Body, rebuilt on each attempt.
    pub body: Body,
    /// Extra headers (not secret: they may appear in debug output).
    pub headers: Vec<(String, String)>,
    /// Repeating this non-GET request is harmless: retry it like a GET.
    pub retry_unsafe: bool,
}

/// A request body; kept as data so every attempt can rebuild it.
#[derive(Clone, Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(serde_json::Value),
    /// `multipart/form-data`.
    Multipart(Vec<Part>),
}

/// One multipart field.
#[derive(Clone, Debug)]
pub struct Part {
    /// Field name.
    pub name: String,
    /// For a file field: (file name, content type).
    pub file: Option<(String, String)>,
    /// Field content.
    pub bytes: Bytes,
}

impl Request {
    fn new(method: Method, bucket: &str, url: &str, body: Body) -> Request {
        Request {
            method,
            url: url.to_string(),
            bucket: bucket.to_string(),
            body,
            headers: Vec::new(),
            retry_unsafe: false,
        }
    }

    /// A GET.
    pub fn get(bucket: &str, url: &str) -> Request {
        Request::new(Method::GET, bucket, url, Body::Empty)
    }

    /// A POST with a JSON body.
    pub fn post_json(bucket: &str, url: &str, json: serde_json::Value) -> Request {
        Request::new(Method::POST, bucket, url, Body::Json(json))
    }

    /// A PUT with a JSON body.
    pub fn put_json(bucket: &str, url: &str, json: serde_json::Value) -> Request {
        Request::new(Method::PUT, bucket, url, Body::Json(json))
    }

    /// A PATCH with a JSON body.
    pub fn patch_json(bucket: &str, url: &str, json: serde_json::Value) -> Request {
        Request::new(Method::PATCH, bucket, url, Body::Json(json))
    }

    /// A DELETE.
    pub fn delete(bucket: &str, url: &str) -> Request {
        Request::new(Method::DELETE, bucket, url, Body::Empty)
    }

    /// A POST with a multipart body.
    pub fn multipart(bucket: &str, url: &str, parts: Vec<Part>) -> Request {
        Request::new(Method::POST, bucket, url, Body::Multipart(parts))
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// POST/PATCH whose repeat is harmless (the target dedupes by external id): also retried on
    /// 5xx/timeout/reset. Without it a non-GET is retried only on 429/503 and on connect errors
    /// (request never sent).
    pub fn retry_unsafe(mut self) -> Request {
        self.retry_unsafe = true;
        self
    }

    /// Whether a failure after the request may have reached the server can be retried.
    pub(crate) fn idempotent(&self) -> bool {
        // PUT/DELETE are idempotent in theory, but a repeated DELETE answers 404 and targets
        // differ on PUT; callers opt in with `retry_unsafe` when they know.
        self.retry_unsafe || matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A 2xx answer, body fully read.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Whole body.
    pub body: Bytes,
    /// Final URL.
    pub url: Url,
}

impl Response {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HttpError::Decode { url: safe_url(&self.url), message: e.to_string() })
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
