//! Counters for progress display and the benchmark.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A snapshot of what a client has done so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpStats {
    /// Logical requests (`send`, `get_json`, `download` calls), whatever their outcome.
    pub requests: u64,
    /// Attempts actually sent (each redirect hop counts as one).
    pub attempts: u64,
    /// Attempts that repeated an earlier failed one.
    pub retries: u64,
    /// 429 (and 503) answers received.
    pub rate_limited: u64,
    /// Time spent waiting for rate-limit tokens, Retry-After and backoff (summed over tasks).
    pub waited: Duration,
    /// Bytes of response bodies received.
    pub bytes_in: u64,
    /// Attempts per bucket.
    pub per_bucket: BTreeMap<String, u64>,
    /// First and last attempt start per bucket; with `per_bucket` gives the achieved rate.
    pub per_bucket_window: BTreeMap<String, (Instant, Instant)>,
    /// Attempts that had to wait for a token or a block (rate pacing) before being sent.
    pub paced: u64,
}

impl HttpStats {
    /// Achieved attempts per minute in `bucket` between its first and last attempt.
    pub fn rate_per_minute(&self, bucket: &str) -> Option<f64> {
        let n = *self.per_bucket.get(bucket)?;
        let (first, last) = *self.per_bucket_window.get(bucket)?;
        let secs = last.saturating_duration_since(first).as_secs_f64();
        if n < 2 || secs <= 0.0 {
            return None;
        }
        Some((n - 1) as f64 * 60.0 / secs)
    }
}

/// The live counters behind [`HttpStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<HttpStats>,
}

impl Counters {
    pub(crate) fn update(&self, f: impl FnOnce(&mut HttpStats)) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
    }

    pub(crate) fn snapshot(&self) -> HttpStats {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records one attempt starting now in `bucket`.
    pub(crate) fn attempt(&self, bucket: &str, retry: bool) {
        let now = Instant::now();
        self.update(|s| {
            s.attempts += 1;
            if retry {
                s.retries += 1;
            }
            *s.per_bucket.entry(bucket.to_string()).or_default() += 1;
            s.per_bucket_window
                .entry(bucket.to_string())
                .and_modify(|w| w.1 = now)
                .or_insert((now, now));
        });
    }
}
