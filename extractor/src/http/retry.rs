//! Retry decisions: which failures are worth another attempt, and how long to wait first.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

use super::bucket::RateInfo;

/// Longest single wait we accept from a server (a `Retry-After` of hours means "give up").
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(15 * 60);
/// How many 429/503 answers one request may absorb (they are not counted in `max_retries`).
pub(crate) const MAX_THROTTLED: u32 = 50;

/// Exponential backoff with full jitter: random in [base/2, base], base = 0.5 s × 2^n, ≤ 30 s.
pub(crate) fn backoff(retry: u32) -> Duration {
    let base = 0.5 * 2f64.powi(retry.min(16) as i32);
    let base = base.min(30.0);
    let secs = rand::thread_rng().gen_range(base / 2.0..=base);
    Duration::from_secs_f64(secs)
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs).min(MAX_SERVER_WAIT));
        }
        return None;
    }
    // HTTP dates (IMF-fixdate) are a subset of RFC 2822.
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(when.timestamp()).ok()?);
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO).min(MAX_SERVER_WAIT))
}

fn num(headers: &HeaderMap, name: &str) -> Option<f64> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    // Some servers send "700, 700;w=60" style lists; the first number is the one in force.
    let first = v.split([',', ';']).next()?.trim();
    first.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)
}

/// A reset header: seconds from now, or (when it looks like one) a Unix time in s or ms.
fn reset_value(x: f64) -> Duration {
    let now =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    let secs = if x > 1e12 {
        x / 1000.0 - now
    } else if x > 1e9 {
        x - now
    } else {
        x
    };
    Duration::from_secs_f64(secs.max(0.0)).min(MAX_SERVER_WAIT)
}

/// Reads the rate-limit headers of Zendesk (`X-Rate-Limit`, `ratelimit-*`) and Front/Intercom
/// (`X-RateLimit-*`).
pub(crate) fn rate_info(headers: &HeaderMap) -> RateInfo {
    let limit = num(headers, "x-rate-limit")
        .or_else(|| num(headers, "x-ratelimit-limit"))
        .or_else(|| num(headers, "ratelimit-limit"));
    let remaining = num(headers, "x-rate-limit-remaining")
        .or_else(|| num(headers, "x-ratelimit-remaining"))
        .or_else(|| num(headers, "ratelimit-remaining"));
    let reset = num(headers, "ratelimit-reset")
        .or_else(|| num(headers, "x-ratelimit-reset"))
        .map(reset_value);
    RateInfo {
        limit_per_minute: limit.map(|l| l.min(f64::from(u32::MAX)) as u32),
        remaining: remaining.map(|r| r.min(f64::from(u32::MAX)) as u32),
        reset,
    }
}

/// Whether a status is worth retrying at all, and whether it is a throttle (429/503). Which
/// statuses are retryable is decided once, in [`super::class`].
pub(crate) fn status_class(status: u16) -> StatusClass {
    match status {
        429 | 503 => StatusClass::Throttled,
        s if super::class::status_class(s, super::Op::Read) == super::ErrorClass::Retryable => {
            StatusClass::ServerError
        }
        _ => StatusClass::Final,
    }
}

/// How to treat a non-2xx status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 429/503: wait (Retry-After or backoff) and try again; idempotency does not matter.
    Throttled,
    /// Other 5xx and 408: retried for idempotent (or `retry_unsafe`) requests.
    ServerError,
    /// 4xx and the rest: the answer.
    Final,
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// The request never left (DNS, connect refused): always safe to retry.
    Connect,
    /// Timeout, reset, truncated body: the server may have acted on it.
    Other,
}

/// A readable, secret-free description of a reqwest error (its Display would include the URL
/// with its query string).
pub(crate) fn describe(err: &reqwest::Error) -> (TransportKind, String) {
    let kind = if err.is_connect() { TransportKind::Connect } else { TransportKind::Other };
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_body() || err.is_decode() {
        "error reading body"
    } else if err.is_request() {
        "error sending request"
    } else {
        "transport error"
    };
    let mut msg = what.to_string();
    let mut src = std::error::Error::source(err);
    let mut depth = 0;
    while let Some(s) = src {
        let text = s.to_string();
        // Nested hyper errors may repeat the URL; drop anything that looks like one.
        if !text.contains("://") && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        src = s.source();
        depth += 1;
        if depth > 6 {
            break;
        }
    }
    (kind, msg)
}
