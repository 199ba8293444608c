//! The one HTTP client every platform uses.
//!
//! Why one client: rate limits, retries, redirect handling and secret hygiene are the same
//! problem on every vendor, so vendors only classify their endpoints into named buckets and
//! this module does the rest.
//!
//! - [`Http`]: the client (token bucket per named bucket, retries, max in-flight requests);
//! - [`Request`] / [`Response`]: one call, with a body that can be rebuilt for each attempt;
//! - [`Http::download`]: streams a file to disk while hashing it, following redirects by hand so
//!   credentials never leave the base URL's origin;
//! - [`HttpStats`]: counters the progress display and the benchmark read;
//! - [`ErrorClass`] / [`classify`]: what a failure means for the run (retry, stop, this record
//!   only), the same for every source and target.

mod bucket;
mod class;
mod client;
mod error;
mod outage;
mod request;
mod retry;
mod stats;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_transport;

use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

pub use class::{ErrorClass, Op, classify, status_class};
pub use client::{Downloaded, Http};
pub use error::HttpError;
pub use outage::{DEFAULT_MAX_OUTAGE, HttpEvent, Observer, OutagePolicy, set_process_policy};
pub use request::{Body, Part, Request, Response};
pub use stats::HttpStats;

/// How requests to the base URL's origin authenticate (never sent anywhere else).
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials.
    None,
    /// HTTP Basic (Zendesk: `email/token` + API token).
    Basic {
        /// User name (not secret, may appear in logs).
        user: String,
        /// Password or API token.
        password: SecretString,
    },
    /// `Authorization: Bearer …` (Front).
    Bearer(SecretString),
    /// Any other header (RT: `Authorization: token …`).
    Header {
        /// Header name.
        name: String,
        /// Full header value.
        value: SecretString,
    },
}

/// A named rate-limit bucket: a token bucket refilled at `per_minute`, holding up to `burst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Name the platform code passes with each request ("default", "incremental", …).
    pub name: String,
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests that may go out back to back after an idle period.
    pub burst: u32,
}

/// Everything [`Http::new`] needs.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Relative paths resolve against it; credentials are only ever sent to its scheme+host+port.
    pub base_url: Url,
    /// Credentials for the base URL's origin.
    pub auth: Auth,
    /// Rate-limit buckets; must contain "default" (unknown bucket names use it).
    pub buckets: Vec<Bucket>,
    /// Time limit of one attempt (connect + headers + body).
    pub timeout: Duration,
    /// Retries after the first attempt on 5xx, timeouts, resets and truncated bodies.
    pub max_retries: u32,
    /// Requests in flight at once across all buckets.
    pub max_in_flight: usize,
    /// How long an unreachable server is retried, and who hears about it (default: the policy
    /// the binary set with [`set_process_policy`], else five minutes and nobody).
    pub outage: OutagePolicy,
}

impl HttpConfig {
    /// A config with defaults: bucket "default" at 700/min (burst 10), 60 s timeout, 8 retries,
    /// 8 requests in flight.
    pub fn new(base_url: Url, auth: Auth) -> HttpConfig {
        HttpConfig {
            base_url,
            auth,
            buckets: vec![Bucket { name: "default".into(), per_minute: 700, burst: 10 }],
            timeout: Duration::from_secs(60),
            max_retries: 8,
            max_in_flight: 8,
            outage: outage::process_policy(),
        }
    }

    /// Adds or replaces the bucket `name`.
    pub fn bucket(mut self, name: &str, per_minute: u32, burst: u32) -> Self {
        let b = Bucket { name: name.to_string(), per_minute, burst };
        match self.buckets.iter_mut().find(|x| x.name == name) {
            Some(x) => *x = b,
            None => self.buckets.push(b),
        }
        self
    }

    /// Sets the per-attempt timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry limit.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets how many requests may be in flight at once.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }
}
