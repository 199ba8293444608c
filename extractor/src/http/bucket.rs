//! Token bucket per named rate-limit bucket, corrected from the server's rate-limit headers.
//!
//! Reservation style: a caller takes a token even when the bucket is empty (the count goes
//! negative) and sleeps until its token would have been refilled. That keeps callers in FIFO
//! order without a wake-up storm and makes the wait exact.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Bucket;

/// One bucket's state.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Tokens per second.
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Nobody may start a request before this (set by 429 / Retry-After / exhausted headers).
    blocked_until: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(b: &Bucket) -> TokenBucket {
        let rate = f64::from(b.per_minute.max(1)) / 60.0;
        let burst = f64::from(b.burst.max(1));
        TokenBucket {
            state: Mutex::new(State {
                rate,
                burst,
                tokens: burst,
                last: Instant::now(),
                blocked_until: None,
            }),
        }
    }

    /// Reserves one token; returns how long the caller must sleep before sending.
    pub(crate) fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.refill(now);
        s.tokens -= 1.0;
        let mut wait = if s.tokens < 0.0 {
            Duration::from_secs_f64(-s.tokens / s.rate)
        } else {
            Duration::ZERO
        };
        if let Some(until) = s.blocked_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        wait
    }

    /// Waits (asynchronously) for a token; returns the time spent waiting.
    pub(crate) async fn acquire(&self) -> Duration {
        let mut waited = self.reserve();
        if !waited.is_zero() {
            tokio::time::sleep(waited).await;
        }
        // A 429 may have blocked the bucket while we slept for our token.
        loop {
            let more = self.blocked_for();
            if more.is_zero() {
                return waited;
            }
            tokio::time::sleep(more).await;
            waited += more;
        }
    }

    /// Time left before the bucket's block (if any) lifts.
    fn blocked_for(&self) -> Duration {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.blocked_until.map_or(Duration::ZERO, |b| b.saturating_duration_since(Instant::now()))
    }

    /// Stops every caller of this bucket until `d` from now (Retry-After, exhausted window).
    pub(crate) fn block_for(&self, d: Duration) {
        let now = Instant::now();
        let until = now + d;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.refill(now);
        if s.blocked_until.is_none_or(|b| b < until) {
            s.blocked_until = Some(until);
        }
        // Whatever was saved up is void: the server says the window is used.
        if s.tokens > 0.0 {
            s.tokens = 0.0;
        }
    }

    /// Applies what the server says about this bucket's window.
    pub(crate) fn observe(&self, info: &RateInfo) {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.refill(now);
        // The announced limit does not set our rate: under a simulator's time scale (and for
        // Front's 10-second windows) "per minute" is not what the header counts in. It does
        // bound the burst, since no window holds more than `limit` requests.
        if let Some(limit) = info.limit_per_minute.filter(|l| *l > 0) {
            s.burst = s.burst.min(f64::from(limit));
            s.tokens = s.tokens.min(s.burst);
        }
        if let Some(remaining) = info.remaining {
            let remaining = f64::from(remaining);
            // More saved tokens than the server has left would only earn 429s.
            if s.tokens > remaining {
                s.tokens = remaining;
            }
            if remaining < 1.0
                && let Some(reset) = info.reset
            {
                drop(s);
                self.block_for(reset);
            }
        }
    }

    /// Current burst (after header corrections).
    #[cfg(test)]
    pub(crate) fn burst(&self) -> f64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).burst
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.blocked_until.is_some_and(|b| b <= now) {
            self.blocked_until = None;
        }
    }
}

/// What a response's rate-limit headers say.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RateInfo {
    /// Requests allowed per minute.
    pub limit_per_minute: Option<u32>,
    /// Requests left in the current window.
    pub remaining: Option<u32>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
}

impl RateInfo {
    /// True when no header was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.limit_per_minute.is_none() && self.remaining.is_none() && self.reset.is_none()
    }
}
