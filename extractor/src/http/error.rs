//! Why a request failed. Messages never carry secrets or query strings (tokens and signed CDN
//! URLs live there).

use std::path::PathBuf;

use reqwest::Url;
use thiserror::Error;

/// Why a request failed (after retries).
#[derive(Debug, Error)]
pub enum HttpError {
    /// The server answered a non-2xx status.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// Request method.
        method: String,
        /// URL without its query string.
        url: String,
        /// HTTP status.
        status: u16,
        /// Start of the response body (at most 300 characters).
        body: String,
    },
    /// Connection, timeout, reset or truncated body.
    #[error("{method} {url}: {message}")]
    Transport {
        /// Request method.
        method: String,
        /// URL without its query string.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The body is not the JSON expected.
    #[error("{url}: cannot decode response: {message}")]
    Decode {
        /// URL without its query string.
        url: String,
        /// The decoder's message.
        message: String,
    },
    /// A redirect could not be followed (loop, missing Location, too many hops).
    #[error("{url}: redirect: {message}")]
    Redirect {
        /// URL without its query string.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// The download destination could not be written.
    #[error("{path}: {message}")]
    Io {
        /// The destination file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// Bad client configuration or an unparsable URL.
    #[error("http config: {0}")]
    Config(String),
    /// The server has not answered for longer than the client retries (see `outage.rs`).
    #[error(
        "{server} has not answered for {}s (last: {last}); gave up. Check that it is up and reachable, then run the same command again: it resumes where this run stopped",
        down_for.as_secs()
    )]
    Unreachable {
        /// The server (scheme, host, port).
        server: String,
        /// How long it had not answered.
        down_for: std::time::Duration,
        /// The last failure.
        last: String,
    },
}

impl HttpError {
    /// The HTTP status, for `Status` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `url` without query, fragment or user info: safe to show.
pub(crate) fn safe_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The start of a body for an error message (at most 300 characters).
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(300).collect();
    s = s.replace(['\r', '\n'], " ");
    s
}
